"""Stream N items to a JSON Lines file through the operator; print its count and this process's peak RSS.

Run by run.py in a fresh process per measurement, with AIRFLOW_CONN_ZOHO_INVOICE_DEFAULT set.
"""

from __future__ import annotations

import json
import resource
import sys
import tempfile
from pathlib import Path

from airflow_provider_zoho_invoice.operators.zoho_invoice import ZohoInvoiceListItemsOperator


def main() -> None:
    items = int(sys.argv[1])
    with tempfile.TemporaryDirectory() as tmp:
        output = Path(tmp) / "items.jsonl"
        operator = ZohoInvoiceListItemsOperator(task_id="probe", max_items=items, output_path=str(output))
        result = operator.execute({})
        lines = sum(1 for _ in output.open("rb"))
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"count": result["count"], "lines": lines, "peak_rss_mb": peak_kib / 1024}))


if __name__ == "__main__":
    main()
