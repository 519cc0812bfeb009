"""``python -m airflow_provider_zoho_invoice probe``: measure a live account before its first backfill.

Read-only and cheap (about 30 API calls): per list resource, whether Zoho sorts it by
modification time and what its ``last_modified_time`` filter compares, the organization's UTC
offset as its records show it, and the error code of an unknown id. What is measured of the
filter is kept where the hook reads it, so the first interval starts from it.
"""

from __future__ import annotations

from typing import IO, TYPE_CHECKING

from airflow_provider_zoho_invoice.exceptions import ZohoInvoiceAPIError
from airflow_provider_zoho_invoice.v3.filter_facts import FilterFacts
from airflow_provider_zoho_invoice.v3.resources import KEYSET, RESOURCES, SNAPSHOT_ONLY

if TYPE_CHECKING:
    from airflow_provider_zoho_invoice.hooks.zoho_invoice_oauth import ZohoInvoiceOAuthHook

CALL_BUDGET = 30
UNKNOWN_ID = "999999999999999999"
"""An id no record has: what Zoho answers to it is the resource's not-found code."""


def probe(hook: ZohoInvoiceOAuthHook, out: IO[str]) -> None:
    """Measure, keep what the hook uses, and print a table of what was found."""
    organization = hook.organization_id
    facts: dict[str, FilterFacts] = {}
    for name, found in RESOURCES.items():
        if found.interval_strategy == KEYSET:
            facts[name] = hook.measure_filter(name)
    not_found: dict[str, str] = {}
    for name in RESOURCES:
        if hook.api_calls >= CALL_BUDGET:
            not_found[name] = "not asked (call budget)"
            continue
        try:
            hook.get_record(name, UNKNOWN_ID)
            not_found[name] = "a record has that id"
        except ZohoInvoiceAPIError as exc:
            not_found[name] = str(exc.code)
    offsets = {f.offset_text for f in facts.values() if f.offset_minutes is not None}
    print(
        f"Zoho Invoice organization {organization}: records written at {', '.join(sorted(offsets)) or '?'}",
        file=out,
    )
    print(file=out)
    header = ("resource", "sort by modification", "last_modified_time filter", "intervals by", "unknown id")
    rows = [header]
    for name, found in RESOURCES.items():
        measured = facts.get(name)
        if measured is not None:
            sort = "accepted" if measured.sort_accepted else "refused"
            rows.append(
                (
                    name,
                    sort,
                    measured.reading if measured.sort_accepted else "-",
                    measured.strategy(),
                    not_found[name],
                )
            )
        else:
            how = "snapshot only" if found.interval_strategy == SNAPSHOT_ONLY else "every page, filtered here"
            rows.append((name, "not measured", "-", how, not_found[name]))
    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip(), file=out
        )
    print(file=out)
    quota = hook.quota.values
    left = (
        f"{quota['remaining']} of {quota['limit']} calls left today"
        if "remaining" in quota and "limit" in quota
        else "not reported"
    )
    print(f"{hook.api_calls} API calls used; daily quota: {left}", file=out)
