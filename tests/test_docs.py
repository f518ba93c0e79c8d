"""The README documents every setting (a setting nobody can find does not exist)."""

from pathlib import Path

from indexer.config import Settings

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_documented_in_readme():
    missing = [f"KB_{name.upper()}" for name in Settings.model_fields if f"KB_{name.upper()}" not in README]
    assert missing == []
