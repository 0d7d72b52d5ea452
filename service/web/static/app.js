/* Budget Rules web pages: sorting, filtering and expanding the result table; watching a simulation.
   One local file, no frameworks, no inline scripts (the pages' Content-Security-Policy forbids them). */
(function () {
  "use strict";

  function setupResultTable(table) {
    var lines = Array.prototype.slice.call(table.querySelectorAll("tbody.line"));
    var form = document.querySelector('form.filters[data-table="' + table.id + '"]');
    var shown = document.getElementById("shown-count");

    table.addEventListener("click", function (event) {
      var button = event.target.closest("button");
      if (!button) return;
      if (button.classList.contains("expand")) {
        var row = document.getElementById(button.getAttribute("aria-controls"));
        var open = button.getAttribute("aria-expanded") === "true";
        button.setAttribute("aria-expanded", open ? "false" : "true");
        row.hidden = open;
        var label = button.querySelector(".label") || button;  // the project's name stays in the button's name
        label.textContent = open ? button.dataset.closed : button.dataset.open;
      } else if (button.classList.contains("sort")) {
        sortBy(button);
      }
    });

    function sortBy(button) {
      var key = button.dataset.key;
      var numeric = button.dataset.type === "num";
      var dir = button.dataset.dir === "asc" ? "desc" : "asc";
      table.querySelectorAll("button.sort").forEach(function (b) {
        delete b.dataset.dir;
        b.closest("th").setAttribute("aria-sort", "none");
      });
      button.dataset.dir = dir;
      button.closest("th").setAttribute("aria-sort", dir === "asc" ? "ascending" : "descending");
      var sign = dir === "asc" ? 1 : -1;
      lines.sort(function (a, b) {
        var x = a.dataset[key] || "", y = b.dataset[key] || "";
        var c = numeric ? parseFloat(x) - parseFloat(y) : x.localeCompare(y, "zh-CN");
        return c * sign;
      });
      lines.forEach(function (line) { table.appendChild(line); });
    }

    function applyFilters() {
      if (!form) return;
      var dept = form.elements.department.value;
      var status = form.elements.status.value;
      var flag = form.elements.flag.value;
      var q = form.elements.q.value.trim().toLowerCase();
      var count = 0;
      lines.forEach(function (line) {
        var ok = (!dept || line.dataset.department === dept) &&
          (!status || line.dataset.status === status) &&
          (!flag || (" " + line.dataset.flags + " ").indexOf(" " + flag + " ") >= 0) &&
          (!q || line.dataset.text.toLowerCase().indexOf(q) >= 0);
        line.hidden = !ok;
        if (ok) count += 1;
      });
      if (shown) shown.textContent = String(count);
    }

    if (form) {
      form.addEventListener("input", applyFilters);
      form.addEventListener("change", applyFilters);
      form.addEventListener("submit", function (event) { event.preventDefault(); applyFilters(); });
    }
  }

  function watchJob(box) {
    var state = box.dataset.state;
    if (state !== "queued" && state !== "running") return;
    var bar = document.getElementById("job-progress");
    var count = document.getElementById("job-count");
    function poll() {
      fetch(box.dataset.progressUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (job) {
          if (!job) { window.setTimeout(poll, 3000); return; }
          bar.max = job.total || 1;
          bar.value = job.done;
          count.textContent = job.done + " / " + job.total;
          if (job.state === "queued" || job.state === "running") {
            window.setTimeout(poll, 1000);
          } else {
            window.location.reload();
          }
        })
        .catch(function () { window.setTimeout(poll, 3000); });
    }
    window.setTimeout(poll, 1000);
  }

  // A field's problem message goes once the person changes that field (the server checks it again on submit),
  // so a corrected field no longer shows an old "please fill in".
  document.addEventListener("input", function (event) {
    var field = event.target;
    if (!field || !field.getAttribute || field.getAttribute("aria-invalid") !== "true") return;
    field.removeAttribute("aria-invalid");
    var holder = field.closest(".has-error");
    var message = (holder || field.parentNode).querySelector(".field-error");
    if (holder) holder.classList.remove("has-error");
    if (message) message.hidden = true;
  });

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("table.sortable").forEach(setupResultTable);
    var job = document.getElementById("job");
    if (job) watchJob(job);
  });
})();
