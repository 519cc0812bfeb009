"""Writing rows to Zoho Invoice exactly once: what is checked before any request, and the decisions.

Zoho has no idempotency key: a create whose answer was lost may or may not have happened. So a
key is always looked up before it is created, and again after an answer is lost, before the
create is tried once more. Everything here is pure; the hook sends the requests.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from airflow_provider_zoho_invoice.v3.answers import encode

LOOKUP_FILTERS = {
    "invoices": frozenset({"reference_number", "invoice_number"}),
    "contacts": frozenset({"contact_name", "email"}),
    "items": frozenset({"name"}),
}
"""Keys Zoho's list filters can look up one at a time; any other key is found by one listing."""

LOOKUP_ROWS = 20
"""Up to this many keys, one filtered request per key costs less than listing the resource."""

CREATE_ATTEMPTS = 3
"""Creates of one row whose answer was lost, each after a lookup that did not find the key."""


def check_rows(rows: Iterable[Any], match_on: str) -> list[dict[str, Any]]:
    """Rows as Zoho will be sent them; a row that is not an object, lacks its key or holds an
    inexact amount is refused (naming its position) before any request."""
    checked = []
    for position, row in enumerate(rows):
        if not isinstance(row, dict):
            raise ValueError(f"row {position} is a {type(row).__name__}, not an object of field values")
        key = row.get(match_on)
        if key is None or key == "" or isinstance(key, (dict, list, bool)):
            raise ValueError(
                f"row {position} has no {match_on!r} (the field match_on names); every row needs one"
            )
        checked.append(_exact(row, f"row {position}"))
    return checked


AMOUNT_FIELDS = frozenset(
    {"rate", "amount", "price", "quantity", "discount", "total", "adjustment", "shipping_charge"}
)
"""Fields that carry a number, at any depth (line items included): text there must be a decimal."""


def _exact(value: Any, where: str, field: str | None = None) -> Any:
    """Floats become the Decimal they print as, if that is exactly their value; others are refused."""
    if isinstance(value, float):
        exact = Decimal(repr(value))
        if not exact.is_finite() or Decimal(value) != exact:
            raise ValueError(
                f"{where} holds the number {value!r}, which a float cannot carry exactly; give amounts "
                'as decimal text ("12.10") or Decimal'
            )
        return exact
    if isinstance(value, dict):
        return {name: _exact(item, f"{where}, field {name!r}", name) for name, item in value.items()}
    if isinstance(value, list):
        return [_exact(item, f"{where}[{index}]", field) for index, item in enumerate(value)]
    if isinstance(value, str) and field in AMOUNT_FIELDS:
        try:
            number = Decimal(value)
        except ArithmeticError:
            number = None
        if number is None or not number.is_finite():
            raise ValueError(f"{where} is {value!r}, not a decimal number")
        return number  # sent as the number text given: "12.10" stays 12.10
    return value


def repeated_keys(rows: list[dict[str, Any]], match_on: str) -> set[Any]:
    """Keys given to more than one row: none of those rows is written (which one is meant?)."""
    counts = Counter(str(row[match_on]) for row in rows)
    return {key for key, count in counts.items() if count > 1}


def differs(row: dict[str, Any], existing: dict[str, Any]) -> bool:
    """Whether writing ``row`` would change ``existing``. Zoho adds fields of its own (a line
    item's id and total), so only the fields the row gives are compared, at every depth."""
    return not _holds(existing, row)


def _holds(existing: Any, wanted: Any) -> bool:
    if isinstance(wanted, dict):
        return isinstance(existing, dict) and all(
            name in existing and _holds(existing[name], value) for name, value in wanted.items()
        )
    if isinstance(wanted, list):
        return (
            isinstance(existing, list)
            and len(existing) == len(wanted)
            and all(_holds(have, want) for have, want in zip(existing, wanted, strict=True))
        )
    return bool(encode(_plain(existing)) == encode(_plain(wanted)))


def _plain(value: Any) -> Any:
    """Numbers compared by value: Zoho writes 500.0 where 500 was sent."""
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return Decimal(value).normalize()
    if isinstance(value, str):
        try:
            number = Decimal(value)
        except ArithmeticError:
            return value
        return number.normalize() if number.is_finite() else value
    if isinstance(value, dict):
        return {name: _plain(item) for name, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def result(
    position: int,
    key: Any,
    action: str,
    record_id: Any = None,
    *,
    code: int | None = None,
    message: str | None = None,
) -> dict[str, Any]:
    return {
        "row": position,
        "key": key,
        "action": action,
        "id": record_id,
        "code": code,
        "message": message,
    }
