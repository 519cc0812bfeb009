"""Listing a v3 resource page by page (offset paging): every record once, in Zoho's order.

The algorithm receives a function that reads one page, never the hook, so it can be tested
on pages made up in memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from airflow_provider_zoho_invoice.exceptions import ZohoInvoiceResponseError
from airflow_provider_zoho_invoice.paging import RecentIds, pages_in_order
from airflow_provider_zoho_invoice.v3.resources import Resource

Page = tuple[list[Any], bool]
"""A page's records and whether Zoho says more pages follow (``page_context.has_more_page``)."""

RESERVED_PARAMS = ("page", "per_page", "organization_id")


def check_params(params: Any) -> dict[str, Any]:
    """Query parameters a caller may add to a listing (filters such as ``status``)."""
    if params is None:
        return {}
    if not isinstance(params, dict):
        raise ValueError(f"params must be a dict of query parameters (got {type(params).__name__})")
    reserved = sorted(key for key in params if key in RESERVED_PARAMS)
    if reserved:
        raise ValueError(
            f"params must not set {', '.join(reserved)}: the hook manages paging and organization"
        )
    for key, value in params.items():
        if not isinstance(key, str) or not isinstance(value, (str, int)) or isinstance(value, bool):
            raise ValueError(f"params[{key!r}] must be text or a whole number")
    return dict(params)


def records_of(found: Resource, document: dict[str, Any]) -> Page:
    """The records of a list answer and whether more pages follow."""
    records = document.get(found.list_key)
    if not isinstance(records, list):
        raise ZohoInvoiceResponseError(
            f"Zoho Invoice's answer to {found.path} has no '{found.list_key}' list"
        )
    context = document.get("page_context")
    has_more = bool(context.get("has_more_page")) if isinstance(context, dict) else False
    return records, has_more


def offset_records(
    fetch_page: Callable[[int], Page],
    *,
    id_field: str,
    max_records: int | None,
    concurrency: int,
    on_first_page: Callable[[], None] = lambda: None,
) -> Iterator[Any]:
    """Every record of pages 1, 2, ... until one says no more follow; repeats across pages dropped.

    There is no page count, so with ``concurrency`` above 1 the next pages are fetched
    speculatively: at most ``concurrency`` requests go past the last page, and their
    answers are dropped unread.
    """
    if max_records == 0:
        return
    recent = RecentIds()
    emitted = 0
    first = True
    for records in _pages(fetch_page, concurrency):
        if first:
            on_first_page()
            first = False
        recent.new_page()
        for record in records:
            if recent.add_if_new(record.get(id_field) if isinstance(record, dict) else None):
                yield record
                emitted += 1
                if max_records is not None and emitted >= max_records:
                    return


def _pages(fetch_page: Callable[[int], Page], concurrency: int) -> Iterator[list[Any]]:
    first, more = fetch_page(1)  # the first page alone: token, organization and quota are learnt here
    yield first
    if not more:
        return
    # Speculative: page n + 1 is asked for before page n has said whether it is the last.
    for records, page_more in pages_in_order(fetch_page, start=2, workers=concurrency, may_fetch=_always):
        yield records
        if not page_more:
            return  # later speculative pages are past the end: dropped unread


def _always(page: int) -> bool:
    return True
