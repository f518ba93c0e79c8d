// The kbassist team-lead dashboard. Plain script, no build step. Text from the API is set with
// textContent and charts get it as SVG text (dashboard-charts.js); no HTML is built from data.
(function () {
  "use strict";

  var C = window.KBCharts;
  var KEY_STORE = "kbassist.dashboard.key";
  var LANG_STORE = "kbassist.lang";
  var state = {
    lang: sessionStorage.getItem(LANG_STORE) || (/^zh/i.test(navigator.language || "") ? "zh" : "en"),
    catalog: null,
    sections: {},
    charts: {},
    summary: null,
    generation: 0,
    complete: false
  };

  function $(id) { return document.getElementById(id); }
  function t(name, values) { return C.t(state.lang, name, values); }

  function setStatus(text, isError) {
    $("status").textContent = text;
    $("status").classList.toggle("error", Boolean(isError));
  }

  function ApiError(status, message) { this.status = status; this.message = message; }

  function api(method, path, body) {
    var headers = { "X-API-Key": sessionStorage.getItem(KEY_STORE) || "" };
    if (body !== undefined) { headers["Content-Type"] = "application/json"; }
    return fetch(path, {
      method: method, headers: headers, credentials: "omit", cache: "no-store",
      body: body === undefined ? undefined : JSON.stringify(body)
    }).then(function (response) {
      return response.json().catch(function () { return null; }).then(function (data) {
        if (response.ok) { return data; }
        if (response.status === 401 || response.status === 403) { askForKey(t("badKey")); }
        var error = (data && data.error) || {};
        throw new ApiError(response.status, error.message || response.statusText);
      });
    });
  }

  // --- key -----------------------------------------------------------------------------

  function askForKey(message) {
    sessionStorage.removeItem(KEY_STORE);
    $("work").hidden = true;
    $("pickers").hidden = true;
    $("forget-key").hidden = true;
    $("print").hidden = true;
    $("key-form").hidden = false;
    if (message) { $("key-form").querySelector(".hint").textContent = message; }
    $("key-input").focus();
  }

  function start() {
    api("GET", "/v1/dashboard").then(function (catalog) {
      state.catalog = catalog;
      $("key-form").hidden = true;
      $("work").hidden = false;
      $("pickers").hidden = false;
      $("forget-key").hidden = false;
      $("print").hidden = false;
      fillPickers();
      buildCards();
      load();
    }).catch(function (error) {
      if (error.status !== 401 && error.status !== 403) { setStatus(t("failed", { m: error.message }), true); }
    });
  }

  // --- pickers and cards ----------------------------------------------------------------

  function option(value, label) {
    var el = document.createElement("option");
    el.value = value;
    el.textContent = label;
    return el;
  }

  function fillPickers() {
    var month = $("month"), team = $("team");
    var keepTeam = team.value;
    month.replaceChildren.apply(month, state.catalog.months.map(function (m) { return option(m, m); }));
    team.replaceChildren.apply(team, [option("", t("allTeams"))].concat(
      state.catalog.teams.map(function (name) { return option(name, name); })));
    team.value = keepTeam;
  }

  function buildCards() {
    var holder = $("charts");
    holder.replaceChildren();
    state.catalog.charts.forEach(function (chart) {
      var card = $("chart-template").content.firstElementChild.cloneNode(true);
      card.dataset.chart = chart.id;
      card.querySelector(".chart").setAttribute("aria-label", chart.id);
      card.querySelector(".csv").addEventListener("click", function () { downloadCsv(chart.id); });
      holder.appendChild(card);
      state.charts[chart.id] = echarts.init(card.querySelector(".chart"), null, { renderer: "svg" });
    });
    applyLanguage();
  }

  function params() {
    var query = new URLSearchParams({ month: $("month").value, trend: $("trend").value });
    if ($("team").value) { query.set("team", $("team").value); }
    return query.toString();
  }

  // Reload the charts (only the team-scoped ones when only the team changed: the others are KB-wide).
  function load(event) {
    var generation = ++state.generation;
    var query = params();
    // A load still in flight may have left KB-wide charts unanswered: then reload everything.
    var teamOnly = Boolean(event && event.target && event.target.id === "team") && state.complete;
    state.complete = false;
    setStatus(t("loading"));
    var charts = state.catalog.charts.filter(function (chart) {
      if (!teamOnly || chart.team) { return true; }
      renderSection(chart);  // the same figures; the badge and the picked team's highlight change
      return false;
    });
    var pending = charts.map(function (chart) {
      var card = document.querySelector('[data-chart="' + chart.id + '"]');
      card.classList.add("loading");
      return api("GET", "/v1/dashboard/charts/" + chart.id + "?" + query).then(function (section) {
        if (generation !== state.generation) { return; }
        state.sections[chart.id] = section;
        card.classList.remove("loading");
        renderSection(chart);
      });
    });
    var summaryQuery = new URLSearchParams({ month: $("month").value });
    if ($("team").value) { summaryQuery.set("team", $("team").value); }
    pending.push(api("GET", "/v1/dashboard/summary?" + summaryQuery.toString()).then(function (summary) {
      if (generation !== state.generation) { return; }
      state.summary = summary;
      renderSummary();
    }));
    Promise.all(pending).then(function () {
      if (generation === state.generation) {
        state.complete = true;
        setStatus("");
        document.body.dataset.loaded = query;
      }
    }).catch(function (error) {
      if (generation === state.generation) { setStatus(t("failed", { m: error.message }), true); }
    });
  }

  // --- rendering ------------------------------------------------------------------------

  function renderSummary() {
    var s = state.summary;
    if (!s) { return; }
    $("summary-text").textContent = s.text[state.lang] || s.text.en;
    [["link_rate", true], ["adoption", true], ["reuse_share", true], ["points", false]].forEach(function (pair) {
      var name = pair[0], rate = pair[1];
      var el = document.querySelector('[data-kpi="' + name + '"]');
      var now = s.current[name], before = s.before[name];
      el.querySelector(".kpi-value").textContent = C.cell(state.lang, rate ? "share" : "points", now);
      var note = t("previous") + " " + C.cell(state.lang, rate ? "share" : "points", before);
      if (name === "link_rate") { note = t("target") + " " + C.cell(state.lang, "share", s.target) + " · " + note; }
      el.querySelector(".kpi-note").textContent = note;
      el.classList.toggle("below", name === "link_rate" && now !== null && now < s.target);
    });
  }

  function renderTable(card, chart, section) {
    var head = document.createElement("tr");
    section.columns.forEach(function (name) {
      var th = document.createElement("th");
      th.scope = "col";
      th.textContent = C.columnLabel(state.lang, name);
      head.appendChild(th);
    });
    if (chart.id === "gaps") { head.appendChild(document.createElement("th")); }
    card.querySelector("thead").replaceChildren(head);
    var rows = section.rows.map(function (row, i) {
      var tr = document.createElement("tr");
      row.forEach(function (value, j) {
        var td = document.createElement("td");
        td.textContent = C.cell(state.lang, section.columns[j], value);
        if (typeof value === "number") { td.className = "num"; }
        tr.appendChild(td);
      });
      if (chart.id === "gaps") { tr.appendChild(gapActions(card, section, row, i)); }
      return tr;
    });
    card.querySelector("tbody").replaceChildren.apply(card.querySelector("tbody"), rows);
  }

  function gapActions(card, section, row, i) {
    var td = document.createElement("td");
    td.className = "actions";
    var write = document.createElement("button");
    write.type = "button";
    write.dataset.action = "write";
    write.textContent = t("write");
    write.addEventListener("click", function () { copySkeleton(card, section.extra.skeletons[i]); });
    td.appendChild(write);
    if (!row[section.columns.indexOf("recorded")]) {
      var record = document.createElement("button");
      record.type = "button";
      record.dataset.action = "record";
      record.textContent = t("record");
      record.addEventListener("click", function () { recordGap(card, section, row); });
      td.appendChild(record);
    }
    return td;
  }

  function copySkeleton(card, text) {
    var box = card.querySelector(".skeleton");
    box.value = text;
    box.hidden = false;
    var done = navigator.clipboard ? navigator.clipboard.writeText(text) : Promise.reject(new Error("no clipboard"));
    done.then(function () { setStatus(t("copied")); }, function () {
      box.select();
      setStatus(t("copyFailed"), true);
    });
  }

  function recordGap(card, section, row) {
    var col = function (name) { return row[section.columns.indexOf(name)]; };
    var body = { examples: String(col("examples")).split(" | ").slice(0, 10), size: col("queries") };
    if (col("closest_article")) { body.closest_article = col("closest_article"); }
    api("POST", "/v1/gaps", body).then(function (gap) {
      setStatus(t("recorded", { id: gap.id }));
      var chart = state.catalog.charts.filter(function (c) { return c.id === "gaps"; })[0];
      return api("GET", "/v1/dashboard/charts/gaps?" + params()).then(function (fresh) {
        state.sections.gaps = fresh;
        renderSection(chart);
      });
    }).catch(function (error) { setStatus(t("failed", { m: error.message }), true); });
  }

  function renderSection(chart) {
    var section = state.sections[chart.id];
    var card = document.querySelector('[data-chart="' + chart.id + '"]');
    if (!section || !card) { return; }
    card.querySelector(".kb-wide").hidden = chart.team || !$("team").value;
    var note = section.note || (section.rows.length ? "" : t("empty"));
    card.querySelector(".chart-note").textContent = note;
    card.querySelector(".chart-note").hidden = !note;
    card.querySelector(".definition").textContent = t("definition") + ": " + section.definition;
    var el = card.querySelector(".chart");
    el.style.height = C.chartHeight(chart, section) + "px";  // CSSOM, which the page's CSP allows
    var instance = state.charts[chart.id];
    instance.clear();
    instance.resize();
    instance.setOption(C.option(state.lang, chart, section, chart.id === "team-points" ? $("team").value : null));
    renderTable(card, chart, section);
  }

  function downloadCsv(chartId) {
    var section = state.sections[chartId];
    if (!section) { return; }
    var blob = new Blob([C.csv(section)], { type: "text/csv;charset=utf-8" });
    var link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = "kbassist-" + chartId + "-" + section.month + (section.team ? "-" + section.team : "") + ".csv";
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(function () { URL.revokeObjectURL(link.href); }, 1000);
  }

  function applyLanguage() {
    document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
    document.querySelectorAll("[data-t]").forEach(function (el) { el.textContent = t(el.dataset.t); });
    $("lang-toggle").textContent = t("lang");
    document.title = t("title");
    if (!state.catalog) { return; }
    var first = $("team").querySelector('option[value=""]');
    if (first) { first.textContent = t("allTeams"); }
    state.catalog.charts.forEach(function (chart) {
      var card = document.querySelector('[data-chart="' + chart.id + '"]');
      card.querySelector(".chart-title").textContent = state.lang === "zh" ? chart.title_zh : chart.title_en;
      renderSection(chart);
    });
    renderSummary();
  }

  // --- wiring ---------------------------------------------------------------------------

  document.addEventListener("DOMContentLoaded", function () {
    $("key-form").addEventListener("submit", function (event) {
      event.preventDefault();
      sessionStorage.setItem(KEY_STORE, $("key-input").value.trim());
      $("key-input").value = "";
      start();
    });
    $("forget-key").addEventListener("click", function () { askForKey(""); });
    $("lang-toggle").addEventListener("click", function () {
      state.lang = state.lang === "zh" ? "en" : "zh";
      sessionStorage.setItem(LANG_STORE, state.lang);
      applyLanguage();
    });
    $("print").addEventListener("click", function () { window.print(); });
    ["month", "team", "trend"].forEach(function (id) { $(id).addEventListener("change", load); });
    $("pickers").addEventListener("submit", function (event) { event.preventDefault(); });
    window.addEventListener("resize", function () {
      Object.keys(state.charts).forEach(function (id) { state.charts[id].resize(); });
    });
    window.addEventListener("beforeprint", function () {
      Object.keys(state.charts).forEach(function (id) { state.charts[id].resize({ width: 640 }); });
    });
    window.addEventListener("afterprint", function () {
      Object.keys(state.charts).forEach(function (id) { state.charts[id].resize({ width: "auto" }); });
    });
    applyLanguage();
    if (sessionStorage.getItem(KEY_STORE)) { start(); } else { askForKey(""); }
  });
})();
