"""Upserting rows: find each key, then create, update or leave the record; each key written once.

Given functions that send the requests (the hook's), never the hook itself. A key is looked up
before it is created; when a create's answer is lost (a dropped connection, a timeout, a 5xx),
the key is looked up again before the create is tried once more, so a retry never makes a
second record.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

from airflow_provider_zoho_invoice.exceptions import (
    ZohoInvoiceAPIError,
    ZohoInvoiceAuthError,
    ZohoInvoiceConnectionError,
    ZohoInvoiceQuotaError,
    ZohoInvoiceResponseError,
)
from airflow_provider_zoho_invoice.v3.resources import Resource
from airflow_provider_zoho_invoice.v3.writes import (
    CREATE_ATTEMPTS,
    LOOKUP_FILTERS,
    LOOKUP_ROWS,
    differs,
    repeated_keys,
    result,
)

Lost = (ZohoInvoiceConnectionError, ZohoInvoiceResponseError)
Everyones = (ZohoInvoiceAuthError, ZohoInvoiceQuotaError)
"""Refusals of the connection, not of a row: they end the upsert."""
"""What a write may have been carried out despite: no answer, or one that is not Zoho's refusal."""


class Upsert:
    """One upsert of ``rows`` (already checked) into ``found``, keyed on ``match_on``."""

    def __init__(
        self,
        found: Resource,
        *,
        match_on: str,
        mode: str,
        dry_run: bool,
        create: Callable[[dict[str, Any]], dict[str, Any]],
        update: Callable[[str, dict[str, Any]], dict[str, Any]],
        fetch: Callable[[str], dict[str, Any]],
        having: Callable[[str], list[dict[str, Any]]],
        every: Callable[[], Iterator[dict[str, Any]]],
        log: Any,
    ) -> None:
        self.found = found
        self.match_on = match_on
        self.mode = mode
        self.dry_run = dry_run
        self._create, self._update, self._fetch = create, update, fetch
        self._having, self._every = having, every
        self.log = log

    def existing(self, keys: set[str]) -> dict[str, list[dict[str, Any]]]:
        """The records in Zoho holding each key, by whichever costs fewer requests."""
        found, match_on = self.found, self.match_on
        if len(keys) <= LOOKUP_ROWS and match_on in LOOKUP_FILTERS[found.name]:
            self.log.info(
                "Looking up %d %s by %s: one filtered request each", len(keys), found.name, match_on
            )
            return {key: self.lookup(key) for key in keys}
        self.log.info(
            "Looking up %d %s by %s: listing every %s once (fewer requests than one lookup per key)",
            len(keys),
            found.name,
            match_on,
            found.record_key,
        )
        index: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for record in self._every():
            key = str(record.get(match_on))
            if key in keys:
                index[key].append(record)
        return index

    def lookup(self, key: str) -> list[dict[str, Any]]:
        if self.match_on in LOOKUP_FILTERS[self.found.name]:
            return [r for r in self._having(key) if str(r.get(self.match_on)) == key]
        return [r for r in self._every() if str(r.get(self.match_on)) == key]

    def run(
        self, rows: list[dict[str, Any]], *, before_writing: Callable[[], None]
    ) -> Iterator[dict[str, Any]]:
        """One result per row; ``before_writing()`` runs once the keys are known, before any write."""
        repeated = repeated_keys(rows, self.match_on)
        existing = self.existing({str(row[self.match_on]) for row in rows} - repeated)
        before_writing()
        for position, row in enumerate(rows):
            key = row[self.match_on]
            if str(key) in repeated:
                yield result(
                    position, key, "failed",
                    message=f"{self.match_on} {key!r} is given to more than one row: none of them is written",
                )  # fmt: skip
                continue
            yield self._one(position, row, key, existing.get(str(key), []))

    def _one(
        self, position: int, row: dict[str, Any], key: Any, matches: list[dict[str, Any]]
    ) -> dict[str, Any]:
        found, id_field = self.found, self.found.id_field
        if len(matches) > 1:
            ids = ", ".join(str(m.get(id_field)) for m in matches[:5])
            return result(
                position, key, "failed",
                message=f"{len(matches)} {found.name} in Zoho have {self.match_on} {key!r} ({ids}): "
                "which to update is not clear; make the key unique in Zoho",
            )  # fmt: skip
        if not matches:
            if self.mode == "update":
                return result(
                    position, key, "failed", message=f"no {found.record_key} has {self.match_on} {key!r}"
                )
            if self.dry_run:
                return result(position, key, "would_create")
            return self._create_once(position, row, key)
        record_id = str(matches[0].get(id_field))
        if self.mode == "create":
            return result(position, key, "unchanged", record_id)
        current = matches[0]
        if any(name not in current for name in row):  # listings leave out some fields (line items)
            current = self._fetch(record_id)
        if not differs(row, current):
            return result(position, key, "unchanged", record_id)
        if self.dry_run:
            return result(position, key, "would_update", record_id)
        try:
            self._update(record_id, row)
        except Everyones:
            raise
        except ZohoInvoiceAPIError as exc:
            return result(position, key, "failed", record_id, code=exc.code, message=exc.message)
        return result(position, key, "updated", record_id)

    def _create_once(self, position: int, row: dict[str, Any], key: Any) -> dict[str, Any]:
        lost: Exception | None = None
        for _ in range(CREATE_ATTEMPTS):
            try:
                record = self._create(row)
            except Everyones:
                raise
            except ZohoInvoiceAPIError as exc:
                return result(position, key, "failed", code=exc.code, message=exc.message)
            except Lost as exc:
                lost = exc
                self.log.warning(
                    "The answer to creating the %s with %s %r was lost (%s); looking it up before "
                    "trying again",
                    self.found.record_key,
                    self.match_on,
                    key,
                    exc,
                )
                matches = self.lookup(str(key))
                if matches:
                    return result(position, key, "created", str(matches[0].get(self.found.id_field)))
                continue
            return result(position, key, "created", str(record.get(self.found.id_field)))
        return result(
            position, key, "failed",
            message=f"the answer to creating it was lost {CREATE_ATTEMPTS} times and it was not found: "
            f"{lost}",
        )  # fmt: skip
