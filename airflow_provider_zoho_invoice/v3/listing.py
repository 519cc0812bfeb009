"""Listing a v3 resource page by page (offset paging): every record once, in Zoho's order.

The algorithm receives a function that reads one page, never the hook, so it can be tested
on pages made up in memory.
"""

from __future__ import annotations

import threading
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


def records_of(
    found: Resource, document: dict[str, Any], *, per_page: int | None = None, page: int | None = None
) -> Page:
    """The records of a list answer and whether more pages follow; an answer that cannot be paged
    safely (no way to tell whether more follow, or a page that says more follow but holds nothing)
    is an error, never the silent end of a listing."""
    where = f"Zoho Invoice's answer to {found.path}" + (f" (page {page})" if page is not None else "")
    records = document.get(found.list_key)
    if not isinstance(records, list):
        raise ZohoInvoiceResponseError(f"{where} has no '{found.list_key}' list")
    for position, record in enumerate(records):
        if not isinstance(record, dict):
            raise ZohoInvoiceResponseError(
                f"{where} holds {type(record).__name__} {str(record)[:40]!r} at position {position} of "
                f"its '{found.list_key}' list, where a record belongs"
            )
    context = document.get("page_context")
    more = context.get("has_more_page") if isinstance(context, dict) else None
    if more is None:
        if per_page is not None and len(records) >= per_page:
            raise ZohoInvoiceResponseError(
                f"{where} is a full page of {len(records)} {found.name} without page_context.has_more_page, "
                "so whether more follow is unknown; the listing stops here rather than end short"
            )
        return records, False
    if not isinstance(more, bool):
        raise ZohoInvoiceResponseError(
            f"{where} has page_context.has_more_page {str(more)[:20]!r}, not true or false"
        )
    if more and not records:
        raise ZohoInvoiceResponseError(f"{where} is an empty page that says more pages follow")
    return records, more


def offset_records(
    fetch_page: Callable[[int], Page],
    found: Resource,
    *,
    max_records: int | None,
    concurrency: int,
    abandoned: threading.Event | None = None,
    budget_bound: Callable[[], bool] = lambda: False,
) -> Iterator[Any]:
    """Every record of pages 1, 2, ... until one says no more follow; repeats across pages dropped.

    There is no page count, so with ``concurrency`` above 1 the next pages are fetched
    speculatively: at most ``concurrency`` requests go past the last page; their answers are
    dropped unread and not waited for (``abandoned`` is set for them). Once ``budget_bound()``
    (requests wait for the organization's per-minute budget, so latency is not what limits the
    listing), only the page after the last one read is asked for, for the rest of the listing:
    a guess past the end would spend budget that another listing of the organization needs.
    A server that serves a
    page again (its records all listed already, or the very same records in the same order as
    an earlier page) would make the listing endless: that is an error, at the first repeat.
    """
    if max_records == 0:
        return
    recent = RecentIds()
    fingerprints: set[int] = set()  # one small hash per page: memory stays flat
    emitted = 0
    for number, (records, more) in enumerate(
        _pages(fetch_page, concurrency, abandoned, budget_bound), start=1
    ):
        ids = tuple(record.get(found.id_field) for record in records)
        if more and hash(ids) in fingerprints:
            raise _repeated(found, number)
        fingerprints.add(hash(ids))
        recent.new_page()
        new = 0
        for record_id, record in zip(ids, records, strict=True):
            if recent.add_if_new(record_id):
                new += 1
                yield record
                emitted += 1
                if max_records is not None and emitted >= max_records:
                    return
        if more and not new:
            raise _repeated(found, number)


def _repeated(found: Resource, number: int) -> ZohoInvoiceResponseError:
    return ZohoInvoiceResponseError(
        f"Zoho Invoice served page {number} of {found.path} with records it had served already, while "
        "saying more pages follow: the listing would never end, so it stops here"
    )


def _pages(
    fetch_page: Callable[[int], Page],
    concurrency: int,
    abandoned: threading.Event | None,
    budget_bound: Callable[[], bool],
) -> Iterator[Page]:
    # Speculative: page n + 1 is asked for before page n has said whether it is the last. The
    # caller has the access token and organization before the first page, so page 1 need not go
    # alone: under Zoho's limit of requests in process, every slot counts from the start.
    read = 0  # pages handed on, each of which said more follow
    bound = False  # once the budget set the pace, it does for the rest of the listing

    def may_fetch(page: int) -> bool:
        nonlocal bound
        bound = bound or budget_bound()
        return page <= read + 1 or not bound

    pages = pages_in_order(fetch_page, start=1, workers=concurrency, may_fetch=may_fetch, abandoned=abandoned)
    try:
        for page in pages:
            read += 1
            yield page
            if not page[1]:
                return  # later speculative pages are past the end: dropped unread
    finally:
        pages.close()  # now, not when the generator is collected: pages past the end stop at once
