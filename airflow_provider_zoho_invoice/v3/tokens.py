"""Access tokens shared between the tasks of one machine.

Zoho mints at most 10 access tokens per refresh token in 10 minutes, and every Airflow
task is its own process: without a shared store a DAG with a dozen Zoho tasks locks the
account out. The file store keeps the token under ``AIRFLOW_HOME`` (owner-only), and a
file lock makes concurrent tasks refresh once. File names are digests, never secrets.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import stat
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
    """One JSON file per credential set, 0600 in a 0700 directory, written atomically.

    The directory may be shared with other users of the machine, so nothing in it is trusted
    blindly: links are not followed, a file that is not a regular file of ours is not read, and
    loose permissions are tightened (with one warning). When the store cannot be used safely
    (a directory where the file goes, a planted link, a directory owned by someone else) the
    task keeps its token to itself, after one warning: a listing never fails for its cache.
    """

    def __init__(
        self,
        directory: Path,
        key: str,
        *,
        on_lock_timeout: Callable[[], None] | None = None,
        warn: Callable[[str], None] | None = None,
    ) -> None:
        self.directory = directory
        self.path = directory / f"{key}.json"
        self._lock_path = directory / f"{key}.lock"
        self._on_lock_timeout = on_lock_timeout
        self._warn = warn or (lambda message: None)
        self._warned: set[str] = set()
        self.unusable: str | None = None
        """Why the store is not used (the task refreshes its own token), or None."""

    def _problem(self, reason: str) -> None:
        """Stop using the store for the rest of this task, saying why once."""
        if self.unusable is None:
            self.unusable = reason
            self._warn(
                f"Zoho token cache not used: {reason}. This task keeps its access token to itself; "
                f"fix or remove the path (the cache directory is {self.directory})"
            )

    def _tighten(self, what: str, mode: int, apply: Callable[[int], None]) -> None:
        if mode & 0o077:
            apply(0o700 if what == "directory" else 0o600)
            if what not in self._warned:
                self._warned.add(what)
                self._warn(
                    f"Zoho token cache {what} had permissions {oct(mode)}, readable by other users; "
                    "tightened to owner-only"
                )

    def _usable_directory(self) -> bool:
        if self.unusable is not None:
            return False
        try:
            for directory in (self.directory.parent, self.directory):
                directory.mkdir(mode=0o700, exist_ok=True)
            status = os.stat(self.directory)
        except OSError as exc:
            self._problem(f"its directory cannot be created ({exc.strerror})")
            return False
        if not stat.S_ISDIR(status.st_mode):
            self._problem("its directory path is not a directory")
            return False
        if status.st_uid != os.getuid():
            self._problem("its directory belongs to another user")
            return False
        self._tighten("directory", stat.S_IMODE(status.st_mode), lambda mode: os.chmod(self.directory, mode))
        return True

    def _regular_file_of_ours(self, descriptor: int, what: str) -> bool:
        status = os.fstat(descriptor)
        if stat.S_ISDIR(status.st_mode):
            self._problem(f"a directory stands where the {what} goes")
            return False
        if not stat.S_ISREG(status.st_mode):
            self._problem(f"the {what} is not a regular file")
            return False
        if status.st_uid != os.getuid():
            self._problem(f"the {what} belongs to another user")
            return False
        self._tighten(what, stat.S_IMODE(status.st_mode), lambda mode: os.fchmod(descriptor, mode))
        return True

    def _open_ours(self, path: Path, what: str) -> int | None:
        """A descriptor of ``path`` read without following a link, if it is a regular file of ours;
        None (the store reported unusable) otherwise. A missing file raises FileNotFoundError."""
        try:
            descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except FileNotFoundError:
            raise
        except OSError as exc:
            self._problem(_unusable_path(what, exc))
            return None
        if not self._regular_file_of_ours(descriptor, what):
            os.close(descriptor)
            return None
        return descriptor

    def read(self) -> AccessToken | None:
        if not self._usable_directory():
            return None
        try:
            descriptor = self._open_ours(self.path, "token file")
        except FileNotFoundError:
            return None
        if descriptor is None:
            return None
        with os.fdopen(descriptor, "rb") as handle:
            try:
                return AccessToken.from_json(json.loads(handle.read(64 * 1024)))
            except (OSError, ValueError):
                return None  # half-written by hand or damaged: a refresh rewrites it

    def write(self, token: AccessToken) -> None:
        if not self._usable_directory():
            return
        temporary = self.directory / f".{self.path.stem}.{os.getpid()}.{threading.get_ident()}.tmp"
        try:
            descriptor = os.open(
                temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_TRUNC, 0o600
            )
        except FileExistsError:
            os.unlink(temporary)  # our own leftover: the name holds our pid and thread
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        except OSError as exc:
            self._problem(_unusable_path("temporary token file", exc))
            return
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                json.dump(token.to_json(), handle)
            os.replace(temporary, self.path)  # replaces a link itself, never what it points to
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            self._problem(_unusable_path("token file", exc))

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        import filelock

        if not self._usable_directory() or not self._usable_lock_file():
            yield  # this task refreshes its own token: nothing shared to guard
            return
        lock = filelock.FileLock(self._lock_path, timeout=LOCK_TIMEOUT, mode=0o600)
        try:
            lock.acquire()
        except filelock.Timeout:
            if self._on_lock_timeout is not None:
                self._on_lock_timeout()
            yield  # refreshing without the lock beats failing the task
            return
        except OSError as exc:
            self._problem(_unusable_path("lock file", exc))
            yield
            return
        try:
            yield
        finally:
            lock.release()

    def _usable_lock_file(self) -> bool:
        """The lock file is ours and regular (or absent): filelock itself would follow a link."""
        try:
            descriptor = self._open_ours(self._lock_path, "lock file")
        except FileNotFoundError:
            return True
        if descriptor is None:
            return False
        os.close(descriptor)
        return True


def _unusable_path(what: str, exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return f"the {what} is a symbolic link"
    if isinstance(exc, IsADirectoryError):
        return f"a directory stands where the {what} goes"
    return f"the {what} cannot be used ({exc.strerror or type(exc).__name__})"


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
