"""The emulator speaks the protocol as Zoho published it."""

from __future__ import annotations

import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import pytest
import requests

from airflow_provider_zoho_invoice.emulator import Catalogue, EmulatedItem, generate_item
from airflow_provider_zoho_invoice.exceptions import ZohoInvoiceAuthError
from airflow_provider_zoho_invoice.legacy.answers import parse_root
from tests.conftest import APIKEY, AUTHTOKEN, SEED_FILE

needs_seed = pytest.mark.skipif(
    not SEED_FILE.exists(), reason="the API description is not beside the repository"
)


def seed_block(status: str) -> str:
    text = SEED_FILE.read_text(encoding="utf-8", errors="replace")
    match = re.search(rf'<Response status="{status}">.*?</Response>', text, re.S)
    assert match, f"no status={status} sample in the seed"
    return match.group(0)


@needs_seed
def test_item_listing_is_byte_compatible_with_the_published_sample(make_emulator):
    sample = seed_block("1")
    items = [
        EmulatedItem(
            item_id=el.findtext("ItemID") or "",
            name=el.findtext("Name") or "",
            description=el.findtext("Description"),
            rate=el.findtext("Rate") or "",
            tax1_name=el.findtext("Tax1Name"),
            tax1_percentage=el.findtext("Tax1Percentage"),
            tax2_name=el.findtext("Tax2Name"),
            tax2_percentage=el.findtext("Tax2Percentage"),
        )
        for el in ET.fromstring(sample).iter("Item")
    ]
    emulator = make_emulator(catalogue=Catalogue(items=items))
    response = requests.get(
        f"{emulator.url}/api/items/",
        params={"authtoken": AUTHTOKEN, "apikey": APIKEY, "scope": "invoiceapi"},
        timeout=10,
    )
    assert response.status_code == 200
    assert response.content == sample.encode()


@needs_seed
def test_the_published_error_sample_is_read_despite_its_unclosed_tags():
    sample = seed_block("0").encode()
    with pytest.raises(ZohoInvoiceAuthError) as caught:
        parse_root(sample, path="/api/items/", status_code=200)
    assert (caught.value.code, caught.value.message) == (14, "Invalid Ticket Passed")


def test_catalogue_is_deterministic_and_lazy():
    assert generate_item(12345, seed=3) == generate_item(12345, seed=3)
    assert generate_item(1, seed=3) != generate_item(1, seed=4)
    big = Catalogue(5_000_000, seed=1)
    page, total, _ = big.page(25_000, 200)
    assert total == 5_000_000 and len(page) == 200
    assert page[0] == generate_item(24_999 * 200, seed=1)


def test_catalogue_changes():
    catalogue = Catalogue(10, seed=1)
    first = catalogue.items()[0]
    assert catalogue.remove(first.item_id)
    assert catalogue.get(first.item_id) is None
    added = catalogue.add()
    assert catalogue.items()[-1] == added and len(catalogue) == 10


def test_get_and_post_are_both_accepted(emulator):
    form = {"authtoken": AUTHTOKEN, "apikey": APIKEY, "scope": "invoiceapi", "per_page": "2"}
    by_get = requests.get(f"{emulator.url}/api/items/", params=form, timeout=10)
    by_post = requests.post(f"{emulator.url}/api/items/", data=form, timeout=10)
    assert by_get.content == by_post.content
    assert b'Per_Page="2" Total="450" Total_Pages="225"' in by_get.content


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"authtoken": "nope"}, b"<Code>14</Code>"),
        ({"apikey": "nope"}, b"<Code>15</Code>"),
        ({"scope": "crmapi"}, b"<Code>16</Code>"),
        ({"per_page": "0"}, b"<Code>2</Code>"),
        ({"page": "x"}, b"<Code>2</Code>"),
    ],
)
def test_request_errors(emulator, change, code):
    form = {"authtoken": AUTHTOKEN, "apikey": APIKEY, "scope": "invoiceapi", **change}
    response = requests.post(f"{emulator.url}/api/items/", data=form, timeout=10)
    assert response.content.startswith(b'<Response status="0">')
    assert code in response.content


def test_pending_api_key_activates_later(make_emulator):
    emulator = make_emulator(items=1, pending_apikeys={"fresh-key": 0.3})
    form = {"authtoken": AUTHTOKEN, "apikey": "fresh-key", "scope": "invoiceapi"}
    assert b"<Code>15</Code>" in requests.post(f"{emulator.url}/api/items/", data=form, timeout=10).content
    time.sleep(0.35)
    assert b'status="1"' in requests.post(f"{emulator.url}/api/items/", data=form, timeout=10).content


def test_command_line():
    from airflow_provider_zoho_invoice.emulator.process import emulator_process

    with emulator_process("--items", "7", "--authtoken", "cli-token", "--apikey", "cli-key") as (
        url,
        process,
    ):
        form = {"authtoken": "cli-token", "apikey": "cli-key", "scope": "invoiceapi"}
        assert b'Total="7"' in requests.post(f"{url}/api/items/", data=form, timeout=10).content
    assert process.returncode == 0
    assert process.stdout is not None
    printed = process.stdout.read()
    assert f"Zoho Invoice emulator on {url}: 500 v3 records per resource, 7 legacy items." in printed
    assert "authtoken cli-token, API key cli-key" in printed


def test_command_line_prints_a_working_oauth_connection(monkeypatch, tmp_path):
    from airflow_provider_zoho_invoice.emulator.process import emulator_process
    from airflow_provider_zoho_invoice.hooks.zoho_invoice_oauth import ZohoInvoiceOAuthHook

    with emulator_process("--records", "3") as (_, process):
        assert process.stdout is not None
        line = next(line for line in process.stdout if "AIRFLOW_CONN_ZOHO_INVOICE_DEFAULT=" in line)
        monkeypatch.setenv("AIRFLOW_CONN_ZOHO_INVOICE_DEFAULT", line.split("=", 1)[1].strip().strip("'"))
        monkeypatch.setenv("AIRFLOW__ZOHO_INVOICE__TOKEN_CACHE_DIR", str(tmp_path))
        assert len(list(ZohoInvoiceOAuthHook().list_records("invoices"))) == 3


def test_command_line_refuses_unknown_fault():
    result = subprocess.run(
        [sys.executable, "-m", "airflow_provider_zoho_invoice.emulator", "--fault", "meteor=0.5"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2 and "unknown fault kind" in result.stderr


def test_connection_json_points_the_hook_at_the_emulator(emulator, monkeypatch):
    from airflow_provider_zoho_invoice.hooks.zoho_invoice import ZohoInvoiceHook

    monkeypatch.setenv("AIRFLOW_CONN_ZOHO_INVOICE_DEFAULT", emulator.connection_json(max_retries=0))
    hook = ZohoInvoiceHook()
    assert hook.validate_token()
    assert (hook.config.base_url, hook.config.accounts_url, hook.config.transport.max_retries) == (
        emulator.url,
        emulator.url,
        0,
    )
