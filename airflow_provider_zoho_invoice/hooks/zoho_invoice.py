"""ZohoInvoiceHook: the one place that turns a connection into authenticated Zoho Invoice calls."""

from __future__ import annotations

import math
from array import array
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from functools import cached_property
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import requests

from airflow_provider_zoho_invoice._redact import for_connection_test, redact, snippet
from airflow_provider_zoho_invoice._validation import (
    check_concurrency,
    check_max_items,
    check_page,
    check_per_page,
)
from airflow_provider_zoho_invoice.exceptions import (
    ZohoInvoiceAPIError,
    ZohoInvoiceAuthError,
    ZohoInvoiceError,
    ZohoInvoiceResponseError,
)
from airflow_provider_zoho_invoice.hooks.base import ZohoInvoiceBaseHook
from airflow_provider_zoho_invoice.hooks.config import (
    CONN_TYPE,
    ZohoInvoiceConnectionConfig,
    config_from_connection,
)
from airflow_provider_zoho_invoice.models import PageContext, ZohoInvoiceItem
from airflow_provider_zoho_invoice.parsing import (
    authtoken_error,
    parse_document,
    parse_items_page,
    parse_properties,
    parse_single_item,
)
from airflow_provider_zoho_invoice.protocol import (
    AUTHTOKEN_PATH,
    CODE_ITEM_NOT_FOUND,
    ITEMS_PATH,
    MAX_PER_PAGE,
)
from airflow_provider_zoho_invoice.transport import Transport, mask_secrets

if TYPE_CHECKING:
    pass

MAX_REREADS = 3
"""Extra passes over a catalogue that changes while it is listed."""

TEST_TIMEOUT = 10.0
"""Connect and read timeout of ``test_connection``: the UI waits for it."""


class _SeenItems:
    """Which item IDs a listing has emitted, in about 8 bytes per numeric ID.

    Pages can shift while a catalogue changes: an item may show up on two pages
    (emitted once) or slip onto a page already read (caught by a second pass).
    """

    def __init__(self) -> None:
        self._numeric = array("Q")
        self._other: set[str] = set()
        self._recent: deque[set[str]] = deque(maxlen=3)
        self._lookup: set[int] | None = None

    def start_page(self) -> None:
        self._recent.append(set())

    def add_if_new(self, item_id: str) -> bool:
        key = int(item_id) if item_id.isdigit() and len(item_id) < 20 else None
        if self._lookup is not None:
            if (key is not None and key in self._lookup) or item_id in self._other:
                return False
        else:
            for page in self._recent:
                if item_id in page:
                    return False
        self._recent[-1].add(item_id)
        if key is None:
            self._other.add(item_id)
        else:
            self._numeric.append(key)
            if self._lookup is not None:
                self._lookup.add(key)
        return True

    def full_lookup(self) -> None:
        """Switch to exact membership over everything emitted (used only after the catalogue changed)."""
        self._lookup = set(self._numeric)


class ZohoInvoiceHook(ZohoInvoiceBaseHook):
    """Talk to Zoho Invoice with the credentials of a ``zoho_invoice`` connection.

    Nothing is looked up or sent until the first call, because hooks are built at
    DAG-parse time. One ``requests.Session`` per hook keeps connections alive.

    Arguments: see :class:`~airflow_provider_zoho_invoice.hooks.base.ZohoInvoiceBaseHook`.
    """

    conn_type = CONN_TYPE
    hook_name = "Zoho Invoice"

    # -- connection ---------------------------------------------------------------------------

    @cached_property
    def config(self) -> ZohoInvoiceConnectionConfig:
        """The connection, read once and checked; its secrets are registered with Airflow's masker."""
        connection = self._fetch_connection()
        config = config_from_connection(
            conn_id=self.zoho_invoice_conn_id,
            host=connection.host,
            port=connection.port,
            password=connection.password,
            extra=connection.extra,
            overrides=self._overrides,
        )
        mask_secrets(config.authtoken, config.apikey)
        return config

    @cached_property
    def transport(self) -> Transport:
        return Transport(self.config.transport, log=self.log, accept="application/xml, text/xml, text/plain")

    @property
    def session(self) -> requests.Session:
        return self.transport.session

    def get_conn(self) -> requests.Session:
        return self.session

    def _post(
        self,
        url: str,
        form: dict[str, Any],
        *,
        path: str,
        secrets: tuple[str | None, ...],
        **options: Any,
    ) -> tuple[int, bytes]:
        """POST a form (credentials never go in a URL) with rate limiting, timeouts and retries."""
        answer = self.transport.request("POST", url, data=form, path=path, secrets=secrets, **options)
        return answer.status, answer.body

    def _api_post(self, path: str, params: dict[str, Any] | None = None, **options: Any) -> tuple[int, bytes]:
        config = self.config
        authtoken, apikey = config.require_credentials(self.zoho_invoice_conn_id)
        form = {"authtoken": authtoken, "apikey": apikey, "scope": config.scope, **(params or {})}
        return self._post(f"{config.base_url}{path}", form, path=path, secrets=config.secrets, **options)

    # -- API ------------------------------------------------------------------------------------

    def call(
        self, path: str, params: dict[str, Any] | None = None, *, method: str = "POST"
    ) -> dict[str, Any]:
        """Call an endpoint the hook does not wrap yet; returns ``<Response>`` as nested dicts.

        Only POST is offered: the protocol accepts it for every method, and it keeps the
        authtoken and API key in the request body instead of a URL that proxies and libraries log.
        """
        if method.upper() != "POST":
            raise ValueError(
                f"method {method!r} is not supported: credentials travel only in POST bodies, "
                "which Zoho Invoice accepts for every API method"
            )
        if not path.startswith("/api/") or ".." in path or "?" in path or "#" in path:
            raise ValueError(f"path must be an API path such as '/api/items/' (got {path!r})")
        status, body = self._api_post(path, params)
        return parse_document(body, path=path, status_code=status, secrets=self.config.secrets)

    def get_page(
        self, page: int, per_page: int = MAX_PER_PAGE, **options: Any
    ) -> tuple[list[ZohoInvoiceItem], PageContext]:
        """One page of the item listing (``page`` is 1-based)."""
        page, per_page = check_page(page), check_per_page(per_page)
        status, body = self._api_post(ITEMS_PATH, {"page": page, "per_page": per_page}, **options)
        return parse_items_page(body, path=ITEMS_PATH, status_code=status, secrets=self.config.secrets)

    def list_items(
        self, *, per_page: int = MAX_PER_PAGE, max_items: int | None = None, concurrency: int = 1
    ) -> Iterator[ZohoInvoiceItem]:
        """Every active item, in catalogue order, following the server's paging.

        With ``concurrency`` above 1, pages after the first are fetched by that many
        workers at once (all still under the rate limit) and yielded in order. Items are
        deduplicated by ItemID; if the catalogue changes during the listing, a warning is
        logged and the pages are read once more to pick up items that moved.
        """
        return self._iter_items(
            check_per_page(per_page, rendered=True),
            check_max_items(max_items, rendered=True),
            check_concurrency(concurrency),
        )

    def _iter_items(
        self, per_page: int, max_items: int | None, concurrency: int
    ) -> Iterator[ZohoInvoiceItem]:
        if max_items == 0:
            return
        seen = _SeenItems()
        emitted = 0
        for reread in range(MAX_REREADS + 1):
            totals: set[int] = set()
            for items, context in self._pages(per_page, max_items if reread == 0 else None, concurrency):
                totals.add(context.total)
                seen.start_page()
                for item in items:
                    if seen.add_if_new(item.item_id):
                        yield item
                        emitted += 1
                        if max_items is not None and emitted >= max_items:
                            return
            if len(totals) <= 1:
                return
            shown = ", ".join(str(total) for total in sorted(totals))
            if reread == MAX_REREADS:
                self.log.warning(
                    "The Zoho Invoice catalogue kept changing (totals seen: %s); after %d re-reads the "
                    "listing may miss items that moved between pages",
                    shown,
                    MAX_REREADS,
                )
                return
            self.log.warning(
                "The Zoho Invoice catalogue changed during the listing (totals seen: %s); "
                "reading it again for items that moved between pages",
                shown,
            )
            seen.full_lookup()

    def _pages(
        self, per_page: int, max_items: int | None, concurrency: int
    ) -> Iterator[tuple[list[ZohoInvoiceItem], PageContext]]:
        """Pages in order; later pages are prefetched by ``concurrency`` workers."""
        page_limit = math.inf if max_items is None else math.ceil(max_items / per_page)
        first = self.get_page(1, per_page)
        yield first
        known_pages = first[1].total_pages
        next_page = 2
        if concurrency == 1:
            while next_page <= min(known_pages, page_limit):
                items, context = self.get_page(next_page, per_page)
                yield items, context
                known_pages = context.total_pages
                next_page += 1
            return
        self.transport.ensure_pool(concurrency)
        in_flight: deque[Future[tuple[list[ZohoInvoiceItem], PageContext]]] = deque()
        executor = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="zoho-invoice-page")
        try:
            while True:
                # Twice as many pages queued as workers: a worker never idles while an earlier page waits.
                while len(in_flight) < 2 * concurrency and next_page <= min(known_pages, page_limit):
                    in_flight.append(executor.submit(self.get_page, next_page, per_page))
                    next_page += 1
                if not in_flight:
                    return
                items, context = in_flight.popleft().result()
                yield items, context
                known_pages = context.total_pages
        finally:
            for future in in_flight:
                future.cancel()
            executor.shutdown(wait=True, cancel_futures=True)

    def get_item(self, item_id: str) -> ZohoInvoiceItem:
        """One item by ID; an unknown ID raises ZohoInvoiceAPIError with code 1002."""
        item_id = str(item_id).strip()
        if not item_id or not all(ch.isalnum() or ch in "-_" for ch in item_id):
            raise ValueError(
                f"item_id must be a non-empty Zoho item ID such as '4000000002011' (got {item_id!r})"
            )
        path = f"{ITEMS_PATH}{quote(item_id)}"
        status, body = self._api_post(path)
        return parse_single_item(body, path=path, status_code=status, secrets=self.config.secrets)

    def find_item(self, *, item_id: str | None = None, name: str | None = None) -> ZohoInvoiceItem | None:
        """The item with this ID, or the first with exactly this name; None if there is none (yet).

        By name, the catalogue is read page by page until a match, as the API cannot filter.
        """
        if bool(item_id) == bool(name):
            raise ValueError("find_item needs exactly one of item_id or name")
        if item_id:
            try:
                return self.get_item(item_id)
            except ZohoInvoiceAPIError as exc:
                if exc.code == CODE_ITEM_NOT_FOUND:
                    return None
                raise
        return next((item for item in self.list_items() if item.name == name), None)

    def check_credentials(self) -> None:
        """One cheap authenticated call; raises ZohoInvoiceAuthError if Zoho rejects the credentials.

        The rejection is not ``permanent``: a newly issued API key starts working some time later.
        """
        self.get_page(1, 1)

    def validate_token(self) -> bool:
        """True if Zoho accepts the authtoken and API key, False if it rejects them; other failures raise."""
        try:
            self.check_credentials()
        except ZohoInvoiceAuthError:
            return False
        return True

    def generate_authtoken(self, email_id: str, password: str) -> str:
        """Create a permanent authtoken (Zoho Accounts' API mode).

        Do this once and store the token in the connection: Zoho caps the number of
        authtokens an account may hold, so a DAG must never mint one per run.
        """
        if not email_id or not password:
            raise ValueError("generate_authtoken needs both email_id and password")
        config = self.config
        url = f"{config.accounts_url}{AUTHTOKEN_PATH}"
        form = {"SCOPE": config.scope, "EMAIL_ID": email_id, "PASSWORD": password}
        secrets = (*config.secrets, password)
        status, body = self._post(url, form, path=AUTHTOKEN_PATH, secrets=secrets)
        values = parse_properties(body)
        result = values.get("RESULT", "").upper()
        if result == "TRUE" and values.get("AUTHTOKEN"):
            token = values["AUTHTOKEN"]
            mask_secrets(token)
            return token
        if result == "FALSE":
            raise authtoken_error(values.get("CAUSE") or "UNKNOWN")
        raise ZohoInvoiceResponseError(
            "Zoho Accounts answered the authtoken request without RESULT=TRUE or RESULT=FALSE",
            status_code=status,
            snippet=snippet(body, secrets),
        )

    def test_connection(self) -> tuple[bool, str]:
        """One cheap authenticated call, for the UI's Test button; never raises."""
        try:
            self.get_page(1, 1, max_retries=0, timeout=self._test_timeout())
            return True, "Zoho Invoice accepted the authtoken and API key."
        except ZohoInvoiceError as exc:
            return False, for_connection_test(str(exc), self.zoho_invoice_conn_id)
        except Exception as exc:
            secrets = self.__dict__["config"].secrets if "config" in self.__dict__ else ()
            return False, f"{type(exc).__name__}: {redact(str(exc), secrets)}"

    def _test_timeout(self) -> tuple[float, float]:
        settings = self.config.transport
        return min(settings.connect_timeout, TEST_TIMEOUT), min(settings.read_timeout, TEST_TIMEOUT)
