"""What both Zoho protocols share: one session, timeouts, retries, a rate limit, a body cap, redaction.

A protocol module says what to send and how to read the answer; this module sends it.
It imports nothing of Airflow: the hooks hand it a logger and register secrets with Airflow's masker.
"""

from __future__ import annotations

import contextlib
import email.utils
import logging
import math
import os
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cached_property
from typing import Any, NamedTuple

import requests
import tenacity
import urllib3
from requests.adapters import HTTPAdapter
from requests.utils import get_environ_proxies

from airflow_provider_zoho_invoice import __version__
from airflow_provider_zoho_invoice.exceptions import (
    ZohoInvoiceConnectionError,
    ZohoInvoiceResponseError,
    ZohoInvoiceTLSError,
)
from airflow_provider_zoho_invoice.inflight import Slots
from airflow_provider_zoho_invoice.ratelimit import SlidingWindowRateLimiter
from airflow_provider_zoho_invoice.redaction import redact, snippet

MAX_BODY_BYTES = 16 * 1024 * 1024
"""Largest response body accepted; a full page of 200 records is well under 1 MB."""

MAX_RETRY_AFTER = 300.0
BUDGET_BOUND_SECONDS = 5.0
"""How long after a wait for the request budget a listing stops guessing pages ahead."""
_BACKOFF_CAP = 60.0
_TRANSIENT_ERRORS = (
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
    requests.exceptions.ChunkedEncodingError,
)


@dataclass(frozen=True)
class TransportSettings:
    """How patient and how polite to be; read from the connection's extras."""

    connect_timeout: float
    read_timeout: float
    max_retries: int
    backoff: float
    requests_per_minute: int
    verify: bool | str
    rate_window: float = 60.0
    """Seconds over which ``requests_per_minute`` counts: Zoho's minute, shorter only against the emulator."""
    deadline: float = 120.0
    """Seconds one attempt may take from connecting to its last body byte: a read timeout alone lets a
    server that trickles a byte now and then hold a request for hours."""


class Answer(NamedTuple):
    status: int
    headers: Mapping[str, str]
    body: bytes


class Abandoned(Exception):
    """The caller no longer wants this answer (a page past the end of a listing): no retry, no wait."""


class DeadlineExceeded(requests.exceptions.Timeout):
    """An attempt took longer than its deadline although every single read was within the timeout."""


class _RetryableStatus(Exception):
    """An answer worth asking again for (429, 5xx); reported as ZohoInvoiceResponseError at the end."""

    def __init__(self, answer: Answer, retry_after: float | None, body_snippet: str) -> None:
        super().__init__(f"HTTP {answer.status}")
        self.answer = answer
        self.retry_after = retry_after
        self.body_snippet = body_snippet


def window_with_margin(window: float) -> float:
    """The rate window the client keeps, a little longer than Zoho's: a request granted exactly a
    window after another may reach Zoho sooner after it than it left, if the first was delayed."""
    return window + min(1.0, window * 0.02)


def default_retryable(status: int, body: bytes) -> bool:
    return status == 429 or status >= 500


def parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def _is_transient(exc: BaseException) -> bool:
    if isinstance(exc, requests.exceptions.SSLError):
        return False  # a certificate problem does not heal by retrying
    return isinstance(exc, (_RetryableStatus, *_TRANSIENT_ERRORS))


def _sleep_until(event: threading.Event) -> Callable[[float], None]:
    """A backoff wait that ends early when ``event`` is set."""

    def sleep(seconds: float) -> None:
        event.wait(seconds)

    return sleep


def _attempts(count: int) -> str:
    return "1 attempt" if count == 1 else f"{count} attempts"


def origin(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"


def root_cause(exc: BaseException) -> str:
    """The innermost reason of a requests error ("Connection refused"), not urllib3's wrapper text."""
    reasons: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(reasons) < 8:
        reasons.append(current)
        args = getattr(current, "args", ())
        nested = next((arg for arg in args if isinstance(arg, BaseException)), None)
        reason = getattr(current, "reason", None)
        current = nested or (reason if isinstance(reason, BaseException) else None) or current.__cause__
        if current in reasons:
            break
    text = str(reasons[-1])
    # urllib3 prefixes "<connection object at 0x...>: "; what follows is the OS's own words.
    return text.split(">: ", 1)[-1]


class Transport:
    """Sends requests for one hook. Thread-safe: a listing's page workers share it."""

    def __init__(
        self,
        settings: TransportSettings,
        *,
        log: logging.Logger | Any,
        accept: str,
        limiter: Any = None,
        slots: Slots | None = None,
        brief_refusal: Callable[[int, bytes], bool] = lambda status, body: False,
    ) -> None:
        self.settings = settings
        self._limiter = limiter
        self._slots = slots
        """Held while a request is under way: the organization's limit on requests in process."""
        self._brief_refusal = brief_refusal
        """Answers that clear within a moment (Zoho's 'too many requests in process'): retried after
        a short wait, and logged once per listing rather than once per retry."""
        self._brief_logged = False
        self.last_budget_wait = -math.inf
        """When a request last waited for the request budget (``time.monotonic()``)."""
        self.log = log
        self._accept = accept
        self._pool_size = 0
        self._settings_by_origin: dict[str, tuple[dict[str, str], bool | str]] = {}

    @cached_property
    def session(self) -> requests.Session:
        session = requests.Session()
        session.headers["User-Agent"] = (
            f"airflow-provider-zoho-invoice/{__version__} python-requests/{requests.__version__}"
        )
        session.headers["Accept"] = self._accept
        session.trust_env = False  # environment settings are resolved once, in _environment_settings
        self._mount_pool(session, 10)
        return session

    @cached_property
    def rate_limiter(self) -> Any:
        """The given limiter (one shared by machines), else this process's own; None when off."""
        if self._limiter is not None:
            return self._limiter
        limit = self.settings.requests_per_minute
        return (
            SlidingWindowRateLimiter(limit, window_with_margin(self.settings.rate_window))
            if limit > 0
            else None
        )

    def _mount_pool(self, session: requests.Session, size: int) -> None:
        adapter = HTTPAdapter(pool_connections=2, pool_maxsize=size, max_retries=0)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        self._pool_size = size

    def ensure_pool(self, workers: int) -> None:
        session = self.session
        if workers > self._pool_size:
            self._mount_pool(session, workers)

    def _environment_settings(self, url: str) -> tuple[dict[str, str], bool | str]:
        """Proxies and CA bundle from the environment, read once per origin.

        requests rescans os.environ on every call otherwise, about 15% of a page's client CPU.
        """
        key = origin(url)
        cached = self._settings_by_origin.get(key)
        if cached is None:
            verify = self.settings.verify
            if verify is True:
                verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
            cached = (get_environ_proxies(url), verify)  # honours no_proxy, as requests would
            self._settings_by_origin[key] = cached
        return cached

    def request(
        self,
        method: str,
        url: str,
        *,
        path: str,
        secrets: tuple[str | None, ...],
        data: Mapping[str, Any] | bytes | None = None,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
        retryable: Callable[[int, bytes], bool] = default_retryable,
        max_retries: int | None = None,
        timeout: tuple[float, float] | None = None,
        abandoned: threading.Event | None = None,
        budgeted: bool = True,
        resend_after_failure: bool = True,
    ) -> Answer:
        """Send with rate limiting, timeouts and retries; ``path`` is what logs and errors show.

        Once ``abandoned`` is set, no further attempt starts and a backoff wait ends at once
        (raising :class:`Abandoned`): speculative pages past a listing's end cost no retries.
        ``budgeted=False`` (Zoho Accounts' token requests) skips the organization's request budget
        and in-flight slots, which count API calls only. ``resend_after_failure=False`` (writes)
        retries only the answers ``retryable`` names: after a dropped connection or a timeout the
        request may have been carried out, and only the caller can find out.
        """
        settings = self.settings
        attempts = (settings.max_retries if max_retries is None else max_retries) + 1
        given_up = abandoned or threading.Event()
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception(
                _is_transient if resend_after_failure else lambda exc: isinstance(exc, _RetryableStatus)
            ),
            stop=tenacity.stop_after_attempt(attempts) | tenacity.stop_when_event_set(given_up),
            wait=self._wait,
            sleep=_sleep_until(given_up),
            before_sleep=self._log_retry(path, attempts),
            reraise=True,
        )
        call = {
            "method": method,
            "url": url,
            "data": data,
            "params": params,
            "json": json_body,
            "headers": headers,
            "timeout": timeout or (settings.connect_timeout, settings.read_timeout),
        }
        deadline = sum(timeout) if timeout else settings.deadline
        try:
            return retrying(self._attempt, call, path, secrets, retryable, deadline, given_up, budgeted)
        except _RetryableStatus as exc:
            made = retrying.statistics.get("attempt_number", attempts)
            raise ZohoInvoiceResponseError(
                f"Zoho Invoice answered {path} with HTTP {exc.answer.status} on all {_attempts(made)}",
                status_code=exc.answer.status,
                snippet=exc.body_snippet,
            ) from None
        except requests.exceptions.SSLError as exc:
            raise ZohoInvoiceTLSError(
                f"TLS failed for {path} on {origin(url)}: {redact(root_cause(exc), secrets)}. "
                "Waiting will not fix a certificate problem: point the connection's 'verify' extra at "
                "the CA bundle that signed the server's certificate (or set REQUESTS_CA_BUNDLE)"
            ) from None
        except DeadlineExceeded:
            made = retrying.statistics.get("attempt_number", attempts)
            raise ZohoInvoiceConnectionError(
                f"Zoho Invoice was still sending its answer to {path} after {deadline:g} s "
                f"on all {_attempts(made)}; raise the connection's 'deadline' extra if pages are that slow"
            ) from None
        except requests.exceptions.Timeout:
            made = retrying.statistics.get("attempt_number", attempts)
            raise ZohoInvoiceConnectionError(
                f"Zoho Invoice did not answer {path} within {call['timeout'][1]:g} s "
                f"on all {_attempts(made)}; raise the connection's 'timeout' extra if the server is slow"
            ) from None
        except requests.exceptions.RequestException as exc:
            made = retrying.statistics.get("attempt_number", attempts)
            reason = redact(root_cause(exc), secrets)
            if len(reason) > 300:
                reason = reason[:300].rsplit(" ", 1)[0] + " ..."
            raise ZohoInvoiceConnectionError(
                f"Could not complete {path} on {origin(url)} after {_attempts(made)}: "
                f"{type(exc).__name__}: {reason}"
            ) from None

    def budget_bound(self) -> bool:
        """Whether requests are waiting for the per-minute budget: then latency is not the limit."""
        return time.monotonic() - self.last_budget_wait < BUDGET_BOUND_SECONDS

    def begin_listing(self) -> None:
        """A new listing logs its first brief refusal again."""
        self._brief_logged = False

    def _is_brief(self, exc: BaseException | None) -> bool:
        return isinstance(exc, _RetryableStatus) and self._brief_refusal(exc.answer.status, exc.answer.body)

    def _wait(self, state: tenacity.RetryCallState) -> float:
        backoff = self.settings.backoff
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _RetryableStatus) and exc.retry_after is not None:
            return min(exc.retry_after, MAX_RETRY_AFTER)
        if self._is_brief(exc):
            return random.uniform(0.1, 0.5)  # another request of the organization ends within moments
        exponential = min(_BACKOFF_CAP, backoff * 2.0 ** (state.attempt_number - 1))
        return exponential + random.uniform(0, backoff)  # jitter spreads out retrying workers

    def _log_retry(self, path: str, attempts: int) -> Callable[[tenacity.RetryCallState], None]:
        def log_retry(state: tenacity.RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            reason = str(exc) if isinstance(exc, _RetryableStatus) else type(exc).__name__
            wait = state.next_action.sleep if state.next_action else 0.0
            if self._is_brief(exc):
                if self._brief_logged:
                    return
                self._brief_logged = True
                self.log.warning(
                    "Zoho Invoice %s: too many requests of the organization in process (%s); retrying "
                    "in %.2f s (further ones in this listing are retried without a log line)",
                    path,
                    reason,
                    wait,
                )
                return
            self.log.warning(
                "Zoho Invoice %s: attempt %d of %d failed (%s); retrying in %.2f s",
                path,
                state.attempt_number,
                attempts,
                reason,
                wait,
            )

        return log_retry

    def _attempt(
        self,
        call: dict[str, Any],
        path: str,
        secrets: tuple[str | None, ...],
        retryable: Callable[[int, bytes], bool],
        deadline: float,
        abandoned: threading.Event,
        budgeted: bool,
    ) -> Answer:
        if abandoned.is_set():
            raise Abandoned(path)
        if budgeted and self.rate_limiter is not None:
            waited = self.rate_limiter.acquire(abandoned)
            if waited is None:
                raise Abandoned(path)
            if waited > 0.05:
                self.last_budget_wait = time.monotonic()
            if waited > 1:
                self.log.info("Zoho Invoice rate limit: waited %.1f s before %s", waited, path)
        if abandoned.is_set():
            raise Abandoned(path)
        proxies, verify = self._environment_settings(call["url"])
        with self._slots.held() if budgeted and self._slots is not None else contextlib.nullcontext():
            started = time.perf_counter()
            with self.session.request(
                **call, verify=verify, proxies=proxies, stream=True, allow_redirects=False
            ) as response:
                body = _read_capped(response, path, started + deadline)
                answer = Answer(response.status_code, response.headers, body)
        self.log.debug(
            "Zoho Invoice %s %s -> HTTP %d, %d bytes in %.0f ms",
            call["method"],
            path,
            answer.status,
            len(body),
            (time.perf_counter() - started) * 1000,
        )
        if retryable(answer.status, body):
            retry_after = parse_retry_after(answer.headers.get("Retry-After"))
            raise _RetryableStatus(answer, retry_after, snippet(body, secrets))
        return answer

    def close(self) -> None:
        if "session" in self.__dict__:
            self.session.close()


def _read_capped(response: requests.Response, path: str, deadline: float) -> bytes:
    """The whole body, refused when over the size cap or still arriving at ``deadline``
    (``time.perf_counter()`` seconds)."""
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise ZohoInvoiceResponseError(
            f"Zoho's answer to {path} is {int(declared)} bytes, over the "
            f"{MAX_BODY_BYTES} byte limit; ask for fewer records per page",
            status_code=response.status_code,
        )
    body = bytearray()
    for chunk in _chunks_as_they_arrive(response):
        body += chunk
        if time.perf_counter() > deadline:
            raise DeadlineExceeded(f"{path}: the answer was still arriving at the deadline")
        if len(body) > MAX_BODY_BYTES:
            raise ZohoInvoiceResponseError(
                f"Zoho's answer to {path} exceeds the {MAX_BODY_BYTES} byte limit; "
                "ask for fewer records per page",
                status_code=response.status_code,
            )
    return bytes(body)


def _chunks_as_they_arrive(response: requests.Response) -> Iterator[bytes]:
    """The body in the pieces the network delivers (decompressed): ``iter_content`` would block
    until a whole chunk arrived, so a deadline could not be checked while a body trickles in."""
    raw = response.raw
    try:
        while chunk := raw.read1(256 * 1024, decode_content=True):
            yield chunk
    except urllib3.exceptions.ProtocolError as exc:
        raise requests.exceptions.ChunkedEncodingError(exc) from exc
    except urllib3.exceptions.ReadTimeoutError as exc:
        raise requests.exceptions.ConnectionError(exc) from exc
    except urllib3.exceptions.DecodeError as exc:
        raise requests.exceptions.ContentDecodingError(exc) from exc
    except urllib3.exceptions.SSLError as exc:
        raise requests.exceptions.SSLError(exc) from exc
