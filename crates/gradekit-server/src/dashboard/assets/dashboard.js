// gradekit dashboard: follows a running job without reloading the page.
// Polls GET /jobs/{id}/live?after=POSITION (same origin; the session cookie goes with it) and
// swaps in what the server rendered: new event rows on top of the events table, the summary,
// the charts. The server escapes everything it renders; this script never builds markup from
// data itself. It stops when the job is finished, or when the session is gone.
(function () {
  "use strict";
  var job = document.getElementById("job");
  if (!job || job.getAttribute("data-live") !== "true") {
    return;
  }
  var id = job.getAttribute("data-job");
  var after = job.getAttribute("data-after") || "0";
  var status = document.getElementById("live-status");
  var rows = document.querySelector("#events tbody");
  var summary = document.getElementById("summary");
  var charts = document.getElementById("charts");
  var pager = document.getElementById("events-pager");
  var PAGE = 100;
  var INTERVAL = 1000;
  var updates = 0;
  var failures = 0;

  function say(text) {
    if (status) {
      status.textContent = text;
      status.setAttribute("data-updates", String(updates));
    }
  }

  function keepPage() {
    // The table shows the newest PAGE events; the "older" link starts below the last row.
    while (rows.rows.length > PAGE) {
      rows.deleteRow(rows.rows.length - 1);
    }
    var last = rows.rows[rows.rows.length - 1];
    var older = document.getElementById("older-events");
    if (last && rows.rows.length >= PAGE) {
      var href = "/jobs/" + encodeURIComponent(id) + "?before=" + last.getAttribute("data-seq");
      if (!older) {
        older = document.createElement("a");
        older.id = "older-events";
        older.textContent = "older events \u2192";
        pager.appendChild(older);
      }
      older.setAttribute("href", href);
    }
  }

  function apply(d) {
    if (d.events_html) {
      rows.insertAdjacentHTML("afterbegin", d.events_html);
      keepPage();
    }
    if (d.summary_html) {
      summary.innerHTML = d.summary_html;
    }
    if (d.charts_html) {
      charts.innerHTML = d.charts_html;
    }
    after = String(d.after);
    job.setAttribute("data-after", after);
    if (d.events_html) {
      updates += 1;
    }
  }

  function tick() {
    fetch("/jobs/" + encodeURIComponent(id) + "/live?after=" + encodeURIComponent(after), {
      credentials: "same-origin",
      cache: "no-store",
      headers: { Accept: "application/json" }
    })
      .then(function (r) {
        if (r.status === 401) {
          say("signed out: sign in again to follow this job");
          return null;
        }
        if (!r.ok) {
          throw new Error("HTTP " + r.status);
        }
        return r.json();
      })
      .then(function (d) {
        if (d === null) {
          return;
        }
        failures = 0;
        apply(d);
        if (d.final && !d.events_html) {
          job.setAttribute("data-live", "false");
          say("finished (" + d.status + ")");
          return;
        }
        var now = new Date();
        say("live: " + d.status + ", updated " + now.toTimeString().slice(0, 8));
        setTimeout(tick, INTERVAL);
      })
      .catch(function (e) {
        failures += 1;
        say("live updates paused (" + e.message + "); retrying");
        setTimeout(tick, Math.min(30000, INTERVAL * Math.pow(2, failures)));
      });
  }

  setTimeout(tick, INTERVAL);
})();
