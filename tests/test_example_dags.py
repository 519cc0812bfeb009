"""The example DAGs run end to end through Airflow against the emulator."""

from __future__ import annotations

import json
from decimal import Decimal

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
    output = tmp_path / "items" / f"{dag_run.logical_date:%Y-%m-%d}.jsonl"
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
