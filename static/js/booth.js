/*
 * Sales figures that a stock message cannot carry: units sold in a time window.
 *
 * Booth screen (<section data-booth data-sales-url="…/booth.json">): live-stock.js keeps the stock
 * live; each stock message it renders rewrites a tile's data-available, and on that this script
 * re-reads the sales from the JSON view (debounced), and again every minute as the window slides.
 * A decrease is not always a sale (a checkout's hold, a staff count), so the count is never guessed.
 *
 * Staff dashboard (<div data-dashboard data-dashboard-url="…/dashboard.json">, feeds listed in
 * #dashboard-feeds): one socket per store feed; a stock message updates its product's row at
 * once, then the figures (sold today / last hour, low-stock warnings) are re-read, debounced.
 *
 * Without JavaScript both pages show the figures as of render.
 */
(function () {
  "use strict";

  var REFRESH_DEBOUNCE_MS = 250;
  var WINDOW_SLIDE_MS = 60000;
  var BACKOFF_FIRST_MS = 500;
  var BACKOFF_CAP_MS = 10000;
  var CLOSE_NO_SUCH_PAGE = 4404;

  function debounce(fn, ms) {
    var timer = null;
    return function () {
      clearTimeout(timer);
      timer = setTimeout(fn, ms);
    };
  }

  function getJSON(url, done) {
    fetch(url, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) { if (data) { done(data); } })
      .catch(function () { /* the next message or tick tries again */ });
  }

  function cssEscape(value) {
    if (window.CSS && typeof CSS.escape === "function") {
      return CSS.escape(value);
    }
    return String(value).replace(/["\\]/g, "\\$&");
  }

  /* ---- booth screen ---- */

  function startBooth(booth) {
    var url = booth.getAttribute("data-sales-url");

    function apply(data) {
      Object.keys(data.products || {}).forEach(function (product) {
        var tile = booth.querySelector('[data-stock-product="' + cssEscape(product) + '"]');
        if (!tile) {
          return;
        }
        var sold = data.products[product].sold_recently;
        tile.querySelectorAll("[data-sold-recently]").forEach(function (node) {
          node.textContent = String(sold);
          node.parentNode.setAttribute("data-selling", sold > 0 ? "true" : "false");
        });
      });
      booth.setAttribute("data-sales-updated", String(Date.now()));
    }

    var refresh = debounce(function () { getJSON(url, apply); }, REFRESH_DEBOUNCE_MS);
    new MutationObserver(refresh).observe(booth, {
      subtree: true, attributes: true, attributeFilter: ["data-available", "data-sold-out"],
    });
    setInterval(refresh, WINDOW_SLIDE_MS);

    var fullscreen = document.querySelector("[data-fullscreen]");
    if (fullscreen && document.fullscreenEnabled) {
      fullscreen.hidden = false;
      fullscreen.addEventListener("click", function () {
        document.documentElement.requestFullscreen().catch(function () {});
      });
    }
  }

  /* ---- staff dashboard ---- */

  function stateOf(row) {
    if (row.sold_out) {
      return ["sold-out", "Sold out"];
    }
    return row.low_stock ? ["low", "Low stock"] : ["ok", "In stock"];
  }

  function setCell(tr, name, value) {
    var cell = tr.querySelector('[data-cell="' + name + '"]');
    if (cell && value !== undefined && value !== null) {
      cell.textContent = String(value);
    }
  }

  function renderRow(tr, row) {
    var state = stateOf(row);
    setCell(tr, "inventory", row.inventory);
    setCell(tr, "available", row.available);
    setCell(tr, "sold_today", row.sold_today);
    setCell(tr, "sold_last_hour", row.sold_last_hour);
    setCell(tr, "state", state[1]);
    tr.setAttribute("data-state", state[0]);
  }

  function renderLowStock(root, data) {
    var list = root.querySelector("[data-low-stock-list]");
    var empty = root.querySelector("[data-low-stock-empty]");
    if (!list) {
      return;
    }
    var byId = {};
    data.products.forEach(function (row) { byId[row.id] = row; });
    var items = data.low_stock.map(function (id) {
      var row = byId[id];
      var li = document.createElement("li");
      li.setAttribute("data-low-stock-item", String(id));
      var link = document.createElement("a");
      link.href = row.admin_url;
      link.textContent = row.name;
      li.appendChild(link);
      li.appendChild(document.createTextNode(" at " + row.store_name + ": "));
      if (row.sold_out) {
        var strong = document.createElement("strong");
        strong.textContent = "sold out";
        li.appendChild(strong);
      } else {
        li.appendChild(document.createTextNode(row.available + " left (threshold " + row.low_stock_threshold + ")"));
      }
      return li;
    });
    // Rewrite only on a change: the list sits in a live region, and a rewrite is announced.
    var before = list.textContent;
    var next = document.createElement("ul");
    items.forEach(function (li) { next.appendChild(li); });
    if (next.textContent !== before || list.children.length !== items.length) {
      list.replaceChildren.apply(list, items);
    }
    if (empty) {
      empty.hidden = items.length > 0;
    }
  }

  function startDashboard(root) {
    var url = root.getAttribute("data-dashboard-url");
    var feedsEl = document.getElementById("dashboard-feeds");
    var feeds = feedsEl ? JSON.parse(feedsEl.textContent) : [];
    var statusEl = root.querySelector("[data-dashboard-status]");
    var statusText = root.querySelector("[data-dashboard-status-text]");
    var updated = root.querySelector("[data-dashboard-updated]");
    var open = {};

    function apply(data) {
      data.products.forEach(function (row) {
        var tr = root.querySelector('[data-dashboard-row="' + cssEscape(row.store + ":" + row.product) + '"]');
        if (tr) {
          renderRow(tr, row);
        }
      });
      renderLowStock(root, data);
      if (updated) {
        updated.setAttribute("datetime", data.generated_at);
        updated.textContent = new Date(data.generated_at).toLocaleTimeString();
      }
      root.setAttribute("data-dashboard-refreshed", String(Date.now()));
    }

    var refresh = debounce(function () { getJSON(url, apply); }, REFRESH_DEBOUNCE_MS);

    function showStatus() {
      var live = feeds.every(function (path) { return open[path]; });
      var state = live ? "live" : "reconnecting";
      root.setAttribute("data-live-state", state);
      if (statusEl) {
        statusEl.hidden = false;
        statusEl.setAttribute("data-state", state);
        statusText.textContent = live ? "live" : "reconnecting…";
      }
    }

    function onMessage(event) {
      var msg;
      try {
        msg = JSON.parse(event.data);
      } catch (err) {
        return;
      }
      if (!msg || msg.type !== "stock.updated") {
        return;
      }
      var tr = root.querySelector('[data-dashboard-row="' + cssEscape(msg.store + ":" + msg.product) + '"]');
      if (tr) {
        var current = {
          inventory: msg.inventory, available: msg.available, sold_out: msg.sold_out, low_stock: msg.low_stock,
        };
        setCell(tr, "inventory", current.inventory);
        setCell(tr, "available", current.available);
        var state = stateOf(current);
        setCell(tr, "state", state[1]);
        tr.setAttribute("data-state", state[0]);
      }
      refresh();
    }

    function connect(path, attempt) {
      var ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + path);
      ws.addEventListener("open", function () {
        attempt = 0;
        open[path] = true;
        showStatus();
        refresh(); // what changed while this feed was away
      });
      ws.addEventListener("message", onMessage);
      ws.addEventListener("close", function (event) {
        open[path] = false;
        showStatus();
        if (event.code === CLOSE_NO_SUCH_PAGE) {
          return;
        }
        var ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_FIRST_MS * Math.pow(2, attempt));
        setTimeout(function () { connect(path, attempt + 1); }, ceiling / 2 + Math.random() * (ceiling / 2));
      });
    }

    if ("WebSocket" in window) {
      feeds.forEach(function (path) { connect(path, 0); });
    }
    setInterval(refresh, WINDOW_SLIDE_MS);
  }

  var booth = document.querySelector("[data-booth]");
  if (booth) {
    startBooth(booth);
  }
  var dashboard = document.querySelector("[data-dashboard]");
  if (dashboard) {
    startDashboard(dashboard);
  }
})();
