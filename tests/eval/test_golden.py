"""The shipped golden set against the shipped KB: what eval/golden/README.md's labelling rule lets a test check."""

import json
from collections import Counter
from pathlib import Path

from eval.data import read_queries
from eval.overlap import article_titles, near_copies
from indexer.build import load_content

ROOT = Path(__file__).resolve().parents[2]
TYPES = {
    "plain",
    "colloquial",
    "typo",
    "pinyin",
    "mixed",
    "crosslingual",
    "long_chat",
    "multi_turn",
    "chat_paste",
    "asr",
    "two_intent",
    "unanswerable",
    "unanswerable_on_topic",
}


def _queries() -> list[dict[str, object]]:
    lines = (ROOT / "eval" / "golden" / "queries.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def test_every_golden_label_is_a_published_article():
    published = {a.id for a in load_content(ROOT / "kb_content").articles if a.status == "published"}
    unknown = {(q["query"], i) for q in _queries() for i in q["relevant_ids"] if i not in published}
    assert unknown == set()


def test_golden_queries_are_not_repeated():
    texts = [q["query"] for q in _queries()]
    assert len(texts) == len(set(texts))


def test_golden_types_are_the_documented_ones_and_no_answer_types_have_no_labels():
    for q in _queries():
        assert q["meta"]["type"] in TYPES, q
        assert q["lang"] in ("zh", "en"), q
        assert (q["relevant_ids"] == []) == q["meta"]["type"].startswith("unanswerable"), q


def test_golden_set_holds_the_kinds_of_real_traffic():
    types = Counter(q["meta"]["type"] for q in _queries())
    assert types["unanswerable_on_topic"] >= 60
    assert types["multi_turn"] >= 40
    assert types["chat_paste"] >= 40
    assert types["asr"] > 0 and types["two_intent"] > 0


def test_few_golden_queries_are_near_copies_of_a_relevant_title():
    # A copy of its article's title measures title matching, not a customer's words (eval/golden/README.md).
    queries = read_queries(ROOT / "eval" / "golden" / "queries.jsonl")
    answerable = [q for q in queries if q.answerable]
    copies = near_copies(queries, article_titles(ROOT / "kb_content"))
    assert len(copies) <= 0.05 * len(answerable), [q.text for q in copies]


# Rule 2's judged exceptions: the other-language twin lacks the part asked (query → twin left out, and why).
TWIN_LEFT_OUT = {
    "投诉三天了都没人理我 咋升级啊": "fast-channel-247",  # only the English one takes overdue complaints
    "我上周就投诉了，工单到现在没人联系我": "fast-channel-247",
    "I've emailed three times about my return": "fast-channel-247",
    "客户：我上周投诉过": "fast-channel-247",
    "客户：在吗\n坐席：在的，您请说\n客户：我要投诉": "fast-channel-247",
    "海外组用的英文版L1/L2/L3升级规则在哪": "internal-escalation-rules",  # asks for the English version
}


def test_twins_are_listed_in_both_directions_unless_judged_otherwise():
    published = {a.id for a in load_content(ROOT / "kb_content").articles if a.status == "published"}
    missing = set()
    for q in _queries():
        for article in q["relevant_ids"]:
            twin = article.removeprefix("en-") if article.startswith("en-") else f"en-{article}"
            if twin in published and twin not in q["relevant_ids"]:
                missing.add((q["query"], twin))

    def judged(text: str, twin: str) -> bool:
        return any(text.startswith(start) and twin == left_out for start, left_out in TWIN_LEFT_OUT.items())

    assert {m for m in missing if not judged(*m)} == set()
    assert len(missing) == len(TWIN_LEFT_OUT)  # every judged exception still applies


def test_a_crosslingual_query_has_no_answer_in_its_own_language():
    lang = {a.id: a.lang for a in load_content(ROOT / "kb_content").articles if a.status == "published"}
    own = [
        q["query"]
        for q in _queries()
        if q["meta"]["type"] == "crosslingual" and any(lang[i] == q["lang"] for i in q["relevant_ids"])
    ]
    assert own == []
