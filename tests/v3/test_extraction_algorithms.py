"""The v3 extraction algorithms on pages made up in memory: no HTTP, no Airflow.

Each fake server below answers a page function the way Zoho answers a request, and can change
its data between requests; the over-HTTP tests against the emulator cover the same ground end
to end.
"""

from __future__ import annotations

import logging
import random
import re
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest

from airflow_provider_zoho_invoice.exceptions import ZohoInvoiceResponseError
from airflow_provider_zoho_invoice.v3.incremental import keyset, scan
from airflow_provider_zoho_invoice.v3.listing import offset_records, records_of
from airflow_provider_zoho_invoice.v3.resources import RESOURCES

LOG = logging.getLogger("test")
INVOICES = RESOURCES["invoices"]
T0 = datetime(2026, 6, 1, 9, 0, tzinfo=timezone(timedelta(hours=-4)))


def zoho_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S%z")


class ModifiedTimeServer:
    """Records with ``last_modified_time``; pages as Zoho's filter (>=) and sort (ascending) give them.

    ``edits`` maps a request number to a function run just before that request is answered.
    """

    def __init__(self, times: list[datetime], per_page: int) -> None:
        self.records = {f"{i:04d}": {"invoice_id": f"{i:04d}", "last_modified_time": zoho_time(t)}
                        for i, t in enumerate(times)}  # fmt: skip
        self.per_page = per_page
        self.requests = 0
        self.edits: dict[int, object] = {}

    def fetch(self, cursor: datetime | None, page: int) -> tuple[list[dict], bool]:
        self.requests += 1
        edit = self.edits.get(self.requests)
        if callable(edit):
            edit(self)
        chosen = sorted(
            (r for r in self.records.values() if cursor is None or self.time_of(r) >= cursor),
            key=lambda r: (self.time_of(r), r["invoice_id"]),
        )
        start = (page - 1) * self.per_page
        return [dict(r) for r in chosen[start : start + self.per_page]], start + self.per_page < len(chosen)

    @staticmethod
    def time_of(record: dict) -> datetime:
        return datetime.strptime(record["last_modified_time"], "%Y-%m-%dT%H:%M:%S%z")

    def expected(self, since: datetime | None, before: datetime | None) -> list[str]:
        chosen = [r for r in self.records.values()
                  if (since is None or self.time_of(r) >= since) and (before is None or self.time_of(r) < before)]  # fmt: skip
        return [r["invoice_id"] for r in sorted(chosen, key=lambda r: (self.time_of(r), r["invoice_id"]))]


def ids(records) -> list[str]:
    return [record["invoice_id"] for record in records]


def test_keyset_returns_exactly_the_interval_in_order():
    times = [T0 + timedelta(minutes=7 * i) for i in range(300)]
    server = ModifiedTimeServer(times, per_page=20)
    since, before = T0 + timedelta(hours=3), T0 + timedelta(hours=20)
    got = ids(keyset(server.fetch, INVOICES, since=since, before=before, log=LOG))
    assert got == server.expected(since, before) and len(got) > 100
    assert len(set(got)) == len(got)


def test_keyset_crosses_a_block_of_one_timestamp_longer_than_a_page():
    times = [T0 + timedelta(minutes=i) for i in range(30)] + [T0 + timedelta(hours=2)] * 57
    times += [T0 + timedelta(hours=3, minutes=i) for i in range(30)]
    server = ModifiedTimeServer(times, per_page=10)
    got = ids(keyset(server.fetch, INVOICES, since=T0, before=None, log=LOG))
    assert got == server.expected(T0, None) and len(got) == 117


def test_a_block_that_shifts_while_it_is_read_is_read_again():
    """An edit moves one record of a 3-page block away: the rest shift onto pages already read."""
    block = T0 + timedelta(hours=2)
    times = [T0 + timedelta(minutes=i) for i in range(5)] + [block] * 25 + [T0 + timedelta(hours=4)] * 3
    server = ModifiedTimeServer(times, per_page=10)

    def move_first_of_block(s: ModifiedTimeServer) -> None:
        s.records["0005"]["last_modified_time"] = zoho_time(T0 + timedelta(hours=5))

    server.edits[3] = move_first_of_block  # while the block's second page is being read
    before = T0 + timedelta(hours=4, minutes=30)
    got = ids(keyset(server.fetch, INVOICES, since=T0, before=before, log=LOG))
    assert len(set(got)) == len(got)
    # Every record of the block is there: the one that moved had been emitted before it moved.
    assert set(got) == {f"{i:04d}" for i in range(30)} | {"0030", "0031", "0032"}


def test_a_server_that_ignores_the_requested_order_is_an_error():
    times = [T0 + timedelta(minutes=i) for i in range(40)]
    server = ModifiedTimeServer(times, per_page=10)
    real_fetch = server.fetch

    def reversed_pages(cursor, page):
        records, more = real_fetch(cursor, page)
        return records[::-1], more

    with pytest.raises(ZohoInvoiceResponseError, match="did not order /invoices by last_modified_time"):
        list(keyset(reversed_pages, INVOICES, since=T0, before=None, log=LOG))


def test_a_record_without_a_modification_time_is_an_error_not_a_gap():
    times = [T0 + timedelta(minutes=i) for i in range(5)]
    server = ModifiedTimeServer(times, per_page=10)
    server.records["0003"]["last_modified_time"] = ""
    with pytest.raises(ZohoInvoiceResponseError, match="no readable last_modified_time"):
        list(scan(server.records.values(), INVOICES, since=T0, before=None, log=LOG))


def test_scan_keeps_the_interval_in_modification_order():
    rng = random.Random(3)
    times = [T0 + timedelta(minutes=rng.randrange(600)) for _ in range(200)]
    server = ModifiedTimeServer(times, per_page=10)
    since, before = T0 + timedelta(hours=2), T0 + timedelta(hours=7)
    shuffled = list(server.records.values())
    rng.shuffle(shuffled)
    assert ids(scan(shuffled, INVOICES, since=since, before=before, log=LOG)) == server.expected(
        since, before
    )


class OffsetServer:
    """Zoho's offset paging with no page count; optionally slow, to make speculative fetches overlap."""

    def __init__(self, count: int, per_page: int, delay: float = 0.0) -> None:
        self.records = [{"invoice_id": str(i)} for i in range(count)]
        self.per_page = per_page
        self.delay = delay
        self.asked: list[int] = []
        self._lock = threading.Lock()

    def fetch(self, page: int) -> tuple[list[dict], bool]:
        with self._lock:
            self.asked.append(page)
        time.sleep(self.delay * random.random())
        start = (page - 1) * self.per_page
        return self.records[start : start + self.per_page], start + self.per_page < len(self.records)


@pytest.mark.parametrize("concurrency", [1, 4])
def test_offset_listing_is_in_order_and_goes_at_most_concurrency_pages_past_the_end(concurrency):
    server = OffsetServer(95, per_page=10, delay=0.01)
    got = ids(offset_records(server.fetch, INVOICES, max_records=None, concurrency=concurrency))
    assert got == [str(i) for i in range(95)]
    assert max(server.asked) - 10 <= (concurrency if concurrency > 1 else 0)


def test_offset_listing_drops_a_record_that_shifted_onto_the_next_page():
    pages = {
        1: ([{"invoice_id": "a"}, {"invoice_id": "b"}], True),
        2: ([{"invoice_id": "b"}, {"invoice_id": "c"}], False),
    }
    got = ids(offset_records(lambda page: pages[page], INVOICES, max_records=None, concurrency=1))
    assert got == ["a", "b", "c"]


def test_offset_listing_stops_at_max_records():
    server = OffsetServer(95, per_page=10)
    got = list(offset_records(server.fetch, INVOICES, max_records=25, concurrency=1))
    assert len(got) == 25 and server.asked == [1, 2, 3]


def test_the_algorithms_import_neither_airflow_nor_an_http_client():
    code = (
        "import sys; import airflow_provider_zoho_invoice.v3.incremental, airflow_provider_zoho_invoice.v3.listing, "
        "airflow_provider_zoho_invoice.legacy.listing, airflow_provider_zoho_invoice.paging; "
        "print(sorted({n.split('.')[0] for n in sys.modules} & {'airflow', 'requests', 'urllib3'}))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_keyset_stops_when_a_block_is_served_again_and_again():
    """A block of one timestamp longer than a page, whose every page the server answers as page 1."""
    times = [T0] * 30 + [T0 + timedelta(hours=1)] * 5
    server = ModifiedTimeServer(times, per_page=10)
    real_fetch = server.fetch

    def stuck(cursor, page):
        return real_fetch(cursor, 1)

    with pytest.raises(ZohoInvoiceResponseError, match="served page 2 of /invoices at last_modified_time"):
        list(keyset(stuck, INVOICES, since=T0, before=None, log=LOG))
    assert server.requests <= 3


def test_offset_listing_stops_at_a_cycle_of_pages_longer_than_its_window():
    """Pages 1-4 served again as 5-8 would slip past the three-page duplicate window."""
    server = OffsetServer(40, per_page=10)
    cycle = lambda page: (server.fetch((page - 1) % 4 + 1)[0], True)  # noqa: E731
    with pytest.raises(ZohoInvoiceResponseError, match="served page 5 of /invoices"):
        list(offset_records(cycle, INVOICES, max_records=None, concurrency=1))


@pytest.mark.parametrize(
    ("item", "shown"), [(1, "int '1'"), ("x", "str 'x'"), (None, "NoneType 'None'"), ([], "list '[]'")]
)
def test_a_list_item_that_is_not_an_object_is_an_error_naming_page_and_position(item, shown):
    document = {"invoices": [{"invoice_id": "1"}, item], "page_context": {"has_more_page": False}}
    with pytest.raises(
        ZohoInvoiceResponseError, match=rf"\(page 3\) holds {re.escape(shown)} at position 1 "
    ):
        records_of(INVOICES, document, per_page=200, page=3)


def test_a_record_edited_to_a_later_time_inside_the_interval_is_emitted_once(caplog):
    """A server clock behind ours: an edit lands inside the interval, after the cursor."""
    times = [T0 + timedelta(minutes=i) for i in range(60)]
    server = ModifiedTimeServer(times, per_page=10)

    def edit_early_records(s: ModifiedTimeServer) -> None:
        for key in ("0001", "0002"):
            s.records[key]["last_modified_time"] = zoho_time(T0 + timedelta(minutes=45, seconds=30))

    server.edits[3] = edit_early_records
    with caplog.at_level(logging.WARNING, logger="test"):
        got = ids(keyset(server.fetch, INVOICES, since=T0, before=T0 + timedelta(hours=2), log=LOG))
    assert sorted(got) == [f"{i:04d}" for i in range(60)]  # each id once, none lost
    assert "2 invoices came back with a later last_modified_time" in caplog.text


def test_a_listing_waiting_for_the_request_budget_does_not_guess_past_the_end():
    """When the budget, not latency, sets the pace, a guessed page would spend budget for nothing."""
    server = OffsetServer(95, per_page=10, delay=0.01)
    got = ids(
        offset_records(server.fetch, INVOICES, max_records=None, concurrency=4, budget_bound=lambda: True)
    )
    assert got == [str(i) for i in range(95)]
    assert sorted(server.asked) == list(range(1, 11))  # the ten pages there are, and not one more
