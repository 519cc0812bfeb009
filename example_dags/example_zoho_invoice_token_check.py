"""Daily check that the Zoho Invoice credentials still work.

A rejected authtoken or API key fails the task at once (no retries: they
cannot help) with a message that says which credential and how to fix it;
add an ``on_failure_callback`` or a notifier to be alerted.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG

from airflow_provider_zoho_invoice.operators.zoho_invoice import ZohoInvoiceValidateTokenOperator

with DAG(
    dag_id="example_zoho_invoice_token_check",
    schedule="@daily",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=5)},
    tags=["example", "zoho_invoice"],
) as dag:
    ZohoInvoiceValidateTokenOperator(task_id="validate_token")
