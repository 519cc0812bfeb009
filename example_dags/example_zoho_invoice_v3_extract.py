"""Hourly extraction of Zoho Invoice (API v3) invoices, contacts and customer payments.

Each run lands exactly the records modified in its data interval, one gzip'd JSON Lines file
per resource and interval, then summarises the files. Re-running an interval (a backfill)
rewrites the same paths with the same content when Zoho did not change; files for consecutive
intervals never share a record version and, together, miss none. Deleted records are found by
the daily snapshot DAG (``example_zoho_invoice_v3_snapshot``): Zoho has no feed of deletions.

Airflow 3 gives cron schedules zero-length data intervals unless they are data-interval
timetables, hence ``CronDataIntervalTimetable``. A manual run has no interval either: trigger
it with ``{"modified_since": "...", "modified_before": "..."}`` as its conf (the demo does).
Uses the ``zoho_invoice_default`` connection of type ``zoho_invoice_oauth``; the Airflow
Variable ``zoho_invoice_output_dir`` picks where files go (any object-storage URI works).
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, task
from airflow.timetables.interval import CronDataIntervalTimetable

from airflow_provider_zoho_invoice.operators.zoho_invoice import ZohoInvoiceListRecordsOperator
from airflow_provider_zoho_invoice.sensors.zoho_invoice import ZohoInvoiceTokenSensor

OUTPUT_DIR = "{{ var.value.get('zoho_invoice_output_dir', '/tmp/zoho_invoice') }}"
SINCE = "{{ dag_run.conf.get('modified_since') or data_interval_start }}"
BEFORE = "{{ dag_run.conf.get('modified_before') or data_interval_end }}"
# One file per interval, named by its start, e.g. invoices/2026-06-01T130000+0000.jsonl.gz
INTERVAL_NAME = (
    "{{ (dag_run.conf.get('modified_since') or data_interval_start) | string | replace(':', '') }}"
)
RESOURCES = ("invoices", "contacts", "customerpayments")

with DAG(
    dag_id="example_zoho_invoice_v3_extract",
    schedule=CronDataIntervalTimetable("@hourly", timezone="UTC"),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["example", "zoho_invoice"],
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
