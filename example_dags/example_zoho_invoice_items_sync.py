"""Daily sync of the Zoho Invoice item catalogue to a JSON Lines file.

wait for valid credentials -> list every item to a dated file -> summarise the file.
Set the Airflow Variable ``zoho_invoice_output_dir`` (or AIRFLOW_VAR_ZOHO_INVOICE_OUTPUT_DIR)
to choose where files go; any object-storage URI works (``s3://bucket/zoho``).
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, task

from airflow_provider_zoho_invoice.operators.zoho_invoice import ZohoInvoiceListItemsOperator
from airflow_provider_zoho_invoice.sensors.zoho_invoice import ZohoInvoiceTokenSensor

OUTPUT_DIR = "{{ var.value.get('zoho_invoice_output_dir', '/tmp/zoho_invoice') }}"
# The logical date, or for a manual run (none in Airflow 3: {{ ds }} is undefined) the run_after date.
RUN_DAY = "{{ (dag_run.logical_date or dag_run.run_after).strftime('%Y-%m-%d') }}"

with DAG(
    dag_id="example_zoho_invoice_items_sync",
    schedule="@daily",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["example", "zoho_invoice"],
) as dag:
    wait_for_credentials = ZohoInvoiceTokenSensor(
        task_id="wait_for_credentials",
        poke_interval=30,
        timeout=60 * 60,
        mode="reschedule",
    )

    list_items = ZohoInvoiceListItemsOperator(
        task_id="list_items",
        output_path=f"{OUTPUT_DIR}/items/{RUN_DAY}.jsonl",
    )

    @task
    def summarize(result: dict) -> dict:
        """Read the file back: how many items, and the catalogue's total of rates."""
        import json
        from decimal import Decimal

        from airflow.sdk import ObjectStoragePath

        count, total_rate = 0, Decimal(0)
        with ObjectStoragePath(result["path"]).open("r", encoding="utf-8") as handle:
            for line in handle:
                row = json.loads(line)
                count += 1
                total_rate += Decimal(row["rate"] or 0)
        print(f"Zoho Invoice catalogue: {count} items, total of rates {total_rate}, file {result['path']}")
        return {"path": result["path"], "count": count, "total_rate": str(total_rate)}

    wait_for_credentials >> list_items
    summarize(list_items.output)
