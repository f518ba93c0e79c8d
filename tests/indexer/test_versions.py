"""Publishing, the publish history and rollback along it."""

import json
import stat

import pytest

from indexer.errors import BuildError
from indexer.versions import (
    HISTORY,
    builds_dir,
    current_version,
    history,
    prune,
    publish,
    rollback,
    rollback_target,
)


@pytest.fixture
def root(tmp_path):
    """An index root holding five complete (empty) builds named A–E, none published."""
    root = tmp_path / "index"
    for name in "ABCDE":
        folder = builds_dir(root) / name
        folder.mkdir(parents=True)
        (folder / "manifest.json").write_text("{}")
    return root


def test_publish_publish_rollback_publish_rollback_returns_to_what_served(root):
    # The reported bug: going by name order, the second rollback re-published B, rolled back before.
    publish(root, "A")
    publish(root, "B")
    assert rollback(root) == "A"
    publish(root, "C")
    assert rollback_target(root) == "A"
    assert rollback(root) == "A" and current_version(root) == "A"


def test_repeated_rollbacks_walk_back_and_then_stop(root):
    for name in "ABC":
        publish(root, name)
    assert rollback(root) == "B"
    assert rollback(root) == "A"
    with pytest.raises(BuildError, match="no earlier build to roll back to"):
        rollback(root)
    assert current_version(root) == "A"


def test_history_records_every_publish_and_rollback(root):
    publish(root, "A")
    publish(root, "B")
    rollback(root)
    assert history(root) == [("publish", "A"), ("publish", "B"), ("rollback", "A")]
    lines = [json.loads(line) for line in (root / HISTORY).read_text().splitlines()]
    assert all(set(line) == {"at", "action", "version"} for line in lines)
    assert not (root / f"{HISTORY}.tmp").exists()


def test_a_build_that_is_gone_is_skipped(root):
    for name in "ABC":
        publish(root, name)
    (builds_dir(root) / "B" / "manifest.json").unlink()
    assert rollback(root) == "A"


def test_a_root_without_history_seeds_it_with_what_serves(root):
    (root / "CURRENT").write_text("C\n")  # published by a kbassist that kept no history
    publish(root, "E")
    assert history(root) == [("publish", "C"), ("publish", "E")]
    assert rollback(root) == "C"


def test_a_root_without_history_rolls_back_by_name(root):
    (root / "CURRENT").write_text("C\n")
    assert rollback(root) == "B"


def test_damaged_history_lines_are_skipped(root):
    publish(root, "A")
    publish(root, "B")
    with (root / HISTORY).open("a") as fh:
        fh.write("not json\n")
    assert rollback(root) == "A"


def test_prune_keeps_the_rollback_target(root):
    publish(root, "A")
    publish(root, "E")
    assert prune(root, keep=1) == ["B", "C", "D"]
    assert rollback(root) == "A"


def test_pointers_and_history_are_private(root, open_umask):
    publish(root, "A")
    publish(root, "B")
    for name in ("CURRENT", HISTORY):
        assert stat.S_IMODE((root / name).stat().st_mode) == 0o600
