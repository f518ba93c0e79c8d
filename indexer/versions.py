"""Index directory layout, atomic publishing, the publish history, rollback and the build lock.

Layout of the index root (everything ``0700``/``0600``, see :mod:`indexer.private`)::

    builds/<version>/     one complete build each (manifest.json written last)
    builds/.tmp-<...>/    a build in progress; removed when the next build starts
    CURRENT               name of the published build, replaced atomically
    HISTORY               one JSON line per publish and rollback, oldest first
    parsed.jsonl          the content files' parses, for the next build (:mod:`indexer.parsecache`)
    .lock                 held (flock) by the running ``kbassist index``

Publishing writes ``CURRENT.tmp`` and renames it over ``CURRENT``: readers see the old
or the new version, never a mix. A killed build leaves only a ``.tmp-`` folder.

Rollback returns to the build that was serving before the current one was published.
Replaying ``HISTORY`` gives a stack: a publish pushes its version, a rollback pops back
to its target. Publish A, publish B, rollback (A), publish C, rollback: A again, never
B, which had been rolled back. Version names sort by build time, but that order says
nothing about what served when, so it is used only for an index root that has no
history yet (built before the history existed).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import logging
import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from indexer.errors import BuildError, BuildLocked, IndexNotFound
from indexer.manifest import MANIFEST
from indexer.private import FILE_MODE, make_private_dir, write_private

log = logging.getLogger(__name__)

CURRENT = "CURRENT"
HISTORY = "HISTORY"
BUILDS = "builds"
TMP_PREFIX = ".tmp-"

Action = Literal["publish", "rollback"]


def builds_dir(root: Path) -> Path:
    """Folder holding every build."""
    return root / BUILDS


def current_version(root: Path) -> str | None:
    """Name of the published build, or None."""
    try:
        name = (root / CURRENT).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return name or None


def current_build(root: Path) -> Path:
    """Directory of the published build.

    Raises:
        IndexNotFound: nothing has been published under ``root``.
    """
    version = current_version(root)
    if version is None:
        raise IndexNotFound(f"no index published in {root}: run `kbassist index` first")
    path = builds_dir(root) / version
    if not (path / MANIFEST).is_file():
        raise IndexNotFound(f"published build {version} is missing from {builds_dir(root)}")
    return path


def list_builds(root: Path) -> list[str]:
    """Complete builds, oldest first (version names sort by build time)."""
    folder = builds_dir(root)
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith(".") and (p / MANIFEST).is_file())


def publish(root: Path, version: str, *, action: Action = "publish") -> None:
    """Make ``version`` the current build, atomically, and record it in ``HISTORY``."""
    make_private_dir(root)
    previous = current_version(root)
    if not (root / HISTORY).exists() and previous is not None and previous != version:
        _record(root, "publish", previous)  # what served before the history existed
    write_private(root / CURRENT, version + "\n")
    _record(root, action, version)


def _record(root: Path, action: Action, version: str) -> None:
    """Append one entry to ``HISTORY`` (rewritten atomically; it grows by one short line a publish)."""
    path = root / HISTORY
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = ""
    at = datetime.now(UTC).isoformat(timespec="seconds")
    write_private(path, text + json.dumps({"at": at, "action": action, "version": version}) + "\n")


def history(root: Path) -> list[tuple[Action, str]]:
    """``(action, version)`` of every publish and rollback, oldest first; unreadable lines are skipped."""
    try:
        lines = (root / HISTORY).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    entries: list[tuple[Action, str]] = []
    for line in lines:
        try:
            entry = json.loads(line)
            action, version = entry["action"], entry["version"]
        except (ValueError, TypeError, KeyError):
            log.warning("skipping a damaged line of %s: %.80r", root / HISTORY, line)
            continue
        if action in ("publish", "rollback") and isinstance(version, str):
            entries.append((action, version))
    return entries


def serving_stack(root: Path) -> list[str]:
    """The builds that served, each published while the one below it was serving; the top is current."""
    stack: list[str] = []
    for action, version in history(root):
        if action == "publish":
            if not stack or stack[-1] != version:
                stack.append(version)
            continue
        while stack and stack[-1] != version:
            stack.pop()
        stack = stack or [version]
    current = current_version(root)
    if current is not None and (not stack or stack[-1] != current):
        stack.append(current)  # CURRENT was changed by hand: it is what serves now
    return stack


def rollback_target(root: Path) -> str | None:
    """The complete build that served before the current one was published, or None.

    Builds deleted since (pruned by hand) are skipped: the one that served before them is used.
    """
    current = current_version(root)
    complete = set(list_builds(root))
    if not (root / HISTORY).exists():
        older = [v for v in sorted(complete) if current is None or v < current]
        return older[-1] if older else None
    for version in reversed(serving_stack(root)[:-1]):
        if version != current and version in complete:
            return version
        log.warning("build %s served earlier but is gone or incomplete; looking further back", version)
    return None


def rollback(root: Path) -> str:
    """Re-publish the build that served before the current one and return its version.

    Raises:
        BuildError: nothing served before the current build, or those builds are gone.
    """
    with build_lock(root):
        version = rollback_target(root)
        if version is None:
            raise BuildError(f"no earlier build to roll back to in {builds_dir(root)}")
        publish(root, version, action="rollback")
        return version


def prune(root: Path, keep: int) -> list[str]:
    """Delete the oldest builds beyond ``keep``; the current build and its rollback target are always kept."""
    kept = {current_version(root), rollback_target(root)}
    builds = list_builds(root)
    doomed = [v for v in builds[: max(0, len(builds) - keep)] if v not in kept]
    for version in doomed:
        shutil.rmtree(builds_dir(root) / version, ignore_errors=True)
    return doomed


def clean_stale_tmp(root: Path) -> None:
    """Remove leftovers of builds that were killed (call only while holding the lock)."""
    folder = builds_dir(root)
    if folder.is_dir():
        for p in folder.iterdir():
            if p.name.startswith(TMP_PREFIX):
                shutil.rmtree(p, ignore_errors=True)


@contextlib.contextmanager
def build_lock(root: Path) -> Iterator[None]:
    """Hold the exclusive build lock of ``root`` (non-blocking).

    Raises:
        BuildLocked: another process holds it; the message names its pid.
    """
    make_private_dir(builds_dir(root))
    path = root / ".lock"
    fh = os.fdopen(os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE), "a+", encoding="utf-8")
    try:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            fh.seek(0)
            holder = fh.read().strip() or "unknown"
            raise BuildLocked(
                f"another `kbassist index` (pid {holder}) is building {root}; wait for it to finish"
            ) from exc
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        yield
    finally:
        fh.close()
