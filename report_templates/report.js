/* The report's only script: a filter by status and the evidence folded in <details>.
   It reads nothing from the network and writes nothing but classes and the open attribute.
   Without it the report shows everything; printing always shows everything. */
(function () {
  "use strict";
  var bar = document.getElementById("filter");
  if (!bar) { return; }
  bar.hidden = false;
  var rows = Array.prototype.slice.call(document.querySelectorAll("tr.frow"));
  var rules = Array.prototype.slice.call(document.querySelectorAll("section.rule"));
  var practices = Array.prototype.slice.call(document.querySelectorAll("section.practice"));
  var buttons = Array.prototype.slice.call(bar.querySelectorAll("button[data-status]"));

  function show(status) {
    var all = status === "all";
    rows.forEach(function (tr) {
      tr.classList.toggle("filtered-out", !all && tr.getAttribute("data-status") !== status);
    });
    var visible = {};
    rules.forEach(function (sec) {
      var hit = all || sec.querySelector("tr.frow:not(.filtered-out)") !== null;
      sec.classList.toggle("filtered-out", !hit);
      if (hit) { visible[sec.getAttribute("data-practice")] = true; }
    });
    practices.forEach(function (sec) {
      sec.classList.toggle("filtered-out", !all && !visible[sec.getAttribute("data-practice")]);
    });
    buttons.forEach(function (b) {
      b.setAttribute("aria-pressed", String(b.getAttribute("data-status") === status));
    });
    document.body.setAttribute("data-filter", status);
  }

  buttons.forEach(function (b) {
    b.addEventListener("click", function () { show(b.getAttribute("data-status")); });
  });

  var details = Array.prototype.slice.call(document.querySelectorAll("details"));
  var expand = bar.querySelector("button[data-action=expand]");
  if (expand) {
    expand.addEventListener("click", function () {
      var open = expand.getAttribute("aria-pressed") !== "true";
      details.forEach(function (d) { d.open = open; });
      expand.setAttribute("aria-pressed", String(open));
      expand.textContent = open ? "Fold all evidence" : "Open all evidence";
    });
  }

  function openTarget() {
    var id = decodeURIComponent(window.location.hash.slice(1));
    var wanted = /^status=([a-z]+)$/.exec(id);
    if (wanted && buttons.some(function (b) { return b.getAttribute("data-status") === wanted[1]; })) {
      show(wanted[1]);
      return;
    }
    var el = id ? document.getElementById(id) : null;
    if (el && el.tagName === "DETAILS") { el.open = true; el.scrollIntoView(); }
  }
  window.addEventListener("hashchange", openTarget);
  openTarget();

  var closed = [];
  window.addEventListener("beforeprint", function () {
    closed = details.filter(function (d) { return !d.open; });
    closed.forEach(function (d) { d.open = true; });
  });
  window.addEventListener("afterprint", function () {
    closed.forEach(function (d) { d.open = false; });
    closed = [];
  });
}());
