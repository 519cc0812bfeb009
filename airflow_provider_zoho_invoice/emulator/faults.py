"""What the emulator does wrong, and when: deterministic given a seed."""

from __future__ import annotations

import random
import threading
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass, field

FAULT_KINDS = (
    "500",
    "502",
    "503",
    "429",  # with Retry-After
    "429-bare",  # without Retry-After
    "reset",  # connection closed halfway through the body
    "truncate",  # a complete response whose XML stops halfway
    "html",  # a proxy's HTML error page, HTTP 502
    "html-200",  # an HTML page with HTTP 200 (a captive portal, a misrouted host)
    "slow",  # answers after ``slow_seconds``
    "empty",  # HTTP 200 with no body at all
    "entity-expansion",  # a "billion laughs" document
    "external-entity",  # a document that asks for a local file
    "huge",  # a body over the client's size cap, with Content-Length
    "huge-chunked",  # the same, streamed without Content-Length
)


@dataclass
class FaultPlan:
    """Which faults to inject into API requests.

    ``sequence`` is consumed first, one entry per request (``"ok"`` for a normal
    answer); after it, each request draws a fault with the probabilities in ``rates``.
    """

    rates: dict[str, float] = field(default_factory=dict)
    sequence: list[str] = field(default_factory=list)
    seed: int = 0
    retry_after: float = 1.0
    slow_seconds: float = 5.0
    latency: float = 0.0
    mutate_every: int = 0
    mutate_add: int = 0
    mutate_remove: int = 0
    mutate_limit: int = 0  # stop changing the catalogue after this many changes; 0: never stop

    def __post_init__(self) -> None:
        unknown = [kind for kind in [*self.rates, *self.sequence] if kind not in (*FAULT_KINDS, "ok")]
        if unknown:
            raise ValueError(f"unknown fault kind(s) {unknown}; choose from {', '.join(FAULT_KINDS)}")
        if sum(self.rates.values()) > 1:
            raise ValueError("fault rates add up to more than 1")
        self._rnd = random.Random(self.seed)
        self._queue = deque(self.sequence)
        self._lock = threading.Lock()
        self.injected: Counter[str] = Counter()

    @classmethod
    def parse(cls, specs: Iterable[str], **kwargs: object) -> FaultPlan:
        """``["503=0.1", "reset=0.05"]`` as given on the command line."""
        rates = {}
        for spec in specs:
            kind, _, rate = spec.partition("=")
            rates[kind] = float(rate)
        return cls(rates=rates, **kwargs)  # type: ignore[arg-type]

    def next_fault(self) -> str | None:
        with self._lock:
            if self._queue:
                kind = self._queue.popleft()
            else:
                draw = self._rnd.random()
                kind = "ok"
                for candidate, rate in self.rates.items():
                    if draw < rate:
                        kind = candidate
                        break
                    draw -= rate
            if kind == "ok":
                return None
            self.injected[kind] += 1
            return kind

    def rng(self) -> random.Random:
        return self._rnd
