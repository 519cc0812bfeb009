"""Stream items to a file that appears complete or not at all."""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

from airflow_provider_zoho_invoice.models import ITEM_FIELDS, ZohoInvoiceItem

_FLUSH_ROWS = 1000


def _jsonl_lines(items: Iterable[ZohoInvoiceItem]) -> Iterable[str]:
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    for item in items:
        yield dumps(item.to_dict()) + "\n"


def _csv_lines(items: Iterable[ZohoInvoiceItem]) -> Iterable[str]:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=ITEM_FIELDS, lineterminator="\n")
    writer.writeheader()
    for item in items:
        writer.writerow(item.to_dict())
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue()


def write_items(items: Iterable[ZohoInvoiceItem], path: str, output_format: str) -> dict[str, Any]:
    """Write to a temporary sibling, then move it onto ``path``; a failure leaves ``path`` untouched."""
    from airflow_provider_zoho_invoice.compat import ObjectStoragePath

    final = ObjectStoragePath(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    temporary = final.parent / f".{final.name}.{uuid.uuid4().hex}.partial"
    counted = _Counted(items)
    lines = _jsonl_lines(counted) if output_format == "jsonl" else _csv_lines(counted)
    try:
        with temporary.open("wb") as handle:
            batch: list[str] = []
            for line in lines:
                batch.append(line)
                if len(batch) >= _FLUSH_ROWS:
                    handle.write("".join(batch).encode("utf-8"))
                    batch.clear()
            handle.write("".join(batch).encode("utf-8"))
        temporary.rename(final)
    except BaseException:
        try:
            if temporary.exists():
                temporary.unlink()
        except Exception:  # noqa: S110 - best effort; the original error matters more
            pass
        raise
    return {"path": str(final), "count": counted.count, "format": output_format}


class _Counted:
    """Counts items as they stream past, so the count costs no second pass."""

    def __init__(self, items: Iterable[ZohoInvoiceItem]) -> None:
        self._items = items
        self.count = 0

    def __iter__(self) -> Iterator[ZohoInvoiceItem]:
        for item in self._items:
            self.count += 1
            yield item
