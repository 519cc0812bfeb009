"""A local Zoho Invoice (API v3 with OAuth, and the legacy XML API), for tests, demos and offline DAG work."""

from airflow_provider_zoho_invoice.emulator.accounts import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_REFRESH_TOKEN,
)
from airflow_provider_zoho_invoice.emulator.app import (
    ZohoInvoiceEmulator,
    connection_json,
    oauth_connection_json,
)
from airflow_provider_zoho_invoice.emulator.catalogue import Catalogue, EmulatedItem, generate_item
from airflow_provider_zoho_invoice.emulator.churn import Churn
from airflow_provider_zoho_invoice.emulator.faults import FAULT_KINDS, FAULTS, FaultPlan
from airflow_provider_zoho_invoice.emulator.legacy import (
    DEFAULT_APIKEY,
    DEFAULT_AUTHTOKEN,
    DEFAULT_EMAIL,
    DEFAULT_PASSWORD,
    Account,
)
from airflow_provider_zoho_invoice.emulator.v3 import DEFAULT_ORGANIZATION

__all__ = [
    "DEFAULT_APIKEY",
    "DEFAULT_AUTHTOKEN",
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "DEFAULT_EMAIL",
    "DEFAULT_ORGANIZATION",
    "DEFAULT_PASSWORD",
    "DEFAULT_REFRESH_TOKEN",
    "FAULTS",
    "FAULT_KINDS",
    "Account",
    "Catalogue",
    "Churn",
    "EmulatedItem",
    "FaultPlan",
    "ZohoInvoiceEmulator",
    "connection_json",
    "generate_item",
    "oauth_connection_json",
]
