"""The v3 list resources: where each lives, how its answers name things, how it is extracted by interval.

Imports nothing heavy: operators check resource names against this table at DAG-parse time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

KEYSET = "keyset"
SCAN = "scan"
SNAPSHOT_ONLY = "snapshot only"


@dataclass(frozen=True)
class Resource:
    """A list endpoint: where it lives, how its answers name things, how it is extracted by interval.

    ``interval_strategy``: ``keyset`` where Zoho is expected to sort by ``last_modified_time``
    (recorded live answers show it on most of these); what its filter of that name compares is
    measured on the account before it is relied on (:mod:`~airflow_provider_zoho_invoice.v3.intervals`);
    ``scan`` (every page, filtered and ordered on the client) where Zoho refuses that sort
    (expenses) or its support is unknown; ``snapshot only`` where records carry no
    modification time.
    """

    name: str
    path: str
    list_key: str
    record_key: str
    id_field: str
    interval_strategy: str = KEYSET
    not_found_code: int = 1002
    """The code Zoho's documentation gives for an unknown id of this resource."""


RESOURCES: dict[str, Resource] = {
    r.name: r
    for r in (
        Resource("items", "/items", "items", "item", "item_id", SCAN, not_found_code=2006),
        Resource("contacts", "/contacts", "contacts", "contact", "contact_id"),
        Resource("invoices", "/invoices", "invoices", "invoice", "invoice_id"),
        Resource("estimates", "/estimates", "estimates", "estimate", "estimate_id"),
        Resource(
            "customerpayments",
            "/customerpayments",
            "customerpayments",
            "payment",
            "payment_id",
        ),
        Resource(
            "creditnotes",
            "/creditnotes",
            "creditnotes",
            "creditnote",
            "creditnote_id",
        ),
        Resource(
            "expenses",
            "/expenses",
            "expenses",
            "expense",
            "expense_id",
            SCAN,
        ),
        Resource(
            "recurringinvoices",
            "/recurringinvoices",
            "recurring_invoices",
            "recurring_invoice",
            "recurring_invoice_id",
            SCAN,
        ),
        Resource("projects", "/projects", "projects", "project", "project_id"),
        Resource("taxes", "/settings/taxes", "taxes", "tax", "tax_id", SCAN),
        Resource("users", "/users", "users", "user", "user_id", SNAPSHOT_ONLY),
    )
}


WRITABLE_RESOURCES = ("invoices", "contacts", "items")
"""What ``upsert_records`` writes."""
WRITE_MODES = ("upsert", "create", "update")
WRITE_ACTIONS = ("created", "updated", "unchanged", "failed", "would_create", "would_update")
"""What an upsert did with a row."""


def check_write(resource_name: Any, match_on: Any, mode: Any) -> Resource:
    """Refuse an unknown resource, key field or mode before any request (and at DAG-parse time)."""
    if resource_name not in WRITABLE_RESOURCES:
        raise ValueError(
            f"resource {resource_name!r} cannot be written; choose one of {', '.join(WRITABLE_RESOURCES)}"
        )
    if not isinstance(match_on, str) or not match_on:
        raise ValueError(f"match_on must name the field that identifies a row in Zoho (got {match_on!r})")
    if mode not in WRITE_MODES:
        raise ValueError(f"mode must be one of {', '.join(WRITE_MODES)} (got {mode!r})")
    return resource(resource_name)


SCOPE_MODULES = frozenset(
    {
        "contacts",
        "settings",
        "estimates",
        "invoices",
        "customerpayments",
        "creditnotes",
        "projects",
        "expenses",
    }
)
_MODULE_OF = {"recurringinvoices": "invoices"}  # items, taxes, users and organizations: settings
_OPERATION_OF = {"GET": "READ", "POST": "CREATE", "PUT": "UPDATE", "DELETE": "DELETE"}


def scope_for(path: str, method: str = "GET") -> str:
    """The OAuth scope a call needs, e.g. ``ZohoInvoice.invoices.READ`` for ``GET /invoices/1``.

    Zoho Invoice groups its endpoints into modules; items, taxes and users live under ``settings``.
    """
    segment = path.strip("/").split("/", 1)[0]
    module = _MODULE_OF.get(segment, segment if segment in SCOPE_MODULES else "settings")
    return f"ZohoInvoice.{module}.{_OPERATION_OF.get(method.upper(), 'ALL')}"


def scope_grants(granted: frozenset[str], needed: str) -> bool:
    """Whether scopes as Zoho writes them (``ZohoInvoice.invoices.ALL``, ``.fullaccess.all``) cover it."""
    module = needed.rsplit(".", 1)[0]
    return bool(
        {needed, f"{module}.ALL", "ZohoInvoice.fullaccess.all", "ZohoInvoice.fullaccess.ALL"} & granted
    )


def resource(name: Any) -> Resource:
    """The resource called ``name``, or a ValueError that lists the known ones."""
    found = RESOURCES.get(name) if isinstance(name, str) else None
    if found is None:
        raise ValueError(f"unknown Zoho Invoice resource {name!r}; choose one of {', '.join(RESOURCES)}")
    return found
