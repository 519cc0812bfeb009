"""Listing the legacy item catalogue: every item once, in order, while the catalogue may change.

The algorithm receives a function that reads one page; it never sees HTTP, so it can be tested
on pages made up in memory.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Callable, Iterator
from typing import Any

from airflow_provider_zoho_invoice.legacy.answers import PageContext, ZohoInvoiceItem
from airflow_provider_zoho_invoice.paging import RecentIds, pages_in_order

MAX_REREADS = 3
"""Extra passes over a catalogue that changes while it is listed."""

Page = tuple[list[ZohoInvoiceItem], PageContext]


class SeenItems:
    """Which item IDs a listing has emitted, in about 8 bytes per numeric ID.

    Pages can shift while a catalogue changes: an item may show up on two pages
    (emitted once) or slip onto a page already read (caught by a second pass).
    """

    def __init__(self) -> None:
        self._numeric = array("Q")
        self._other: set[str] = set()
        self._recent = RecentIds()
        self._lookup: set[int] | None = None

    def start_page(self) -> None:
        self._recent.new_page()

    def add_if_new(self, item_id: str) -> bool:
        key = int(item_id) if item_id.isdigit() and len(item_id) < 20 else None
        if self._lookup is not None:
            if (key is not None and key in self._lookup) or item_id in self._other:
                return False
        elif not self._recent.add_if_new(item_id):
            return False
        if key is None:
            self._other.add(item_id)
        else:
            self._numeric.append(key)
            if self._lookup is not None:
                self._lookup.add(key)
        return True

    def full_lookup(self) -> None:
        """Switch to exact membership over everything emitted (used only after the catalogue changed)."""
        self._lookup = set(self._numeric)


def list_catalogue(
    get_page: Callable[[int], Page], *, per_page: int, max_items: int | None, concurrency: int, log: Any
) -> Iterator[ZohoInvoiceItem]:
    """Every item once, following the server's paging; re-read when the total changed meanwhile.

    ``get_page(n)`` reads page ``n`` (1-based) of ``per_page`` items.
    """
    if max_items == 0:
        return
    seen = SeenItems()
    emitted = 0
    for reread in range(MAX_REREADS + 1):
        totals: set[int] = set()
        for items, context in _pages(get_page, per_page, max_items if reread == 0 else None, concurrency):
            totals.add(context.total)
            seen.start_page()
            for item in items:
                if seen.add_if_new(item.item_id):
                    yield item
                    emitted += 1
                    if max_items is not None and emitted >= max_items:
                        return
        if len(totals) <= 1:
            return
        shown = ", ".join(str(total) for total in sorted(totals))
        if reread == MAX_REREADS:
            log.warning(
                "The Zoho Invoice catalogue kept changing (totals seen: %s); after %d re-reads the "
                "listing may miss items that moved between pages",
                shown,
                MAX_REREADS,
            )
            return
        log.warning(
            "The Zoho Invoice catalogue changed during the listing (totals seen: %s); "
            "reading it again for items that moved between pages",
            shown,
        )
        seen.full_lookup()


def _pages(
    get_page: Callable[[int], Page], per_page: int, max_items: int | None, concurrency: int
) -> Iterator[Page]:
    """Pages in order; the page count comes from the latest page handed on."""
    page_limit = math.inf if max_items is None else math.ceil(max_items / per_page)
    first = get_page(1)
    yield first
    known_pages = first[1].total_pages

    def may_fetch(page: int) -> bool:
        return page <= min(known_pages, page_limit)

    # Twice as many pages queued as workers: a worker never idles while an earlier page waits.
    for page in pages_in_order(
        get_page, start=2, workers=concurrency, may_fetch=may_fetch, queued=2 * concurrency
    ):
        yield page
        known_pages = page[1].total_pages
