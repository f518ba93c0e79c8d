"""``kbassist doctor``: is this installation ready to serve, and if not, what to do about it.

Each check is a function of the settings that returns one :class:`Check`; :func:`run_checks`
runs them in order, and a check that needs an earlier one's result (the build needs the
model) says it was skipped instead of failing twice. Nothing here writes: the database is
inspected, never migrated, and no index is built.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url
from sqlmodel import Session

from indexer.build import load_content
from indexer.embed import Embedder
from indexer.errors import KBError
from indexer.factory import fusion_from, make_embedder
from indexer.search import Retriever
from indexer.versions import current_build
from service.config import ServiceSettings
from service.credits.rules import RulesError, load_rules
from service.db import MIGRATIONS, make_engine
from service.keys import crud as keys_crud

# A database clock further than this from ours skews every report period and retention cut.
MAX_CLOCK_SKEW_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class Check:
    """One finding: ``ok`` None means skipped (an earlier check failed)."""

    name: str
    ok: bool | None
    detail: str
    fix: str = ""


@dataclass(slots=True)
class _State:
    embedder: Embedder | None = None


def _settings(settings: ServiceSettings, _state: _State) -> Check:
    url = make_url(settings.database_url).render_as_string(hide_password=True)
    data = settings.data_dir
    if data.exists() and not os.access(data, os.W_OK):
        return Check("settings", False, f"data folder {data} is not writable", f"chmod u+w {data} or set KB_DATA_DIR")
    return Check("settings", True, f"data {data}, index {settings.index_root}, database {url}")


def _rules(settings: ServiceSettings, _state: _State) -> Check:
    try:
        rules = load_rules(settings.credits_rules_file)
    except RulesError as exc:  # the message names the file and line
        return Check("rules", False, str(exc), "fix the credits rules file (docs/credits.md) or KB_CREDITS_RULES_FILE")
    return Check("rules", True, f"{rules.source} version {rules.version}, {len(rules.rules)} rule(s)")


def _content(settings: ServiceSettings, _state: _State) -> Check:
    try:
        report = load_content(settings.content_dir)
    except KBError as exc:
        return Check("content", False, str(exc), "set KB_CONTENT_DIR to the articles folder")
    published = sum(a.status == "published" for a in report.articles)
    if report.errors:
        detail = f"{len(report.errors)} error(s) in {settings.content_dir}; those articles are not indexed"
        return Check("content", False, detail, f"kbassist validate {settings.content_dir}")
    return Check("content", True, f"{published} published article(s), {len(report.warnings)} warning(s)")


def _model(settings: ServiceSettings, state: _State) -> Check:
    try:
        embedder = make_embedder(settings)
        embedder.embed_queries(["退款多久到账", "refund status"])
    except Exception as exc:  # noqa: BLE001 - any failure to load or run the model is the finding
        hint = "reinstall: bash scripts/install.sh" if "sentence" in repr(exc).lower() else "see docs/configuration.md"
        return Check("model", False, f"{settings.embedding_backend}: {type(exc).__name__}: {exc}", hint)
    state.embedder = embedder
    return Check("model", True, f"{settings.embedding_backend} loads offline and embeds ({embedder.dim} dimensions)")


def _build(settings: ServiceSettings, state: _State) -> Check:
    if state.embedder is None:
        return Check("build", None, "skipped: the model did not load")
    try:
        folder = current_build(settings.index_root)
        retriever = Retriever.load(folder, state.embedder, fusion=fusion_from(settings))
    except KBError as exc:
        return Check("build", False, str(exc), "kbassist index (or kbassist index --rollback)")
    published = {a.id: a.content_hash for a in load_content(settings.content_dir).articles if a.status == "published"}
    built = retriever.manifest.article_hashes
    stale = sorted(k for k in published.keys() | built.keys() if published.get(k) != built.get(k))
    if stale:
        names = ", ".join(stale[:5]) + (" …" if len(stale) > 5 else "")
        detail = f"build {retriever.version} differs from the content in {len(stale)} article(s): {names}"
        return Check("build", False, detail, "kbassist index")
    return Check("build", True, f"{retriever.version} loads, {len(retriever.articles)} articles, matches the content")


def _database(settings: ServiceSettings, _state: _State) -> Iterator[Check]:
    engine = make_engine(settings.database_url)
    try:
        yield from _database_checks(settings, engine)
    finally:
        engine.dispose()


def _database_checks(settings: ServiceSettings, engine: sa.Engine) -> Iterator[Check]:
    try:
        with engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
            now = connection.execute(sa.select(sa.func.current_timestamp())).scalar_one()
    except sa.exc.SQLAlchemyError as exc:
        yield Check("database", False, f"unreachable: {type(exc).__name__}", "check KB_DATABASE_URL and the server")
        return
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    if current != head:
        yield Check("database", False, f"at revision {current}, code expects {head}", "kbassist db upgrade")
        return
    yield Check("database", True, f"reachable, migrations current ({head})")
    if isinstance(now, str):  # SQLite answers text, in UTC
        now = datetime.fromisoformat(now)
    skew = abs((datetime.now(UTC) - (now if now.tzinfo else now.replace(tzinfo=UTC))).total_seconds())
    local = datetime.now(ZoneInfo(settings.usage_time_zone)).strftime("%Y-%m-%d %H:%M %Z")
    if skew > MAX_CLOCK_SKEW_SECONDS:
        yield Check("clock", False, f"database clock {skew:.0f} s from ours", "synchronise both clocks (NTP)")
    else:
        yield Check("clock", True, f"database within {skew:.0f} s; reports in {settings.usage_time_zone} ({local})")
    with Session(engine) as session:
        usable = keys_crud.list_api_keys(session=session, include_revoked=False)
    if not usable:
        yield Check("keys", False, "no usable API key", "kbassist keys create --role agent --agent-id ID")
    else:
        roles = ", ".join(sorted({k.role for k in usable}))
        yield Check("keys", True, f"{len(usable)} usable key(s) ({roles})")


CHECKS: tuple[Callable[[ServiceSettings, _State], Check | Iterator[Check]], ...] = (
    _settings,
    _rules,
    _content,
    _model,
    _build,
    _database,
)


def run_checks(settings: ServiceSettings) -> list[Check]:
    """Every check, in order (see the module docstring)."""
    state = _State()
    found: list[Check] = []
    for check in CHECKS:
        result = check(settings, state)
        found.extend([result] if isinstance(result, Check) else result)
    return found
