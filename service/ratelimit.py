"""Per-key request rate limits (``KB_RATE_LIMIT``), counted in a ``limits`` storage.

The default storage (``memory://``) counts in each process, so with ``--workers N`` or several
replicas a key may make up to N times the limit; point ``KB_RATE_LIMIT_STORAGE`` at Redis
(``redis://host:6379``, needs the ``redis`` package) to share one count between them. The
moving window never lets a burst at a window edge double the rate, unlike a fixed window.
"""

from __future__ import annotations

import math
import time

from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from service.errors import RateLimited


class KeyRateLimiter:
    """Admits at most the configured rate of requests per API key."""

    def __init__(self, rate: str, storage: str = "memory://") -> None:
        """Args: rate: e.g. ``"600/minute"`` (``limits`` notation); storage: a ``limits`` storage URI."""
        self._item = parse(rate)
        self._limiter = MovingWindowRateLimiter(storage_from_string(storage))

    def hit(self, key_id: int) -> None:
        """Count one request of ``key_id``.

        Raises:
            RateLimited: over the limit (429, with the seconds until a request is admitted again).
        """
        if self._limiter.hit(self._item, str(key_id)):
            return
        reset = self._limiter.get_window_stats(self._item, str(key_id)).reset_time
        retry = max(1, math.ceil(reset - time.time()))
        raise RateLimited(f"more than {self._item} requests for this key; retry in {retry} s", retry_after=retry)
