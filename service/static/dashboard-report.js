// Draws the charts of a kbassist monthly report from its JSON block (no network: everything is inline).
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("report-data").textContent);
  var instances = [];
  data.charts.forEach(function (chart) {
    var section = data.sections[chart.id];
    var el = document.querySelector('[data-chart="' + chart.id + '"] .chart');
    if (!section || !el) { return; }
    el.style.height = window.KBCharts.chartHeight(chart, section) + "px";
    var instance = echarts.init(el, null, { renderer: "svg" });
    instance.setOption(window.KBCharts.option(data.lang, chart, section, chart.id === "team-points" ? data.team : null));
    instances.push(instance);
  });
  document.body.dataset.charts = String(instances.length);
  window.addEventListener("resize", function () { instances.forEach(function (i) { i.resize(); }); });
  window.addEventListener("beforeprint", function () { instances.forEach(function (i) { i.resize({ width: 640 }); }); });
})();
