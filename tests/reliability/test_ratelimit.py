"""The client-side rate limit: at most N request starts in any window, across threads."""

from __future__ import annotations

import threading
import time

from airflow_provider_zoho_invoice.hooks.zoho_invoice import ZohoInvoiceHook
from airflow_provider_zoho_invoice.ratelimit import SlidingWindowRateLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def max_in_any_window(starts: list[float], window: float) -> int:
    starts = sorted(starts)
    best = 0
    for i, start in enumerate(starts):
        j = i
        while j < len(starts) and starts[j] < start + window:
            j += 1
        best = max(best, j - i)
    return best


def test_a_burst_goes_at_once_then_the_window_holds():
    clock = FakeClock()
    limiter = SlidingWindowRateLimiter(100, 60.0, clock=clock, sleep=clock.sleep)
    starts = []
    for _ in range(250):
        limiter.acquire()
        starts.append(clock.now)
    assert starts[:100] == [1000.0] * 100  # the first 100 need no wait
    assert max_in_any_window(starts, 60.0) == 100
    assert starts[-1] == 1120.0  # request 201 waits for the second minute to pass


def test_waits_are_exact_after_spread_out_requests():
    clock = FakeClock()
    limiter = SlidingWindowRateLimiter(3, 60.0, clock=clock, sleep=clock.sleep)
    for step in (0, 10, 20):
        clock.now = 1000.0 + step
        assert limiter.acquire() == 0
    clock.now = 1030.0
    assert limiter.acquire() == 30.0  # until the request at t=0 leaves the window


def test_concurrent_threads_share_one_limit():
    limiter = SlidingWindowRateLimiter(5, 0.4)
    starts: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(3):
            limiter.acquire()
            with lock:
                starts.append(time.monotonic())

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(starts) == 18
    assert max_in_any_window(starts, 0.4 - 0.01) <= 5


def test_every_hook_call_goes_through_the_limiter(make_emulator, use_emulator):
    emulator = make_emulator(items=1200)
    use_emulator(emulator, requests_per_minute=100)
    hook = ZohoInvoiceHook()
    limiter = SlidingWindowRateLimiter(4, 0.5)  # the connection's limit, on a shorter window
    hook.transport.__dict__["rate_limiter"] = limiter
    assert hook.transport.rate_limiter is limiter
    items = list(hook.list_items(per_page=100, concurrency=8))
    assert len(items) == 1200
    assert emulator.requests["items"] == 12
    # Arrival at the server lags the limiter's grant by a scheduling delay: on a busy two-core
    # machine up to tens of milliseconds, so the window is checked 100 ms short.
    assert max_in_any_window(emulator.request_times, 0.5 - 0.1) <= 4


def test_the_connection_sets_the_limit(make_emulator, use_emulator):
    emulator = make_emulator(items=1)
    use_emulator(emulator, requests_per_minute=37)
    limiter = ZohoInvoiceHook().transport.rate_limiter
    # A second longer than Zoho's minute: a request granted a window after another may arrive sooner.
    assert limiter is not None and (limiter.limit, limiter.window) == (37, 61.0)
    use_emulator(emulator, requests_per_minute=0)
    assert ZohoInvoiceHook().transport.rate_limiter is None
