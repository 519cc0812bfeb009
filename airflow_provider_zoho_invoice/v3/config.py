"""Read and check a ``zoho_invoice_oauth`` connection once; errors name the field by its form label."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from airflow_provider_zoho_invoice.connection import check_url, read_extras, transport_settings, whole_number
from airflow_provider_zoho_invoice.exceptions import ZohoInvoiceConfigError
from airflow_provider_zoho_invoice.transport import TransportSettings
from airflow_provider_zoho_invoice.v3.constants import API_ROOT, CONN_TYPE, DATA_CENTERS, DEFAULT_DATA_CENTER

TOKEN_CACHES = ("file", "none")
DEFAULT_MAX_IN_FLIGHT = 5
REDIS_SCHEMES = ("redis://", "rediss://")


@dataclass(frozen=True)
class ZohoInvoiceOAuthConfig:
    """Everything the OAuth hook needs from a connection, checked."""

    client_id: str | None
    client_secret: str | None
    refresh_token: str | None
    organization_id: str | None
    data_center: str
    accounts_url: str
    api_domain: str | None  # pinned by the connection; otherwise the token answer's api_domain is used
    token_cache: str  # "file", "none", or a redis:// / rediss:// URL
    transport: TransportSettings
    min_daily_remaining: int | None = None
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT
    """The organization's requests under way at once (Zoho: 5 on the Free plan, 10 paid); 0: no limit."""

    @property
    def shared_store_url(self) -> str | None:
        return self.token_cache if self.token_cache.startswith(REDIS_SCHEMES) else None

    def __repr__(self) -> str:  # the dataclass default would print the credentials
        return (
            f"ZohoInvoiceOAuthConfig(data_center={self.data_center!r}, accounts_url={self.accounts_url!r}, "
            f"organization_id={self.organization_id!r})"
        )

    @property
    def secrets(self) -> tuple[str | None, ...]:
        redis_password = urlsplit(self.token_cache).password if self.shared_store_url else None
        return (self.client_secret, self.refresh_token, redis_password)

    def require_credentials(self, conn_id: str) -> tuple[str, str, str]:
        where = f"Connection '{conn_id}'"
        if not self.client_id:
            raise ZohoInvoiceConfigError(
                f"{where} has no Client ID: put it in the 'Client ID' field (the connection's login); "
                "Zoho's API console shows it for your Self Client."
            )
        if not self.client_secret:
            raise ZohoInvoiceConfigError(
                f"{where} has no Client Secret: put it in the 'Client Secret' field "
                "(the connection's password)."
            )
        if not self.refresh_token:
            raise ZohoInvoiceConfigError(
                f"{where} has no refresh token: set the 'Refresh Token' field (extra 'refresh_token'); "
                "python -m airflow_provider_zoho_invoice oauth exchanges a grant code for one."
            )
        return self.client_id, self.client_secret, self.refresh_token


def _text(extras: dict[str, Any], field: str, label: str, conn_id: str) -> str | None:
    value = extras.get(field)
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool) and field == "organization_id":
        value = str(value)
    if not isinstance(value, str):
        raise ZohoInvoiceConfigError(f"Connection '{conn_id}' field '{label}' (extra '{field}') must be text")
    return value.strip() or None


def oauth_config_from_connection(
    *,
    conn_id: str,
    login: str | None,
    password: str | None,
    host: str | None,
    port: int | None,
    extra: Any,
    overrides: dict[str, Any],
) -> ZohoInvoiceOAuthConfig:
    extras = read_extras(extra, conn_id, CONN_TYPE)
    merged = {**extras, **{key: value for key, value in overrides.items() if value is not None}}

    data_center = (_text(merged, "data_center", "Data centre", conn_id) or DEFAULT_DATA_CENTER).lower()
    if data_center not in DATA_CENTERS:
        raise ZohoInvoiceConfigError(
            f"Connection '{conn_id}' field 'Data centre' (extra 'data_center') is not a Zoho data centre; "
            f"use one of {', '.join(DATA_CENTERS)} (the domain your Zoho account opens on)"
        )
    default_accounts, _ = DATA_CENTERS[data_center]

    api_domain_raw = _text(merged, "api_domain", "API domain", conn_id)
    if api_domain_raw is None and host:  # the URI form: zoho-invoice-oauth://id:secret@host:port
        api_domain_raw = host
    api_domain = (
        check_url(api_domain_raw, field="api_domain", conn_id=conn_id, port=port) if api_domain_raw else None
    )
    accounts_raw = _text(merged, "accounts_url", "Accounts URL", conn_id)
    if accounts_raw is None and host and not _text(merged, "api_domain", "API domain", conn_id):
        accounts_raw = api_domain  # one local server (the emulator) plays both parts
    accounts_url = check_url(accounts_raw or default_accounts, field="accounts_url", conn_id=conn_id)

    organization_id = _text(merged, "organization_id", "Organization ID", conn_id)
    if organization_id is not None and not organization_id.isdigit():
        raise ZohoInvoiceConfigError(
            f"Connection '{conn_id}' field 'Organization ID' (extra 'organization_id') must be the digits "
            "Zoho shows under Settings > Organization Profile; leave it empty to use the account's only "
            "organization"
        )
    token_cache = _text(merged, "token_cache", "Token cache", conn_id) or "file"
    if token_cache.lower() in TOKEN_CACHES:
        token_cache = token_cache.lower()
    elif not _is_redis_url(token_cache):
        raise ZohoInvoiceConfigError(
            f"Connection '{conn_id}' field 'Token cache' (extra 'token_cache') must be 'file' (share access "
            "tokens between tasks on this machine, the default), 'none', or a Redis URL such as "
            "redis://:password@redis-host:6379/2 (share them, and the request budget, across machines)"
        )
    min_daily_remaining = whole_number(merged, "min_daily_remaining", conn_id, default=-1)
    return ZohoInvoiceOAuthConfig(
        client_id=(login or "").strip() or None,
        client_secret=password or None,
        refresh_token=_text(merged, "refresh_token", "Refresh Token", conn_id),
        organization_id=organization_id,
        data_center=data_center,
        accounts_url=accounts_url,
        api_domain=api_domain,
        token_cache=token_cache,
        transport=transport_settings(merged, conn_id),
        min_daily_remaining=None if min_daily_remaining < 0 else min_daily_remaining,
        max_in_flight=whole_number(merged, "max_in_flight", conn_id, default=DEFAULT_MAX_IN_FLIGHT),
    )


def _is_redis_url(text: str) -> bool:
    if not text.lower().startswith(REDIS_SCHEMES):
        return False
    parts = urlsplit(text)
    try:
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        return False
    database = parts.path.strip("/")
    return bool(parts.hostname) and (database == "" or database.isdigit())


def api_root(config: ZohoInvoiceOAuthConfig, token_domain: str | None, conn_id: str) -> str:
    """Where API calls go: the connection's pinned domain, else the token answer's, else the data centre's."""
    domain = config.api_domain or token_domain or DATA_CENTERS[config.data_center][1]
    return f"{_checked_domain(domain, conn_id)}{API_ROOT}"


@lru_cache(maxsize=64)
def _checked_domain(domain: str, conn_id: str) -> str:
    try:
        return check_url(domain, field="api_domain", conn_id=conn_id)
    except ZohoInvoiceConfigError as exc:
        raise ZohoInvoiceConfigError(
            f"Zoho Accounts named an API domain this hook will not use ({exc}); pin the "
            "connection's 'api_domain' extra to your data centre's https:// API host"
        ) from None
