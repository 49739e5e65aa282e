/* 通办 supervision desk (/desk/supervision/stats): draws each chart with Apache ECharts
   (served by the station from its npm install, never a CDN) from the same rows the page
   shows as a table under it (the JSON in #chart-data). */
(function () {
  "use strict";
  var source = document.getElementById("chart-data");
  if (!source || typeof echarts === "undefined") return;
  var data = JSON.parse(source.textContent);
  var palette = ["#1d4f91", "#1e8449", "#b7950b", "#c0392b", "#6b7280"];
  Object.keys(data).forEach(function (key) {
    var box = document.getElementById("chart-" + key);
    if (!box) return;
    var chart = data[key];
    var categories = chart.rows.map(function (row) { return row[chart.x]; });
    var hasRates = chart.series.some(function (s) { return /_rate$/.test(s[0]); });
    var mixed = hasRates && chart.series.some(function (s) { return !/_rate$/.test(s[0]); });
    var series = chart.series.map(function (s) {
      return {
        name: s[1], type: s[2],
        yAxisIndex: mixed && /_rate$/.test(s[0]) ? 1 : 0,
        data: chart.rows.map(function (row) { return row[s[0]]; }),
        smooth: s[2] === "line"
      };
    });
    var yAxis = [{ type: "value", name: mixed ? "件" : (hasRates ? "%" : "") }];
    if (mixed) yAxis.push({ type: "value", name: "%", max: 100 });
    var instance = echarts.init(box, null, { renderer: "canvas" });
    instance.setOption({
      color: palette,
      animation: false,
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { left: 48, right: mixed ? 48 : 16, bottom: categories.length > 8 ? 90 : 40, top: 36 },
      xAxis: { type: "category", data: categories, axisLabel: { interval: 0, rotate: categories.length > 8 ? 40 : 0 } },
      yAxis: yAxis,
      dataZoom: categories.length > 20 ? [{ type: "slider", bottom: 0, endValue: 19 }] : [],
      series: series
    });
    window.addEventListener("resize", function () { instance.resize(); });
  });
})();
