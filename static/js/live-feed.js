/*
 * The one live feed every page uses: a WebSocket that keeps itself open.
 *
 *   var feed = swagstore.openFeed(path, { onMessage: function (msg) {…}, onState: function (state) {…} });
 *   feed.close();   // for good (a page that needs no more news)
 *
 * `path` comes from the server (a data attribute or json_script), never written in a script.
 * onMessage gets each message parsed as JSON (a frame that is not JSON is skipped). onState gets
 *   "connecting"   the first attempt;
 *   "live"         the socket is open;
 *   "reconnecting" it was lost: retried with exponential backoff and jitter, and at once when the
 *                  browser comes back online, the tab becomes visible or the page returns from the
 *                  back/forward cache (the socket is closed on leaving, so the page can enter it);
 *   "offline"      the server closed with 4404: there is no such feed, so it is not retried.
 * The servers send the current state on every (re)connect, so nothing missed while away is kept.
 */
(function () {
  "use strict";

  var BACKOFF_FIRST_MS = 500;
  var BACKOFF_CAP_MS = 10000;
  var CLOSE_NO_SUCH_FEED = 4404;

  function feedUrl(path) {
    return (location.protocol === "https:" ? "wss://" : "ws://") + location.host + path;
  }

  function openFeed(path, handlers) {
    var onMessage = (handlers && handlers.onMessage) || function () {};
    var onState = (handlers && handlers.onState) || function () {};
    var socket = null;
    var attempt = 0;
    var retryTimer = null;
    var paused = false; // left for the back/forward cache
    var done = false; // closed by the page, or the server said there is no such feed
    var wasLive = false;

    function connect() {
      clearTimeout(retryTimer);
      retryTimer = null;
      if (done || paused || socket) {
        return;
      }
      onState(wasLive || attempt > 0 ? "reconnecting" : "connecting");
      var ws;
      try {
        ws = new WebSocket(feedUrl(path));
      } catch (err) {
        scheduleReconnect();
        return;
      }
      socket = ws;
      var gotMessage = false;

      ws.addEventListener("open", function () {
        wasLive = true;
        onState("live");
      });

      ws.addEventListener("message", function (event) {
        if (!gotMessage) {
          // A healthy feed: the next loss starts backing off from the shortest delay again.
          gotMessage = true;
          attempt = 0;
        }
        var msg;
        try {
          msg = JSON.parse(event.data);
        } catch (err) {
          return;
        }
        onMessage(msg);
      });

      ws.addEventListener("close", function (event) {
        if (socket !== ws) {
          return;
        }
        socket = null;
        if (done || paused) {
          return;
        }
        if (event.code === CLOSE_NO_SUCH_FEED) {
          done = true;
          onState("offline");
          return;
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
      onState("reconnecting");
      clearTimeout(retryTimer);
      retryTimer = setTimeout(connect, delay);
    }

    function reconnectNow() {
      if (!done && !paused && !socket) {
        attempt = 0;
        connect();
      }
    }

    function closeSocket() {
      clearTimeout(retryTimer);
      if (socket) {
        var ws = socket;
        socket = null;
        ws.close(1000);
      }
    }

    function onVisible() {
      if (document.visibilityState === "visible") {
        reconnectNow();
      }
    }

    function onPageHide() {
      paused = true;
      closeSocket();
    }

    function onPageShow(event) {
      if (event.persisted) {
        paused = false;
        reconnectNow();
      }
    }

    var listeners = [
      [window, "online", reconnectNow],
      [document, "visibilitychange", onVisible],
      [window, "pagehide", onPageHide],
      [window, "pageshow", onPageShow],
    ];
    listeners.forEach(function (l) { l[0].addEventListener(l[1], l[2]); });

    if ("WebSocket" in window) {
      connect();
    }

    return {
      close: function () {
        done = true;
        closeSocket();
        listeners.forEach(function (l) { l[0].removeEventListener(l[1], l[2]); });
      },
    };
  }

  window.swagstore = window.swagstore || {};
  window.swagstore.openFeed = openFeed;
})();
