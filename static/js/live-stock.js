/*
 * Live stock for server-rendered pages.
 *
 * The page says where its feed is (<body data-live-stock-path="/ws/stock/<store>/[<product>/]">) and
 * marks every product it shows with data-stock-product="<stripe product id>". Such an element shows
 * the product as a whole (all its sizes together: the message's `family` figures), unless it also
 * carries data-stock-variant="<variant>": then it shows that one variant (a size, a colour, or a
 * product without variants) and only that variant's messages change it. Inside such an element
 * (but not inside another one nested in it):
 *   [data-stock-count]       gets the stock number;
 *   [data-show-when="…"]     is shown or hidden: in-stock, sold-out, low-stock, payable, unavailable
 *                            (not payable although not sold out: link switched off);
 *   [data-disable-when="sold-out"]  is disabled while sold out (a size picker's option);
 *   [data-back-in]           "Reserved — back in N min": counted down here from the message's
 *                            back_at (when the earliest buyer's hold lapses; the server renders
 *                            data-back-in-seconds), every few seconds, on this browser's clock.
 * The element itself carries data-available / data-sold-out / data-low-stock / data-payable, which
 * the CSS styles from and which this script reads to know what the page shows now.
 *
 * Each element it renders then fires "swagstore:stock-shown" (bubbling; detail: the message).
 *
 * The connection is static/js/live-feed.js (load it first). The server sends every product's
 * current stock on each (re)connect, so a page that was away never keeps a number it missed.
 * Without JavaScript the page simply shows stock as of render.
 */
(function () {
  "use strict";

  var ANNOUNCE_BATCH_MS = 400;
  var BACK_IN_TICK_MS = 5000;
  var STATUS_TEXT = {
    connecting: "connecting…",
    live: "live",
    reconnecting: "reconnecting…",
    offline: "not live",
  };

  var body = document.body;
  var statusEl = document.querySelector("[data-live-status]");
  var statusText = statusEl && statusEl.querySelector("[data-live-status-text]");
  var announcer = document.querySelector("[data-live-announcer]");

  wirePrintButtons();
  startBackInCountdown();

  var path = body.getAttribute("data-live-stock-path");
  if (!path || !("WebSocket" in window) || !window.swagstore) {
    return;
  }

  /* ---- applying a stock message ---- */

  function readState(el) {
    return {
      available: parseInt(el.getAttribute("data-available"), 10) || 0,
      soldOut: el.getAttribute("data-sold-out") === "true",
      reserved: el.getAttribute("data-reserved") === "true",
      lowStock: el.getAttribute("data-low-stock") === "true",
      payable: el.getAttribute("data-payable") === "true",
    };
  }

  function stateFromMessage(msg, asOf) {
    // Every figure and flag comes derived from the server (inventory/selectors.py): shown, never re-derived.
    return {
      available: parseInt(msg.available, 10) || 0,
      soldOut: Boolean(msg.sold_out),
      reserved: Boolean(msg.reserved),
      lowStock: Boolean(msg.low_stock),
      payable: Boolean(msg.payable),
      // Seconds from the message's reading to the earliest hold's lapse: on the server's clock both,
      // so a phone whose clock is off still counts the right minutes.
      backIn: typeof msg.back_at === "number" && typeof asOf === "number" ? msg.back_at - asOf : null,
    };
  }

  function shows(condition, state) {
    switch (condition) {
      case "in-stock": return !state.soldOut;
      // Nothing to buy: "sold out" when none is left, "reserved" while buyers hold the last ones.
      case "sold-out": return state.soldOut && !state.reserved;
      case "reserved": return state.reserved;
      case "low-stock": return state.lowStock;
      case "payable": return state.payable;
      case "unavailable": return !state.payable && !state.soldOut;
      default: return true;
    }
  }

  // The nodes an element renders: its own, not those of a variant's element nested inside it.
  function owned(el, selector) {
    return Array.prototype.filter.call(el.querySelectorAll(selector), function (node) {
      return node.closest("[data-stock-product]") === el;
    });
  }

  function render(el, state) {
    el.setAttribute("data-available", String(state.available));
    el.setAttribute("data-sold-out", String(state.soldOut));
    el.setAttribute("data-reserved", String(state.reserved));
    el.setAttribute("data-low-stock", String(state.lowStock));
    el.setAttribute("data-payable", String(state.payable));
    owned(el, "[data-stock-count]").forEach(function (node) {
      node.textContent = String(state.available);
    });
    owned(el, "[data-show-when]").forEach(function (node) {
      node.hidden = !shows(node.getAttribute("data-show-when"), state);
    });
    owned(el, '[data-disable-when="sold-out"]').forEach(function (node) {
      node.disabled = state.soldOut;
    });
    if (state.reserved) {
      owned(el, "[data-back-in]").forEach(function (node) {
        setBackIn(node, state.backIn);
      });
    }
  }

  function describeChange(name, before, after) {
    if (after.reserved && !before.reserved) {
      return name + " is reserved by buyers paying now; it may come back";
    }
    if (after.soldOut && !before.soldOut) {
      return name + " is sold out";
    }
    if (after.soldOut) {
      return "";
    }
    if (before.soldOut) {
      return name + " is back in stock: " + after.available + " left";
    }
    var parts = [];
    if (after.available !== before.available) {
      parts.push(name + ": " + after.available + " left");
    }
    if (after.payable !== before.payable) {
      parts.push(after.payable ? name + " can be bought again" : name + " cannot be bought right now");
    }
    return parts.join(". ");
  }

  function applyStock(msg) {
    if (!msg || msg.type !== "stock.updated" || typeof msg.product !== "string") {
      return;
    }
    var selector = '[data-stock-product="' + cssEscape(msg.product) + '"]';
    var variant = msg.variant === undefined || msg.variant === null ? null : String(msg.variant);
    var wholes = [];
    var ones = [];
    document.querySelectorAll(selector).forEach(function (el) {
      var own = el.getAttribute("data-stock-variant");
      if (own === null) {
        wholes.push(el);
      } else if (own === variant) {
        ones.push(el);
      }
    });
    // Sizes change one at a time: their messages are ordered per variant, the product's totals per product.
    var variantFresh = ones.length && !isOlderThanShown("variant:" + variant, msg);
    var familyFresh = wholes.length && !isOlderThanShown("product:" + msg.product, msg);
    var change = "";
    if (variantFresh) {
      change = show(ones, stateFromMessage(msg, msg.as_of), msg);
    }
    if (familyFresh) {
      var familyChange = show(wholes, stateFromMessage(msg.family || msg, msg.as_of), msg);
      change = change || familyChange;  // a size's own news says more than the product's total
    }
    if (change) {
      announce(change);
    }
  }

  function show(elements, after, msg) {
    var before = readState(elements[0]);
    elements.forEach(function (el) {
      render(el, after);
      // For scripts that follow what a page shows (booth.js): an event, not a watch on the DOM.
      el.dispatchEvent(new CustomEvent("swagstore:stock-shown", { bubbles: true, detail: msg }));
    });
    var name = elements[0].getAttribute("data-product-name") || msg.name || msg.product;
    return describeChange(name, before, after);
  }

  // Two sales committed in different processes may publish in the opposite order to the one in
  // which they read the stock; a snapshot read earlier than the one shown is stale, so skip it.
  var shownAsOf = {};

  function isOlderThanShown(key, msg) {
    if (typeof msg.as_of !== "number") {
      return false;
    }
    if (shownAsOf[key] !== undefined && msg.as_of < shownAsOf[key]) {
      return true;
    }
    shownAsOf[key] = msg.as_of;
    return false;
  }

  function cssEscape(value) {
    if (window.CSS && CSS.escape) {
      return CSS.escape(value);
    }
    return value.replace(/["\\]/g, "\\$&");
  }

  /* ---- announcing (batched, so a snapshot of ten products is one announcement) ---- */

  var pending = [];
  var announceTimer = null;

  function announce(text) {
    if (!announcer) {
      return;
    }
    pending.push(text);
    clearTimeout(announceTimer);
    announceTimer = setTimeout(function () {
      var message = pending.splice(0).join(". ") + ".";
      // Empty first: a screen reader repeats a message only if the region's text changes.
      announcer.textContent = "";
      setTimeout(function () { announcer.textContent = message; }, 50);
    }, ANNOUNCE_BATCH_MS);
  }

  /* ---- connection (static/js/live-feed.js) ---- */

  function setStatus(state) {
    body.setAttribute("data-live-state", state);
    if (!statusEl) {
      return;
    }
    statusEl.hidden = false;
    statusEl.setAttribute("data-state", state);
    if (statusText) {
      statusText.textContent = STATUS_TEXT[state];
    }
  }

  var wasLive = false;
  var lossAnnounced = false;

  function onState(state) {
    setStatus(state);
    if (state === "live") {
      wasLive = true;
      if (lossAnnounced) {
        lossAnnounced = false;
        announce("Live stock updates are back");
      }
    } else if (state === "reconnecting" && wasLive && !lossAnnounced) {
      lossAnnounced = true;
      announce("Live stock updates lost, reconnecting");
    }
  }

  window.swagstore.openFeed(path, { onMessage: applyStock, onState: onState });

  /* ---- "Reserved — back in N min" ---- */

  function setBackIn(node, seconds) {
    if (typeof seconds === "number" && isFinite(seconds)) {
      node.setAttribute("data-back-at", String(Date.now() + Math.max(0, seconds) * 1000));
    } else {
      node.removeAttribute("data-back-at");
    }
    showBackIn(node);
  }

  // As inventory/reserved.py writes them; data-back-in="short" where the element already says reserved.
  function showBackIn(node) {
    var short = node.getAttribute("data-back-in") === "short";
    var at = parseFloat(node.getAttribute("data-back-at"));
    if (isNaN(at)) {
      node.textContent = short ? "reserved" : "Reserved — may come back";
      return;
    }
    // Rounded up, and never 0: a lapsed hold's units come back within moments (its session is expired first).
    var minutes = Math.max(1, Math.ceil((at - Date.now()) / 60000));
    var text = (short ? "" : "Reserved — ") + "back in " + minutes + " min";
    if (node.textContent !== text) {
      node.textContent = text;
    }
  }

  function startBackInCountdown() {
    document.querySelectorAll("[data-back-in]").forEach(function (node) {
      var seconds = node.getAttribute("data-back-in-seconds");
      setBackIn(node, seconds === null || seconds === "" ? null : parseFloat(seconds));
    });
    setInterval(function () {
      document.querySelectorAll("[data-back-in]").forEach(showBackIn);
    }, BACK_IN_TICK_MS);
  }

  /* ---- print buttons (QR sheet) ---- */

  function wirePrintButtons() {
    document.querySelectorAll("[data-print]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () { window.print(); });
    });
  }
})();
