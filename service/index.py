"""The served index build and the watcher that hot-swaps newly published builds.

Loading happens on the watcher thread (or an admin request), never on the suggest
path: the new :class:`Retriever` is loaded and warmed up completely, then swapped in
with a single reference assignment. Requests in flight keep the build they started
with. A build that fails to load is refused; the old one keeps serving, the error is
logged and shown in ``/readyz``, and the same version is not retried until it is
published again or a reload is forced.

With several worker processes, ``POST /v1/admin/reload`` touches a trigger file that
every worker's watcher checks too, so all of them reload.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

from indexer.embed import Embedder
from indexer.errors import KBError
from indexer.fusion import FusionParams
from indexer.search import Retriever
from indexer.versions import builds_dir, current_version
from service.models import utcnow

log = logging.getLogger(__name__)

Outcome = Literal["unchanged", "loaded", "refused", "missing"]
TRIGGER = "reload-request"


@dataclass(frozen=True, slots=True)
class Refusal:
    """A published build that did not load."""

    version: str
    error: str
    at: datetime


class IndexHolder:
    """Holds the serving Retriever and swaps in new builds."""

    def __init__(self, root: Path, embedder: Embedder, fusion: FusionParams, *, trigger: Path,
                 on_swap: Callable[[Retriever], None] | None = None) -> None:  # fmt: skip
        self.root = root
        self.embedder = embedder
        self.fusion = fusion
        self.trigger = trigger
        self.retriever: Retriever | None = None
        self.loaded_at: datetime | None = None
        self.refused: Refusal | None = None
        self._on_swap = on_swap
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._trigger_mtime = self._mtime()

    @property
    def version(self) -> str | None:
        """Version of the serving build, or None."""
        retriever = self.retriever
        return retriever.version if retriever else None

    def check(self, *, force: bool = False) -> tuple[Outcome, str | None]:
        """Load the published build if it is new (or if ``force``); returns the outcome and a message."""
        with self._lock:
            version = current_version(self.root)
            if version is None:
                return "missing", f"no build published in {self.root}"
            if version == self.version:
                self.refused = None  # the published build is the one serving (e.g. after a rollback)
                return "unchanged", None
            if not force and self.refused and self.refused.version == version:
                return "unchanged", None
            try:
                retriever = Retriever.load(builds_dir(self.root) / version, self.embedder, fusion=self.fusion)
                retriever.search("warm up", k=1)
            except (KBError, OSError, ValueError, RuntimeError) as exc:
                self.refused = Refusal(version, str(exc), utcnow())
                log.error("refused index build %s (still serving %s): %s", version, self.version, exc)
                return "refused", str(exc)
            previous = self.version
            if self._on_swap is not None:  # before the swap, so whoever sees the new build sees its metrics
                self._on_swap(retriever)
            self.retriever = retriever
            self.loaded_at = utcnow()
            self.refused = None
            log.warning("serving index build %s (was %s)", version, previous)
            return "loaded", None

    def request_reload(self) -> tuple[Outcome, str | None]:
        """Force a check here and ask the other worker processes to do the same."""
        self.trigger.parent.mkdir(parents=True, exist_ok=True)
        self.trigger.touch()
        self._trigger_mtime = self._mtime()
        return self.check(force=True)

    def _mtime(self) -> float:
        try:
            return self.trigger.stat().st_mtime
        except OSError:
            return 0.0

    def _watch(self, interval: float) -> None:
        while not self._stop.wait(interval):
            try:
                mtime = self._mtime()
                forced = mtime != self._trigger_mtime
                self._trigger_mtime = mtime
                self.check(force=forced)
            except Exception:  # noqa: BLE001 - the watcher must survive anything
                log.exception("index watcher check failed")

    def start(self, interval: float) -> None:
        """Start polling ``CURRENT`` every ``interval`` seconds (0 = never)."""
        if interval > 0 and self._thread is None:
            self._thread = threading.Thread(target=self._watch, args=(interval,), name="index-watcher", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop the watcher thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
