"""Report tables shared by the requests of one page load: computed once per key, kept for a minute.

A page asks for eleven things at once, and several ask for the same report (three charts cut
the ``articles`` report; the summary reruns link rate, adoption, reuse and points). The first
request for a key computes it while the others for that key wait for its answer, so a page
load runs each report once; a minute later the key is computed again, so figures are at most
:data:`TTL_SECONDS` old.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")
TTL_SECONDS = 60.0
MAX_ENTRIES = 128


class SharedResults(Generic[T]):
    """A small TTL cache whose concurrent misses on one key compute once (single flight)."""

    def __init__(self, ttl: float = TTL_SECONDS, size: int = MAX_ENTRIES) -> None:
        self.ttl, self.size = ttl, size
        self._lock = threading.Lock()
        self._entries: OrderedDict[Hashable, tuple[float, T]] = OrderedDict()
        self._flights: dict[Hashable, threading.Lock] = {}

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        """The value of ``key``: cached if younger than the TTL, else computed (once, however many ask)."""
        with self._lock:
            flight = self._flights.setdefault(key, threading.Lock())
        with flight:
            with self._lock:
                found = self._entries.get(key)
                if found is not None and time.monotonic() - found[0] < self.ttl:
                    self._entries.move_to_end(key)
                    return found[1]
            value = compute()  # an exception reaches every waiter in turn: each retries
            with self._lock:
                self._entries[key] = (time.monotonic(), value)
                self._entries.move_to_end(key)
                while len(self._entries) > self.size:
                    self._entries.popitem(last=False)
                self._flights.pop(key, None)
            return value
