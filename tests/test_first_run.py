"""What a new user runs into first: ports, messages, sensor timeouts, quick connection tests."""

from __future__ import annotations

import json
import socket
import time

import pytest

from airflow_provider_zoho_invoice.hooks.zoho_invoice import ZohoInvoiceHook
from airflow_provider_zoho_invoice.hooks.zoho_invoice_oauth import ZohoInvoiceOAuthHook
from airflow_provider_zoho_invoice.sensors.zoho_invoice import ZohoInvoiceItemSensor, ZohoInvoiceTokenSensor
from tests.conftest import APIKEY, AUTHTOKEN, dag_source, task_states


def test_the_uri_form_port_is_honoured(emulator, monkeypatch):
    port = emulator.url.rsplit(":", 1)[1]
    monkeypatch.setenv(
        "AIRFLOW_CONN_ZOHO_INVOICE_DEFAULT", f"zoho-invoice://:{AUTHTOKEN}@127.0.0.1:{port}/?apikey={APIKEY}"
    )
    assert ZohoInvoiceHook().config.base_url == emulator.url
    assert len(list(ZohoInvoiceHook().list_items())) == 450


def test_a_port_field_with_a_host_url(emulator, monkeypatch):
    port = int(emulator.url.rsplit(":", 1)[1])
    connection = {"conn_type": "zoho_invoice", "host": "http://127.0.0.1", "port": port, "password": AUTHTOKEN,
                  "extra": {"apikey": APIKEY}}  # fmt: skip
    monkeypatch.setenv("AIRFLOW_CONN_ZOHO_INVOICE_DEFAULT", json.dumps(connection))
    assert ZohoInvoiceHook().validate_token()


def test_test_connection_names_the_form_label_not_airflows_temporary_id(monkeypatch):
    connection = {"conn_type": "zoho_invoice", "host": "https://invoice.zoho.com", "extra": {"apikey": "k"}}
    monkeypatch.setenv("AIRFLOW_CONN_T5MRHXGH", json.dumps(connection))
    ok, message = ZohoInvoiceHook("t5mRHXGh").test_connection()
    assert not ok and "t5mRHXGh" not in message
    assert message.startswith("This connection has no authtoken: put it in the 'Auth Token' field")
    oauth = {"conn_type": "zoho_invoice_oauth", "password": "s", "extra": {"refresh_token": "r"}}
    monkeypatch.setenv("AIRFLOW_CONN_T5MRHXGH", json.dumps(oauth))
    ok, message = ZohoInvoiceOAuthHook("t5mRHXGh").test_connection()
    assert not ok and "t5mRHXGh" not in message and "'Client ID' field" in message


def test_testing_a_connection_to_a_host_that_is_down_is_quick(monkeypatch):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    connection = {"conn_type": "zoho_invoice", "host": f"http://127.0.0.1:{port}", "password": "a-token",
                  "extra": {"apikey": "k", "max_retries": 5, "backoff": 3}}  # fmt: skip
    monkeypatch.setenv("AIRFLOW_CONN_ZOHO_INVOICE_DEFAULT", json.dumps(connection))
    started = time.monotonic()
    ok, message = ZohoInvoiceHook().test_connection()
    assert not ok and "after 1 attempt: ConnectionError" in message and "Connection refused" in message
    assert time.monotonic() - started < 5  # no retries: the normal ones would wait 3 + 6 + 12 ... seconds


def test_token_sensor_waits_hours_not_a_week():
    assert ZohoInvoiceTokenSensor(task_id="t").timeout == 6 * 60 * 60
    assert ZohoInvoiceTokenSensor(task_id="t", timeout=60).timeout == 60
    assert ZohoInvoiceItemSensor(task_id="i", item_id="1").timeout == 7 * 24 * 60 * 60  # Airflow's own


@pytest.mark.parametrize("mode", ["poke", "deferrable"])
def test_a_timeout_names_the_last_answer(run_dag, make_emulator, use_emulator, capfd, mode):
    emulator = make_emulator(items=1, pending_apikeys={"slow-key": 3600})
    use_emulator(emulator, apikey="slow-key")
    extra = "deferrable=True" if mode == "deferrable" else 'mode="poke"'
    body = f'ZohoInvoiceTokenSensor(task_id="wait", poke_interval=0.3, timeout=1.5, {extra})'
    dag_run = run_dag(dag_source(f"last_answer_{mode}", body), f"last_answer_{mode}")
    assert task_states(dag_run) == {"wait": "failed"}
    out = capfd.readouterr().out
    assert "the last answer was: Zoho Invoice error 15" in out and "Invalid API Key Passed" in out
    assert out.count("does not accept the credentials yet") >= 2  # every poke says what Zoho answered
    assert "slow-key" not in out
