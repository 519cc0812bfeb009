"""The emulator's Zoho Accounts: the OAuth 2.0 token endpoint, revocation and Self Client grant codes.

Behaves as Zoho does where Zoho's behaviour is known: token errors with HTTP 200 and an
``error`` key, and at most 10 access tokens per refresh token in 10 minutes (``Access Denied``).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from airflow_provider_zoho_invoice.emulator.faults import Serve
from airflow_provider_zoho_invoice.v3.answers import encode
from airflow_provider_zoho_invoice.v3.constants import REVOKE_PATH, TOKEN_PATH
from airflow_provider_zoho_invoice.v3.resources import scope_grants

DEFAULT_CLIENT_ID = "1000.EMULATORCLIENTID"
DEFAULT_CLIENT_SECRET = "emulator-client-secret"  # noqa: S105 - the emulator's demo client
DEFAULT_REFRESH_TOKEN = "1000.emulator-refresh-token"  # noqa: S105
JSON_TYPE = "application/json;charset=UTF-8"
TOKEN_WINDOW = 600.0


def json_response(value: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON answer as Zoho's servers send it."""
    return Response(
        encode(value), status_code=status, media_type=JSON_TYPE, headers={"Server": "ZGS", **(headers or {})}
    )


@dataclass
class OAuthState:
    """Clients, refresh tokens and access tokens Zoho Accounts knows."""

    clients: dict[str, str] = field(default_factory=lambda: {DEFAULT_CLIENT_ID: DEFAULT_CLIENT_SECRET})
    refresh_tokens: dict[str, str] = field(default_factory=lambda: {DEFAULT_REFRESH_TOKEN: DEFAULT_CLIENT_ID})
    access_tokens: dict[str, tuple[float, str]] = field(default_factory=dict)  # token -> (expiry, refresh)
    grant_codes: dict[str, str] = field(default_factory=dict)  # code -> client id
    scopes: dict[str, frozenset[str]] = field(default_factory=dict)
    """Scopes of a refresh token or grant code; one not listed here has full access."""
    token_lifetime: float = 3600.0
    tokens_per_window: int = 10
    grants: dict[str, deque[float]] = field(default_factory=lambda: defaultdict(deque))
    refreshes: int = 0
    """Access tokens issued through the refresh grant: what Zoho's throttle counts."""
    issued: list[str] = field(default_factory=list)
    """Every access token ever issued, so that tests can look for them in logs."""


class AccountsService:
    """Routes and state of Zoho Accounts inside the emulator (which records requests and injects faults)."""

    def __init__(self, *, oauth: OAuthState, serve: Serve, base_url: Callable[[], str]) -> None:
        self.oauth = oauth
        self._serve = serve
        self._base_url = base_url
        self._lock = threading.Lock()
        self._counter = 0

    def routes(self) -> list[Route]:
        return [
            Route(TOKEN_PATH, self._token, methods=["POST"]),
            Route(REVOKE_PATH, self._revoke, methods=["POST"]),
        ]

    def access_token_valid(self, token: str) -> bool:
        """Whether an API request carrying this access token is let through."""
        with self._lock:
            known = self.oauth.access_tokens.get(token)
        return known is not None and known[0] > time.monotonic()

    def access_token_allows(self, token: str, scope: str) -> bool:
        """Whether the refresh token behind this access token was granted ``scope``."""
        with self._lock:
            known = self.oauth.access_tokens.get(token)
            granted = self.oauth.scopes.get(known[1]) if known is not None else None
        return granted is None or scope_grants(granted, scope)

    async def _token(self, request: Request) -> Response:
        return await self._serve(request, "token", self._token_response)

    def _new_token(self) -> str:
        with self._lock:
            self._counter += 1
            counter = self._counter
        return "1000." + hashlib.sha256(f"access-{counter}-{time.time()}".encode()).hexdigest()[:48]

    def _token_response(self, request: Request, params: dict[str, str]) -> Response:
        state = self.oauth
        client_id = params.get("client_id", "")
        if client_id not in state.clients:
            return json_response({"error": "invalid_client"})
        if params.get("client_secret") != state.clients[client_id]:
            return json_response({"error": "invalid_client_secret"})
        grant = params.get("grant_type")
        if grant == "authorization_code":
            code = params.get("code", "")
            if state.grant_codes.pop(code, None) != client_id:
                return json_response({"error": "invalid_code"})
            refresh = "1000." + hashlib.sha256(f"refresh-{code}".encode()).hexdigest()[:48]
            state.refresh_tokens[refresh] = client_id
            if code in state.scopes:
                state.scopes[refresh] = state.scopes.pop(code)
            access = self._issue(refresh)
            return json_response(
                {
                    "access_token": access,
                    "refresh_token": refresh,
                    "api_domain": self._base_url(),
                    "token_type": "Bearer",
                    "expires_in": int(state.token_lifetime),
                }
            )
        if grant != "refresh_token":
            return json_response({"error": "unsupported_grant_type"})
        refresh = params.get("refresh_token", "")
        if state.refresh_tokens.get(refresh) != client_id:
            return json_response({"error": "invalid_code"})
        now = time.monotonic()
        with self._lock:
            recent = state.grants[refresh]
            while recent and recent[0] <= now - TOKEN_WINDOW:
                recent.popleft()
            if len(recent) >= state.tokens_per_window:
                return json_response(
                    {
                        "error_description": "You have made too many requests continuously. "
                        "Please try again after some time.",
                        "error": "Access Denied",
                        "status": "failure",
                    }
                )
            recent.append(now)
            state.refreshes += 1
        access = self._issue(refresh)
        return json_response(
            {
                "access_token": access,
                "api_domain": self._base_url(),
                "token_type": "Bearer",
                "expires_in": int(state.token_lifetime)
                if state.token_lifetime >= 1
                else state.token_lifetime,
            }
        )

    def _issue(self, refresh: str) -> str:
        access = self._new_token()
        with self._lock:
            self.oauth.access_tokens[access] = (time.monotonic() + self.oauth.token_lifetime, refresh)
            self.oauth.issued.append(access)
        return access

    async def _revoke(self, request: Request) -> Response:
        def respond(request: Request, params: dict[str, str]) -> Response:
            token = params.get("token", "")
            with self._lock:
                self.oauth.refresh_tokens.pop(token, None)
                for access, (_, refresh) in list(self.oauth.access_tokens.items()):
                    if refresh == token:
                        del self.oauth.access_tokens[access]
            return json_response({"status": "success"})

        return await self._serve(request, "revoke", respond)

    def issue_grant_code(
        self, client_id: str = DEFAULT_CLIENT_ID, scopes: Iterable[str] | None = None
    ) -> str:
        """A one-time grant code, as Zoho's API console makes for a Self Client (full access unless
        ``scopes`` are given; the refresh token it is exchanged for carries them)."""
        code = "1000." + hashlib.sha256(f"code-{self._new_token()}".encode()).hexdigest()[:40]
        self.oauth.grant_codes[code] = client_id
        if scopes is not None:
            self.oauth.scopes[code] = frozenset(scopes)
        return code

    def expire_access_tokens(self) -> None:
        """Make every issued access token invalid now, as an hour passing would."""
        with self._lock:
            self.oauth.access_tokens.clear()
