"""The example DAGs run end to end through Airflow against the emulator."""

from __future__ import annotations

import gzip
import json
from decimal import Decimal

import pytest

from tests.conftest import EXAMPLE_DAGS, task_states, xcom_value


def test_items_sync_writes_exactly_the_catalogue(run_dag, make_emulator, use_emulator, tmp_path, monkeypatch):
    emulator = make_emulator(items=1234, seed=11)
    use_emulator(emulator)
    monkeypatch.setenv("AIRFLOW_VAR_ZOHO_INVOICE_OUTPUT_DIR", str(tmp_path))
    dag_run = run_dag(EXAMPLE_DAGS / "example_zoho_invoice_items_sync.py", "example_zoho_invoice_items_sync")
    assert task_states(dag_run) == {
        "wait_for_credentials": "success",
        "list_items": "success",
        "summarize": "success",
    }
    output = tmp_path / "items" / f"{(dag_run.logical_date or dag_run.run_after):%Y-%m-%d}.jsonl"
    written = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    catalogue = [item.as_row() for item in emulator.catalogue.items()]
    assert written == catalogue
    summary = xcom_value(dag_run, "summarize")
    assert summary == {
        "path": str(output),
        "count": 1234,
        "total_rate": str(sum(Decimal(row["rate"]) for row in catalogue)),
    }


def test_token_check_passes_and_fails(run_dag, make_emulator, use_emulator, capfd):
    emulator = make_emulator(items=1)
    use_emulator(emulator)
    dag_file = EXAMPLE_DAGS / "example_zoho_invoice_token_check.py"
    dag_run = run_dag(dag_file, "example_zoho_invoice_token_check")
    assert task_states(dag_run) == {"validate_token": "success"}

    use_emulator(emulator, password="revoked-authtoken")
    dag_run = run_dag(dag_file, "example_zoho_invoice_token_check")
    assert task_states(dag_run) == {"validate_token": "failed"}
    out = capfd.readouterr().out
    assert "Invalid Ticket Passed" in out and "revoked-authtoken" not in out


@pytest.mark.parametrize("logical_date", [None, "2026-03-04"])
def test_v3_extract_writes_each_resource_exactly(
    run_dag, make_emulator, use_oauth_emulator, tmp_path, monkeypatch, logical_date
):
    from datetime import datetime, timezone

    from airflow_provider_zoho_invoice.v3 import encode

    emulator = make_emulator(records={"invoices": 450, "contacts": 120, "customerpayments": 75}, seed=4)
    use_oauth_emulator(emulator)
    monkeypatch.setenv("AIRFLOW_VAR_ZOHO_INVOICE_OUTPUT_DIR", str(tmp_path))
    when = (
        {"logical_date": datetime.fromisoformat(logical_date).replace(tzinfo=timezone.utc)}
        if logical_date
        else {}
    )
    dag_run = run_dag(
        EXAMPLE_DAGS / "example_zoho_invoice_v3_extract.py", "example_zoho_invoice_v3_extract", **when
    )
    states = task_states(dag_run)
    assert set(states.values()) == {"success"} and len(states) == 5
    totals = Decimal(0)
    for resource, count in {"invoices": 450, "contacts": 120, "customerpayments": 75}.items():
        path = tmp_path / resource / f"{(dag_run.logical_date or dag_run.run_after):%Y-%m-%d}.jsonl.gz"
        lines = gzip.decompress(path.read_bytes()).splitlines()
        expected = [emulator.records.record(resource, index) for index in range(count)]
        assert lines == [encode(record) for record in expected]
        if resource == "invoices":
            totals = sum((record["total"] for record in expected), Decimal(0))
    summary = xcom_value(dag_run, "summarize")
    assert summary == {
        "counts": {"invoices": 450, "contacts": 120, "customerpayments": 75},
        "invoice_total": str(totals),
    }
