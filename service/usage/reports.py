"""One entry to every report, shared by ``GET /v1/analytics/{report}`` and ``kbassist report``."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import sqlalchemy as sa
from numpy.typing import NDArray
from sqlmodel import Session

from indexer.search import Retriever
from service.usage import aggregates, analytics, article_rollup, gap_records, gaps
from service.usage.analytics import Options, Table
from service.usage.facts import CountFact, Facts, Needs, load_facts
from service.usage.models import ARTICLE_COUNT_TYPES, LINK_TYPES, USE_TYPES
from service.usage.periods import as_utc

REPORT_NAMES = (*analytics.REPORTS, "articles", "gaps")
# What each report reads as facts. The reports of ``aggregates.REPORTS`` count in SQL instead;
# their entries serve ``python_report``, the reference they are tested against.
NEEDS = {
    "link-rate": Needs(event_types=LINK_TYPES, outcomes=True),
    "adoption": Needs(suggestions=True, used_suggestions=True),
    "adoption-by-rank": Needs(event_types=USE_TYPES),
    "funnel": Needs(outcomes=True, pairs=True),
    "reuse": Needs(event_types=LINK_TYPES, outcomes=True, suggestions=True),
    "reuse-distribution": Needs(event_types=LINK_TYPES),
    "flags": Needs(),
    "participation": Needs(agent_counts=True),
    "articles": Needs(article_counts=ARTICLE_COUNT_TYPES, versions=True),
    "gaps": Needs(gap_queries=gaps.MAX_QUERIES),
}


@dataclass(frozen=True, slots=True)
class KB:
    """What reports need from the serving build: review dates, the query embedder, the nearest article."""

    review_by: Mapping[str, str | None]
    embed: Callable[[list[str]], NDArray[np.float32]] | None
    closest: Callable[[str], str | None]

    @classmethod
    def of(cls, retriever: Retriever | None) -> KB:
        """The KB view of a loaded build (or of none: no stale marks, no gap grouping)."""
        if retriever is None:
            return cls({}, None, lambda _q: None)

        def closest(query: str) -> str | None:
            hits = retriever.search(query, k=1, mode="dense", include_internal=True).hits
            return hits[0].article_id if hits else None

        def embed(texts: list[str]) -> NDArray[np.float32]:
            return np.asarray(retriever.embedder.embed_queries(texts), dtype=np.float32)

        review = {a: (str(m["review_by"]) if m.get("review_by") else None) for a, m in retriever.articles.items()}
        return cls(review, embed, closest)


# PostgreSQL settings for the rest of a report's transaction. JIT: the planner's costs for a month's
# correlated probes pass jit_above_cost, and compiling took 0.3-0.9 s per report, more than it saved
# (EXPLAIN ANALYZE, bench/README.md "Dashboard requests"). work_mem: a month's (suggestion, article)
# pairs hash in ~60 MB; at the 4 MB default they sort on disk.
REPORT_SETTINGS = {"jit": "off", "work_mem": "64MB"}


def tune_for_reports(session: Session) -> None:
    """Apply :data:`REPORT_SETTINGS` until the session's transaction ends (PostgreSQL; SQLite has no such knobs)."""
    if session.get_bind().dialect.name == "postgresql":
        for setting, value in REPORT_SETTINGS.items():
            session.connection().execute(
                sa.text("SELECT set_config(:name, :value, true)"), {"name": setting, "value": value}
            )


class ReportUnavailable(ValueError):
    """A report that needs something missing (e.g. content gaps without a loaded build)."""


def run_report(
    name: str,
    *,
    session: Session,
    opts: Options,
    since: datetime | None,
    until: datetime | None,
    kb: KB,
    gap_distance: float,
    today: date,
) -> Table:
    """Compute one report over ``[since, until)``.

    Besides :data:`REPORT_NAMES`, ``funnel-overall``: the funnel report's overall row alone (the
    dashboard's funnel chart), counted without the per-article rows.

    Raises:
        ReportUnavailable: ``gaps`` without an embedder.
        KeyError: an unknown report name (callers validate against :data:`REPORT_NAMES`).
    """
    tune_for_reports(session)
    if name in aggregates.REPORTS:
        return aggregates.REPORTS[name](session=session, opts=opts, since=since, until=until)
    if name == "articles":
        return analytics.articles(article_facts(session=session, since=since, until=until), opts, kb.review_by, today)
    facts = load_facts(session=session, since=since, until=until, needs=NEEDS[name])
    if name == "gaps":
        if kb.embed is None:
            raise ReportUnavailable("content gaps need a loaded index build (its embedder groups the queries)")
        found = gaps.find_gaps(facts.gap_queries, kb.embed, gap_distance, kb.closest)
        definition = (
            "masked queries not answerable, or shown and never used, grouped by meaning (query embeddings, "
            f"scikit-learn AgglomerativeClustering, average linkage, cosine distance < {gap_distance}); "
            "gap_id: the recorded gap sharing an example (its status in recorded), else the id recording gives"
        )
        matched = gap_records.match_groups(session=session, groups=[g.examples for g in found])
        rows = [(g.size, " | ".join(g.examples), g.closest_article, *m) for g, m in zip(found, matched, strict=True)]
        return Table("gaps", definition, ("queries", "examples", "closest_article", "gap_id", "recorded"), rows)
    return analytics.REPORTS[name](facts, opts)


def article_facts(*, session: Session, since: datetime | None, until: datetime | None) -> Facts:
    """The articles report's facts with its counts and versions read from the article hours.

    ``load_facts`` with ``NEEDS["articles"]`` reads the same figures from the events (the reference
    the tests hold this to); over a month that took 0.7 s of SQLite CPU (``service.usage.article_rollup``).
    """
    facts = load_facts(session=session, since=since, until=until, needs=Needs())
    connection = session.connection()
    query = article_rollup.counts(since, until, NEEDS["articles"].article_counts)
    counts = [CountFact(a, t, int(n), as_utc(last)) for a, t, n, last in connection.execute(query)]
    versions: dict[str, set[str]] = defaultdict(set)
    for article_id, version in connection.execute(article_rollup.versions(since, until)):
        versions[article_id].add(str(version))
    return dataclasses.replace(facts, article_counts=counts, article_versions=dict(versions))


def python_report(
    name: str, *, session: Session, opts: Options, since: datetime | None, until: datetime | None
) -> Table:
    """A report of ``analytics.REPORTS`` by its Python definition over loaded facts.

    The reference the SQL aggregates are tested against; it loads every event a report reads, so it
    is too slow for a month of traffic (``bench/usage_bench.py``).
    """
    return analytics.REPORTS[name](load_facts(session=session, since=since, until=until, needs=NEEDS[name]), opts)
