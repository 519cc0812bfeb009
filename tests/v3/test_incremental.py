"""Extraction by modification time: exact intervals, keyset paging while Zoho changes, re-runs."""

from __future__ import annotations

import gzip
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from airflow_provider_zoho_invoice.emulator import Churn
from airflow_provider_zoho_invoice.emulator.records import EPOCH
from airflow_provider_zoho_invoice.hooks.zoho_invoice_oauth import ZohoInvoiceOAuthHook
from airflow_provider_zoho_invoice.operators.zoho_invoice import ZohoInvoiceListRecordsOperator
from airflow_provider_zoho_invoice.v3.answers import decode, encode, parse_zoho_time
from airflow_provider_zoho_invoice.v3.resources import RESOURCES
from tests.conftest import dag_source, task_states, xcom_value

T0 = EPOCH + timedelta(hours=10)
T1 = EPOCH + timedelta(hours=30)


def after_this_second() -> None:
    """Zoho stamps edits in whole seconds and an interval ends at the second its listing starts:
    a listing that starts in the second of an edit leaves that edit to the next interval."""
    time.sleep(1 - time.time() % 1 + 0.01)


def modified(record: dict) -> datetime:
    moment = parse_zoho_time(record["last_modified_time"])
    assert moment is not None
    return moment


def expected_in(emulator, resource: str, since: datetime, before: datetime) -> list[dict]:
    id_field = RESOURCES[resource].id_field
    records = [emulator.records.record(resource, index) for index in range(emulator.records.size(resource))]
    chosen = [record for record in records if since <= modified(record) < before]
    return sorted(chosen, key=lambda record: (modified(record), record[id_field]))


@pytest.fixture
def extraction_emulator(make_emulator, use_oauth_emulator):
    emulator = make_emulator(records=2000, seed=1)
    use_oauth_emulator(emulator)
    return emulator


def test_an_interval_is_exact_ordered_and_filtered_by_zoho(extraction_emulator):
    records = list(
        ZohoInvoiceOAuthHook().list_records("invoices", modified_since=T0, modified_before=T1, per_page=50)
    )
    expected = expected_in(extraction_emulator, "invoices", T0, T1)
    assert len(expected) > 400 and [encode(r) for r in records] == [encode(r) for r in expected]
    # Zoho's filter did the work: about one request per 50 records, not a walk through all 2,000,
    # after at most four requests that measured what the filter does (kept for the next listing).
    first = extraction_emulator.requests["v3:invoices"]
    assert first <= len(expected) // 50 + 2 + 4
    again = list(
        ZohoInvoiceOAuthHook().list_records("invoices", modified_since=T0, modified_before=T1, per_page=50)
    )
    assert [encode(r) for r in again] == [encode(r) for r in expected]
    assert extraction_emulator.requests["v3:invoices"] - first <= len(expected) // 50 + 2


@pytest.mark.parametrize("zone", ["Asia/Kolkata", "America/New_York"])
def test_an_interval_is_exact_in_any_organization_time_zone(make_emulator, use_oauth_emulator, zone):
    """Records written at +0530, or at -0400 and -0500 across the end of daylight saving time."""
    emulator = make_emulator(records=1500, seed=1, time_zone=zone)
    use_oauth_emulator(emulator)
    autumn = datetime(2026, 10, 31, 12, tzinfo=timezone.utc)  # New York leaves -0400 for -0500 on Nov 1
    for index in range(0, 1500, 7):
        emulator.records.touch("contacts", index, autumn + timedelta(minutes=7 * index))
    assert emulator.records.record("contacts", 1400)["last_modified_time"].endswith(
        "+0530" if zone == "Asia/Kolkata" else "-0500"
    )
    since, before = T0, datetime(2026, 11, 5, tzinfo=timezone.utc)
    records = list(
        ZohoInvoiceOAuthHook().list_records("contacts", modified_since=since, modified_before=before)
    )
    expected = expected_in(emulator, "contacts", since, before)
    assert [r["contact_id"] for r in records] == [r["contact_id"] for r in expected] and len(expected) > 1000


def test_bounds_as_iso_strings_in_another_offset(extraction_emulator):
    since, before = T0.astimezone(timezone(timedelta(hours=5, minutes=30))), T1.astimezone(timezone.utc)
    records = list(
        ZohoInvoiceOAuthHook().list_records(
            "contacts", modified_since=since.isoformat(), modified_before=before.isoformat()
        )
    )
    assert [r["contact_id"] for r in records] == [
        r["contact_id"] for r in expected_in(extraction_emulator, "contacts", T0, T1)
    ]


def test_records_edited_during_an_extraction_appear_once_and_are_never_lost(extraction_emulator):
    extraction_emulator.churn = Churn(every=1, edit=5, seed=1)  # edits after every page
    first = list(
        ZohoInvoiceOAuthHook().list_records("contacts", modified_since=EPOCH, modified_before=T1, per_page=40)
    )
    ids = [record["contact_id"] for record in first]
    assert len(ids) == len(set(ids)) and extraction_emulator.churn.changes > 5
    assert [modified(r) for r in first] == sorted(modified(r) for r in first)
    extraction_emulator.churn = Churn()
    after_this_second()
    second = list(ZohoInvoiceOAuthHook().list_records("contacts", modified_since=T1))
    assert set(ids) | {record["contact_id"] for record in second} == {
        extraction_emulator.records.record("contacts", index)["contact_id"] for index in range(2000)
    }


@pytest.mark.parametrize("resource", ["contacts", "expenses"])  # keyset, and a scan filtered here
def test_an_open_interval_ends_when_its_listing_starts(extraction_emulator, resource, tmp_path):
    """Edits during the listing are stamped with the real clock; they belong to the next interval."""
    id_field = RESOURCES[resource].id_field
    extraction_emulator.churn = Churn(every=1, edit=5, seed=1)
    operator = ZohoInvoiceListRecordsOperator(
        task_id="open", resource=resource, modified_since=EPOCH.isoformat(), per_page=100,
        output_path=str(tmp_path / "open.jsonl"),
    )  # fmt: skip
    result = operator.execute({})
    records = [decode(line) for line in (tmp_path / "open.jsonl").read_text().splitlines()]
    ids = [record[id_field] for record in records]
    assert extraction_emulator.churn.changes > 5
    assert len(ids) == len(set(ids)) == result["count"]  # each id once, though edited records moved
    ended = datetime.fromisoformat(result["modified_before"])  # the second the listing started
    assert datetime.now(timezone.utc) - ended < timedelta(minutes=5)
    assert all(modified(record) < ended for record in records)
    extraction_emulator.churn = Churn()
    after_this_second()
    later = {r[id_field] for r in ZohoInvoiceOAuthHook().list_records(resource, modified_since=ended)}
    assert later  # the edits made while the first listing ran, each with its new time
    assert set(ids) | later == {
        extraction_emulator.records.record(resource, index)[id_field] for index in range(2000)
    }


def test_a_bulk_import_sharing_one_timestamp_spans_pages(extraction_emulator):
    moment = T0 + timedelta(minutes=7)
    for index in range(100, 550):  # 450 records with one last_modified_time: more than two pages
        extraction_emulator.records.touch("creditnotes", index, moment)
    in_interval = {r["creditnote_id"] for r in expected_in(extraction_emulator, "creditnotes", T0, T1)}
    extraction_emulator.churn = Churn(every=2, edit=3, seed=1)  # edits while reading
    records = list(
        ZohoInvoiceOAuthHook().list_records(
            "creditnotes", modified_since=T0, modified_before=T1, per_page=200
        )
    )
    ids = [record["creditnote_id"] for record in records]
    assert len(ids) == len(set(ids)) and extraction_emulator.churn.changes >= 2
    extraction_emulator.churn = Churn()
    after_this_second()
    later = {
        r["creditnote_id"] for r in ZohoInvoiceOAuthHook().list_records("creditnotes", modified_since=T1)
    }
    # Whatever was in the interval is in this extraction or, if edited meanwhile, in the next one.
    assert in_interval <= set(ids) | later


def test_expenses_are_scanned_and_filtered_here(extraction_emulator, capfd):
    records = list(ZohoInvoiceOAuthHook().list_records("expenses", modified_since=T0, modified_before=T1))
    assert [r["expense_id"] for r in records] == [
        r["expense_id"] for r in expected_in(extraction_emulator, "expenses", T0, T1)
    ]
    assert "reading every page and filtering here" in capfd.readouterr().out


def test_users_cannot_be_extracted_by_interval(extraction_emulator):
    with pytest.raises(ValueError, match=r"no modification time.*snapshot"):
        list(ZohoInvoiceOAuthHook().list_records("users", modified_since=T0))


@pytest.mark.parametrize(
    ("since", "before", "message"),
    [
        (datetime(2026, 6, 1, 9), None, "modified_since has no timezone"),
        (None, "2026-06-02T10:00:00", "modified_before has no timezone"),
        ("yesterday", None, "must be an ISO-8601 timestamp"),
        (T1, T0, "must be earlier than modified_before"),
        (T0, T0, "empty interval.*CronDataIntervalTimetable"),
        ("None", None, "manual run has no data interval"),
        ("", T1, "modified_since is empty"),
        (T0, "  ", "modified_before is empty"),
    ],
)
def test_bad_bounds_are_refused_before_any_request(extraction_emulator, since, before, message):
    with pytest.raises(ValueError, match=message):
        ZohoInvoiceOAuthHook().list_records("invoices", modified_since=since, modified_before=before)
    assert sum(extraction_emulator.requests.values()) == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"modified_since": datetime(2026, 6, 1)}, "no timezone"),
        ({"modified_before": "soon"}, "ISO-8601"),
        ({"mode": "snapshot", "modified_since": "{{ data_interval_start }}"}, "drop modified_since"),
        ({"mode": "full"}, "mode must be one of incremental, snapshot"),
        ({"modified_since": ""}, "modified_since is empty"),
        ({"output_path": ""}, "output_path is empty"),
    ],
)
def test_the_operator_checks_static_bounds_at_parse_time(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ZohoInvoiceListRecordsOperator(task_id="x", resource="invoices", **kwargs)


def test_hourly_intervals_through_airflow_and_a_rerun_writes_the_same_bytes(
    run_dag, extraction_emulator, tmp_path
):
    body = f"""
        ZohoInvoiceListRecordsOperator(
            task_id="invoices", resource="invoices",
            modified_since="{{{{ dag_run.conf['since'] }}}}", modified_before="{{{{ dag_run.conf['before'] }}}}",
            output_path="{tmp_path}/invoices/{{{{ dag_run.conf['since'][:13] }}}}.jsonl.gz",
        )
    """
    # dag.test() gives every run a zero-length data interval, so the bounds come from the run's conf
    # here; scheduled runs of a CronDataIntervalTimetable DAG pass {{ data_interval_start/end }}.
    source = dag_source("hourly_extract", body)
    start = (T0 + timedelta(hours=2)).astimezone(timezone.utc).replace(minute=0)

    def conf(hour: int) -> dict:
        since, before = start + timedelta(hours=hour), start + timedelta(hours=hour + 1)
        return {"since": since.isoformat(), "before": before.isoformat()}

    results = []
    for hour in range(2):
        dag_run = run_dag(source, "hourly_extract", run_conf=conf(hour))
        assert task_states(dag_run) == {"invoices": "success"}
        results.append(xcom_value(dag_run, "invoices"))
    for hour, result in enumerate(results):
        since, before = start + timedelta(hours=hour), start + timedelta(hours=hour + 1)
        expected = expected_in(extraction_emulator, "invoices", since, before)
        assert result == {
            "path": f"{tmp_path}/invoices/{since.isoformat()[:13]}.jsonl.gz", "count": len(expected), "format": "jsonl",
            "resource": "invoices", "modified_since": since.isoformat(), "modified_before": before.isoformat(),
        }  # fmt: skip
        lines = gzip.decompress(Path(result["path"]).read_bytes()).splitlines()
        assert lines == [encode(record) for record in expected] and len(lines) > 5
    first_bytes = Path(results[0]["path"]).read_bytes()
    rerun = run_dag(source, "hourly_extract", run_conf=conf(0))
    assert task_states(rerun) == {"invoices": "success"}
    assert Path(results[0]["path"]).read_bytes() == first_bytes


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"since": "", "before": "2026-06-02T10:00:00+00:00", "out": "{out}"}, "modified_since is empty"),
        ({"since": "", "before": "", "out": "{out}"}, "modified_since is empty"),
        ({"since": "2026-06-01T10:00:00+00:00", "before": "2026-06-02T10:00:00+00:00", "out": ""},
         "output_path is empty"),
    ],
)  # fmt: skip
def test_templates_that_render_empty_are_refused_before_any_request(
    run_dag, extraction_emulator, tmp_path, capfd, params, message
):
    params = {key: value.format(out=tmp_path / "hour.jsonl") for key, value in params.items()}
    body = f"""
        ZohoInvoiceListRecordsOperator(
            task_id="extract", resource="invoices", retries=2, params={params!r},
            modified_since="{{{{ params.since }}}}", modified_before="{{{{ params.before }}}}",
            output_path="{{{{ params.out }}}}",
        )
    """
    dag_run = run_dag(dag_source("empty_render", body), "empty_render")
    assert task_states(dag_run) == {"extract": "failed"}  # at once: no retry can fix a template
    assert message in capfd.readouterr().out
    assert extraction_emulator.requests["v3:invoices"] == 0 and not list(tmp_path.glob("*.jsonl"))


def test_openlineage_names_the_organization_resource_and_file(extraction_emulator, tmp_path):
    operator = ZohoInvoiceListRecordsOperator(
        task_id="invoices", resource="invoices", modified_since=T0, modified_before=T1,
        output_path=str(tmp_path / "invoices.jsonl.gz"),
    )  # fmt: skip
    operator.execute({})
    lineage = operator.get_openlineage_facets_on_complete(None)
    assert [(d.namespace, d.name) for d in lineage.inputs] == [("zoho-invoice://10234695", "invoices")]
    assert [(d.namespace, d.name) for d in lineage.outputs] == [("file", str(tmp_path / "invoices.jsonl.gz"))]


def test_dag_files_import_no_optional_or_heavy_dependency():
    import subprocess
    import sys

    code = (
        "import sys, airflow.sdk; before = set(sys.modules); "
        "import airflow_provider_zoho_invoice.operators.zoho_invoice; "
        "heavy = ('openlineage', 'airflow.providers.openlineage', 'redis', 'limits', 'requests', 'xmltodict', "
        "'filelock', 'msgspec'); "
        "print(sorted(name for name in set(sys.modules) - before if name.startswith(heavy)) or False)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert result.stdout.strip().splitlines()[-1] == "False"
