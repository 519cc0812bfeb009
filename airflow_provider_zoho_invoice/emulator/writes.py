"""The emulator's API v3 writes: creating and updating invoices, contacts and items as Zoho answers.

Zoho takes the record as a JSON body (or, in older clients, as a ``JSONString`` form field) and
answers with the record under its singular key and code 0. The validation errors are the ones
Zoho documents: a required field missing, a number or name that must be unique already taken.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from starlette.responses import Response

from airflow_provider_zoho_invoice.emulator.accounts import json_response
from airflow_provider_zoho_invoice.emulator.records import RecordSet, index_of, zoho_time
from airflow_provider_zoho_invoice.v3.answers import decode, encode
from airflow_provider_zoho_invoice.v3.constants import CODE_INVALID_VALUE
from airflow_provider_zoho_invoice.v3.resources import RESOURCES

CODE_MALFORMED_JSON = 1038


@dataclass(frozen=True)
class Writable:
    """What Zoho checks before it writes one kind of record."""

    required: tuple[str, ...]
    unique: str
    """The field no two records may share (Zoho numbers invoices; names contacts and items)."""
    taken: tuple[int, str]
    missing: tuple[int, str]
    created: str
    updated: str


WRITABLE = {
    "invoices": Writable(
        ("customer_id",),
        "invoice_number",
        (1001, "Invoice Number already exist"),
        (CODE_INVALID_VALUE, "Invalid value passed for {field}"),
        "The invoice has been created.",
        "Invoice information has been updated.",
    ),
    "contacts": Writable(
        ("contact_name",),
        "contact_name",
        (3062, "The contact already exists.Please specify a different name"),
        (3013, "Enter a valid Contact Name"),
        "The contact has been added.",
        "Contact information has been saved.",
    ),
    "items": Writable(
        ("name", "rate"),
        "name",
        (1000, "The item name already exist"),
        (CODE_INVALID_VALUE, "Invalid value passed for {field}"),
        "The item has been added.",
        "The item details have been updated.",
    ),
}


def written(
    records: RecordSet, name: str, params: dict[str, str], record_id: str | None, headers: dict[str, str]
) -> Response:
    """Create (``record_id`` None) or update one record from the request's JSON."""
    rules = WRITABLE[name]
    try:
        fields = decode(params.get("JSONString", "").encode())
    except ValueError:  # msgspec's DecodeError: not JSON
        fields = None
    if not isinstance(fields, dict):
        return json_response(
            {"code": CODE_MALFORMED_JSON, "message": "JSON is not well formed"}, 400, headers
        )
    found = RESOURCES[name]
    index = None if record_id is None else _index(records, name, record_id)
    if record_id is None:
        for field in rules.required:
            if fields.get(field) in (None, ""):
                code, message = rules.missing
                return json_response({"code": code, "message": message.format(field=field)}, 400, headers)
    elif index is None:
        message = f"{found.record_key.replace('_', ' ').capitalize()} does not exist."
        return json_response({"code": found.not_found_code, "message": message}, 404, headers)
    unique = fields.get(rules.unique)
    if unique not in (None, ""):
        holders = records.having(name, rules.unique, unique)
        if holders and (record_id is None or holders != [index]):
            code, message = rules.taken
            return json_response({"code": code, "message": message}, 400, headers)
    if isinstance(fields.get("line_items"), list):  # Zoho numbers each line and works out its total
        fields["line_items"] = [_line(name, number, line) for number, line in enumerate(fields["line_items"])]
    if index is None:
        now = zoho_time(datetime.now(timezone.utc))
        if name == "invoices" and not unique:
            fields["invoice_number"] = f"INV-{records.size(name) + 1:06d}"
        record = records.add(name, **fields, created_time=now, last_modified_time=now)
        status, message = 201, rules.created
    else:
        record = records.update(name, index, fields)
        status, message = 200, rules.updated
    body = encode({"code": 0, "message": message, found.record_key: record})
    return Response(body, status_code=status, media_type="application/json;charset=UTF-8", headers=headers)


def _index(records: RecordSet, name: str, record_id: str) -> int | None:
    index = index_of(name, record_id)
    return index if index is not None and index < records.size(name) else None


def _line(name: str, number: int, line: Any) -> Any:
    if not isinstance(line, dict):
        return line
    rate, quantity = line.get("rate", 0), line.get("quantity", 1)
    try:
        total = Decimal(str(rate)) * Decimal(str(quantity))
    except ArithmeticError:
        total = Decimal(0)
    return {"line_item_id": f"{name}-line-{number}", **line, "item_total": total}
