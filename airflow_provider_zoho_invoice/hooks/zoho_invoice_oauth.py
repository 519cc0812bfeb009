"""ZohoInvoiceOAuthHook: Zoho Invoice API v3 with OAuth 2.0 refresh tokens, for real Zoho accounts."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from functools import cached_property
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import requests

from airflow_provider_zoho_invoice._redact import for_connection_test, redact, snippet
from airflow_provider_zoho_invoice._validation import (
    check_concurrency,
    check_interval,
    check_max_items,
    check_per_page,
)
from airflow_provider_zoho_invoice.exceptions import (
    ZohoInvoiceAPIError,
    ZohoInvoiceAuthError,
    ZohoInvoiceConfigError,
    ZohoInvoiceError,
    ZohoInvoiceQuotaError,
    ZohoInvoiceResponseError,
)
from airflow_provider_zoho_invoice.hooks.base import ZohoInvoiceBaseHook
from airflow_provider_zoho_invoice.hooks.config import check_url
from airflow_provider_zoho_invoice.hooks.oauth_config import (
    CONN_TYPE,
    ZohoInvoiceOAuthConfig,
    oauth_config_from_connection,
)
from airflow_provider_zoho_invoice.tokens import (
    AccessToken,
    FileTokenStore,
    MemoryTokenStore,
    TokenManager,
    default_token_directory,
    store_key,
)
from airflow_provider_zoho_invoice.transport import Answer, Transport, mask_secrets
from airflow_provider_zoho_invoice.v3 import (
    API_ROOT,
    CODE_DAILY_QUOTA,
    CODE_NOT_FOUND,
    DATA_CENTERS,
    KEYSET,
    MAX_PER_PAGE,
    ORGANIZATION_HEADER,
    SNAPSHOT_ONLY,
    TOKEN_PATH,
    Resource,
    answer_code,
    api_error,
    decode_object,
    format_zoho_time,
    parse_zoho_time,
    resource,
    token_error,
)

if TYPE_CHECKING:
    from airflow_provider_zoho_invoice.shared_store import SharedQuota, SharedStore

TEST_TIMEOUT = 10.0
"""Connect and read timeout of ``test_connection``: the UI waits for it."""

MAX_BLOCK_REREADS = 3
"""Passes over a block of records sharing one timestamp that keeps shifting while it is read."""

LOW_QUOTA_SHARE = 0.10
"""Below this share of the daily quota left, a listing starts with a warning."""

_METHODS = ("GET", "POST", "PUT", "DELETE")


def _retryable(status: int, body: bytes) -> bool:
    """5xx and per-minute throttling heal with time; the daily quota (code 45) does not for hours."""
    if status >= 500:
        return True
    return status == 429 and answer_code(body) != CODE_DAILY_QUOTA


class _RecentIds:
    """IDs of the last few pages: offset pages shift by a record or two when Zoho changes under a listing."""

    def __init__(self, pages: int = 3) -> None:
        self._pages: deque[set[Any]] = deque(maxlen=pages)

    def new_page(self) -> None:
        self._pages.append(set())

    def add_if_new(self, record_id: Any) -> bool:
        if record_id is None:
            return True
        if any(record_id in page for page in self._pages):
            return False
        self._pages[-1].add(record_id)
        return True


class ZohoInvoiceOAuthHook(ZohoInvoiceBaseHook):
    """Talk to Zoho Invoice API v3 with the credentials of a ``zoho_invoice_oauth`` connection.

    Nothing is looked up or sent until the first call, because hooks are built at
    DAG-parse time. Access tokens are shared with every task on the machine through
    the connection's ``token_cache`` so that Zoho's limit on new tokens is never hit.

    Arguments: see :class:`~airflow_provider_zoho_invoice.hooks.base.ZohoInvoiceBaseHook`.
    """

    conn_type = CONN_TYPE
    hook_name = "Zoho Invoice (OAuth 2.0)"

    def __init__(
        self, zoho_invoice_conn_id: str = ZohoInvoiceBaseHook.default_conn_name, **kwargs: Any
    ) -> None:
        super().__init__(zoho_invoice_conn_id, **kwargs)
        self._request_options: dict[str, Any] = {}
        self._checked_domains: dict[str, str] = {}
        self._quota_lock = threading.Lock()
        self.quota: dict[str, int] = {}
        """The last ``X-Rate-Limit-*`` values seen: ``limit``, ``remaining``, ``reset`` (seconds)."""

    # -- connection ---------------------------------------------------------------------------

    @cached_property
    def config(self) -> ZohoInvoiceOAuthConfig:
        """The connection, read once and checked; its secrets are registered with Airflow's masker."""
        connection = self._fetch_connection()
        config = oauth_config_from_connection(
            conn_id=self.zoho_invoice_conn_id,
            login=connection.login,
            password=connection.password,
            host=connection.host,
            port=connection.port,
            extra=connection.extra,
            overrides=self._overrides,
        )
        mask_secrets(*config.secrets)
        return config

    @cached_property
    def shared(self) -> SharedStore | None:
        """Redis, when the connection's ``token_cache`` names it: shared by every task and machine."""
        url = self.config.shared_store_url
        if url is None:
            return None
        from airflow_provider_zoho_invoice.shared_store import SharedStore

        return SharedStore(url, log=self.log)

    def _organization_key(self) -> str:
        """Whose request budget and quota: the organization when configured, else the client."""
        config = self.config
        return store_key(config.organization_id or f"{config.accounts_url}\n{config.client_id}")

    @cached_property
    def transport(self) -> Transport:
        limiter = None
        requests_per_minute = self.config.transport.requests_per_minute
        if self.shared is not None and requests_per_minute > 0:
            from airflow_provider_zoho_invoice.shared_store import SharedRateLimiter

            url = self.config.shared_store_url
            assert url is not None
            limiter = SharedRateLimiter(self.shared, url, requests_per_minute, self._organization_key())
        return Transport(self.config.transport, log=self.log, accept="application/json", limiter=limiter)

    @cached_property
    def _shared_quota(self) -> SharedQuota | None:
        if self.shared is None:
            return None
        from airflow_provider_zoho_invoice.shared_store import SharedQuota

        return SharedQuota(self.shared, self._organization_key())

    def get_conn(self) -> requests.Session:
        return self.transport.session

    @cached_property
    def tokens(self) -> TokenManager:
        config = self.config
        client_id, _, refresh_token = config.require_credentials(self.zoho_invoice_conn_id)
        key = store_key(config.accounts_url, client_id, refresh_token)
        store: Any
        if config.token_cache == "none":  # noqa: S105 - a store kind, not a secret
            store = MemoryTokenStore()
        else:
            store = FileTokenStore(
                _token_directory(),
                key,
                on_lock_timeout=lambda: self.log.warning(
                    "Another process held the Zoho token lock too long; refreshing without it"
                ),
            )
            if self.shared is not None:
                from airflow_provider_zoho_invoice.shared_store import RedisTokenStore

                store = RedisTokenStore(self.shared, key, fallback=store)
        return TokenManager(store, self._refresh_access_token)

    def _secrets(self, token: AccessToken | None = None) -> tuple[str | None, ...]:
        return (*self.config.secrets, token.value if token else None)

    # -- tokens ---------------------------------------------------------------------------------

    def _refresh_access_token(self) -> AccessToken:
        """One refresh grant. Zoho answers its errors with HTTP 200 and an ``error`` key."""
        config = self.config
        client_id, client_secret, refresh_token = config.require_credentials(self.zoho_invoice_conn_id)
        form = {
            "grant_type": "refresh_token",
            "client_id": client_id,
            "client_secret": client_secret,
            "refresh_token": refresh_token,
        }
        issued_at = time.time()
        answer = self.transport.request(
            "POST",
            f"{config.accounts_url}{TOKEN_PATH}",
            data=form,
            path=TOKEN_PATH,
            secrets=config.secrets,
            **self._request_options,
        )
        document = decode_object(
            answer.body, path=TOKEN_PATH, status_code=answer.status, secrets=config.secrets, quote_body=False
        )
        if "error" in document or answer.status != 200:
            raise token_error(document)
        value = document.get("access_token")
        if not isinstance(value, str) or not value:
            raise ZohoInvoiceResponseError(
                "Zoho Accounts answered the token request without an access_token", status_code=answer.status
            )
        mask_secrets(value)
        lifetime: Any = document.get("expires_in")
        lifetime = (
            float(lifetime) if isinstance(lifetime, (int, float)) or str(lifetime).isdigit() else 3600.0
        )
        api_domain = document.get("api_domain")
        self.log.info("Zoho Accounts issued an access token, valid for %d s", lifetime)
        return AccessToken(
            value=value,
            issued_at=issued_at,
            expires_at=issued_at + lifetime,
            api_domain=api_domain if isinstance(api_domain, str) else None,
        )

    def exchange_grant_code(self, code: str) -> str:
        """Trade a Self Client grant code for a refresh token (done once, at set-up).

        The connection needs its Client ID and Client Secret (and data centre), not a refresh token.
        """
        config = self.config
        if not config.client_id or not config.client_secret:
            config.require_credentials(self.zoho_invoice_conn_id)  # names the missing field
        if not code or not code.strip():
            raise ValueError("exchange_grant_code needs the grant code from Zoho's API console")
        secrets = (*config.secrets, code)
        answer = self.transport.request(
            "POST",
            f"{config.accounts_url}{TOKEN_PATH}",
            data={
                "grant_type": "authorization_code",
                "client_id": config.client_id,
                "client_secret": config.client_secret,
                "code": code.strip(),
            },
            path=TOKEN_PATH,
            secrets=secrets,
            max_retries=0,  # a grant code is single-use
        )
        document = decode_object(
            answer.body, path=TOKEN_PATH, status_code=answer.status, secrets=secrets, quote_body=False
        )
        if "error" in document:
            error = token_error(document)
            if error.cause == "invalid_code":
                error.args = (
                    "Zoho Accounts refused the grant code (invalid_code): it is mistyped, used already, or "
                    "expired (Self Client codes live 3 to 10 minutes), or was made in another data centre. "
                    "Generate a new one and run again.",
                )
            raise error
        refresh_token = document.get("refresh_token")
        if not isinstance(refresh_token, str) or not refresh_token:
            raise ZohoInvoiceResponseError(
                "Zoho Accounts answered without a refresh_token: generate the grant code with "
                "access type 'offline' (a Self Client's codes are)",
                status_code=answer.status,
            )
        mask_secrets(refresh_token, document.get("access_token"))
        return refresh_token

    def _api_base(self, token: AccessToken) -> str:
        """The API host: pinned by the connection, else named by the token answer, else the data centre's."""
        config = self.config
        domain = config.api_domain or token.api_domain or DATA_CENTERS[config.data_center][1]
        checked = self._checked_domains.get(domain)
        if checked is None:
            try:
                checked = check_url(domain, field="api_domain", conn_id=self.zoho_invoice_conn_id)
            except ZohoInvoiceConfigError as exc:
                raise ZohoInvoiceConfigError(
                    f"Zoho Accounts named an API domain this hook will not use ({exc}); pin the "
                    "connection's 'api_domain' extra to your data centre's https:// API host"
                ) from None
            self._checked_domains[domain] = checked
        return f"{checked}{API_ROOT}"

    # -- requests -------------------------------------------------------------------------------

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        organization: bool = True,
    ) -> dict[str, Any]:
        """One API call with the access token; a 401 refreshes the token once and repeats the call."""
        headers = {ORGANIZATION_HEADER: self.organization_id} if organization else {}
        token = self.tokens.get()
        for attempt in (1, 2):
            answer = self.transport.request(
                method,
                f"{self._api_base(token)}{path}",
                params=params,
                json_body=json_body,
                headers={**headers, "Authorization": f"Zoho-oauthtoken {token.value}"},
                path=path,
                secrets=self._secrets(token),
                retryable=_retryable,
                **self._request_options,
            )
            self._note_quota(answer)
            if answer.status == 401 and attempt == 1:
                self.log.info(
                    "Zoho Invoice refused the access token for %s (code %s); refreshing it once",
                    path,
                    answer_code(answer.body),
                )
                token = self.tokens.replace(token)
                continue
            return self._document(answer, path, token)
        raise AssertionError("unreachable")

    def _document(self, answer: Answer, path: str, token: AccessToken) -> dict[str, Any]:
        secrets = self._secrets(token)
        try:
            document = decode_object(answer.body, path=path, status_code=answer.status, secrets=secrets)
        except ZohoInvoiceResponseError:
            if answer.status == 401:
                raise ZohoInvoiceAuthError(
                    401, "Zoho Invoice refused a freshly issued access token", path=path, permanent=True
                ) from None
            raise
        if document.get("code") != 0:
            error = api_error(document, path=path, reset_seconds=self.quota.get("reset"))
            if isinstance(error, ZohoInvoiceAuthError):
                error.permanent = True  # a fresh token was refused too: waiting will not change that
            raise error
        if answer.status >= 400:
            raise ZohoInvoiceResponseError(
                f"Zoho Invoice answered {path} with HTTP {answer.status} but code 0",
                status_code=answer.status,
                snippet=snippet(answer.body, secrets),
            )
        return document

    def _note_quota(self, answer: Answer) -> None:
        values = {}
        for name in ("limit", "remaining", "reset"):
            raw = answer.headers.get(f"X-Rate-Limit-{name.capitalize()}")
            if raw is not None and raw.strip().lstrip("-").isdigit():
                values[name] = int(raw)
        if values:
            with self._quota_lock:
                self.quota.update(values)
                snapshot = dict(self.quota)
            if self._shared_quota is not None:
                self._shared_quota.save(snapshot)

    def _check_quota(self) -> None:
        """Before a listing: what any task last saw of the daily quota (the shared store's, else ours)."""
        known = (self._shared_quota.load() if self._shared_quota is not None else {}) or dict(self.quota)
        limit, remaining = known.get("limit"), known.get("remaining")
        if remaining is None:
            return
        minimum = self.config.min_daily_remaining
        if minimum is not None and remaining < minimum:
            raise ZohoInvoiceQuotaError(
                None,
                f"only {remaining} of today's {limit} API calls are left, below the connection's "
                f"min_daily_remaining ({minimum})",
                remedy="The listing was not started. The quota resets at midnight in the organization's "
                "time zone; lower min_daily_remaining to spend what is left",
            )
        if limit and remaining < limit * LOW_QUOTA_SHARE:
            self.log.warning(
                "Zoho Invoice daily API quota is nearly spent before this listing: %d of %d calls left",
                remaining,
                limit,
            )

    def _log_quota(self) -> None:
        limit, remaining = self.quota.get("limit"), self.quota.get("remaining")
        if limit is None or remaining is None:
            return
        reset = self.quota.get("reset", 0)
        when = f"resets in {reset // 3600} h {reset % 3600 // 60} min"
        if limit > 0 and remaining < limit * LOW_QUOTA_SHARE:
            self.log.warning(
                "Zoho Invoice daily API quota is nearly spent: %d of %d calls left (%s)",
                remaining,
                limit,
                when,
            )
        else:
            self.log.info("Zoho Invoice daily API quota: %d of %d calls left (%s)", remaining, limit, when)

    # -- organization ---------------------------------------------------------------------------

    def organizations(self) -> list[dict[str, Any]]:
        """The organizations the refresh token's user belongs to."""
        document = self._send("GET", "/organizations", organization=False)
        found = document.get("organizations")
        return found if isinstance(found, list) else []

    @cached_property
    def organization_id(self) -> str:
        """The connection's organization, or the account's only one."""
        configured = self.config.organization_id
        if configured:
            return configured
        found = self.organizations()
        if len(found) == 1:
            organization_id = str(found[0].get("organization_id"))
            self.log.info(
                "Using Zoho Invoice organization %s (%s), the account's only one",
                organization_id,
                found[0].get("name"),
            )
            return organization_id
        if not found:
            raise ZohoInvoiceConfigError(
                f"Connection '{self.zoho_invoice_conn_id}': the Zoho account has no Zoho Invoice "
                "organization; create one in Zoho Invoice or use the account that owns it"
            )
        listed = "; ".join(f"{org.get('organization_id')} ({org.get('name')})" for org in found)
        raise ZohoInvoiceConfigError(
            f"Connection '{self.zoho_invoice_conn_id}': the account belongs to {len(found)} organizations "
            f"({listed}); set the 'organization_id' extra to the one to use"
        )

    # -- API ------------------------------------------------------------------------------------

    def call(
        self, method: str, path: str, *, params: dict[str, Any] | None = None, json: Any = None
    ) -> dict[str, Any]:
        """Any v3 endpoint (``path`` relative to ``/invoice/v3``), writes included; returns Zoho's object."""
        verb = method.upper()
        if verb not in _METHODS:
            raise ValueError(f"method must be one of {', '.join(_METHODS)} (got {method!r})")
        if not path.startswith("/") or any(part in path for part in ("..", "?", "#", "://")):
            raise ValueError(f"path must be an API path such as '/invoices/123' (got {path!r})")
        return self._send(verb, path, params=params, json_body=json, organization=path != "/organizations")

    def list_records(
        self,
        resource_name: str,
        *,
        params: dict[str, Any] | None = None,
        per_page: int = MAX_PER_PAGE,
        max_records: int | None = None,
        concurrency: int = 1,
        modified_since: datetime | str | None = None,
        modified_before: datetime | str | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every record of a list resource, in Zoho's order, each exactly as Zoho sent it.

        There is no page count, so with ``concurrency`` above 1 the next pages are fetched
        speculatively; records still come in order and once, and at most ``concurrency``
        requests go past the last page.

        With ``modified_since`` and/or ``modified_before`` (timezone-aware datetimes or ISO-8601
        strings), exactly the records whose ``last_modified_time`` lies in
        ``[modified_since, modified_before)``, in that order, once each (see :meth:`_keyset`).
        """
        found = resource(resource_name)
        query = _check_params(params)
        since, before = check_interval(modified_since, modified_before)
        self._check_quota()
        if since is not None or before is not None:
            return self._interval(found, query, check_per_page(per_page, rendered=True),
                                  check_max_items(max_records, rendered=True), check_concurrency(concurrency),
                                  since, before)  # fmt: skip
        return self._iter_records(
            found,
            query,
            check_per_page(per_page, rendered=True),
            check_max_items(max_records, rendered=True),
            check_concurrency(concurrency),
        )

    def _page(
        self, found: Resource, query: dict[str, Any], page: int, per_page: int
    ) -> tuple[list[Any], bool]:
        document = self._send("GET", found.path, params={**query, "page": page, "per_page": per_page})
        return self._records_of(found, document)

    def _records_of(self, found: Resource, document: dict[str, Any]) -> tuple[list[Any], bool]:
        records = document.get(found.list_key)
        if not isinstance(records, list):
            raise ZohoInvoiceResponseError(
                f"Zoho Invoice's answer to {found.path} has no '{found.list_key}' list"
            )
        context = document.get("page_context")
        has_more = bool(context.get("has_more_page")) if isinstance(context, dict) else False
        return records, has_more

    def _iter_records(
        self, found: Resource, query: dict[str, Any], per_page: int, max_records: int | None, concurrency: int
    ) -> Iterator[dict[str, Any]]:
        if max_records == 0:
            return
        recent = _RecentIds()
        emitted = 0
        first = True
        for records in self._pages(found, query, per_page, concurrency):
            if first:
                self._log_quota()
                first = False
            recent.new_page()
            for record in records:
                if recent.add_if_new(record.get(found.id_field) if isinstance(record, dict) else None):
                    yield record
                    emitted += 1
                    if max_records is not None and emitted >= max_records:
                        return

    def _pages(
        self, found: Resource, query: dict[str, Any], per_page: int, concurrency: int
    ) -> Iterator[list[Any]]:
        if concurrency == 1:
            page, more = 1, True
            while more:
                records, more = self._page(found, query, page, per_page)
                yield records
                page += 1
            return
        records, more = self._page(found, query, 1, per_page)  # the first page: token, organization, quota
        yield records
        if not more:
            return
        self.transport.ensure_pool(concurrency)
        in_flight: deque[Future[tuple[list[Any], bool]]] = deque()
        executor = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="zoho-invoice-page")
        next_page = 2
        try:
            while True:
                while more and len(in_flight) < concurrency:
                    in_flight.append(executor.submit(self._page, found, query, next_page, per_page))
                    next_page += 1
                if not in_flight:
                    return
                records, page_more = in_flight.popleft().result()
                yield records
                if not page_more:
                    return  # later speculative pages are past the end: dropped unread
        finally:
            for future in in_flight:
                future.cancel()
            executor.shutdown(wait=True, cancel_futures=True)

    # -- extraction by modification time -------------------------------------------------------

    def _interval(
        self,
        found: Resource,
        query: dict[str, Any],
        per_page: int,
        max_records: int | None,
        concurrency: int,
        since: datetime | None,
        before: datetime | None,
    ) -> Iterator[dict[str, Any]]:
        if found.interval_strategy == SNAPSHOT_ONLY:
            raise ValueError(
                f"{found.name} carry no modification time, so they cannot be extracted by interval: "
                "list them whole (no modified_since/modified_before; the operator's mode='snapshot')"
            )
        managed = sorted(key for key in query if key in ("last_modified_time", "sort_column", "sort_order"))
        if managed:
            raise ValueError(
                f"params must not set {', '.join(managed)} with modified_since/modified_before: "
                "the hook sets them"
            )
        records = (
            self._keyset(found, query, per_page, since, before)
            if found.interval_strategy == KEYSET
            else self._scan(found, query, per_page, concurrency, since, before)
        )
        return islice(records, max_records) if max_records is not None else records

    def _modified_page(
        self, found: Resource, query: dict[str, Any], cursor: datetime | None, page: int, per_page: int
    ) -> tuple[list[tuple[datetime, dict[str, Any]]], bool]:
        """One page in ``last_modified_time`` order from ``cursor`` on, each record with its time."""
        params = {
            **query,
            "sort_column": "last_modified_time",
            "sort_order": "A",
            "page": page,
            "per_page": per_page,
        }
        if cursor is not None:
            params["last_modified_time"] = format_zoho_time(cursor)
        document = self._send("GET", found.path, params=params)
        records, more = self._records_of(found, document)
        return [(self._timestamp(found, record), record) for record in records], more

    def _timestamp(self, found: Resource, record: Any) -> datetime:
        moment = parse_zoho_time(record.get("last_modified_time") if isinstance(record, dict) else None)
        if moment is None:  # never skip a record silently: an interval would lose it
            raise ZohoInvoiceResponseError(
                f"A {found.record_key} from {found.path} has no readable last_modified_time "
                f"({found.id_field} {record.get(found.id_field) if isinstance(record, dict) else '?'}); "
                "extract this resource with mode='snapshot'"
            )
        return moment

    def _keyset(
        self,
        found: Resource,
        query: dict[str, Any],
        per_page: int,
        since: datetime | None,
        before: datetime | None,
    ) -> Iterator[dict[str, Any]]:
        """Keyset paging on ``last_modified_time``: exact while Zoho changes under the listing.

        Offset pages shift when a record is edited during a listing (it moves to the end of
        the order), so each request continues from the last timestamp seen instead; ids already
        emitted at that timestamp are dropped. Many records can share one timestamp (bulk
        imports): such a block is read page by page, then read again from its start, because an
        edit that moves one of its records away shifts the rest of the block onto pages already read.
        """
        cursor = since.replace(microsecond=0) if since is not None else None  # Zoho's filter has seconds
        seen: set[Any] = set()  # ids already emitted whose last_modified_time equals the cursor
        id_field = found.id_field
        page, block_pages = 1, 0
        while True:
            rows, more = self._modified_page(found, query, cursor, page, per_page)
            later_start = 0
            for moment, record in rows:  # first the records at the cursor's own time
                if moment != cursor:
                    break
                later_start += 1
                if before is not None and moment >= before:
                    return
                record_id = record.get(id_field)
                if record_id not in seen:
                    seen.add(record_id)
                    if since is None or moment >= since:
                        yield record
            if later_start == len(rows) and more and cursor is not None:
                page, block_pages = page + 1, block_pages + 1  # the whole page shares the cursor's time
                continue
            if block_pages:
                yield from self._reread_block(found, query, cursor, per_page, before, seen)
                block_pages = 0
            for moment, record in rows[later_start:]:
                if cursor is not None and moment < cursor:
                    raise ZohoInvoiceResponseError(
                        f"Zoho Invoice did not order {found.path} by last_modified_time as asked"
                    )
                if before is not None and moment >= before:
                    return
                yield record
            if not more or not rows:
                return
            last = rows[-1][0]
            if last != cursor:
                seen = {record.get(id_field) for moment, record in rows[later_start:] if moment == last}
            cursor, page = last, 1

    def _reread_block(
        self,
        found: Resource,
        query: dict[str, Any],
        cursor: datetime | None,
        per_page: int,
        before: datetime | None,
        seen: set[Any],
    ) -> Iterator[dict[str, Any]]:
        """Read a multi-page block at ``cursor`` again for records that shifted onto pages already read."""
        for attempt in range(1, MAX_BLOCK_REREADS + 1):
            found_new, page = False, 1
            while True:
                rows, more = self._modified_page(found, query, cursor, page, per_page)
                block = [(moment, record) for moment, record in rows if moment == cursor]
                for moment, record in block:
                    record_id = record.get(found.id_field)
                    if (before is None or moment < before) and record_id not in seen:
                        seen.add(record_id)
                        found_new = True
                        yield record
                if len(block) < len(rows) or not more:
                    break
                page += 1
            if not found_new:
                return
            self.log.warning(
                "Records of %s sharing last_modified_time %s shifted between pages while being read "
                "(pass %d); reading them again",
                found.path,
                format_zoho_time(cursor) if cursor else "?",
                attempt,
            )

    def _scan(
        self,
        found: Resource,
        query: dict[str, Any],
        per_page: int,
        concurrency: int,
        since: datetime | None,
        before: datetime | None,
    ) -> Iterator[dict[str, Any]]:
        """Every page, filtered and ordered here: for resources Zoho will not sort by modification time."""
        self.log.info(
            "Zoho Invoice cannot filter %s by modification time; reading every page and filtering here",
            found.name,
        )
        chosen = []
        for record in self._iter_records(found, query, per_page, None, concurrency):
            moment = self._timestamp(found, record)
            if (since is None or moment >= since) and (before is None or moment < before):
                chosen.append((moment, str(record.get(found.id_field)), record))
        chosen.sort(key=lambda row: (row[0], row[1]))
        for _, _, record in chosen:
            yield record

    def get_record(self, resource_name: str, record_id: str) -> dict[str, Any]:
        """One record by ID; an unknown ID raises ZohoInvoiceAPIError (code 1002 on Zoho)."""
        found = resource(resource_name)
        record_id = _check_id(record_id, found.id_field)
        document = self._send("GET", f"{found.path}/{quote(record_id)}")
        record = document.get(found.record_key)
        if not isinstance(record, dict):
            raise ZohoInvoiceResponseError(
                f"Zoho Invoice's answer to {found.path}/{record_id} has no '{found.record_key}' object"
            )
        return record

    def list_items(
        self, *, per_page: int = MAX_PER_PAGE, max_items: int | None = None, concurrency: int = 1
    ) -> Iterator[dict[str, Any]]:
        """Every item, as Zoho's JSON objects."""
        return self.list_records("items", per_page=per_page, max_records=max_items, concurrency=concurrency)

    def get_item(self, item_id: str) -> dict[str, Any]:
        return self.get_record("items", item_id)

    def find_item(self, *, item_id: str | None = None, name: str | None = None) -> dict[str, Any] | None:
        """The item with this ID, or the first with exactly this name; None if there is none (yet)."""
        if bool(item_id) == bool(name):
            raise ValueError("find_item needs exactly one of item_id or name")
        if item_id:
            try:
                return self.get_item(item_id)
            except ZohoInvoiceAPIError as exc:
                if exc.code == CODE_NOT_FOUND:
                    return None
                raise
        # Zoho filters by name on the server; the exact comparison guards against a looser match.
        matches = self.list_records("items", params={"name": name})
        return next((item for item in matches if item.get("name") == name), None)

    def check_credentials(self) -> None:
        """One cheap authenticated call; raises ZohoInvoiceAuthError if Zoho rejects the credentials."""
        self._send("GET", "/organizations", organization=False)

    def validate_token(self) -> bool:
        """True if Zoho accepts the credentials, False if it rejects them; other failures raise."""
        try:
            self.check_credentials()
        except ZohoInvoiceAuthError:
            return False
        return True

    def test_connection(self) -> tuple[bool, str]:
        """One attempt per request with a short timeout, for the UI's Test button; never raises.

        It refreshes a token for real, bypassing the shared store: a cached token would hide a
        wrong Client Secret until it expired.
        """
        try:
            self.__dict__["tokens"] = TokenManager(MemoryTokenStore(), self._refresh_access_token)
            settings = self.config.transport
            self._request_options = {
                "max_retries": 0,
                "timeout": (
                    min(settings.connect_timeout, TEST_TIMEOUT),
                    min(settings.read_timeout, TEST_TIMEOUT),
                ),
            }
            organization = self.organization_id
            return True, f"Zoho Invoice accepted the OAuth credentials (organization {organization})."
        except ZohoInvoiceError as exc:
            return False, for_connection_test(str(exc), self.zoho_invoice_conn_id)
        except Exception as exc:
            secrets = self.__dict__["config"].secrets if "config" in self.__dict__ else ()
            return False, f"{type(exc).__name__}: {redact(str(exc), secrets)}"
        finally:
            self._request_options = {}


def _check_params(params: Any) -> dict[str, Any]:
    if params is None:
        return {}
    if not isinstance(params, dict):
        raise ValueError(f"params must be a dict of query parameters (got {type(params).__name__})")
    reserved = sorted(key for key in params if key in ("page", "per_page", "organization_id"))
    if reserved:
        raise ValueError(
            f"params must not set {', '.join(reserved)}: the hook manages paging and organization"
        )
    for key, value in params.items():
        if not isinstance(key, str) or not isinstance(value, (str, int)) or isinstance(value, bool):
            raise ValueError(f"params[{key!r}] must be text or a whole number")
    return dict(params)


def _check_id(record_id: Any, field: str) -> str:
    text = str(record_id).strip()
    if not text or not all(ch.isalnum() or ch in "-_" for ch in text):
        raise ValueError(f"{field} must be a non-empty Zoho ID such as '460000000012345' (got {record_id!r})")
    return text


def _token_directory() -> Path:
    """``[zoho_invoice] token_cache_dir`` if set (a volume shared by workers), else under AIRFLOW_HOME."""
    from airflow_provider_zoho_invoice.compat import conf

    configured = conf.get("zoho_invoice", "token_cache_dir", fallback=None)
    return Path(configured) if configured else default_token_directory()
