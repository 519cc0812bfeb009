"""Provider info for Airflow's providers manager, and both connection forms.

Standard library only: the providers manager imports this on every Airflow start.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_zoho_invoice import __version__

_INTEGRATION = "Zoho Invoice"
_PACKAGE = "airflow_provider_zoho_invoice"


def _field(label: str, description: str, kind: str = "string", *, secret: bool = False) -> dict[str, Any]:
    """A connection-form field with no stored default: defaults live in code, so changing one reaches
    every existing connection; the description says what an empty field means."""
    schema: dict[str, Any] = {"type": [kind, "null"]}
    if secret:
        schema["format"] = "password"
    if kind in ("integer", "number"):
        schema["minimum"] = 0
    return {"label": label, "description": description, "schema": schema}


_TRANSPORT_FIELDS = {
    "timeout": _field("Read timeout (seconds)", "Read timeout of every request. Empty: 30.", "number"),
    "connect_timeout": _field(
        "Connect timeout (seconds)", "Empty: the read timeout, but at most 10.", "number"
    ),
    "max_retries": _field(
        "Max retries",
        "Retries of a request that failed transiently (network, 5xx, 429). Empty: 5.",
        "integer",
    ),
    "backoff": _field(
        "Retry backoff (seconds)",
        "First wait before a retry; later waits double, plus jitter. Empty: 1.",
        "number",
    ),
    "requests_per_minute": _field(
        "Requests per minute",
        "Client-side rate limit; 0 turns it off. Empty: 100 (Zoho's allowance).",
        "integer",
    ),
    "verify": _field(
        "TLS verification", "true, false, or the path of a CA bundle (corporate proxies). Empty: true."
    ),
}
_TRANSPORT_PLACEHOLDERS = {
    "timeout": "30",
    "connect_timeout": "10",
    "max_retries": "5",
    "backoff": "1",
    "requests_per_minute": "100",
    "verify": "true",
}

_LEGACY_CONNECTION = {
    "connection-type": "zoho_invoice",
    "hook-class-name": f"{_PACKAGE}.hooks.zoho_invoice.ZohoInvoiceHook",
    "hook-name": "Zoho Invoice",
    "conn-fields": {
        "apikey": _field(
            "API Key (required)",
            "The API key Zoho sent for this application; every call needs it.",
            secret=True,
        ),
        "scope": _field("Scope", "API scope. Empty: invoiceapi."),
        "accounts_url": _field(
            "Accounts URL", "Zoho Accounts, used to create authtokens. Empty: https://accounts.zoho.com."
        ),
        **_TRANSPORT_FIELDS,
    },
    "ui-field-behaviour": {
        "hidden-fields": ["schema", "login", "extra"],
        "relabeling": {"host": "API base URL", "password": "Auth Token"},
        "placeholders": {
            "host": "https://invoice.zoho.com",
            "password": "authtoken from Zoho Accounts",
            "apikey": "API key",
            "scope": "invoiceapi",
            "accounts_url": "https://accounts.zoho.com",
            **_TRANSPORT_PLACEHOLDERS,
        },
    },
}

_OAUTH_CONNECTION = {
    "connection-type": "zoho_invoice_oauth",
    "hook-class-name": f"{_PACKAGE}.hooks.zoho_invoice_oauth.ZohoInvoiceOAuthHook",
    "hook-name": "Zoho Invoice (OAuth 2.0)",
    "conn-fields": {
        "refresh_token": _field(
            "Refresh Token (required)",
            "The refresh token of your Self Client; python -m airflow_provider_zoho_invoice oauth makes one.",
            secret=True,
        ),
        "organization_id": _field(
            "Organization ID", "Zoho Invoice organization. Empty: the account's only organization."
        ),
        "data_center": _field(
            "Data centre",
            "Where the Zoho account lives: com, eu, in, com.au, jp, ca, com.cn or sa. Empty: com.",
        ),
        "accounts_url": _field("Accounts URL", "Overrides the data centre's Zoho Accounts server."),
        "api_domain": _field(
            "API domain", "Overrides the API host (a proxy, the emulator). Empty: the one Zoho names."
        ),
        "token_cache": _field(
            "Token cache",
            "file: tasks on this machine share one access token (Zoho allows 10 new ones per 10 minutes); "
            "none: each task gets its own. Empty: file.",
        ),
        **_TRANSPORT_FIELDS,
    },
    "ui-field-behaviour": {
        "hidden-fields": ["schema", "host", "port", "extra"],
        "relabeling": {"login": "Client ID", "password": "Client Secret"},
        "placeholders": {
            "login": "1000.XXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
            "password": "client secret from Zoho's API console",
            "refresh_token": "1000.xxxxxxxx.xxxxxxxx",
            "organization_id": "10234695",
            "data_center": "com",
            "accounts_url": "https://accounts.zoho.com",
            "api_domain": "https://www.zohoapis.com",
            "token_cache": "file",
            **_TRANSPORT_PLACEHOLDERS,
        },
    },
}


def get_provider_info() -> dict[str, Any]:
    """Describe the provider to Airflow's providers manager (entry point ``apache_airflow_provider``)."""
    return {
        "package-name": "airflow-provider-zoho-invoice",
        "name": "Zoho Invoice",
        "description": "Hooks, operators, sensors and triggers for the Zoho Invoice API (v3 and legacy).",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": _INTEGRATION,
                "external-doc-url": "https://www.zoho.com/invoice/",
                "tags": ["service"],
            }
        ],
        "hooks": [
            {
                "integration-name": _INTEGRATION,
                "python-modules": [f"{_PACKAGE}.hooks.zoho_invoice", f"{_PACKAGE}.hooks.zoho_invoice_oauth"],
            }
        ],
        "operators": [
            {"integration-name": _INTEGRATION, "python-modules": [f"{_PACKAGE}.operators.zoho_invoice"]}
        ],
        "sensors": [
            {"integration-name": _INTEGRATION, "python-modules": [f"{_PACKAGE}.sensors.zoho_invoice"]}
        ],
        "triggers": [
            {"integration-name": _INTEGRATION, "python-modules": [f"{_PACKAGE}.triggers.zoho_invoice"]}
        ],
        "connection-types": [_LEGACY_CONNECTION, _OAUTH_CONNECTION],
    }
