"""ZohoInvoiceOAuthHook: Zoho Invoice API v3 with OAuth 2.0 refresh tokens, for real Zoho accounts."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from datetime import datetime
from functools import cached_property
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from airflow_provider_zoho_invoice.arguments import (
    check_concurrency,
    check_interval,
    check_max_items,
    check_per_page,
    clamp_to_now,
)
from airflow_provider_zoho_invoice.compat import mask_secrets
from airflow_provider_zoho_invoice.exceptions import (
    ZohoInvoiceResponseError,
)
from airflow_provider_zoho_invoice.hooks.base import Listing, ZohoInvoiceBaseHook, check_id
from airflow_provider_zoho_invoice.inflight import MachineSlots, Slots
from airflow_provider_zoho_invoice.transport import Transport
from airflow_provider_zoho_invoice.v3 import incremental
from airflow_provider_zoho_invoice.v3.answers import (
    answer_code,
    api_document,
    encode,
    json_safe,
    missing_scope,
    only_organization,
    refused_unprocessed,
    retryable,
    too_many_in_process,
)
from airflow_provider_zoho_invoice.v3.config import (
    ZohoInvoiceOAuthConfig,
    api_root,
    oauth_config_from_connection,
)
from airflow_provider_zoho_invoice.v3.constants import (
    CODE_ITEM_NOT_FOUND,
    CODE_NOT_FOUND,
    CONN_TYPE,
    MAX_PER_PAGE,
    ORGANIZATION_HEADER,
)
from airflow_provider_zoho_invoice.v3.filter_facts import FactsFile, FactsMemory, FilterFacts, measure
from airflow_provider_zoho_invoice.v3.intervals import interval_records
from airflow_provider_zoho_invoice.v3.listing import Page, check_params, offset_records, records_of
from airflow_provider_zoho_invoice.v3.oauth import OAuthClient
from airflow_provider_zoho_invoice.v3.quota import Quota
from airflow_provider_zoho_invoice.v3.resources import KEYSET, Resource, check_write, resource, scope_for
from airflow_provider_zoho_invoice.v3.tokens import (
    AccessToken,
    FileTokenStore,
    MemoryTokenStore,
    TokenManager,
    TokenStore,
    default_token_directory,
    store_key,
)
from airflow_provider_zoho_invoice.v3.upsert import Upsert
from airflow_provider_zoho_invoice.v3.writes import check_rows

if TYPE_CHECKING:
    from airflow_provider_zoho_invoice.v3.redis_store import SharedFacts, SharedStore

    FactsStore = FactsFile | FactsMemory | SharedFacts

_METHODS = ("GET", "POST", "PUT", "DELETE")

FRESH_TOKEN_SECONDS = 120.0
"""A 401 for a token younger than this (and not yet accepted for the call's scope) is a missing
scope, not an expiry: Zoho answers both alike (HTTP 401, code 57)."""


class ZohoInvoiceOAuthHook(ZohoInvoiceBaseHook):
    """Talk to Zoho Invoice API v3 with the credentials of a ``zoho_invoice_oauth`` connection.

    Nothing is looked up or sent until the first call, because hooks are built at
    DAG-parse time. Access tokens are shared with every task on the machine through
    the connection's ``token_cache`` so that Zoho's limit on new tokens is never hit.

    Arguments: see :class:`~airflow_provider_zoho_invoice.hooks.base.ZohoInvoiceBaseHook`, and
    ``token_cache`` (overrides the connection's: ``file``, ``none`` or a Redis URL).
    """

    conn_type = CONN_TYPE
    hook_name = "Zoho Invoice (OAuth 2.0)"
    item_not_found_codes = frozenset({CODE_NOT_FOUND, CODE_ITEM_NOT_FOUND})  # documented: 2006; seen: 1002

    def __init__(
        self,
        zoho_invoice_conn_id: str = ZohoInvoiceBaseHook.default_conn_name,
        *,
        token_cache: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(zoho_invoice_conn_id, **kwargs)
        self._overrides["token_cache"] = token_cache
        self._accepted: set[tuple[str, str]] = set()
        """(access token, scope) pairs Zoho accepted: a later 401 for one of them is an expiry."""
        self.api_calls = 0
        """API calls this hook sent (Zoho Accounts' token requests are not API calls)."""

    # -- wiring ---------------------------------------------------------------------------------

    @cached_property
    def config(self) -> ZohoInvoiceOAuthConfig:
        """The connection, read once and checked; its secrets are registered with Airflow's masker."""
        connection = self.connection
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
        from airflow_provider_zoho_invoice.v3.redis_store import SharedStore

        return SharedStore(url, log=self.log)

    def _organization_key(self) -> str:
        """Whose request budget and quota: the organization when configured, else the client."""
        config = self.config
        return store_key(config.organization_id or f"{config.accounts_url}\n{config.client_id}")

    @cached_property
    def transport(self) -> Transport:
        settings, limiter = self.config.transport, None
        if self.shared is not None and settings.requests_per_minute > 0:
            key = self._organization_key()
            limiter = self.shared.rate_limiter(settings.requests_per_minute, key, settings.rate_window)
        return Transport(
            settings,
            log=self.log,
            accept="application/json",
            limiter=limiter,
            slots=self._in_flight_slots(),
            brief_refusal=too_many_in_process,
        )

    def _in_flight_slots(self) -> Slots | None:
        """Zoho's limit on an organization's requests in process (code 1070 beyond), kept here."""
        limit = self.config.max_in_flight
        if limit <= 0:
            return None
        key = self._organization_key()
        machine = MachineSlots(_token_directory(), key, limit, warn=self.log.warning)
        if self.shared is None:
            return machine
        lease = self.config.transport.deadline + self.config.transport.connect_timeout
        return self.shared.slots(key, limit, lease=lease, machine=machine)

    @cached_property
    def quota(self) -> Quota:
        """What Zoho last said of the organization's daily quota."""
        shared = self.shared.quota(self._organization_key()) if self.shared is not None else None
        return Quota(log=self.log, min_daily_remaining=self.config.min_daily_remaining, shared=shared)

    @cached_property
    def oauth(self) -> OAuthClient:
        return OAuthClient(
            self.transport, self.config, conn_id=self.zoho_invoice_conn_id, log=self.log, reveal=mask_secrets
        )

    @cached_property
    def tokens(self) -> TokenManager:
        config = self.config
        client_id, client_secret, refresh_token = config.require_credentials(self.zoho_invoice_conn_id)
        # The secret is part of the key: a token another connection minted must not hide a wrong one.
        key = store_key(config.accounts_url, client_id, client_secret, refresh_token)
        if config.token_cache == "none":  # noqa: S105 - a store kind, not a secret
            store: TokenStore = MemoryTokenStore()
        else:
            store = FileTokenStore(
                _token_directory(),
                key,
                on_lock_timeout=lambda: self.log.warning(
                    "Another process held the Zoho token lock too long; refreshing without it"
                ),
                warn=self.log.warning,
            )
            if self.shared is not None:
                store = self.shared.token_store(key, fallback=store)
        return TokenManager(store, self.oauth.refresh)

    def exchange_grant_code(self, code: str) -> str:
        """Trade a Self Client grant code for a refresh token (done once, at set-up)."""
        return self.oauth.exchange_grant_code(code)

    def _api_base(self, token: AccessToken) -> str:
        return api_root(self.config, token.api_domain, self.zoho_invoice_conn_id)

    # -- requests -------------------------------------------------------------------------------

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        organization: bool = True,
        abandoned: threading.Event | None = None,
        page: int | None = None,
        write: bool = False,
    ) -> dict[str, Any]:
        """One API call with the access token; a 401 refreshes the token once and repeats the call.

        A ``write`` is sent again only after an answer saying Zoho did nothing (401, 429): after
        a lost answer or a 5xx the caller must find out whether it was carried out.
        """
        shown = path if page is None else f"{path} (page {page})"  # what logs and errors name
        headers = {ORGANIZATION_HEADER: self.organization_id} if organization else {}
        body = None
        if json_body is not None:  # exact numbers: Decimal amounts go out as the text they hold
            body, json_body = encode(json_body), None
            headers["Content-Type"] = "application/json"
        token = self.tokens.get()
        scope = scope_for(path, method)
        for attempt in (1, 2):
            self.api_calls += 1
            answer = self.transport.request(
                method,
                f"{self._api_base(token)}{path}",
                params=params,
                data=body,
                headers={**headers, "Authorization": f"Zoho-oauthtoken {token.value}"},
                path=shown,
                secrets=(*self.config.secrets, token.value),
                retryable=refused_unprocessed if write else retryable,
                abandoned=abandoned,
                resend_after_failure=not write,
            )
            self.quota.note(answer.headers)
            if answer.status == 401:
                code, age = answer_code(answer.body), time.time() - token.issued_at
                if attempt == 2 or (age < FRESH_TOKEN_SECONDS and (token.value, scope) not in self._accepted):
                    raise missing_scope(shown, code, scope, token_age=age)
                self.log.info(
                    "Zoho Invoice refused the access token for %s (code %s); refreshing it once", shown, code
                )
                token = self.tokens.replace(token)
                continue
            if answer.status < 400:
                self._accepted.add((token.value, scope))
            return api_document(
                answer.status,
                answer.body,
                path=shown,
                secrets=(*self.config.secrets, token.value),
                reset_seconds=self.quota.reset_seconds,
            )
        raise AssertionError("unreachable")

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
        chosen = only_organization(self.organizations(), self.zoho_invoice_conn_id)
        organization_id = str(chosen.get("organization_id"))
        self.log.info(
            "Using Zoho Invoice organization %s (%s), the account's only one",
            organization_id,
            chosen.get("name"),
        )
        return organization_id

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
        ``[modified_since, modified_before)``, in that order, once each
        (see :mod:`~airflow_provider_zoho_invoice.v3.incremental`).
        """
        found = resource(resource_name)
        query = check_params(params)
        since, before = check_interval(modified_since, modified_before)
        per_page = check_per_page(per_page, rendered=True)
        max_records = check_max_items(max_records, rendered=True)
        concurrency = check_concurrency(concurrency)
        if since is not None or before is not None:
            incremental.check_interval_query(found, query)
            before = clamp_to_now(before)
        self.quota.check_before_listing()
        self.quota.begin_listing()
        self.transport.begin_listing()
        if since is None and before is None:
            return self._offset_records(found, query, per_page, max_records, concurrency)
        if found.interval_strategy == KEYSET:
            records = self._interval_records(found, query, per_page, concurrency, since, before)
        else:
            self.log.info(
                "Zoho Invoice cannot filter %s by modification time; reading every page and filtering here",
                found.name,
            )
            every = self._offset_records(found, query, per_page, None, concurrency)
            records = incremental.scan(every, found, since=since, before=before, log=self.log)
        return islice(records, max_records) if max_records is not None else records

    def _offset_records(
        self, found: Resource, query: dict[str, Any], per_page: int, max_records: int | None, concurrency: int
    ) -> Iterator[dict[str, Any]]:
        past_the_end = threading.Event()  # set when the listing ends: speculative pages stop retrying

        def fetch(page: int) -> Page:
            params = {**query, "page": page, "per_page": per_page}
            document = self._send("GET", found.path, params=params, abandoned=past_the_end, page=page)
            return records_of(found, document, per_page=per_page, page=page)

        if concurrency > 1:
            self.transport.ensure_pool(concurrency)
            self.tokens.get()  # before the page workers start, so that they all find them
            self.organization_id  # noqa: B018
        return offset_records(
            fetch,
            found,
            max_records=max_records,
            concurrency=concurrency,
            abandoned=past_the_end,
            budget_bound=self.transport.budget_bound,
        )

    def _interval_records(
        self,
        found: Resource,
        query: dict[str, Any],
        per_page: int,
        concurrency: int,
        since: datetime | None,
        before: datetime | None,
    ) -> Iterator[dict[str, Any]]:
        def list_page(extra: dict[str, Any], page: int) -> Page:
            params = {**query, "page": page, "per_page": per_page, **extra}
            document = self._send("GET", found.path, params=params, page=page)
            return records_of(found, document, per_page=params["per_page"], page=page)

        def facts(again: bool) -> FilterFacts:
            known = None if again else self.filter_facts.load(found.name)
            return known if known is not None and known.fresh() else self.measure_filter(found.name)

        return interval_records(
            found,
            list_page=list_page,
            every_record=lambda: self._offset_records(found, query, per_page, None, concurrency),
            facts=facts,
            since=since,
            before=before,
            log=self.log,
        )

    @cached_property
    def filter_facts(self) -> FactsStore:
        """What was measured of Zoho's ``last_modified_time`` filter, shared like the access token."""
        if self.config.token_cache == "none":  # noqa: S105 - a store kind, not a secret
            return FactsMemory()
        key = store_key(self.config.api_domain or "", str(self.organization_id))
        on_file = FactsFile(_token_directory() / f"filters-{key}.json", log=self.log)
        return self.shared.filter_facts(key, on_file) if self.shared is not None else on_file

    def measure_filter(self, resource_name: str) -> FilterFacts:
        """Measure what ``last_modified_time`` does on this account (two or three requests) and keep it."""
        found = resource(resource_name)

        def fetch(params: dict[str, Any]) -> Page:
            document = self._send("GET", found.path, params={"page": 1, **params})
            return records_of(found, document, per_page=params["per_page"], page=1)

        facts = measure(fetch, found)
        if facts.settled:
            self.filter_facts.save(found.name, facts)
        self.log.info(
            "Zoho Invoice's last_modified_time filter on %s reads as %s (measured with %d requests): "
            "intervals are extracted by %s",
            found.name,
            facts.reading,
            facts.requests,
            facts.strategy(),
        )
        return facts

    def upsert_records(
        self,
        resource_name: str,
        rows: Iterable[dict[str, Any]],
        *,
        match_on: str,
        mode: str = "upsert",
        dry_run: bool = False,
    ) -> Iterator[dict[str, Any]]:
        """Create or update one record per row, each key once; one result per row, in input order.

        ``mode``: ``upsert``; ``create`` (keys already in Zoho are ``unchanged``, never written);
        ``update`` (keys not in Zoho are ``failed``). A key is looked up before it is created,
        and again after a lost answer, so no retry makes a second record. Bad rows are refused
        before any request; Zoho's refusal of one row fails that row only.
        """
        found = check_write(resource_name, match_on, mode)
        checked = check_rows(rows, match_on)
        self.transport.begin_listing()

        def create(row: dict[str, Any]) -> dict[str, Any]:
            return self._written(found, self._send("POST", found.path, json_body=row, write=True))

        def update(record_id: str, row: dict[str, Any]) -> dict[str, Any]:
            path = f"{found.path}/{quote(record_id)}"
            return self._written(found, self._send("PUT", path, json_body=row, write=True))

        upsert = Upsert(
            found,
            match_on=match_on,
            mode=mode,
            dry_run=dry_run,
            create=create,
            update=update,
            fetch=lambda record_id: self.get_record(found.name, record_id),
            having=lambda key: list(self.list_records(found.name, params={match_on: key})),
            every=lambda: self.list_records(found.name),
            log=self.log,
        )

        def before_writing() -> None:
            if not dry_run:
                self.quota.check_room(len(checked))

        return upsert.run(checked, before_writing=before_writing)

    def _written(self, found: Resource, document: dict[str, Any]) -> dict[str, Any]:
        record = document.get(found.record_key)
        if not isinstance(record, dict):
            raise ZohoInvoiceResponseError(
                f"Zoho Invoice's answer to a write of {found.path} holds no record"
            )
        return record

    def get_record(self, resource_name: str, record_id: str) -> dict[str, Any]:
        """One record by ID; an unknown ID raises ZohoInvoiceAPIError (code 1002; 2006 for items)."""
        found = resource(resource_name)
        record_id = check_id(record_id, found.id_field)
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

    def _item_named(self, name: str) -> dict[str, Any] | None:
        # Zoho filters by name on the server; the exact comparison guards against a looser match.
        matches = self.list_records("items", params={"name": name})
        return next((item for item in matches if item.get("name") == name), None)

    def check_credentials(self) -> None:
        """One cheap authenticated call; raises ZohoInvoiceAuthError if Zoho rejects the credentials."""
        self._send("GET", "/organizations", organization=False)

    # -- the interface operators and sensors use ------------------------------------------------

    def _records(self, listing: Listing) -> Iterator[dict[str, Any]]:
        return self.list_records(
            listing.resource,
            params=listing.params,
            per_page=listing.per_page,
            max_records=listing.max_rows,
            concurrency=listing.concurrency,
            modified_since=listing.modified_since,
            modified_before=listing.modified_before,
        )

    def lineage_namespace(self) -> str:
        return f"zoho-invoice://{self.organization_id}"

    def as_row(self, record: Any) -> dict[str, Any]:
        row: dict[str, Any] = json_safe(record)
        return row

    def _test_overrides(self) -> dict[str, Any]:
        # A cached token would hide a wrong Client Secret until it expired: refresh one for real.
        return {"token_cache": "none"}

    def _test_call(self) -> str:
        if self.config.organization_id:
            self.check_credentials()
        return f"Zoho Invoice accepted the OAuth credentials (organization {self.organization_id})."


def _token_directory() -> Path:
    """``[zoho_invoice] token_cache_dir`` if set (a volume shared by workers), else under AIRFLOW_HOME."""
    from airflow_provider_zoho_invoice.compat import conf

    configured = conf.get("zoho_invoice", "token_cache_dir", fallback=None)
    return Path(configured) if configured else default_token_directory()
