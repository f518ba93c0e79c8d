"""The content-gap bonus on hand-built facts: paid once per recorded open gap, never for a tag or a late record."""

from datetime import UTC, datetime, timedelta

from service.credits.earn import Version
from service.credits.gap_bonus import GapFact, gap_bonus
from service.credits.rules import load_rules, parse_rules

RULES = load_rules()
SERVED = datetime(2026, 12, 2, 9, tzinfo=UTC)
GAP = GapFact("gap-0123456789ab", "积分能转让吗", "open", SERVED - timedelta(days=1))
NEW = Version("points-transfer", "h1", ("w1", "w2"), 400, (), GAP.id)


def test_a_new_article_naming_a_recorded_open_gap_closes_it_and_pays_each_author_once_per_gap():
    bonus = gap_bonus(NEW, None, GAP, SERVED, RULES)
    assert bonus is not None and bonus.closes
    assert [(c.agent_id, c.points, c.rule_id, c.fact_key) for c in bonus.credits] == [
        ("w1", 10, "gap_article", "gap_article:gap-0123456789ab:w1"),
        ("w2", 10, "gap_article", "gap_article:gap-0123456789ab:w2"),
    ]
    assert {(c.article_id, c.content_hash) for c in bonus.credits} == {("points-transfer", "h1")}
    assert "gap-0123456789ab" in bonus.credits[0].reason and "积分能转让吗" in bonus.credits[0].reason


def test_an_article_naming_no_gap_is_not_concerned():
    assert gap_bonus(Version("a", "h", ("w",), 400, ("content-gap",)), None, None, SERVED, RULES) is None


def test_unknown_closed_and_late_gaps_earn_nothing_and_say_why():
    unknown = gap_bonus(NEW, None, None, SERVED, RULES)
    assert unknown is not None and not unknown.closes and not unknown.credits and "not recorded" in unknown.note
    closed = GapFact(GAP.id, GAP.title, "closed", GAP.recorded_at, "other-article")
    other = gap_bonus(NEW, None, closed, SERVED, RULES)
    assert other is not None and not other.closes and "already closed by article other-article" in other.note
    assert other.warn
    late = GapFact(GAP.id, GAP.title, "open", SERVED + timedelta(seconds=1))
    after = gap_bonus(NEW, None, late, SERVED, RULES)
    assert after is not None and not after.closes and "recorded after" in after.note


def test_a_later_version_of_the_closing_article_is_quiet_and_a_small_edit_is_no_publication():
    mine = GapFact(GAP.id, GAP.title, "closed", GAP.recorded_at, NEW.article_id)
    again = gap_bonus(Version(NEW.article_id, "h2", ("w1",), 2000, (), GAP.id), NEW, mine, SERVED, RULES)
    assert again is not None and not again.closes and not again.warn
    existing = Version("old", "h1", ("w1",), 1000, (), None)
    small = gap_bonus(Version("old", "h2", ("w1",), 1100, (), GAP.id), existing, GAP, SERVED, RULES)
    assert small is not None and not small.closes and "no publication" in small.note
    big = gap_bonus(Version("old", "h3", ("w1",), 1300, (), GAP.id), existing, GAP, SERVED, RULES)
    assert big is not None and big.closes and [c.agent_id for c in big.credits] == ["w1"]


def test_without_the_rule_the_gap_still_closes_but_pays_nothing():
    rules = parse_rules(b"rules:\n  article_published:\n    points: 20\n", "r.yaml")
    bonus = gap_bonus(NEW, None, GAP, SERVED, rules)
    assert bonus is not None and bonus.closes and bonus.credits == []
