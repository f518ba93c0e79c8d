// The kbassist agent sidebar. Plain script, no build step. Text from the API is set with
// textContent; the only HTML inserted is the snippet (after checking it holds nothing but
// escaped text and <mark>) and the server-sanitised article body.
(function () {
  "use strict";

  var KEY_STORE = "kbassist.key";
  var LANG_STORE = "kbassist.lang";
  var DEBOUNCE_MS = 300;
  var RECENT_CREDITS = 5;

  var TEXT = {
    zh: {
      title: "知识库助手", forget: "退出", keyLabel: "API 密钥",
      keyHint: "只保存在本标签页的会话中，关闭后需重新输入。", keySave: "开始使用",
      pointsMonth: "本月积分", pointsBalance: "总计", queryLabel: "客户消息",
      gapText: "知识库里没有能回答这个问题的文章。", gapReport: "把这个缺口报告给知识库团队",
      gapReported: "已报告给知识库团队，谢谢！", back: "← 返回结果",
      keysHelp: "键盘：Esc 从输入框到结果，↑/↓ 选择结果，C 复制答复，L 关联到工单，O 打开文章",
      stale: "待复核", answer: "建议答复", open: "打开", copy: "复制", link: "关联工单",
      helpful: "有用", notHelpful: "没用", flag: "报错", flagLabel: "这篇文章有什么问题？", flagSend: "提交",
      searching: "正在查找…", noResults: "没有找到相关文章。", results: "{n} 条建议",
      copied: "已复制答复", copyFailed: "无法复制，请手动选择文字", linked: "已关联到工单 {t}",
      noTicket: "从工单打开侧边栏才能关联", voted: "已记录，谢谢", flagged: "已提交给知识库团队",
      ticket: "工单 {t}", badKey: "密钥无效或已撤销，请重新输入。", failed: "请求失败：{m}",
      updated: "更新于 {d}", placeholderHint: "待填写：{n}",
      noResultsGap: "没有结果：这个问题会出现在知识库团队的缺口报告中。"
    },
    en: {
      title: "KB assistant", forget: "Sign out", keyLabel: "API key",
      keyHint: "Kept only in this tab's session; you will enter it again after closing it.", keySave: "Start",
      pointsMonth: "Points this month", pointsBalance: "Total", queryLabel: "Customer message",
      gapText: "The knowledge base has no article that answers this.", gapReport: "Report this gap to the KB team",
      gapReported: "Reported to the KB team, thank you!", back: "← Back to results",
      keysHelp: "Keyboard: Esc from the message to the results, ↑/↓ select a result, C copy the answer, L link to the ticket, O open the article",
      stale: "Needs review", answer: "Suggested answer", open: "Open", copy: "Copy", link: "Link to ticket",
      helpful: "Helpful", notHelpful: "Not helpful", flag: "Flag", flagLabel: "What is wrong with this article?",
      flagSend: "Send", searching: "Searching…", noResults: "No matching articles.", results: "{n} suggestions",
      copied: "Answer copied", copyFailed: "Could not copy; select the text by hand", linked: "Linked to ticket {t}",
      noTicket: "Open the sidebar from a ticket to link", voted: "Recorded, thank you",
      flagged: "Sent to the KB team", ticket: "Ticket {t}", badKey: "The key is invalid or revoked; enter it again.",
      failed: "Request failed: {m}", updated: "updated {d}", placeholderHint: "to fill in: {n}",
      noResultsGap: "No results: this question will appear in the KB team's gap report."
    }
  };

  var params = new URLSearchParams(window.location.search);
  var state = {
    lang: sessionStorage.getItem(LANG_STORE) || (/^zh/i.test(navigator.language || "") ? "zh" : "en"),
    ticketId: params.get("ticket_id") || null,
    channel: params.get("channel") || null,
    latest: 0,
    inflight: null,
    timer: null,
    suggestion: null,
    selected: -1
  };

  function $(id) { return document.getElementById(id); }

  function t(name, values) {
    var text = (TEXT[state.lang] || TEXT.en)[name] || name;
    Object.keys(values || {}).forEach(function (k) { text = text.split("{" + k + "}").join(String(values[k])); });
    return text;
  }

  function applyLanguage() {
    document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
    document.querySelectorAll("[data-t]").forEach(function (el) { el.textContent = t(el.dataset.t); });
    $("lang-toggle").textContent = state.lang === "zh" ? "EN" : "中文";
    document.title = t("title");
    if (state.ticketId) { $("ticket").textContent = t("ticket", { t: state.ticketId }); }
    if (state.suggestion) { renderResults(state.suggestion); }
  }

  function newId() {
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return (b + 256).toString(16).slice(1); }).join("");
  }

  function setStatus(text, isError) {
    var el = $("status");
    el.textContent = text;
    el.classList.toggle("error", Boolean(isError));
  }

  function ApiError(status, code, message) {
    this.status = status; this.code = code; this.message = message;
  }

  function api(method, path, body, signal) {
    var headers = { "X-API-Key": sessionStorage.getItem(KEY_STORE) || "" };
    if (body !== undefined) { headers["Content-Type"] = "application/json"; }
    return fetch(path, {
      method: method, headers: headers, signal: signal, credentials: "omit", cache: "no-store",
      body: body === undefined ? undefined : JSON.stringify(body)
    }).then(function (response) {
      return response.json().catch(function () { return null; }).then(function (data) {
        if (response.ok) { return data; }
        var error = (data && data.error) || {};
        if (response.status === 401) { askForKey(t("badKey")); }
        throw new ApiError(response.status, error.code || "http_" + response.status, error.message || response.statusText);
      });
    });
  }

  // --- key -----------------------------------------------------------------------------

  function askForKey(message) {
    sessionStorage.removeItem(KEY_STORE);
    $("work").hidden = true;
    $("forget-key").hidden = true;
    $("key-form").hidden = false;
    if (message) { $("key-form").querySelector(".hint").textContent = message; }
    $("key-input").focus();
  }

  function start() {
    $("key-form").hidden = true;
    $("work").hidden = false;
    $("forget-key").hidden = false;
    refreshPoints();
    if ($("query").value.trim()) { search(); }
    $("query").focus();
  }

  // --- suggestions ---------------------------------------------------------------------

  function scheduleSearch() {
    clearTimeout(state.timer);
    state.timer = setTimeout(search, DEBOUNCE_MS);
  }

  function search() {
    var query = $("query").value;
    var seq = ++state.latest;
    if (state.inflight) { state.inflight.abort(); }
    if (!query.trim()) {
      state.suggestion = null;
      renderResults(null);
      setStatus("");
      return;
    }
    var controller = new AbortController();
    state.inflight = controller;
    setStatus(t("searching"));
    var body = { query: query };
    if (state.ticketId) { body.ticket_id = state.ticketId; }
    if (state.channel) { body.channel = state.channel; }
    api("POST", "/v1/suggest", body, controller.signal).then(function (data) {
      if (seq !== state.latest) { return; }  // an older answer never replaces a newer one
      state.suggestion = data;
      state.selected = data.results.length ? 0 : -1;
      renderResults(data);
      recordShown(data);
    }).catch(function (error) {
      if (seq !== state.latest || error.name === "AbortError") { return; }
      setStatus(t("failed", { m: error.message }), true);
    });
  }

  function recordShown(data) {
    if (!data.results.length) { return; }
    var events = data.results.map(function (r) {
      return { event_id: newId(), type: "shown", article_id: r.article_id };
    });
    api("POST", "/v1/suggestions/" + data.suggestion_id + "/events/batch", { events: events }).catch(function () {});
  }

  // The snippet is HTML-escaped text with <mark> around matched terms. It is checked against that grammar
  // and rebuilt as text nodes and <mark> elements; anything else is shown as plain text.
  var SNIPPET = /^(?:[^<>&]|&(?:amp|lt|gt|quot|#x27|#39);|<mark>|<\/mark>)*$/;
  var ENTITIES = { "&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": "\"", "&#x27;": "'", "&#39;": "'" };

  function unescapeText(text) {
    return text.replace(/&(?:amp|lt|gt|quot|#x27|#39);/g, function (e) { return ENTITIES[e]; });
  }

  function fillSnippet(el, snippet) {
    el.textContent = "";
    if (!SNIPPET.test(snippet)) {
      el.textContent = unescapeText(snippet.replace(/<\/?mark>/g, ""));
      return;
    }
    var marked = false;
    snippet.split(/(<\/?mark>)/).forEach(function (part) {
      if (part === "<mark>") { marked = true; return; }
      if (part === "</mark>") { marked = false; return; }
      if (!part) { return; }
      var text = document.createTextNode(unescapeText(part));
      if (marked) {
        var mark = document.createElement("mark");
        mark.appendChild(text);
        el.appendChild(mark);
      } else {
        el.appendChild(text);
      }
    });
  }

  // Placeholder offsets count Unicode code points (Python string indices), so the answer is split by code point.
  function fillAnswer(el, answer, placeholders) {
    el.textContent = "";
    var chars = Array.from(answer);
    var last = 0;
    placeholders.slice().sort(function (a, b) { return a.start - b.start; }).forEach(function (p) {
      if (p.start < last) { return; }
      el.appendChild(document.createTextNode(chars.slice(last, p.start).join("")));
      var span = document.createElement("span");
      span.className = "placeholder";
      span.textContent = chars.slice(p.start, p.end).join("");
      span.title = t("placeholderHint", { n: p.name });
      el.appendChild(span);
      last = p.end;
    });
    el.appendChild(document.createTextNode(chars.slice(last).join("")));
  }

  function renderResults(data) {
    var list = $("results");
    list.textContent = "";
    list.dataset.suggestion = data ? data.suggestion_id : "";
    $("gap").hidden = true;
    $("gap-report").disabled = false;
    if (!data) { return; }
    $("gap").hidden = data.answerable || !data.results.length;
    if (!data.results.length) {
      setStatus(data.answerable ? t("noResults") : t("noResultsGap"));
      return;
    }
    setStatus(t("results", { n: data.results.length }));
    var template = $("result-template");
    data.results.forEach(function (result, index) {
      var item = template.content.firstElementChild.cloneNode(true);
      item.querySelectorAll("[data-t]").forEach(function (el) { el.textContent = t(el.dataset.t); });
      item.dataset.index = String(index);
      item.querySelector(".result-title").textContent = result.title;
      item.querySelector(".category").textContent =
        [result.category, result.updated ? t("updated", { d: result.updated }) : null].filter(Boolean).join(" · ");
      item.querySelector(".stale").hidden = !result.stale;
      fillSnippet(item.querySelector(".snippet"), result.snippet);
      fillAnswer(item.querySelector(".answer"), result.answer, result.placeholders);
      var link = item.querySelector('[data-action="link"]');
      link.disabled = !state.ticketId;
      if (!state.ticketId) { link.title = t("noTicket"); }
      item.querySelector(".flag-comment").setAttribute("aria-label", t("flagLabel"));
      item.classList.toggle("selected", index === state.selected);
      list.appendChild(item);
    });
  }

  // --- actions -------------------------------------------------------------------------

  function record(index, type, comment) {
    var data = state.suggestion;
    var body = { event_id: newId(), type: type, article_id: data.results[index].article_id };
    if (comment) { body.comment = comment; }
    return api("POST", "/v1/suggestions/" + data.suggestion_id + "/events", body).then(function (event) {
      refreshPoints();
      return event;
    });
  }

  function note(index, text, isError) {
    var item = $("results").children[index];
    if (!item) { return; }
    var el = item.querySelector(".result-note");
    el.textContent = text;
    el.classList.toggle("error", Boolean(isError));
  }

  function failed(index) {
    return function (error) { note(index, t("failed", { m: error.message }), true); };
  }

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).catch(function () { return legacyCopy(text); });
    }
    return legacyCopy(text);
  }

  function legacyCopy(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "offscreen";
    document.body.appendChild(area);
    area.select();
    var ok = document.execCommand("copy");
    area.remove();
    return ok ? Promise.resolve() : Promise.reject(new Error(t("copyFailed")));
  }

  var ACTIONS = {
    open: function (index) {
      openArticle(state.suggestion.results[index].article_id);
      record(index, "opened").catch(failed(index));
    },
    copy: function (index) {
      copyText(state.suggestion.results[index].answer).then(function () {
        return record(index, "copied").then(function () { note(index, t("copied")); });
      }).catch(failed(index));
    },
    link: function (index) {
      if (!state.ticketId) { note(index, t("noTicket"), true); return; }
      record(index, "linked").then(function () { note(index, t("linked", { t: state.ticketId })); })
        .catch(failed(index));
    },
    helpful: function (index) { vote(index, "helpful"); },
    not_helpful: function (index) { vote(index, "not_helpful"); },
    flag: function (index) {
      var form = $("results").children[index].querySelector(".flag-form");
      form.hidden = !form.hidden;
      if (!form.hidden) { form.querySelector("textarea").focus(); }
    }
  };

  function vote(index, type) {
    record(index, type).then(function () {
      var item = $("results").children[index];
      item.querySelector('[data-action="helpful"]').setAttribute("aria-pressed", String(type === "helpful"));
      item.querySelector('[data-action="not_helpful"]').setAttribute("aria-pressed", String(type !== "helpful"));
      note(index, t("voted"));
    }).catch(failed(index));
  }

  function select(index) {
    var items = $("results").children;
    if (!items.length) { return; }
    state.selected = Math.max(0, Math.min(items.length - 1, index));
    Array.prototype.forEach.call(items, function (item, i) { item.classList.toggle("selected", i === state.selected); });
    items[state.selected].focus();
    items[state.selected].scrollIntoView({ block: "nearest" });
  }

  // --- article -------------------------------------------------------------------------

  function openArticle(articleId) {
    api("GET", "/v1/articles/" + encodeURIComponent(articleId)).then(function (article) {
      $("article-title").textContent = article.title;
      $("article-meta").textContent = [article.category, article.updated ? t("updated", { d: article.updated }) : null,
        article.stale ? t("stale") : null].filter(Boolean).join(" · ");
      // Rendered from Markdown and sanitised by the server (nh3); the page's CSP forbids inline script besides.
      $("article-body").innerHTML = article.html;
      $("results").hidden = true;
      $("gap").hidden = true;
      $("article").hidden = false;
      $("article-back").focus();
    }).catch(function (error) { setStatus(t("failed", { m: error.message }), true); });
  }

  function closeArticle() {
    $("article").hidden = true;
    $("article-body").textContent = "";
    $("results").hidden = false;
    $("gap").hidden = !state.suggestion || state.suggestion.answerable || !state.suggestion.results.length;
    if (state.selected >= 0) { select(state.selected); }
  }

  // --- points --------------------------------------------------------------------------

  function refreshPoints() {
    api("GET", "/v1/credits/me").then(function (me) {
      $("points-period").textContent = String(me.period_points);
      $("points-balance").textContent = String(me.balance);
      var list = $("points-recent");
      list.textContent = "";
      (me.recent || []).slice(0, RECENT_CREDITS).forEach(function (credit) {
        var li = document.createElement("li");
        li.textContent = (credit.points > 0 ? "+" : "") + credit.points + " " + (credit.reason || credit.rule_id);
        list.appendChild(li);
      });
      $("points").hidden = false;
    }).catch(function () { $("points").hidden = true; });  // 404: no points bank on this server
  }

  // --- wiring --------------------------------------------------------------------------

  function typing(target) {
    return target && (target.tagName === "TEXTAREA" || target.tagName === "INPUT");
  }

  document.addEventListener("DOMContentLoaded", function () {
    applyLanguage();
    $("query").value = params.get("q") || "";
    $("ticket").hidden = !state.ticketId;

    $("key-form").addEventListener("submit", function (event) {
      event.preventDefault();
      var key = $("key-input").value.trim();
      if (!key) { return; }
      sessionStorage.setItem(KEY_STORE, key);
      $("key-input").value = "";
      start();
    });
    $("forget-key").addEventListener("click", function () { askForKey(""); });
    $("lang-toggle").addEventListener("click", function () {
      state.lang = state.lang === "zh" ? "en" : "zh";
      sessionStorage.setItem(LANG_STORE, state.lang);
      applyLanguage();
    });
    $("query").addEventListener("input", scheduleSearch);
    $("article-back").addEventListener("click", closeArticle);
    $("article-body").addEventListener("click", function (event) {
      var link = event.target.closest("a[href^='#kb:']");
      if (link) {
        event.preventDefault();
        openArticle(link.getAttribute("href").slice(4));
      }
    });

    $("results").addEventListener("click", function (event) {
      var button = event.target.closest("button[data-action]");
      if (!button) { return; }
      var index = Number(button.closest(".result").dataset.index);
      state.selected = index;
      ACTIONS[button.dataset.action](index);
    });
    $("results").addEventListener("submit", function (event) {
      event.preventDefault();
      var form = event.target;
      var index = Number(form.closest(".result").dataset.index);
      var comment = form.querySelector("textarea").value.trim();
      if (!comment) { return; }
      record(index, "flagged", comment).then(function () {
        form.hidden = true;
        form.querySelector("textarea").value = "";
        note(index, t("flagged"));
      }).catch(failed(index));
    });
    $("gap-report").addEventListener("click", function () {
      var data = state.suggestion;
      $("gap-report").disabled = true;
      record(0, "gap_reported").then(function () {
        setStatus(t("gapReported"));
      }).catch(function (error) {
        $("gap-report").disabled = false;
        setStatus(t("failed", { m: data ? error.message : "" }), true);
      });
    });

    document.addEventListener("keydown", function (event) {
      if (event.ctrlKey || event.metaKey || event.altKey || $("work").hidden) { return; }
      if (event.key === "Escape" && typing(event.target)) { select(state.selected); return; }
      if (typing(event.target) || !state.suggestion || !$("article").hidden) { return; }
      var key = event.key.toLowerCase();
      var shortcuts = { c: "copy", l: "link", o: "open" };
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        select(state.selected + (event.key === "ArrowDown" ? 1 : -1));
      } else if (shortcuts[key] && state.selected >= 0) {
        event.preventDefault();
        ACTIONS[shortcuts[key]](state.selected);
      }
    });

    if (sessionStorage.getItem(KEY_STORE)) { start(); } else { askForKey(""); }
  });
})();
