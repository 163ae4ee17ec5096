/* The admin home page's score jobs: follow them through the API (GET /api/v1/score-jobs/, the session signs the
   request) every few seconds while any is queued or running, then stop. A job that leaves the list has finished:
   its row is read once more (GET score-jobs/<id>/) to show how it ended. No page reload, no library. */
(function () {
  "use strict";

  const configNode = document.getElementById("sc-job-config");
  const table = document.getElementById("sc-job-table");
  const rowTemplate = document.getElementById("sc-job-row");
  if (!configNode || !table || !rowTemplate || !window.fetch) {
    return;
  }
  const config = JSON.parse(configNode.textContent);
  const body = table.tBodies[0];
  const empty = document.getElementById("sc-jobs-empty");
  const ACTIVE = new Set(["queued", "running"]);
  const MAX_DELAY = 60000;
  let delay = config.every;

  function rows() {
    const found = new Map();
    body.querySelectorAll("tr[data-job]").forEach(function (row) {
      found.set(row.dataset.job, row);
    });
    return found;
  }

  function urlFor(pattern, id) {
    return pattern.replace(config.placeholder, encodeURIComponent(id));
  }

  function addRow(job) {
    const row = rowTemplate.content.firstElementChild.cloneNode(true);
    row.dataset.job = job.id;
    const link = row.querySelector(".sc-job-link");
    link.href = urlFor(config.change, job.id);
    link.textContent = String(job.id).slice(0, 8);
    row.querySelector(".sc-job-kind").textContent = config.kind[job.kind] || job.kind;
    row.querySelector(".sc-job-bank").textContent =
      job.bank === null ? config.all_banks : config.banks[String(job.bank)] || String(job.bank);
    body.insertBefore(row, body.firstChild);
    return row;
  }

  function show(row, job) {
    const done = (job.done || 0) + (job.failed || 0);
    const total = job.total || 0;
    const bar = row.querySelector(".sc-job-bar");
    const percent = total ? Math.round((100 * Math.min(done, total)) / total) : 0;
    bar.max = Math.max(total, 1);
    if (total) {
      bar.value = Math.min(done, total);
    } else if (!ACTIVE.has(job.status)) {
      bar.value = 1; // finished with nothing to score
    } else {
      bar.removeAttribute("value"); // not counted yet: an indeterminate bar
    }
    bar.textContent = percent + "%"; // shown where <progress> is not
    row.querySelector(".sc-job-count").textContent = done + "/" + total;
    row.querySelector(".sc-job-status").textContent = config.status[job.status] || job.status;
    row.dataset.status = job.status;
  }

  function getJson(url) {
    return fetch(url, {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    }).then(function (response) {
      if (!response.ok) {
        const error = new Error("HTTP " + response.status);
        error.status = response.status;
        throw error;
      }
      return response.json();
    });
  }

  function finish(row) {
    // A job the list no longer returns has finished (or is no longer ours to see): read how it ended, once.
    row.dataset.status = "finished";
    return getJson(urlFor(config.detail, row.dataset.job))
      .then(function (job) {
        show(row, job);
      })
      .catch(function () {
        /* gone or not visible: leave the row as it was */
      });
  }

  function refresh() {
    getJson(config.list)
      .then(function (page) {
        const jobs = page.results || [];
        const known = rows();
        const seen = new Set();
        jobs.forEach(function (job) {
          seen.add(String(job.id));
          let row = known.get(String(job.id));
          if (!row && body.rows.length < config.rows) {
            row = addRow(job); // started since the page was drawn
          }
          if (row) {
            show(row, job);
          }
        });
        const endings = [];
        known.forEach(function (row, id) {
          if (!seen.has(id) && ACTIVE.has(row.dataset.status || "queued")) {
            endings.push(finish(row));
          }
        });
        table.hidden = body.rows.length === 0;
        if (empty) {
          empty.hidden = body.rows.length !== 0;
        }
        delay = config.every;
        return Promise.all(endings).then(function () {
          if (jobs.length) {
            window.setTimeout(refresh, delay);
          }
        });
      })
      .catch(function (error) {
        if (error.status === 401 || error.status === 403) {
          return; // signed out in another tab: nothing more to follow
        }
        delay = Math.min(delay * 2, MAX_DELAY); // throttled or offline: try again, less often
        window.setTimeout(refresh, delay);
      });
  }

  if (body.rows.length) {
    window.setTimeout(refresh, delay);
  }
})();
