// Sealforge plant pages: live values and the run's state from the API's values stream (one
// EventSource per tab),
// faceplates with trends, setpoint writes and attacks through the API's own routes, and the
// trends page on the API's decimated trend route. Nothing inline (the CSP forbids it).
"use strict";

(function () {
  var STALE_MS = 3000;
  var LIVE_POINTS = 3600;

  function csrf() {
    try { return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRF-Token"] || ""; }
    catch (e) { return ""; }
  }
  function fmt(v) {
    if (v === true) return "1";
    if (v === false) return "0";
    if (typeof v !== "number" || !isFinite(v)) return "–";
    var a = Math.abs(v);
    return a >= 1000 ? v.toFixed(0) : a >= 100 ? v.toFixed(1) : v.toFixed(2);
  }
  function postJSON(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf()},
      body: JSON.stringify(body)
    }).then(function (r) {
      return r.json().then(function (j) { return {status: r.status, body: j}; });
    });
  }
  function problem(body) {
    var e = body && body.error;
    if (!e) return "refused";
    var d = e.details && e.details.length ? e.details[0].field + ": " + e.details[0].message : e.message;
    return e.code + " · " + d;
  }
  function stamp(ts) { return Date.parse(ts) / 1000; }

  // -- bands: spans of samples under an attack, labelled with the attack ids --------------------
  function drawBands(u) {
    var bands = u.sealforgeBands || [];
    var ctx = u.ctx;
    ctx.save();
    bands.forEach(function (b) {
      var x0 = u.valToPos(b.start, "x", true), x1 = u.valToPos(Math.max(b.end, b.start + 1), "x", true);
      var left = Math.max(x0, u.bbox.left), right = Math.min(x1, u.bbox.left + u.bbox.width);
      if (right <= left) return;
      ctx.fillStyle = "rgba(163, 22, 28, 0.16)";
      ctx.fillRect(left, u.bbox.top, Math.max(right - left, 2), u.bbox.height);
      ctx.fillStyle = "#a3161c";
      ctx.font = (12 * devicePixelRatio) + "px system-ui, sans-serif";
      ctx.fillText(b.label, left + 4, u.bbox.top + 14 * devicePixelRatio);
    });
    ctx.restore();
  }
  function listBands(ul, bands) {
    if (!ul) return;
    ul.textContent = "";
    bands.forEach(function (b) {
      var li = document.createElement("li");
      li.dataset.testid = "attack-band";
      li.setAttribute("data-testid", "attack-band");
      li.textContent = b.label + ": " + new Date(b.start * 1000).toISOString().slice(11, 19) + " – " +
        new Date(b.end * 1000).toISOString().slice(11, 19);
      ul.appendChild(li);
    });
  }
  function extendBands(bands, t, label) {
    var last = bands[bands.length - 1];
    if (!label) { if (last) last.open = false; return; }
    if (last && last.open && last.label === label) last.end = t;
    else bands.push({start: t, end: t, label: label, open: true});
  }
  var COLORS = ["#0b4f9c", "#a3161c", "#13612e", "#7a4a00", "#5b2a86", "#00707a", "#444444", "#b3418a"];
  function chart(el, pens, height, onSelect) {
    var series = [{}].concat(pens.map(function (p, i) {
      return {label: p.name + (p.unit ? " (" + p.unit + ")" : ""), stroke: COLORS[i % COLORS.length], width: 1.5,
              spanGaps: false};
    }));
    var data = [[]].concat(pens.map(function () { return []; }));
    var u = new uPlot({width: Math.max(el.clientWidth, 300), height: height, series: series,
                       scales: {x: {time: true}}, cursor: {drag: {x: true, y: false, setScale: false}},
                       hooks: {draw: [drawBands], setSelect: onSelect ? [onSelect] : []}}, data, el);
    u.sealforgeBands = [];
    return u;
  }

  // -- the values stream: "values" per sample, "state" when the run's state changes, "end" -------
  function follow(url, onSample, onState) {
    var source = new EventSource(url);
    source.addEventListener("values", function (event) { onSample(JSON.parse(event.data)); });
    if (onState) source.addEventListener("state", function (event) { onState(JSON.parse(event.data)); });
    source.addEventListener("end", function () { source.close(); onSample(null); });
    return source;
  }
  function paint(root, values) {
    root.querySelectorAll("[data-value]").forEach(function (el) {
      var name = el.getAttribute("data-value");
      if (name in values) el.textContent = fmt(values[name]);
    });
    root.querySelectorAll("[data-level]").forEach(function (el) {
      var v = values[el.getAttribute("data-level")];
      if (typeof v !== "number") return;
      var lo = +el.dataset.low, hi = +el.dataset.high, h = +el.dataset.h, y0 = +el.dataset.y0;
      var frac = Math.min(1, Math.max(0, (v - lo) / (hi - lo)));
      el.setAttribute("height", (h * frac).toFixed(1));
      el.setAttribute("y", (y0 + h * (1 - frac)).toFixed(1));
    });
    root.querySelectorAll("[data-state]").forEach(function (el) {
      var on = !!values[el.getAttribute("data-state")];
      el.classList.toggle("on", on);
      el.classList.toggle("off", !on);
    });
    root.querySelectorAll("[data-alarm]").forEach(function (el) {
      var tags = el.getAttribute("data-alarm").split(" ");
      el.classList.toggle("alarm", tags.some(function (t) { return !!values[t]; }));
    });
  }

  // -- the live plant page ---------------------------------------------------------------------------
  var ENDED = {stopped: true, failed: true, canceled: true};
  function plantPage(root) {
    var cfg = JSON.parse(root.dataset.page);
    var tags = {};
    cfg.tags.forEach(function (t) { tags[t.name] = t; });
    // phase: starting, running, paused or ended; the elements marked data-when show in theirs
    var status = cfg.status, phase = ENDED[status] ? "ended" : status;
    var last = 0, current = null, fp = null, bands = [];
    var quality = document.getElementById("quality");
    function setQuality() {
      // paused: the plant is frozen, so no sample comes and the last ones are the plant's values;
      // running (or starting) with no sample for STALE_MS: the worker has stalled, the values are stale
      var q = phase === "ended" ? "ended" : !last ? "waiting" : phase === "paused" ? "paused"
        : (Date.now() - last > STALE_MS ? "stale" : "good");
      quality.textContent = q;
      quality.className = "q-" + q;
      root.classList.toggle("stale", q === "stale" || q === "ended");
    }
    setInterval(setQuality, 1000);
    function setPhase(p) {
      phase = p;
      root.querySelectorAll("[data-when]").forEach(function (el) {
        el.hidden = el.getAttribute("data-when").split(" ").indexOf(p) < 0;
      });
      var dialog = document.getElementById("confirm-write");
      if (dialog && dialog.open && p !== "starting" && p !== "running") dialog.close("cancel");
      setQuality();
    }
    // the run's state, whoever changed it (this page, another user, a script): status, pause, clients
    function onState(s) {
      var badge = document.getElementById("run-status");
      badge.textContent = s.status;
      badge.className = "state state-" + s.status;
      var since = document.getElementById("paused-at");
      if (since) since.textContent = s.paused_at || "";
      document.getElementById("ended-status").textContent = s.status;
      Object.keys(s.endpoints).forEach(function (protocol) {
        var tag = root.querySelector('[data-endpoint="' + protocol + '"]'), ep = s.endpoints[protocol];
        if (!tag) return;
        tag.querySelector("[data-ep-state]").textContent = ep.state;
        tag.querySelector("[data-clients]").textContent = ep.clients;
        tag.querySelector("[data-clients-word]").textContent = ep.clients === 1 ? "client" : "clients";
      });
      // resumed: the next sample is due at once, so staleness counts from now, not from the pause
      if (status === "paused" && s.status === "running" && last) last = Date.now();
      status = s.status;
      setPhase(ENDED[status] ? "ended" : status);
    }
    function onSample(s) {
      if (!s) { setPhase("ended"); return; }
      last = Date.now();
      setQuality();
      paint(root, s.values);
      document.getElementById("scan").textContent = s.scan;
      document.getElementById("stamp").textContent = s.timestamp;
      var now = document.getElementById("attack-now");
      now.textContent = s.attack_id ? "under attack: " + s.attack_id : "";
      now.className = s.attack_id ? "attack" : "";
      root.querySelectorAll("[data-row]").forEach(function (row) {
        var t = tags[row.dataset.row], v = s.values[row.dataset.row];
        row.classList.toggle("bad", t && t.kind === "analog" && typeof v === "number" && (v < t.low || v > t.high));
        row.classList.toggle("alarm", t && t.role === "status" && v === true);
      });
      var t = stamp(s.timestamp);
      extendBands(bands, t, s.attack_id);
      if (fp && current && current in s.values) {
        var d = fp.data;
        var v = s.values[current];
        d[0].push(t); d[1].push(typeof v === "boolean" ? (v ? 1 : 0) : v);
        if (d[0].length > LIVE_POINTS) { d[0].shift(); d[1].shift(); }
        fp.sealforgeBands = bands;
        fp.setData(d);
        document.getElementById("fp-value").textContent = fmt(v);
        listBands(document.getElementById("fp-bands"), bands.filter(function (b) { return b.end >= d[0][0]; }));
      }
    }
    if (phase !== "ended") follow(cfg.stream, onSample, onState);
    else setQuality();

    function pick(name) {
      var t = tags[name];
      if (!t) return;
      current = name;
      document.getElementById("fp-title").textContent = name;
      document.getElementById("fp-desc").textContent = t.description + " · " + t.role;
      document.getElementById("fp-unit").textContent = t.unit;
      document.getElementById("fp-range").textContent = t.kind === "analog" ? "range " + t.low + " – " + t.high + " " + t.unit : "0 / 1";
      document.getElementById("fp-result").textContent = "";
      var form = document.getElementById("fp-write");
      if (form) form.hidden = !t.writable;
      var el = document.getElementById("fp-chart");
      el.textContent = "";
      fp = chart(el, [t], 200);
      fetch(cfg.trend + "?tags=" + encodeURIComponent(name) + "&points=1000", {credentials: "same-origin"})
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (j) {
          if (!j || current !== name) return;
          bands = j.bands.concat(bands.filter(function (b) { return b.start > j.end; }));
          fp.sealforgeBands = bands;
          fp.setData([j.t, j.series[name]]);
          listBands(document.getElementById("fp-bands"), bands);
        });
    }
    var first = cfg.tags.filter(function (t) { return t.role === "setpoint"; })[0] || cfg.tags[0];
    if (first) pick(first.name);
    root.addEventListener("click", function (event) {
      var target = event.target.closest && event.target.closest("[data-pick]");
      if (target) pick(target.getAttribute("data-pick"));
    });

    var form = document.getElementById("fp-write");
    var dialog = document.getElementById("confirm-write");
    var pending = null;
    if (form && dialog) {
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        var t = tags[current], raw = document.getElementById("fp-input").value.trim();
        var value = t.kind === "bool" ? (/^(1|true|on)$/i.test(raw) ? true : /^(0|false|off)$/i.test(raw) ? false : raw)
          : (raw === "" || isNaN(Number(raw)) ? raw : Number(raw));
        pending = {tag: current, value: value};
        document.getElementById("confirm-text").textContent = "Write " + raw + " " + t.unit + " to " + current + "?";
        var out = typeof value === "number" && (value < t.low || value > t.high);
        document.getElementById("confirm-warn").textContent = out
          ? "Outside the range " + t.low + " – " + t.high + " " + t.unit + ": the appliance will refuse it." : "";
        dialog.showModal();
      });
      dialog.addEventListener("close", function () {
        if (dialog.returnValue !== "ok" || !pending) return;
        var result = document.getElementById("fp-result");
        result.textContent = "Writing…";
        result.dataset.state = "sending";
        postJSON(cfg.writes, pending).then(function (r) {
          if (r.status === 200) {
            result.textContent = "Applied: the plant took " + fmt(r.body.value) + ", read back " + fmt(r.body.readback);
            result.dataset.state = "applied";
          } else if (r.status === 202) {
            result.textContent = "Pending: the run has not answered yet";
            result.dataset.state = "pending";
          } else {
            result.textContent = "Refused: " + problem(r.body);
            result.dataset.state = "refused";
          }
          result.className = result.dataset.state;
        });
      });
    }
    var attack = document.getElementById("attack-form");
    if (attack) {
      attack.addEventListener("submit", function (event) {
        event.preventDefault();
        var body = {technique: attack.technique.value, targets: [attack.target.value],
                    duration: Number(attack.duration.value)};
        var mag = attack.magnitude.value.trim();
        if (mag !== "") body.magnitude = isNaN(Number(mag)) ? mag : Number(mag);
        var result = document.getElementById("attack-result");
        postJSON(cfg.attacks, body).then(function (r) {
          var ok = r.status === 201 || r.status === 202;
          result.textContent = ok ? (r.body.status === "active" ? "Active: " + r.body.scenario.attack_id : "Handed to the run")
            : "Refused: " + problem(r.body);
          result.dataset.state = ok ? "applied" : "refused";
          result.className = result.dataset.state;
          if (ok && !current) pick(attack.target.value);
        });
      });
    }
  }

  // -- the trends page ---------------------------------------------------------------------------------
  function trendsPage(root) {
    var cfg = JSON.parse(root.dataset.page);
    var el = document.getElementById("t-chart"), info = document.getElementById("t-info");
    var u = null, view = null, source = null, live = cfg.live;
    function csvLink(start, end) {
      document.getElementById("t-csv").href = cfg.trend + "?format=csv&tags=" + encodeURIComponent(cfg.pens.join(",")) +
        "&start=" + start + "&end=" + end;
    }
    function load(start, end) {
      var q = "?tags=" + encodeURIComponent(cfg.pens.join(",")) + "&points=2000";
      q += start !== undefined ? "&start=" + start + "&end=" + end : "&last=" + cfg.window;
      return fetch(cfg.trend + q, {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(function (j) {
        if (j.error) { info.textContent = problem(j); return; }
        view = j;
        if (!u) { u = chart(el, j.pens, 420, zoom); }
        u.sealforgeBands = j.bands;
        u.setData([j.t].concat(cfg.pens.map(function (p) { return j.series[p]; })), false);
        u.setScale("x", {min: j.start, max: j.end});
        csvLink(j.start, j.end);
        info.textContent = j.samples + " samples" + (j.decimated ? ", drawn as " + j.t.length + " points per pen (min/max)" : "");
        listBands(document.getElementById("t-bands"), j.bands);
        root.dataset.loaded = "1";
      });
    }
    // a drag across the chart zooms: the server decimates the narrower window afresh
    function zoom(chartU) {
      if (chartU.select.width <= 2) return;
      var a = chartU.posToVal(chartU.select.left, "x"), b = chartU.posToVal(chartU.select.left + chartU.select.width, "x");
      chartU.setSelect({left: 0, width: 0, top: 0, height: 0}, false);
      live = false;
      load(a, b);
    }
    function range() { return {min: u.scales.x.min, max: u.scales.x.max}; }
    load().then(function () { if (u && live) startLive(); });
    function pan(dir) {
      var r = range(), w = r.max - r.min;
      live = false;
      load(r.min + dir * w / 2, r.max + dir * w / 2);
    }
    document.getElementById("t-back").addEventListener("click", function () { pan(-1); });
    document.getElementById("t-fwd").addEventListener("click", function () { pan(1); });
    document.getElementById("t-zoomout").addEventListener("click", function () {
      var r = range(), w = r.max - r.min, mid = (r.min + r.max) / 2, half = Math.min(w, 86400) ;
      live = false;
      load(mid - half, mid + half);
    });
    document.getElementById("t-live").addEventListener("click", function () {
      live = true;
      load(Date.now() / 1000 - cfg.window, Date.now() / 1000).then(startLive);
    });
    function startLive() {
      if (source || !cfg.live) return;
      var lastT = 0;
      source = follow(cfg.stream, function (s) {
        if (!s || !live || !u || !view) return;
        var t = stamp(s.timestamp);
        if (t - lastT < 1) return;
        lastT = t;
        var d = u.data.map(function (a) { return Array.prototype.slice.call(a); });
        d[0].push(t);
        cfg.pens.forEach(function (p, i) { d[i + 1].push(s.values[p]); });
        extendBands(u.sealforgeBands, t, s.attack_id);
        u.setData(d, false);
        u.setScale("x", {min: t - cfg.window, max: t});
        csvLink(t - cfg.window, t);
      });
    }
  }

  function pointsPage(root) {
    var cfg = JSON.parse(root.dataset.page);
    follow(cfg.stream, function (s) { if (s) paint(root, s.values); });
  }

  function start() {
    var p = document.getElementById("plant");
    if (p) plantPage(p);
    var t = document.getElementById("trends");
    if (t) trendsPage(t);
    var m = document.getElementById("points");
    if (m) pointsPage(m);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
