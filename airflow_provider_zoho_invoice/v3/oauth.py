"""Zoho Accounts' token endpoint: refresh grants for access tokens, grant codes for refresh tokens.

Zoho answers its token errors with HTTP 200 and an ``error`` key; token answers carry fresh
secrets, so their bodies are never quoted in an error.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from airflow_provider_zoho_invoice.exceptions import ZohoInvoiceResponseError
from airflow_provider_zoho_invoice.transport import Answer, Transport
from airflow_provider_zoho_invoice.v3.answers import decode_object, token_error
from airflow_provider_zoho_invoice.v3.config import ZohoInvoiceOAuthConfig
from airflow_provider_zoho_invoice.v3.constants import TOKEN_PATH
from airflow_provider_zoho_invoice.v3.tokens import AccessToken

DEFAULT_TOKEN_LIFETIME = 3600.0


class OAuthClient:
    """Talks to Zoho Accounts for one connection.

    :param reveal: called with each secret learnt at run time (new tokens), so that the
        caller can register it with a log masker before anything could print it.
    """

    def __init__(
        self,
        transport: Transport,
        config: ZohoInvoiceOAuthConfig,
        *,
        conn_id: str,
        log: Any,
        reveal: Callable[..., None],
    ) -> None:
        self.transport = transport
        self.config = config
        self.conn_id = conn_id
        self.log = log
        self._reveal = reveal

    def _grant(
        self, form: Mapping[str, Any], secrets: tuple[str | None, ...], **options: Any
    ) -> tuple[Answer, dict[str, Any]]:
        answer = self.transport.request(
            "POST",
            f"{self.config.accounts_url}{TOKEN_PATH}",
            data=form,
            path=TOKEN_PATH,
            secrets=secrets,
            budgeted=False,  # Zoho Accounts: not one of the organization's API calls
            **options,
        )
        document = decode_object(
            answer.body, path=TOKEN_PATH, status_code=answer.status, secrets=secrets, quote_body=False
        )
        return answer, document

    def refresh(self) -> AccessToken:
        """One refresh grant: a new access token."""
        client_id, client_secret, refresh_token = self.config.require_credentials(self.conn_id)
        form = {
            "grant_type": "refresh_token",
            "client_id": client_id,
            "client_secret": client_secret,
            "refresh_token": refresh_token,
        }
        issued_at = time.time()
        answer, document = self._grant(form, self.config.secrets)
        if "error" in document or answer.status != 200:
            raise token_error(document, self.config.secrets)
        value = document.get("access_token")
        if not isinstance(value, str) or not value:
            raise ZohoInvoiceResponseError(
                "Zoho Accounts answered the token request without an access_token", status_code=answer.status
            )
        self._reveal(value)
        lifetime: Any = document.get("expires_in")
        lifetime = (
            float(lifetime)
            if isinstance(lifetime, (int, float)) or str(lifetime).isdigit()
            else DEFAULT_TOKEN_LIFETIME
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

        Needs the connection's Client ID and Client Secret (and data centre), not a refresh token.
        """
        config = self.config
        if not config.client_id or not config.client_secret:
            config.require_credentials(self.conn_id)  # names the missing field
        if not code or not code.strip():
            raise ValueError("exchange_grant_code needs the grant code from Zoho's API console")
        form = {
            "grant_type": "authorization_code",
            "client_id": config.client_id,
            "client_secret": config.client_secret,
            "code": code.strip(),
        }
        secrets = (*config.secrets, code)
        answer, document = self._grant(form, secrets, max_retries=0)  # a code is single-use
        if "error" in document:
            error = token_error(document, secrets)
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
        self._reveal(refresh_token, document.get("access_token"))
        return refresh_token
