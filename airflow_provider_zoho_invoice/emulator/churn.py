"""Data that changes while a listing reads it, set the same way for both protocols.

After every ``every`` list pages served of one resource, the emulator changes that resource:
``add`` new records (legacy items and v3 records alike), ``remove`` records (the legacy catalogue:
v3 listings never see deletions mid-read in the emulator), and ``edit`` records (v3: a new
``last_modified_time``, which moves them to the end of that order, as an edit in Zoho does).
Deterministic given ``seed``.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Churn:
    every: int = 0
    """List pages of one resource between changes; 0: the data never changes."""
    add: int = 0
    remove: int = 0
    edit: int = 0
    limit: int = 0
    """Changes at most; 0: no limit."""
    seed: int = 0
    changes: int = field(default=0, init=False)
    """Changes made so far."""

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self._pages: Counter[str] = Counter()
        self._lock = threading.Lock()

    def page_served(self, resource: str) -> bool:
        """Count a list page of ``resource``; True when the resource is to change now."""
        if not self.every:
            return False
        with self._lock:
            self._pages[resource] += 1
            due = self._pages[resource] % self.every == 0 and not (self.limit and self.changes >= self.limit)
            if due:
                self.changes += 1
            return due
