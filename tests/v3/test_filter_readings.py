"""Intervals stay exact whatever Zoho's ``last_modified_time`` filter compares.

Each test runs the hook against an emulator playing one reading of the filter (or refusing the
sort), with records planted on and around each bound: a block sharing the interval's first
second across page boundaries, records a second before and after each bound, organizations at
-0400 and +0530, intervals starting at local midnight and across a daylight-saving change.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from airflow_provider_zoho_invoice.emulator.v3 import FILTER_SEMANTICS
from airflow_provider_zoho_invoice.hooks.zoho_invoice_oauth import ZohoInvoiceOAuthHook
from airflow_provider_zoho_invoice.v3.answers import parse_zoho_time
from tests.v3.filter_report import REQUESTS

RECORDS = 600
PER_PAGE = 5
READINGS = list(FILTER_SEMANTICS)


def planted(emulator, since: datetime, before: datetime) -> None:
    """Records on and around both bounds; the block at ``since`` is longer than a page."""
    second = timedelta(seconds=1)
    moments = [since - second] * 2 + [since] * 7 + [since + second] * 2
    moments += [before - second] * 2 + [before] * 6 + [before + second] * 2
    for index, moment in enumerate(moments):
        emulator.records.touch("invoices", 40 + index * 7, moment)


def expected_ids(emulator, since: datetime, before: datetime) -> list[str]:
    chosen = []
    for index in range(emulator.records.size("invoices")):
        record = emulator.records.record("invoices", index)
        moment = parse_zoho_time(record["last_modified_time"])
        if since <= moment < before:
            chosen.append((moment, record["invoice_id"]))
    return [record_id for _, record_id in sorted(chosen)]


def extract(emulator, since: datetime, before: datetime, per_page: int) -> tuple[list[str], int]:
    ahead = emulator.requests["v3:invoices"]
    hook = ZohoInvoiceOAuthHook()
    records = hook.list_records("invoices", modified_since=since, modified_before=before, per_page=per_page)
    ids = [record["invoice_id"] for record in records]
    return ids, emulator.requests["v3:invoices"] - ahead


def check(emulator, since: datetime, before: datetime, case: str, per_page: int = PER_PAGE) -> None:
    planted(emulator, since, before)
    expected = expected_ids(emulator, since, before)
    assert len(expected) > 30
    first, measured = extract(emulator, since, before, per_page)  # measures the filter, then extracts
    assert first == expected  # each once, oldest first
    again, cost = extract(emulator, since, before, per_page)  # what every later interval costs
    assert again == expected
    scan_pages = math.ceil(emulator.records.size("invoices") / per_page)
    assert measured - cost <= 8  # measuring: a sample and up to three filtered pages, twice at worst
    assert cost <= 2 * scan_pages + 2
    REQUESTS[case] = (len(expected), cost, measured - cost, scan_pages)


@pytest.fixture
def emulator_playing(make_emulator, use_oauth_emulator):
    def start(reading: str, zone: str = "America/New_York", refuse_sort: bool = False):
        emulator = make_emulator(
            records=RECORDS,
            seed=3,
            modified_filter=reading,
            time_zone=zone,
            refuse_modified_sort=["invoices"] if refuse_sort else [],
        )
        use_oauth_emulator(emulator)
        return emulator

    return start


@pytest.mark.parametrize("zone", ["America/New_York", "Asia/Kolkata"])
@pytest.mark.parametrize("reading", READINGS)
def test_an_interval_from_local_midnight_is_exact_under_every_reading(emulator_playing, reading, zone):
    emulator = emulator_playing(reading, zone)
    since = datetime(2026, 6, 2, tzinfo=ZoneInfo(zone)) if zone == "America/New_York" else None
    since = since or datetime(2026, 6, 1, 23, 59, 59, tzinfo=ZoneInfo(zone)) + timedelta(seconds=1)
    since_utc = since.astimezone(timezone.utc)  # as Airflow's data intervals give it
    check(emulator, since_utc, since_utc + timedelta(hours=4), f"{reading} at {since.strftime('%z')}")


@pytest.mark.parametrize("reading", READINGS)
def test_an_interval_across_a_daylight_saving_change_is_exact(emulator_playing, reading):
    """New York moves from -0400 to -0500 on 1 November; the records written then say so."""
    emulator = emulator_playing(reading)
    zone = ZoneInfo("America/New_York")
    since, before = datetime(2026, 11, 1, tzinfo=zone), datetime(2026, 11, 1, 4, tzinfo=zone)
    for index in range(60):  # records every 10 minutes across the change, besides the planted ones
        emulator.records.touch(
            "invoices", 300 + index, since - timedelta(hours=2) + timedelta(minutes=10 * index)
        )
    check(emulator, since, before, f"{reading} across DST")


@pytest.mark.parametrize("zone", ["America/New_York", "Asia/Kolkata"])
def test_an_interval_is_exact_when_the_sort_is_refused(emulator_playing, zone):
    emulator = emulator_playing("gte", zone, refuse_sort=True)
    since = datetime(2026, 6, 1, 14, tzinfo=timezone.utc)
    # Every page is read: larger pages keep the test within Zoho's 100 requests a minute.
    check(emulator, since, since + timedelta(hours=5), f"sort refused at {zone}", per_page=50)


@pytest.mark.parametrize("reading", ["exact", "ignored", "date"])
def test_a_filter_that_changes_after_it_was_measured_is_caught(emulator_playing, reading, capfd):
    """Measured as a lower bound, then Zoho changes: the interval is still exact, and measured again."""
    emulator = emulator_playing("gte")
    since = datetime(2026, 6, 1, 14, tzinfo=timezone.utc)
    before = since + timedelta(hours=3)
    planted(emulator, since, before)
    expected = expected_ids(emulator, since, before)
    assert extract(emulator, since, before, 50)[0] == expected
    emulator.v3.modified_filter = reading
    ids, _ = extract(emulator, since, before, 50)
    assert sorted(ids) == sorted(expected) and len(ids) == len(set(ids))
    logged = capfd.readouterr().out
    assert "is not the lower bound it was measured to be" in logged
    assert f"filter on invoices reads as {reading}" in logged
    # What was learnt is kept: the next interval goes newest first at once, without a warning.
    assert extract(emulator, since, before, 50)[0] == expected
    assert "is not the lower bound" not in capfd.readouterr().out


def test_what_was_measured_is_kept_beside_the_token_cache_and_measured_again_a_day_later(
    emulator_playing, tmp_path
):
    emulator = emulator_playing("local")
    since = datetime(2026, 6, 1, 14, tzinfo=timezone.utc)
    before = since + timedelta(hours=2)
    first, measured = extract(emulator, since, before, 50)
    kept = list((tmp_path / "tokens").glob("filters-*.json"))
    assert len(kept) == 1 and "10234695" not in kept[0].name  # a digest names the organization
    facts = json.loads(kept[0].read_text())["invoices"]
    assert facts["readings"] == ["local"] and facts["offset_minutes"] == -240
    again, cost = extract(emulator, since, before, 50)  # another hook, as another task would be
    assert again == first and measured - cost >= 2
    facts["measured_at"] -= 25 * 3600
    kept[0].write_text(json.dumps({"invoices": facts}))
    _, stale = extract(emulator, since, before, 50)
    assert stale - cost >= 2  # measured again
    assert json.loads(kept[0].read_text())["invoices"]["measured_at"] > facts["measured_at"] + 24 * 3600


@pytest.mark.parametrize("reading", ["exact", "local"])
def test_the_records_operator_writes_the_exact_interval(emulator_playing, reading, tmp_path):
    from airflow_provider_zoho_invoice.operators.zoho_invoice import ZohoInvoiceListRecordsOperator
    from airflow_provider_zoho_invoice.v3.answers import decode

    emulator = emulator_playing(reading)
    since = datetime(2026, 6, 2, tzinfo=ZoneInfo("America/New_York")).astimezone(timezone.utc)
    before = since + timedelta(hours=3)
    planted(emulator, since, before)
    operator = ZohoInvoiceListRecordsOperator(
        task_id="interval", resource="invoices", modified_since=since.isoformat(),
        modified_before=before.isoformat(), per_page=50, output_path=str(tmp_path / "out.jsonl"),
    )  # fmt: skip
    result = operator.execute({})
    written = [decode(line)["invoice_id"] for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert written == expected_ids(emulator, since, before) and result["count"] == len(written)
