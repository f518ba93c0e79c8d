// Chart options, labels and CSV for the kbassist dashboard and the monthly report (one file, both places).
// Every string from the data reaches ECharts as SVG text or through the escaping tooltip
// formatter below; nothing from the data is ever inserted as HTML.
(function (root) {
  "use strict";

  var TEXT = {
    zh: {
      title: "知识库看板", month: "月份", team: "团队", allTeams: "全部团队", trend: "趋势粒度", day: "按天",
      week: "按周", print: "打印", forget: "退出", keyLabel: "编辑或管理员 API 密钥",
      keyHint: "只保存在本标签页的会话中，关闭后需重新输入。", keySave: "打开看板",
      badKey: "密钥无效或不是编辑/管理员密钥，请重新输入。", lang: "EN", summary: "本月摘要",
      target: "目标", linkRate: "关联率", adoption: "采纳率", reuseShare: "复用率", points: "积分",
      previous: "上月", csv: "下载 CSV", table: "数据表", kbWide: "全知识库（不分团队）", loading: "加载中…",
      failed: "加载失败：{m}", empty: "本月没有数据", write: "写这篇文章", copied: "已复制文章模板",
      copyFailed: "无法复制，请从下方文本框手动复制", record: "记录缺口", recorded: "已记录为 {id}",
      reportOf: "知识库月报 {m}", generated: "生成于 {d}", definition: "定义",
      kind_reuse: "复用", kind_new: "新建", kind_unknown: "未知",
      stage_shown: "展示", stage_opened: "打开", stage_copied_or_inserted: "复制/插入", stage_linked: "关联工单",
      stage_solved: "已解决",
      col_period: "日期", col_closed: "已关闭工单", col_linked: "已关联", col_link_rate: "关联率",
      col_stage: "阶段", col_pairs: "（建议，文章）对", col_share_of_shown: "占展示", col_kind: "类型",
      col_links: "关联数", col_share: "占比", col_article_id: "文章", col_title: "标题", col_uses: "使用次数",
      col_helpful_ratio: "有用率", col_last_use: "最近使用", col_category: "类目", col_never_used: "未使用篇数",
      col_article_ids: "文章", col_review_by: "复核日期", col_queries: "查询数", col_examples: "示例查询（已脱敏）",
      col_closest_article: "最接近的文章", col_gap_id: "缺口 ID", col_recorded: "记录状态",
      col_open_flags: "未处理报错", col_comments: "备注（已脱敏）", col_team: "团队", col_points: "积分",
      col_agents: "坐席数", col_rank: "名次", col_agent_id: "坐席"
    },
    en: {
      title: "KB dashboard", month: "Month", team: "Team", allTeams: "All teams", trend: "Trend by", day: "Day",
      week: "Week", print: "Print", forget: "Sign out", keyLabel: "Editor or admin API key",
      keyHint: "Kept only in this tab's session; you will enter it again after closing it.", keySave: "Open",
      badKey: "The key is invalid or not an editor/admin key; enter it again.", lang: "中文", summary: "This month",
      target: "Target", linkRate: "Link rate", adoption: "Adoption", reuseShare: "Reuse", points: "Points",
      previous: "Previous month", csv: "Download CSV", table: "Table", kbWide: "Whole KB (no team split)",
      loading: "Loading…", failed: "Could not load: {m}", empty: "No data this month", write: "Write this article",
      copied: "Article skeleton copied", copyFailed: "Could not copy; copy it from the box below",
      record: "Record gap", recorded: "Recorded as {id}", reportOf: "KB monthly report {m}",
      generated: "Generated {d}", definition: "Definition",
      kind_reuse: "Reuse", kind_new: "New", kind_unknown: "Unknown",
      stage_shown: "Shown", stage_opened: "Opened", stage_copied_or_inserted: "Copied/inserted",
      stage_linked: "Linked", stage_solved: "Solved",
      col_period: "Period", col_closed: "Closed tickets", col_linked: "Linked", col_link_rate: "Link rate",
      col_stage: "Stage", col_pairs: "(Suggestion, article) pairs", col_share_of_shown: "Of shown",
      col_kind: "Kind", col_links: "Links", col_share: "Share", col_article_id: "Article", col_title: "Title",
      col_uses: "Uses", col_helpful_ratio: "Helpful", col_last_use: "Last use", col_category: "Category",
      col_never_used: "Never used", col_article_ids: "Articles", col_review_by: "Review by",
      col_queries: "Queries", col_examples: "Example queries (masked)", col_closest_article: "Closest article",
      col_gap_id: "Gap id", col_recorded: "Recorded", col_open_flags: "Open flags",
      col_comments: "Comments (masked)", col_team: "Team", col_points: "Points", col_agents: "Agents",
      col_rank: "Rank", col_agent_id: "Agent"
    }
  };
  var RATES = { link_rate: 1, share_of_shown: 1, share: 1, helpful_ratio: 1 };
  var COLORS = ["#0a58ca", "#b02a37", "#146c43", "#8a5a00", "#6f42c1", "#0b7285", "#5c636a"];
  var LABEL_CHARS = 28;

  function t(lang, name, values) {
    var text = (TEXT[lang] || TEXT.en)[name];
    if (text === undefined) { text = name; }
    Object.keys(values || {}).forEach(function (k) { text = text.split("{" + k + "}").join(String(values[k])); });
    return text;
  }

  function escapeHtml(value) {
    return String(value).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;" }[c];
    });
  }

  function columnLabel(lang, column) { return t(lang, "col_" + column); }

  // A cell as shown: rates as percentages, stages and kinds in the page's language, nothing as "–".
  function cell(lang, column, value) {
    if (value === null || value === undefined || value === "") { return "–"; }
    if (RATES[column] && typeof value === "number") { return (value * 100).toFixed(1) + "%"; }
    if (column === "stage") { return t(lang, "stage_" + value); }
    if (column === "kind") { return t(lang, "kind_" + value); }
    if (typeof value === "number") { return value.toLocaleString(lang === "zh" ? "zh-CN" : "en-US"); }
    if (column === "last_use") { return String(value).slice(0, 16).replace("T", " "); }  // to the minute; CSV keeps all
    return String(value);
  }

  function column(section, name) {
    var i = section.columns.indexOf(name);
    return section.rows.map(function (row) { return row[i]; });
  }

  function shortLabel(value) {
    var text = String(value === null || value === undefined ? "–" : value).split(" | ")[0];
    return text.length > LABEL_CHARS ? text.slice(0, LABEL_CHARS - 1) + "…" : text;
  }

  // The tooltip is HTML in ECharts: build it from escaped text only. ``names`` are the untruncated labels.
  function tooltip(lang, chart, names) {
    return {
      trigger: chart.kind === "line" ? "axis" : "item",
      confine: true,
      formatter: function (params) {
        var items = Array.isArray(params) ? params : [params];
        return items.map(function (p) {
          var value = Array.isArray(p.value) ? p.value[p.value.length - 1] : p.value;
          var y = chart.kind === "line" ? "link_rate" : chart.y[0];
          var name = names && names[p.dataIndex] !== undefined ? names[p.dataIndex] : p.name;
          return escapeHtml(name) + "<br>" + escapeHtml(p.seriesName) + ": " + escapeHtml(cell(lang, y, value));
        }).join("<br>");
      }
    };
  }

  function lineOption(lang, chart, section) {
    var x = column(section, chart.x);
    var rates = column(section, "link_rate");
    var target = section.extra.target;
    return {
      color: COLORS,
      legend: { top: 0 },
      grid: { left: 56, right: 24, top: 36, bottom: 48 },
      xAxis: { type: "category", data: x, axisLabel: { hideOverlap: true } },
      yAxis: { type: "value", min: 0, max: 1, axisLabel: { formatter: function (v) { return Math.round(v * 100) + "%"; } } },
      tooltip: tooltip(lang, chart),
      series: [
        { name: t(lang, "linkRate"), type: "line", data: rates, connectNulls: false, symbolSize: 6 },
        {
          name: t(lang, "target") + " " + (target * 100).toFixed(0) + "%", type: "line",
          data: x.map(function () { return target; }), symbol: "none", lineStyle: { type: "dashed", width: 2 }
        }
      ]
    };
  }

  function funnelOption(lang, chart, section) {
    return {
      color: COLORS,
      tooltip: tooltip(lang, chart),
      series: [{
        name: t(lang, "col_pairs"), type: "funnel", sort: "none", left: "10%", width: "80%", minSize: "8%",
        label: { show: true, position: "inside", color: "#ffffff" },
        data: section.rows.map(function (row) { return { name: cell(lang, "stage", row[0]), value: row[1] }; })
      }]
    };
  }

  function pieOption(lang, chart, section) {
    return {
      color: COLORS,
      legend: { bottom: 0 },
      tooltip: tooltip(lang, chart),
      series: [{
        name: t(lang, "col_links"), type: "pie", radius: ["35%", "65%"],
        label: { formatter: "{b}: {d}%" },
        data: section.rows.map(function (row) { return { name: cell(lang, "kind", row[0]), value: row[1] }; })
      }]
    };
  }

  function barOption(lang, chart, section, highlight) {
    var names = column(section, chart.x);
    var labels = names.map(shortLabel);
    var values = column(section, chart.y[0]);
    return {
      color: COLORS,
      grid: { left: 8, right: 48, top: 8, bottom: 8, containLabel: true },
      xAxis: { type: "value", minInterval: 1 },
      yAxis: { type: "category", data: labels, inverse: true, axisLabel: { width: 200, overflow: "truncate" } },
      tooltip: tooltip(lang, chart, names.map(function (n) { return n === null ? "–" : String(n); })),
      series: [{
        name: columnLabel(lang, chart.y[0]), type: "bar", label: { show: true, position: "right" },
        data: values.map(function (v, i) {
          var picked = highlight && section.rows[i][0] === highlight;
          return picked ? { value: v, itemStyle: { color: COLORS[1] } } : v;
        })
      }]
    };
  }

  // The ECharts option of one chart; ``highlight`` marks the picked team on the team chart.
  function option(lang, chart, section, highlight) {
    var built = {
      line: lineOption, funnel: funnelOption, pie: pieOption, bar: barOption
    }[chart.kind](lang, chart, section, highlight);
    built.animation = false;
    built.textStyle = { fontFamily: "system-ui, \"PingFang SC\", \"Microsoft YaHei\", sans-serif" };
    return built;
  }

  function chartHeight(chart, section) {
    if (chart.kind !== "bar") { return 300; }
    return Math.max(120, 28 * section.rows.length + 24);
  }

  // CSV with a BOM (spreadsheets then read the Chinese text right); a text cell that would start a
  // formula is prefixed with an apostrophe.
  function csv(section) {
    function field(value) {
      if (value === null || value === undefined) { return ""; }
      var text = String(value);
      if (typeof value === "string" && /^[=+\-@\t\r]/.test(text)) { text = "'" + text; }
      return /[",\n\r]/.test(text) ? "\"" + text.replace(/"/g, "\"\"") + "\"" : text;
    }
    var lines = [section.columns.map(field).join(",")];
    section.rows.forEach(function (row) { lines.push(row.map(field).join(",")); });
    return "\ufeff" + lines.join("\r\n") + "\r\n";
  }

  root.KBCharts = {
    TEXT: TEXT, t: t, cell: cell, columnLabel: columnLabel, option: option, chartHeight: chartHeight, csv: csv
  };
})(window);
