"""Sensors in poke, reschedule and deferrable mode, and their triggers, against the emulator."""

from __future__ import annotations

import asyncio
import gc
import importlib
import json
import threading
import time

import pytest

from airflow_provider_zoho_invoice.emulator import EmulatedItem
from airflow_provider_zoho_invoice.sensors.zoho_invoice import ZohoInvoiceItemSensor, ZohoInvoiceTokenSensor
from airflow_provider_zoho_invoice.triggers.zoho_invoice import (
    ZohoInvoiceItemTrigger,
    ZohoInvoiceTokenTrigger,
)
from tests.conftest import dag_source, task_states, xcom_value

NEW_ITEM = EmulatedItem(
    "9000000000001", "Seasonal Gift Box", "Added while a sensor waits", "49.90", "PST", "8"
)


def add_later(emulator, delay: float) -> threading.Timer:
    timer = threading.Timer(delay, emulator.catalogue.add, args=(NEW_ITEM,))
    timer.start()
    return timer


@pytest.mark.parametrize("mode", ["poke", "reschedule", "deferrable"])
def test_token_sensor_waits_for_a_new_api_key(run_dag, make_emulator, use_emulator, capfd, mode):
    emulator = make_emulator(items=2, pending_apikeys={"new-key": 1.5})
    use_emulator(emulator, apikey="new-key")
    extra = "deferrable=True" if mode == "deferrable" else f'mode="{mode}"'
    body = f'ZohoInvoiceTokenSensor(task_id="wait", poke_interval=0.5, timeout=60, {extra})'
    dag_run = run_dag(dag_source(f"token_{mode}", body), f"token_{mode}")
    assert task_states(dag_run) == {"wait": "success"}
    assert emulator.requests["items"] >= 2  # rejected at first, accepted later
    if mode == "deferrable":
        assert "Pausing task as DEFERRED" in capfd.readouterr().out


@pytest.mark.parametrize("mode", ["poke", "reschedule", "deferrable"])
def test_item_sensor_by_id_and_by_name(run_dag, connection_kind, mode):
    extra = "deferrable=True" if mode == "deferrable" else f'mode="{mode}"'
    body = f"""
        ZohoInvoiceItemSensor(task_id="by_id", item_id="{connection_kind.next_item_id()}", poke_interval=0.3, timeout=60, {extra})
        ZohoInvoiceItemSensor(task_id="by_name", name="{{{{ params.wanted }}}}", params={{"wanted": "Seasonal Gift Box"}},
                              poke_interval=0.3, timeout=60, {extra})
    """
    added: list[dict] = []
    timer = threading.Timer(1.0, lambda: added.append(connection_kind.add_item()[2]))
    timer.start()
    try:
        dag_run = run_dag(dag_source(f"item_{mode}", body), f"item_{mode}")
    finally:
        timer.cancel()
    assert task_states(dag_run) == {"by_id": "success", "by_name": "success"}
    assert xcom_value(dag_run, "by_id") == added[0] == xcom_value(dag_run, "by_name")
    assert added[0]["rate"] == "49.90"


def test_sensor_fails_at_once_on_what_waiting_cannot_fix(run_dag, make_emulator, use_emulator, capfd):
    emulator = make_emulator(items=3)
    use_emulator(emulator, scope="wrongapi")
    body = 'ZohoInvoiceItemSensor(task_id="wait", item_id="123", poke_interval=5, timeout=600, mode="poke")'
    started = time.monotonic()
    dag_run = run_dag(dag_source("unfixable", body), "unfixable")
    assert task_states(dag_run) == {"wait": "failed"}
    assert emulator.requests["item"] == 1
    assert time.monotonic() - started < 60
    assert "cannot succeed by waiting" in capfd.readouterr().out


def test_sensor_times_out(run_dag, make_emulator, use_emulator):
    emulator = make_emulator(items=3)
    use_emulator(emulator)
    body = 'ZohoInvoiceItemSensor(task_id="wait", name="Never There", poke_interval=0.2, timeout=1, deferrable=True)'
    dag_run = run_dag(dag_source("times_out", body), "times_out")
    assert task_states(dag_run) == {"wait": "failed"}


def test_a_deferrable_sensor_against_a_failing_zoho_ends_at_its_own_timeout(
    run_dag, make_emulator, use_emulator, capfd
):
    """Each poke is one short attempt (no retries with backoff, in the worker or the trigger),
    and the sensor's timeout ends the wait with its own message, naming the last answer."""
    from airflow_provider_zoho_invoice.emulator import FaultPlan

    emulator = make_emulator(items=2, faults=FaultPlan(rates={"503": 1.0}))
    use_emulator(emulator)  # the connection's own retries: 5, with a 1 s backoff doubling each time
    body = 'ZohoInvoiceTokenSensor(task_id="wait", poke_interval=0.5, timeout=3, deferrable=True)'
    dag_run = run_dag(dag_source("token_unreachable", body), "token_unreachable")
    assert task_states(dag_run) == {"wait": "failed"}
    logged = capfd.readouterr().out
    assert "ZohoInvoiceTokenSensor timed out after 3 s; the last answer was: " in logged
    assert "HTTP 503 on all 1 attempt" in logged
    assert "retrying in" not in logged  # a poke never waits to retry: the next poke is the retry
    assert emulator.requests["items"] <= 3 / 0.5 + 2


def test_the_item_sensor_waits_through_the_token_throttle(run_dag, make_emulator, use_oauth_emulator):
    """'Access Denied' from Zoho Accounts heals within minutes: the sensor keeps poking."""
    emulator = make_emulator(records=3, tokens_per_window=0)
    use_oauth_emulator(emulator, token_cache="none")
    item_id = emulator.records.record("items", 1)["item_id"]
    done = threading.Event()

    def lift_the_throttle_after_a_refusal() -> None:
        while not done.wait(0.05):
            if emulator.requests["token"] >= 1:
                emulator.accounts.oauth.tokens_per_window = 10
                return

    lifter = threading.Thread(target=lift_the_throttle_after_a_refusal)
    lifter.start()
    body = f'ZohoInvoiceItemSensor(task_id="wait", item_id="{item_id}", poke_interval=0.5, timeout=60, mode="poke")'
    try:
        dag_run = run_dag(dag_source("throttled", body), "throttled")
    finally:
        done.set()
        lifter.join()
    assert task_states(dag_run) == {"wait": "success"}
    assert emulator.requests["token"] >= 2  # refused at first, issued once the window allowed it


def test_item_sensor_needs_exactly_one_target():
    with pytest.raises(ValueError, match="exactly one of item_id or name"):
        ZohoInvoiceItemSensor(task_id="s")
    with pytest.raises(ValueError, match="exactly one of item_id or name"):
        ZohoInvoiceItemSensor(task_id="s", item_id="1", name="x")


def test_deferrable_default_comes_from_airflow_config(monkeypatch):

    monkeypatch.setenv("AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE", "True")
    assert ZohoInvoiceTokenSensor(task_id="t").deferrable is True
    monkeypatch.setenv("AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE", "False")
    assert ZohoInvoiceTokenSensor(task_id="t").deferrable is False
    assert ZohoInvoiceTokenSensor(task_id="t", deferrable=True).deferrable is True


class TestTriggers:
    TRIGGERS = (
        ZohoInvoiceTokenTrigger(zoho_invoice_conn_id="zoho_invoice_default", poke_interval=1, end_time=2e9),
        ZohoInvoiceItemTrigger(zoho_invoice_conn_id="c", poke_interval=2.5, end_time=2e9, item_id="42"),
        ZohoInvoiceItemTrigger(zoho_invoice_conn_id="c", poke_interval=2.5, end_time=2e9, name="Widget"),
    )

    @pytest.mark.parametrize("trigger", TRIGGERS)
    def test_serialisation_round_trip_is_plain_json(self, trigger):
        classpath, kwargs = trigger.serialize()
        assert json.loads(json.dumps(kwargs)) == kwargs
        module, _, name = classpath.rpartition(".")
        rebuilt = getattr(importlib.import_module(module), name)(**kwargs)
        assert rebuilt.serialize() == (classpath, kwargs)

    def test_kwargs_hold_no_secret(self, zoho_conn):
        _, kwargs = ZohoInvoiceTokenTrigger(
            zoho_invoice_conn_id="zoho_invoice_default", poke_interval=1, end_time=2e9
        ).serialize()
        text = json.dumps(kwargs)
        assert "emulator-authtoken" not in text and "emulator-apikey" not in text

    @staticmethod
    def events(trigger) -> list[dict]:
        async def collect() -> list[dict]:
            return [event.payload async for event in trigger.run()]

        return asyncio.run(collect())

    def test_token_trigger_fires_once(self, zoho_conn):
        trigger = ZohoInvoiceTokenTrigger(
            zoho_invoice_conn_id="zoho_invoice_default", poke_interval=0.1, end_time=time.time() + 30
        )
        assert self.events(trigger) == [{"status": "success", "result": {"valid": True}}]

    def test_item_trigger_waits_then_fires_with_the_item(self, zoho_conn):
        trigger = ZohoInvoiceItemTrigger(
            zoho_invoice_conn_id="zoho_invoice_default",
            poke_interval=0.1,
            end_time=time.time() + 30,
            name=NEW_ITEM.name,
        )
        timer = add_later(zoho_conn, 0.5)
        try:
            assert self.events(trigger) == [{"status": "success", "result": NEW_ITEM.as_row()}]
        finally:
            timer.cancel()
        assert zoho_conn.requests["items"] >= 2

    def test_deadline_gives_one_timeout_event(self, zoho_conn):
        trigger = ZohoInvoiceItemTrigger(
            zoho_invoice_conn_id="zoho_invoice_default",
            poke_interval=0.1,
            end_time=time.time() + 0.3,
            item_id="1",
        )
        (event,) = self.events(trigger)
        assert event["status"] == "timeout"

    def test_unfixable_error_gives_one_error_event(self, emulator, use_emulator):
        use_emulator(emulator, scope="wrongapi")
        trigger = ZohoInvoiceItemTrigger(
            zoho_invoice_conn_id="zoho_invoice_default",
            poke_interval=0.1,
            end_time=time.time() + 30,
            item_id="1",
        )
        (event,) = self.events(trigger)
        assert event["status"] == "error" and "Invalid Scope Passed" in event["message"]

    def test_the_event_loop_keeps_running_while_the_trigger_waits_on_http(self, make_emulator, use_emulator):
        from airflow_provider_zoho_invoice.emulator import FaultPlan

        emulator = make_emulator(items=2, faults=FaultPlan(latency=1.0))
        use_emulator(emulator)
        trigger = ZohoInvoiceTokenTrigger(
            zoho_invoice_conn_id="zoho_invoice_default", poke_interval=0.1, end_time=time.time() + 30
        )

        async def main() -> tuple[list[dict], float]:
            gaps: list[float] = []
            done = asyncio.Event()

            async def heartbeat() -> None:
                last = time.monotonic()
                while not done.is_set():
                    await asyncio.sleep(0.01)
                    now = time.monotonic()
                    gaps.append(now - last)
                    last = now

            beat = asyncio.create_task(heartbeat())
            events = [event.payload async for event in trigger.run()]
            done.set()
            await beat
            return events, max(gaps)

        # A full collection of the suite's heap can pause every thread for half a second on a loaded
        # machine; that is not the trigger blocking the loop, so it is kept out of the measured run.
        gc.collect()
        gc.disable()
        try:
            events, longest_gap = asyncio.run(main())
        finally:
            gc.enable()
        assert events == [{"status": "success", "result": {"valid": True}}]
        # a blocking HTTP call on the loop would stall the heartbeat for the whole second of latency
        assert longest_gap < 0.5


@pytest.mark.parametrize(
    ("event", "error", "text"),
    [
        (
            {"status": "error", "message": "Zoho Invoice error 16: Invalid Scope Passed"},
            "AirflowFailException",
            "Invalid Scope Passed",
        ),
        ({"status": "timeout", "message": "deadline passed"}, "AirflowSensorTimeout", "timed out after 5"),
        (None, "AirflowFailException", "no details"),
    ],
)
def test_resumed_sensor_fails_clearly_on_a_bad_event(event, error, text):
    sensor = ZohoInvoiceItemSensor(task_id="s", item_id="1", timeout=5, deferrable=True)
    with pytest.raises(Exception, match=text) as caught:
        sensor.execute_complete(context={}, event=event)
    assert type(caught.value).__name__ == error


def test_resumed_sensor_returns_the_item():
    sensor = ZohoInvoiceItemSensor(task_id="s", item_id="1", deferrable=True)
    assert (
        sensor.execute_complete(context={}, event={"status": "success", "result": NEW_ITEM.as_row()})
        == NEW_ITEM.as_row()
    )
