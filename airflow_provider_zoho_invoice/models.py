"""Typed records of what Zoho Invoice returns."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

ITEM_FIELDS = (
    "item_id",
    "name",
    "description",
    "rate",
    "tax1_name",
    "tax1_percentage",
    "tax2_name",
    "tax2_percentage",
    "uri",
)


@dataclass(frozen=True, slots=True)
class ZohoInvoiceItem:
    """One catalogue item. Money stays ``Decimal`` so that no rate is rounded through ``float``."""

    item_id: str
    name: str | None
    description: str | None
    rate: Decimal | None
    tax1_name: str | None
    tax1_percentage: Decimal | None
    tax2_name: str | None
    tax2_percentage: Decimal | None
    uri: str | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form: every row an operator emits is exactly this (decimals as strings)."""
        return {
            "item_id": self.item_id,
            "name": self.name,
            "description": self.description,
            "rate": None if self.rate is None else str(self.rate),
            "tax1_name": self.tax1_name,
            "tax1_percentage": None if self.tax1_percentage is None else str(self.tax1_percentage),
            "tax2_name": self.tax2_name,
            "tax2_percentage": None if self.tax2_percentage is None else str(self.tax2_percentage),
            "uri": self.uri,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ZohoInvoiceItem:
        """Inverse of :meth:`to_dict`, for tasks that read what an operator wrote."""

        def dec(value: Any) -> Decimal | None:
            return None if value is None else Decimal(value)

        return cls(
            item_id=str(data["item_id"]),
            name=data.get("name"),
            description=data.get("description"),
            rate=dec(data.get("rate")),
            tax1_name=data.get("tax1_name"),
            tax1_percentage=dec(data.get("tax1_percentage")),
            tax2_name=data.get("tax2_name"),
            tax2_percentage=dec(data.get("tax2_percentage")),
            uri=data.get("uri"),
        )


@dataclass(frozen=True, slots=True)
class PageContext:
    """Where a page sits in a listing, as the server reported it."""

    page: int
    per_page: int
    total: int
    total_pages: int
