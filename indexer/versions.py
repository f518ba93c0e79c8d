"""Index directory layout, atomic publishing, rollback and the build lock.

Layout of the index root::

    builds/<version>/     one complete build each (manifest.json written last)
    builds/.tmp-<...>/    a build in progress; removed when the next build starts
    CURRENT               name of the published build, replaced atomically
    .lock                 held (flock) by the running ``kbassist index``

Publishing writes ``CURRENT.tmp`` and renames it over ``CURRENT``: readers see the old
or the new version, never a mix. A killed build leaves only a ``.tmp-`` folder.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from indexer.errors import BuildLocked, IndexNotFound
from indexer.manifest import MANIFEST

CURRENT = "CURRENT"
BUILDS = "builds"
TMP_PREFIX = ".tmp-"


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


def publish(root: Path, version: str) -> None:
    """Make ``version`` the current build, atomically."""
    tmp = root / f"{CURRENT}.tmp"
    with tmp.open("w", encoding="utf-8") as fh:
        fh.write(version + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, root / CURRENT)
    with contextlib.suppress(OSError):
        dir_fd = os.open(root, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def previous_version(root: Path) -> str | None:
    """The newest complete build older than the current one, or None."""
    current = current_version(root)
    older = [v for v in list_builds(root) if current is None or v < current]
    return older[-1] if older else None


def prune(root: Path, keep: int) -> list[str]:
    """Delete the oldest builds beyond ``keep``; the current build is always kept."""
    current = current_version(root)
    builds = list_builds(root)
    doomed = [v for v in builds[: max(0, len(builds) - keep)] if v != current]
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
    root.mkdir(parents=True, exist_ok=True)
    path = root / ".lock"
    fh = path.open("a+", encoding="utf-8")
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
