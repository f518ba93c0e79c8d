"""The report definitions on hand-built facts (no database)."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from service.usage import analytics
from service.usage.analytics import Options
from service.usage.facts import AgentCounts, CountFact, EventFact, Facts, OutcomeFact, PairFact, SuggestionFact
from service.usage.periods import bucket, day_start
from service.usage.tickets import net_links, ticket_states

T0 = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai


def at(days: float) -> datetime:
    return T0 + timedelta(days=days)


def facts(events=(), outcomes=(), suggestions=(), agents=None, seen=None, flags=None) -> Facts:
    return Facts(list(events), list(outcomes), list(suggestions), agents or {}, seen or {}, flags or {})


def link(ticket, article, days, kind="linked", agent="a1", suggestion=None, rank=None):
    return EventFact(kind, article, agent, at(days), suggestion_id=suggestion, ticket_id=ticket, rank=rank)


def outcome(ticket, status, days, team="t1", agents=("a1",), channel="chat"):
    return OutcomeFact(ticket, status, at(days), team, channel, tuple(agents))


def test_periods_follow_the_report_time_zone():
    late = datetime(2026, 11, 30, 17, 30, tzinfo=UTC)  # 01:30 on 1 December in Shanghai
    shanghai = ZoneInfo("Asia/Shanghai")
    assert bucket(late, "day", shanghai) == "2026-12-01"
    assert bucket(late, "month", shanghai) == "2026-12"
    assert bucket(late, "day", ZoneInfo("UTC")) == "2026-11-30"
    assert bucket(late, "week", shanghai) == "2026-W49"
    assert day_start(date(2026, 12, 1), shanghai) == datetime(2026, 11, 30, 16, 0, tzinfo=UTC)


def test_link_rate_on_a_hand_built_month():
    # Week 45: 4 closed tickets, 3 with a link (one link later unlinked -> 2 linked); T5 is still open.
    # Week 46: 2 closed tickets, 2 linked.
    outcomes = [
        outcome("T1", "resolved", 0),
        outcome("T2", "closed", 1),
        outcome("T3", "resolved", 2),
        outcome("T4", "resolved", 3),
        outcome("T5", "reopened", 3),
        outcome("T6", "resolved", 7),
        outcome("T7", "closed", 8),
    ]
    events = [
        link("T1", "a", 0),
        link("T2", "b", 0.5),
        link("T3", "c", 1),
        link("T3", "c", 1.5, "unlinked"),
        link("T5", "a", 2),
        link("T6", "a", 7),
        link("T7", "b", 8),
        link("T7", "c", 8),
    ]
    table = analytics.link_rate(facts(events, outcomes), Options(period="week"))
    assert table.rows == [("all", "2026-W45", 4, 2, 0.5, None), ("all", "2026-W46", 2, 2, 1.0, 0.5)]
    assert "closed or resolved tickets with at least one linked article" in table.definition


def test_link_rate_counts_a_reopened_ticket_only_once_it_is_closed_again():
    outcomes = [outcome("T1", "resolved", 0), outcome("T1", "reopened", 1)]
    assert analytics.link_rate(facts((), outcomes), Options(period="month")).rows == []
    outcomes.append(outcome("T1", "resolved", 2))
    rows = analytics.link_rate(facts((), outcomes), Options(period="month")).rows
    assert rows == [("all", "2026-11", 1, 0, 0.0, None)]


def test_link_rate_groups_by_team_agent_and_channel():
    outcomes = [
        outcome("T1", "resolved", 0, team="t1", agents=("a1", "a2")),
        outcome("T2", "resolved", 0, team=None, agents=("a3",), channel="email"),
    ]
    f = facts([link("T1", "x", 0)], outcomes, agents={"a3": "t2"})
    assert [r[:4] for r in analytics.link_rate(f, Options(group_by="team")).rows] == [
        ("t1", "2026-W45", 1, 1),
        ("t2", "2026-W45", 1, 0),
    ]
    assert [r[0] for r in analytics.link_rate(f, Options(group_by="agent")).rows] == ["a1", "a2", "a3"]
    assert [r[0] for r in analytics.link_rate(f, Options(group_by="channel")).rows] == ["chat", "email"]


def test_reopen_within_the_window_means_not_solved_and_after_it_still_solved():
    history = [
        outcome("T1", "resolved", 0),
        outcome("T1", "reopened", 3),
        outcome("T1", "resolved", 4),
        outcome("T2", "resolved", 0),
        outcome("T2", "reopened", 10),
        outcome("T2", "resolved", 11),
    ]
    states = ticket_states(history, window_days=7)
    assert states["T1"].closed and not states["T1"].solved
    assert states["T2"].closed and states["T2"].solved


def test_net_links_replay_link_and_unlink_in_time_order():
    events = [
        link("T1", "a", 0),
        link("T1", "a", 1, "unlinked"),
        link("T1", "a", 2),
        link("T1", "b", 0),
        link("T1", "b", 3, "unlinked"),
    ]
    assert net_links(events) == {"T1": {"a": at(2)}}


def test_funnel_counts_each_pair_at_its_stage_and_up_to_solved_only_on_tickets_that_stayed_solved():
    pairs = [PairFact("s1", "x", "T1", 3), PairFact("s1", "y", "T1", 0), PairFact("s2", "x", "T2", 3)]
    outcomes = [outcome("T1", "resolved", 1), outcome("T2", "resolved", 1), outcome("T2", "reopened", 2)]
    table = analytics.funnel(Facts(outcomes=outcomes, pairs=pairs), Options())
    assert table.columns == ("article_id", "shown", "opened", "copied_or_inserted", "linked", "solved")
    assert table.rows == [("all", 3, 2, 2, 2, 1), ("x", 2, 2, 2, 2, 1), ("y", 1, 0, 0, 0, 0)]


def test_adoption_and_the_rank_of_the_used_result():
    s = [SuggestionFact(f"s{i}", at(0), "a1") for i in range(4)]
    events = [
        EventFact("copied", "x", "a1", at(0), "s0", rank=1),
        EventFact("linked", "y", "a1", at(0), "s0", rank=3),
        EventFact("inserted", "y", "a1", at(0), "s1", rank=2),
        EventFact("shown", "x", "a1", at(0), "s2", rank=1),
    ]
    adopted = Facts(suggestions=s, used_suggestions=frozenset({"s0", "s1"}))
    assert analytics.adoption(adopted, Options()).rows == [("all", "2026-W45", 4, 2, 0.5)]
    assert analytics.adoption_by_rank(facts(events, (), s), Options()).rows == [(1, 1, 0.5), (2, 1, 0.5)]


def test_reuse_compares_first_serving_with_the_ticket_start():
    events = [link("T1", "old", 1), link("T1", "fresh", 1), link("T1", "ghost", 1)]
    s = [SuggestionFact("s1", at(0), "a1", "T1")]
    seen = {"old": at(-30), "fresh": at(0.5)}
    table = analytics.reuse(facts(events, (), s, seen=seen), Options())
    assert table.rows == [("reuse", 1, 0.3333), ("new", 1, 0.3333), ("unknown", 1, 0.3333)]


def test_reuse_distribution_buckets_articles_by_tickets_linking_them():
    events = [link(f"T{i}", "popular", 0) for i in range(7)] + [link("T0", "rare", 0)]
    rows = analytics.reuse_distribution(facts(events), Options()).rows
    assert rows == [("1", 1, 1, 0.125), ("2-5", 0, 0, 0.0), ("6-20", 1, 7, 0.875), ("21+", 0, 0, 0.0)]


def test_per_article_uses_votes_flags_staleness_and_versions():
    counts = [
        CountFact("x", "copied", 1, at(0)),
        CountFact("x", "linked", 1, at(2)),
        CountFact("x", "helpful", 2, at(1)),
        CountFact("x", "not_helpful", 1, at(1)),
    ]
    f = Facts(article_counts=counts, open_flags={"x": ["wrong fee"]}, article_versions={"x": {"v2", "v1"}})
    table = analytics.articles(f, Options(), {"x": "2026-10-01"}, date(2026, 12, 1))
    assert table.rows == [("x", 2, 2, 1, 0.6667, 1, at(2).isoformat(), True, "v1,v2")]


def test_participation_counts_agents_who_link_or_flag():
    counts = AgentCounts(
        asked={"a1": 1, "a2": 1}, links={"a1": 1}, flags={"a2": 1}, articles_used={"a1": 1}, articles_used_total=1
    )
    table = analytics.participation(Facts(agents={"a1": "t1", "a2": "t1", "a3": "t2"}, agent_counts=counts), Options())
    assert table.rows[:3] == [
        ("a1", "t1", 1, 1, 1, 0, True),
        ("a2", "t1", 1, 0, 0, 1, True),
        ("a3", "t2", 0, 0, 0, 0, False),
    ]
    assert table.rows[-1] == ("ALL", "-", 2, 1, 1, 1, 0.6667)
