"""The service's handle on the points bank: its rules, the settle timer and the build-swap hook.

The settle timer is one daemon thread per process; runs from several processes are serialised
by the ledger's settle lock, and deterministic keys make a repeated run write nothing.
A database error in a background run is logged, never allowed to stop the timer or a swap.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from service.config import ServiceSettings
from service.credits.rules import Rules, load_rules
from service.credits.settle import Settled, record_build, settle

log = logging.getLogger(__name__)


class Bank:
    """Rules, settings and engine of the ledger, with the timer that settles new facts."""

    def __init__(self, engine: Engine, settings: ServiceSettings, rules: Rules | None = None) -> None:
        self.engine = engine
        self.rules = rules or load_rules(settings.credits_rules_file)
        self.zone = ZoneInfo(settings.usage_time_zone)
        self.window_days = settings.usage_reopen_window_days
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def settle(self, session: Session) -> Settled:
        """Credit the facts not settled yet (see :mod:`service.credits.settle`)."""
        return settle(session=session, rules=self.rules, window_days=self.window_days, zone=self.zone)

    def on_build(self, articles: Mapping[str, Mapping[str, Any]], index_version: str) -> None:
        """Credit the content versions a newly served build adds (runs on the index watcher's thread)."""
        try:
            with Session(self.engine) as session:
                written = record_build(
                    session=session, articles=articles, index_version=index_version, rules=self.rules, zone=self.zone
                )
        except SQLAlchemyError:
            log.exception("could not credit the articles of build %s", index_version)
            return
        if written:
            log.info("build %s: %d publication credit(s)", index_version, written)

    def _run(self, interval: float) -> None:
        while not self._stop.wait(interval):
            try:
                with Session(self.engine) as session:
                    self.settle(session)
            except SQLAlchemyError:
                log.exception("settling credits failed; retrying in %.1f s", interval)

    def start(self, interval: float) -> None:
        """Settle every ``interval`` seconds on a daemon thread (0 = never)."""
        if interval > 0:
            self._thread = threading.Thread(target=self._run, args=(interval,), name="credits-settle", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop the timer and wait for a run in progress."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
