"""Hooks of the Zoho Invoice provider."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from airflow_provider_zoho_invoice.hooks.zoho_invoice import ZohoInvoiceHook


def hook_for(conn_id: str) -> ZohoInvoiceHook:
    """Build the hook on first use, so operator and sensor modules never import requests at parse time."""
    from airflow_provider_zoho_invoice.hooks.zoho_invoice import ZohoInvoiceHook

    return ZohoInvoiceHook(zoho_invoice_conn_id=conn_id)
