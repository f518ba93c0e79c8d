"""Service fixtures: a database per test (SQLite and PostgreSQL), a fake-embedder index, app and client."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner, Result
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from indexer.build import BuildOptions, build_index
from indexer.config import Settings
from service.cli import main
from service.config import ServiceSettings
from service.db import make_engine, upgrade
from service.keys import crud
from service.main import create_app
from tests.conftest import KB_MINI, FakeEmbedder

PG_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=test connect_timeout=3"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _postgres_or_skip() -> None:
    try:
        psycopg.connect(PG_DSN).close()
    except psycopg.OperationalError as exc:
        reason = f"PostgreSQL not reachable at 127.0.0.1:5432 (user postgres, db test): {exc}".strip()
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true requires PostgreSQL: {reason}")
        pytest.skip(reason)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh database per test module: a SQLite file, or a PostgreSQL schema of its own (dropped afterwards)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'kbassist.db'}"
        return
    _postgres_or_skip()
    schema = f"kbtest_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on the test database with every migration applied."""
    engine = make_engine(db_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def shared_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """kb_mini indexed once with the FakeEmbedder; treat it as read-only."""
    root = tmp_path_factory.mktemp("shared") / "index"
    build_index(KB_MINI, root, FakeEmbedder(), BuildOptions(chunk_size=120))
    return root


def make_settings(data_dir: Path, db_url: str, index_dir: Path) -> ServiceSettings:
    """Settings for a test service: fast reload polling, no key cache."""
    return ServiceSettings(
        content_dir=KB_MINI,
        data_dir=data_dir,
        index_dir=index_dir,
        database_url=db_url,
        reload_interval=0.05,
        key_cache_seconds=0.0,
    )


@pytest.fixture(scope="module")
def app(db_url: str, shared_index: Path, tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    return create_app(make_settings(tmp_path_factory.mktemp("data"), db_url, shared_index), embedder=FakeEmbedder())


@pytest.fixture(scope="module")
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


def create_key(app: FastAPI, role: str, agent_id: str | None = None) -> str:
    """Create an API key in the app's database and return the plain key."""
    with Session(app.state.engine) as session:
        _, key = crud.create_api_key(session=session, role=role, agent_id=agent_id)
    return key


@pytest.fixture(scope="module")
def make_key(client: TestClient) -> Callable[..., str]:
    return lambda role, agent_id=None: create_key(client.app, role, agent_id)  # type: ignore[arg-type]


SUGGEST = "/v1/suggest"


def suggest(client: TestClient, key: str, headers: dict[str, str] | None = None, **body):
    """POST /v1/suggest with ``key``; the query defaults to a refund question."""
    body.setdefault("query", "退款多久到账")
    return client.post(SUGGEST, json=body, headers={"X-API-Key": key, **(headers or {})})


def assert_error(response, status: int, code: str) -> dict:
    """Assert the canonical error shape and return its ``error`` object."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body["error"]


def run(settings: Settings, *args: str) -> Result:
    """``kbassist ARGS`` through CliRunner with ``settings`` on the root context."""
    return CliRunner().invoke(main, list(args), obj=settings)


@contextlib.contextmanager
def session_of(settings: ServiceSettings) -> Iterator[Session]:
    """A session on the settings' database (its engine disposed afterwards)."""
    engine = make_engine(settings.database_url)
    try:
        with Session(engine) as session:
            yield session
    finally:
        engine.dispose()
