from datetime import date
from pathlib import Path

from indexer.build import load_content
from indexer.sources import read_entries
from indexer.validate import Vocabulary, validate


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


FRONT = """---
id: {id}
title: 标题
lang: {lang}
category: refunds
tags: [a]
product: all
channel: [chat]
audience: public
status: published
authors: [cs-001]
updated: 2026-01-01
review_by: {review_by}
---
"""


def test_mini_kb_is_valid(kb_dir):
    report = load_content(kb_dir)
    assert report.errors == []
    assert {a.id for a in report.articles} >= {"refund-arrival", "en-order-cancel", "draft-note"}


def test_bad_yaml_reports_file_and_line(kb_dir):
    path = _write(kb_dir, "bad.md", "---\nid: x\ntitle: [unclosed\nlang: zh\n---\nbody\n")
    report = load_content(kb_dir)
    msgs = [str(p) for p in report.errors]
    assert any(m.startswith(f"{path}:") and "bad YAML" in m for m in msgs), msgs


def test_missing_and_unknown_fields_name_the_line(kb_dir):
    text = FRONT.format(id="new-one", lang="fr", review_by="2027-01-01").replace("category: refunds\n", "")
    path = _write(kb_dir, "new.md", text + "正文内容。\n")
    msgs = [str(p) for p in load_content(kb_dir).errors]
    assert f"{path}:1: error: missing required field 'category'" in msgs
    assert f"{path}:4: error: unknown lang 'fr' (expected one of: zh, en)" in msgs


def test_duplicate_id_points_to_first_definition(kb_dir):
    path = _write(kb_dir, "zz-dup.md", FRONT.format(id="refund-arrival", lang="zh", review_by="2027-01-01") + "x\n")
    msgs = [str(p) for p in load_content(kb_dir).errors]
    assert any(m.startswith(f"{path}:2: error: duplicate id 'refund-arrival'") for m in msgs), msgs


def test_empty_body_and_unknown_link_and_category(kb_dir):
    empty = _write(kb_dir, "empty.md", FRONT.format(id="empty", lang="zh", review_by="2027-01-01") + "# 标题\n\n")
    linked = _write(
        kb_dir,
        "linked.md",
        FRONT.format(id="linked", lang="zh", review_by="2027-01-01").replace("refunds", "nosuch")
        + "第一行\n见 [别处](kb:does-not-exist)\n",
    )
    msgs = [str(p) for p in load_content(kb_dir).errors]
    assert f"{empty}:15: error: empty body" in msgs
    assert f"{linked}:16: error: link to unknown article 'kb:does-not-exist'" in msgs
    assert f"{linked}:5: error: unknown category 'nosuch' (see _taxonomy.yaml)" in msgs


def test_stale_article_is_a_warning(kb_dir):
    report = validate(read_entries(kb_dir), Vocabulary.load(kb_dir), today=date(2026, 11, 23))
    stale = [str(p) for p in report.warnings]
    assert any("shipping-fee-refund.md:13: warning: stale" in m for m in stale), stale
    assert "shipping-fee-refund" in {a.id for a in report.articles}


def test_placeholders_checked_against_list(kb_dir):
    body = "# 标题\n\n正文。\n\n## 标准答复\n\n{客户称呼}您好，{未知字段}已处理，{订单号\n"
    path = _write(kb_dir, "ph.md", FRONT.format(id="ph", lang="zh", review_by="2027-01-01") + body)
    msgs = [str(p) for p in load_content(kb_dir).errors]
    assert f"{path}:21: error: unknown placeholder {{未知字段}} (not in _placeholders.txt)" in msgs
    assert f"{path}:21: error: malformed placeholder (unbalanced or empty braces)" in msgs


def test_jsonl_export_is_read_with_line_numbers(tmp_path):
    export = tmp_path / "kb.jsonl"
    export.write_text(
        '{"id": "a1", "title": "Card arrival", "body": "When will my card arrive?", "lang": "en"}\n'
        "not json\n"
        '{"id": "a2", "title": "", "body": "退款多久到账", "lang": "zh"}\n',
        encoding="utf-8",
    )
    report = load_content(export)
    assert [a.id for a in report.articles] == ["a1", "a2"]
    assert [str(p) for p in report.errors][0].startswith(f"{export}:2: error: bad JSONL record")


def test_csv_export_with_column_mapping(tmp_path):
    export = tmp_path / "kb.csv"
    export.write_text("Key,Question,Answer,Language\nq1,How to reset password,Use SMS code,en\n", encoding="utf-8")
    report = load_content(export, {"id": "Key", "title": "Question", "body": "Answer", "lang": "Language"})
    assert report.errors == []
    assert report.articles[0].title == "How to reset password"


def test_raw_html_is_a_warning_with_file_and_line(kb_dir):
    text = FRONT.format(id="html", lang="zh", review_by="2027-01-01").replace(
        "title: 标题", "title: 退款<img src=x onerror=alert('title')>规则"
    )
    body = "# 标题\n\n正文。\n<details/open/ontoggle=alert(1)>点开</details>\n见 <https://example.com>。\n"
    path = _write(kb_dir, "html.md", text + body)
    report = load_content(kb_dir)
    msgs = [str(p) for p in report.warnings if p.path == str(path)]
    assert msgs == [
        f"{path}:3: warning: raw HTML \"<img src=x onerror=alert('title')>\" in the title is not shown; "
        "titles are plain text",
        f"{path}:18: warning: raw HTML '<details/open/ontoggle=alert(1)>' is removed from answers; "
        "write Markdown instead",
    ]
    assert "html" in {a.id for a in report.articles}


def test_symlinks_out_of_the_content_folder_are_refused(kb_dir, tmp_path):
    outside = tmp_path / "secret"
    outside.mkdir()
    _write(outside, "leak.md", FRONT.format(id="leak", lang="zh", review_by="2027-01-01") + "机密内容。\n")
    (kb_dir / "leak.md").symlink_to(outside / "leak.md")
    (kb_dir / "linked-folder").symlink_to(outside, target_is_directory=True)
    (kb_dir / "alias.md").symlink_to(kb_dir / "refund-arrival.md")
    report = load_content(kb_dir)
    duplicate = [p.message for p in report.errors if p.message.startswith("duplicate id 'refund-arrival'")]
    assert duplicate == [f"duplicate id 'refund-arrival' (first defined at {kb_dir / 'alias.md'}:2)"]  # read: inside
    leak = [str(p) for p in report.errors if p.path == str(kb_dir / "leak.md")]
    assert leak == [
        f"{kb_dir / 'leak.md'}:1: error: symlink to a file outside the content folder: not read "
        "(copy the file in instead)"
    ]
    assert "leak" not in {a.id for a in report.articles}
    assert not any("linked-folder" in p.path for p in report.problems)


def test_a_gap_id_is_carried_into_the_build_metadata_and_a_malformed_one_is_an_error(kb_dir):
    good = FRONT.format(id="gap-answer", lang="zh", review_by="2027-01-01").replace(
        "authors: [cs-001]\n", "authors: [cs-001]\ngap: gap-0123456789ab\n"
    )
    _write(kb_dir, "gap-answer.md", good + "# 标题\n\n积分可以转让给家人。\n")
    bad = FRONT.format(id="gap-typo", lang="zh", review_by="2027-01-01").replace(
        "authors: [cs-001]\n", "authors: [cs-001]\ngap: [gap-0123456789ab, gap-ba9876543210]\n"
    )
    path = _write(kb_dir, "gap-typo.md", bad + "# 标题\n\n正文。\n")
    report = load_content(kb_dir)
    article = next(a for a in report.articles if a.id == "gap-answer")
    assert article.gap == "gap-0123456789ab" and article.metadata()["gap"] == "gap-0123456789ab"
    assert next(a for a in report.articles if a.id == "refund-arrival").metadata()["gap"] is None
    assert "gap-typo" not in {a.id for a in report.articles}
    msgs = [str(p) for p in report.errors]
    assert f"{path}:12: error: 'gap' names one content gap, not a list (e.g. gap: gap-0123456789ab)" in msgs


def test_an_export_names_its_gap_in_a_column(tmp_path):
    export = tmp_path / "kb.csv"
    export.write_text("Key,Question,Answer,Gap\nq1,Transfer points,Not possible,gap-0123456789AB\n", encoding="utf-8")
    report = load_content(export, {"id": "Key", "title": "Question", "body": "Answer", "gap": "Gap"})
    assert [str(p).split(": ", 1)[1] for p in report.errors] == [
        "error: bad gap 'gap-0123456789AB': name one recorded content gap, e.g. gap-0123456789ab (kbassist gaps list)"
    ]


def test_impossible_date_is_an_error_at_its_line_not_a_crash(kb_dir):
    text = FRONT.format(id="bad-date", lang="zh", review_by="2027-13-01")
    path = _write(kb_dir, "bad-date.md", text + "正文内容。\n")
    report = load_content(kb_dir)
    line = text.splitlines().index("review_by: 2027-13-01") + 1
    assert f"{path}:{line}: error: bad value in front matter: month must be in 1..12" in [str(p) for p in report.errors]
    assert "bad-date" not in {a.id for a in report.articles}
