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
  // Move focus to the main region after an htmx page swap, for keyboard and screen-reader users.
  document.addEventListener("htmx:afterSettle", function (e) {
    if (e.detail && e.detail.target && e.detail.target.id === "main") {
      e.detail.target.focus();
    }
  });
})();
