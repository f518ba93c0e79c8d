from pathlib import Path

from indexer.article import Article
from indexer.build import load_content
from indexer.consistency import label_problems, twin_problems

SCENES = {"维修保修", "隐私安全", "物流配送"}
CAUSES = {"商品质量", "规则/政策不清", "第三方", "系统故障"}


def _art(art_id: str, lang: str, body: str) -> Article:
    return Article(id=art_id, title="t", body=body, lang=lang, body_line=10)


def test_twin_with_other_amount_is_reported_in_both_files():
    zh = _art("cap", "zh", "# 上限\n\n组长可减免，上限 300 元，2 小时内回电。\n")
    en = _art("en-cap", "en", "# Cap\n\nLeads may waive up to 200 yuan and call back within 2 hours.\n")
    msgs = [str(p) for p in twin_problems([(zh, "zh.md"), (en, "en.md")])]
    assert msgs == [
        "zh.md:12: warning: states '300 元' (amount) but twin 'en-cap' does not (its amount: '200 yuan' at en.md:12)",
        "en.md:12: warning: states '200 yuan' (amount) but twin 'cap' does not (its amount: '300 元' at zh.md:12)",
    ]


def test_twin_with_same_figures_in_other_words_is_quiet():
    zh = _art("ret", "zh", "签收 7 天内可退，1–3 个工作日到账，减免 50%，¥1,000 以上包邮，7×24 小时服务。\n")
    en = _art(
        "en-ret", "en", "Return within 7 days; refunds take 1-3 business days, 50 % off, free over CNY 1000, 24/7.\n"
    )
    assert twin_problems([(zh, "zh.md"), (en, "en.md")]) == []


def test_twin_days_and_percent_differences_are_found():
    zh = _art("bat", "zh", "健康度低于 80% 免费换，15 天内。\n")
    en = _art("en-bat", "en", "Free if health is below 70%, within 15 days.\n")
    kinds = sorted(p.message.split("(")[1].split(")")[0] for p in twin_problems([(zh, "zh.md"), (en, "en.md")]))
    assert kinds == ["percent", "percent"]


def test_articles_without_a_twin_are_not_compared():
    lone = _art("lone", "zh", "上限 300 元。\n")
    other = _art("en-other", "en", "Up to 200 yuan.\n")
    assert twin_problems([(lone, "a.md"), (other, "b.md")]) == []


def test_twins_linking_different_articles_are_reported():
    zh = _art("a", "zh", "见[进度](kb:progress)和[到账](kb:arrival)。\n")
    en = _art("en-a", "en", "See [arrival](kb:en-arrival) and [lost](kb:en-lost).\n")
    others = [
        (_art(i, "zh" if not i.startswith("en-") else "en", "x"), f"{i}.md")
        for i in ("progress", "arrival", "en-arrival", "lost", "en-lost", "en-progress")
    ]
    msgs = [str(p) for p in twin_problems([(zh, "zh.md"), (en, "en.md"), *others])]
    assert len(msgs) == 2, msgs
    assert msgs[0].startswith("zh.md:10: warning: links to 'kb:progress' but twin 'en-a'")
    assert "en.md:10" in msgs[0]
    assert msgs[1].startswith("en.md:10: warning: links to 'kb:en-lost' but twin 'a'")


def test_link_with_no_version_in_the_twins_language_is_not_reported():
    zh = _art("a", "zh", "见[银行](kb:bank-only-zh)。\n")
    en = _art("en-a", "en", "No links.\n")
    assert twin_problems([(zh, "zh.md"), (en, "en.md"), (_art("bank-only-zh", "zh", "x"), "b.md")]) == []


def test_unknown_complaint_labels_are_reported_at_their_line():
    body = (
        "# 记录\n\n"
        '工单分类：场景"售后维修" → 问题"判定争议" → 根因（检测误判/商品质量）。\n'
        '场景"隐私安全" → 根因"待定"。\n\n'
        "| # | 场景 | 问题 | 根因 |\n|---|---|---|---|\n"
        "| 1 | 物流配送 | 丢件 | 规则/政策不清（提示不明显） |\n"
        "| 2 | 隐私安全 | 骚扰 | 系统故障 或冒充短信 |\n"
    )
    msgs = [str(p) for p in label_problems(_art("x", "zh", body), "x.md", SCENES, CAUSES)]
    assert msgs == [
        "x.md:12: warning: complaint scene '售后维修' is not in _taxonomy.yaml (complaint_scenes)",
        "x.md:12: warning: complaint root cause '检测误判' is not in _taxonomy.yaml (complaint_root_causes)",
        "x.md:18: warning: complaint root cause '冒充短信' is not in _taxonomy.yaml (complaint_root_causes)",
    ]


def test_labels_are_not_checked_without_a_taxonomy_list():
    art = _art("x", "zh", '场景"随便"\n')
    assert list(label_problems(art, "x.md", set(), set())) == []


def test_validate_reads_labels_from_the_taxonomy(kb_dir: Path):
    taxonomy = kb_dir / "_taxonomy.yaml"
    taxonomy.write_text(
        taxonomy.read_text(encoding="utf-8") + "complaint_scenes: [物流配送]\ncomplaint_root_causes: [承运商]\n",
        encoding="utf-8",
    )
    text = (kb_dir / "refund-arrival.md").read_text(encoding="utf-8")
    (kb_dir / "refund-arrival.md").write_text(text + '\n工单：场景"售后维修" → 根因"承运商"。\n', encoding="utf-8")
    warnings = [str(p) for p in load_content(kb_dir).warnings]
    assert any("refund-arrival.md:" in w and "complaint scene '售后维修'" in w for w in warnings), warnings
    assert not any("'承运商'" in w for w in warnings)
