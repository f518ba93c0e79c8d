"""The soak's argument parsing and end-of-run checks (the soak itself is a benchmark, not a test)."""

import importlib.util
import math
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

from soak.checks import Kill, classify, per_minute, percentile  # noqa: E402
from soak.traffic import Call, Router  # noqa: E402


def script():
    spec = importlib.util.spec_from_file_location("soak_script", BENCH / "soak.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_soak_is_bounded_by_default_and_by_duration():
    soak = script()
    assert soak.parse_args([]).duration == 600
    args = soak.parse_args(["--duration", "180", "--kill-at", "0.5"])
    assert (args.duration, args.kill_at, args.reindex_every) == (180, 0.5, 60)


@pytest.mark.parametrize("argv", [["--duration", "0"], ["--kill-at", "1.5"], ["--clients", "0"]])
def test_impossible_options_are_usage_errors(argv, capsys):
    with pytest.raises(SystemExit) as caught:
        script().parse_args(argv)
    assert caught.value.code == 2
    assert "--kill-at" in capsys.readouterr().err


KILL = Kill("B", at=60.0, ready_at=90.0)


def call(replica, status, at=70.0, ms=5.0, code=None, suggestion=None, op="event"):
    return Call(at, replica, op, status, ms, code, suggestion)


def test_only_failed_connections_to_the_killed_replica_while_down_are_lost():
    calls = [
        call("A", 200),
        call("B", None),  # refused while B was down
        call("B", None, at=59.9, ms=200.0),  # in flight when B was killed
        call("B", None, at=95.0),  # after B was ready again: an error
        call("B", None, at=70.0, code="timeout"),  # no answer in time is an error even while B was down
        call("A", None),  # the survivor: an error
        call("A", 500, code="internal_error"),
        call("A", 404, code="not_found", suggestion="s-answered-by-b"),  # B answered it before the kill
    ]
    tallies = classify(calls, KILL)
    assert (tallies["A"].ok, tallies["A"].lost) == (1, 0)
    assert [(c.status, c.suggestion_id) for c in tallies["A"].errors] == [
        (None, None),
        (500, None),
        (404, "s-answered-by-b"),
    ]
    assert (tallies["B"].lost, [(c.at, c.code) for c in tallies["B"].errors]) == (2, [(95.0, None), (70.0, "timeout")])
    assert [c.status for c in classify(calls[:2], None)["B"].errors] == [None]


def test_latency_per_minute_uses_answered_calls_of_the_asked_operations():
    calls = [call("A", 200, at=1, ms=m, op="suggest") for m in (1.0, 2.0, 3.0, 4.0)]
    calls += [call("A", 200, at=61, ms=10.0, op="suggest"), call("A", 500, at=61, ms=99.0, op="suggest")]
    calls += [call("A", 200, at=2, ms=50.0, op="outcome")]
    assert per_minute(calls, {"suggest"}) == [(0, 4, 2.0, 4.0), (1, 1, 10.0, 10.0)]
    assert math.isnan(percentile([], 50))


def test_the_router_avoids_a_replica_whose_connection_failed():
    router = Router({"A": "http://a", "B": "http://b"})
    assert {router.pick(), router.pick()} == {"A", "B"}
    assert router.pick(avoid="A") == "B"
    router.failed("B")
    assert {router.pick() for _ in range(4)} == {"A"}
    assert router.pick(avoid="A") == "A"
