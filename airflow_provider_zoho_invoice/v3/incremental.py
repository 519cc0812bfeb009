"""Extracting the records modified in an interval ``[since, before)``: exactly those, each once.

Three strategies, each given functions that read pages, never the hook:

- :func:`keyset` continues from the last ``last_modified_time`` seen instead of an offset, so it
  stays exact while Zoho changes under the listing; blocks of records sharing one timestamp
  across pages are read again from their start. It needs a filter that is a lower bound, and
  checks that it is one;
- :func:`newest_first` needs only the sort: it reads from the newest modification back to the
  interval's start, for a filter that is not a lower bound;
- :func:`scan` reads every record and keeps the interval's, for resources Zoho will not sort by
  modification time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any

from airflow_provider_zoho_invoice.exceptions import ZohoInvoiceResponseError
from airflow_provider_zoho_invoice.v3.answers import format_zoho_time, parse_zoho_time
from airflow_provider_zoho_invoice.v3.resources import SNAPSHOT_ONLY, Resource

MAX_BLOCK_REREADS = 3
"""Passes over a block of records sharing one timestamp that keeps shifting while it is read."""

MANAGED_PARAMS = ("last_modified_time", "sort_column", "sort_order")

FetchModified = Callable[[datetime | None, int], tuple[list[Any], bool]]
"""``fetch(cursor, page)``: page ``page`` of the records modified at or after ``cursor``, in
``last_modified_time`` order (all records when ``cursor`` is None), and whether more follow."""

Floor = Callable[[datetime], datetime]
"""The earliest modification time a fetch at ``cursor`` may return: the value the filter was
given, when it is given earlier than the cursor (a second early, so that an exclusive filter
misses nothing)."""


class FilterMisread(ZohoInvoiceResponseError):
    """Zoho's ``last_modified_time`` filter did not act as the lower bound it was measured to be."""


def check_interval_query(found: Resource, query: dict[str, Any]) -> None:
    """Refuse what an interval cannot be extracted from, before any request."""
    if found.interval_strategy == SNAPSHOT_ONLY:
        raise ValueError(
            f"{found.name} carry no modification time, so they cannot be extracted by interval: "
            "list them whole (no modified_since/modified_before; the operator's mode='snapshot')"
        )
    managed = sorted(key for key in query if key in MANAGED_PARAMS)
    if managed:
        raise ValueError(
            f"params must not set {', '.join(managed)} with modified_since/modified_before: "
            "the hook sets them"
        )


def modified_time(found: Resource, record: Any) -> datetime:
    """A record's ``last_modified_time``; a record without one is an error, never skipped silently."""
    moment = parse_zoho_time(record.get("last_modified_time") if isinstance(record, dict) else None)
    if moment is None:
        record_id = record.get(found.id_field) if isinstance(record, dict) else "?"
        raise ZohoInvoiceResponseError(
            f"A {found.record_key} from {found.path} has no readable last_modified_time "
            f"({found.id_field} {record_id}); extract this resource with mode='snapshot'"
        )
    return moment


def keyset(
    fetch: FetchModified,
    found: Resource,
    *,
    since: datetime | None,
    before: datetime | None,
    log: Any,
    floor: Floor | None = None,
    on_exhausted: Callable[[datetime | None, set[Any]], None] | None = None,
) -> Iterator[dict[str, Any]]:
    """Each record of the interval once, in ``last_modified_time`` order (see :func:`_keyset`).

    ``on_exhausted(cursor, ids)`` is called when Zoho says no more records follow before the
    interval's end was seen; it may raise :class:`FilterMisread` should Zoho know of more.
    """
    records = _keyset(
        fetch, found, since=since, before=before, log=log, floor=floor, on_exhausted=on_exhausted
    )
    yield from once_each(records, found, log)


def once_each(records: Iterable[Any], found: Resource, log: Any) -> Iterator[Any]:
    """Each id once, whatever its timestamps do: a record edited while the interval is listed can
    come back with a later time inside the interval (a server clock behind ours). The version
    written first stays; the interval that holds the new time carries the edit."""
    emitted: set[Any] = set()  # one id per record of the interval: a few MB for 100,000
    repeated = 0
    for record in records:
        record_id = record.get(found.id_field)
        if record_id is not None:
            if record_id in emitted:
                repeated += 1
                continue
            emitted.add(record_id)
        yield record
    if repeated:
        log.warning(
            "%d %s came back with a later last_modified_time while the interval was listed (edited "
            "meanwhile); each was written once, in its earlier version",
            repeated,
            found.name,
        )


def _keyset(
    fetch: FetchModified,
    found: Resource,
    *,
    since: datetime | None,
    before: datetime | None,
    log: Any,
    floor: Floor | None = None,
    on_exhausted: Callable[[datetime | None, set[Any]], None] | None = None,
) -> Iterator[dict[str, Any]]:
    """Keyset paging on ``last_modified_time``: exact while Zoho changes under the listing.

    Offset pages shift when a record is edited during a listing (it moves to the end of
    the order), so each request continues from the last timestamp seen instead; ids already
    emitted at that timestamp are dropped. Many records can share one timestamp (bulk
    imports): such a block is read page by page, then read again from its start, because an
    edit that moves one of its records away shifts the rest of the block onto pages already read.
    Records between ``floor(cursor)`` and the cursor were read already and are passed over;
    a record before the floor means the filter is no lower bound (:class:`FilterMisread`).
    """
    lowest = floor or (lambda cursor: cursor)

    def timed_page(cursor: datetime | None, page: int) -> tuple[list[tuple[datetime, Any]], bool]:
        records, more = fetch(cursor, page)
        rows = [(modified_time(found, record), record) for record in records]
        if cursor is not None and rows and rows[0][0] < lowest(cursor):
            raise FilterMisread(
                f"Zoho Invoice answered last_modified_time={format_zoho_time(lowest(cursor))} on "
                f"{found.path} with records modified earlier ({format_zoho_time(rows[0][0])}): its "
                "filter is not the lower bound it was measured to be"
            )
        return rows, more

    cursor = since.replace(microsecond=0) if since is not None else None  # Zoho's filter has seconds
    seen: set[Any] = set()  # ids already emitted whose last_modified_time equals the cursor
    served: set[Any] = set()  # ids served at or before the cursor, by its pages so far
    id_field = found.id_field
    page, block_pages = 1, 0
    while True:
        rows, more = timed_page(cursor, page)
        later_start, new_here = 0, False
        for moment, record in rows:  # first the records up to the cursor's own time
            if cursor is None or moment > cursor:
                break
            later_start += 1
            record_id = record.get(id_field)
            new_here |= record_id not in served
            served.add(record_id)
            if moment == cursor and record_id not in seen:
                seen.add(record_id)
                if since is None or moment >= since:
                    yield record
        if later_start == len(rows) and more and cursor is not None:
            if page > 1 and not new_here:  # served again: reading on would never end
                raise _repeated(found, page, cursor)
            page, block_pages = page + 1, block_pages + 1  # the whole page is at or before the cursor
            continue
        if block_pages:
            yield from _reread_block(timed_page, found, cursor, before, seen, log, pages=block_pages + 1)
            block_pages = 0
        previous = cursor
        for moment, record in rows[later_start:]:
            if previous is not None and moment < previous:  # also what keeps the cursor moving forward
                raise ZohoInvoiceResponseError(
                    f"Zoho Invoice did not order {found.path} by last_modified_time as asked"
                )
            previous = moment
            if before is not None and moment >= before:
                return
            yield record
        last = rows[-1][0] if rows and (cursor is None or rows[-1][0] > cursor) else cursor
        if last != cursor:
            seen = {record.get(id_field) for moment, record in rows[later_start:] if moment == last}
        if not more or not rows:
            if on_exhausted is not None:
                on_exhausted(last, seen)
            return
        cursor, page, served = last, 1, set()


def _reread_block(
    timed_page: Callable[[datetime | None, int], tuple[list[tuple[datetime, Any]], bool]],
    found: Resource,
    cursor: datetime | None,
    before: datetime | None,
    seen: set[Any],
    log: Any,
    *,
    pages: int,
) -> Iterator[dict[str, Any]]:
    """Read a multi-page block at ``cursor`` again for records that shifted onto pages already read.

    The block took ``pages`` pages; a pass that runs well past that is a server repeating itself.
    """
    for attempt in range(1, MAX_BLOCK_REREADS + 1):
        found_new, page = False, 1
        while True:
            if page > pages + 2:
                raise _repeated(found, page, cursor)
            rows, more = timed_page(cursor, page)
            block = [(moment, record) for moment, record in rows if cursor is None or moment <= cursor]
            for moment, record in block:
                record_id = record.get(found.id_field)
                if moment == cursor and (before is None or moment < before) and record_id not in seen:
                    seen.add(record_id)
                    found_new = True
                    yield record
            if len(block) < len(rows) or not more:
                break
            page += 1
        if not found_new:
            return
        log.warning(
            "Records of %s sharing last_modified_time %s shifted between pages while being read "
            "(pass %d); reading them again",
            found.path,
            format_zoho_time(cursor) if cursor else "?",
            attempt,
        )


def _repeated(found: Resource, page: int, cursor: datetime | None) -> ZohoInvoiceResponseError:
    at = format_zoho_time(cursor) if cursor else "?"
    return ZohoInvoiceResponseError(
        f"Zoho Invoice served page {page} of {found.path} at last_modified_time {at} with records it had "
        "served already, while saying more pages follow: the listing would never end, so it stops here"
    )


def scan(
    records: Iterable[Any], found: Resource, *, since: datetime | None, before: datetime | None, log: Any
) -> Iterator[dict[str, Any]]:
    """The interval's records out of a whole listing, in modification-time order (then id)."""
    chosen = []
    for record in once_each(records, found, log):
        moment = modified_time(found, record)
        if (since is None or moment >= since) and (before is None or moment < before):
            chosen.append((moment, str(record.get(found.id_field)), record))
    chosen.sort(key=lambda row: (row[0], row[1]))
    for _, _, record in chosen:
        yield record


def newest_first(
    fetch: Callable[[int], tuple[list[Any], bool]],
    found: Resource,
    *,
    since: datetime | None,
    before: datetime | None,
) -> Iterator[dict[str, Any]]:
    """The interval's records from pages sorted newest modification first, with no filter.

    Needs only the sort: reading stops at the first record older than ``since``, so an interval
    costs the pages of everything modified since it began. An edit during the listing moves a
    record to the front, which shifts later pages by one: a record may be served twice (kept
    once), never skipped. The interval's records are sorted oldest first before they are yielded.
    """
    chosen: dict[Any, tuple[datetime, str, dict[str, Any]]] = {}
    page = 1
    while True:
        records, more = fetch(page)
        previous = None  # a page may begin with records of the last one, shifted by edits
        for record in records:
            moment = modified_time(found, record)
            if previous is not None and moment > previous:
                raise ZohoInvoiceResponseError(
                    f"Zoho Invoice did not order {found.path} newest first by last_modified_time as asked"
                )
            previous = moment
            if since is not None and moment < since:
                more = False
                break
            record_id = record.get(found.id_field)
            if (before is None or moment < before) and record_id not in chosen:
                chosen[record_id] = (moment, str(record_id), record)
        if not more or not records:
            break
        page += 1
    for _, _, record in sorted(chosen.values(), key=lambda row: (row[0], row[1])):
        yield record
