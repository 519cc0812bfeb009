"""A local server that speaks Zoho Invoice over real HTTP: API v3 with OAuth, and the legacy XML API.

Built on Starlette (routing, form parsing) and Uvicorn (HTTP), both of which Airflow's own API
server already brings along. Every request goes through :meth:`ZohoInvoiceEmulator._serve`,
which counts it and applies the fault plan; each protocol's service says what to answer.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any
from zoneinfo import ZoneInfo

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from airflow_provider_zoho_invoice.emulator.accounts import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_REFRESH_TOKEN,
    AccountsService,
    OAuthState,
    json_response,
)
from airflow_provider_zoho_invoice.emulator.catalogue import Catalogue
from airflow_provider_zoho_invoice.emulator.churn import Churn
from airflow_provider_zoho_invoice.emulator.faults import DropInjectedResets, FaultPlan, Responder
from airflow_provider_zoho_invoice.emulator.legacy import (
    DEFAULT_APIKEY,
    DEFAULT_AUTHTOKEN,
    DEFAULT_EMAIL,
    DEFAULT_PASSWORD,
    Account,
    LegacyService,
)
from airflow_provider_zoho_invoice.emulator.records import ORG_ZONE, RecordSet
from airflow_provider_zoho_invoice.emulator.v3 import DEFAULT_ORGANIZATION, V3Service
from airflow_provider_zoho_invoice.legacy.constants import CODE_UNKNOWN_METHOD
from airflow_provider_zoho_invoice.v3.constants import CODE_IN_FLIGHT, ORGANIZATION_HEADER
from airflow_provider_zoho_invoice.v3.resources import RESOURCES

ACCOUNTS_KINDS = frozenset({"token", "revoke", "authtoken"})


class ZohoInvoiceEmulator:
    """Zoho Invoice on one local port: the legacy XML API with Zoho Accounts' authtoken API, and
    API v3 with Zoho Accounts' OAuth 2.0 token endpoint.

    Use it as a context manager (tests, notebooks) or run it from the command line::

        python -m airflow_provider_zoho_invoice.emulator --items 500 --records 1000

    :param records: v3 records per resource, one number for all or ``{"invoices": 5000, ...}``.
    :param token_lifetime: seconds an OAuth access token lives (Zoho: 3600).
    :param per_minute_limit: v3 calls per organization per minute before 429 code 44; 0 for none.
    :param daily_quota: v3 calls per organization per day, as ``X-Rate-Limit-Limit`` reports them.
        Past them Zoho has been recorded answering on (HTTP 200, ``X-Rate-Limit-Remaining`` below
        zero): that is the default; ``hard_quota=True`` refuses with 429 code 45 instead.
    :param max_in_flight: v3 requests of one organization under way at once before 429 code 1070
        (Zoho: 5 on the Free plan, 10 on paid plans); 0 for no limit.
    :param time_zone: the organization's time zone, in which timestamps are written: the default
        moves from -0400 to -0500 in November; ``"Asia/Kolkata"`` writes +0530.
    :param modified_filter: what the ``last_modified_time`` list parameter selects, one of
        :data:`~airflow_provider_zoho_invoice.emulator.v3.FILTER_SEMANTICS` (Zoho's documented
        reading, ``gte``, by default; the others are what Zoho might do instead).
    :param refuse_modified_sort: resources that refuse ``sort_column=last_modified_time`` (400,
        code 2), as Zoho does on expenses.
    :param scopes: what the default refresh token was granted, e.g. ``["ZohoInvoice.invoices.READ"]``;
        None for full access. A call outside them gets 401 code 57, as an expired token does.
    :param churn: how the data changes while it is listed (both protocols); see :class:`Churn`.
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
        churn: Churn | None = None,
        seed_style_errors: bool = False,
        records: int | dict[str, int] = 0,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        refresh_token: str = DEFAULT_REFRESH_TOKEN,
        organizations: list[dict[str, Any]] | None = None,
        token_lifetime: float = 3600.0,
        tokens_per_window: int = 10,
        per_minute_limit: int = 0,
        daily_quota: int = 1000,
        hard_quota: bool = False,
        scopes: Iterable[str] | None = None,
        max_in_flight: int = 5,
        time_zone: str = "America/New_York",
        modified_filter: str = "gte",
        refuse_modified_sort: Iterable[str] = ("expenses",),
    ) -> None:
        authtokens, apikeys = list(authtokens), list(apikeys)
        self.authtoken = next(iter(authtokens), "")  # the ones connection_json() hands out
        self.apikey = next(iter(apikeys), "")
        self.faults = faults or FaultPlan()
        self.churn = churn or Churn(seed=seed)
        self.requests: Counter[str] = Counter()
        self.max_in_flight = max_in_flight
        self.in_flight: Counter[str] = Counter()
        self.most_in_flight = 0
        """The most v3 requests of one organization seen under way at once."""
        self.refused_in_flight = 0
        """v3 requests answered 429 code 1070: over ``max_in_flight``."""
        self._in_flight_lock = threading.Lock()
        self.user_agents: set[str] = set()
        self.query_strings: list[str] = []
        self.request_times: list[float] = []
        """Arrival times of API requests (Zoho Accounts' token requests are not API calls)."""
        self._clients: set[tuple[str, int]] = set()
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.url = ""
        self.legacy = LegacyService(
            catalogue=catalogue if catalogue is not None else Catalogue(items, seed=seed),
            authtokens=authtokens,
            apikeys=apikeys,
            pending_apikeys=pending_apikeys or {},
            accounts=accounts if accounts is not None else {DEFAULT_EMAIL: Account(DEFAULT_PASSWORD)},
            seed_style_errors=seed_style_errors,
            churn=lambda: self.churn,
            serve=self._serve,
        )
        counts = records if isinstance(records, dict) else dict.fromkeys(RESOURCES, records)
        self.client_id, self.client_secret, self.refresh_token = client_id, client_secret, refresh_token
        self.accounts = AccountsService(
            oauth=OAuthState(
                clients={client_id: client_secret},
                refresh_tokens={refresh_token: client_id},
                scopes={refresh_token: frozenset(scopes)} if scopes is not None else {},
                token_lifetime=token_lifetime,
                tokens_per_window=tokens_per_window,
            ),
            serve=self._serve,
            base_url=lambda: self.url,
        )
        self.v3 = V3Service(
            records=RecordSet(
                counts, seed=seed, zone=ORG_ZONE if time_zone == "America/New_York" else ZoneInfo(time_zone)
            ),
            accounts=self.accounts,
            organizations=organizations if organizations is not None else [dict(DEFAULT_ORGANIZATION)],
            per_minute_limit=per_minute_limit,
            daily_quota=daily_quota,
            hard_quota=hard_quota,
            churn=lambda: self.churn,
            serve=self._serve,
            modified_filter=modified_filter,
            refuse_modified_sort=frozenset(refuse_modified_sort),
        )
        self.app = Starlette(
            routes=[
                *self.accounts.routes(),
                *self.v3.routes(),
                *self.legacy.routes(),
                Route("/_emulator/stats", self._stats, methods=["GET"]),
                Route("/{path:path}", self._unknown, methods=["GET", "POST", "PUT", "DELETE"]),
            ]
        )

    # -- the one way every request is answered --------------------------------------------------

    async def _serve(self, request: Request, kind: str, respond: Responder) -> Response:
        self._record(request, kind)
        organization = request.headers.get(ORGANIZATION_HEADER) if kind.startswith("v3:") else None
        if organization and self.max_in_flight:
            with self._in_flight_lock:
                busy = self.in_flight[organization] >= self.max_in_flight
                if busy:
                    self.refused_in_flight += 1
                else:
                    self.in_flight[organization] += 1
                    self.most_in_flight = max(self.most_in_flight, self.in_flight[organization])
            if busy:
                return json_response(
                    {
                        "code": CODE_IN_FLIGHT,
                        "message": "You have reached the maximum number of in process requests allowed. "
                        "Kindly try again after some time.",
                    },
                    429,
                )
            try:
                return await self._answer(request, respond)
            finally:
                with self._in_flight_lock:
                    self.in_flight[organization] -= 1
        return await self._answer(request, respond)

    async def _answer(self, request: Request, respond: Responder) -> Response:

        async def real(misread: Callable[[dict[str, str]], dict[str, str]] | None = None) -> Response:
            params = dict(request.query_params.items())
            if request.headers.get("content-type", "").startswith("application/json"):
                params["JSONString"] = (await request.body()).decode(
                    "utf-8", "replace"
                )  # as Zoho's form field
            elif request.method in ("POST", "PUT"):
                form = await request.form()
                params.update({key: value for key, value in form.items() if isinstance(value, str)})
            return respond(request, misread(params) if misread else params)

        return await self.faults.answer(request, real)

    def _record(self, request: Request, kind: str) -> None:
        self.requests[kind] += 1
        if kind not in ACCOUNTS_KINDS:
            self.request_times.append(time.monotonic())
        self.user_agents.add(request.headers.get("user-agent", "").split(" ")[0])
        self.query_strings.append(request.url.query)
        if request.client is not None:
            self._clients.add((request.client.host, request.client.port))

    async def _stats(self, request: Request) -> Response:
        """Requests served so far, by kind: lets a benchmark in another process count them."""
        stats = {
            "requests": dict(self.requests),
            "most_in_flight": self.most_in_flight,
            "refused_in_flight": self.refused_in_flight,
            "refused_per_minute": self.v3.refused_per_minute,
        }
        return Response(json.dumps(stats), media_type="application/json")

    async def _unknown(self, request: Request) -> Response:
        self._record(request, "unknown")
        return self.legacy.error(CODE_UNKNOWN_METHOD, status=404)

    # -- what tests and notebooks look at -------------------------------------------------------

    @property
    def connections_opened(self) -> int:
        """Distinct client connections seen: shows whether callers keep connections alive."""
        return len(self._clients)

    @property
    def catalogue(self) -> Catalogue:
        """The legacy item catalogue; ``catalogue.add(...)`` adds an item while serving."""
        return self.legacy.catalogue

    @property
    def authtokens(self) -> set[str]:
        """Legacy authtokens accepted, those created through the authtoken API included."""
        return self.legacy.authtokens

    @property
    def records(self) -> RecordSet:
        """The v3 data set; ``records.add("items", name=...)`` adds a record while serving."""
        return self.v3.records

    @property
    def mutations(self) -> int:
        """Changes the churn has made to the data so far."""
        return self.churn.changes

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

    # -- lifecycle ------------------------------------------------------------------------------

    def _uvicorn_server(self, tls: tuple[str, str] | None) -> Any:
        import uvicorn

        logging.getLogger("uvicorn.error").addFilter(DropInjectedResets())
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
