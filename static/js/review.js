// The review session page, enhanced: filters in place, keys to move between items, and
// the item a link points at opened. Without this file the page works the same way with
// links (?show=...) and <details>.
"use strict";

(() => {
  const list = document.querySelector("#items");
  if (!list) {
    return; // a draft: no items to read yet
  }
  const items = () => Array.from(list.querySelectorAll(".review-item"));
  const shown = () => items().filter((item) => !item.hidden);
  let current = null;

  function setCurrent(item, { focus = true } = {}) {
    if (current) {
      current.classList.remove("current");
    }
    current = item;
    if (!item) {
      return;
    }
    item.classList.add("current");
    if (focus) {
      item.querySelector("summary").focus({ preventScroll: true });
      item.scrollIntoView({ block: "nearest" });
    }
  }

  // --- The item a link points at (#item-12, #comment-34) is opened ----------------------
  function openTarget() {
    const id = decodeURIComponent(window.location.hash.slice(1));
    const target = id && document.getElementById(id);
    const item = target && target.closest(".review-item");
    if (!item) {
      return;
    }
    item.querySelector("details").open = true;
    setCurrent(item, { focus: false });
    target.scrollIntoView({ block: "start" });
  }

  // --- Filters in place -------------------------------------------------------------------
  // Only when the server sent every item; on a filtered page the links load the page.
  const complete = list.dataset.show === "";

  function applyFilter(show) {
    for (const item of items()) {
      item.hidden = show !== "" && item.dataset[show] !== "1";
    }
    let total = 0;
    for (const group of list.querySelectorAll(".theme-group")) {
      const count = group.querySelectorAll(".review-item:not([hidden])").length;
      total += count;
      group.hidden = count === 0;
      group.querySelector("h3 .count").textContent = count;
      const entry = document.querySelector(`.toc-themes li[data-theme="${group.dataset.theme}"]`);
      if (entry) {
        entry.hidden = count === 0;
        entry.querySelector(".count").textContent = count;
      }
    }
    const itemsCount = document.querySelector('[data-count="items"]');
    if (itemsCount) {
      itemsCount.textContent = total;
    }
    const none = list.querySelector(".no-items");
    if (none) {
      none.hidden = total !== 0;
    }
    for (const link of document.querySelectorAll(".item-filters a[data-show]")) {
      if (link.dataset.show === show) {
        link.setAttribute("aria-current", "true");
      } else {
        link.removeAttribute("aria-current");
      }
    }
    if (current && current.hidden) {
      setCurrent(null);
    }
  }

  if (complete) {
    document.addEventListener("click", (event) => {
      const link = event.target.closest("a[data-show]");
      if (!link || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) {
        return;
      }
      event.preventDefault();
      const show = link.dataset.show;
      applyFilter(show);
      const url = new URL(window.location.href);
      if (show) {
        url.searchParams.set("show", show);
      } else {
        url.searchParams.delete("show");
      }
      url.hash = "items";
      window.history.replaceState(null, "", url);
      list.scrollIntoView({ block: "start" });
    });
  }

  // --- Keys: j/k next/previous item, o open or close it, c comment on it ------------------
  function typing(element) {
    return element.closest("input, textarea, select, [contenteditable]") !== null;
  }

  function move(step) {
    const visible = shown();
    if (visible.length === 0) {
      return;
    }
    const index = visible.indexOf(current);
    let next;
    if (index === -1) {
      // Start where the reader is looking (after a contents link, say), not at the top.
      next = visible.findIndex((item) => item.getBoundingClientRect().bottom > 0);
      if (next === -1) {
        next = visible.length - 1;
      }
    } else {
      next = Math.min(Math.max(index + step, 0), visible.length - 1);
    }
    setCurrent(visible[next]);
  }

  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) {
      return;
    }
    if (typing(event.target)) {
      return;
    }
    if (event.key === "j") {
      move(1);
    } else if (event.key === "k") {
      move(-1);
    } else if (event.key === "o") {
      if (!current) {
        move(1);
      }
      if (current) {
        const details = current.querySelector("details");
        details.open = !details.open;
        setCurrent(current);
      }
    } else if (event.key === "c") {
      if (!current) {
        return;
      }
      const box = current.querySelector("details.comment-box");
      if (!box) {
        return; // comments are closed
      }
      current.querySelector("details").open = true;
      box.open = true;
      box.querySelector("textarea").focus();
    } else {
      return;
    }
    event.preventDefault();
  });

  // Clicking or tabbing into an item makes it the current one, so j/k go on from there.
  list.addEventListener("focusin", (event) => {
    const item = event.target.closest(".review-item");
    if (item && item !== current) {
      setCurrent(item, { focus: false });
    }
  });

  window.addEventListener("hashchange", openTarget);
  for (const help of document.querySelectorAll(".review-toc .keys")) {
    help.hidden = false;
  }
  openTarget();
})();
