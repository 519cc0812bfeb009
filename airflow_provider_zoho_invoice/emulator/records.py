"""The emulator's v3 data set: every resource, deterministic from a seed, generated on demand.

Records are shaped like Zoho's published and recorded samples (same keys, same order) and
carry ``Decimal`` amounts so that their JSON holds number text such as ``120.50`` that a
binary float could not reproduce.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone, tzinfo
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from airflow_provider_zoho_invoice.v3.resources import RESOURCES

ORG_OFFSET = timezone(timedelta(hours=-4))
ORG_ZONE = ZoneInfo("America/New_York")
"""The default organization's time zone: -0400 in summer, -0500 from November (a DST change)."""
EPOCH = datetime(2026, 6, 1, 9, 0, 0, tzinfo=ORG_OFFSET)
_ID_PREFIX = 2_608_150_000
_NAMES = ("Acme Corp", "Zylker Traders", "Café Müller", 'Oak "Shelf" Co', "Nuts & Bolts Ltd", "Globex")
_RESOURCE_NUMBERS = {name: number for number, name in enumerate(RESOURCES)}


def zoho_time(moment: datetime, zone: tzinfo = ORG_ZONE) -> str:
    """Zoho's timestamp form, in the organization's time zone: ``2026-06-09T09:46:21-0400`` (an offset
    without a colon, ``-0500`` once daylight saving time ends)."""
    return moment.astimezone(zone).strftime("%Y-%m-%dT%H:%M:%S%z")


def record_id(resource: str, index: int) -> str:
    return f"{_ID_PREFIX + _RESOURCE_NUMBERS[resource]:010d}{index:08d}"


def index_of(resource: str, text: str) -> int | None:
    if (
        len(text) != 18
        or not text.isdigit()
        or text[:10] != f"{_ID_PREFIX + _RESOURCE_NUMBERS[resource]:010d}"
    ):
        return None
    return int(text[10:])


def _money(index: int, seed: int) -> Decimal:
    """Amounts whose text a float round trip would change (``120.50``, ``0.10``) next to plain ones."""
    mixed = (index * 7919 + seed * 104729) % 100_000
    if index % 3 == 0:
        return Decimal(mixed // 100)  # written as a whole number, as Zoho does for 598
    return Decimal(f"{mixed // 100}.{mixed % 100:02d}")


def _modified_offset(index: int, seed: int) -> int:
    """Seconds from EPOCH to a generated record's last modification: computed without building it."""
    return index * 137 + seed + (index * 31) % 3600


def _times(index: int, seed: int) -> tuple[str, str]:
    created = EPOCH + timedelta(seconds=index * 137 + seed)
    modified = EPOCH + timedelta(seconds=_modified_offset(index, seed))
    return zoho_time(created), zoho_time(modified)


def _customer(index: int) -> tuple[str, str]:
    return record_id("contacts", index % 50), _NAMES[index % len(_NAMES)]


def _item(i: int, seed: int) -> dict[str, Any]:
    created, modified = _times(i, seed)
    return {
        "item_id": record_id("items", i),
        "name": f"Item {i:05d}",
        "status": "active",
        "description": "Sample Description" if i % 4 else "",
        "rate": Decimal("500.0") if i == 0 else _money(i, seed),
        "unit": "pcs",
        "tax_id": "",
        "tax_name": "",
        "tax_percentage": 0,
        "sku": f"SKU-{i:05d}",
        "product_type": "goods" if i % 2 else "service",
        "created_time": created,
        "last_modified_time": modified,
    }


def _contact(i: int, seed: int) -> dict[str, Any]:
    created, modified = _times(i, seed)
    name = f"{_NAMES[i % len(_NAMES)]} {i}"
    return {
        "contact_id": record_id("contacts", i),
        "contact_name": name,
        "customer_name": name,
        "company_name": _NAMES[i % len(_NAMES)],
        "contact_type": "customer",
        "status": "active",
        "currency_code": "USD",
        "outstanding_receivable_amount": _money(i, seed),
        "email": f"billing{i}@example.com",
        "created_time": created,
        "last_modified_time": modified,
        "custom_fields": [],
    }


_EMPTY_ADDRESS = dict.fromkeys(
    ("address", "street2", "city", "state", "zipcode", "country", "phone", "fax", "attention"), ""
)
_INVOICE_STATES = ("paid", "sent", "draft", "overdue", "void", "partially_paid")


def _invoice(i: int, seed: int) -> dict[str, Any]:
    """About sixty top-level fields, in the order live list answers give them; some depend on state."""
    created, modified = _times(i, seed)
    customer_id, customer_name = _customer(i)
    status = _INVOICE_STATES[i % len(_INVOICE_STATES)]
    total = _money(i, seed)
    paid = status == "paid"
    balance = (
        Decimal(0) if paid else (total / 2).quantize(Decimal("0.01")) if status == "partially_paid" else total
    )
    emailed = status in ("sent", "overdue", "partially_paid")
    day = created[:10]
    record: dict[str, Any] = {
        "ach_payment_initiated": False,
        "invoice_id": record_id("invoices", i),
        "zcrm_potential_id": "",
        "customer_id": customer_id,
        "zcrm_potential_name": "",
        "customer_name": customer_name,
        "company_name": customer_name if i % 4 == 0 else "",
        "status": status,
        "invoice_number": f"INV-{i + 1:06d}",
        "reference_number": f"PO-{i:05d}" if i % 3 == 0 else "",
        "date": day,
        "due_date": day,
        "issued_date": day,
        "due_days": "Due Today" if status in ("sent", "partially_paid") else "",
        "email": f"billing{i % 97}@example.com" if emailed else "",
        "project_name": "",
        "billing_address": {
            **_EMPTY_ADDRESS,
            "address": "123 Main St",
            "city": "New York",
            "state": "NY",
            "zipcode": "10001",
            "country": "USA",
        },
        "shipping_address": dict(_EMPTY_ADDRESS),
        "country": "USA",
        "phone": "",
        "created_by": "Emulated Admin",
        "total": total,
        "balance": balance,
        "payment_expected_date": "",
        "custom_fields": [],
        "custom_field_hash": {},
        "salesperson_name": "",
        "shipping_charge": 0,
        "adjustment": Decimal("0.0") if i % 2 else 0,
        "created_time": created,
        "last_modified_time": modified,
        "updated_time": modified,
        "is_viewed_by_client": emailed,
        "has_attachment": i % 11 == 0,
        "client_viewed_time": modified if emailed else "",
        "is_emailed": emailed,
        "color_code": "",
        "current_sub_status_id": "",
        "current_sub_status": status,
        "currency_id": "260815000000000097",
        "schedule_time": "",
        "currency_code": "USD",
        "currency_symbol": "$",
        "template_type": "standard",
    }
    # As on Zoho: drafts and void invoices have no customer link; only emailed ones carry view times.
    if status in ("paid", "sent", "overdue", "partially_paid"):
        record["invoice_url"] = (
            f"https://zohosecurepay.com/invoice/emulated/secure?CInvoiceID={record['invoice_id']}"
        )
    record |= {
        "invoice_source": "Api" if i % 2 else "Web",
        "sales_channel": "direct_sales",
        "transaction_type": "renewal" if i % 5 == 0 else "new",
        "reminders_sent": 1 if status == "overdue" else 0,
        "last_reminder_sent_date": day if status == "overdue" else "",
        "last_payment_date": day if status in ("paid", "partially_paid") else "",
        "template_id": "260815000000017001",
        "documents": "",
        "salesperson_id": "",
        "write_off_amount": 0,
        "exchange_rate": 1,
        "unprocessed_payment_amount": 0,
    }
    if emailed:
        record["mail_first_viewed_time"] = modified
        record["mail_last_viewed_time"] = modified
    return record


def _estimate(i: int, seed: int) -> dict[str, Any]:
    created, modified = _times(i, seed)
    customer_id, customer_name = _customer(i)
    return {
        "estimate_id": record_id("estimates", i),
        "customer_name": customer_name,
        "customer_id": customer_id,
        "status": ("sent", "accepted", "declined")[i % 3],
        "estimate_number": f"QT-{i + 1:06d}",
        "date": created[:10],
        "currency_code": "USD",
        "total": _money(i, seed),
        "created_time": created,
        "last_modified_time": modified,
    }


def _payment(i: int, seed: int) -> dict[str, Any]:
    created, modified = _times(i, seed)
    customer_id, customer_name = _customer(i)
    amount = _money(i, seed)
    return {
        "payment_id": record_id("customerpayments", i),
        "payment_number": str(i + 1),
        "invoice_numbers": f"INV-{i + 1:06d}",
        "date": created[:10],
        "payment_mode": ("cash", "check", "bank transfer")[i % 3],
        "amount": amount,
        "bcy_amount": amount,
        "unused_amount": 0,
        "customer_id": customer_id,
        "customer_name": customer_name,
        "created_time": created,
        "last_modified_time": modified,
    }


def _creditnote(i: int, seed: int) -> dict[str, Any]:
    created, modified = _times(i, seed)
    customer_id, customer_name = _customer(i)
    total = _money(i, seed)
    return {
        "creditnote_id": record_id("creditnotes", i),
        "creditnote_number": f"CN-{i + 1:05d}",
        "status": "open" if i % 2 else "closed",
        "date": created[:10],
        "total": total,
        "balance": total,
        "customer_id": customer_id,
        "customer_name": customer_name,
        "currency_code": "USD",
        "created_time": created,
        "last_modified_time": modified,
    }


def _expense(i: int, seed: int) -> dict[str, Any]:
    created, modified = _times(i, seed)
    total = _money(i, seed)
    return {
        "expense_id": record_id("expenses", i),
        "date": created[:10],
        "account_name": "IT and Internet Expenses",
        "description": "SaaS tool subscription",
        "currency_code": "USD",
        "total": total,
        "total_without_tax": total,
        "is_billable": False,
        "status": "nonbillable",
        "created_time": created,
        "last_modified_time": modified,
    }


def _recurring(i: int, seed: int) -> dict[str, Any]:
    created, modified = _times(i, seed)
    customer_id, customer_name = _customer(i)
    return {
        "recurring_invoice_id": record_id("recurringinvoices", i),
        "recurrence_name": f"Monthly plan {i}",
        "customer_id": customer_id,
        "customer_name": customer_name,
        "status": "active",
        "total": _money(i, seed),
        "recurrence_frequency": "months",
        "created_time": created,
        "last_modified_time": modified,
    }


def _project(i: int, seed: int) -> dict[str, Any]:
    created, modified = _times(i, seed)
    customer_id, customer_name = _customer(i)
    return {
        "project_id": record_id("projects", i),
        "project_name": f"Project {i}",
        "customer_id": customer_id,
        "customer_name": customer_name,
        "status": "active",
        "billing_type": "fixed_cost_for_project",
        "rate": _money(i, seed),
        "created_time": created,
        "last_modified_time": modified,
    }


def _tax(i: int, seed: int) -> dict[str, Any]:
    _, modified = _times(i, seed)
    return {
        "tax_id": record_id("taxes", i),
        "tax_name": f"Tax {i}",
        "tax_percentage": Decimal(f"{i % 20}.5"),
        "tax_type": "tax",
        "is_default_tax": i == 0,
        "last_modified_time": modified,
    }


def _user(i: int, seed: int) -> dict[str, Any]:
    return {
        "user_id": record_id("users", i),
        "name": f"User {i}",
        "email": f"user{i}@example.com",
        "user_role": "admin" if i == 0 else "staff",
        "status": "active",
        "is_current_user": i == 0,
    }


GENERATORS: dict[str, Callable[[int, int], dict[str, Any]]] = {
    "items": _item,
    "contacts": _contact,
    "invoices": _invoice,
    "estimates": _estimate,
    "customerpayments": _payment,
    "creditnotes": _creditnote,
    "expenses": _expense,
    "recurringinvoices": _recurring,
    "projects": _project,
    "taxes": _tax,
    "users": _user,
}


_TIMESTAMPED = ("last_modified_time", "updated_time")
_TIMES = frozenset({"created_time", *_TIMESTAMPED, "mail_first_viewed_time", "mail_last_viewed_time"})


def _in_zone(text: Any, zone: tzinfo) -> Any:
    if not isinstance(text, str) or not text:
        return text
    return zoho_time(datetime.strptime(text, "%Y-%m-%dT%H:%M:%S%z"), zone)


class RecordSet:
    """Every v3 resource's records: ``counts`` generated ones, then any added while serving.

    Records can be modified while served (:meth:`touch`), which stamps them with the current
    time, as an edit in Zoho does.
    """

    def __init__(self, counts: dict[str, int], *, seed: int = 0, zone: tzinfo = ORG_ZONE) -> None:
        self.seed = seed
        self.zone = zone
        """The organization's time zone, in which every timestamp is written."""
        self.counts = {name: int(counts.get(name, 0)) for name in RESOURCES}
        self._added: dict[str, list[dict[str, Any]]] = {name: [] for name in RESOURCES}
        self._lock = threading.RLock()
        self.version = 0
        """Bumped on every change, so that cached page bodies are never stale."""
        self._modified: dict[str, dict[int, str]] = {name: {} for name in RESOURCES}
        self._edited: dict[str, dict[int, dict[str, Any]]] = {name: {} for name in RESOURCES}
        """Fields written by updates, over the generated record."""
        self._values: dict[tuple[str, str], dict[Any, list[int]]] = {}
        """(resource, field) -> value -> indexes: what lookups by a field's value read."""
        self._order: dict[str, tuple[int, list[tuple[float, str, int]]]] = {}

    def size(self, resource: str) -> int:
        return self.counts[resource] + len(self._added[resource])

    def record(self, resource: str, index: int) -> dict[str, Any]:
        generated = self.counts[resource]
        record = (
            GENERATORS[resource](index, self.seed)
            if index < generated
            else self._added[resource][index - generated]
        )
        edited = self._edited[resource].get(index)
        if edited:
            record = {**record, **edited}
        modified = self._modified[resource].get(index)
        if modified is not None:
            record = {key: modified if key in _TIMESTAMPED else value for key, value in record.items()}
        if self.zone is not ORG_ZONE:
            record = {
                key: _in_zone(value, self.zone) if key in _TIMES else value for key, value in record.items()
            }
        return record

    def _modified_seconds(self, resource: str, index: int) -> float:
        text = self._modified[resource].get(index)
        if text is None and index < self.counts[resource]:
            return EPOCH.timestamp() + _modified_offset(index, self.seed)
        if text is None:
            text = self._added[resource][index - self.counts[resource]].get("last_modified_time", "")
        parsed = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S%z") if text else EPOCH
        return parsed.timestamp()

    def by_modified_time(self, resource: str) -> list[tuple[float, str, int]]:
        """``(seconds, id, index)`` of every record in ``last_modified_time`` order (ties by id)."""
        with self._lock:
            cached = self._order.get(resource)
            if cached is not None and cached[0] == self.version:
                return cached[1]
            order = sorted(
                (self._modified_seconds(resource, index), record_id(resource, index), index)
                for index in range(self.size(resource))
            )
            self._order[resource] = (self.version, order)
            return order

    def touch(self, resource: str, index: int, when: datetime | None = None) -> dict[str, Any]:
        """Modify a record: its ``last_modified_time`` becomes ``when`` (default: now, in whole
        seconds, as Zoho stamps an edit; later than every generated record unless the data set
        reaches into the future)."""
        with self._lock:
            if when is None:
                when = datetime.fromtimestamp(int(time.time()), tz=timezone.utc)
            self._modified[resource][index] = zoho_time(when)
            self.version += 1
            return self.record(resource, index)

    def page(
        self, resource: str, page: int, per_page: int, *, newest_first: bool = True
    ) -> tuple[list[dict[str, Any]], bool]:
        """A page in ``created_time`` order: newest first, as Zoho lists when no sort is asked."""
        with self._lock:
            total = self.size(resource)
            start = (page - 1) * per_page
            positions = range(start, min(start + per_page, total))
            indexes = [total - 1 - position for position in positions] if newest_first else positions
            records = [self.record(resource, index) for index in indexes]
        return records, start + per_page < total

    def update(self, resource: str, index: int, fields: dict[str, Any]) -> dict[str, Any]:
        """Write ``fields`` over a record, stamped with the current time as Zoho stamps an edit."""
        with self._lock:
            before = self.record(resource, index)
            self._edited[resource][index] = {**self._edited[resource].get(index, {}), **fields}
            for (name, field), values in self._values.items():
                if name != resource or field not in fields:
                    continue
                holders = values.get(before.get(field), [])
                if index in holders:
                    holders.remove(index)
                values.setdefault(fields[field], []).append(index)
            return self.touch(resource, index)

    def having(self, resource: str, field: str, value: Any) -> list[int]:
        """The indexes of records whose ``field`` equals ``value`` (an index kept up to date)."""
        with self._lock:
            values = self._values.get((resource, field))
            if values is None:
                values = {}
                for index in range(self.size(resource)):
                    values.setdefault(self.record(resource, index).get(field), []).append(index)
                self._values[(resource, field)] = values
            return list(values.get(value, []))

    def get(self, resource: str, wanted: str) -> dict[str, Any] | None:
        index = index_of(resource, wanted)
        if index is not None and index < self.size(resource):
            return self.record(resource, index)
        return None

    def add(self, resource: str, **fields: Any) -> dict[str, Any]:
        """Add a record while the emulator serves, e.g. an item a DAG's sensor waits for."""
        with self._lock:
            index = self.size(resource)
            record = {**GENERATORS[resource](index, self.seed), **fields}
            record[RESOURCES[resource].id_field] = record_id(resource, index)
            self._added[resource].append(record)
            for (name, field), values in self._values.items():
                if name == resource:
                    values.setdefault(record.get(field), []).append(index)
            self.version += 1
            return record
