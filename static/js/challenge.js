// The proof of work asked of a busy network (payments/checkout/challenge.py): the vendored ALTCHA
// widget (static/vendor/altcha, its CSP-friendly build without bundled workers) gets its PBKDF2
// worker from our own static files; the widget solves when the form is submitted, then submits it.
(function () {
  "use strict";
  var widget = document.querySelector("altcha-widget[data-worker]");
  if (!widget || !globalThis.$altcha) return;
  var workerUrl = widget.getAttribute("data-worker");
  ["PBKDF2/SHA-256", "PBKDF2/SHA-384", "PBKDF2/SHA-512"].forEach(function (algorithm) {
    globalThis.$altcha.algorithms.set(algorithm, function () { return new Worker(workerUrl); });
  });
})();
