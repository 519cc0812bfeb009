"""What Zoho's ``last_modified_time`` list filter does, measured on the account instead of assumed.

Zoho documents the parameter but not what it compares, and what has been seen of live accounts
does not settle it. These readings are plausible, and each would break a provider that assumed
another one: ``gte`` (modified at or after the value), ``gt`` (after it), ``exact`` (at exactly
it), ``ignored``, ``date`` (on or after its calendar date) and ``local`` (its UTC offset ignored,
its wall-clock time read in the organization's zone).

:func:`measure` tells them apart with two or three requests: the newest page in modification
order, then the same page filtered at a time chosen between its records, whose answer each
reading predicts differently. The hook keeps the result per organization and resource in its
shared store (:class:`FactsFile`, or Redis) and picks how to extract intervals from it.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from itertools import pairwise
from pathlib import Path
from typing import Any

from airflow_provider_zoho_invoice.exceptions import ZohoInvoiceAPIError
from airflow_provider_zoho_invoice.v3.answers import format_zoho_time, parse_zoho_time
from airflow_provider_zoho_invoice.v3.constants import CODE_INVALID_VALUE, MAX_PER_PAGE
from airflow_provider_zoho_invoice.v3.resources import Resource

READINGS = ("gte", "gt", "local", "date", "exact", "ignored")
"""Every reading :func:`measure` knows, the most likely first."""

LOWER_BOUNDS = frozenset({"gte", "gt", "local"})
"""Readings under which a filtered listing holds every record from the value on: keyset paging works."""

RECHECK_SECONDS = 24 * 3600
"""How long a measurement is trusted before it is taken again."""

SAMPLE_SIZE = 50
"""Records on the newest page measured: enough distinct times to tell the readings apart."""

MAX_FILTERED_REQUESTS = 3

Fetch = Callable[[dict[str, Any]], tuple[list[Any], bool]]
"""``fetch(params)``: page 1 of a listing with those extra parameters, and whether more follow."""


@dataclass(frozen=True)
class FilterFacts:
    """What was measured of one resource's ``last_modified_time`` sort and filter."""

    sort_accepted: bool
    readings: tuple[str, ...]
    """The readings every answer agreed with (several when the data could not tell them apart;
    none when no known reading fits)."""
    offset_minutes: int | None
    """The organization's UTC offset, as its newest record was written."""
    measured_at: float
    requests: int = 0
    settled: bool = True
    """False when there were too few records to measure anything: measured again next time."""

    @property
    def reading(self) -> str:
        if not self.sort_accepted:
            return "sort refused"
        if not self.settled:
            return "too few records to tell"
        if not self.readings:
            return "unknown"
        return " or ".join(self.readings)

    @property
    def lower_bound(self) -> bool:
        """Whether keyset paging on the filter is exact under every reading still possible."""
        possible = set(self.readings)
        return self.sort_accepted and self.settled and bool(possible) and possible <= LOWER_BOUNDS

    @property
    def offset(self) -> timezone:
        return timezone(timedelta(minutes=self.offset_minutes or 0))

    @property
    def offset_text(self) -> str:
        if self.offset_minutes is None:
            return "?"
        return datetime(2000, 1, 1, tzinfo=self.offset).strftime("%z")

    def fresh(self, now: float | None = None) -> bool:
        return self.settled and (now if now is not None else time.time()) - self.measured_at < RECHECK_SECONDS

    def strategy(self) -> str:
        if not self.sort_accepted:
            return "every page, filtered here"
        if self.lower_bound:
            return "keyset paging on the filter"
        return "newest first by modification time, without the filter"

    def to_json(self) -> dict[str, Any]:
        return {
            "sort_accepted": self.sort_accepted,
            "readings": list(self.readings),
            "offset_minutes": self.offset_minutes,
            "measured_at": self.measured_at,
        }

    @classmethod
    def from_json(cls, data: Any) -> FilterFacts | None:
        try:
            return cls(
                sort_accepted=bool(data["sort_accepted"]),
                readings=tuple(r for r in data["readings"] if r in READINGS),
                offset_minutes=None if data["offset_minutes"] is None else int(data["offset_minutes"]),
                measured_at=float(data["measured_at"]),
            )
        except (KeyError, TypeError, ValueError):
            return None


def measure(fetch: Fetch, found: Resource) -> FilterFacts:
    """Which readings of the filter agree with Zoho's answers; measured again once should data
    changing meanwhile leave none."""
    facts = _measure_once(fetch, found)
    if facts.sort_accepted and facts.settled and not facts.readings:
        again = _measure_once(fetch, found)
        return replace(again, requests=facts.requests + again.requests)
    return facts


def _measure_once(fetch: Fetch, found: Resource) -> FilterFacts:
    sort = {"sort_column": "last_modified_time", "sort_order": "D"}
    try:
        records, _ = fetch({**sort, "per_page": SAMPLE_SIZE})
    except ZohoInvoiceAPIError as exc:
        if exc.code != CODE_INVALID_VALUE:
            raise
        return FilterFacts(False, (), None, time.time(), requests=1)
    sample = [(parse_zoho_time(r.get("last_modified_time")), r.get(found.id_field)) for r in records]
    rows = [(moment, record_id) for moment, record_id in sample if moment is not None]
    times = [moment for moment, _ in rows]
    if len(rows) < len(sample) or any(later > earlier for earlier, later in pairwise(times)):
        return FilterFacts(False, (), None, time.time(), requests=1)  # the sort was not applied
    offset = times[0].utcoffset() if times else None
    offset_minutes = None if offset is None else int(offset.total_seconds() // 60)
    candidates, requests = list(READINGS), 1
    tried: set[str] = set()
    while len(candidates) > 1 and requests <= MAX_FILTERED_REQUESTS:
        value = _best_value(rows, candidates, tried)
        if value is None:
            break
        tried.add(value)
        # A page wider than the sample holds all of it under every reading that keeps a prefix.
        answer, _ = fetch({**sort, "per_page": MAX_PER_PAGE, "last_modified_time": value})
        requests += 1
        candidates = [r for r in candidates if _agrees(r, rows, value, answer, found)]
    settled = len(set(times)) >= 3
    return FilterFacts(True, tuple(candidates), offset_minutes, time.time(), requests, settled)


def _agrees(
    reading: str, rows: list[tuple[datetime, Any]], value: str, answer: list[Any], found: Resource
) -> bool:
    """Whether the filtered answer holds what ``reading`` predicts of the sample.

    Records modified since the sample was read (their time changed, or they were not in it)
    say nothing about the filter and are left out.
    """
    was = {record_id: moment for moment, record_id in rows}
    now = {r.get(found.id_field): parse_zoho_time(r.get("last_modified_time")) for r in answer}
    edited = {record_id for record_id, moment in now.items() if record_id in was and moment != was[record_id]}
    observed = {record_id for record_id in now if record_id in was} - edited
    return observed == _predicted(reading, rows, value) - edited


def _predicted(reading: str, rows: list[tuple[datetime, Any]], value: str) -> set[Any]:
    """The ids of the sample's records that the filtered answer holds under ``reading``.

    Every reading but ``exact`` keeps the records from some time on; with the value later than
    the sample's oldest time, an exact match's records all lie within the sample too.
    """
    wanted = parse_zoho_time(value)
    assert wanted is not None
    return {record_id for moment, record_id in rows if _keeps(reading, moment, wanted)}


def _keeps(reading: str, moment: datetime, value: datetime) -> bool:
    if reading == "gte":
        return moment >= value
    if reading == "gt":
        return moment > value
    if reading == "exact":
        return moment == value
    if reading == "date":  # the record's date where it was written, against the value's as written
        return moment.date() >= value.date()
    if reading == "local":  # the value's wall clock read in the organization's offset (the record's)
        return moment >= value.replace(tzinfo=moment.tzinfo)
    return True


def _best_value(rows: list[tuple[datetime, Any]], candidates: list[str], tried: set[str]) -> str | None:
    """A filter value that splits the readings still possible most, by what each predicts.

    Tried: each time between the sample's records, written in UTC; the same wall-clock time
    written at another offset (what ``local`` reads differently); a day after the newest (what
    ``date`` and ``ignored`` read differently). Each value is later than the sample's oldest
    record, so that an exact match's records all lie within the sample.
    """
    times = sorted({moment for moment, _ in rows}, reverse=True)
    if len(times) < 2:
        return None
    oldest, zone = times[-1], times[0].tzinfo
    best: tuple[int, int, str] | None = None
    for position, value in enumerate(_values(times[:-1], zone)):
        moment = parse_zoho_time(value)
        if value in tried or moment is None or moment <= oldest:
            continue
        outcomes = {frozenset(_predicted(reading, rows, value)) for reading in candidates}
        middle = -abs(position - len(times))  # near the sample's middle: records on both sides
        if best is None or (len(outcomes), middle) > best[:2]:
            best = (len(outcomes), middle, value)
    return best[2] if best is not None and best[0] > 1 else None


def _values(times: list[datetime], zone: Any) -> list[str]:
    labels = [timezone.utc, timezone(timedelta(hours=5, minutes=30))]
    values = [format_zoho_time(times[0].astimezone(timezone.utc) + timedelta(days=1))]
    for moment in times:
        values.append(format_zoho_time(moment.astimezone(timezone.utc)))
        wall = moment.astimezone(zone).replace(tzinfo=None)
        values += [format_zoho_time(wall.replace(tzinfo=label)) for label in labels if label != zone]
    return values


class FactsFile:
    """Measurements kept in a JSON file beside the token cache: every task on the machine reads them."""

    def __init__(self, path: Path, *, log: Any) -> None:
        self.path = path
        self.log = log
        self._lock = threading.Lock()

    def load(self, resource_name: str) -> FilterFacts | None:
        return FilterFacts.from_json(self._all().get(resource_name))

    def save(self, resource_name: str, facts: FilterFacts) -> None:
        with self._lock:
            self._write({**self._all(), resource_name: facts.to_json()})

    def _write(self, everything: dict[str, Any]) -> None:
        """Whole or not at all: a reader sees the old file or the new one."""
        temporary = None
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            descriptor, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".filters-")
            with os.fdopen(descriptor, "w") as out:
                json.dump(everything, out)
            os.replace(temporary, self.path)
        except OSError as exc:
            if temporary is not None:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)
            self.log.warning("Could not keep what was measured of Zoho's filter (%s)", exc.strerror)

    def _all(self) -> dict[str, Any]:
        try:
            loaded = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        return loaded if isinstance(loaded, dict) else {}


class FactsMemory:
    """Measurements kept for the hook's life only (no token cache configured)."""

    def __init__(self) -> None:
        self._facts: dict[str, FilterFacts] = {}

    def load(self, resource_name: str) -> FilterFacts | None:
        return self._facts.get(resource_name)

    def save(self, resource_name: str, facts: FilterFacts) -> None:
        self._facts[resource_name] = facts
