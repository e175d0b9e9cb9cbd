// camaudit report: sort and filter the device table in place. No network, no storage: the view
// lives in the page's #fragment (e.g. #sort=maker&flagged=1) so it can be bookmarked or shared.
(function () {
  "use strict";
  var table = document.querySelector("table.devices");
  if (!table) { return; }
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  var form = document.getElementById("filters");
  var shown = document.getElementById("shown");
  var state = { sort: "", dir: 1 };

  function value(row, key) {
    var cell = row.querySelector('[data-key="' + key + '"]');
    if (!cell) { return ""; }
    return cell.hasAttribute("data-sort") ? cell.getAttribute("data-sort") : cell.textContent.trim();
  }

  function compare(key) {
    return function (a, b) {
      var x = value(a, key), y = value(b, key);
      var nx = Number(x), ny = Number(y);
      var numeric = x !== "" && y !== "" && !isNaN(nx) && !isNaN(ny);
      var order = numeric ? nx - ny : x.localeCompare(y, undefined, { sensitivity: "base" });
      // Ties keep the report's own order (flagged first, then by address).
      return (order || (Number(a.dataset.order) - Number(b.dataset.order))) * state.dir;
    };
  }

  function sortBy(key, dir) {
    state.sort = key;
    state.dir = dir;
    rows.slice().sort(compare(key)).forEach(function (row) { body.appendChild(row); });
    table.querySelectorAll("th[data-key]").forEach(function (th) {
      th.setAttribute("aria-sort", th.dataset.key === key ? (dir > 0 ? "ascending" : "descending") : "none");
    });
  }

  function matches(row) {
    var maker = form.elements.maker.value;
    var verdict = Number(form.elements.verdict.value || 0);
    var text = form.elements.q.value.trim().toLowerCase();
    if (maker && row.dataset.maker !== maker) { return false; }
    if (Number(row.dataset.verdict) < verdict) { return false; }
    if (form.elements.flagged.checked && row.dataset.flagged !== "1") { return false; }
    if (form.elements.vulnerable.checked && row.dataset.vulnerable !== "1") { return false; }
    return !text || row.textContent.toLowerCase().indexOf(text) >= 0;
  }

  function filter() {
    var count = 0;
    rows.forEach(function (row) {
      var keep = matches(row);
      row.hidden = !keep;
      count += keep ? 1 : 0;
    });
    shown.textContent = count + " of " + rows.length + " devices shown";
  }

  function remember() {
    var parts = [];
    if (state.sort) { parts.push("sort=" + (state.dir < 0 ? "-" : "") + state.sort); }
    ["maker", "verdict", "q"].forEach(function (name) {
      var v = form.elements[name].value;
      if (v) { parts.push(name + "=" + encodeURIComponent(v)); }
    });
    ["flagged", "vulnerable"].forEach(function (name) {
      if (form.elements[name].checked) { parts.push(name + "=1"); }
    });
    history.replaceState(null, "", parts.length ? "#" + parts.join("&") : location.pathname);
  }

  function restore() {
    location.hash.replace(/^#/, "").split("&").forEach(function (part) {
      var pair = part.split("=");
      var name = pair[0], v = decodeURIComponent(pair[1] || "");
      if (name === "sort" && v) {
        var key = v.replace(/^-/, "");
        if (table.querySelector('th[data-key="' + key + '"]')) { sortBy(key, v.charAt(0) === "-" ? -1 : 1); }
      } else if (name === "flagged" || name === "vulnerable") {
        form.elements[name].checked = v === "1";
      } else if (name === "maker" || name === "verdict" || name === "q") {
        form.elements[name].value = v;
      }
    });
  }

  table.querySelectorAll("th[data-key] button").forEach(function (button) {
    button.addEventListener("click", function () {
      var key = button.parentNode.dataset.key;
      sortBy(key, state.sort === key ? -state.dir : 1);
      remember();
    });
  });
  form.addEventListener("input", function () { filter(); remember(); });
  form.addEventListener("submit", function (event) { event.preventDefault(); });
  form.hidden = false;
  restore();
  filter();
})();
