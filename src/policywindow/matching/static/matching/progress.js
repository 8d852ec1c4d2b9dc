// The run page refreshes its progress bar from the run's JSON progress until the run ends.
(function () {
  "use strict";
  var card = document.querySelector("[data-progress-url]");
  if (!card || card.dataset.finished === "1") return;
  var bar = card.querySelector("[data-testid=progress-bar]");

  function show(progress) {
    card.querySelectorAll("[data-field]").forEach(function (node) {
      var value = progress[node.dataset.field];
      if (node.dataset.field === "error") {
        node.textContent = value || "";
        node.classList.toggle("d-none", !value);
      } else if (value !== undefined) {
        node.textContent = value;
      }
    });
    bar.style.width = progress.percent + "%";
    bar.textContent = progress.percent + "%";
    bar.parentNode.setAttribute("aria-valuenow", progress.percent);
    if (progress.finished) {
      bar.classList.remove("progress-bar-striped", "progress-bar-animated");
      card.dataset.finished = "1";
    }
  }

  function poll() {
    fetch(card.dataset.progressUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (progress) {
        if (progress) show(progress);
        if (!progress || !progress.finished) window.setTimeout(poll, 1500);
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 1000);
})();
