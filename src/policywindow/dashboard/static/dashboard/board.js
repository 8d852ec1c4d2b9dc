/* 数据看板: the charts, drawn with the self-hosted ECharts from the JSON the page embeds. */
(function () {
  "use strict";
  var source = document.getElementById("db-chart-data");
  if (!source || typeof echarts === "undefined") return;
  var data = JSON.parse(source.textContent);
  var style = getComputedStyle(document.documentElement);
  var colour = function (name) { return style.getPropertyValue("--db-" + name).trim(); };
  var font = getComputedStyle(document.body).fontFamily;
  var axisLabel = { color: "#475467" };
  var split = { lineStyle: { color: "#eef0f4" } };
  var charts = [];
  // Tooltips drawn on the canvas: ECharts' HTML tooltips carry style attributes, which the
  // Content-Security-Policy refuses.
  var tip = function (extra) { return Object.assign({ renderMode: "richText" }, extra); };
  // Amounts arrive as exact decimal strings (money is never a float on the server).
  var amounts = function (list) { return list.map(Number); };

  function base(extra) {
    var option = {
      animation: false,
      textStyle: { fontFamily: font },
      tooltip: tip({ trigger: "axis", axisPointer: { type: "shadow" } }),
      legend: { top: 0, left: 0, itemWidth: 10, itemHeight: 10, textStyle: { color: "#475467" } },
      grid: { left: 8, right: 16, top: 36, bottom: 8, containLabel: true }
    };
    return Object.assign(option, extra);
  }

  function stackSeries(block, horizontal) {
    return block.series.map(function (s) {
      return { name: s.name, type: "bar", stack: "stage", barMaxWidth: horizontal ? 16 : 28,
               itemStyle: { color: colour(s.key) }, data: s.data };
    });
  }

  function horizontalStack(block) {
    return base({
      xAxis: { type: "value", minInterval: 1, axisLabel: axisLabel, splitLine: split },
      yAxis: { type: "category", inverse: true, data: block.labels, axisTick: { show: false },
               axisLabel: { color: "#344054", width: 150, overflow: "truncate" } },
      series: stackSeries(block, true)
    });
  }

  var builders = {
    month: function () {
      var series = stackSeries(data.month, false);
      series.push({ name: "核定金额（万元）", type: "line", yAxisIndex: 1, symbolSize: 6,
                    itemStyle: { color: colour("amount") }, data: amounts(data.month.approved_amount) });
      return base({
        xAxis: { type: "category", data: data.month.labels, axisLabel: axisLabel, axisTick: { show: false } },
        yAxis: [
          { type: "value", name: "件", minInterval: 1, axisLabel: axisLabel, splitLine: split },
          { type: "value", name: "万元", axisLabel: axisLabel, splitLine: { show: false } }
        ],
        grid: { left: 8, right: 8, top: 56, bottom: 8, containLabel: true },
        series: series
      });
    },
    stage_share: function () {
      return {
        animation: false,
        textStyle: { fontFamily: font },
        tooltip: tip({ trigger: "item", formatter: "{b}：{c} 件（{d}%）" }),
        legend: { orient: "vertical", right: 0, top: "middle", itemWidth: 10, itemHeight: 10, textStyle: { color: "#475467" } },
        series: [{
          type: "pie", radius: ["48%", "78%"], center: ["36%", "50%"], label: { show: false },
          data: data.stage_share.map(function (s) { return { name: s.name, value: s.value, itemStyle: { color: colour(s.key) } }; })
        }]
      };
    },
    department: function () { return horizontalStack(data.department); },
    rule: function () { return horizontalStack(data.rule); },
    city: function () {
      return base({
        xAxis: { type: "category", data: data.city.labels, axisLabel: axisLabel, axisTick: { show: false } },
        yAxis: [
          { type: "value", name: "件", minInterval: 1, axisLabel: axisLabel, splitLine: split },
          { type: "value", name: "万元", axisLabel: axisLabel, splitLine: { show: false } }
        ],
        grid: { left: 8, right: 8, top: 56, bottom: 8, containLabel: true },
        series: [
          { name: "申报", type: "bar", barMaxWidth: 22, itemStyle: { color: colour("review") }, data: data.city.total },
          { name: "通过", type: "bar", barMaxWidth: 22, itemStyle: { color: colour("paid") }, data: data.city.approved },
          { name: "核定金额（万元）", type: "line", yAxisIndex: 1, symbolSize: 6, itemStyle: { color: colour("amount") }, data: amounts(data.city.approved_amount) }
        ]
      });
    },
    budget: function () {
      var block = data.budget;
      var part = function (name, key, values) {
        return { name: name, type: "bar", stack: "budget", barMaxWidth: 16, itemStyle: { color: colour(key) }, data: values };
      };
      return base({
        tooltip: tip({ trigger: "axis", axisPointer: { type: "shadow" }, valueFormatter: function (v) { return v + " 万元"; } }),
        xAxis: { type: "value", name: "万元", axisLabel: axisLabel, splitLine: split },
        yAxis: { type: "category", inverse: true, data: block.labels, axisTick: { show: false },
                 axisLabel: { color: "#344054", width: 180, overflow: "truncate" } },
        series: [part("已拨付", "paid", amounts(block.disbursed)), part("已核定未拨付", "passed", amounts(block.committed)), part("剩余", "closed", amounts(block.left))]
      });
    },
    timeliness: function () {
      var block = data.timeliness;
      return base({
        xAxis: { type: "category", data: block.labels, axisTick: { show: false },
                 axisLabel: { color: "#475467", interval: 0, rotate: block.labels.length > 4 ? 30 : 0, width: 90, overflow: "truncate" } },
        yAxis: [
          { type: "value", name: "按期率 %", min: 0, max: 100, axisLabel: axisLabel, splitLine: split },
          { type: "value", name: "平均天数", axisLabel: axisLabel, splitLine: { show: false } }
        ],
        grid: { left: 8, right: 8, top: 56, bottom: 8, containLabel: true },
        series: [
          { name: "按期办结率（%）", type: "bar", barMaxWidth: 26, data: block.rate,
            itemStyle: { color: function (p) { return p.value !== null && p.value < 90 ? "#d92d20" : colour("paid"); } },
            label: { show: true, position: "top", color: "#344054", formatter: function (p) { return p.value === null ? "" : p.value + "%"; } } },
          { name: "平均办理时长（天）", type: "line", yAxisIndex: 1, symbolSize: 6, itemStyle: { color: colour("review") }, data: block.avg_days }
        ]
      });
    }
  };

  function fitHeight(holder, key) {
    var rows = { department: data.department.labels.length, rule: data.rule.labels.length, budget: data.budget.labels.length }[key];
    if (rows) holder.style.height = Math.max(260, rows * 28 + 70) + "px";
  }

  document.querySelectorAll("[data-chart]").forEach(function (holder) {
    var key = holder.getAttribute("data-chart");
    if (!builders[key]) return;
    fitHeight(holder, key);
    var chart = echarts.init(holder);
    chart.setOption(builders[key]());
    charts.push(chart);
  });
  var resize = function () { charts.forEach(function (chart) { chart.resize(); }); };
  window.addEventListener("resize", resize);
  document.addEventListener("shown.bs.tab", resize);
})();
