// Behaviours every page shares, written once here because the Content-Security-Policy refuses
// inline script, event-handler attributes (onclick=…), javascript: URLs and style attributes.
// Templates ask for them with data-* attributes:
//   data-confirm="…"     on a form or a submit button: ask before submitting (native confirm);
//   data-autosubmit      on a select: submit its form when the choice changes;
//   data-history-back    on a button: go back one page;
//   data-print           on a button: print the page;
//   data-width="42.5"    on an element: its width in percent (bars, progress);
//   data-depth="2"       on an element: sets --pw-depth, the indent of tree rows.
(() => {
  "use strict";

  // Capture phase: decide before htmx or any other submit handler sees the event.
  document.addEventListener(
    "submit",
    (event) => {
      const message = event.submitter?.dataset.confirm || event.target.dataset.confirm;
      if (message && !window.confirm(message)) {
        event.preventDefault();
        event.stopImmediatePropagation();
      }
    },
    true,
  );

  document.addEventListener("change", (event) => {
    if (event.target.matches("select[data-autosubmit]")) event.target.form.requestSubmit();
  });

  document.addEventListener("click", (event) => {
    if (event.target.closest("[data-history-back]")) window.history.back();
    else if (event.target.closest("[data-print]")) window.print();
  });

  // Sizes computed on the server arrive as data attributes and are applied through the CSSOM,
  // which the policy allows (a style="…" attribute it does not).
  function applySizes(root) {
    root.querySelectorAll("[data-width]").forEach((el) => {
      el.style.width = `${Number(el.dataset.width) || 0}%`;
    });
    root.querySelectorAll("[data-depth]").forEach((el) => {
      el.style.setProperty("--pw-depth", String(Number(el.dataset.depth) || 0));
    });
  }

  document.addEventListener("DOMContentLoaded", () => applySizes(document));
  // htmx fires htmx:load on every fragment it swaps in (progress cards that poll).
  document.addEventListener("htmx:load", (event) => applySizes(event.target));
})();
