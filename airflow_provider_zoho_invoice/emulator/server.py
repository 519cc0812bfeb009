"""A local server that speaks the legacy Zoho Invoice protocol over real HTTP.

Built on Starlette (routing, form parsing) and Uvicorn (HTTP), both of which
Airflow's own API server already brings along.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import socket
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from airflow_provider_zoho_invoice.emulator.catalogue import Catalogue, EmulatedItem
from airflow_provider_zoho_invoice.emulator.faults import FaultPlan
from airflow_provider_zoho_invoice.emulator.records import RecordSet
from airflow_provider_zoho_invoice.emulator.v3 import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_ORGANIZATION,
    DEFAULT_REFRESH_TOKEN,
    OAuthState,
    V3Service,
)
from airflow_provider_zoho_invoice.legacy.constants import (
    AUTHTOKEN_PATH,
    CODE_INVALID_APIKEY,
    CODE_INVALID_SCOPE,
    CODE_INVALID_TICKET,
    CODE_INVALID_VALUE,
    CODE_ITEM_NOT_FOUND,
    CODE_UNKNOWN_METHOD,
    DEFAULT_SCOPE,
    MAX_PER_PAGE,
)
from airflow_provider_zoho_invoice.v3.resources import RESOURCES as RESOURCES_BY_NAME

DEFAULT_AUTHTOKEN = "emulator-authtoken"
DEFAULT_APIKEY = "emulator-apikey"
DEFAULT_EMAIL = "demo@example.com"
DEFAULT_PASSWORD = "emulator-password"  # noqa: S105 - the emulator's demo account

XML_TYPE = "text/xml;charset=UTF-8"
PROPERTIES_TYPE = "text/plain;charset=UTF-8"
_PAGE_CACHE_SIZE = 256
_ERROR_MESSAGES = {
    CODE_INVALID_TICKET: "Invalid Ticket Passed",
    CODE_INVALID_APIKEY: "Invalid API Key Passed",
    CODE_INVALID_SCOPE: "Invalid Scope Passed",
    CODE_ITEM_NOT_FOUND: "Item does not exist.",
    CODE_UNKNOWN_METHOD: "Invalid URL Passed",
}
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
HUGE_BODY_BYTES = 17 * 1024 * 1024
_HTML_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>"
    b"<body><h1>502 Bad Gateway</h1><p>The upstream server did not answer.</p></body></html>\n"
)


@dataclass
class Account:
    """A Zoho account for the authtoken API; ``app_password`` is the two-factor accounts' way in."""

    password: str
    two_factor: bool = False
    app_password: str | None = None
    max_tokens: int = 20
    tokens: list[str] = field(default_factory=list)


class _InjectedReset(Exception):
    """Raised mid-response to make the server drop the connection."""


class _DropInjectedResets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, _InjectedReset)


class _ResetMidBody(Response):
    """Promise the whole body, send half of it, then drop the connection."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        await send(
            {"type": "http.response.body", "body": self.body[: len(self.body) // 2], "more_body": True}
        )
        raise _InjectedReset


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


class ZohoInvoiceEmulator:
    """Zoho Invoice on one local port: the legacy XML API with Zoho Accounts' authtoken API, and
    API v3 with Zoho Accounts' OAuth 2.0 token endpoint.

    Use it as a context manager (tests, notebooks) or run it from the command line::

        python -m airflow_provider_zoho_invoice.emulator --items 500 --records 1000

    :param records: v3 records per resource, one number for all or ``{"invoices": 5000, ...}``.
    :param token_lifetime: seconds an OAuth access token lives (Zoho: 3600).
    :param per_minute_limit: v3 calls per organization per minute before 429 code 44; 0 for none.
    :param daily_quota: v3 calls per organization before 429 code 45; 0 for none.
    """

    def __init__(
        self,
        *,
        items: int = 0,
        seed: int = 0,
        catalogue: Catalogue | None = None,
        authtokens: Iterable[str] = (DEFAULT_AUTHTOKEN,),
        apikeys: Iterable[str] = (DEFAULT_APIKEY,),
        pending_apikeys: dict[str, float] | None = None,  # key -> seconds from its first use to activation
        accounts: dict[str, Account] | None = None,
        faults: FaultPlan | None = None,
        seed_style_errors: bool = False,
        records: int | dict[str, int] = 0,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        refresh_token: str = DEFAULT_REFRESH_TOKEN,
        organizations: list[dict[str, Any]] | None = None,
        token_lifetime: float = 3600.0,
        tokens_per_window: int = 10,
        per_minute_limit: int = 0,
        daily_quota: int = 0,
    ) -> None:
        self.catalogue = catalogue if catalogue is not None else Catalogue(items, seed=seed)
        self.authtokens = set(authtokens)
        self.apikeys = set(apikeys)
        self.authtoken = next(iter(authtokens), "")  # the ones connection_json() hands out
        self.apikey = next(iter(apikeys), "")
        self._pending_apikeys = dict(pending_apikeys or {})
        self._apikey_first_seen: dict[str, float] = {}
        self.accounts = accounts if accounts is not None else {DEFAULT_EMAIL: Account(DEFAULT_PASSWORD)}
        self.faults = faults or FaultPlan()
        self.seed_style_errors = seed_style_errors
        self.requests: Counter[str] = Counter()
        self.user_agents: set[str] = set()
        self.query_strings: list[str] = []
        self._clients: set[tuple[str, int]] = set()
        self._page_cache: OrderedDict[tuple[int, int, int], bytes] = OrderedDict()
        self._token_counter = 0
        self._item_pages_served = 0
        self.mutations = 0
        self.request_times: list[float] = []
        self._lock = threading.Lock()
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.url = ""
        counts = records if isinstance(records, dict) else dict.fromkeys(RESOURCES_BY_NAME, records)
        self.client_id, self.client_secret, self.refresh_token = client_id, client_secret, refresh_token
        self.v3 = V3Service(
            records=RecordSet(counts, seed=seed),
            oauth=OAuthState(
                clients={client_id: client_secret},
                refresh_tokens={refresh_token: client_id},
                token_lifetime=token_lifetime,
                tokens_per_window=tokens_per_window,
            ),
            organizations=organizations if organizations is not None else [dict(DEFAULT_ORGANIZATION)],
            per_minute_limit=per_minute_limit,
            daily_quota=daily_quota,
            serve=self._serve_v3,
            base_url=lambda: self.url,
        )
        self.app = Starlette(
            routes=[
                *self.v3.routes(),
                Route("/_emulator/stats", self._stats, methods=["GET"]),
                Route("/api/items/", self._list_items, methods=["GET", "POST"]),
                Route("/api/items/{item_id}", self._get_item, methods=["GET", "POST"]),
                Route(AUTHTOKEN_PATH, self._create_authtoken, methods=["GET", "POST"]),
                Route("/{path:path}", self._unknown, methods=["GET", "POST", "PUT", "DELETE"]),
            ]
        )

    # -- protocol -------------------------------------------------------------------------------

    async def _params(self, request: Request) -> dict[str, str]:
        params = {key: value for key, value in request.query_params.items()}
        if request.method == "POST":
            form = await request.form()
            params.update({key: value for key, value in form.items() if isinstance(value, str)})
        return params

    def _error(self, code: int, message: str | None = None, status: int = 200) -> Response:
        body = error_xml(
            code, message or _ERROR_MESSAGES.get(code, "Error"), seed_style=self.seed_style_errors
        )
        return Response(body, status_code=status, media_type=XML_TYPE)

    def _authenticate(self, params: dict[str, str]) -> Response | None:
        if params.get("authtoken") not in self.authtokens:
            return self._error(CODE_INVALID_TICKET)
        apikey = params.get("apikey") or ""
        if apikey in self._pending_apikeys:
            first_seen = self._apikey_first_seen.setdefault(apikey, time.monotonic())
            if time.monotonic() - first_seen >= self._pending_apikeys[apikey]:
                self.apikeys.add(apikey)
                del self._pending_apikeys[apikey]
        if apikey not in self.apikeys:
            return self._error(CODE_INVALID_APIKEY)
        if params.get("scope") != DEFAULT_SCOPE:
            return self._error(CODE_INVALID_SCOPE)
        return None

    async def _list_items(self, request: Request) -> Response:
        return await self._serve(request, "items", self._list_items_response)

    def _list_items_response(self, params: dict[str, str]) -> Response:
        try:
            page = int(params.get("page", "1"))
            per_page = int(params.get("per_page", str(MAX_PER_PAGE)))
        except ValueError:
            return self._error(CODE_INVALID_VALUE, "Invalid value passed for page or per_page")
        if page < 1:
            return self._error(CODE_INVALID_VALUE, "Invalid value passed for page")
        if not 1 <= per_page <= MAX_PER_PAGE:
            return self._error(CODE_INVALID_VALUE, f"per_page must be between 1 and {MAX_PER_PAGE}")
        body = self._page_body(page, per_page)
        self._after_item_page()
        return Response(body, media_type=XML_TYPE)

    def _page_body(self, page: int, per_page: int) -> bytes:
        key = (self.catalogue.version, page, per_page)
        with self._lock:
            cached = self._page_cache.get(key)
            if cached is not None:
                self._page_cache.move_to_end(key)
                return cached
        items, total, version = self.catalogue.page(page, per_page)
        body = items_page_xml(items, page=page, per_page=per_page, total=total)
        with self._lock:
            self._page_cache[(version, page, per_page)] = body
            while len(self._page_cache) > _PAGE_CACHE_SIZE:
                self._page_cache.popitem(last=False)
        return body

    def _after_item_page(self) -> None:
        plan = self.faults
        with self._lock:
            self._item_pages_served += 1
            mutate = plan.mutate_every and self._item_pages_served % plan.mutate_every == 0
            if plan.mutate_limit and self.mutations >= plan.mutate_limit:
                mutate = False
            if mutate:
                self.mutations += 1
        if mutate:
            for _ in range(plan.mutate_add):
                self.catalogue.add()
            self.catalogue.remove_random(plan.mutate_remove, plan.rng())

    async def _get_item(self, request: Request) -> Response:
        item_id = request.path_params["item_id"]

        def respond(params: dict[str, str]) -> Response:
            item = self.catalogue.get(item_id)
            if item is None:
                return self._error(CODE_ITEM_NOT_FOUND)
            return Response(single_item_xml(item), media_type=XML_TYPE)

        return await self._serve(request, "item", respond)

    async def _create_authtoken(self, request: Request) -> Response:
        return await self._serve(request, "authtoken", self._authtoken_response, authenticate=False)

    def _authtoken_response(self, params: dict[str, str]) -> Response:
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

    async def _stats(self, request: Request) -> Response:
        """Requests served so far, by kind: lets a benchmark in another process count them."""
        return Response(json.dumps({"requests": dict(self.requests)}), media_type="application/json")

    async def _unknown(self, request: Request) -> Response:
        self._record(request, "unknown")
        return self._error(CODE_UNKNOWN_METHOD, status=404)

    async def _serve(
        self,
        request: Request,
        kind: str,
        respond: Callable[[dict[str, str]], Response],
        *,
        authenticate: bool = True,
    ) -> Response:
        self._record(request, kind)
        if self.faults.latency:
            await asyncio.sleep(self.faults.latency)
        fault = self.faults.next_fault()
        if fault is not None and fault not in ("reset", "truncate"):
            return await self._fault_response(fault)
        params = await self._params(request)
        refusal = self._authenticate(params) if authenticate else None
        response = refusal if refusal is not None else respond(params)
        if fault == "reset":
            return _ResetMidBody(response.body, media_type=response.media_type)
        if fault == "truncate":
            return Response(response.body[: len(response.body) // 2], media_type=response.media_type)
        return response

    async def _serve_v3(
        self, request: Request, kind: str, respond: Callable[[Request, dict[str, str]], Response]
    ) -> Response:
        return await self._serve(request, kind, lambda params: respond(request, params), authenticate=False)

    async def _fault_response(self, fault: str) -> Response:
        if fault in ("500", "502", "503"):
            return Response(b"", status_code=int(fault))
        if fault == "429":
            return Response(b"", status_code=429, headers={"Retry-After": f"{self.faults.retry_after:g}"})
        if fault == "429-bare":
            return Response(b"", status_code=429)
        if fault == "html":
            return Response(_HTML_PAGE, status_code=502, media_type="text/html")
        if fault == "html-200":
            return Response(_HTML_PAGE, status_code=200, media_type="text/html")
        if fault == "slow":
            await asyncio.sleep(self.faults.slow_seconds)
            return Response(b"", status_code=504)
        if fault == "empty":
            return Response(b"", status_code=200, media_type=XML_TYPE)
        if fault == "entity-expansion":
            return Response(_ENTITY_EXPANSION, media_type=XML_TYPE)
        if fault == "external-entity":
            return Response(_EXTERNAL_ENTITY, media_type=XML_TYPE)
        if fault == "huge":
            return Response(b" " * HUGE_BODY_BYTES, media_type=XML_TYPE)
        if fault == "huge-chunked":

            async def chunks() -> Any:
                for _ in range(HUGE_BODY_BYTES // (1024 * 1024)):
                    yield b" " * (1024 * 1024)

            return StreamingResponse(chunks(), media_type=XML_TYPE)
        raise AssertionError(fault)

    def _record(self, request: Request, kind: str) -> None:
        self.requests[kind] += 1
        self.request_times.append(time.monotonic())
        self.user_agents.add(request.headers.get("user-agent", "").split(" ")[0])
        self.query_strings.append(request.url.query)
        if request.client is not None:
            self._clients.add((request.client.host, request.client.port))

    @property
    def connections_opened(self) -> int:
        """Distinct client connections seen: shows whether callers keep connections alive."""
        return len(self._clients)

    # -- lifecycle ------------------------------------------------------------------------------

    def _uvicorn_server(self, tls: tuple[str, str] | None) -> Any:
        import uvicorn

        logging.getLogger("uvicorn.error").addFilter(_DropInjectedResets())
        config = uvicorn.Config(
            self.app,
            ssl_certfile=tls[0] if tls else None,
            ssl_keyfile=tls[1] if tls else None,
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=2,
            timeout_keep_alive=30,
        )
        return uvicorn.Server(config)

    def start(
        self, host: str = "127.0.0.1", port: int = 0, *, tls: tuple[str, str] | None = None
    ) -> ZohoInvoiceEmulator:
        """Serve in a background thread; ``port=0`` picks a free port (see :attr:`url`).

        ``tls=(certificate file, key file)`` serves HTTPS, e.g. to test CA bundles.
        """
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        bound_port = sock.getsockname()[1]
        self._server = self._uvicorn_server(tls)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="zoho-invoice-emulator", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the Zoho Invoice emulator did not start")
            time.sleep(0.01)
        shown_host = f"[{host}]" if ":" in host else host
        self.url = f"{'https' if tls else 'http'}://{shown_host}:{bound_port}"
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = self._thread = None

    def __enter__(self) -> ZohoInvoiceEmulator:
        return self if self._server is not None else self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def records(self) -> RecordSet:
        """The v3 data set; ``records.add("items", name=...)`` adds a record while serving."""
        return self.v3.records

    def connection_json(self, **extra: Any) -> str:
        """The ``AIRFLOW_CONN_*`` value (JSON) of a legacy ``zoho_invoice`` connection to this emulator."""
        return connection_json(self.url, authtoken=self.authtoken, apikey=self.apikey, **extra)

    def oauth_connection_json(self, **extra: Any) -> str:
        """The ``AIRFLOW_CONN_*`` value (JSON) of a ``zoho_invoice_oauth`` connection to this emulator."""
        credentials = {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "refresh_token": self.refresh_token,
        }
        return oauth_connection_json(self.url, **{**credentials, **extra})


def connection_json(
    url: str, *, authtoken: str | None = DEFAULT_AUTHTOKEN, apikey: str = DEFAULT_APIKEY, **extra: Any
) -> str:
    """A ``zoho_invoice`` connection as ``AIRFLOW_CONN_*`` JSON for an emulator at ``url``.

    ``authtoken=None`` leaves the password out, as for a connection used only to create a token.
    """
    connection: dict[str, Any] = {
        "conn_type": "zoho_invoice",
        "host": url,
        "extra": {"apikey": apikey, "accounts_url": url, **extra},
    }
    if authtoken is not None:
        connection["password"] = authtoken
    return json.dumps(connection)


def oauth_connection_json(
    url: str,
    *,
    client_id: str = DEFAULT_CLIENT_ID,
    client_secret: str = DEFAULT_CLIENT_SECRET,
    refresh_token: str = DEFAULT_REFRESH_TOKEN,
    **extra: Any,
) -> str:
    """A ``zoho_invoice_oauth`` connection as ``AIRFLOW_CONN_*`` JSON for an emulator at ``url``."""
    return json.dumps(
        {
            "conn_type": "zoho_invoice_oauth",
            "login": client_id,
            "password": client_secret,
            "extra": {"refresh_token": refresh_token, "accounts_url": url, "api_domain": url, **extra},
        }
    )
