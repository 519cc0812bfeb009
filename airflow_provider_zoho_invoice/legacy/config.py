"""Read and check a ``zoho_invoice`` (legacy authtoken) connection once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from airflow_provider_zoho_invoice.connection import check_url, read_extras, transport_settings
from airflow_provider_zoho_invoice.exceptions import ZohoInvoiceConfigError
from airflow_provider_zoho_invoice.legacy.constants import (
    CONN_TYPE,
    DEFAULT_ACCOUNTS_URL,
    DEFAULT_BASE_URL,
    DEFAULT_SCOPE,
)
from airflow_provider_zoho_invoice.transport import TransportSettings


@dataclass(frozen=True)
class ZohoInvoiceConnectionConfig:
    """Everything the hook needs from a connection, checked."""

    base_url: str
    accounts_url: str
    authtoken: str | None
    apikey: str | None
    scope: str
    transport: TransportSettings

    def __repr__(self) -> str:  # the dataclass default would print the credentials
        return f"ZohoInvoiceConnectionConfig(base_url={self.base_url!r}, scope={self.scope!r})"

    @property
    def secrets(self) -> tuple[str | None, ...]:
        return (self.authtoken, self.apikey)

    def require_credentials(self, conn_id: str) -> tuple[str, str]:
        if not self.authtoken:
            raise ZohoInvoiceConfigError(
                f"Connection '{conn_id}' has no authtoken: put it in the 'Auth Token' field (the "
                "connection's password); python -m airflow_provider_zoho_invoice authtoken creates one."
            )
        if not self.apikey:
            raise ZohoInvoiceConfigError(
                f"Connection '{conn_id}' has no API key: put the key Zoho sent you in the 'API Key' "
                'field (extra \'apikey\', for example extra={"apikey": "..."}).'
            )
        return self.authtoken, self.apikey


def config_from_connection(
    *,
    conn_id: str,
    host: str | None,
    password: str | None,
    extra: Any,
    overrides: dict[str, Any],
    port: int | None = None,
) -> ZohoInvoiceConnectionConfig:
    extras = read_extras(extra, conn_id, CONN_TYPE)
    merged = {**extras, **{key: value for key, value in overrides.items() if value is not None}}

    apikey = merged.get("apikey")
    if apikey is not None and not isinstance(apikey, str):
        raise ZohoInvoiceConfigError(f"Connection '{conn_id}' extra 'apikey' must be a string")
    scope = merged.get("scope") or DEFAULT_SCOPE
    if not isinstance(scope, str):
        raise ZohoInvoiceConfigError(f"Connection '{conn_id}' extra 'scope' must be a string")

    return ZohoInvoiceConnectionConfig(
        base_url=check_url(host or DEFAULT_BASE_URL, field="host", conn_id=conn_id, port=port),
        accounts_url=check_url(
            merged.get("accounts_url") or DEFAULT_ACCOUNTS_URL, field="accounts_url", conn_id=conn_id
        ),
        authtoken=password or None,
        apikey=apikey or None,
        scope=scope,
        transport=transport_settings(merged, conn_id),
    )
