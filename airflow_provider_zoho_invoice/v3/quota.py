"""The organization's daily API quota, as Zoho reports it in ``X-Rate-Limit-*`` headers.

Every answer updates what is known; a listing checks it before it starts and logs it once.
With a shared store, what any task last saw is what every task checks.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from airflow_provider_zoho_invoice.exceptions import ZohoInvoiceQuotaError

if TYPE_CHECKING:
    from airflow_provider_zoho_invoice.v3.redis_store import SharedQuota

LOW_QUOTA_SHARE = 0.10
"""Below this share of the daily quota left, a listing starts with a warning."""

_HEADERS = {name: f"X-Rate-Limit-{name.capitalize()}" for name in ("limit", "remaining", "reset")}


class Quota:
    """The last ``X-Rate-Limit-*`` values seen: ``limit``, ``remaining``, ``reset`` (seconds)."""

    def __init__(
        self, *, log: Any, min_daily_remaining: int | None, shared: SharedQuota | None = None
    ) -> None:
        self.log = log
        self.min_daily_remaining = min_daily_remaining
        self.shared = shared
        self.values: dict[str, int] = {}
        self._lock = threading.Lock()
        self._listing_reported = self._overdrawn_reported = True
        """Whether the listing under way has reported the quota, and its remainder below zero (calls
        outside listings report nothing)."""

    def note(self, headers: Mapping[str, str]) -> None:
        """Remember what an answer said (thread-safe: a listing's page workers all report here)."""
        values = {}
        for name, header in _HEADERS.items():
            raw = headers.get(header)
            if raw is not None and raw.strip().lstrip("-").isdigit():
                values[name] = int(raw)
        if values:
            with self._lock:
                self.values.update(values)
                snapshot = dict(self.values)
                overdrawn = snapshot.get("remaining", 0) < 0
                # Once at the listing's first answer, and once more should the remainder drop below zero.
                report = not self._listing_reported or (overdrawn and not self._overdrawn_reported)
                self._listing_reported = True
                self._overdrawn_reported |= report and overdrawn
            if self.shared is not None:
                self.shared.save(snapshot)
            if report:
                self._report(snapshot)

    def begin_listing(self) -> None:
        """The listing's first answer reports the quota: one line per listing, not one per page."""
        with self._lock:
            self._listing_reported = self._overdrawn_reported = False

    @property
    def reset_seconds(self) -> int | None:
        return self.values.get("reset")

    def check_before_listing(self) -> None:
        """Refuse to start below ``min_daily_remaining``; warn when little is left."""
        known = (self.shared.load() if self.shared is not None else {}) or dict(self.values)
        limit, remaining = known.get("limit"), known.get("remaining")
        if remaining is None:
            return
        minimum = self.min_daily_remaining
        if minimum is not None and remaining < minimum:
            raise ZohoInvoiceQuotaError(
                None,
                f"only {remaining} of today's {limit} API calls are left, below the connection's "
                f"min_daily_remaining ({minimum})",
                remedy="The listing was not started. The quota resets at midnight in the organization's "
                "time zone; lower min_daily_remaining to spend what is left",
            )
        if limit and 0 <= remaining < limit * LOW_QUOTA_SHARE:  # below 0, the first answer says so
            self.log.warning(
                "Zoho Invoice daily API quota is nearly spent before this listing: %d of %d calls left",
                remaining,
                limit,
            )

    def check_room(self, calls: int) -> None:
        """Refuse to start writing ``calls`` rows when they cannot fit in what is left of the day."""
        known = (self.shared.load() if self.shared is not None else {}) or dict(self.values)
        limit, remaining = known.get("limit"), known.get("remaining")
        if remaining is None:
            return
        floor = self.min_daily_remaining or 0
        if remaining - calls < floor:
            raise ZohoInvoiceQuotaError(
                None,
                f"writing {calls} rows needs up to {calls} API calls, and only {remaining} of today's "
                f"{limit} are left"
                + (f", of which {floor} are kept by min_daily_remaining" if floor else ""),
                remedy="Nothing was written. Split the input, wait for the quota to reset at midnight in "
                "the organization's time zone, or lower min_daily_remaining",
            )

    def _report(self, values: dict[str, int]) -> None:
        """How much of the day's quota is left and when it resets; below zero, what that means."""
        limit, remaining = values.get("limit"), values.get("remaining")
        if limit is None or remaining is None:
            return
        if remaining < 0:
            self.log.warning(
                "Zoho Invoice reports %d of today's %d API calls left: the organization is past its "
                "daily quota. Zoho has been seen to keep answering past it (a soft limit); should it "
                "refuse (code 45), calls fail until midnight in the organization's time zone",
                remaining,
                limit,
            )
            return
        reset = values.get("reset", 0)
        when = f"resets in {reset // 3600} h {reset % 3600 // 60} min"
        if limit > 0 and remaining < limit * LOW_QUOTA_SHARE:
            self.log.warning(
                "Zoho Invoice daily API quota is nearly spent: %d of %d calls left (%s)",
                remaining,
                limit,
                when,
            )
        else:
            self.log.info("Zoho Invoice daily API quota: %d of %d calls left (%s)", remaining, limit, when)
