"""Apache Airflow provider for Zoho Invoice.

This module is imported by Airflow's providers manager on every start, so it
imports nothing beyond the standard library.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_INTEGRATION = "Zoho Invoice"
_PACKAGE = "airflow_provider_zoho_invoice"


def get_provider_info() -> dict[str, Any]:
    """Describe the provider to Airflow's providers manager (entry point ``apache_airflow_provider``)."""
    return {
        "package-name": "airflow-provider-zoho-invoice",
        "name": "Zoho Invoice",
        "description": "Hook, operators, sensors and triggers for the Zoho Invoice API.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": _INTEGRATION,
                "external-doc-url": "https://www.zoho.com/invoice/",
                "tags": ["service"],
            }
        ],
        "hooks": [{"integration-name": _INTEGRATION, "python-modules": [f"{_PACKAGE}.hooks.zoho_invoice"]}],
        "operators": [
            {"integration-name": _INTEGRATION, "python-modules": [f"{_PACKAGE}.operators.zoho_invoice"]}
        ],
        "sensors": [
            {"integration-name": _INTEGRATION, "python-modules": [f"{_PACKAGE}.sensors.zoho_invoice"]}
        ],
        "triggers": [
            {"integration-name": _INTEGRATION, "python-modules": [f"{_PACKAGE}.triggers.zoho_invoice"]}
        ],
        "connection-types": [
            {
                "connection-type": "zoho_invoice",
                "hook-class-name": f"{_PACKAGE}.hooks.zoho_invoice.ZohoInvoiceHook",
                "hook-name": "Zoho Invoice",
                "conn-fields": {
                    "apikey": {
                        "label": "API Key",
                        "description": "The API key Zoho sent for this application.",
                        "schema": {"type": ["string", "null"], "format": "password"},
                    },
                    "scope": {
                        "label": "Scope",
                        "schema": {"type": ["string", "null"], "default": "invoiceapi"},
                    },
                    "accounts_url": {
                        "label": "Accounts URL",
                        "description": "Zoho Accounts service used to generate authtokens.",
                        "schema": {"type": ["string", "null"], "default": "https://accounts.zoho.com"},
                    },
                    "timeout": {
                        "label": "Timeout (seconds)",
                        "description": "Connect and read timeout of every request.",
                        "schema": {"type": ["number", "null"], "default": 30},
                    },
                    "max_retries": {
                        "label": "Max retries",
                        "description": "Retries of a request that failed transiently (network, 5xx, 429).",
                        "schema": {"type": ["integer", "null"], "default": 5, "minimum": 0},
                    },
                    "requests_per_minute": {
                        "label": "Requests per minute",
                        "description": "Client-side rate limit; 0 turns it off.",
                        "schema": {"type": ["integer", "null"], "default": 100, "minimum": 0},
                    },
                },
                "ui-field-behaviour": {
                    "hidden-fields": ["schema", "port", "login", "extra"],
                    "relabeling": {"host": "API base URL", "password": "Auth Token"},
                    "placeholders": {
                        "host": "https://invoice.zoho.com",
                        "password": "authtoken from Zoho Accounts",
                        "apikey": "API key",
                        "scope": "invoiceapi",
                        "accounts_url": "https://accounts.zoho.com",
                        "timeout": "30",
                        "max_retries": "5",
                        "requests_per_minute": "100",
                    },
                },
            }
        ],
    }
