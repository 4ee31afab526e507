/*
 * Live stock for server-rendered pages.
 *
 * The page says where its feed is (<body data-live-stock-path="/ws/stock/<store>/[<product>/]">) and
 * marks every product it shows with data-stock-product="<stripe product id>". Inside such an element:
 *   [data-stock-count]       gets the stock number;
 *   [data-show-when="…"]     is shown or hidden: in-stock, sold-out, low-stock, payable, unavailable
 *                            (not payable although not sold out: link switched off).
 * The element itself carries data-available / data-sold-out / data-low-stock / data-payable, which
 * the CSS styles from and which this script reads to know what the page shows now.
 *
 * The server sends every product's current stock on each (re)connect, so a page that was away
 * never keeps a number it missed. Without JavaScript the page simply shows stock as of render.
 */
(function () {
  "use strict";

  var BACKOFF_FIRST_MS = 500;
  var BACKOFF_CAP_MS = 10000;
  var ANNOUNCE_BATCH_MS = 400;
  var CLOSE_NO_SUCH_PAGE = 4404;
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

  var path = body.getAttribute("data-live-stock-path");
  if (!path || !("WebSocket" in window)) {
    return;
  }
  var feedUrl = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + path;

  var socket = null;
  var attempt = 0;
  var retryTimer = null;
  var stopped = false;
  var wasLive = false;
  var lossAnnounced = false;

  /* ---- applying a stock message ---- */

  function readState(el) {
    return {
      available: parseInt(el.getAttribute("data-available"), 10) || 0,
      soldOut: el.getAttribute("data-sold-out") === "true",
      lowStock: el.getAttribute("data-low-stock") === "true",
      payable: el.getAttribute("data-payable") === "true",
    };
  }

  function stateFromMessage(msg) {
    // "available" is stock less the units held by checkouts in progress: what a buyer can get.
    var shown = typeof msg.available === "number" ? msg.available : msg.inventory;
    return {
      available: Math.max(0, parseInt(shown, 10) || 0),
      soldOut: Boolean(msg.sold_out),
      lowStock: Boolean(msg.low_stock),
      payable: Boolean(msg.payable),
    };
  }

  function shows(condition, state) {
    switch (condition) {
      case "in-stock": return !state.soldOut;
      case "sold-out": return state.soldOut;
      case "low-stock": return state.lowStock;
      case "payable": return state.payable;
      case "unavailable": return !state.payable && !state.soldOut;
      default: return true;
    }
  }

  function render(el, state) {
    el.setAttribute("data-available", String(state.available));
    el.setAttribute("data-sold-out", String(state.soldOut));
    el.setAttribute("data-low-stock", String(state.lowStock));
    el.setAttribute("data-payable", String(state.payable));
    el.querySelectorAll("[data-stock-count]").forEach(function (node) {
      node.textContent = String(state.available);
    });
    el.querySelectorAll("[data-show-when]").forEach(function (node) {
      node.hidden = !shows(node.getAttribute("data-show-when"), state);
    });
  }

  function describeChange(name, before, after) {
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
    var elements = document.querySelectorAll(selector);
    if (!elements.length || isOlderThanShown(msg)) {
      return;
    }
    var before = readState(elements[0]);
    var after = stateFromMessage(msg);
    elements.forEach(function (el) { render(el, after); });
    var name = elements[0].getAttribute("data-product-name") || msg.name || msg.product;
    var change = describeChange(name, before, after);
    if (change) {
      announce(change);
    }
  }

  // Two sales committed in different processes may publish in the opposite order to the one in
  // which they read the stock; a snapshot read earlier than the one shown is stale, so skip it.
  var shownAsOf = {};

  function isOlderThanShown(msg) {
    if (typeof msg.as_of !== "number") {
      return false;
    }
    if (shownAsOf[msg.product] !== undefined && msg.as_of < shownAsOf[msg.product]) {
      return true;
    }
    shownAsOf[msg.product] = msg.as_of;
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

  /* ---- connection ---- */

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

  function connect() {
    clearTimeout(retryTimer);
    retryTimer = null;
    if (stopped || (socket && socket.readyState <= WebSocket.OPEN)) {
      return;
    }
    setStatus(wasLive || attempt > 0 ? "reconnecting" : "connecting");
    var ws;
    try {
      ws = new WebSocket(feedUrl);
    } catch (err) {
      scheduleReconnect();
      return;
    }
    socket = ws;
    var gotSnapshot = false;

    ws.addEventListener("open", function () {
      setStatus("live");
      wasLive = true;
      if (lossAnnounced) {
        lossAnnounced = false;
        announce("Live stock updates are back");
      }
    });

    ws.addEventListener("message", function (event) {
      if (!gotSnapshot) {
        // A healthy feed: the next loss starts backing off from the shortest delay again.
        gotSnapshot = true;
        attempt = 0;
      }
      var msg;
      try {
        msg = JSON.parse(event.data);
      } catch (err) {
        return;
      }
      applyStock(msg);
    });

    ws.addEventListener("close", function (event) {
      if (socket !== ws) {
        return;
      }
      socket = null;
      if (stopped) {
        return;
      }
      if (event.code === CLOSE_NO_SUCH_PAGE) {
        setStatus("offline");
        return;
      }
      if (wasLive && !lossAnnounced) {
        lossAnnounced = true;
        announce("Live stock updates lost, reconnecting");
      }
      scheduleReconnect();
    });
    // An "error" event is always followed by "close", which does the work.
  }

  function scheduleReconnect() {
    // Exponential backoff with jitter: a restarted server is not hit by every phone at once.
    var ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_FIRST_MS * Math.pow(2, attempt));
    var delay = ceiling / 2 + Math.random() * (ceiling / 2);
    attempt += 1;
    setStatus("reconnecting");
    clearTimeout(retryTimer);
    retryTimer = setTimeout(connect, delay);
  }

  function reconnectNow() {
    if (!stopped && !socket) {
      attempt = 0;
      connect();
    }
  }

  window.addEventListener("online", reconnectNow);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") {
      reconnectNow();
    }
  });
  // Close on leaving so the page can enter the back/forward cache; reconnect when it is shown again.
  window.addEventListener("pagehide", function () {
    stopped = true;
    clearTimeout(retryTimer);
    if (socket) {
      socket.close(1000);
      socket = null;
    }
  });
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) {
      stopped = false;
      reconnectNow();
    }
  });

  connect();

  /* ---- print buttons (QR sheet) ---- */

  function wirePrintButtons() {
    document.querySelectorAll("[data-print]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () { window.print(); });
    });
  }
})();
