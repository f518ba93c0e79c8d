"""Every setting is documented (a setting nobody can find does not exist), and the README stays short."""

from pathlib import Path

from indexer.config import Settings
from service.config import ServiceSettings
from service.errors import ERROR_CODES
from service.index import REASONS

ROOT = Path(__file__).resolve().parent.parent
CONFIGURATION = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")


def test_every_setting_is_documented_in_configuration():
    # ServiceSettings extends the indexer's Settings: its fields are every setting there is.
    assert set(Settings.model_fields) < set(ServiceSettings.model_fields)
    missing = [
        f"KB_{name.upper()}" for name in ServiceSettings.model_fields if f"KB_{name.upper()}" not in CONFIGURATION
    ]
    assert missing == []


def test_readme_links_resolve_and_it_stays_short():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme) <= 8000
    for target in ("docs/api.md", "docs/architecture.md", "docs/configuration.md", "bench/README.md"):
        assert target in readme
        assert (ROOT / target).is_file(), target


def test_every_error_code_and_readiness_reason_is_documented():
    api = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    operations = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    assert [code for code in ERROR_CODES if f"| `{code}` | {ERROR_CODES[code][:3]} |" not in api] == []
    assert [reason for reason in REASONS if f"`{reason}`" not in operations] == []
