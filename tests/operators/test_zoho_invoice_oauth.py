"""Operators, sensors and triggers with a zoho_invoice_oauth (API v3) connection, run through Airflow.

What holds for both connection types is tested once for each in the legacy files' twins.
"""

from __future__ import annotations

import asyncio
import csv
import gzip
import json
import time

import pytest

from airflow_provider_zoho_invoice.operators.zoho_invoice import ZohoInvoiceListRecordsOperator
from airflow_provider_zoho_invoice.triggers.zoho_invoice import (
    ZohoInvoiceItemTrigger,
    ZohoInvoiceTokenTrigger,
)
from airflow_provider_zoho_invoice.v3.answers import encode
from tests.conftest import dag_source, task_states, xcom_value


def expected_records(emulator, resource: str) -> list[dict]:
    """In Zoho's order when no sort is asked: newest first by created_time."""
    return [
        emulator.records.record(resource, index) for index in reversed(range(emulator.records.size(resource)))
    ]


def decimal_text(record: dict) -> dict:
    """What XCom carries: the record as sent (whole numbers stay numbers), other amounts as decimal text."""
    return json.loads(encode(record).decode(), parse_float=str)


@pytest.mark.parametrize("suffix", ["jsonl", "jsonl.gz"])
def test_list_records_operator_to_a_file_keeps_zoho_bytes(run_dag, oauth_emulator, tmp_path, suffix):
    body = f"""
        ZohoInvoiceListRecordsOperator(
            task_id="invoices", resource="{{{{ params.resource }}}}", query_params={{"status": "{{{{ params.s }}}}"}},
            per_page=40, output_path="{tmp_path}/invoices.{suffix}",
        )
    """
    source = dag_source(f"v3_file_{suffix.replace('.', '_')}", body).replace(
        "catchup=False", 'catchup=False, params={"resource": "invoices", "s": "any"}'
    )
    dag_run = run_dag(source, f"v3_file_{suffix.replace('.', '_')}")
    assert task_states(dag_run) == {"invoices": "success"}
    target = tmp_path / f"invoices.{suffix}"
    assert xcom_value(dag_run, "invoices") == {
        "path": str(target), "count": 450, "format": "jsonl",
        "resource": "invoices", "modified_since": None, "modified_before": None,
    }  # fmt: skip
    raw = target.read_bytes()
    text = gzip.decompress(raw) if suffix.endswith(".gz") else raw
    assert text.splitlines() == [encode(record) for record in expected_records(oauth_emulator, "invoices")]
    assert b".50," in text  # amounts such as 360.50 keep Zoho's number text


def test_list_records_operator_csv(oauth_emulator, tmp_path):
    operator = ZohoInvoiceListRecordsOperator(
        task_id="contacts", resource="contacts", output_path=str(tmp_path / "c.csv"), output_format="csv"
    )
    assert operator.execute({})["count"] == 450
    with (tmp_path / "c.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    first = expected_records(oauth_emulator, "contacts")[0]
    assert list(rows[0]) == list(first)
    assert rows[1]["outstanding_receivable_amount"] == str(
        expected_records(oauth_emulator, "contacts")[1]["outstanding_receivable_amount"]
    )
    assert rows[0]["custom_fields"] == "[]"


def test_csv_holds_rows_that_do_not_share_one_set_of_keys(oauth_emulator, tmp_path):
    """Paid invoices carry invoice_url, sent ones mail-view times too, drafts neither: one header for all."""
    target = tmp_path / "invoices.csv"
    operator = ZohoInvoiceListRecordsOperator(
        task_id="invoices", resource="invoices", output_path=str(target), output_format="csv", per_page=50
    )
    assert operator.execute({})["count"] == 450
    expected = expected_records(oauth_emulator, "invoices")
    union: dict[str, None] = {}
    for record in expected:
        union.update(dict.fromkeys(record))
    with target.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
    assert reader.fieldnames == list(union)  # first-seen order
    assert any(len(record) < len(union) for record in expected)  # drafts lack invoice_url, and more
    assert [row["invoice_id"] for row in rows] == [record["invoice_id"] for record in expected]
    for row, record in zip(rows, expected, strict=True):
        assert row["invoice_url"] == record.get("invoice_url", "")
        assert row["mail_first_viewed_time"] == record.get("mail_first_viewed_time", "")
        assert row["total"] == str(record["total"])  # Zoho's number text, e.g. 120.50


def test_list_records_operator_to_xcom_and_the_bound(run_dag, make_emulator, use_oauth_emulator, capfd):
    emulator = make_emulator(records={"customerpayments": 1001, "taxes": 5})
    use_oauth_emulator(emulator)
    body = """
        ZohoInvoiceListRecordsOperator(task_id="taxes", resource="taxes")
        ZohoInvoiceListRecordsOperator(task_id="payments", resource="customerpayments")
    """
    dag_run = run_dag(dag_source("v3_records_xcom", body), "v3_records_xcom")
    assert task_states(dag_run) == {"taxes": "success", "payments": "failed"}
    assert xcom_value(dag_run, "taxes") == [decimal_text(r) for r in expected_records(emulator, "taxes")]
    assert "more than 1000 customerpayments, too many for XCom" in capfd.readouterr().out


def test_list_records_operator_refuses_a_legacy_connection(run_dag, make_emulator, use_emulator, capfd):
    emulator = make_emulator(items=3)
    use_emulator(emulator)
    body = 'ZohoInvoiceListRecordsOperator(task_id="invoices", resource="invoices", retries=2)'
    dag_run = run_dag(dag_source("v3_legacy_refused", body), "v3_legacy_refused")
    assert task_states(dag_run) == {"invoices": "failed"}
    assert "needs a 'zoho_invoice_oauth' connection" in capfd.readouterr().out
    assert emulator.requests["items"] == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"resource": "bills"}, "resource must be one of items, contacts"),
        ({"resource": "invoices", "max_records": -1}, "max_records must be None or a whole number"),
        ({"resource": "invoices", "per_page": 201}, "per_page"),
    ],
)
def test_list_records_operator_checks_static_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ZohoInvoiceListRecordsOperator(task_id="r", **kwargs)


@pytest.mark.parametrize("mode", ["poke", "reschedule", "deferrable"])
def test_token_sensor_fails_at_once_on_a_revoked_refresh_token(
    run_dag, make_emulator, use_oauth_emulator, mode
):
    emulator = make_emulator(records=1)
    use_oauth_emulator(emulator, refresh_token="1000.revoked")
    extra = "deferrable=True" if mode == "deferrable" else f'mode="{mode}"'
    body = f'ZohoInvoiceTokenSensor(task_id="wait", poke_interval=5, timeout=600, {extra})'
    started = time.monotonic()
    dag_run = run_dag(dag_source(f"v3_token_{mode}", body), f"v3_token_{mode}")
    assert task_states(dag_run) == {"wait": "failed"}
    assert time.monotonic() - started < 60
    assert emulator.requests["token"] == 1


@pytest.mark.parametrize("mode", ["poke", "reschedule", "deferrable"])
def test_token_sensor_succeeds(run_dag, make_emulator, use_oauth_emulator, mode, capfd):
    emulator = make_emulator(records=1)
    use_oauth_emulator(emulator)
    extra = "deferrable=True" if mode == "deferrable" else f'mode="{mode}"'
    body = f'ZohoInvoiceTokenSensor(task_id="wait", poke_interval=0.5, timeout=60, {extra})'
    dag_run = run_dag(dag_source(f"v3_token_ok_{mode}", body), f"v3_token_ok_{mode}")
    assert task_states(dag_run) == {"wait": "success"}
    assert "Zoho Invoice accepted the credentials" in capfd.readouterr().out  # the poke says what Zoho said


def test_triggers_with_an_oauth_connection(oauth_emulator):
    async def collect(trigger) -> list[dict]:
        return [event.payload async for event in trigger.run()]

    token = ZohoInvoiceTokenTrigger(
        zoho_invoice_conn_id="zoho_invoice_default", poke_interval=0.1, end_time=time.time() + 30
    )
    assert asyncio.run(collect(token)) == [{"status": "success", "result": {"valid": True}}]
    item = ZohoInvoiceItemTrigger(
        zoho_invoice_conn_id="zoho_invoice_default",
        poke_interval=0.1,
        end_time=time.time() + 30,
        name="Item 00003",
    )
    ((event),) = asyncio.run(collect(item))
    assert event["status"] == "success" and event["result"]["item_id"] == "260815000000000003"


def test_trigger_gives_one_error_event_on_a_revoked_refresh_token(make_emulator, use_oauth_emulator):
    emulator = make_emulator(records=1)
    use_oauth_emulator(emulator, refresh_token="1000.revoked")

    async def collect() -> list[dict]:
        trigger = ZohoInvoiceTokenTrigger(
            zoho_invoice_conn_id="zoho_invoice_default", poke_interval=0.1, end_time=time.time() + 30
        )
        return [event.payload async for event in trigger.run()]

    (event,) = asyncio.run(collect())
    assert event["status"] == "error" and "invalid_code" in event["message"]
    assert "1000.revoked" not in event["message"]


def test_form_stored_extra_names_are_read(make_emulator, monkeypatch, tmp_path):
    from airflow_provider_zoho_invoice.hooks.zoho_invoice_oauth import ZohoInvoiceOAuthHook

    emulator = make_emulator(records=2)
    monkeypatch.setenv("AIRFLOW__ZOHO_INVOICE__TOKEN_CACHE_DIR", str(tmp_path))
    connection = json.loads(emulator.oauth_connection_json())
    connection["extra"] = {
        f"extra__zoho_invoice_oauth__{key}": value for key, value in connection["extra"].items()
    }
    monkeypatch.setenv("AIRFLOW_CONN_ZOHO_INVOICE_DEFAULT", json.dumps(connection))
    assert len(list(ZohoInvoiceOAuthHook().list_items())) == 2


def test_list_items_operator_to_a_csv_file(oauth_emulator, tmp_path):
    from airflow_provider_zoho_invoice.operators.zoho_invoice import ZohoInvoiceListItemsOperator

    target = tmp_path / "items.csv"
    result = ZohoInvoiceListItemsOperator(
        task_id="items", output_path=str(target), output_format="csv"
    ).execute({})
    assert result == {"path": str(target), "count": 450, "format": "csv"}
    with target.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    expected = expected_records(oauth_emulator, "items")
    assert list(rows[0]) == list(expected[0]) and rows[-1]["rate"] == "500.0"  # the oldest item last
    assert [row["item_id"] for row in rows] == [record["item_id"] for record in expected]


def test_an_unknown_organization_fails_at_once(run_dag, make_emulator, use_oauth_emulator, capfd):
    """Zoho's code 6041 means the connection is wrong: no Airflow retry can fix it."""
    emulator = make_emulator(records=5)
    use_oauth_emulator(emulator, organization_id="99999")
    body = (
        'ZohoInvoiceListRecordsOperator(task_id="invoices", resource="invoices", retries=3, retry_delay=0.1)'
    )
    dag_run = run_dag(dag_source("v3_wrong_org", body), "v3_wrong_org")
    assert task_states(dag_run) == {"invoices": "failed"}
    assert "6041" in capfd.readouterr().out
    # One round of pages (the operator's default concurrency, 4), each answered once: no request
    # retried, no Airflow retry spent.
    assert emulator.requests["v3:invoices"] <= 4


def test_an_output_path_under_a_file_names_the_file(oauth_emulator, tmp_path):
    from airflow_provider_zoho_invoice.compat import AirflowFailException

    (tmp_path / "exports").write_text("not a folder")
    target = tmp_path / "exports" / "2026" / "invoices.jsonl"
    operator = ZohoInvoiceListRecordsOperator(
        task_id="invoices", resource="invoices", output_path=str(target)
    )
    with pytest.raises(AirflowFailException, match=r"exports is a file, not a folder"):
        operator.execute({})
