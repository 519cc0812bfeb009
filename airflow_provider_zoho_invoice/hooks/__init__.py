"""Hooks of the Zoho Invoice provider, and the one place that picks a hook for a connection."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_zoho_invoice.exceptions import ZohoInvoiceConfigError

if TYPE_CHECKING:
    from airflow_provider_zoho_invoice.compat import Connection
    from airflow_provider_zoho_invoice.hooks.zoho_invoice import ZohoInvoiceHook
    from airflow_provider_zoho_invoice.hooks.zoho_invoice_oauth import ZohoInvoiceOAuthHook

    AnyZohoInvoiceHook = ZohoInvoiceHook | ZohoInvoiceOAuthHook

LEGACY_CONN_TYPE = "zoho_invoice"
OAUTH_CONN_TYPE = "zoho_invoice_oauth"


def hook_for(conn_id: str, *, connection: Connection | None = None) -> AnyZohoInvoiceHook:
    """The hook that speaks the connection's protocol, built when a task runs (never at parse time).

    Imports happen here, so operator and sensor modules never import requests at parse time.
    """
    if connection is None:
        from airflow_provider_zoho_invoice.compat import BaseHook
        from airflow_provider_zoho_invoice.hooks.config import fetch_connection

        connection = fetch_connection(BaseHook.get_connection, conn_id)
    conn_type = (connection.conn_type or LEGACY_CONN_TYPE).replace("-", "_")
    if conn_type == OAUTH_CONN_TYPE:
        from airflow_provider_zoho_invoice.hooks.zoho_invoice_oauth import ZohoInvoiceOAuthHook

        return ZohoInvoiceOAuthHook(conn_id, connection=connection)
    if conn_type == LEGACY_CONN_TYPE:
        from airflow_provider_zoho_invoice.hooks.zoho_invoice import ZohoInvoiceHook

        return ZohoInvoiceHook(conn_id, connection=connection)
    raise ZohoInvoiceConfigError(
        f"Connection '{conn_id}' has type '{conn_type}', not a Zoho Invoice type: use "
        f"'{OAUTH_CONN_TYPE}' (Zoho Invoice API v3, every current account) or '{LEGACY_CONN_TYPE}' "
        "(the legacy authtoken API)"
    )


def as_row(value: Any) -> dict[str, Any]:
    """A JSON-safe dict for XCom: legacy items via ``to_dict()``; v3 records with amounts as decimal text.

    Airflow's own XCom encoding would pass ``Decimal`` through ``float``; text keeps every digit.
    """
    to_dict = getattr(value, "to_dict", None)
    if to_dict is not None:
        row: dict[str, Any] = to_dict()
        return row
    import msgspec

    return msgspec.json.decode(msgspec.json.encode(value))  # type: ignore[no-any-return]
