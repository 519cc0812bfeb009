"""What the emulator does wrong, and when: one table entry per fault, applied in one place.

A fault either replaces the answer (a 503, an HTML page, a hostile XML document) or distorts the
real one (cut in half, connection dropped mid-body). Which request gets which fault is
deterministic given a seed. Adding a fault means adding one entry to :data:`FAULTS`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import threading
from collections import Counter, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

XML_TYPE = "text/xml;charset=UTF-8"

Responder = Callable[[Request, dict[str, str]], Response]
"""A protocol's answer to a request, given its query and form parameters."""
Serve = Callable[[Request, str, Responder], Awaitable[Response]]
RealAnswer = Callable[[Callable[[dict[str, str]], dict[str, str]] | None], Awaitable[Response]]
"""The server's own answer, given how (if at all) a fault makes it misread the request."""
"""The emulator's one way to answer: count the request as ``kind``, apply faults, then respond."""
HUGE_BODY_BYTES = 17 * 1024 * 1024
_HTML_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>"
    b"<body><h1>502 Bad Gateway</h1><p>The upstream server did not answer.</p></body></html>\n"
)
_ENTITY_EXPANSION = (
    b'<?xml version="1.0"?>\n<!DOCTYPE Response [\n<!ENTITY a "aaaaaaaaaa">\n'
    + b"".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">\n'.encode() for i in range(9))
    + b']>\n<Response status="1"><Items uri="/api/items/">'
    + b"<Item><ItemID>&j;</ItemID></Item></Items></Response>"
)
_EXTERNAL_ENTITY = (
    b'<?xml version="1.0"?>\n<!DOCTYPE Response [<!ENTITY secret SYSTEM "file:///etc/passwd">]>\n'
    b'<Response status="1"><Items uri="/api/items/"><Item><ItemID>&secret;</ItemID></Item></Items></Response>'
)


@dataclass
class FaultPlan:
    """Which faults to inject into requests.

    ``sequence`` is consumed first, one entry per request (``"ok"`` for a normal
    answer); after it, each request draws a fault with the probabilities in ``rates``.
    """

    rates: dict[str, float] = field(default_factory=dict)
    sequence: list[str] = field(default_factory=list)
    seed: int = 0
    retry_after: float = 1.0
    slow_seconds: float = 5.0
    latency: float = 0.0
    trickle_interval: float = 0.4

    def __post_init__(self) -> None:
        unknown = [kind for kind in [*self.rates, *self.sequence] if kind not in (*FAULTS, "ok")]
        if unknown:
            raise ValueError(f"unknown fault kind(s) {unknown}; choose from {', '.join(FAULTS)}")
        if sum(self.rates.values()) > 1:
            raise ValueError("fault rates add up to more than 1")
        self._rnd = random.Random(self.seed)
        self._queue = deque(self.sequence)
        self._lock = threading.Lock()
        self.injected: Counter[str] = Counter()
        self.finished: Counter[str] = Counter()
        """Slow fault answers sent to their end: shows whether a client waited for them."""

    @classmethod
    def parse(cls, specs: Iterable[str], **kwargs: object) -> FaultPlan:
        """``["503=0.1", "reset=0.05"]`` as given on the command line."""
        rates = {}
        for spec in specs:
            kind, _, rate = spec.partition("=")
            rates[kind] = float(rate)
        return cls(rates=rates, **kwargs)  # type: ignore[arg-type]

    def next_fault(self, *, write: bool = False) -> str | None:
        """The next request's fault; a fault meant for writes passes a read by (uncounted)."""
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
            if kind == "ok" or (FAULTS[kind].writes_only and not write):
                return None
            self.injected[kind] += 1
            return kind

    async def answer(self, request: Request, real: RealAnswer) -> Response:
        """The real answer, or what the next fault makes of it, ``latency`` seconds after the request
        arrived (the time spent making the answer included, as a real server's latency includes it)."""
        started = asyncio.get_running_loop().time()
        answer = await self._answer(request, real)
        if self.latency:
            await asyncio.sleep(max(0.0, started + self.latency - asyncio.get_running_loop().time()))
        return answer

    async def _answer(self, request: Request, real: RealAnswer) -> Response:
        kind = self.next_fault(write=request.method in ("POST", "PUT"))
        if kind is None:
            return await real(None)
        fault = FAULTS[kind]
        if fault.replace is not None:
            return await fault.replace(self, request)
        answer = await real(fault.misread)
        return fault.distort(self, answer) if fault.distort is not None else answer


@dataclass(frozen=True)
class Fault:
    """One kind of misbehaviour: ``replace`` answers instead of the server, ``misread`` changes what
    the server reads of the request, ``distort`` spoils its answer."""

    description: str
    replace: Callable[[FaultPlan, Request], Awaitable[Response]] | None = None
    misread: Callable[[dict[str, str]], dict[str, str]] | None = None
    distort: Callable[[FaultPlan, Response], Response] | None = None
    writes_only: bool = False
    """Applied to creates and updates only, after the server has written the record."""


def _v3_page(change: Callable[[dict[str, Any]], None]) -> Callable[[FaultPlan, Response], Response]:
    """Change a v3 list answer (JSON with a page_context); other answers pass unchanged."""

    def distort(plan: FaultPlan, real: Response) -> Response:
        from airflow_provider_zoho_invoice.v3.answers import decode, encode

        if b'"page_context"' not in real.body:
            return real
        document = decode(bytes(real.body))
        change(document)
        return Response(encode(document), status_code=real.status_code, media_type=real.media_type)

    return distort


def _more_as_text(document: dict[str, Any]) -> None:
    document["page_context"]["has_more_page"] = str(document["page_context"]["has_more_page"]).lower()


def _empty_but_more(document: dict[str, Any]) -> None:
    for value in document.values():
        if isinstance(value, list):
            value.clear()
    document["page_context"]["has_more_page"] = True


_DEEP_MARK = "\u2063deep\u2063"
DEEP_LEVELS = 10_000


def _deep_record(plan: FaultPlan, real: Response) -> Response:
    """The last record of a v3 page gains a field nested 10,000 arrays deep."""

    def mark(document: dict[str, Any]) -> None:
        for value in document.values():
            if isinstance(value, list) and value and isinstance(value[-1], dict):
                value[-1]["custom_fields"] = _DEEP_MARK

    distorted = _v3_page(mark)(plan, real)
    nested = b"[" * DEEP_LEVELS + b"]" * DEEP_LEVELS
    body = bytes(distorted.body).replace(json.dumps(_DEEP_MARK, ensure_ascii=False).encode(), nested)
    return Response(body, status_code=real.status_code, media_type=real.media_type)


def _is_past_the_end(real: Response) -> bool:
    """A v3 page after the last one: no records, and a page number above 1."""
    from airflow_provider_zoho_invoice.v3.answers import decode

    if b'"page_context"' not in real.body:
        return False
    document = decode(bytes(real.body))
    records = [value for value in document.values() if isinstance(value, list)]
    page = document["page_context"].get("page", 1)
    return bool(records) and not any(records) and isinstance(page, int) and page > 1


def _past_end_unavailable(plan: FaultPlan, real: Response) -> Response:
    return Response(b"", status_code=503) if _is_past_the_end(real) else real


def _past_end_slow(plan: FaultPlan, real: Response) -> Response:
    if not _is_past_the_end(real):
        return real

    async def late() -> AsyncIterator[bytes]:
        await asyncio.sleep(plan.slow_seconds)
        yield bytes(real.body)
        plan.finished["past-end-slow"] += 1

    return StreamingResponse(late(), media_type=real.media_type)


async def _trickle(plan: FaultPlan, request: Request) -> Response:
    async def bytes_slowly() -> AsyncIterator[bytes]:
        for _ in range(100_000):
            yield b" "
            await asyncio.sleep(plan.trickle_interval)

    return StreamingResponse(bytes_slowly(), media_type="application/json")


_DEEP_ERROR = b'{"code":2,"message":' + b"[" * DEEP_LEVELS + b"]" * DEEP_LEVELS + b"}"


def _not_a_record(document: dict[str, Any]) -> None:
    for value in document.values():
        if isinstance(value, list) and value:
            value[-1] = 1


class InjectedReset(Exception):
    """Raised mid-response to make the server drop the connection."""


class DropInjectedResets(logging.Filter):
    """Keeps the server's log free of the resets injected on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, InjectedReset)


class _ResetMidBody(Response):
    """Promise the whole body, send half of it, then drop the connection."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        await send(
            {"type": "http.response.body", "body": self.body[: len(self.body) // 2], "more_body": True}
        )
        raise InjectedReset


def _status(code: int, **headers: str) -> Callable[[FaultPlan, Request], Awaitable[Response]]:
    async def replace(plan: FaultPlan, request: Request) -> Response:
        return Response(b"", status_code=code, headers=headers or None)

    return replace


def _body(
    body: bytes, media_type: str, status: int = 200
) -> Callable[[FaultPlan, Request], Awaitable[Response]]:
    async def replace(plan: FaultPlan, request: Request) -> Response:
        return Response(body, status_code=status, media_type=media_type)

    return replace


async def _too_many(plan: FaultPlan, request: Request) -> Response:
    return Response(b"", status_code=429, headers={"Retry-After": f"{plan.retry_after:g}"})


async def _slow(plan: FaultPlan, request: Request) -> Response:
    await asyncio.sleep(plan.slow_seconds)
    return Response(b"", status_code=504)


async def _huge(plan: FaultPlan, request: Request) -> Response:
    return Response(b" " * HUGE_BODY_BYTES, media_type=XML_TYPE)


async def _echo_request(plan: FaultPlan, request: Request) -> Response:
    """A refusal that quotes what the request carried, as careless servers do."""
    form = await request.form() if request.method == "POST" else {}
    carried = [request.headers.get("authorization", ""), *(str(value) for value in form.values())]
    echoed = "Invalid value passed: " + " ".join(carried)
    body = json.dumps({"code": 2, "message": echoed, "error": echoed}).encode()
    return Response(body, status_code=400, media_type="application/json;charset=UTF-8")


async def _huge_chunked(plan: FaultPlan, request: Request) -> Response:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(HUGE_BODY_BYTES // (1024 * 1024)):
            yield b" " * (1024 * 1024)

    return StreamingResponse(chunks(), media_type=XML_TYPE)


FAULTS: dict[str, Fault] = {
    "500": Fault("HTTP 500, empty body", replace=_status(500)),
    "502": Fault("HTTP 502, empty body", replace=_status(502)),
    "503": Fault("HTTP 503, empty body", replace=_status(503)),
    "429": Fault("HTTP 429 with Retry-After (--retry-after)", replace=_too_many),
    "429-bare": Fault("HTTP 429 without Retry-After", replace=_status(429)),
    "reset": Fault(
        "the connection dropped halfway through the body",
        distort=lambda plan, real: _ResetMidBody(real.body, media_type=real.media_type),
    ),
    "truncate": Fault(
        "a complete answer whose body stops halfway",
        distort=lambda plan, real: Response(real.body[: len(real.body) // 2], media_type=real.media_type),
    ),
    "html": Fault("a proxy's HTML error page, HTTP 502", replace=_body(_HTML_PAGE, "text/html", 502)),
    "html-200": Fault(
        "an HTML page with HTTP 200 (a captive portal)", replace=_body(_HTML_PAGE, "text/html")
    ),
    "slow": Fault("HTTP 504 after --slow-seconds", replace=_slow),
    "empty": Fault("HTTP 200 with no body", replace=_body(b"", XML_TYPE)),
    "entity-expansion": Fault("a 'billion laughs' XML document", replace=_body(_ENTITY_EXPANSION, XML_TYPE)),
    "external-entity": Fault("XML asking for a local file", replace=_body(_EXTERNAL_ENTITY, XML_TYPE)),
    "huge": Fault("a body over the client's cap, with Content-Length", replace=_huge),
    "huge-chunked": Fault("the same, streamed without Content-Length", replace=_huge_chunked),
    "echo-request": Fault(
        "HTTP 400 whose message quotes the request's Authorization header and form values",
        replace=_echo_request,
    ),
    "page-repeated": Fault(
        "every list request answered as page 1 (v3 then says more follow forever)",
        misread=lambda params: {**params, "page": "1"} if "page" in params else params,
    ),
    "more-as-text": Fault(
        'v3 page_context.has_more_page as the string "true"/"false"', distort=_v3_page(_more_as_text)
    ),
    "no-page-context": Fault(
        "a v3 list answer without page_context",
        distort=_v3_page(lambda document: document.pop("page_context")),
    ),
    "empty-but-more": Fault(
        "a v3 page with no records that says more follow", distort=_v3_page(_empty_but_more)
    ),
    "not-a-record": Fault("a v3 page whose last record is the number 1", distort=_v3_page(_not_a_record)),
    "deep-record": Fault(
        f"a v3 page whose last record nests {DEEP_LEVELS:,} arrays deep", distort=_deep_record
    ),
    "deep-error": Fault(
        f"HTTP 400 whose JSON message nests {DEEP_LEVELS:,} arrays deep",
        replace=_body(_DEEP_ERROR, "application/json;charset=UTF-8", 400),
    ),
    "past-end-503": Fault("HTTP 503 for every v3 page after the last one", distort=_past_end_unavailable),
    "past-end-slow": Fault(
        "v3 pages after the last one answered after --slow-seconds", distort=_past_end_slow
    ),
    "trickle": Fault("a body sent one byte every --trickle-interval seconds", replace=_trickle),
    "write-reset": Fault(
        "a create or update written, then the connection dropped before the answer's body ends",
        distort=lambda plan, real: _ResetMidBody(real.body, media_type=real.media_type),
        writes_only=True,
    ),
    "write-500": Fault(
        "a create or update written, then answered HTTP 500",
        distort=lambda plan, real: Response(b"", status_code=500),
        writes_only=True,
    ),
    "token-unknown-error": Fault(
        "Zoho Accounts' HTTP 200 refusal with an error no documentation lists ('invalid_token')",
        replace=_body(b'{"error":"invalid_token","status":"failure"}', "application/json;charset=UTF-8"),
    ),
}
FAULT_KINDS = tuple(FAULTS)
