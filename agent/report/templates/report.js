// The toolbar: open or close every folded block, show only the steps with an error.
(function () {
  "use strict";
  function all(selector) { return Array.prototype.slice.call(document.querySelectorAll(selector)); }
  function act(name, fn) {
    var button = document.querySelector('[data-act="' + name + '"]');
    if (button) { button.addEventListener("click", fn); }
  }
  act("open", function () { all("details").forEach(function (d) { d.open = true; }); });
  act("close", function () { all("details").forEach(function (d) { d.open = false; }); });
  act("errors", function (event) {
    var only = event.target.getAttribute("aria-pressed") !== "true";
    event.target.setAttribute("aria-pressed", only ? "true" : "false");
    event.target.textContent = only ? "show all steps" : "only steps with errors";
    all(".step").forEach(function (s) { s.hidden = only && !s.querySelector(".call.error"); });
  });
  document.documentElement.setAttribute("data-ready", "1");
})();
