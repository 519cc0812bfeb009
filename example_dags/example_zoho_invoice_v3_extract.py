"""Hourly extraction of Zoho Invoice (API v3) invoices, contacts and customer payments.

Each run lands exactly the records modified in its data interval, one gzip'd JSON Lines file
per resource and interval, then summarises the files. Re-running an interval (a backfill)
rewrites the same paths with the same content when Zoho did not change; files for consecutive
intervals never share a record version and, together, miss none. Deleted records are found by
the daily snapshot DAG (``example_zoho_invoice_v3_snapshot``): Zoho has no feed of deletions.

Airflow 3 gives cron schedules zero-length data intervals unless they are data-interval
timetables, hence ``CronDataIntervalTimetable``. A manual run has no interval either: the
Trigger form offers the DAG's two params, ``modified_since`` and ``modified_before`` (or pass
them as the run's conf, as the demo does). Files are named by the interval's start in UTC, so a
scheduled run, a backfill and a triggered run of one interval write the same file.
Uses the ``zoho_invoice_default`` connection of type ``zoho_invoice_oauth``; the Airflow
Variable ``zoho_invoice_output_dir`` picks where files go (any object-storage URI works).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from airflow.sdk import DAG, Param, task
from airflow.timetables.interval import CronDataIntervalTimetable

from airflow_provider_zoho_invoice.operators.zoho_invoice import ZohoInvoiceListRecordsOperator
from airflow_provider_zoho_invoice.sensors.zoho_invoice import ZohoInvoiceTokenSensor

OUTPUT_DIR = "{{ var.value.get('zoho_invoice_output_dir', '/tmp/zoho_invoice') }}"
# A triggered run's params, else the scheduled run's data interval (a manual run without params
# has none: the operator then says how to pass bounds).
SINCE = "{{ params.modified_since or (data_interval_start | default(none)) }}"
BEFORE = "{{ params.modified_before or (data_interval_end | default(none)) }}"
INTERVAL_NAME = "{{ (params.modified_since or (data_interval_start | default(none))) | interval_name }}"


def interval_name(start: Any) -> str:
    """One file name per interval, whatever started the run: its start in UTC, without colons."""
    if start is None or start == "":
        raise ValueError(
            "this run has no data interval: trigger it with the modified_since and modified_before "
            "params (the Trigger form offers them)"
        )
    moment = (
        start if isinstance(start, datetime) else datetime.fromisoformat(str(start).replace("Z", "+00:00"))
    )
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H%M%S%z")  # 2026-06-01T130000+0000


RESOURCES = ("invoices", "contacts", "customerpayments")

with DAG(
    dag_id="example_zoho_invoice_v3_extract",
    schedule=CronDataIntervalTimetable("@hourly", timezone="UTC"),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["example", "zoho_invoice"],
    params={
        "modified_since": Param(
            None, type=["null", "string"], description="Start of the interval (ISO 8601), for a manual run"
        ),
        "modified_before": Param(
            None, type=["null", "string"], description="End of the interval (ISO 8601), for a manual run"
        ),
    },
    user_defined_filters={"interval_name": interval_name},
) as dag:
    wait_for_credentials = ZohoInvoiceTokenSensor(
        task_id="wait_for_credentials", poke_interval=30, timeout=60 * 60, mode="reschedule"
    )

    extracts = [
        ZohoInvoiceListRecordsOperator(
            task_id=f"extract_{resource}",
            resource=resource,
            modified_since=SINCE,
            modified_before=BEFORE,
            output_path=f"{OUTPUT_DIR}/{resource}/{INTERVAL_NAME}.jsonl.gz",
        )
        for resource in RESOURCES
    ]

    @task
    def summarize(results: list[dict]) -> dict:
        """Read the files back: records per resource, and the invoices' total, exact to the cent."""
        import gzip
        import json
        from decimal import Decimal

        from airflow.sdk import ObjectStoragePath

        counts: dict[str, int] = {}
        invoice_total = Decimal(0)
        for result in results:
            with ObjectStoragePath(result["path"]).open("rb") as raw, gzip.open(raw, "rt") as lines:
                rows = [json.loads(line, parse_float=Decimal) for line in lines]
            counts[result["resource"]] = len(rows)
            if result["resource"] == "invoices":
                invoice_total = sum((Decimal(row["total"]) for row in rows), Decimal(0))
        interval = f"[{results[0]['modified_since']}, {results[0]['modified_before']})"
        print(f"Zoho Invoice extract {interval}: {counts}, invoices total {invoice_total}")
        return {"interval": interval, "counts": counts, "invoice_total": str(invoice_total)}

    wait_for_credentials >> extracts
    summarize([extract.output for extract in extracts])
