"""Redis as the store every task on every machine shares: access tokens, the request budget, the quota.

Used when a ``zoho_invoice_oauth`` connection's ``token_cache`` is a ``redis://`` or ``rediss://``
URL (the Celery broker, with another database index, is a common choice). ``redis`` and
``limits`` are optional dependencies (``pip install "airflow-provider-zoho-invoice[redis]"``),
imported only here. If Redis cannot be reached, a task carries on with the per-machine
behaviour (file token store, per-process rate limit) after one warning: a task never fails
because the shared store is down. Log lines name the server without credentials.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from functools import cached_property
from typing import Any, TypeVar
from urllib.parse import urlsplit

from airflow_provider_zoho_invoice.inflight import MachineSlots, SharedSlots
from airflow_provider_zoho_invoice.ratelimit import SlidingWindowRateLimiter
from airflow_provider_zoho_invoice.transport import window_with_margin
from airflow_provider_zoho_invoice.v3.filter_facts import FactsFile, FilterFacts
from airflow_provider_zoho_invoice.v3.tokens import LOCK_TIMEOUT, AccessToken, FileTokenStore

T = TypeVar("T")
REFRESH_LOCK_TTL = 60.0
"""Seconds a refresh lock lives: a crashed holder blocks others at most this long."""


def safe_location(url: str) -> str:
    """``redis://host:port/db`` without user or password, for log lines."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}{parts.path or ''}"


class SharedStore:
    """One Redis client per hook, and the rule that its failure is never the task's."""

    def __init__(self, url: str, *, log: Any) -> None:
        self._url = url
        self.location = safe_location(url)
        self.log = log
        self.failed = False
        self._lock = threading.Lock()

    @cached_property
    def client(self) -> Any:
        import redis

        return redis.Redis.from_url(self._url, socket_timeout=3, socket_connect_timeout=3)

    @cached_property
    def _errors(self) -> tuple[type[BaseException], ...]:
        import redis

        return (redis.RedisError, OSError)

    def rate_limiter(self, limit: int, key: str, window: float) -> SharedRateLimiter:
        """One request budget for the organization ``key`` names, across every task and machine."""
        return SharedRateLimiter(self, self._url, limit, key, window=window)

    def slots(self, key: str, limit: int, *, lease: float, machine: MachineSlots) -> SharedSlots:
        """The organization's requests in process, counted across every task and machine."""
        return SharedSlots(lambda: self.client, self.run, key, limit, lease=lease, machine=machine)

    def quota(self, key: str) -> SharedQuota:
        return SharedQuota(self, key)

    def filter_facts(self, key: str, fallback: FactsFile) -> SharedFacts:
        return SharedFacts(self, key, fallback)

    def token_store(self, key: str, fallback: FileTokenStore) -> RedisTokenStore:
        return RedisTokenStore(self, key, fallback=fallback)

    def run(self, operation: Callable[[], T], fallback: Callable[[], T]) -> T:
        """``operation()`` against Redis, or ``fallback()`` (for good) once Redis has failed."""
        if not self.failed:
            try:
                return operation()
            except self._errors as exc:
                with self._lock:
                    first = not self.failed
                    self.failed = True
                if first:
                    self.log.warning(
                        "The shared Zoho store (Redis at %s) is unavailable (%s); this task carries on with "
                        "per-machine access tokens and rate limit",
                        self.location,
                        type(exc).__name__,
                    )
        return fallback()


class RedisTokenStore:
    """The access token under a digest key that expires with it; the refresh is single-flight."""

    def __init__(self, shared: SharedStore, key: str, fallback: FileTokenStore) -> None:
        self.shared = shared
        self.key = f"zoho-invoice:token:{key}"
        self._lock_key = f"zoho-invoice:refresh-lock:{key}"
        self.fallback = fallback

    def read(self) -> AccessToken | None:
        def from_redis() -> AccessToken | None:
            raw = self.shared.client.get(self.key)
            return None if raw is None else AccessToken.from_json(json.loads(raw))

        return self.shared.run(from_redis, self.fallback.read)

    def write(self, token: AccessToken) -> None:
        def to_redis() -> None:
            lifetime_ms = max(1, int((token.expires_at - time.time()) * 1000))
            self.shared.client.set(self.key, json.dumps(token.to_json()), px=lifetime_ms)

        self.shared.run(to_redis, lambda: self.fallback.write(token))

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Waiters block here, then read the token the holder stored instead of refreshing."""
        lock = self.shared.run(
            lambda: self.shared.client.lock(
                self._lock_key, timeout=REFRESH_LOCK_TTL, blocking_timeout=LOCK_TIMEOUT
            ),
            lambda: None,
        )
        acquired = lock is not None and self.shared.run(lock.acquire, lambda: False)
        if lock is None or self.shared.failed:
            with self.fallback.locked():
                yield
            return
        try:
            yield  # not acquired within LOCK_TIMEOUT: refreshing anyway beats failing the task
        finally:
            if acquired:
                with contextlib.suppress(Exception):  # expired or Redis gone: nothing left to release
                    lock.release()


class SharedRateLimiter:
    """One sliding-window budget for an organization across every task and machine (``limits``)."""

    def __init__(self, shared: SharedStore, url: str, limit: int, key: str, *, window: float = 60.0) -> None:
        self.shared = shared
        self.limit = limit
        self.window = max(1, round(window_with_margin(window)))
        self._url = url
        self._key = key
        self.local = SlidingWindowRateLimiter(limit, window_with_margin(window))

    @cached_property
    def _limiter(self) -> tuple[Any, Any]:
        from limits import RateLimitItemPerSecond
        from limits.storage import RedisStorage
        from limits.strategies import MovingWindowRateLimiter

        storage = RedisStorage(self._url, socket_timeout=3, socket_connect_timeout=3)
        return MovingWindowRateLimiter(storage), RateLimitItemPerSecond(self.limit, self.window)

    def _try(self) -> float:
        """0 if a request may start now, else the seconds until one may."""
        limiter, item = self._limiter
        if limiter.hit(item, "zoho-invoice", self._key):
            return 0.0
        stats = limiter.get_window_stats(item, "zoho-invoice", self._key)
        return max(0.05, float(stats.reset_time) - time.time())

    def acquire(self, stop: threading.Event | None = None) -> float | None:
        waited = 0.0
        while True:
            delay = self.shared.run(self._try, lambda: -1.0)
            if delay < 0:
                local = self.local.acquire(stop)
                return None if local is None else waited + local
            if delay == 0:
                return waited
            if stop is not None and stop.wait(delay):
                return None
            if stop is None:
                time.sleep(delay)
            waited += delay


class SharedQuota:
    """The last ``X-Rate-Limit-*`` values any task saw for the organization; they expire at its reset."""

    def __init__(self, shared: SharedStore, key: str) -> None:
        self.shared = shared
        self.key = f"zoho-invoice:quota:{key}"

    def save(self, values: dict[str, int]) -> None:
        def to_redis() -> None:
            ttl = max(1, values.get("reset", 86400))
            self.shared.client.set(self.key, json.dumps(values), ex=ttl)

        self.shared.run(to_redis, lambda: None)

    def load(self) -> dict[str, int]:
        def from_redis() -> dict[str, int]:
            raw = self.shared.client.get(self.key)
            return {} if raw is None else {k: int(v) for k, v in json.loads(raw).items()}

        return self.shared.run(from_redis, dict)


class SharedFacts:
    """What was measured of the organization's ``last_modified_time`` filter, one hash field per resource."""

    def __init__(self, shared: SharedStore, key: str, fallback: FactsFile) -> None:
        self.shared = shared
        self.key = f"zoho-invoice:filters:{key}"
        self.fallback = fallback

    def load(self, resource_name: str) -> FilterFacts | None:
        def from_redis() -> FilterFacts | None:
            raw = self.shared.client.hget(self.key, resource_name)
            return None if raw is None else FilterFacts.from_json(json.loads(raw))

        return self.shared.run(from_redis, lambda: self.fallback.load(resource_name))

    def save(self, resource_name: str, facts: FilterFacts) -> None:
        def to_redis() -> None:
            self.shared.client.hset(self.key, resource_name, json.dumps(facts.to_json()))

        self.shared.run(to_redis, lambda: self.fallback.save(resource_name, facts))
