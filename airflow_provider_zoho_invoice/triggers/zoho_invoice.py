"""Triggers that wait for Zoho Invoice in the triggerer instead of holding a worker slot.

Their kwargs are plain JSON and hold no secret: each trigger fetches its
connection itself. Every blocking call runs in a worker thread, never on the
triggerer's event loop.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from airflow_provider_zoho_invoice.compat import BaseTrigger, TriggerEvent
from airflow_provider_zoho_invoice.conditions import credentials_accepted, item_exists, unfixable_by_waiting
from airflow_provider_zoho_invoice.exceptions import ZohoInvoiceError

if TYPE_CHECKING:
    from airflow_provider_zoho_invoice.hooks.base import ZohoInvoiceBaseHook

_MODULE = __name__


class _ZohoInvoicePollTrigger(BaseTrigger):
    """Poll until :meth:`check` finds what it waits for, an unfixable error, or the deadline."""

    def __init__(self, *, zoho_invoice_conn_id: str, poke_interval: float, end_time: float) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # BaseTrigger.__init__ has no annotations
        self.zoho_invoice_conn_id = zoho_invoice_conn_id
        self.poke_interval = float(poke_interval)
        self.end_time = float(end_time)
        self.last_answer: str | None = None

    def _kwargs(self) -> dict[str, Any]:
        return {
            "zoho_invoice_conn_id": self.zoho_invoice_conn_id,
            "poke_interval": self.poke_interval,
            "end_time": self.end_time,
        }

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return f"{_MODULE}.{type(self).__name__}", self._kwargs()

    async def _hook(self) -> ZohoInvoiceBaseHook:
        from airflow_provider_zoho_invoice.compat import aget_connection
        from airflow_provider_zoho_invoice.hooks import hook_for

        connection = await aget_connection(self.zoho_invoice_conn_id)

        def build() -> ZohoInvoiceBaseHook:  # each check one short attempt: the next check is the retry
            return hook_for(self.zoho_invoice_conn_id, connection=connection).one_attempt()

        # Building the hook imports requests and the protocol modules the first time: off the loop.
        return await asyncio.to_thread(build)

    def check(self, hook: ZohoInvoiceBaseHook) -> dict[str, Any] | None:
        """Blocking check, run in a thread; a dict means done and becomes the event's ``result``."""
        raise NotImplementedError

    async def run(self) -> AsyncIterator[TriggerEvent]:
        try:
            hook = await self._hook()
        except Exception as exc:
            yield TriggerEvent({"status": "error", "message": f"{type(exc).__name__}: {exc}"})
            return
        try:
            while True:
                try:
                    result = await asyncio.to_thread(self.check, hook)
                except ZohoInvoiceError as exc:
                    if unfixable_by_waiting(exc):
                        yield TriggerEvent({"status": "error", "message": str(exc)})
                        return
                    # Network trouble, a bad gateway, a token throttle: waiting may fix it.
                    self.log.warning("Zoho Invoice check failed, will try again: %s", exc)
                    self.last_answer = str(exc)
                    result = None
                if result is not None:
                    yield TriggerEvent({"status": "success", "result": result})
                    return
                remaining = self.end_time - time.time()
                if remaining <= 0:
                    yield TriggerEvent(
                        {
                            "status": "timeout",
                            "message": "deadline passed while waiting",
                            "last_answer": self.last_answer,
                        }
                    )
                    return
                await asyncio.sleep(min(self.poke_interval, remaining))
        finally:
            await asyncio.to_thread(hook.close)


class ZohoInvoiceTokenTrigger(_ZohoInvoicePollTrigger):
    """Fire once Zoho accepts the connection's credentials (either connection type)."""

    def check(self, hook: ZohoInvoiceBaseHook) -> dict[str, Any] | None:
        accepted, self.last_answer = credentials_accepted(hook, self.log)
        return {"valid": True} if accepted else None


class ZohoInvoiceItemTrigger(_ZohoInvoicePollTrigger):
    """Fire once an item exists, by ``item_id`` or exact ``name``."""

    def __init__(
        self,
        *,
        zoho_invoice_conn_id: str,
        poke_interval: float,
        end_time: float,
        item_id: str | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(
            zoho_invoice_conn_id=zoho_invoice_conn_id, poke_interval=poke_interval, end_time=end_time
        )
        self.item_id = item_id
        self.name = name

    def _kwargs(self) -> dict[str, Any]:
        return {**super()._kwargs(), "item_id": self.item_id, "name": self.name}

    def check(self, hook: ZohoInvoiceBaseHook) -> dict[str, Any] | None:
        row, self.last_answer = item_exists(hook, self.log, item_id=self.item_id, name=self.name)
        return row
