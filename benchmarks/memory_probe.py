"""Stream N items (or, given a v3 resource name, N records of it) to a JSON Lines file through the
operator; print its count and this process's peak RSS.

Run by run.py in a fresh process per measurement, with AIRFLOW_CONN_ZOHO_INVOICE_DEFAULT set.
"""

from __future__ import annotations

import json
import resource
import sys
import tempfile
from pathlib import Path

from airflow_provider_zoho_invoice.operators.zoho_invoice import (
    ZohoInvoiceListItemsOperator,
    ZohoInvoiceListRecordsOperator,
)


def main() -> None:
    items = int(sys.argv[1])
    resource_name = sys.argv[2] if len(sys.argv) > 2 else None
    bounds = {"modified_since": sys.argv[3], "modified_before": sys.argv[4]} if len(sys.argv) > 4 else {}
    with tempfile.TemporaryDirectory() as tmp:
        output = Path(tmp) / "rows.jsonl"
        operator = (
            ZohoInvoiceListRecordsOperator(
                task_id="probe", resource=resource_name, max_records=items, output_path=str(output), **bounds
            )
            if resource_name
            else ZohoInvoiceListItemsOperator(task_id="probe", max_items=items, output_path=str(output))
        )
        result = operator.execute({})
        lines = sum(1 for _ in output.open("rb"))
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"count": result["count"], "lines": lines, "peak_rss_mb": peak_kib / 1024}))


if __name__ == "__main__":
    main()
