"""Client-side request-rate limit shared by every thread of one hook."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class SlidingWindowRateLimiter:
    """At most ``limit`` requests in any ``window`` seconds; a burst up to ``limit`` goes at once.

    A log of the last ``limit`` start times is exact where a token bucket would only
    approximate the "N per minute" Zoho enforces, and it costs ``limit`` floats.
    """

    def __init__(
        self,
        limit: int,
        window: float = 60.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.limit = limit
        self.window = window
        self._clock = clock
        self._sleep = sleep
        self._starts: deque[float] = deque()
        self._lock = threading.Lock()

    def acquire(self, stop: threading.Event | None = None) -> float | None:
        """Block until a request may start; return the seconds waited, or None if ``stop`` was set
        meanwhile (the request is no longer wanted and takes no place in the window)."""
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                while self._starts and self._starts[0] <= now - self.window:
                    self._starts.popleft()
                if len(self._starts) < self.limit:
                    self._starts.append(now)
                    return waited
                delay = self._starts[0] + self.window - now
            if stop is not None:
                if stop.wait(delay):
                    return None
            else:
                self._sleep(delay)
            waited += delay
