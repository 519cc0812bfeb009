"""Every bad input gives a clear error that names the problem and holds no secret."""

from __future__ import annotations

import json

import pytest

from airflow_provider_zoho_invoice.emulator import FaultPlan
from airflow_provider_zoho_invoice.exceptions import ZohoInvoiceConfigError, ZohoInvoiceResponseError
from airflow_provider_zoho_invoice.hooks.zoho_invoice import ZohoInvoiceHook
from airflow_provider_zoho_invoice.operators.zoho_invoice import ZohoInvoiceListItemsOperator
from tests.reliability.stats import STATS

SECRET = "S3CRET-value-that-must-not-show"

BAD_CONNECTIONS = [
    # (raw AIRFLOW_CONN value or dict, text the error must contain)
    ({"extra": "{not json"}, "not valid JSON"),
    ({"extra": "[1, 2]"}, "must be a JSON object"),
    ({"extra": {"apikey": "k", "timeout": "abc"}}, "'timeout' must be a number"),
    ({"extra": {"apikey": "k", "timeout": 0}}, "'timeout' must be greater than 0"),
    ({"extra": {"apikey": "k", "timeout": True}}, "'timeout' must be a number"),
    ({"extra": {"apikey": "k", "connect_timeout": "x"}}, "'connect_timeout'"),
    ({"extra": {"apikey": "k", "max_retries": -1}}, "'max_retries' must be at least 0"),
    ({"extra": {"apikey": "k", "max_retries": "two"}}, "'max_retries' must be a whole number"),
    ({"extra": {"apikey": "k", "requests_per_minute": 1.5}}, "'requests_per_minute' must be a whole number"),
    ({"extra": {"apikey": "k", "backoff": -2}}, "'backoff' must be at least 0"),
    ({"extra": {"apikey": "k", "verify": 7}}, "'verify' must be true, false or a path"),
    ({"extra": {"apikey": "k", "verify": "/no/such/ca-bundle.pem"}}, "CA bundle that does not exist"),
    ({"extra": {"apikey": ["k"]}}, "'apikey' must be a string"),
    ({"extra": {"apikey": "k", "scope": 5}}, "'scope' must be a string"),
    ({"host": "ftp://invoice.zoho.com"}, "must start with https://"),
    ({"host": "https://"}, "has no host name"),
    ({"host": "https://invoice zoho.com"}, "without spaces"),
    ({"host": "https://invoice.zoho.com:70000"}, "port that is not a number from 1 to 65535"),
    ({"host": "http://invoice.zoho.com"}, "plain http:// to a remote host"),
    ({"host": "http://10.1.2.3"}, "plain http:// to a remote host"),
    ({"host": f"https://user:{SECRET}@invoice.zoho.com"}, "must not carry credentials"),
    ({"host": f"https://invoice.zoho.com/?authtoken={SECRET}"}, "query string"),
    (
        {"extra": {"apikey": "k", "accounts_url": "gopher://accounts"}},
        "'accounts_url' must start with https://",
    ),
]


@pytest.mark.parametrize(("conn", "expected"), BAD_CONNECTIONS)
def test_bad_connection(monkeypatch, conn, expected):
    full = {"conn_type": "zoho_invoice", "password": SECRET, "extra": {"apikey": SECRET}, **conn}
    monkeypatch.setenv("AIRFLOW_CONN_BAD_INPUT", json.dumps(full))
    with pytest.raises(ZohoInvoiceConfigError) as caught:
        ZohoInvoiceHook("bad_input").get_page(1)
    assert expected in str(caught.value)
    assert "'bad_input'" in str(caught.value)
    assert SECRET not in str(caught.value)
    STATS["bad_inputs"] += 1


@pytest.mark.parametrize(
    ("conn", "expected"),
    [
        ({"extra": {"apikey": "k"}}, "no authtoken"),
        ({"password": "t"}, "no API key"),
        ({"password": "t", "extra": {"apikey": ""}}, "no API key"),
    ],
)
def test_missing_credentials(monkeypatch, conn, expected):
    monkeypatch.setenv("AIRFLOW_CONN_BAD_INPUT", json.dumps({"conn_type": "zoho_invoice", **conn}))
    with pytest.raises(ZohoInvoiceConfigError, match=expected):
        ZohoInvoiceHook("bad_input").validate_token()
    STATS["bad_inputs"] += 1


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"per_page": 0}, "per_page"),
        ({"per_page": 201}, "per_page"),
        ({"per_page": "lots"}, "per_page"),
        ({"per_page": True}, "per_page"),
        ({"max_items": -1}, "max_items"),
        ({"max_items": 2.5}, "max_items"),
        ({"output_format": "parquet"}, "output_format"),
        ({"concurrency": 0}, "concurrency"),
        ({"concurrency": 17}, "concurrency"),
        ({"emit_asset": True, "output_path": "/x/{{ ds }}"}, "static output_path"),
    ],
)
def test_bad_operator_arguments(kwargs, expected):
    with pytest.raises(ValueError, match=expected):
        ZohoInvoiceListItemsOperator(task_id="t", **kwargs)
    STATS["bad_inputs"] += 1


def test_templated_argument_that_renders_out_of_range(zoho_conn):
    operator = ZohoInvoiceListItemsOperator(task_id="t", per_page="{{ params.n }}")
    operator.per_page = "0"  # what rendering "{{ params.n }}" with n=0 produces
    with pytest.raises(ValueError, match="per_page must be a whole number from 1 to 200"):
        operator.execute({})
    assert sum(zoho_conn.requests.values()) == 0
    STATS["bad_inputs"] += 1


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("entity-expansion", "declares a DTD"),
        ("external-entity", "declares a DTD"),
        ("huge", "over the 16777216 byte limit"),
        ("huge-chunked", "exceeds the 16777216 byte limit"),
        ("html-200", "an HTML page instead of XML"),
        ("empty", "not well-formed XML"),
        ("truncate", "not well-formed XML"),
    ],
)
def test_hostile_or_broken_bodies(make_emulator, use_emulator, kind, expected):
    emulator = make_emulator(items=5, faults=FaultPlan(sequence=[kind]))
    use_emulator(emulator)
    with pytest.raises(ZohoInvoiceResponseError) as caught:
        ZohoInvoiceHook().get_page(1)
    assert expected in str(caught.value)
    assert caught.value.__cause__ is None  # no raw parser exception surfaces
    STATS["bad_inputs"] += 1


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (lambda hook: hook.get_item(""), "item_id"),
        (lambda hook: hook.get_item("1/2"), "item_id"),
        (lambda hook: hook.get_page(0), "page must be"),
        (lambda hook: hook.call("items"), "path must be"),
        (lambda hook: hook.call("/api/items/", method="DELETE"), "not supported"),
        (lambda hook: hook.generate_authtoken("someone@example.com", ""), "email_id and password"),
    ],
)
def test_bad_hook_arguments(zoho_conn, call, expected):
    with pytest.raises(ValueError, match=expected):
        call(ZohoInvoiceHook())
    assert sum(zoho_conn.requests.values()) == 0
    STATS["bad_inputs"] += 1
