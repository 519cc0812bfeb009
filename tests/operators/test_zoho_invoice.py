"""Operators: parse-time validation, and real runs through Airflow's dag.test() against the emulator.

Tests that hold for both connection types run once for each (the ``connection_kind`` fixture).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from airflow_provider_zoho_invoice.emulator import FaultPlan
from airflow_provider_zoho_invoice.operators.zoho_invoice import (
    MAX_XCOM_ITEMS,
    ZohoInvoiceListItemsOperator,
    ZohoInvoiceValidateTokenOperator,
)
from tests.conftest import dag_source, task_states, xcom_value


class TestParseTimeValidation:
    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            ({"per_page": 0}, "per_page must be a whole number from 1 to 200"),
            ({"per_page": 500}, "per_page"),
            ({"per_page": "ten"}, "per_page"),
            ({"max_items": -5}, "max_items must be None or a whole number of at least 0"),
            ({"output_format": "xml"}, "output_format must be one of jsonl, csv"),
            ({"concurrency": 0}, "concurrency"),
            ({"concurrency": 99}, "concurrency"),
            ({"emit_asset": True}, "static output_path"),
            ({"emit_asset": True, "output_path": "/data/{{ ds }}.jsonl"}, "static output_path"),
        ],
    )
    def test_bad_static_arguments(self, kwargs, message):
        with pytest.raises(ValueError, match=message):
            ZohoInvoiceListItemsOperator(task_id="list", **kwargs)

    def test_templated_values_wait_for_rendering(self):
        operator = ZohoInvoiceListItemsOperator(
            task_id="list", per_page="{{ params.per_page }}", max_items="{{ params.n }}"
        )
        assert operator.per_page == "{{ params.per_page }}"

    def test_template_fields(self):
        assert {"zoho_invoice_conn_id", "per_page", "max_items", "output_path", "output_format"} <= set(
            ZohoInvoiceListItemsOperator.template_fields
        )
        assert "zoho_invoice_conn_id" in ZohoInvoiceValidateTokenOperator.template_fields

    def test_a_dag_file_with_a_bad_argument_fails_to_import_with_the_reason(self, tmp_path: Path):
        try:
            from airflow.dag_processing.dagbag import DagBag
        except ImportError:  # Airflow 3.0
            from airflow.models.dagbag import DagBag

        path = tmp_path / "bad_dag.py"
        path.write_text(dag_source("bad", 'ZohoInvoiceListItemsOperator(task_id="list", per_page=0)'))
        bag = DagBag(dag_folder=str(path))
        (error,) = bag.import_errors.values()
        assert "per_page must be a whole number from 1 to 200 (got 0)" in error

    def test_emit_asset_declares_the_output_as_an_outlet(self, tmp_path: Path):
        from airflow.sdk import Asset

        operator = ZohoInvoiceListItemsOperator(
            task_id="list", output_path=str(tmp_path / "items.jsonl"), emit_asset=True
        )
        assert operator.outlets == [Asset(f"file://{tmp_path / 'items.jsonl'}")]


def test_large_catalogue_refuses_xcom_and_points_to_output_path(run_dag, make_emulator, use_emulator, capfd):
    emulator = make_emulator(items=MAX_XCOM_ITEMS + 1)
    use_emulator(emulator)
    dag_run = run_dag(dag_source("too_big", 'ZohoInvoiceListItemsOperator(task_id="list")'), "too_big")
    assert task_states(dag_run) == {"list": "failed"}
    assert "too many for XCom: set output_path" in capfd.readouterr().out


@pytest.mark.parametrize("output_format", ["jsonl", "csv"])
def test_items_to_a_file(run_dag, make_emulator, use_emulator, tmp_path, output_format):
    emulator = make_emulator(items=777, seed=5)
    use_emulator(emulator)
    target = tmp_path / "out" / f"items.{output_format}"
    body = f"""
        ZohoInvoiceListItemsOperator(
            task_id="list", per_page=100, output_path="{tmp_path}/out/items.{{{{ params.ext }}}}",
            output_format="{output_format}", params={{"ext": "{output_format}"}},
        )
    """
    dag_run = run_dag(dag_source(f"file_{output_format}", body), f"file_{output_format}")
    assert task_states(dag_run) == {"list": "success"}
    assert xcom_value(dag_run, "list") == {"path": str(target), "count": 777, "format": output_format}
    expected = [item.as_row() for item in emulator.catalogue.items()]
    if output_format == "jsonl":
        written = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    else:
        with target.open(newline="", encoding="utf-8") as handle:
            written = [{k: (v or None) for k, v in row.items()} for row in csv.DictReader(handle)]
    assert written == expected
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name]


def test_failure_mid_listing_leaves_no_file(run_dag, make_emulator, use_emulator, tmp_path):
    # page 1 fine, page 2 answered by a captive portal: not retried, the task fails
    emulator = make_emulator(items=500, faults=FaultPlan(sequence=["ok", "html-200"]))
    use_emulator(emulator)
    body = f'ZohoInvoiceListItemsOperator(task_id="list", per_page=100, concurrency=1, output_path="{tmp_path}/items.jsonl")'
    dag_run = run_dag(dag_source("partial", body), "partial")
    assert task_states(dag_run) == {"list": "failed"}
    assert list(tmp_path.iterdir()) == []


def test_rejected_token_fails_without_retries(run_dag, make_emulator, use_emulator, capfd):
    emulator = make_emulator(items=3)
    use_emulator(emulator, password="expired-token-value")
    body = 'ZohoInvoiceListItemsOperator(task_id="list", retries=3)'
    dag_run = run_dag(dag_source("rejected", body), "rejected")
    assert task_states(dag_run) == {"list": "failed"}
    assert emulator.requests["items"] == 1
    out = capfd.readouterr().out
    assert "Invalid Ticket Passed" in out and "expired-token-value" not in out


def test_emit_asset_records_an_asset_event_with_the_count(run_dag, make_emulator, use_emulator, tmp_path):
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session

    emulator = make_emulator(items=12)
    use_emulator(emulator)
    body = (
        f'ZohoInvoiceListItemsOperator(task_id="list", output_path="{tmp_path}/items.jsonl", emit_asset=True)'
    )
    dag_run = run_dag(dag_source("asset_out", body), "asset_out")
    assert task_states(dag_run) == {"list": "success"}
    with create_session() as session:
        events = (
            session.query(AssetEvent)
            .join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            .filter(AssetModel.uri == f"file://{tmp_path}/items.jsonl")
            .all()
        )
        assert [event.extra for event in events] == [{"count": 12, "format": "jsonl"}]


def test_rerun_replaces_the_file_and_a_failed_run_keeps_the_previous_one(
    make_emulator, use_emulator, tmp_path
):
    target = tmp_path / "items.jsonl"
    target.write_text("previous complete output\n")
    emulator = make_emulator(items=300, seed=8, faults=FaultPlan(sequence=["ok", "truncate"]))
    use_emulator(emulator)
    operator = ZohoInvoiceListItemsOperator(
        task_id="list", per_page=100, concurrency=1, output_path=str(target)
    )
    with pytest.raises(Exception, match="not well-formed XML"):
        operator.execute({})
    assert target.read_text() == "previous complete output\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["items.jsonl"]
    assert operator.execute({})["count"] == 300
    assert [json.loads(line) for line in target.read_text().splitlines()] == [
        item.as_row() for item in emulator.catalogue.items()
    ]


def test_items_to_xcom(run_dag, connection_kind):
    body = 'ZohoInvoiceListItemsOperator(task_id="list", per_page=50, max_items="{{ params.n }}", params={"n": 70})'
    dag_run = run_dag(dag_source("xcom_list", body), "xcom_list")
    assert task_states(dag_run) == {"list": "success"}
    rows = xcom_value(dag_run, "list")
    assert rows == connection_kind.rows(70)
    assert not any(isinstance(row["rate"], float) for row in rows)  # never a binary float on the way


def test_validate_token_operator(run_dag, connection_kind, capfd):
    wrong, words = connection_kind.break_credentials("broken")
    body = """
        ZohoInvoiceValidateTokenOperator(task_id="good")
        ZohoInvoiceValidateTokenOperator(task_id="bad", zoho_invoice_conn_id="broken", retries=2)
    """
    dag_run = run_dag(dag_source("validate", body), "validate")
    assert task_states(dag_run) == {"good": "success", "bad": "failed"}  # failed at once, no retries
    out = capfd.readouterr().out
    assert "Zoho Invoice connection 'broken'" in out
    assert all(word in out.lower() for word in (w.lower() for w in words)), out[-3000:]
    assert wrong not in out


def test_partial_files_left_by_a_killed_run_are_removed_by_the_next(make_emulator, use_emulator, tmp_path):
    import os
    import time

    use_emulator(make_emulator(items=30))
    target = tmp_path / "items.jsonl"
    killed = tmp_path / ".items.jsonl.0f0f0f.partial"  # what a SIGKILL mid-write leaves
    live = tmp_path / ".items.jsonl.1e1e1e.partial"  # another writer, still at work
    other = tmp_path / ".other.jsonl.2d2d2d.partial"  # another output's: not ours to touch
    for path in (killed, live, other):
        path.write_text("{}\n")
    hour_ago = time.time() - 3600
    os.utime(killed, (hour_ago, hour_ago))
    os.utime(other, (hour_ago, hour_ago))
    result = ZohoInvoiceListItemsOperator(task_id="list", output_path=str(target)).execute({})
    assert result["count"] == 30
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted([target.name, live.name, other.name])
