"""Sensors that wait for Zoho Invoice: valid credentials, or an item's existence.

Each runs in ``poke``, ``reschedule`` or deferrable mode. A deferrable sensor
pokes once and, if that is not enough, waits in a trigger.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow_provider_zoho_invoice.compat import AirflowFailException, BaseSensorOperator
from airflow_provider_zoho_invoice.conditions import credentials_accepted, item_exists, unfixable_by_waiting
from airflow_provider_zoho_invoice.exceptions import ZohoInvoiceError
from airflow_provider_zoho_invoice.hooks import hook_for

if TYPE_CHECKING:
    from airflow_provider_zoho_invoice.compat import Context
    from airflow_provider_zoho_invoice.hooks.base import ZohoInvoiceBaseHook
    from airflow_provider_zoho_invoice.triggers.zoho_invoice import _ZohoInvoicePollTrigger


DEFAULT_TOKEN_SENSOR_TIMEOUT = 6 * 60 * 60
"""Seconds a token sensor waits by default: Zoho activates new API keys within hours."""


DEFERRAL_GRACE = 120.0
"""Seconds Airflow's deferral timeout allows past the sensor's own: room for the last poke."""


def _default_deferrable() -> bool:
    from airflow_provider_zoho_invoice.compat import conf

    return bool(conf.getboolean("operators", "default_deferrable", fallback=False))


class _ZohoInvoiceSensor(BaseSensorOperator):
    template_fields: Sequence[str] = ("zoho_invoice_conn_id",)
    ui_color = "#f3e8d2"

    def __init__(
        self,
        *,
        zoho_invoice_conn_id: str = "zoho_invoice_default",
        deferrable: bool | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.zoho_invoice_conn_id = zoho_invoice_conn_id
        self.deferrable = _default_deferrable() if deferrable is None else deferrable
        self.last_answer: str | None = None
        """What the last poke saw, named in a timeout's message."""

    @cached_property
    def hook(self) -> ZohoInvoiceBaseHook:
        """Each poke is one short attempt: the next poke is the retry."""
        return hook_for(self.zoho_invoice_conn_id).one_attempt()

    def _check(self) -> Any:
        """Blocking check: a truthy result means done. Raise on what waiting cannot fix."""
        raise NotImplementedError

    def _trigger(self, end_time: float) -> _ZohoInvoicePollTrigger:
        raise NotImplementedError

    def poke(self, context: Context) -> Any:
        try:
            result = self._check()
        except ZohoInvoiceError as exc:
            if unfixable_by_waiting(exc):
                raise AirflowFailException(f"{type(self).__name__} cannot succeed by waiting: {exc}") from exc
            self.log.warning("Zoho Invoice did not answer usefully, will poke again: %s", exc)
            self.last_answer = str(exc)
            return False
        return result

    def execute(self, context: Context) -> Any:
        if not self.deferrable:
            from airflow_provider_zoho_invoice.compat import AirflowSensorTimeout

            try:
                return super().execute(context)
            except AirflowSensorTimeout as exc:
                if self.last_answer is None:
                    raise
                raise AirflowSensorTimeout(f"{exc}; the last answer was: {self.last_answer}") from exc
        result = self.poke(context)
        if result:
            return self._xcom_value(result)
        self.defer(
            trigger=self._trigger(end_time=time.time() + float(self.timeout)),
            method_name="execute_complete",
            # The trigger ends itself at the deadline, naming the last answer; Airflow's own
            # timeout ("Trigger timeout", no detail) only backs it up should the trigger hang.
            timeout=timedelta(seconds=float(self.timeout) + DEFERRAL_GRACE),
        )
        return None

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> Any:
        from airflow_provider_zoho_invoice.compat import AirflowSensorTimeout

        event = event or {}
        status = event.get("status")
        if status == "success":
            self.log.info("%s: condition met", self.task_id)
            return self._xcom_value(event.get("result"))
        if status == "timeout":
            last = event.get("last_answer")
            detail = f"; the last answer was: {last}" if last else ""
            raise AirflowSensorTimeout(
                f"{type(self).__name__} timed out after {float(self.timeout):g} s{detail}"
            )
        raise AirflowFailException(f"{type(self).__name__} failed: {event.get('message', 'no details')}")

    def _xcom_value(self, result: Any) -> Any:
        return None


class ZohoInvoiceTokenSensor(_ZohoInvoiceSensor):
    """Wait until Zoho Invoice accepts the connection's credentials.

    A newly requested legacy API key starts working some time after Zoho issues it;
    put this sensor in front of the first task that needs it. On an OAuth connection,
    answers no wait can heal (an unknown client, a revoked refresh token) fail at once.
    Every poke logs what Zoho answered. The default ``timeout`` is
    :data:`DEFAULT_TOKEN_SENSOR_TIMEOUT` (6 hours), not Airflow's week: credentials still
    refused after that need a person.
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("timeout", DEFAULT_TOKEN_SENSOR_TIMEOUT)
        super().__init__(**kwargs)

    def _check(self) -> bool:
        accepted, self.last_answer = credentials_accepted(self.hook, self.log)
        return accepted

    def _trigger(self, end_time: float) -> _ZohoInvoicePollTrigger:
        from airflow_provider_zoho_invoice.triggers.zoho_invoice import ZohoInvoiceTokenTrigger

        return ZohoInvoiceTokenTrigger(
            zoho_invoice_conn_id=self.zoho_invoice_conn_id,
            poke_interval=float(self.poke_interval),
            end_time=end_time,
        )


class ZohoInvoiceItemSensor(_ZohoInvoiceSensor):
    """Wait until an item exists, given its ``item_id`` or its exact ``name`` (both templated).

    Succeeds with the item's dict as its XCom value (``ZohoInvoiceItem.to_dict()`` on a legacy
    connection, Zoho's item object with amounts as decimal text on an OAuth one).
    """

    template_fields: Sequence[str] = ("zoho_invoice_conn_id", "item_id", "name")

    def __init__(self, *, item_id: str | None = None, name: str | None = None, **kwargs: Any) -> None:
        if bool(item_id) == bool(name):
            raise ValueError("ZohoInvoiceItemSensor needs exactly one of item_id or name")
        super().__init__(**kwargs)
        self.item_id = item_id
        self.name = name

    def poke(self, context: Context) -> Any:
        from airflow_provider_zoho_invoice.compat import PokeReturnValue

        result = super().poke(context)
        if not result or self.deferrable:
            return result
        return PokeReturnValue(is_done=True, xcom_value=result)

    def _check(self) -> dict[str, Any] | None:
        row, self.last_answer = item_exists(self.hook, self.log, item_id=self.item_id, name=self.name)
        return row

    def _trigger(self, end_time: float) -> _ZohoInvoicePollTrigger:
        from airflow_provider_zoho_invoice.triggers.zoho_invoice import ZohoInvoiceItemTrigger

        return ZohoInvoiceItemTrigger(
            zoho_invoice_conn_id=self.zoho_invoice_conn_id,
            poke_interval=float(self.poke_interval),
            end_time=end_time,
            item_id=self.item_id,
            name=self.name,
        )

    def _xcom_value(self, result: Any) -> Any:
        return result
