"""The deployment files: the wheel, the Dockerfile, docker-compose.yml and deploy/nginx.conf.

There is no Docker engine here, so the compose file is checked against the Compose Specification's
JSON schema and for its structure, the Dockerfile with hadolint and for installing through
scripts/install.sh (the steps a fresh virtualenv was tested with), and the nginx configuration with
``nginx -t``. nginx and hadolint come from scripts/setup.sh; without them those two tests skip with
the reason, except under ``CI=true``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from service.config import ServiceSettings

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
NGINX_CONF = ROOT / "deploy" / "nginx.conf"
DOCKERFILE = ROOT / "Dockerfile"
REPLICAS = ("kbassist-1", "kbassist-2")


def tool_or_skip(name: str, fallback: Path | None = None) -> str:
    """Path of the ``name`` executable; skip (fail under CI=true) when it is not installed."""
    found = shutil.which(name) or (str(fallback) if fallback and fallback.exists() else None)
    if found is None:
        reason = f"{name} is not installed (bash scripts/setup.sh installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true requires {name}: {reason}")
        pytest.skip(reason)
    return found


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return data


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    return {k: str(v) for k, v in env.items()}


def test_compose_file_matches_the_compose_specification() -> None:
    """The Compose Specification's JSON schema (vendored by check-jsonschema): keys, types, depends_on forms."""
    pytest.importorskip("check_jsonschema", reason="check-jsonschema missing: pip install -e '.[dev]'")
    result = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec", str(COMPOSE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_has_postgres_a_migration_an_indexer_two_replicas_and_a_balancer(compose) -> None:
    assert set(compose["services"]) == {"postgres", "migrate", "indexer", *REPLICAS, "nginx"}
    assert set(compose["volumes"]) == {"kbdata", "pgdata"}
    assert compose["services"]["migrate"]["command"] == ["kbassist", "db", "upgrade"]
    assert compose["services"]["indexer"]["command"] == ["kbassist", "index"]
    for name in ("migrate", "indexer"):  # one-shots
        assert compose["services"][name]["restart"] == "no"


def test_replicas_share_the_data_volume_and_never_migrate(compose) -> None:
    services = compose["services"]
    for name in REPLICAS:
        replica = services[name]
        assert replica["command"] == ["kbassist", "serve"]
        assert "kbdata:/data" in replica["volumes"]
        env = environment(replica)
        assert env["KB_DB_UPGRADE_ON_START"] == "false"
        assert env["KB_DATABASE_URL"].startswith("postgresql://") and "@postgres:5432/" in env["KB_DATABASE_URL"]
        assert replica["depends_on"] == {
            "migrate": {"condition": "service_completed_successfully"},
            "indexer": {"condition": "service_completed_successfully"},
        }
    assert "kbdata:/data" in services["indexer"]["volumes"]
    assert services["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert environment(services["migrate"])["KB_DATABASE_URL"] == environment(services[REPLICAS[0]])["KB_DATABASE_URL"]


def test_every_kb_setting_in_compose_exists(compose) -> None:
    fields = {f"KB_{name.upper()}" for name in ServiceSettings.model_fields}
    used = {k for service in compose["services"].values() for k in environment(service) if k.startswith("KB_")}
    assert used and used <= fields, used - fields


def test_long_running_services_have_healthchecks_and_start_in_order(compose) -> None:
    services = compose["services"]
    for name in ("postgres", *REPLICAS, "nginx"):
        check = services[name]["healthcheck"]
        assert check["test"][0] in ("CMD", "CMD-SHELL") and check["interval"], name
    assert "/readyz" in " ".join(services[REPLICAS[0]]["healthcheck"]["test"])
    assert services["nginx"]["depends_on"] == {name: {"condition": "service_healthy"} for name in REPLICAS}
    assert "./deploy/nginx.conf:/etc/nginx/nginx.conf:ro" in services["nginx"]["volumes"]


def test_nginx_balances_over_the_compose_replicas() -> None:
    text = NGINX_CONF.read_text(encoding="utf-8")
    upstreams = re.findall(r"^\s*server\s+([\w.-]+):(\d+)", text, re.M)
    assert upstreams == [(name, str(ServiceSettings.model_fields["port"].default)) for name in REPLICAS]
    assert "proxy_pass http://kbassist;" in text


def test_nginx_config_is_valid(tmp_path: Path) -> None:
    nginx = tool_or_skip("nginx", Path("/usr/sbin/nginx"))
    # Compose's service names resolve only inside its network; nginx resolves upstreams when it loads.
    conf = tmp_path / "nginx.conf"
    conf.write_text(re.sub(r"kbassist-\d:", "127.0.0.1:", NGINX_CONF.read_text(encoding="utf-8")), encoding="utf-8")
    result = subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-c", str(conf), "-e", "stderr", "-g", f"pid {tmp_path / 'nginx.pid'};"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def test_dockerfile_passes_hadolint() -> None:
    hadolint = tool_or_skip("hadolint", Path(sys.executable).parent / "hadolint")
    result = subprocess.run([hadolint, "--no-color", str(DOCKERFILE)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_and_setup_install_through_the_tested_script() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8").replace("\\\n", " ")
    installs = [line for line in text.splitlines() if line.startswith("RUN ") and "install" in line]
    assert len(installs) == 2 and all("bash scripts/install.sh" in run for run in installs), installs
    assert "pip install" not in text
    setup = (ROOT / "scripts" / "setup.sh").read_text(encoding="utf-8")
    assert "scripts/install.sh" in setup and "pip install -q -e" not in setup


def test_the_wheel_holds_every_subpackage_and_data_file(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "out", "out2")
    for package in ("indexer", "service", "eval"):
        shutil.copytree(ROOT / package, source / package, ignore=ignore)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(tmp_path), "."],
        cwd=source,
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("kbassist-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {
        str(path.relative_to(source))
        for package in ("indexer", "service", "eval")
        for path in (source / package).rglob("*")
        if path.is_file() and path.suffix != ".md" and path.name != "results.sh"
    }
    assert expected - names == set()
    for required in (
        "service/migrations/env.py",
        "service/migrations/versions/0001_keys_and_suggestions.py",
        "service/static/sidebar.js",
        "service/credits/rules.yaml",
        "indexer/answer_models.json",
    ):
        assert required in names
