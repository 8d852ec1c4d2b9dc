/* 各部门完成情况: a stacked horizontal bar per responsible department (ECharts, self-hosted). */
(function () {
  "use strict";
  var holder = document.getElementById("rf-department-chart");
  var source = document.getElementById("rf-chart-data");
  if (!holder || !source || typeof echarts === "undefined") return;
  var data = JSON.parse(source.textContent);
  var style = getComputedStyle(document.documentElement);
  var colour = function (status) { return style.getPropertyValue("--rf-" + status).trim(); };
  holder.style.height = Math.max(320, data.departments.length * 30 + 80) + "px";
  var chart = echarts.init(holder, null, { renderer: "svg" });
  chart.setOption({
    animation: false,
    textStyle: { fontFamily: getComputedStyle(document.body).fontFamily },
    grid: { left: 8, right: 56, top: 36, bottom: 8, containLabel: true },
    legend: { top: 0, left: 0, itemWidth: 12, itemHeight: 12, textStyle: { color: "#475467" } },
    // Drawn in the chart: HTML tooltips carry style attributes, which the CSP refuses.
    tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, renderMode: "richText" },
    xAxis: { type: "value", minInterval: 1, axisLabel: { color: "#667085" }, splitLine: { lineStyle: { color: "#eef0f4" } } },
    yAxis: { type: "category", data: data.departments, axisTick: { show: false }, axisLabel: { color: "#344054" } },
    series: data.series.map(function (s, index) {
      var last = index === data.series.length - 1;
      return {
        name: s.name,
        type: "bar",
        stack: "tasks",
        barMaxWidth: 18,
        itemStyle: { color: colour(s.status) },
        data: s.data,
        label: last ? {
          show: true,
          position: "right",
          color: "#344054",
          formatter: function (p) { return data.rates[p.dataIndex] + "%"; }
        } : { show: false }
      };
    })
  });
  window.addEventListener("resize", function () { chart.resize(); });
})();
