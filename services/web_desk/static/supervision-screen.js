/* 通办 supervision big screen (/desk/supervision/screen): asks screen.json every
   data-poll-ms and updates the figures in place. The page is complete without it. */
(function () {
  "use strict";
  var root = document.body;
  var source = root.getAttribute("data-source");
  var every = Math.max(parseInt(root.getAttribute("data-poll-ms"), 10) || 30000, 5000);

  function set(id, value) {
    var node = document.getElementById(id);
    if (node) node.textContent = value === null || value === undefined ? "—" : String(value);
  }

  function townships(list) {
    var box = document.getElementById("townships");
    if (!box) return;
    box.textContent = "";
    list.forEach(function (t) {
      var li = document.createElement("li");
      li.className = "township" + (t.red ? " has-red" : (t.yellow ? " has-yellow" : ""));
      li.setAttribute("data-code", t.code);
      [["name", t.name], ["running", t.running], ["small", "红 " + t.red + " · 黄 " + t.yellow]].forEach(function (p) {
        var span = document.createElement("span");
        span.className = p[0];
        span.textContent = p[1];
        li.appendChild(span);
      });
      box.appendChild(li);
    });
  }

  function show(s) {
    set("screen-today", s.today);
    set("screen-updated", (s.now || "").slice(11, 19));
    set("filed-today", s.filed_today);
    ["district", "township", "village"].forEach(function (t) { set("filed-" + t, s.filed_by_tier[t]); });
    ["red", "yellow", "green"].forEach(function (c) { set("light-" + c, s.lights[c]); });
    ["yellow_card", "red_card", "warning"].forEach(function (k) { set("cards-" + k, s.cards_this_month[k]); });
    var share = s.satisfaction.satisfied_share;
    set("satisfied-share", share === null ? null : (share * 100).toFixed(1) + "%");
    set("rated", s.satisfaction.rated);
    set("rating-avg", s.satisfaction.rating_avg === null ? null : s.satisfaction.rating_avg.toFixed(2));
    townships(s.townships);
    root.setAttribute("data-refreshed", String(Date.now()));
  }

  function poll() {
    fetch(source, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (s) { if (s) show(s); })
      .catch(function () { /* keep the last figures; try again next time */ })
      .then(function () { setTimeout(poll, every); });
  }
  setTimeout(poll, every);
})();
