"""Per-key rate limits: 429 in the one error shape with Retry-After, counted per key, shared through Redis."""

import uuid

import pytest
import redis
from fastapi.testclient import TestClient

from service.errors import RateLimited
from service.main import create_app
from service.ratelimit import KeyRateLimiter
from tests.conftest import FakeEmbedder
from tests.service.conftest import assert_error, create_key, make_settings, suggest

REDIS_URL = "redis://127.0.0.1:6379"


@pytest.fixture(scope="module")
def limited(db_url, shared_index, tmp_path_factory):
    settings = make_settings(tmp_path_factory.mktemp("data"), db_url, shared_index).model_copy(
        update={"rate_limit": "3/minute"}
    )
    with TestClient(create_app(settings, embedder=FakeEmbedder())) as client:
        yield client


def test_a_key_over_its_rate_gets_429_with_retry_after(limited):
    key = create_key(limited.app, "agent", "rl-1")
    assert [suggest(limited, key).status_code for _ in range(3)] == [200, 200, 200]
    response = suggest(limited, key)
    error = assert_error(response, 429, "rate_limited")
    assert 1 <= int(response.headers["Retry-After"]) <= 60 and error["details"]["retry_after"] > 0


def test_each_key_has_its_own_count(limited):
    first, second = create_key(limited.app, "agent", "rl-2"), create_key(limited.app, "agent", "rl-3")
    for _ in range(3):
        suggest(limited, first)
    assert suggest(limited, first).status_code == 429
    assert suggest(limited, second).status_code == 200


def test_a_bad_rate_fails_at_start_up(db_url, shared_index, tmp_path):
    settings = make_settings(tmp_path, db_url, shared_index).model_copy(update={"rate_limit": "lots"})
    with pytest.raises(ValueError):
        create_app(settings, embedder=FakeEmbedder())


def _redis_or_skip():
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.ConnectionError as exc:
        pytest.skip(f"no Redis at {REDIS_URL}: {exc}")


def test_a_redis_storage_shares_one_count_between_processes():
    _redis_or_skip()
    # Two limiters stand for two workers or replicas; the key id is fresh so earlier runs do not count.
    workers = [KeyRateLimiter("2/minute", REDIS_URL) for _ in range(2)]
    key_id = uuid.uuid4().int % 10**9
    workers[0].hit(key_id)
    workers[1].hit(key_id)
    with pytest.raises(RateLimited, match="retry in"):
        workers[0].hit(key_id)
