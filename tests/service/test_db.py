"""The engine factory on both databases: a failed statement's error never carries its parameters."""

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from service.db import make_engine, upgrade

SECRET = "13911112222"


def test_errors_do_not_show_bound_parameters(db_url):
    engine = make_engine(db_url)
    try:
        upgrade(engine)
        insert = text("INSERT INTO api_keys (prefix, key_hash, role, name, created_at) VALUES (:p, :h, :r, :n, :c)")
        values = {"p": "kb_x", "h": "h" * 64, "r": "admin", "n": SECRET, "c": "2026-12-01T00:00:00+00:00"}
        with engine.begin() as connection:
            connection.execute(insert, values)
        with pytest.raises(IntegrityError) as caught, engine.begin() as connection:
            connection.execute(insert, values)
        assert "hide_parameters" in str(caught.value) and SECRET not in str(caught.value)
    finally:
        engine.dispose()
