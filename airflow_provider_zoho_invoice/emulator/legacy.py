"""The emulator's legacy XML API and Zoho Accounts' authtoken API, byte for byte like Zoho's samples."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from airflow_provider_zoho_invoice.emulator.cache import PageCache
from airflow_provider_zoho_invoice.emulator.catalogue import Catalogue, EmulatedItem
from airflow_provider_zoho_invoice.emulator.churn import Churn
from airflow_provider_zoho_invoice.emulator.faults import XML_TYPE, Serve
from airflow_provider_zoho_invoice.legacy.constants import (
    AUTHTOKEN_PATH,
    CODE_INVALID_APIKEY,
    CODE_INVALID_SCOPE,
    CODE_INVALID_TICKET,
    CODE_INVALID_VALUE,
    CODE_ITEM_NOT_FOUND,
    CODE_UNKNOWN_METHOD,
    DEFAULT_SCOPE,
    ITEMS_PATH,
    MAX_PER_PAGE,
)

DEFAULT_AUTHTOKEN = "emulator-authtoken"
DEFAULT_APIKEY = "emulator-apikey"
DEFAULT_EMAIL = "demo@example.com"
DEFAULT_PASSWORD = "emulator-password"  # noqa: S105 - the emulator's demo account

PROPERTIES_TYPE = "text/plain;charset=UTF-8"
ERROR_MESSAGES = {
    CODE_INVALID_TICKET: "Invalid Ticket Passed",
    CODE_INVALID_APIKEY: "Invalid API Key Passed",
    CODE_INVALID_SCOPE: "Invalid Scope Passed",
    CODE_ITEM_NOT_FOUND: "Item does not exist.",
    CODE_UNKNOWN_METHOD: "Invalid URL Passed",
}


@dataclass
class Account:
    """A Zoho account for the authtoken API; ``app_password`` is the two-factor accounts' way in."""

    password: str
    two_factor: bool = False
    app_password: str | None = None
    max_tokens: int = 20
    tokens: list[str] = field(default_factory=list)


def error_xml(code: int, message: str, *, seed_style: bool = False) -> bytes:
    """A ``status="0"`` answer; ``seed_style`` reproduces the published sample's unclosed tags."""
    close_code, close_message = ("<Code>", "<Message>") if seed_style else ("</Code>", "</Message>")
    return (
        f'<Response status="0">\n<Code>{code}{close_code}\n<Message>{message}{close_message}\n</Response>'
    ).encode()


def items_page_xml(items: Iterable[EmulatedItem], *, page: int, per_page: int, total: int) -> bytes:
    total_pages = -(-total // per_page)
    return (
        '<Response status="1">\n<Items uri="/api/items/">\n'
        + "".join(item.to_xml() for item in items)
        + "</Items>\n"
        + f'<PageContext Page="{page}" Per_Page="{per_page}" Total="{total}" Total_Pages="{total_pages}"/>\n'
        + "</Response>"
    ).encode()


def single_item_xml(item: EmulatedItem) -> bytes:
    return f'<Response status="1">\n{item.to_xml()}</Response>'.encode()


def properties_text(values: dict[str, str]) -> bytes:
    stamp = datetime.now(timezone.utc).strftime("%a %b %d %H:%M:%S UTC %Y")
    lines = ["#", f"#{stamp}", *(f"{key}={value}" for key, value in values.items())]
    return ("\n".join(lines) + "\n").encode()


class LegacyService:
    """Routes and state of the legacy API inside the emulator (which records requests and injects faults)."""

    def __init__(
        self,
        *,
        catalogue: Catalogue,
        authtokens: Iterable[str],
        apikeys: Iterable[str],
        pending_apikeys: dict[str, float],
        accounts: dict[str, Account],
        seed_style_errors: bool,
        churn: Callable[[], Churn],
        serve: Serve,
    ) -> None:
        self.catalogue = catalogue
        self.authtokens = set(authtokens)
        self.apikeys = set(apikeys)
        self._pending_apikeys = dict(pending_apikeys)
        self._apikey_first_seen: dict[str, float] = {}
        self.accounts = accounts
        self.seed_style_errors = seed_style_errors
        self._churn = churn
        self._serve = serve
        self._pages = PageCache()
        self._token_counter = 0
        self._lock = threading.Lock()

    def routes(self) -> list[Route]:
        return [
            Route(ITEMS_PATH, self._list_items, methods=["GET", "POST"]),
            Route(f"{ITEMS_PATH}{{item_id}}", self._get_item, methods=["GET", "POST"]),
            Route(AUTHTOKEN_PATH, self._create_authtoken, methods=["GET", "POST"]),
        ]

    def error(self, code: int, message: str | None = None, status: int = 200) -> Response:
        body = error_xml(
            code, message or ERROR_MESSAGES.get(code, "Error"), seed_style=self.seed_style_errors
        )
        return Response(body, status_code=status, media_type=XML_TYPE)

    def _authenticate(self, params: dict[str, str]) -> Response | None:
        if params.get("authtoken") not in self.authtokens:
            return self.error(CODE_INVALID_TICKET)
        apikey = params.get("apikey") or ""
        if apikey in self._pending_apikeys:
            first_seen = self._apikey_first_seen.setdefault(apikey, time.monotonic())
            if time.monotonic() - first_seen >= self._pending_apikeys[apikey]:
                self.apikeys.add(apikey)
                del self._pending_apikeys[apikey]
        if apikey not in self.apikeys:
            return self.error(CODE_INVALID_APIKEY)
        if params.get("scope") != DEFAULT_SCOPE:
            return self.error(CODE_INVALID_SCOPE)
        return None

    def _authenticated(
        self, respond: Callable[[Request, dict[str, str]], Response]
    ) -> Callable[[Request, dict[str, str]], Response]:
        def checked(request: Request, params: dict[str, str]) -> Response:
            refusal = self._authenticate(params)
            return refusal if refusal is not None else respond(request, params)

        return checked

    # -- items ----------------------------------------------------------------------------------

    async def _list_items(self, request: Request) -> Response:
        return await self._serve(request, "items", self._authenticated(self._items_page))

    def _items_page(self, request: Request, params: dict[str, str]) -> Response:
        try:
            page = int(params.get("page", "1"))
            per_page = int(params.get("per_page", str(MAX_PER_PAGE)))
        except ValueError:
            return self.error(CODE_INVALID_VALUE, "Invalid value passed for page or per_page")
        if page < 1:
            return self.error(CODE_INVALID_VALUE, "Invalid value passed for page")
        if not 1 <= per_page <= MAX_PER_PAGE:
            return self.error(CODE_INVALID_VALUE, f"per_page must be between 1 and {MAX_PER_PAGE}")
        body = self._pages.get((self.catalogue.version, page, per_page))
        if body is None:
            items, total, version = self.catalogue.page(page, per_page)
            body = items_page_xml(items, page=page, per_page=per_page, total=total)
            self._pages.put((version, page, per_page), body)
        self._after_page()
        return Response(body, media_type=XML_TYPE)

    def _after_page(self) -> None:
        churn = self._churn()
        if churn.page_served("items"):
            for _ in range(churn.add):
                self.catalogue.add()
            self.catalogue.remove_random(churn.remove, churn.rng)

    async def _get_item(self, request: Request) -> Response:
        def respond(request: Request, params: dict[str, str]) -> Response:
            item = self.catalogue.get(request.path_params["item_id"])
            if item is None:
                return self.error(CODE_ITEM_NOT_FOUND)
            return Response(single_item_xml(item), media_type=XML_TYPE)

        return await self._serve(request, "item", self._authenticated(respond))

    # -- Zoho Accounts --------------------------------------------------------------------------

    async def _create_authtoken(self, request: Request) -> Response:
        return await self._serve(request, "authtoken", self._authtoken_response)

    def _authtoken_response(self, request: Request, params: dict[str, str]) -> Response:
        def refuse(cause: str) -> Response:
            return Response(properties_text({"CAUSE": cause, "RESULT": "FALSE"}), media_type=PROPERTIES_TYPE)

        email, password, scope = params.get("EMAIL_ID"), params.get("PASSWORD"), params.get("SCOPE")
        if not email or not password or scope not in (DEFAULT_SCOPE, f"ZohoInvoice/{DEFAULT_SCOPE}"):
            return refuse("INVALID_CREDENTIALS")
        account = self.accounts.get(email)
        if account is None:
            return refuse("NO_SUCH_USER")
        if account.two_factor:
            if password == account.password:
                return refuse("WEB_LOGIN_REQUIRED")
            if password != account.app_password:
                return refuse("INVALID_PASSWORD")
        elif password != account.password:
            return refuse("INVALID_PASSWORD")
        with self._lock:
            if len(account.tokens) >= account.max_tokens:
                return refuse("EXCEEDED_MAXIMUM_ALLOWED_AUTHTOKENS")
            self._token_counter += 1
            token = hashlib.md5(  # noqa: S324 - a token's shape, not a security measure
                f"{email}:{self._token_counter}:{self.catalogue.seed}".encode()
            ).hexdigest()
            account.tokens.append(token)
            self.authtokens.add(token)
        return Response(properties_text({"AUTHTOKEN": token, "RESULT": "TRUE"}), media_type=PROPERTIES_TYPE)
