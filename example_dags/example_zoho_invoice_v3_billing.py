"""Monthly usage billing: usage rows become Zoho Invoice invoices, each exactly once.

A warehouse query would produce the usage; here a task writes a small usage file for the first
customers Zoho lists. The upsert matches each row to an invoice by ``reference_number``: it
creates the invoices that do not exist, updates those whose lines changed and leaves the rest
alone, so re-running a month (a retry, a backfill, the same file twice) never bills twice. A
results file says what happened to every row; the last task checks it.

Uses the ``zoho_invoice_default`` connection of type ``zoho_invoice_oauth``, whose refresh
token needs ``ZohoInvoice.invoices.CREATE`` and ``ZohoInvoice.invoices.UPDATE`` besides the
read scopes; the Airflow Variable ``zoho_invoice_output_dir`` picks where files go.
"""

from __future__ import annotations

import json
from typing import Any

from airflow.sdk import DAG, task

from airflow_provider_zoho_invoice.operators.zoho_invoice import (
    ZohoInvoiceListRecordsOperator,
    ZohoInvoiceUpsertRecordsOperator,
)

OUTPUT_DIR = "{{ var.value.get('zoho_invoice_output_dir', '/tmp/zoho_invoice') }}"
MONTH = "2026-06"

with DAG(
    "example_zoho_invoice_v3_billing",
    schedule=None,
    catchup=False,
    tags=["zoho-invoice", "example", "writes"],
    doc_md=__doc__,
):
    customers = ZohoInvoiceListRecordsOperator(
        task_id="customers",
        resource="contacts",
        max_records=20,
        query_params={"sort_column": "created_time", "sort_order": "A"},
    )

    @task
    def usage_file(contacts: list[dict[str, Any]], output_dir: str) -> str:
        """What a warehouse query would write: one row per customer and month, amounts as text."""
        from pathlib import Path

        path = Path(output_dir) / "billing" / f"usage-{MONTH}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        rows = [
            {
                "reference_number": f"USAGE-{MONTH}-{contact['contact_id']}",
                "customer_id": contact["contact_id"],
                "date": f"{MONTH}-30",
                "line_items": [
                    {"name": "API calls (thousands)", "rate": "0.0125", "quantity": 1000 + 37 * number},
                    {"name": "Storage (GB-month)", "rate": "0.021", "quantity": 50 + number},
                ],
            }
            for number, contact in enumerate(contacts)
        ]
        path.write_text("".join(json.dumps(row) + "\n" for row in rows))
        return str(path)

    invoices = ZohoInvoiceUpsertRecordsOperator(
        task_id="invoices",
        resource="invoices",
        match_on="reference_number",
        input_path=usage_file(customers.output, OUTPUT_DIR),
        results_path=OUTPUT_DIR + f"/billing/results-{MONTH}.jsonl",
    )

    @task
    def check_results(counts: dict[str, Any]) -> dict[str, int]:
        """Every row accounted for in the results file, none failed."""
        from collections import Counter

        with open(counts["results_path"]) as results:
            actions = Counter(json.loads(line)["action"] for line in results)
        expected = {action: counts[action] for action in actions}
        if dict(actions) != expected or actions["failed"]:
            raise ValueError(f"the results file says {dict(actions)}, the task returned {counts}")
        print(
            f"Zoho Invoice billing for {MONTH}: " + ", ".join(f"{n} {a}" for a, n in sorted(actions.items()))
        )
        return dict(actions)

    check_results(invoices.output)
