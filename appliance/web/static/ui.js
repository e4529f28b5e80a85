// Sealforge web UI: the little the pages need beyond htmx. No inline scripts (the CSP forbids
// them); everything hangs off data- attributes.
"use strict";

(function () {
  var LOG_LINES = 500;
  // A form with data-confirm asks first (cancel a job, revoke a key). htmx forms ask through
  // htmx:confirm so the request waits for the answer; plain forms stop their submit.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset && form.dataset.confirm && !form.hasAttribute("hx-post")) {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    }
  }, true);
  document.addEventListener("htmx:confirm", function (event) {
    var form = event.target.closest && event.target.closest("form[data-confirm]");
    if (!form) return;
    event.preventDefault();
    if (window.confirm(form.dataset.confirm)) event.detail.issueRequest(true);
  });

  function text(tag, value, cls) {
    var el = document.createElement(tag);
    el.textContent = value;
    if (cls) el.className = cls;
    return el;
  }

  // A job page follows the API's event stream: the journal so far, then live events, then `end`.
  function followJob(log) {
    var source = new EventSource(log.dataset.stream);
    function line(at, kind, message) {
      var item = document.createElement("li");
      item.appendChild(text("time", at || ""));
      item.appendChild(text("span", kind, "kind kind-" + kind));
      item.appendChild(text("span", message));
      log.appendChild(item);
      while (log.children.length > LOG_LINES) log.removeChild(log.firstChild);  // a long job: the latest lines
      log.scrollTop = log.scrollHeight;
    }
    source.addEventListener("status", function (event) {
      var data = JSON.parse(event.data);
      var state = document.getElementById("job-status");
      if (state) {
        state.textContent = data.status;
        state.className = "state state-" + data.status;
      }
      line(data.at, "status", (data.from ? data.from + " → " : "") + data.status + (data.reason ? " (" + data.reason + ")" : ""));
    });
    source.addEventListener("progress", function (event) {
      var data = JSON.parse(event.data);
      var bar = document.getElementById("job-progress");
      var pct = document.getElementById("job-progress-text");
      var rows = document.getElementById("job-rows");
      if (bar) bar.value = data.progress;
      if (pct) pct.textContent = Math.round(data.progress * 100) + "%";
      if (rows) rows.textContent = data.rows + " rows";
      line(data.at, "progress", Math.round(data.progress * 100) + "% · " + data.rows + " rows" + (data.message ? " · " + data.message : ""));
    });
    source.addEventListener("log", function (event) {
      var data = JSON.parse(event.data);
      line(data.at, "log", data.message || "");
    });
    source.addEventListener("end", function () {
      source.close();
      log.dataset.ended = "1";
      document.body.dispatchEvent(new CustomEvent("job-ended"));
    });
    source.onerror = function () {
      // EventSource reconnects by itself with Last-Event-ID; a closed session shows on the next page.
      if (source.readyState === EventSource.CLOSED) log.dataset.ended = "1";
    };
  }

  // Upload straight to the API (POST /v1/datasets): XMLHttpRequest, because its upload events
  // drive the progress bar; the session cookie and the CSRF header authenticate it.
  function uploadBox(box) {
    var input = box.querySelector("input[type=file]");
    var bar = box.querySelector("progress");
    var label = box.querySelector("[data-upload-text]");
    var problem = box.querySelector("[data-upload-error]");
    var csrf = JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRF-Token"] || "";
    function send(file) {
      problem.hidden = true;
      if (file.size > Number(box.dataset.maxBytes)) {
        problem.textContent = file.name + " is larger than the upload quota.";
        problem.hidden = false;
        return;
      }
      var xhr = new XMLHttpRequest();
      xhr.open("POST", box.dataset.upload + "?name=" + encodeURIComponent(file.name));
      xhr.setRequestHeader("X-CSRF-Token", csrf);
      xhr.setRequestHeader("Content-Type", file.type || "application/octet-stream");
      bar.hidden = false;
      bar.value = 0;
      xhr.upload.addEventListener("progress", function (event) {
        if (!event.lengthComputable) return;
        bar.value = event.loaded / event.total;
        label.textContent = Math.round(100 * event.loaded / event.total) + "% of " + event.total + " bytes";
      });
      xhr.addEventListener("load", function () {
        var body = {};
        try { body = JSON.parse(xhr.responseText); } catch (e) { body = {}; }
        if (xhr.status === 201 && body.id) {
          bar.value = 1;
          label.textContent = "uploaded";
          window.location.assign(box.dataset.opens + "/" + encodeURIComponent(body.id));
        } else {
          var error = body.error || {};
          problem.textContent = (error.code || ("HTTP " + xhr.status)) + ": " + (error.message || "the upload was refused") + (error.hint ? " " + error.hint : "");
          problem.hidden = false;
        }
      });
      xhr.addEventListener("error", function () {
        problem.textContent = "The upload did not reach the appliance.";
        problem.hidden = false;
      });
      xhr.send(file);
    }
    input.addEventListener("change", function () { if (input.files.length) send(input.files[0]); });
    box.addEventListener("dragover", function (event) { event.preventDefault(); box.classList.add("over"); });
    box.addEventListener("dragleave", function () { box.classList.remove("over"); });
    box.addEventListener("drop", function (event) {
      event.preventDefault();
      box.classList.remove("over");
      if (event.dataTransfer.files.length) send(event.dataTransfer.files[0]);
    });
  }

  // A part waiting on a job: when the job's stream ends, htmx fetches the part again (its
  // hx-trigger is `job-ended`), or the page reloads (data-reload).
  function awaitJob(el) {
    var source = new EventSource(el.dataset.awaitJob);
    source.addEventListener("end", function () {
      source.close();
      if (el.hasAttribute("data-reload")) window.location.reload();
      else el.dispatchEvent(new CustomEvent("job-ended"));
    });
  }

  // A scenario's telemetry: uPlot with each attack's window shaded and labelled.
  var BAND = "rgba(163, 22, 28, 0.14)";
  var PENS = ["#0b4f9c", "#13612e", "#7a4a00", "#6b2c91", "#a3161c", "#00617a", "#4a5563", "#8a5a00"];
  function bandsPlugin(attacks) {
    return {
      hooks: {
        drawClear: [function (u) {
          var ctx = u.ctx;
          ctx.save();
          attacks.forEach(function (a) {
            var left = u.valToPos(a.start, "x", true);
            var right = u.valToPos(a.end, "x", true);
            ctx.fillStyle = BAND;
            ctx.fillRect(left, u.bbox.top, Math.max(right - left, 1), u.bbox.height);
            ctx.fillStyle = "#a3161c";
            ctx.font = Math.round(12 * devicePixelRatio) + "px system-ui, sans-serif";
            ctx.fillText(a.id + " " + a.name, left + 4, u.bbox.top + 14 * devicePixelRatio);
          });
          ctx.restore();
        }],
      },
    };
  }
  function trend(el) {
    fetch(el.dataset.trend, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (answer) { return answer.json(); })
      .then(function (data) {
        var series = [{}];
        var columns = [data.t];
        data.pens.forEach(function (pen, i) {
          series.push({ label: pen.name + (pen.unit ? " (" + pen.unit + ")" : ""), stroke: PENS[i % PENS.length], width: 1, spanGaps: false });
          columns.push(pen.values);
        });
        var width = Math.max(300, el.clientWidth - 8);
        new window.uPlot({
          width: width, height: 360, series: series, plugins: [bandsPlugin(data.attacks)],
          scales: { x: { time: true } }, cursor: { drag: { x: true, y: false } },
        }, columns, el);
        el.dataset.bands = String(data.attacks.length);
        el.dataset.points = String(data.t.length);
      });
  }

  // The overview follows the tenant's event stream (GET /v1/events): a job's progress is drawn in
  // place; anything that changes what the page lists (a state, a new job, alarm counts, a live run
  // paused or resumed, its clients) fetches the live part again, once for a burst of events.
  // Nothing is fetched while nothing happens.
  var REFRESH_GAP_MS = 1000;
  function followTenant(el) {
    var source = new EventSource(el.dataset.tenantStream);
    var pending = null;
    var opened = false;
    function refresh() {
      if (pending) return;
      pending = window.setTimeout(function () {
        pending = null;
        window.htmx.ajax("GET", el.dataset.refresh, { target: el, swap: "innerHTML", headers: { "X-UI-Background": "1" } });
      }, REFRESH_GAP_MS);
    }
    source.addEventListener("open", function () {
      if (opened) refresh();  // a reconnect: what happened meanwhile is read from the page
      opened = true;
    });
    source.addEventListener("progress", function (event) {
      var data = JSON.parse(event.data);
      var row = el.querySelector('tr[data-job-id="' + data.job_id + '"]');
      if (!row) { refresh(); return; }
      var bar = row.querySelector("progress");
      var pct = row.querySelector(".progress-cell .num");
      var rows = row.querySelector("[data-job-rows]");
      if (bar) bar.value = data.progress;
      if (pct) pct.textContent = Math.round(data.progress * 100) + "%";
      if (rows && data.rows !== undefined) rows.textContent = data.rows;
      el.dataset.events = String(Number(el.dataset.events || 0) + 1);
    });
    source.addEventListener("status", refresh);
    source.addEventListener("alarms", refresh);
    source.addEventListener("runs", refresh);  // a run paused or resumed, clients (dis)connected
    // Once per idle timeout the page asks anyway, as a background request: a session that has
    // ended meanwhile (no request of the user's) sends the tab to the login form.
    var idleMs = Number(el.dataset.idleS || 0) * 1000;
    if (idleMs > 0) window.setInterval(refresh, idleMs + 1000);
  }

  function bind(root) {
    root.querySelectorAll("[data-upload]").forEach(function (el) {
      if (!el.dataset.bound) { el.dataset.bound = "1"; uploadBox(el); }
    });
    root.querySelectorAll("[data-await-job]").forEach(function (el) {
      if (!el.dataset.bound) { el.dataset.bound = "1"; awaitJob(el); }
    });
    root.querySelectorAll("[data-trend]").forEach(function (el) {
      if (!el.dataset.bound && window.uPlot) { el.dataset.bound = "1"; trend(el); }
    });
  }

  function start() {
    var log = document.getElementById("job-log");
    if (log && log.dataset.stream) followJob(log);
    var overview = document.getElementById("overview-live");
    if (overview && overview.dataset.tenantStream) followTenant(overview);
    bind(document);
  }
  document.addEventListener("htmx:load", function (event) { bind(event.target); });
  window.addEventListener("load", function () { bind(document); });  // scripts a page adds (uPlot) have run
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
