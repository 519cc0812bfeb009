"""The emulator's item catalogue: deterministic, lazily generated, safe to change while served."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from airflow_provider_zoho_invoice.legacy.constants import ITEMS_PATH

ID_BASE = 4_000_000_002_000
ID_STEP = 3

_ADJECTIVES = ("Standard", "Premium", "Compact", "Heavy-duty", "Organic", "Refurbished", "Deluxe", "Basic")
_NOUNS = (
    "Widget",
    "Consulting Hour",
    "Nuts & Bolts",
    "Cable <2m>",
    "Support Plan",
    'Shelf "Oak"',
    "Café Voucher",
    "License",
)
_TAXES: tuple[tuple[str | None, str | None], ...] = (
    ("PST", "8"),
    ("GST", "5"),
    ("VAT", "12.5"),
    (None, None),
)


@dataclass(frozen=True, slots=True)
class EmulatedItem:
    """An item as the server stores it: every value is already the text it sends."""

    item_id: str
    name: str
    description: str | None
    rate: str
    tax1_name: str | None = None
    tax1_percentage: str | None = None
    tax2_name: str | None = None
    tax2_percentage: str | None = None

    @property
    def uri(self) -> str:
        return f"{ITEMS_PATH}{self.item_id}"

    def to_xml(self) -> str:
        def element(tag: str, value: str | None) -> str:
            return f"<{tag}/>\n" if value is None or value == "" else f"<{tag}>{escape(value)}</{tag}>\n"

        return (
            f"<Item uri={quoteattr(self.uri)}>\n"
            + element("ItemID", self.item_id)
            + element("Name", self.name)
            + element("Description", self.description)
            + element("Rate", self.rate)
            + element("Tax1Name", self.tax1_name)
            + element("Tax1Percentage", self.tax1_percentage)
            + element("Tax2Name", self.tax2_name)
            + element("Tax2Percentage", self.tax2_percentage)
            + "</Item>\n"
        )

    def as_row(self) -> dict[str, str | None]:
        """The row the provider's operators emit for this item (``ZohoInvoiceItem.to_dict()``)."""
        return {
            "item_id": self.item_id,
            "name": self.name or None,
            "description": self.description or None,
            "rate": self.rate or None,
            "tax1_name": self.tax1_name or None,
            "tax1_percentage": self.tax1_percentage or None,
            "tax2_name": self.tax2_name or None,
            "tax2_percentage": self.tax2_percentage or None,
            "uri": self.uri,
        }


def generate_item(key: int, seed: int) -> EmulatedItem:
    """Item number ``key`` of the catalogue seeded with ``seed``; the same inputs give the same item."""
    rnd = random.Random(seed * 1_000_003 + key)
    tax1_name, tax1_percentage = _TAXES[rnd.randrange(len(_TAXES))]
    with_tax2 = rnd.random() < 0.1
    description = None if rnd.random() < 0.1 else f"Catalogue entry {key} (seed {seed})"
    return EmulatedItem(
        item_id=str(ID_BASE + key * ID_STEP),
        name=f"{_ADJECTIVES[rnd.randrange(len(_ADJECTIVES))]} {_NOUNS[rnd.randrange(len(_NOUNS))]} {key:06d}",
        description=description,
        rate=f"{rnd.randrange(0, 1_000_000) / 100:.2f}",
        tax1_name=tax1_name,
        tax1_percentage=tax1_percentage,
        tax2_name="Eco fee" if with_tax2 else None,
        tax2_percentage="1.25" if with_tax2 else None,
    )


class Catalogue:
    """Active items in creation order. Generated on demand, so a million items cost no memory.

    New items go to the end (Zoho's IDs grow with creation); removals can hit any item.
    """

    def __init__(self, size: int = 0, *, seed: int = 0, items: Iterable[EmulatedItem] = ()) -> None:
        if size < 0:
            raise ValueError("size must be at least 0")
        self.seed = seed
        self._explicit: dict[int, EmulatedItem] = dict(enumerate(items))
        self._key_of_id: dict[str, int] = {item.item_id: key for key, item in self._explicit.items()}
        self._next_key = max(size, len(self._explicit))
        self._removed: set[int] = set()
        self._active_cache: list[int] | None = None
        self._lock = threading.Lock()
        self.version = 0

    def _item(self, key: int) -> EmulatedItem:
        explicit = self._explicit.get(key)
        return explicit if explicit is not None else generate_item(key, self.seed)

    def _active_keys(self) -> Sequence[int]:
        if not self._removed:
            return range(self._next_key)
        if self._active_cache is None:
            self._active_cache = [key for key in range(self._next_key) if key not in self._removed]
        return self._active_cache

    def __len__(self) -> int:
        with self._lock:
            return self._next_key - len(self._removed)

    def page(self, page: int, per_page: int) -> tuple[list[EmulatedItem], int, int]:
        """Items on a 1-based page, the total and the version they were read at."""
        with self._lock:
            keys = self._active_keys()
            start = (page - 1) * per_page
            chosen = keys[start : start + per_page]
            return [self._item(key) for key in chosen], len(keys), self.version

    def items(self) -> list[EmulatedItem]:
        with self._lock:
            return [self._item(key) for key in self._active_keys()]

    def get(self, item_id: str) -> EmulatedItem | None:
        with self._lock:
            key = self._key_of_id.get(item_id)
            if key is None and item_id.isdigit():
                offset = int(item_id) - ID_BASE
                if offset >= 0 and offset % ID_STEP == 0 and offset // ID_STEP not in self._explicit:
                    key = offset // ID_STEP
            if key is None or key >= self._next_key or key in self._removed:
                return None
            return self._item(key)

    def add(self, item: EmulatedItem | None = None) -> EmulatedItem:
        """Append an item (a generated one if none is given)."""
        with self._lock:
            key = self._next_key
            self._next_key += 1
            if item is not None:
                self._explicit[key] = item
                self._key_of_id[item.item_id] = key
            self._changed()
            return self._item(key)

    def remove(self, item_id: str) -> bool:
        item = self.get(item_id)
        if item is None:
            return False
        with self._lock:
            key = self._key_of_id.get(item_id)
            if key is None:
                key = (int(item_id) - ID_BASE) // ID_STEP
            self._removed.add(key)
            self._changed()
            return True

    def remove_random(self, count: int, rnd: random.Random) -> list[str]:
        with self._lock:
            keys = list(self._active_keys())
        victims = rnd.sample(keys, min(count, len(keys)))
        removed = []
        for key in victims:
            item_id = self._item(key).item_id
            if self.remove(item_id):
                removed.append(item_id)
        return removed

    def _changed(self) -> None:
        self._active_cache = None
        self.version += 1
