"""``python -m airflow_provider_zoho_invoice probe`` against the emulator playing each filter reading."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from airflow_provider_zoho_invoice.__main__ import main
from airflow_provider_zoho_invoice.emulator.v3 import FILTER_SEMANTICS
from airflow_provider_zoho_invoice.hooks.zoho_invoice_oauth import ZohoInvoiceOAuthHook
from airflow_provider_zoho_invoice.v3.resources import KEYSET, RESOURCES

KEYSET_RESOURCES = [name for name, found in RESOURCES.items() if found.interval_strategy == KEYSET]


def table(output: str) -> dict[str, list[str]]:
    rows = {}
    for line in output.splitlines():
        cells = re.split(r"\s{2,}", line.strip())
        if cells and cells[0] in RESOURCES:
            rows[cells[0]] = cells[1:]
    return rows


def api_calls(emulator) -> int:
    return sum(count for kind, count in emulator.requests.items() if kind != "token")


def run_probe(emulator, use_oauth_emulator, capfd) -> tuple[str, int]:
    use_oauth_emulator(emulator, conn_id="zoho_live")
    assert main(["probe", "--conn-id", "zoho_live"]) == 0
    output = capfd.readouterr().out
    used = int(re.search(r"(\d+) API calls used; daily quota: (\d+) of 1000 calls left today", output)[1])
    return output, used


@pytest.mark.parametrize("zone", ["America/New_York", "Asia/Kolkata"])
@pytest.mark.parametrize("reading", list(FILTER_SEMANTICS))
def test_probe_reports_the_reading_the_emulator_plays(
    make_emulator, use_oauth_emulator, capfd, reading, zone
):
    emulator = make_emulator(records=300, modified_filter=reading, time_zone=zone)
    output, used = run_probe(emulator, use_oauth_emulator, capfd)
    rows = table(output)
    for name in KEYSET_RESOURCES:
        assert rows[name][:2] == ["accepted", reading], output
    offset = "-0400" if zone == "America/New_York" else "+0530"
    assert f"records written at {offset}" in output
    assert used == api_calls(emulator) <= 30
    assert rows["items"][-1] in ("2006", "not asked (call budget)") and rows["invoices"][-1] == "1002"
    # What was measured is where the hook reads it: the first interval measures nothing.
    before = emulator.requests["v3:invoices"]
    since = datetime(2026, 6, 1, 14, tzinfo=timezone.utc)
    records = list(
        ZohoInvoiceOAuthHook("zoho_live").list_records(
            "invoices", modified_since=since, modified_before=since + timedelta(hours=2)
        )
    )
    assert records and emulator.requests["v3:invoices"] - before <= 2  # one page, and a check


def test_probe_reports_a_refused_sort(make_emulator, use_oauth_emulator, capfd):
    emulator = make_emulator(records=300, refuse_modified_sort=["invoices", "expenses"])
    output, used = run_probe(emulator, use_oauth_emulator, capfd)
    rows = table(output)
    assert rows["invoices"][:3] == ["refused", "-", "every page, filtered here"]
    assert rows["contacts"][:2] == ["accepted", "gte"]
    assert used == api_calls(emulator) <= 30


def test_probe_refuses_a_legacy_connection(monkeypatch, capfd):
    monkeypatch.setenv(
        "AIRFLOW_CONN_OLD", '{"conn_type": "zoho_invoice", "password": "x", "extra": {"apikey": "y"}}'
    )
    assert main(["probe", "--conn-id", "old"]) == 1
    assert "probe measures API v3 accounts" in capfd.readouterr().err
