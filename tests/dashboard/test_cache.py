"""SharedResults: concurrent misses on one key compute once; an entry older than the TTL is computed again."""

import threading
import time

from service.dashboard.cache import SharedResults


def test_concurrent_requests_for_one_key_compute_once():
    shared: SharedResults[int] = SharedResults(ttl=60)
    calls = []

    def compute() -> int:
        calls.append(1)
        time.sleep(0.2)
        return 42

    results = []
    threads = [threading.Thread(target=lambda: results.append(shared.get("k", compute))) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [42] * 5 and len(calls) == 1
    assert shared.get("other", lambda: 7) == 7


def test_an_expired_entry_is_computed_again_and_the_oldest_key_leaves_first():
    shared: SharedResults[int] = SharedResults(ttl=0.05, size=2)
    assert shared.get("k", lambda: 1) == 1
    assert shared.get("k", lambda: 2) == 1
    time.sleep(0.06)
    assert shared.get("k", lambda: 3) == 3
    shared.get("a", lambda: 0)
    shared.get("b", lambda: 0)
    assert shared.get("k", lambda: 4) == 4  # evicted by a and b
