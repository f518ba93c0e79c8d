"""The README documents every setting (a setting nobody can find does not exist)."""

from pathlib import Path

from indexer.config import Settings
from service.config import ServiceSettings

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_documented_in_readme():
    # ServiceSettings extends the indexer's Settings: its fields are every setting there is.
    assert set(Settings.model_fields) < set(ServiceSettings.model_fields)
    missing = [f"KB_{name.upper()}" for name in ServiceSettings.model_fields if f"KB_{name.upper()}" not in README]
    assert missing == []
