"""ZohoInvoiceHook: the legacy authtoken + API key XML API, over the shared transport."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import cached_property
from typing import Any
from urllib.parse import quote

from airflow_provider_zoho_invoice.arguments import (
    check_concurrency,
    check_max_items,
    check_page,
    check_per_page,
)
from airflow_provider_zoho_invoice.compat import mask_secrets
from airflow_provider_zoho_invoice.exceptions import (
    ZohoInvoiceConfigError,
    ZohoInvoiceResponseError,
)
from airflow_provider_zoho_invoice.hooks.base import Listing, ZohoInvoiceBaseHook, check_id
from airflow_provider_zoho_invoice.legacy.answers import (
    ITEM_FIELDS,
    PageContext,
    ZohoInvoiceItem,
    authtoken_error,
    parse_document,
    parse_items_page,
    parse_properties,
    parse_single_item,
)
from airflow_provider_zoho_invoice.legacy.config import ZohoInvoiceConnectionConfig, config_from_connection
from airflow_provider_zoho_invoice.legacy.constants import (
    AUTHTOKEN_PATH,
    CODE_ITEM_NOT_FOUND,
    CONN_TYPE,
    ITEMS_PATH,
    MAX_PER_PAGE,
)
from airflow_provider_zoho_invoice.legacy.listing import list_catalogue
from airflow_provider_zoho_invoice.redaction import snippet
from airflow_provider_zoho_invoice.transport import Transport


class ZohoInvoiceHook(ZohoInvoiceBaseHook):
    """Talk to Zoho Invoice with the credentials of a ``zoho_invoice`` connection.

    Nothing is looked up or sent until the first call, because hooks are built at
    DAG-parse time. One ``requests.Session`` per hook keeps connections alive.

    Arguments: see :class:`~airflow_provider_zoho_invoice.hooks.base.ZohoInvoiceBaseHook`.
    """

    conn_type = CONN_TYPE
    hook_name = "Zoho Invoice"
    item_not_found_codes = frozenset({CODE_ITEM_NOT_FOUND})

    @cached_property
    def config(self) -> ZohoInvoiceConnectionConfig:
        """The connection, read once and checked; its secrets are registered with Airflow's masker."""
        connection = self.connection
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

    def _post(
        self, url: str, form: dict[str, Any], *, path: str, secrets: tuple[str | None, ...]
    ) -> tuple[int, bytes]:
        """POST a form (credentials never go in a URL) with rate limiting, timeouts and retries."""
        answer = self.transport.request("POST", url, data=form, path=path, secrets=secrets)
        return answer.status, answer.body

    def _api_post(self, path: str, params: dict[str, Any] | None = None) -> tuple[int, bytes]:
        config = self.config
        authtoken, apikey = config.require_credentials(self.zoho_invoice_conn_id)
        form = {"authtoken": authtoken, "apikey": apikey, "scope": config.scope, **(params or {})}
        return self._post(f"{config.base_url}{path}", form, path=path, secrets=config.secrets)

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

    def get_page(self, page: int, per_page: int = MAX_PER_PAGE) -> tuple[list[ZohoInvoiceItem], PageContext]:
        """One page of the item listing (``page`` is 1-based)."""
        page, per_page = check_page(page), check_per_page(per_page)
        status, body = self._api_post(ITEMS_PATH, {"page": page, "per_page": per_page})
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
        per_page = check_per_page(per_page, rendered=True)
        max_items = check_max_items(max_items, rendered=True)
        concurrency = check_concurrency(concurrency)
        if concurrency > 1:
            self.transport.ensure_pool(concurrency)
        return list_catalogue(
            lambda page: self.get_page(page, per_page),
            per_page=per_page,
            max_items=max_items,
            concurrency=concurrency,
            log=self.log,
        )

    def get_item(self, item_id: str) -> ZohoInvoiceItem:
        """One item by ID; an unknown ID raises ZohoInvoiceAPIError with code 1002."""
        path = f"{ITEMS_PATH}{quote(check_id(item_id, 'item_id'))}"
        status, body = self._api_post(path)
        return parse_single_item(body, path=path, status_code=status, secrets=self.config.secrets)

    def _item_named(self, name: str) -> ZohoInvoiceItem | None:
        """The catalogue is read page by page until a match, as the legacy API cannot filter."""
        return next((item for item in self.list_items() if item.name == name), None)

    def check_credentials(self) -> None:
        """One cheap authenticated call; raises ZohoInvoiceAuthError if Zoho rejects the credentials.

        The rejection is not ``permanent``: a newly issued API key starts working some time later.
        """
        self.get_page(1, 1)

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

    # -- the interface operators and sensors use ------------------------------------------------

    def _records(self, listing: Listing) -> Iterator[ZohoInvoiceItem]:
        if listing.resource != "items" or listing.params or listing.modified_since or listing.modified_before:
            asked = listing.resource if listing.resource != "items" else "items by query or interval"
            raise ZohoInvoiceConfigError(
                f"Connection '{self.zoho_invoice_conn_id}' is a legacy '{CONN_TYPE}' connection, whose API "
                f"lists only the whole item catalogue: listing {asked} needs a 'zoho_invoice_oauth' "
                "connection (Zoho Invoice API v3)"
            )
        return self.list_items(
            per_page=listing.per_page, max_items=listing.max_rows, concurrency=listing.concurrency
        )

    def _file_row(self, record: Any) -> dict[str, Any]:
        return self.as_row(record)  # the JSON-safe form: rates as decimal text

    def csv_fields(self, resource: str) -> Sequence[str]:
        return ITEM_FIELDS  # one fixed shape, so even an empty file has its header

    def lineage_namespace(self) -> str:
        return f"zoho-invoice://{self.config.base_url.split('://', 1)[-1]}"

    def as_row(self, record: Any) -> dict[str, Any]:
        row: dict[str, Any] = record.to_dict()
        return row

    def _test_call(self) -> str:
        self.check_credentials()
        return "Zoho Invoice accepted the authtoken and API key."
