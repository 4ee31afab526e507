/*
 * The checkout page, live.
 *
 * <section data-checkout data-checkout-feed="/ws/checkout/<id>/" data-checkout-status="reserved"
 *          data-expires-at="<ISO time>"> carries what the server rendered. This script
 *   - counts down the hold ([data-countdown]) and shows the expiry in the buyer's own time;
 *   - listens on the feed (static/js/live-feed.js): the server sends the current status on every
 *     (re)connect, then each change; the status box sits in a polite live region, so each change
 *     is announced once;
 *   - with Stripe live, mounts Stripe Elements in [data-stripe-form] and confirms the card payment
 *     with the PaymentIntent's client secret (the store hears the outcome from Stripe's webhook).
 * Without JavaScript the page shows the status as of render; reloading shows the current one.
 */
(function () {
  "use strict";

  var FINAL = { paid: true, cancelled: true, refunded: true, failed: true, left: true };

  var root = document.querySelector("[data-checkout]");
  if (!root) {
    return;
  }
  var statusBox = root.querySelector("[data-status-box]");
  var statusText = root.querySelector("[data-status-text]");
  var statusMessage = root.querySelector("[data-status-message]");
  var messagesEl = document.getElementById("checkout-status-messages");
  var MESSAGES = messagesEl ? JSON.parse(messagesEl.textContent) : {};
  var status = root.getAttribute("data-checkout-status");

  /* ---- status ---- */

  function isOpen() {
    return status === "reserved";
  }

  function applyStatus(msg) {
    if (!msg || msg.type !== "checkout.updated" || msg.status === status) {
      return;
    }
    status = msg.status;
    root.setAttribute("data-checkout-status", status);
    statusBox.setAttribute("data-status", status);
    // Rewriting the text inside the live region is what gets announced.
    statusText.textContent = msg.status_text || status;
    statusMessage.textContent = MESSAGES[status] || msg.resolution || "";
    if (!isOpen()) {
      Array.prototype.forEach.call(root.querySelectorAll("[data-show-when-open]"), function (el) {
        el.hidden = true;
      });
      stopCountdown();
    }
    if (FINAL[status]) {
      stopFeed();
    }
    // Sold: the page now has a receipt to show, which the server renders (code, QR code, time).
    if ((status === "authorised" || status === "paid") && !document.querySelector("[data-receipt]")) {
      window.location.reload();
    }
  }

  /* ---- the hold's countdown ---- */

  var expiresAt = Date.parse(root.getAttribute("data-expires-at") || "");
  var countdownEl = root.querySelector("[data-countdown]");
  var countdownWrap = root.querySelector("[data-countdown-wrap]");
  var expiresText = root.querySelector("[data-expires-text]");
  var countdownTimer = null;

  function pad(n) {
    return (n < 10 ? "0" : "") + n;
  }

  function tick() {
    var left = Math.max(0, Math.round((expiresAt - Date.now()) / 1000));
    countdownEl.textContent = Math.floor(left / 60) + ":" + pad(left % 60);
    if (left === 0) {
      stopCountdown();
      if (isOpen()) {
        // Not a status change yet: the store releases the hold shortly and the feed will say so.
        statusMessage.textContent = "Your hold has run out. Paying now works only if the items are still there.";
      }
    }
  }

  function stopCountdown() {
    if (countdownTimer) {
      clearInterval(countdownTimer);
      countdownTimer = null;
    }
  }

  if (!isNaN(expiresAt) && countdownEl && isOpen()) {
    if (expiresText) {
      expiresText.textContent = new Date(expiresAt).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    }
    countdownWrap.hidden = false;
    tick();
    countdownTimer = setInterval(tick, 1000);
  }

  /* ---- the live feed (static/js/live-feed.js) ---- */

  var feedPath = root.getAttribute("data-checkout-feed");
  var feed = null;

  function stopFeed() {
    if (feed) {
      feed.close();
    }
  }

  if (feedPath && window.swagstore && !FINAL[status]) {
    feed = window.swagstore.openFeed(feedPath, { onMessage: applyStatus });
  }

  /* ---- Stripe Elements (Stripe live only) ---- */

  var stripeForm = root.querySelector("[data-stripe-form]");
  if (stripeForm && window.Stripe) {
    var stripe = window.Stripe(stripeForm.getAttribute("data-publishable-key"));
    var card = stripe.elements().create("card");
    var cardErrors = stripeForm.querySelector("[data-card-errors]");
    var payButton = stripeForm.querySelector("[data-pay-button]");
    card.mount(stripeForm.querySelector("[data-card-element]"));
    card.on("change", function (event) {
      cardErrors.textContent = event.error ? event.error.message : "";
    });
    stripeForm.addEventListener("submit", function (event) {
      event.preventDefault();
      payButton.disabled = true;
      cardErrors.textContent = "";
      var email = stripeForm.getAttribute("data-email");
      stripe.confirmCardPayment(stripeForm.getAttribute("data-client-secret"), {
        payment_method: { card: card, billing_details: email ? { email: email } : {} },
      }).then(function (result) {
        if (result.error) {
          cardErrors.textContent = result.error.message;
          payButton.disabled = false;
          return;
        }
        // Authorised at Stripe; the store captures once the items are sold and the feed says so.
        statusMessage.textContent = "Card authorised. Confirming your items…";
      });
    });
  } else if (stripeForm) {
    stripeForm.querySelector("[data-card-errors]").textContent =
      "The card form could not load (Stripe.js unreachable). Please reload the page.";
  }
})();
