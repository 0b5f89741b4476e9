// Drag and drop ranking (the ranked list, and the cards of a cell on the board) and the
// ranked list's "Columns" menu. Every page works without this file: the ▲ ▼ and rank
// forms move items and every column shows.
//
// The server stays the single authority. A drop sends the request the rank form sends
// (a target rank and the ranking version the page showed) to the item's move address,
// asking for JSON; whatever the answer (moved, refused because the list changed
// meanwhile, or an error) its message is shown and the list is reloaded from the server,
// so the page never shows an order the server does not have.
"use strict";

(() => {
  const HIDDEN_COLUMNS_KEY = "quarterdeck.rankedList.hiddenColumns";
  let sortables = [];
  let busy = false;

  const rankingTable = () => document.querySelector("[data-ranking]");
  const statusBox = () => document.querySelector("[data-ranking-status]");

  function say(text, isError) {
    const box = statusBox();
    if (!box) return;
    box.textContent = text;
    box.classList.toggle("error", isError);
    box.classList.toggle("message", !isError);
  }

  function rankable(element, direction) {
    let other = element[direction];
    while (other && !other.classList.contains("rankable")) other = other[direction];
    return other;
  }

  // The rank a dropped item should take: moving up, that of the item now below it (it
  // goes before that one); moving down, that of the item now above it (it goes after).
  // Ranks shown are in ascending order, so a filtered list works the same.
  function dropRank(element) {
    const own = Number(element.dataset.rank);
    const before = rankable(element, "previousElementSibling");
    const after = rankable(element, "nextElementSibling");
    if (after && Number(after.dataset.rank) < own) return Number(after.dataset.rank);
    if (before && Number(before.dataset.rank) > own) return Number(before.dataset.rank);
    return null;
  }

  function moveUrl(element) {
    if (element.dataset.moveUrl) return element.dataset.moveUrl;
    const form = element.querySelector("form");
    return form ? form.action : null;
  }

  // Where the moved item is, so its handle can have the focus again after the reload.
  function placeOf(element) {
    const table = rankingTable();
    const cell = element.closest("td");
    const cells = table ? [...table.querySelectorAll("tbody td")] : [];
    return { id: element.id, url: element.dataset.moveUrl, cell: cells.indexOf(cell) };
  }

  function focusPlace(place) {
    const table = rankingTable();
    if (!table || !place) return;
    let target = null;
    if (place.id) {
      target = document.getElementById(place.id);
    } else if (place.url) {
      const inCell = [...table.querySelectorAll("tbody td")][place.cell];
      const selector = `.rankable[data-move-url="${CSS.escape(place.url)}"]`;
      target = (inCell && inCell.querySelector(selector)) || table.querySelector(selector);
    }
    const handle = target && target.querySelector(".drag-handle");
    if (handle) handle.focus();
  }

  async function move(element, toRank) {
    const table = rankingTable();
    const url = moveUrl(element);
    if (busy || !table || !url || !toRank) return;
    busy = true;
    for (const sortable of sortables) sortable.option("disabled", true);
    const place = placeOf(element);
    const token = document.querySelector('input[name="csrfmiddlewaretoken"]');
    const body = new FormData();
    body.set("to_rank", String(toRank));
    body.set("version", table.dataset.rankingVersion || "");
    if (token) body.set("csrfmiddlewaretoken", token.value);
    try {
      const response = await fetch(url, {
        method: "POST",
        body,
        credentials: "same-origin",
        headers: { Accept: "application/json", "X-CSRFToken": token ? token.value : "" },
      });
      const type = response.headers.get("Content-Type") || "";
      if (type.includes("application/json")) {
        const answer = await response.json();
        say(answer.message, !response.ok);
      } else {
        // Signed out meanwhile (the login page), or a server error page.
        say(statusBox().dataset.failed, true);
      }
    } catch (error) {
      say(statusBox().dataset.failed, true);
    }
    await reload(place);
    busy = false;
  }

  // The list (or board) as the server has it now, in place of the one shown.
  async function reload(place) {
    try {
      const response = await fetch(window.location.href, {
        credentials: "same-origin",
        headers: { Accept: "text/html" },
      });
      const page = new DOMParser().parseFromString(await response.text(), "text/html");
      const fresh = page.querySelector("[data-ranking]");
      if (!response.ok || !fresh) throw new Error(`reload: ${response.status}`);
      rankingTable().replaceWith(document.adoptNode(fresh));
    } catch (error) {
      window.location.reload();
      return;
    }
    setUpDragging();
    focusPlace(place);
  }

  function setUpDragging() {
    for (const sortable of sortables) sortable.destroy();
    sortables = [];
    const table = rankingTable();
    if (!table || !table.dataset.sortable || typeof window.Sortable === "undefined") return;
    const containers =
      table.dataset.sortable === "rows" ? [...table.tBodies] : [...table.querySelectorAll("tbody td")];
    for (const container of containers) {
      if (!container.querySelector(".rankable")) continue;
      sortables.push(
        window.Sortable.create(container, {
          handle: ".drag-handle",
          draggable: ".rankable",
          animation: 150,
          ghostClass: "drag-ghost",
          chosenClass: "drag-chosen",
          onEnd: (event) => {
            const rank = dropRank(event.item);
            if (rank) move(event.item, rank);
          },
        }),
      );
    }
    for (const handle of table.querySelectorAll(".rankable .drag-handle")) {
      handle.hidden = false;
    }
  }

  // The handle from the keyboard: ↑ ↓ move one place among the items shown; Enter (or a
  // click without a drag) on the ranked list goes to the row's rank field.
  document.addEventListener("keydown", (event) => {
    const handle = event.target.closest && event.target.closest(".drag-handle");
    if (!handle || !["ArrowUp", "ArrowDown"].includes(event.key)) return;
    event.preventDefault();
    const element = handle.closest(".rankable");
    const direction = event.key === "ArrowUp" ? "previousElementSibling" : "nextElementSibling";
    const other = element && rankable(element, direction);
    if (other) move(element, Number(other.dataset.rank));
  });
  document.addEventListener("click", (event) => {
    const handle = event.target.closest && event.target.closest(".drag-handle");
    const input = handle && handle.closest("tr") && handle.closest("tr").querySelector(".rank-input");
    if (input) input.focus();
  });

  // --- Columns of the ranked list --------------------------------------------------

  function hiddenColumns() {
    try {
      const stored = JSON.parse(window.localStorage.getItem(HIDDEN_COLUMNS_KEY) || "[]");
      return new Set(Array.isArray(stored) ? stored : []);
    } catch (error) {
      return new Set();
    }
  }

  function rememberHidden(hidden) {
    try {
      window.localStorage.setItem(HIDDEN_COLUMNS_KEY, JSON.stringify([...hidden]));
    } catch (error) {
      // Storage refused (a private window): the choice lasts until the page is left.
    }
  }

  // One rule per hidden column, by its position, so the rows reloaded after a move are
  // hidden the same way without touching them.
  function applyHidden(styles, hidden) {
    const sheet = styles.sheet;
    while (sheet.cssRules.length) sheet.deleteRule(0);
    const table = document.querySelector("table.ranked");
    for (const header of table.tHead.rows[0].cells) {
      if (hidden.has(header.dataset.col)) {
        const at = header.cellIndex + 1;
        sheet.insertRule(`table.ranked tr > :nth-child(${at}) { display: none; }`);
      }
    }
  }

  function setUpColumns() {
    const menu = document.querySelector("[data-columns-menu]");
    const table = document.querySelector("table.ranked");
    if (!menu || !table || !table.tHead) return;
    const styles = document.createElement("style");
    document.head.append(styles);
    const hidden = hiddenColumns();
    const choices = menu.querySelector("fieldset");
    for (const header of table.tHead.rows[0].cells) {
      const key = header.dataset.col;
      if (!key) continue;
      const label = document.createElement("label");
      const box = document.createElement("input");
      box.type = "checkbox";
      box.value = key;
      box.checked = !hidden.has(key);
      box.addEventListener("change", () => {
        if (box.checked) hidden.delete(key);
        else hidden.add(key);
        rememberHidden(hidden);
        applyHidden(styles, hidden);
      });
      label.append(box, " ", header.textContent.replace(/[▲▼]/g, "").trim());
      choices.append(label);
    }
    applyHidden(styles, hidden);
    menu.hidden = false;
  }

  document.addEventListener("DOMContentLoaded", () => {
    setUpColumns();
    setUpDragging();
  });
})();
