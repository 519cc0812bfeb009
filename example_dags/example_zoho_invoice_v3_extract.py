"""Daily extraction of Zoho Invoice (API v3) invoices, contacts and customer payments to files.

wait for valid OAuth credentials -> one gzip'd JSON Lines file per resource -> summarise the files.
Uses the ``zoho_invoice_default`` connection of type ``zoho_invoice_oauth``. Set the Airflow
Variable ``zoho_invoice_output_dir`` (or AIRFLOW_VAR_ZOHO_INVOICE_OUTPUT_DIR) to choose where
files go; any object-storage URI works (``s3://bucket/zoho``). Paths use the run's logical date,
or for a manual run (which has none in Airflow 3, so ``{{ ds }}`` is undefined) its run_after date.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, task

from airflow_provider_zoho_invoice.operators.zoho_invoice import ZohoInvoiceListRecordsOperator
from airflow_provider_zoho_invoice.sensors.zoho_invoice import ZohoInvoiceTokenSensor

OUTPUT_DIR = "{{ var.value.get('zoho_invoice_output_dir', '/tmp/zoho_invoice') }}"
RUN_DAY = "{{ (dag_run.logical_date or dag_run.run_after).strftime('%Y-%m-%d') }}"
RESOURCES = ("invoices", "contacts", "customerpayments")

with DAG(
    dag_id="example_zoho_invoice_v3_extract",
    schedule="@daily",
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
            output_path=f"{OUTPUT_DIR}/{resource}/{RUN_DAY}.jsonl.gz",
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
            resource = result["path"].rsplit("/", 2)[-2]
            counts[resource] = len(rows)
            if resource == "invoices":
                invoice_total = sum((Decimal(row["total"]) for row in rows), Decimal(0))
        print(f"Zoho Invoice extract: {counts}, invoices total {invoice_total}")
        return {"counts": counts, "invoice_total": str(invoice_total)}

    wait_for_credentials >> extracts
    summarize([extract.output for extract in extracts])
