"""Stream rows to a file that appears complete or not at all."""

from __future__ import annotations

import csv
import glob
import gzip
import io
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import IO, Any

from airflow_provider_zoho_invoice.exceptions import ZohoInvoiceConfigError, ZohoInvoiceError

_FLUSH_ROWS = 1000
STALE_PARTIAL_SECONDS = 600


def _jsonl_lines(rows: Iterable[dict[str, Any]]) -> Iterator[bytes]:
    import msgspec

    # Decimal amounts are written as JSON numbers with the exact text Zoho sent.
    encode = msgspec.json.Encoder(decimal_format="number").encode
    for row in rows:
        yield encode(row) + b"\n"


def _csv_cell(value: Any) -> Any:
    if value is None or (isinstance(value, (str, int, Decimal)) and not isinstance(value, bool)):
        return value
    import msgspec

    return msgspec.json.encode(value).decode()  # nested objects, lists and booleans as JSON text


def _csv_lines(rows: Iterable[dict[str, Any]], fieldnames: Sequence[str] | None) -> Iterator[bytes]:
    """CSV with a fixed header, or with the union of every row's keys in first-seen order.

    Zoho's records of one resource do not share one set of keys (a draft invoice has no
    ``invoice_url``), so without a fixed header the rows are spooled to a temporary JSON Lines
    file while the keys are collected, then written under the full header: memory stays flat.
    """
    if fieldnames is not None:
        yield from _csv_rows(rows, fieldnames)
        return
    import msgspec

    keys: dict[str, None] = {}
    encode = msgspec.json.Encoder(decimal_format="number").encode
    decode = msgspec.json.Decoder(float_hook=Decimal).decode
    with tempfile.TemporaryFile(prefix="zoho-invoice-csv-") as spool:
        for row in rows:
            keys.update(dict.fromkeys(row))
            spool.write(encode(row) + b"\n")
        spool.seek(0)
        yield from _csv_rows((decode(line) for line in spool), list(keys))


def _csv_rows(rows: Iterable[dict[str, Any]], fieldnames: Sequence[str]) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fieldnames, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        extra = [key for key in row if key not in fieldnames]
        if extra:
            raise ZohoInvoiceError(f"A row has field(s) {', '.join(extra)} that the CSV header lacks")
        writer.writerow({key: _csv_cell(value) for key, value in row.items()})
        yield buffer.getvalue().encode("utf-8")
        buffer.seek(0)
        buffer.truncate()


def write_rows(
    rows: Iterable[dict[str, Any]],
    path: str,
    output_format: str,
    *,
    csv_fields: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Write to a temporary sibling, then move it onto ``path``; a failure leaves ``path`` untouched.

    A path ending in ``.gz`` is gzip-compressed (with a fixed timestamp, so that re-running
    an interval over unchanged data writes the same bytes).
    """
    from airflow_provider_zoho_invoice.compat import ObjectStoragePath

    final = ObjectStoragePath(path)
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        blocker = next(
            (p for p in (final.parent, *final.parent.parents) if p.exists() and not p.is_dir()), None
        )
        raise ZohoInvoiceConfigError(
            f"Cannot write {final}: {blocker or final.parent} is a file, not a folder; "
            "choose an output_path whose folders are folders"
        ) from None
    _remove_stale_partials(final)
    temporary = final.parent / f".{final.name}.{uuid.uuid4().hex}.partial"
    counted = _Counted(rows)
    lines = _jsonl_lines(counted) if output_format == "jsonl" else _csv_lines(counted, csv_fields)
    try:
        with temporary.open("wb") as raw:
            if final.name.endswith(".gz"):
                with gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) as compressed:
                    _copy(lines, compressed)
            else:
                _copy(lines, raw)
        temporary.rename(final)
    except BaseException:
        try:
            if temporary.exists():
                temporary.unlink()
        except Exception:  # noqa: S110 - best effort; the original error matters more
            pass
        raise
    return {"path": str(final), "count": counted.count, "format": output_format}


def _remove_stale_partials(final: Any) -> None:
    """Remove what killed runs (SIGKILL, a lost worker) left beside this path: a writer that is alive
    touches its partial file every 1,000 rows, so one untouched for ten minutes is nobody's."""
    now = time.time()
    for sibling in final.parent.glob(f".{glob.escape(final.name)}.*.partial"):
        try:
            if now - sibling.stat().st_mtime > STALE_PARTIAL_SECONDS:
                sibling.unlink()
        except (OSError, AttributeError, TypeError):  # gone meanwhile, or a store without mtimes
            continue


def _copy(lines: Iterable[bytes], handle: IO[bytes] | Any) -> None:
    batch: list[bytes] = []
    for line in lines:
        batch.append(line)
        if len(batch) >= _FLUSH_ROWS:
            handle.write(b"".join(batch))
            batch.clear()
    handle.write(b"".join(batch))


class _Counted:
    """Counts rows as they stream past, so the count costs no second pass."""

    def __init__(self, rows: Iterable[dict[str, Any]]) -> None:
        self._rows = rows
        self.count = 0

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for row in self._rows:
            self.count += 1
            yield row


def read_rows(path: str) -> list[Any]:
    """Every row of a JSON Lines file (local or object storage, ``.gz`` allowed), numbers exact.

    A line that is not JSON is refused naming its number: a write must never start on half an input.
    """
    from airflow_provider_zoho_invoice.compat import ObjectStoragePath
    from airflow_provider_zoho_invoice.v3.answers import decode

    source = ObjectStoragePath(path)
    try:
        with source.open("rb") as raw:
            handle: Any = gzip.GzipFile(fileobj=raw) if source.name.endswith(".gz") else raw
            rows = []
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    try:
                        rows.append(decode(line))
                    except ValueError as exc:  # msgspec's DecodeError
                        raise ZohoInvoiceConfigError(f"line {number} of {path} is not JSON: {exc}") from None
            return rows
    except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        raise ZohoInvoiceConfigError(f"Cannot read the input {path}: {exc.strerror or exc}") from None


def check_writable(path: str) -> None:
    """Fail before any write to Zoho if the results could not be kept: the folder is made and a
    file created and removed there."""
    from airflow_provider_zoho_invoice.compat import ObjectStoragePath

    final = ObjectStoragePath(path)
    probe = final.parent / f".{final.name}.{uuid.uuid4().hex}.probe"
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        with probe.open("wb"):
            pass
        probe.unlink()
    except OSError as exc:
        raise ZohoInvoiceConfigError(
            f"Cannot write results to {path} ({exc.strerror or type(exc).__name__}): nothing was sent to "
            "Zoho; choose a results_path this worker can write"
        ) from None


def parse_rows(text: str) -> Any:
    """Rows given as JSON text (a template's rendering), numbers exact."""
    from airflow_provider_zoho_invoice.v3.answers import decode

    try:
        return decode(text.encode())
    except ValueError as exc:  # msgspec's DecodeError
        raise ZohoInvoiceConfigError(
            f"rows rendered to text that is not a JSON list of objects: {exc}"
        ) from None
