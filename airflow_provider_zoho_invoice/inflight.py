"""How many requests an organization has under way at once, across threads, processes and machines.

Zoho allows an organization 5 requests in process at once on its Free plan (10 on paid plans)
and answers 429 with code 1070 beyond. A listing's page workers, the other tasks of a DAG on
the same machine and, with Redis, tasks on other machines all count against that one limit, so
every request holds a slot while it is sent and its answer read.

Slots are taken in layers: a semaphore shared by the threads of a process, then either a slot
file locked by the operating system with ``flock`` (filelock's per-call overhead showed in the
concurrency benchmark) (released by it too if a task is killed) or, with the shared
store, a lease in Redis that expires should its holder vanish. Nothing here knows Zoho or Airflow.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import random
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

_PROCESS_SLOTS: dict[str, threading.BoundedSemaphore] = {}
_PROCESS_SLOTS_LOCK = threading.Lock()
_POLL = (0.005, 0.05)
"""Seconds between looks for a free slot: a request takes tens or hundreds of milliseconds."""


class Slots(Protocol):
    def held(self) -> contextlib.AbstractContextManager[None]: ...


def process_semaphore(key: str, limit: int) -> threading.BoundedSemaphore:
    """One semaphore per organization in this process, whichever hook asks."""
    with _PROCESS_SLOTS_LOCK:
        semaphore = _PROCESS_SLOTS.get(f"{key}:{limit}")
        if semaphore is None:
            semaphore = _PROCESS_SLOTS[f"{key}:{limit}"] = threading.BoundedSemaphore(limit)
        return semaphore


class MachineSlots:
    """``limit`` slot files per organization; a request holds one (an OS lock) while under way.

    Lock files live beside the token cache, owner-only. If they cannot be used (a read-only
    directory), the process's own semaphore is the limit, after one warning.
    """

    def __init__(
        self, directory: Path, key: str, limit: int, *, warn: Callable[[str], None] | None = None
    ) -> None:
        self.limit = limit
        self._paths = [directory / f"{key}.slot{index}.lock" for index in range(limit)]
        self._directory = directory
        self.process = process_semaphore(key, limit)
        self._warn = warn or (lambda message: None)
        self._unusable = False

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        with self.process, self.file_slot():
            yield

    @contextlib.contextmanager
    def file_slot(self) -> Iterator[None]:
        """One of the machine's slot files, locked (``flock``) while the caller holds it."""
        descriptor = self._take_file()
        try:
            yield
        finally:
            if descriptor is not None:
                os.close(descriptor)  # closing the file releases its lock

    def _take_file(self) -> int | None:
        if self._unusable:
            return None
        try:
            self._directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            start = random.randrange(self.limit)  # spread the processes over the slots
            while True:
                for offset in range(self.limit):
                    path = self._paths[(start + offset) % self.limit]
                    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
                    descriptor = os.open(path, flags, 0o600)
                    try:
                        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    except BlockingIOError:
                        os.close(descriptor)
                        continue
                    return descriptor
                time.sleep(random.uniform(*_POLL))
        except OSError as exc:
            self._unusable = True
            self._warn(
                f"Zoho in-flight slots under {self._directory} are unusable ({exc.strerror or exc}); "
                "requests are limited per process only"
            )
            return None


class SharedSlots:
    """Slots across machines: a Redis sorted set of leases, each expiring after ``lease`` seconds.

    ``run(operation, fallback)`` is the shared store's rule: Redis trouble falls back to the
    machine's slots, never fails a request.
    """

    _TAKE = """
    local now = redis.call('TIME')
    local t = tonumber(now[1]) + tonumber(now[2]) / 1000000
    redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', t)
    if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
        redis.call('ZADD', KEYS[1], t + tonumber(ARGV[2]), ARGV[3])
        redis.call('PEXPIRE', KEYS[1], math.ceil(tonumber(ARGV[2]) * 1000))
        return 1
    end
    return 0
    """

    def __init__(
        self,
        client: Callable[[], Any],
        run: Callable[..., Any],
        key: str,
        limit: int,
        *,
        lease: float,
        machine: MachineSlots,
    ) -> None:
        self._client = client
        self._run = run
        self._key = f"zoho-invoice:in-flight:{key}"
        self.limit = limit
        self._lease = lease
        self._machine = machine
        self._script: Any = None

    def _take(self, member: str) -> bool:
        if self._script is None:
            self._script = self._client().register_script(self._TAKE)
        return bool(self._script(keys=[self._key], args=[self.limit, self._lease, member]))

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        with self._machine.process:  # this process's share first: fewer round trips to Redis
            member = f"{os.getpid()}:{threading.get_ident()}:{time.monotonic_ns()}"
            while True:
                taken = self._run(lambda: self._take(member), lambda: None)
                if taken is None or taken:
                    break
                time.sleep(random.uniform(*_POLL))
            if taken is None:  # Redis is gone: the machine's slot files are the limit
                with self._machine.file_slot():
                    yield
                return
            try:
                yield
            finally:
                self._run(lambda: self._client().zrem(self._key, member), lambda: None)
