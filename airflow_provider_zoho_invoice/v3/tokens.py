"""Access tokens shared between the tasks of one machine.

Zoho mints at most 10 access tokens per refresh token in 10 minutes, and every Airflow
task is its own process: without a shared store a DAG with a dozen Zoho tasks locks the
account out. The file store keeps the token under ``AIRFLOW_HOME`` (owner-only), and a
file lock makes concurrent tasks refresh once. File names are digests, never secrets.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from airflow_provider_zoho_invoice.exceptions import ZohoInvoiceAuthError

LOCK_TIMEOUT = 120.0
REFUSAL_MEMORY = 10.0
"""Seconds a refused refresh is the answer for the other threads of a task."""
"""Longest wait for another process's refresh; a crashed holder's lock is released by the OS anyway."""


@dataclass(frozen=True)
class AccessToken:
    value: str
    issued_at: float
    expires_at: float
    api_domain: str | None = None

    def usable(self, now: float | None = None) -> bool:
        """Still valid with a safety margin: a tenth of its lifetime, at most five minutes."""
        margin = min(300.0, (self.expires_at - self.issued_at) * 0.1)
        return (time.time() if now is None else now) < self.expires_at - margin

    def to_json(self) -> dict[str, Any]:
        return {
            "access_token": self.value,
            "issued_at": self.issued_at,
            "expires_at": self.expires_at,
            "api_domain": self.api_domain,
        }

    @classmethod
    def from_json(cls, data: Any) -> AccessToken | None:
        try:
            return cls(
                value=str(data["access_token"]),
                issued_at=float(data["issued_at"]),
                expires_at=float(data["expires_at"]),
                api_domain=data.get("api_domain"),
            )
        except (KeyError, TypeError, ValueError):
            return None

    def __repr__(self) -> str:
        return f"AccessToken(expires_at={self.expires_at!r}, api_domain={self.api_domain!r})"


class TokenStore(Protocol):
    def read(self) -> AccessToken | None: ...

    def write(self, token: AccessToken) -> None: ...

    def locked(self) -> contextlib.AbstractContextManager[None]: ...


class MemoryTokenStore:
    """``token_cache=none``: the token lives as long as the hook."""

    def __init__(self) -> None:
        self._token: AccessToken | None = None
        self._lock = threading.Lock()

    def read(self) -> AccessToken | None:
        return self._token

    def write(self, token: AccessToken) -> None:
        self._token = token

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        with self._lock:
            yield


def store_key(*parts: str) -> str:
    """A digest naming one credential set; it reveals nothing of the parts."""
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:40]


def default_token_directory() -> Path:
    home = os.environ.get("AIRFLOW_HOME") or os.path.join(os.path.expanduser("~"), "airflow")
    return Path(home) / "zoho_invoice" / "tokens"


class FileTokenStore:
    """One JSON file per credential set, 0600 in a 0700 directory, written atomically."""

    def __init__(
        self, directory: Path, key: str, *, on_lock_timeout: Callable[[], None] | None = None
    ) -> None:
        self.directory = directory
        self.path = directory / f"{key}.json"
        self._lock_path = directory / f"{key}.lock"
        self._on_lock_timeout = on_lock_timeout

    def _ensure_directory(self) -> None:
        for directory in (self.directory.parent, self.directory):
            directory.mkdir(mode=0o700, exist_ok=True)
        os.chmod(self.directory, 0o700)

    def read(self) -> AccessToken | None:
        try:
            with open(self.path, encoding="utf-8") as handle:
                return AccessToken.from_json(json.load(handle))
        except (OSError, ValueError):
            return None

    def write(self, token: AccessToken) -> None:
        self._ensure_directory()
        temporary = self.directory / f".{self.path.stem}.{os.getpid()}.{threading.get_ident()}.tmp"
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                json.dump(token.to_json(), handle)
            os.replace(temporary, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        import filelock

        self._ensure_directory()
        lock = filelock.FileLock(self._lock_path, timeout=LOCK_TIMEOUT, mode=0o600)
        try:
            lock.acquire()
        except filelock.Timeout:
            if self._on_lock_timeout is not None:
                self._on_lock_timeout()
            yield  # refreshing without the lock beats failing the task
            return
        try:
            yield
        finally:
            lock.release()


class TokenManager:
    """Hands out a usable access token; refreshes once for all threads and processes sharing a store.

    When Zoho Accounts refuses a refresh (a throttle, a revoked token), the refusal answers for
    every thread of the task for a few seconds: each asking again would spend one of the ten
    refreshes Zoho allows in ten minutes. Network trouble and 5xx are not remembered.
    """

    def __init__(self, store: TokenStore, refresh: Callable[[], AccessToken]) -> None:
        self.store = store
        self._refresh = refresh
        self._current: AccessToken | None = None
        self._lock = threading.Lock()
        self._refused: tuple[float, ZohoInvoiceAuthError] | None = None
        """Zoho Accounts' last refusal and when: for a while it answers for every thread."""

    def get(self) -> AccessToken:
        current = self._current
        if current is not None and current.usable():
            return current
        return self._renew(stale=None)

    def replace(self, stale: AccessToken) -> AccessToken:
        """After Zoho refused ``stale`` (HTTP 401): a token someone else just made, or a new one."""
        return self._renew(stale=stale)

    def _acceptable(self, token: AccessToken | None, stale: AccessToken | None) -> bool:
        return token is not None and token.usable() and (stale is None or token.value != stale.value)

    def _renew(self, stale: AccessToken | None) -> AccessToken:
        with self._lock:
            if self._acceptable(self._current, stale):
                assert self._current is not None
                return self._current
            stored = self.store.read()
            if self._acceptable(stored, stale):
                assert stored is not None
                self._current = stored
                return stored
            if self._refused is not None and time.monotonic() - self._refused[0] < REFUSAL_MEMORY:
                raise self._refused[1]  # asking again so soon would only spend another refresh
            with self.store.locked():
                stored = self.store.read()  # another process may have refreshed while we waited
                if stored is None or not self._acceptable(stored, stale):
                    try:
                        stored = self._refresh()
                    except ZohoInvoiceAuthError as exc:
                        self._refused = (time.monotonic(), exc)
                        raise
                    self.store.write(stored)
                self._refused = None
                self._current = stored
                return stored
