"""Daily snapshot of Zoho Invoice (API v3) invoices and contacts, for detecting deletions.

Zoho Invoice has no feed of deleted records: comparing a full snapshot with the records the
hourly extraction landed shows what disappeared. Files are named by the run's logical date, or
for a manual run (which has none in Airflow 3, so ``{{ ds }}`` is undefined) its run_after date.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from airflow_provider_zoho_invoice.operators.zoho_invoice import ZohoInvoiceListRecordsOperator

OUTPUT_DIR = "{{ var.value.get('zoho_invoice_output_dir', '/tmp/zoho_invoice') }}"
RUN_DAY = "{{ (dag_run.logical_date or dag_run.run_after).strftime('%Y-%m-%d') }}"

with DAG(
    dag_id="example_zoho_invoice_v3_snapshot",
    schedule="@daily",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["example", "zoho_invoice"],
) as dag:
    for resource in ("invoices", "contacts"):
        ZohoInvoiceListRecordsOperator(
            task_id=f"snapshot_{resource}",
            resource=resource,
            mode="snapshot",
            output_path=f"{OUTPUT_DIR}/snapshots/{resource}/{RUN_DAY}.jsonl.gz",
        )
