/**
 * batch_dashboard.js: the browser side of the Batch Status Dashboard.
 *
 * A small module with no dependencies, usable by any page as it is:
 *
 *   BatchDashboard.createBatch({batchSize: 5, prompts: []})
 *       -> Promise of {batchId, status}; rejects with the API's error object.
 *   BatchDashboard.pollStatus(batchId, {onStatus, onError, interval})
 *       -> {stop()}: one request at a time, exponential backoff on errors,
 *          stops by itself when the batch is terminal.
 *   BatchDashboard.subscribe(url, {onStatus, onEnd, onError})
 *       -> {close()}: a Server-Sent Events stream of status changes.
 *   new BatchDashboard.Gate({interval})
 *       -> decides when a poll may go out: never two at once, backoff after
 *          failures, none while the tab is hidden, one on its return.
 *
 * The dashboard's Dash clientside callbacks use it through
 * window.dash_clientside.batch_dashboard (gate, stream).
 */
(function (root) {
  "use strict";

  var API = "/api/jokes/batches";
  var TERMINAL = { completed: true, failed: true, cancelled: true };
  var MAX_BACKOFF_MS = 60000;
  // A poll with no answer after this long counts as failed.
  var FLIGHT_TIMEOUT_MS = 15000;

  function now() {
    return Date.now();
  }

  function backoffDelay(base, failures) {
    return Math.min(base * Math.pow(2, failures), MAX_BACKOFF_MS);
  }

  function readJson(response) {
    return response.text().then(function (text) {
      var body = text ? JSON.parse(text) : null;
      if (!response.ok) {
        var error = (body && body.error) || { code: "http_" + response.status };
        error.status = response.status;
        throw error;
      }
      return body;
    });
  }

  /** POST a batch; resolves with {batchId, status}. */
  function createBatch(body, options) {
    var headers = { "Content-Type": "application/json" };
    if (options && options.idempotencyKey) {
      headers["Idempotency-Key"] = options.idempotencyKey;
    }
    return fetch(API, {
      method: "POST",
      headers: headers,
      body: JSON.stringify(body),
    }).then(readJson);
  }

  /** Poll one batch's status until it is terminal or stop() is called. */
  function pollStatus(batchId, options) {
    var opts = options || {};
    var interval = opts.interval || 2000;
    var failures = 0;
    var timer = null;
    var stopped = false;
    var url = API + "/" + encodeURIComponent(batchId) + "/status";

    function schedule(delay) {
      if (!stopped) {
        timer = setTimeout(once, delay);
      }
    }

    function once() {
      fetch(url, { cache: "no-store" })
        .then(readJson)
        .then(function (status) {
          failures = 0;
          if (opts.onStatus) {
            opts.onStatus(status);
          }
          if (TERMINAL[status.status]) {
            stopped = true;
          } else {
            schedule(interval);
          }
        })
        .catch(function (error) {
          failures += 1;
          if (opts.onError) {
            opts.onError(error, failures);
          }
          if (error && error.status === 404) {
            stopped = true;
            return;
          }
          schedule(backoffDelay(interval, failures));
        });
    }

    once();
    return {
      stop: function () {
        stopped = true;
        clearTimeout(timer);
      },
    };
  }

  /** Open a status stream; onError(closed) says whether it gave up for good. */
  function subscribe(url, handlers) {
    var h = handlers || {};
    if (typeof root.EventSource !== "function") {
      if (h.onError) {
        h.onError(true);
      }
      return { close: function () {}, source: null };
    }
    var source = new root.EventSource(url);
    source.addEventListener("open", function () {
      if (h.onOpen) {
        h.onOpen();
      }
    });
    source.addEventListener("status", function (event) {
      if (h.onStatus) {
        h.onStatus(JSON.parse(event.data));
      }
    });
    source.addEventListener("resync", function () {
      if (h.onStatus) {
        h.onStatus(null);
      }
    });
    source.addEventListener("end", function (event) {
      source.close();
      if (h.onEnd) {
        h.onEnd(JSON.parse(event.data));
      }
    });
    source.addEventListener("error", function () {
      // CLOSED: the server refused (503 when every slot is taken); the
      // browser will not retry. CONNECTING: it retries by itself.
      var closed = source.readyState === root.EventSource.CLOSED;
      if (h.onError) {
        h.onError(closed);
      }
    });
    return {
      close: function () {
        source.close();
      },
      source: source,
    };
  }

  /**
   * When may the next poll go out? At most one in flight; after a failure
   * wait interval * 2^failures; while the tab is hidden, none, then exactly
   * one when it is shown again.
   */
  function Gate(options) {
    this.interval = (options && options.interval) || 2000;
    this.inFlight = false;
    this.sentAt = 0;
    this.failures = 0;
    this.notBefore = 0;
    this.missed = false;
    this.seq = 0;
    this.sent = 0;
  }

  Gate.prototype.request = function (hidden) {
    var t = now();
    if (this.inFlight && t - this.sentAt < FLIGHT_TIMEOUT_MS) {
      this.missed = true;
      return null;
    }
    if (this.inFlight) {
      this.fail();
    }
    if (hidden) {
      this.missed = true;
      return null;
    }
    if (t < this.notBefore) {
      return null;
    }
    this.inFlight = true;
    this.missed = false;
    this.sentAt = t;
    this.seq += 1;
    this.sent += 1;
    return { n: this.seq, at: t };
  };

  Gate.prototype.done = function (ack) {
    if (!ack || ack.n !== this.seq) {
      return;
    }
    this.inFlight = false;
    if (ack.ok) {
      this.failures = 0;
      this.notBefore = 0;
    } else {
      this.fail();
    }
  };

  Gate.prototype.fail = function () {
    this.inFlight = false;
    this.failures += 1;
    this.notBefore = now() + backoffDelay(this.interval, this.failures);
  };

  var BatchDashboard = {
    createBatch: createBatch,
    pollStatus: pollStatus,
    subscribe: subscribe,
    Gate: Gate,
    backoffDelay: backoffDelay,
  };
  root.BatchDashboard = BatchDashboard;

  // -- the dashboard's hooks ----------------------------------------------

  // With a healthy stream, the interval still lets one tick through this
  // often, so that a card with no events can show that it stalled.
  var SAFETY_TICK_MS = 15000;
  var STREAM_RETRY_MS = 30000;
  var LIVE_GAP_MS = 1000;

  function dc() {
    return root.dash_clientside;
  }

  function triggeredBy(propId) {
    var triggered = dc().callback_context.triggered || [];
    return triggered.some(function (t) {
      return t.prop_id === propId;
    });
  }

  /**
   * One page's live loop: a Gate for its ticks, and a stream whose events
   * become ticks. options: liveId (the store a stream event writes),
   * pageId (an element only that page has), intervalProp, relevant(status).
   */
  function LiveLoop(options) {
    this.options = options;
    this.gate = null;
    this.stream = null;
    this.url = null;
    this.streamUp = false;
    this.openedAt = 0;
    this.opened = 0;
    this.retryAt = 0;
    this.lastLive = 0;
    this.pendingLive = null;
  }

  LiveLoop.prototype.onPage = function () {
    return !!document.getElementById(this.options.pageId);
  };

  LiveLoop.prototype.signal = function (reason) {
    // After a move to another page the stream has no one to tell.
    if (!this.onPage()) {
      this.close();
      return;
    }
    dc().set_props(this.options.liveId, { data: { reason: reason, t: now() } });
  };

  LiveLoop.prototype.onEvent = function (status) {
    var self = this;
    // Coalesce bursts of events into one tick per LIVE_GAP_MS.
    if (!this.options.relevant(status) || this.pendingLive) {
      return;
    }
    var wait = Math.max(0, this.lastLive + LIVE_GAP_MS - now());
    this.pendingLive = setTimeout(function () {
      self.pendingLive = null;
      self.lastLive = now();
      self.signal("event");
    }, wait);
  };

  LiveLoop.prototype.open = function (url) {
    var self = this;
    if (url && url !== this.url) {
      this.close();
      this.url = url;
    }
    if (this.stream || !this.url || now() < this.retryAt) {
      return;
    }
    this.stream = subscribe(this.url, {
      onOpen: function () {
        self.streamUp = true;
        self.openedAt = now();
        self.opened += 1;
      },
      onStatus: function (status) {
        self.onEvent(status);
      },
      onEnd: function () {
        self.stream = null;
        self.streamUp = false;
        self.signal("end");
      },
      onError: function (closed) {
        self.streamUp = false;
        if (closed) {
          self.stream = null;
          self.retryAt = now() + STREAM_RETRY_MS;
        }
      },
    });
  };

  LiveLoop.prototype.close = function () {
    if (this.stream) {
      this.stream.close();
    }
    this.stream = null;
    this.streamUp = false;
  };

  /** Interval or stream event: a tick to send, or no_update. */
  LiveLoop.prototype.tick = function (interval) {
    var noUpdate = dc().no_update;
    if (!this.gate) {
      this.gate = new Gate({ interval: interval });
    }
    var gate = this.gate;
    var fromInterval = triggeredBy(this.options.intervalProp);
    // A healthy stream makes interval ticks redundant, once the page has
    // caught up after the stream opened.
    if (
      fromInterval &&
      this.streamUp &&
      gate.sentAt > this.openedAt &&
      now() - gate.sentAt < SAFETY_TICK_MS
    ) {
      return noUpdate;
    }
    if (fromInterval) {
      this.open(null);
    }
    var tick = gate.request(document.hidden);
    return tick === null ? noUpdate : tick;
  };

  /** A tick's answer: free the gate; catch up once if a tick was missed. */
  LiveLoop.prototype.ack = function (ack) {
    var self = this;
    var gate = this.gate;
    if (gate) {
      var missed = gate.missed;
      gate.done(ack);
      if (missed && ack && ack.ok && !document.hidden) {
        setTimeout(function () {
          self.signal("missed");
        }, 0);
      }
    }
    return ack ? ack.n : null;
  };

  LiveLoop.prototype.stats = function () {
    var gate = this.gate || {};
    return {
      sent: gate.sent || 0,
      failures: gate.failures || 0,
      inFlight: !!gate.inFlight,
      streamUp: this.streamUp,
      streamsOpened: this.opened,
    };
  };

  var grid = new LiveLoop({
    liveId: "live-signal",
    pageId: "batch-grid",
    intervalProp: "poll.n_intervals",
    // Only a batch on this page, or a new one that may belong on it, is news.
    relevant: function (status) {
      return (
        !status ||
        status.version <= 2 ||
        !!document.querySelector("[id*='\"" + status.batchId + "\"']")
      );
    },
  });
  var detail = new LiveLoop({
    liveId: "detail-live",
    pageId: "batch-detail",
    intervalProp: "detail-poll.n_intervals",
    relevant: function () {
      return true;
    },
  });

  // Clicks on chips and on a card's buttons, by delegation: one listener
  // for every chip, however many ticks and pages have added.
  var CLICK_TARGETS = {
    chip: "joke-request",
    more: "card-action",
    resume: "card-action",
  };

  document.addEventListener("click", function (event) {
    var element =
      event.target && event.target.closest
        ? event.target.closest("button.chip, button.more, button.resume")
        : null;
    if (!element || !element.id || element.id.charAt(0) !== "{") {
      return;
    }
    var key = JSON.parse(element.id);
    var action = element.classList.contains("chip")
      ? "chip"
      : element.classList.contains("more")
        ? "more"
        : "resume";
    dc().set_props(CLICK_TARGETS[action], {
      data: { action: action, id: key.id, t: now() },
    });
    if (action === "chip") {
      focusPanelWhenShown(element);
    }
    // A resumed card is looked at by the next interval tick, not at the
    // stream's next event: the page counts as caught up no longer.
    if (action === "resume") {
      grid.openedAt = now();
    }
  });

  // Keyboard users land in the joke panel when it opens, and Escape takes
  // them back to the chip they came from.
  var panelOpener = null;

  function focusPanelWhenShown(opener) {
    panelOpener = opener;
    var deadline = now() + 5000;
    (function look() {
      var panel = document.getElementById("joke-panel");
      var close = document.getElementById("joke-close");
      if (panel && close && !panel.hidden) {
        close.focus();
      } else if (now() < deadline) {
        setTimeout(look, 50);
      }
    })();
  }

  document.addEventListener("keydown", function (event) {
    var panel = document.getElementById("joke-panel");
    if (event.key !== "Escape" || !panel || panel.hidden) {
      return;
    }
    var close = document.getElementById("joke-close");
    if (close) {
      close.click();
    }
    if (panelOpener && document.body.contains(panelOpener)) {
      panelOpener.focus();
    }
  });

  document.addEventListener("visibilitychange", function () {
    [grid, detail].forEach(function (loop) {
      if (!document.hidden && loop.gate && loop.gate.missed) {
        loop.signal("visible");
      }
    });
  });

  var hooks = {
    /** The grid's interval or stream event: return a tick, or no_update. */
    gate: function (nIntervals, live, interval) {
      return grid.tick(interval);
    },

    ack: function (ack) {
      return grid.ack(ack);
    },

    /**
     * Keep the all-batches stream open on the grid, quiet or not: with
     * polling off it is how a batch started elsewhere (the API, another tab)
     * reaches the page, and it costs no requests while nothing happens.
     */
    stream: function (disabled) {
      grid.open(API + "/events");
      return { open: true, polling: !disabled };
    },

    detailGate: function (nIntervals, live, interval) {
      return detail.tick(interval);
    },

    detailAck: function (ack) {
      return detail.ack(ack);
    },

    /** The detail view streams its one batch until the batch ends. */
    detailStream: function (disabled, state) {
      if (disabled || !state) {
        detail.close();
        return { open: false };
      }
      detail.open(API + "/" + encodeURIComponent(state.batchId) + "/events");
      return { open: true };
    },

    /** The route changed: each page keeps only its own stream. */
    page: function (pathname) {
      if (pathname !== "/") {
        grid.close();
      }
      if (!/^\/batches\//.test(pathname || "")) {
        detail.close();
      }
      return pathname;
    },

    /** For tests and the curious: what the gates have done so far. */
    stats: function () {
      return grid.stats();
    },

    detailStats: function () {
      return detail.stats();
    },
  };

  var namespace = (root.dash_clientside = root.dash_clientside || {});
  namespace.batch_dashboard = hooks;
})(window);
