// ghl-bridge dashboard: the little behaviour htmx does not give. No external code.
(function () {
  "use strict";
  // Ask before a destructive button (data-confirm="…") sends its request.
  document.addEventListener("click", function (e) {
    var el = e.target.closest("[data-confirm]");
    if (el && !window.confirm(el.getAttribute("data-confirm"))) {
      e.preventDefault();
      e.stopImmediatePropagation();
    }
  }, true);
  // Monitor: pause and resume the live tables (their htmx polls skip while paused).
  document.addEventListener("click", function (e) {
    var b = e.target.closest("#pause-live");
    if (!b) return;
    var paused = document.body.classList.toggle("live-paused");
    b.setAttribute("aria-pressed", paused ? "true" : "false");
    b.textContent = paused ? "Resume live updates" : "Pause live updates";
    var s = document.getElementById("live-state");
    if (s) s.textContent = paused ? "Paused: the tables keep what they show." : "Live: the tables refresh by themselves.";
  });
  // Move focus to the main region after an htmx page swap, for keyboard and screen-reader users.
  document.addEventListener("htmx:afterSettle", function (e) {
    if (e.detail && e.detail.target && e.detail.target.id === "main") {
      e.detail.target.focus();
    }
  });
})();
