"""Choosing how to extract an interval from what was measured of Zoho's filter, and checking it.

The measured reading (:mod:`~airflow_provider_zoho_invoice.v3.filter_facts`) picks the strategy:

- a lower bound (``gte``, ``gt``, ``local``): keyset paging on the filter, the value given a
  second early (so ``gt`` misses nothing) and, should ``local`` be possible, written in the
  organization's offset (an hour early at the interval's start, for a daylight-saving change);
- any other reading: newest first by modification time, without the filter;
- the sort refused: every page, filtered here.

Keyset paging checks what it is given: a record older than the value asked, or a listing that
ends while Zoho's newest record in the interval was never served, means the filter is not what
was measured. The filter is then measured again, and the interval finishes newest first; records
already written are not written again. That costs at most one extra request per interval: the
newest record, asked for only when a listing ends before the interval's end.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

from airflow_provider_zoho_invoice.v3.answers import format_zoho_time
from airflow_provider_zoho_invoice.v3.filter_facts import FilterFacts
from airflow_provider_zoho_invoice.v3.incremental import (
    FilterMisread,
    keyset,
    modified_time,
    newest_first,
    scan,
)
from airflow_provider_zoho_invoice.v3.resources import Resource

ListPage = Callable[[dict[str, Any], int], tuple[list[Any], bool]]
"""``list_page(params, page)``: page ``page`` of the resource with those extra parameters."""

EARLY = timedelta(seconds=1)
"""How much earlier than the cursor the filter value is given, so that ``gt`` misses nothing."""

DST_MARGIN = timedelta(hours=1)
"""How much earlier an interval's first value is given when the organization's wall clock may be
read instead of the value's offset: the offset a daylight-saving change may have moved."""

CLOCK_SKEW = timedelta(minutes=1)
"""How far Zoho's clock may run ahead of ours: a record stamped after the listing began, less
this, may have been modified while it ran, and its absence proves nothing."""

ASCENDING = {"sort_column": "last_modified_time", "sort_order": "A"}
DESCENDING = {"sort_column": "last_modified_time", "sort_order": "D"}


def interval_records(
    found: Resource,
    *,
    list_page: ListPage,
    every_record: Callable[[], Iterator[Any]],
    facts: Callable[[bool], FilterFacts],
    since: datetime | None,
    before: datetime | None,
    log: Any,
) -> Iterator[dict[str, Any]]:
    """The records modified in ``[since, before)``, each once; ``facts(again)`` measures (again)."""
    known = facts(False)
    if not known.sort_accepted:
        log.info(
            "Zoho Invoice does not sort %s by modification time; reading every page and filtering here",
            found.name,
        )
        yield from scan(every_record(), found, since=since, before=before, log=log)
        return
    written: set[Any] = set()
    if known.lower_bound:
        try:
            for record in _keyset(found, list_page, known, since=since, before=before, log=log):
                written.add(record.get(found.id_field))
                yield record
            return
        except FilterMisread as exc:
            log.warning("%s; measuring it again and finishing the interval newest first", exc)
            known = facts(True)
    log.info(
        "Zoho Invoice's last_modified_time filter on %s reads as %s: extracting the interval newest "
        "first by modification time, without the filter",
        found.name,
        known.reading,
    )

    def fetch(page: int) -> tuple[list[Any], bool]:
        return list_page(DESCENDING, page)

    for record in newest_first(fetch, found, since=since, before=before):
        if record.get(found.id_field) not in written:
            yield record


def _keyset(
    found: Resource,
    list_page: ListPage,
    known: FilterFacts,
    *,
    since: datetime | None,
    before: datetime | None,
    log: Any,
) -> Iterator[dict[str, Any]]:
    start = since.replace(microsecond=0) if since is not None else None
    local = "local" in known.readings
    listing_began = datetime.now(timezone.utc) - CLOCK_SKEW

    def floor(cursor: datetime) -> datetime:
        return cursor - EARLY - (DST_MARGIN if local and cursor == start else timedelta())

    def fetch(cursor: datetime | None, page: int) -> tuple[list[Any], bool]:
        params = dict(ASCENDING)
        if cursor is not None:
            value = floor(cursor)
            if local:  # a record's own offset is the organization's at its time; since's is not known
                value = value.astimezone(known.offset if cursor == start else cursor.tzinfo)
            params["last_modified_time"] = format_zoho_time(value)
        return list_page(params, page)

    def check_end(last: datetime | None, ids_at_last: set[Any]) -> None:
        """A listing that ends before a record at or after ``before`` was seen: Zoho's newest record
        must have been served, unless it was modified while the listing ran."""
        if start is None:
            return  # no filter was given
        newest, _ = list_page({**DESCENDING, "per_page": 1}, 1)
        if not newest:
            return
        moment = modified_time(found, newest[0])
        served = last is not None and (
            moment < last or (moment == last and newest[0].get(found.id_field) in ids_at_last)
        )
        if start <= moment < listing_began and not served:
            raise FilterMisread(
                f"Zoho Invoice's filtered listing of {found.path} ended at "
                f"{format_zoho_time(last) if last else 'nothing'}, yet it holds a record modified at "
                f"{format_zoho_time(moment)}: its last_modified_time filter is not the lower bound it was "
                "measured to be"
            )

    return keyset(fetch, found, since=since, before=before, log=log, floor=floor, on_exhausted=check_end)
