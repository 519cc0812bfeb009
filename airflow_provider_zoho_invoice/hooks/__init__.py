"""Hooks of the Zoho Invoice provider, and the one place that picks a hook for a connection."""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_provider_zoho_invoice.exceptions import ZohoInvoiceConfigError
from airflow_provider_zoho_invoice.legacy.constants import CONN_TYPE as LEGACY_CONN_TYPE
from airflow_provider_zoho_invoice.v3.constants import CONN_TYPE as OAUTH_CONN_TYPE

if TYPE_CHECKING:
    from airflow_provider_zoho_invoice.compat import Connection
    from airflow_provider_zoho_invoice.hooks.base import ZohoInvoiceBaseHook

__all__ = ["LEGACY_CONN_TYPE", "OAUTH_CONN_TYPE", "hook_for"]


def hook_for(conn_id: str, *, connection: Connection | None = None) -> ZohoInvoiceBaseHook:
    """The hook that speaks the connection's protocol, built when a task runs (never at parse time).

    Imports happen here, so operator and sensor modules never import requests at parse time.
    """
    if connection is None:
        from airflow_provider_zoho_invoice.compat import BaseHook
        from airflow_provider_zoho_invoice.connection import fetch_connection

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
