/*
 * Sales figures that a stock message cannot carry: units sold in a time window.
 *
 * Booth screen (<section data-booth data-sales-url="…/booth.json">): live-stock.js keeps the stock
 * live and fires "swagstore:stock-shown" on each tile it renders; on that this script re-reads the
 * sales from the JSON view (debounced), and again every minute as the window slides.
 * A decrease is not always a sale (a checkout's hold, a staff count), so the count is never guessed.
 *
 * Staff dashboard (<div data-dashboard data-dashboard-url="…/dashboard.json">, feeds listed in
 * #dashboard-feeds, from the server): one live feed (static/js/live-feed.js) per store; a stock
 * message updates its variant's row (one per product and size) at once, then the figures (sold today / last hour, low-stock warnings) are re-read, debounced.
 *
 * Without JavaScript both pages show the figures as of render.
 */
(function () {
  "use strict";

  var REFRESH_DEBOUNCE_MS = 250;
  var WINDOW_SLIDE_MS = 60000;

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
      // One tile per variant (a size, or a product without sizes), keyed by the variant's id.
      Object.keys(data.variants || {}).forEach(function (variant) {
        var tile = booth.querySelector('[data-stock-variant="' + cssEscape(variant) + '"]');
        if (!tile) {
          return;
        }
        var sold = data.variants[variant].sold_recently;
        tile.querySelectorAll("[data-sold-recently]").forEach(function (node) {
          node.textContent = String(sold);
          node.parentNode.setAttribute("data-selling", sold > 0 ? "true" : "false");
        });
      });
      booth.setAttribute("data-sales-updated", String(Date.now()));
    }

    var refresh = debounce(function () { getJSON(url, apply); }, REFRESH_DEBOUNCE_MS);
    booth.addEventListener("swagstore:stock-shown", refresh);
    setInterval(refresh, WINDOW_SLIDE_MS);

    fitBoard(booth);

    var fullscreen = document.querySelector("[data-fullscreen]");
    if (fullscreen && document.fullscreenEnabled) {
      fullscreen.hidden = false;
      fullscreen.addEventListener("click", function () {
        document.documentElement.requestFullscreen().catch(function () {});
      });
    }
  }

  /* ---- the board on one screen: tiles scaled to fit, paged when they would be too small ---- */

  // Below this a tile's stock number no longer reads from a few metres away (booth.css scales the
  // type with the tile's smaller side): then the board shows the tiles a screenful at a time.
  var TILE_MIN_WIDTH = 280;
  var TILE_MIN_HEIGHT = 230;
  var PAGE_MS = 8000;

  // The columns × rows that make `count` tiles largest in width × height (a tile reads best about
  // as wide as tall, so its size is its smaller side, height weighed a little up).
  function bestGrid(count, width, height, gap) {
    var best = null;
    for (var columns = 1; columns <= count; columns++) {
      var rows = Math.ceil(count / columns);
      var w = (width - gap * (columns - 1)) / columns;
      var h = (height - gap * (rows - 1)) / rows;
      var size = Math.min(w, h * 1.2);
      if (!best || size > best.size) {
        best = { columns: columns, rows: rows, w: w, h: h, size: size };
      }
    }
    return best;
  }

  function fits(grid) {
    return grid.w >= TILE_MIN_WIDTH && grid.h >= TILE_MIN_HEIGHT;
  }

  function fitBoard(booth) {
    var board = booth.querySelector("[data-booth-board]");
    var pageLabel = booth.querySelector("[data-booth-page]");
    if (!board) {
      return;
    }
    var tiles = Array.prototype.slice.call(board.children);
    var pages = [tiles];
    var shown = 0;
    var timer = null;

    function showPage(index) {
      shown = index % pages.length;
      tiles.forEach(function (tile) { tile.hidden = pages[shown].indexOf(tile) < 0; });
      board.setAttribute("data-page", String(shown + 1));
      board.setAttribute("data-pages", String(pages.length));
      if (pageLabel) {
        pageLabel.hidden = pages.length < 2;
        pageLabel.textContent = "Page " + (shown + 1) + " of " + pages.length;
      }
    }

    function layout() {
      document.body.setAttribute("data-board-fitted", "");
      board.setAttribute("data-fitted", "");
      var box = board.getBoundingClientRect();
      var gap = parseFloat(getComputedStyle(board).rowGap) || 0;
      var perPage = tiles.length;
      var grid = bestGrid(perPage, box.width, box.height, gap);
      while (perPage > 1 && !fits(grid)) {
        perPage -= 1;
        grid = bestGrid(perPage, box.width, box.height, gap);
      }
      // As many pages as needed, the tiles shared out evenly (7 on 2 pages: 4 and 3, not 6 and 1).
      var count = Math.max(1, Math.ceil(tiles.length / perPage));
      var each = Math.ceil(tiles.length / count);
      grid = bestGrid(each, box.width, box.height, gap);
      board.style.setProperty("--booth-columns", String(grid.columns));
      board.style.setProperty("--booth-rows", String(grid.rows));
      pages = [];
      for (var i = 0; i < tiles.length; i += each) {
        pages.push(tiles.slice(i, i + each));
      }
      showPage(Math.min(shown, pages.length - 1));
      clearInterval(timer);
      if (pages.length > 1) {
        timer = setInterval(function () { showPage(shown + 1); }, PAGE_MS);
      }
      board.setAttribute("data-layout", grid.columns + "x" + grid.rows);
    }

    layout();
    window.addEventListener("resize", debounce(layout, 150));
  }

  /* ---- staff dashboard ---- */

  function setCell(tr, name, value) {
    var cell = tr.querySelector('[data-cell="' + name + '"]');
    if (cell && value !== undefined && value !== null) {
      cell.textContent = String(value);
    }
  }

  // Stock figures and the state (sold-out / low / ok, with its text) come derived from the server.
  function renderStock(tr, row) {
    setCell(tr, "inventory", row.inventory);
    setCell(tr, "available", row.available);
    setCell(tr, "state", row.state_text);
    tr.setAttribute("data-state", row.state);
  }

  function renderRow(tr, row) {
    renderStock(tr, row);
    setCell(tr, "sold_today", row.sold_today);
    setCell(tr, "sold_last_hour", row.sold_last_hour);
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
        strong.textContent = row.state_text.toLowerCase();  // "sold out", or "reserved" while buyers hold the last
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
        var tr = root.querySelector('[data-dashboard-row="' + cssEscape(String(row.id)) + '"]');
        if (tr) {
          renderRow(tr, row);
        }
      });
      renderLowStock(root, data);
      if (updated) {
        updated.setAttribute("datetime", data.generated_at);
        updated.textContent = data.generated_at_text;  // the booths' zone, not this browser's
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

    function onMessage(msg) {
      if (!msg || msg.type !== "stock.updated") {
        return;
      }
      var tr = root.querySelector('[data-dashboard-row="' + cssEscape(String(msg.variant)) + '"]');
      if (tr) {
        renderStock(tr, msg);
      }
      refresh();
    }

    feeds.forEach(function (path) {
      window.swagstore.openFeed(path, {
        onMessage: onMessage,
        onState: function (state) {
          if (state === "connecting") {
            return; // the status shows once the feeds have answered
          }
          open[path] = state === "live";
          showStatus();
          if (open[path]) {
            refresh(); // what changed while this feed was away
          }
        },
      });
    });
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
