/*
 * The thank-you page after a Payment Link, before the store has decided the purchase: Stripe sends
 * the buyer here at once, the webhook follows within a second or two. Reload until the receipt is
 * there (every 2 s, for at most 2 minutes, counted in the URL so a reload keeps the count).
 */
(function () {
  "use strict";
  if (!document.querySelector("[data-waiting-for-order]")) {
    return;
  }
  var params = new URLSearchParams(window.location.search);
  var tries = parseInt(params.get("wait") || "0", 10) || 0;
  if (tries >= 60) {
    return;
  }
  window.setTimeout(function () {
    params.set("wait", String(tries + 1));
    window.location.replace(window.location.pathname + "?" + params.toString());
  }, 2000);
})();
