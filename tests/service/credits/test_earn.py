"""Facts → credits on hand-built facts, without a database: each rule and each anti-gaming rule."""

from datetime import UTC, datetime, timedelta

from service.credits.earn import (
    Link,
    Outcome,
    Version,
    credited_cycle,
    flag_credits,
    publication_credits,
    ticket_credits,
    update_points,
    vote_credits,
)
from service.credits.rules import load_rules

RULES = load_rules()
T0 = datetime(2026, 11, 2, 9, tzinfo=UTC)
ART = Version("refund", "h1", ("author",), 1000, ())


def at(days):
    return T0 + timedelta(days=days)


def test_a_reopen_within_the_window_voids_the_run_and_a_later_one_does_not():
    resolved = Outcome(1, "resolved", at(0))
    assert credited_cycle([resolved], 7) == [resolved]
    assert credited_cycle([resolved, Outcome(2, "reopened", at(3))], 7) == []
    assert credited_cycle([resolved, Outcome(2, "reopened", at(8))], 7) == [resolved]
    again = Outcome(3, "resolved", at(4))
    assert credited_cycle([resolved, Outcome(2, "reopened", at(3)), again], 7) == [again]


def test_citation_goes_to_authors_other_than_the_linker_once_per_article_and_ticket():
    links = [Link(1, "linked", "refund", "linker", at(0)), Link(2, "linked", "refund", "other", at(0.5))]
    credits = ticket_credits("T1", [Outcome(9, "resolved", at(1))], links, {"refund": ART}, RULES, 7)
    assert [(c.agent_id, c.points, c.rule_id, c.fact_key) for c in credits] == [
        ("author", 5, "citation", "citation:T1:refund:author")
    ]
    self_link = [Link(1, "linked", "refund", "author", at(0))]
    assert ticket_credits("T1", [Outcome(9, "resolved", at(1))], self_link, {"refund": ART}, RULES, 7) == []
    unlinked = [*links[:1], Link(3, "unlinked", "refund", "linker", at(0.2))]
    assert ticket_credits("T1", [Outcome(9, "resolved", at(1))], unlinked, {"refund": ART}, RULES, 7) == []


def test_csat_and_complexity_go_to_each_handling_agent_of_a_resolved_ticket():
    resolved = Outcome(1, "resolved", at(0), csat=4, complexity="L2", agent_ids=("a", "b"))
    credits = ticket_credits("T2", [resolved], [], {}, RULES, 7)
    assert sorted((c.rule_id, c.agent_id, c.points) for c in credits) == [
        ("complex_issue", "a", 3),
        ("complex_issue", "b", 3),
        ("csat", "a", 2),
        ("csat", "b", 2),
    ]
    assert ticket_credits("T2", [Outcome(1, "resolved", at(0), csat=1, complexity="L1")], [], {}, RULES, 7) == []
    assert ticket_credits("T2", [Outcome(1, "reopened", at(0), csat=5)], [], {}, RULES, 7) == []


def test_a_vote_counts_only_from_another_agent_who_was_shown_the_article():
    kwargs = {"event_id": 1, "article_id": "refund", "version": ART, "rules": RULES}
    assert [c.agent_id for c in vote_credits(voter="v", shown=True, **kwargs)] == ["author"]
    assert vote_credits(voter="v", shown=False, **kwargs) == []
    assert vote_credits(voter="author", shown=True, **kwargs) == []


def test_a_resolved_flag_credits_the_raiser_and_the_editor_but_never_one_agent_twice():
    credits = flag_credits(flag_id=4, article_id="refund", raiser="r", editor="e", rules=RULES)
    assert [(c.agent_id, c.rule_id) for c in credits] == [("r", "flag_confirmed"), ("e", "flag_fixed")]
    assert [c.rule_id for c in flag_credits(flag_id=4, article_id="x", raiser="e", editor="e", rules=RULES)] == [
        "flag_fixed"
    ]


def test_publication_and_update_by_size():
    assert [(c.rule_id, c.points) for c in publication_credits(ART, None, RULES)] == [("article_published", 20)]
    small = Version("refund", "h2", ("author", "editor"), 1100, ())
    assert publication_credits(small, ART, RULES) == []
    big = Version("refund", "h3", ("author",), 1450, ())
    assert [(c.rule_id, c.points, c.fact_key) for c in publication_credits(big, ART, RULES)] == [
        ("article_updated", 9, "article_updated:refund:h3:author")
    ]
    assert update_points(199, RULES) == 0 and update_points(200, RULES) == 4 and update_points(10_000, RULES) == 10
    tagged = Version("new", "h9", ("w",), 300, ("content-gap",))
    assert [c.rule_id for c in publication_credits(tagged, None, RULES)] == [
        "article_published"
    ]  # a tag earns no bonus
