"""The served index build and the watcher that hot-swaps newly published builds.

Loading happens on the watcher thread (or an admin request), never on the suggest
path: the new :class:`Retriever` is loaded and warmed up completely, then swapped in
with a single reference assignment. Requests in flight keep the build they started
with. A build that fails to load is refused; the old one keeps serving, the error is
logged and shown in ``/readyz``, and the same version is not retried until it is
published again or a reload is forced.

A server that starts while ``CURRENT`` names a damaged build has nothing old to keep
serving, so it falls back to the newest other build that loads (or answers 503 if
none does): one broken publish must not take the service down. ``/readyz`` then says
``degraded`` and names both versions. ``/readyz`` is open to anyone, so a refusal shows
only a stable reason code (:data:`REASONS`); the full error, with paths, goes to the log.

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
from indexer.errors import IndexLoadError, KBError
from indexer.fusion import FusionParams
from indexer.search import Retriever
from indexer.versions import builds_dir, current_version, list_builds
from service.db import utcnow

log = logging.getLogger(__name__)

Outcome = Literal["unchanged", "loaded", "refused", "missing"]
TRIGGER = "reload-request"
_LOAD_ERRORS = (KBError, OSError, ValueError, RuntimeError)

REASONS = {
    "files_missing": "a file of the build is missing",
    "unreadable": "a file of the build cannot be read (permissions, I/O)",
    "corrupt": "a file of the build is damaged",
    "mismatch": "the build was made with another model, or its files disagree with its manifest",
    "warmup_failed": "the build loaded but a search on it failed",
    "load_failed": "the build did not load for another reason",
}


def refusal_reason(exc: BaseException, *, warming_up: bool = False) -> str:
    """The :data:`REASONS` code of a load failure: what ``/readyz`` may show of it."""
    if warming_up:
        return "warmup_failed"
    chain: list[BaseException] = []
    cause: BaseException | None = exc
    while cause is not None and len(chain) < 10:
        chain.append(cause)
        cause = cause.__cause__
    if any(isinstance(e, FileNotFoundError) for e in chain):
        return "files_missing"
    if any(isinstance(e, OSError) for e in chain):
        return "unreadable"
    if any(isinstance(e, ValueError | KeyError | TypeError | RuntimeError) for e in chain):
        return "corrupt"
    return "mismatch" if isinstance(exc, IndexLoadError) else "load_failed"


class _LoadFailed(Exception):
    """A build did not load or warm up; ``reason`` is its :data:`REASONS` code."""

    def __init__(self, reason: str, error: BaseException) -> None:
        super().__init__(str(error))
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Refusal:
    """A published build that did not load: ``reason`` is public, ``error`` is for logs and admins."""

    version: str
    reason: str
    error: str
    at: datetime


class IndexHolder:
    """Holds the serving Retriever and swaps in new builds."""

    def __init__(
        self,
        root: Path,
        embedder: Embedder,
        fusion: FusionParams,
        *,
        trigger: Path,
        on_swap: Callable[[Retriever], None] | None = None,
    ) -> None:
        self.root = root
        self.embedder = embedder
        self.fusion = fusion
        self.trigger = trigger
        self.retriever: Retriever | None = None
        self.loaded_at: datetime | None = None
        self.refused: Refusal | None = None
        self.fallback = False
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
                self.fallback = False
                return "unchanged", None
            if not force and self.refused and self.refused.version == version:
                return "unchanged", None
            try:
                retriever = self._load(version)
            except _LoadFailed as exc:
                self.refused = Refusal(version, exc.reason, str(exc), utcnow())
                log.error("refused index build %s (still serving %s): %s", version, self.version, exc)
                if self.retriever is None:
                    self._fall_back(version)
                return "refused", str(exc)
            previous = self.version
            self._swap(retriever)
            self.refused = None
            self.fallback = False
            log.warning("serving index build %s (was %s)", version, previous)
            return "loaded", None

    def _load(self, version: str) -> Retriever:
        """Load and warm up one build.

        Raises:
            _LoadFailed: with the reason code and the original error.
        """
        try:
            retriever = Retriever.load(builds_dir(self.root) / version, self.embedder, fusion=self.fusion)
        except _LOAD_ERRORS as exc:
            raise _LoadFailed(refusal_reason(exc), exc) from exc
        try:
            retriever.search("warm up", k=1)
        except _LOAD_ERRORS as exc:
            raise _LoadFailed(refusal_reason(exc, warming_up=True), exc) from exc
        return retriever

    def _swap(self, retriever: Retriever) -> None:
        if self._on_swap is not None:  # before the swap, so whoever sees the new build sees its metrics
            self._on_swap(retriever)
        self.retriever = retriever
        self.loaded_at = utcnow()

    def _fall_back(self, refused: str) -> None:
        """Nothing serves and the published build is refused: serve the newest other build that loads."""
        for version in reversed(list_builds(self.root)):
            if version == refused:
                continue
            try:
                retriever = self._load(version)
            except _LoadFailed as exc:
                log.error("fallback build %s does not load either: %s", version, exc)
                continue
            self._swap(retriever)
            self.fallback = True
            log.critical(
                "DEGRADED: published build %s does not load; serving build %s, the newest that does, until a "
                "good build is published (`kbassist index`, or `kbassist index --rollback`)",
                refused,
                version,
            )
            return
        log.critical("no build under %s loads: not serving", builds_dir(self.root))

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
