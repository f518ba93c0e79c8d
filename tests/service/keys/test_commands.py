"""`kbassist keys` through CliRunner, on SQLite and PostgreSQL."""

import pytest
from sqlmodel import Session

from service.config import ServiceSettings
from service.db import make_engine
from service.keys import crud
from service.usage import crud as usage_crud
from tests.service.conftest import run


@pytest.fixture
def cli_settings(db_url, tmp_path):
    return ServiceSettings(data_dir=tmp_path / "data", database_url=db_url)


def test_keys_create_prints_the_key_last_and_stores_only_its_hash(cli_settings):
    result = run(cli_settings, "keys", "create", "--role", "agent", "--agent-id", "a-1", "--name", "Li Wei")
    assert result.exit_code == 0, result.output
    key = result.output.strip().splitlines()[-1]
    assert key.startswith("kb_") and len(key) > 40
    engine = make_engine(cli_settings.database_url)
    try:
        with Session(engine) as session:
            row = crud.get_api_key_by_hash(session=session, key_hash=crud.hash_key(key))
            assert row is not None and row.role == "agent" and row.agent_id == "a-1"
            assert key not in {row.key_hash, row.prefix, row.name}
    finally:
        engine.dispose()


def test_keys_list_and_revoke(cli_settings):
    run(cli_settings, "keys", "create", "--role", "integration")
    listed = run(cli_settings, "keys", "list")
    assert listed.exit_code == 0 and "integration" in listed.output
    key_id = listed.output.splitlines()[-1].split("\t")[0]
    assert run(cli_settings, "keys", "revoke", key_id).exit_code == 0
    assert "integration" not in run(cli_settings, "keys", "list").output
    assert "integration" in run(cli_settings, "keys", "list", "--all").output
    missing = run(cli_settings, "keys", "revoke", "99999")
    assert missing.exit_code == 1 and "no key with id 99999" in missing.output


def test_agent_key_needs_an_agent_id_and_roles_are_checked(cli_settings):
    assert run(cli_settings, "keys", "create", "--role", "agent").exit_code == 2
    assert run(cli_settings, "keys", "create", "--role", "root").exit_code == 2


@pytest.mark.parametrize(
    ("option", "value"), [("--agent-id", "a" * 65), ("--name", "n" * 201), ("--agent-id", "a\x00")]
)
def test_keys_create_refuses_what_the_columns_cannot_hold(cli_settings, option, value):
    result = run(cli_settings, "keys", "create", "--role", "integration", option, value)
    assert result.exit_code == 2
    assert option.removeprefix("--").replace("-", " ") in result.output


@pytest.mark.parametrize("agent_id", ["wang.wu@example.net", "a 1", "18655556666", "a-139.2222.3333"])
def test_keys_create_refuses_an_agent_id_that_is_not_an_opaque_identifier(cli_settings, agent_id):
    result = run(cli_settings, "keys", "create", "--role", "agent", "--agent-id", agent_id)
    assert result.exit_code == 2
    assert "agent-id" in result.output or "agent id" in result.output


def test_keys_create_stores_the_name_masked(cli_settings):
    result = run(cli_settings, "keys", "create", "--role", "integration", "--name", "王五 18655556666 wang@example.net")
    assert result.exit_code == 0, result.output
    listed = run(cli_settings, "keys", "list").output
    assert "王五 [PHONE] [EMAIL]" in listed and "18655556666" not in listed


def test_keys_create_records_an_unknown_agent_without_a_team_and_keeps_a_known_ones_team(cli_settings):
    assert run(cli_settings, "keys", "create", "--role", "agent", "--agent-id", "new.agent").exit_code == 0
    assert "new.agent\t-\t-\tyes" in run(cli_settings, "agents", "list").output.splitlines()
    engine = make_engine(cli_settings.database_url)
    try:
        with Session(engine) as session:
            usage_crud.upsert_agent(session=session, agent_id="new.agent", display_name="N", team="t1", active=True)
    finally:
        engine.dispose()
    assert run(cli_settings, "keys", "create", "--role", "agent", "--agent-id", "new.agent").exit_code == 0
    assert "new.agent\tN\tt1\tyes" in run(cli_settings, "agents", "list").output.splitlines()
