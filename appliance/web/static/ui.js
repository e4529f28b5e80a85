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

  function start() {
    var log = document.getElementById("job-log");
    if (log && log.dataset.stream) followJob(log);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
