"""Settings of the service: the indexer's settings plus what only ``kbassist serve`` and the database need.

One environment prefix (``KB_``) and one documented table cover both classes; the service
builds a :class:`ServiceSettings`, the indexer and evaluation never see these fields.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from indexer.config import Settings
from indexer.factory import settings_from

if TYPE_CHECKING:
    import click

# A CSP source expression for frame-ancestors: a keyword, a scheme ("https:") or a host with optional
# scheme, wildcard subdomain, port and path; nothing that could end the directive (";", ",", quotes).
FRAME_SOURCE = re.compile(
    r"'self'|'none'|[a-z][a-z0-9+.\-]*:"
    r"|([a-z][a-z0-9+.\-]*://)?(\*\.)?[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)*(:(\d+|\*))?(/[^\s;,']*)?"
)


class ServiceSettings(Settings):
    """Every tunable of the service. Each field maps to ``KB_<FIELD>`` in the environment."""

    database_url: str = Field(
        "", description="SQLAlchemy URL (sqlite:/// or postgresql://); defaults to SQLite in data_dir."
    )
    db_upgrade_on_start: bool = Field(True, description="Run `alembic upgrade head` when the service starts.")
    host: str = Field("127.0.0.1", description="Address `kbassist serve` binds to.")
    port: int = Field(8000, ge=1, le=65535, description="Port `kbassist serve` listens on.")
    workers: int = Field(1, ge=1, le=64, description="Server processes; each holds the model and index in RAM.")
    reload_interval: float = Field(
        1.0, ge=0.0, description="Seconds between checks for a newly published build (0 = only on request)."
    )
    key_cache_seconds: float = Field(
        10.0, ge=0.0, description="How long a verified API key is trusted before the DB is asked again."
    )
    query_cache_size: int = Field(
        4096, ge=0, description="Query vectors kept for repeated customer messages (LRU; 0 = off)."
    )
    batch_linger_ms: float = Field(
        3.0,
        ge=0.0,
        le=50.0,
        description="Longest a search batch waits for requests expected to join it (busy workers only; 0 = never).",
    )
    integration_internal: bool = Field(False, description="Whether integration keys may see internal articles.")
    pii_patterns: dict[str, str] = Field(
        default_factory=lambda: {"ORDER": r"XL\d{16}"},
        description='Extra PII regexes as JSON {"LABEL": "regex"}; matches become [LABEL].',
    )
    debug: bool = Field(False, description="Include tracebacks in 500 responses.")
    max_body_bytes: int = Field(
        65_536, ge=1024, description="Largest request body; larger ones get 413 (the key is checked first)."
    )
    max_header_bytes: int = Field(
        16_384, ge=1024, description="Largest request line plus headers (`kbassist serve`); larger ones get 431."
    )
    header_timeout: float = Field(
        10.0, gt=0.0, description="Seconds a client has to send a whole request head (`kbassist serve`); then 408."
    )
    docs_access: Literal["open", "key", "off"] = Field(
        "open", description="/docs, /redoc and /openapi.json: open, any valid API key, or not served."
    )
    rate_limit: str = Field(
        "", description='Requests per API key, e.g. "600/minute" (`limits` notation); empty = no limit.'
    )
    rate_limit_storage: str = Field(
        "memory://", description="Where rate-limit counts live: memory:// (per process) or redis://host:port (shared)."
    )
    metrics_access: Literal["open", "key"] = Field("open", description="/metrics: open, or any valid API key.")

    # --- service: usage tracking (service/usage) ---
    usage_time_zone: str = Field("Asia/Shanghai", description="Time zone of report periods (day, week, month).")
    usage_reopen_window_days: int = Field(
        7, ge=0, le=365, description="A resolved ticket counts as solved once this many days pass without a reopen."
    )
    usage_query_retention_days: int = Field(
        90, ge=0, description="`kbassist usage retention` blanks masked query text older than this (0 = keep)."
    )
    usage_gap_distance: float = Field(
        0.35, gt=0.0, lt=2.0, description="Cosine distance under which content-gap queries join one group."
    )
    outcome_mappings: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Extra webhook field mappings as JSON {name: mapping} (docs/usage.md)."
    )

    # --- service: the agent sidebar (service/sidebar.py) ---
    sidebar_frame_ancestors: str = Field(
        "'self'",
        description="Who may embed GET /sidebar in a frame: CSP frame-ancestors sources, space-separated.",
    )

    @field_validator("sidebar_frame_ancestors")
    @classmethod
    def _frame_sources(cls, value: str) -> str:
        sources = value.split()
        if not sources:
            raise ValueError("give at least one source, e.g. 'self' or https://desk.example.com")
        for source in sources:
            if not FRAME_SOURCE.fullmatch(source):
                raise ValueError(f"{source!r} is not a CSP source (e.g. 'self', https:, https://*.example.com)")
        if "'none'" in sources and len(sources) > 1:
            raise ValueError("'none' cannot be combined with other sources")
        return " ".join(sources)

    # --- service: the team-lead dashboard (service/dashboard) ---
    dashboard_link_rate_target: float = Field(
        0.85, ge=0.0, le=1.0, description="The KB link-rate target drawn on the dashboard and monthly report (0–1)."
    )

    # --- service: the points bank (service/credits) ---
    credits_rules_file: Path | None = Field(
        None, description="YAML rules of the points bank (docs/credits.md); unset = the packaged default."
    )
    credits_settle_seconds: float = Field(
        5.0, ge=0.0, description="Seconds between settle runs crediting new usage facts (0 = only on request)."
    )

    @field_validator("usage_time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (an IANA name such as Asia/Shanghai)") from exc
        return value

    @model_validator(mode="after")
    def _database_default(self) -> ServiceSettings:
        # Plain postgres:// URLs (as hosting platforms hand them out) get the psycopg 3 driver.
        url = self.database_url
        if not url:
            url = f"sqlite:///{self.data_dir / 'kbassist.db'}"
        for scheme in ("postgres://", "postgresql://"):
            if url.startswith(scheme):
                url = "postgresql+psycopg://" + url.removeprefix(scheme)
        self.database_url = url
        return self


def service_settings_from(ctx: click.Context) -> ServiceSettings:
    """The settings on the root click context, as :class:`ServiceSettings`.

    The root command builds ``ServiceSettings``; a plain ``Settings`` (a caller embedding
    the indexer commands) is extended with the service fields from the environment.
    """
    settings = settings_from(ctx)
    if not isinstance(settings, ServiceSettings):
        settings = ServiceSettings(**settings.model_dump(exclude_unset=True))
        ctx.find_root().obj = settings
    return settings
