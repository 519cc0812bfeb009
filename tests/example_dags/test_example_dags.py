"""The example DAGs run end to end through Airflow against the emulator."""

from __future__ import annotations

import gzip
import json
from decimal import Decimal

import pytest

from tests.conftest import EXAMPLE_DAGS, task_states, xcom_value


@pytest.mark.parametrize("manual", [True, False])
def test_items_sync_writes_exactly_the_catalogue(
    run_dag, make_emulator, use_emulator, tmp_path, monkeypatch, manual
):
    emulator = make_emulator(items=1234, seed=11)
    use_emulator(emulator)
    monkeypatch.setenv("AIRFLOW_VAR_ZOHO_INVOICE_OUTPUT_DIR", str(tmp_path))
    # A manual trigger in Airflow 3 has no logical date ({{ ds }} would be undefined).
    when = {"logical_date": None} if manual else {}
    dag_run = run_dag(
        EXAMPLE_DAGS / "example_zoho_invoice_items_sync.py", "example_zoho_invoice_items_sync", **when
    )
    assert (dag_run.logical_date is None) == manual
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


def test_v3_hourly_extraction_lands_each_interval_exactly(
    run_dag, make_emulator, use_oauth_emulator, tmp_path, monkeypatch
):
    from datetime import timedelta, timezone

    from airflow_provider_zoho_invoice.emulator.records import EPOCH
    from airflow_provider_zoho_invoice.v3.answers import encode, parse_zoho_time
    from airflow_provider_zoho_invoice.v3.resources import RESOURCES

    emulator = make_emulator(records=3000, seed=4)
    use_oauth_emulator(emulator)
    monkeypatch.setenv("AIRFLOW_VAR_ZOHO_INVOICE_OUTPUT_DIR", str(tmp_path))
    dag_file = EXAMPLE_DAGS / "example_zoho_invoice_v3_extract.py"
    start = EPOCH + timedelta(hours=20)
    for hour in (0, 1):  # two consecutive intervals, as a manual run's conf gives them
        since, before = start + timedelta(hours=hour), start + timedelta(hours=hour + 1)
        conf = {"modified_since": since.isoformat(), "modified_before": before.isoformat()}
        dag_run = run_dag(dag_file, "example_zoho_invoice_v3_extract", run_conf=conf)
        assert set(task_states(dag_run).values()) == {"success"}
        counts = {}
        for resource in ("invoices", "contacts", "customerpayments"):
            id_field = RESOURCES[resource].id_field
            expected = sorted(
                (
                    record
                    for record in (emulator.records.record(resource, i) for i in range(3000))
                    if since <= parse_zoho_time(record["last_modified_time"]) < before
                ),
                key=lambda r: (parse_zoho_time(r["last_modified_time"]), r[id_field]),
            )
            name = since.astimezone(timezone.utc).strftime("%Y-%m-%dT%H%M%S+0000")
            path = tmp_path / resource / f"{name}.jsonl.gz"
            assert gzip.decompress(path.read_bytes()).splitlines() == [encode(r) for r in expected]
            counts[resource] = len(expected)
        assert xcom_value(dag_run, "summarize")["counts"] == counts and min(counts.values()) > 0


def test_v3_snapshot_lists_everything(run_dag, make_emulator, use_oauth_emulator, tmp_path, monkeypatch):
    from airflow_provider_zoho_invoice.v3.answers import encode

    emulator = make_emulator(records=250, seed=4)
    use_oauth_emulator(emulator)
    monkeypatch.setenv("AIRFLOW_VAR_ZOHO_INVOICE_OUTPUT_DIR", str(tmp_path))
    dag_run = run_dag(
        EXAMPLE_DAGS / "example_zoho_invoice_v3_snapshot.py", "example_zoho_invoice_v3_snapshot"
    )
    assert set(task_states(dag_run).values()) == {"success"}
    day = f"{(dag_run.logical_date or dag_run.run_after):%Y-%m-%d}"
    for resource in ("invoices", "contacts"):
        lines = gzip.decompress(
            (tmp_path / "snapshots" / resource / f"{day}.jsonl.gz").read_bytes()
        ).splitlines()
        newest_first = reversed(range(250))  # Zoho's order when no sort is asked
        assert lines == [encode(emulator.records.record(resource, i)) for i in newest_first]


def test_v3_extract_names_an_interval_alike_for_every_kind_of_run(airflow_db, monkeypatch, tmp_path):
    """A scheduled run (data interval), a backfill and a run triggered with params write one file."""
    import pendulum

    try:
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:  # Airflow 3.0
        from airflow.models.dagbag import DagBag

    monkeypatch.setenv("AIRFLOW_VAR_ZOHO_INVOICE_OUTPUT_DIR", str(tmp_path))
    bag = DagBag(dag_folder=str(EXAMPLE_DAGS / "example_zoho_invoice_v3_extract.py"))
    dag = bag.get_dag("example_zoho_invoice_v3_extract")
    start = pendulum.datetime(2026, 6, 1, 19, tz="UTC")
    contexts = {
        "scheduled": {"params": {"modified_since": None, "modified_before": None},
                      "data_interval_start": start, "data_interval_end": start.add(hours=1)},
        "triggered": {"params": {"modified_since": "2026-06-01T19:00:00Z", "modified_before": "2026-06-01T20:00:00Z"}},
        "other offset": {"params": {"modified_since": "2026-06-01T15:00:00-04:00", "modified_before": None}},
    }  # fmt: skip
    variables = {"var": {"value": {"zoho_invoice_output_dir": str(tmp_path)}}}
    paths = set()
    for context in contexts.values():
        task = dag.get_task("extract_invoices")
        env = dag.get_template_env()
        paths.add(task.render_template(task.output_path, {**variables, **context}, jinja_env=env))
    assert paths == {f"{tmp_path}/invoices/2026-06-01T190000+0000.jsonl.gz"}
    task = dag.get_task("extract_invoices")
    context = {**variables, "params": {"modified_since": None}}
    with pytest.raises(ValueError, match="no data interval: trigger it with the modified_since"):
        task.render_template(task.output_path, context, jinja_env=dag.get_template_env())


def test_v3_billing_bills_each_customer_once_and_a_rerun_changes_nothing(
    run_dag, make_emulator, use_oauth_emulator, tmp_path, monkeypatch
):
    emulator = make_emulator(records=60, seed=2)
    use_oauth_emulator(emulator)
    monkeypatch.setenv("AIRFLOW_VAR_ZOHO_INVOICE_OUTPUT_DIR", str(tmp_path))
    dag_file = EXAMPLE_DAGS / "example_zoho_invoice_v3_billing.py"
    first = run_dag(dag_file, "example_zoho_invoice_v3_billing")
    assert set(task_states(first).values()) == {"success"}
    assert xcom_value(first, "check_results") == {"created": 20}
    references = [
        emulator.records.record("invoices", i)["reference_number"]
        for i in range(emulator.records.size("invoices"))
    ]
    billed = [ref for ref in references if ref.startswith("USAGE-2026-06-")]
    assert len(billed) == len(set(billed)) == 20
    second = run_dag(dag_file, "example_zoho_invoice_v3_billing")
    assert xcom_value(second, "check_results") == {"unchanged": 20}
    assert emulator.records.size("invoices") == 80
