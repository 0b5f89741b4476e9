// Small progressive enhancements; every page works without this file.
"use strict";

// Warn before leaving a form with unsaved edits, so nothing typed is lost by a stray click.
document.addEventListener("DOMContentLoaded", () => {
  for (const form of document.querySelectorAll("form[data-warn-unsaved]")) {
    let dirty = false;
    form.addEventListener("input", () => { dirty = true; });
    form.addEventListener("submit", () => { dirty = false; });
    window.addEventListener("beforeunload", (event) => {
      if (dirty) {
        event.preventDefault();
        event.returnValue = "";
      }
    });
  }
});

// Buttons that start long work (a review pack takes seconds) say so and cannot be
// clicked twice.
document.addEventListener("submit", (event) => {
  const button = event.target.querySelector("button[data-busy-text]");
  if (button) {
    button.disabled = true;
    button.textContent = button.dataset.busyText;
  }
});
