"""The connection forms in a real browser: Airflow's API server and UI, driven in headless Chromium.

Needs Debian's ``chromium`` and the ``playwright`` package (its Python client drives the system
browser; nothing downloads one). ``make test`` installs both; a run without them fails, never skips.
Screenshots of each form
go to ``test-artifacts/`` (or ``$ZOHO_INVOICE_TEST_ARTIFACTS``).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import ROOT

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def _airflow_before(major: int, minor: int) -> bool:
    from importlib.metadata import version

    return tuple(int(part) for part in version("apache-airflow").split(".")[:2]) < (major, minor)


# Airflow 3.1's UI lays out its connection pages differently; its form content is checked through
# /ui/connections/hook_meta in test_provider.py on every version.
pytestmark = pytest.mark.skipif(_airflow_before(3, 2), reason="the browser flow follows Airflow 3.2+'s UI")
ARTIFACTS = Path(os.environ.get("ZOHO_INVOICE_TEST_ARTIFACTS", ROOT / "test-artifacts"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _require_browser() -> None:
    missing = []
    if not os.path.exists(CHROMIUM):
        missing.append("Debian's chromium")
    try:
        import playwright  # noqa: F401
    except ImportError:
        missing.append("the playwright package")
    if missing:
        pytest.fail(f"browser tests need {' and '.join(missing)}: run make test, which installs them")


@pytest.fixture(scope="module")
def api_server(airflow_db: Path) -> Iterator[str]:
    """``airflow api-server`` on a free loopback port, with the session's migrated metadata database."""
    _require_browser()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "AIRFLOW__CORE__TEST_CONNECTION": "Enabled"}
    log = open(airflow_db / "api-server.log", "w")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("airflow")),
            "api-server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if requests.get(f"{url}/api/v2/version", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"airflow api-server did not start: {(airflow_db / 'api-server.log').read_text()[-3000:]}"
                )
            time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


@pytest.fixture(scope="module")
def api_token(api_server: str) -> str:
    token: str = requests.get(f"{api_server}/auth/token", timeout=10).json()["access_token"]
    return token


@pytest.fixture(scope="module")
def browser(api_server: str) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def open_add_form(browser, api_server: str, conn_id: str, type_name: str):
    page = browser.new_page(viewport={"width": 1400, "height": 1800})
    page.goto(f"{api_server}/connections", wait_until="networkidle")
    page.get_by_role("button", name="Add Connection").click()
    page.locator("input[name=connection_id]").fill(conn_id)
    combo = page.get_by_role("combobox")
    combo.click()
    combo.fill(type_name)
    page.get_by_role("option", name=type_name, exact=True).click()
    page.get_by_text("TLS verification").wait_for(state="attached")
    return page


def show_extra_fields(page) -> None:
    """The form is an accordion: opening the extra fields closes the standard ones."""
    page.get_by_role("button", name="Extra Fields", exact=True).click()
    page.get_by_text("TLS verification").wait_for()


def labels(page) -> set[str]:
    return {" ".join(label.inner_text().split()).rstrip(" *") for label in page.locator("label").all()}


def input_type(page, name: str) -> str | None:
    value: str | None = page.locator(f"input[name={name}]").get_attribute("type")
    return value


def saved_connection(api_server: str, api_token: str, conn_id: str) -> dict:
    response = requests.get(
        f"{api_server}/api/v2/connections/{conn_id}",
        headers={"Authorization": f"Bearer {api_token}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()


def save(page, path: Path) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    page.get_by_role("button", name="Save").click()
    page.get_by_role("dialog").wait_for(state="hidden")


def test_oauth_form(browser, api_server, api_token):
    page = open_add_form(browser, api_server, "zoho_ui_oauth", "Zoho Invoice (OAuth 2.0)")
    shown = labels(page)
    assert {"Client ID", "Client Secret", "Refresh Token (required)", "Organization ID", "Data centre",
            "Token cache", "TLS verification", "Connect timeout (seconds)", "Retry backoff (seconds)"} <= shown  # fmt: skip
    assert not {"Host", "Port", "Schema", "Login", "Password"} & shown
    assert input_type(page, "password") == "password"
    assert input_type(page, "element_refresh_token") == "password"
    # Defaults live in code: every extra field starts empty, so nothing is stored unless typed.
    for name in ("element_data_center", "element_token_cache", "element_timeout", "element_max_retries"):
        assert page.locator(f"input[name={name}]").input_value() == ""
    page.locator("input[name=login]").fill("1000.UICLIENT")
    page.locator("input[name=password]").fill("ui-client-secret")
    show_extra_fields(page)
    page.locator("input[name=element_refresh_token]").fill("1000.ui-refresh")
    page.locator("input[name=element_data_center]").fill("eu")
    page.locator("input[name=element_organization_id]").fill("10234695")
    save(page, ARTIFACTS / "connection-form-zoho_invoice_oauth.png")
    stored = saved_connection(api_server, api_token, "zoho_ui_oauth")
    assert (stored["conn_type"], stored["login"]) == ("zoho_invoice_oauth", "1000.UICLIENT")
    extra = json.loads(stored["extra"])
    assert {key: value for key, value in extra.items() if value is not None} == {
        "refresh_token": "***",  # the API masks secrets when it reads them back
        "data_center": "eu",
        "organization_id": "10234695",
    }
    assert set(extra) >= {"token_cache", "timeout", "verify"}  # saved empty: the code's defaults apply
    assert stored["password"] == "***"


def test_legacy_form(browser, api_server, api_token):
    page = open_add_form(browser, api_server, "zoho_ui_legacy", "Zoho Invoice")
    shown = labels(page)
    assert {"API base URL", "Port", "Auth Token", "API Key (required)", "Scope", "Accounts URL",
            "TLS verification", "Connect timeout (seconds)", "Retry backoff (seconds)"} <= shown  # fmt: skip
    assert not {"Login", "Schema"} & shown
    assert input_type(page, "password") == "password"
    assert input_type(page, "element_apikey") == "password"
    assert page.locator("input[name=element_scope]").input_value() == ""
    page.locator("input[name=host]").fill("https://invoice.zoho.com")
    page.locator("input[name=password]").fill("ui-authtoken")
    show_extra_fields(page)
    page.locator("input[name=element_apikey]").fill("ui-apikey")
    save(page, ARTIFACTS / "connection-form-zoho_invoice.png")
    stored = saved_connection(api_server, api_token, "zoho_ui_legacy")
    assert (stored["conn_type"], stored["host"]) == ("zoho_invoice", "https://invoice.zoho.com")
    extra = json.loads(stored["extra"])
    assert {key: value for key, value in extra.items() if value is not None} == {"apikey": "***"}
    assert "scope" in extra  # saved empty, not as 'invoiceapi': the code's default applies


def test_connection_test_endpoint(api_server, api_token, make_emulator):
    """What the UI's Test button calls (Airflow 3.3's button itself sends port 0: Airflow's bug)."""
    emulator = make_emulator(items=2, records=2)
    headers = {"Authorization": f"Bearer {api_token}"}
    oauth = json.loads(emulator.oauth_connection_json())
    body = {"connection_id": "ui_test", "conn_type": oauth["conn_type"], "login": oauth["login"],
            "password": oauth["password"], "extra": json.dumps(oauth["extra"])}  # fmt: skip
    answer = requests.post(
        f"{api_server}/api/v2/connections/test", json=body, headers=headers, timeout=60
    ).json()
    assert answer["status"] is True and "organization 10234695" in answer["message"]
    body["password"] = "wrong-secret-value"
    answer = requests.post(
        f"{api_server}/api/v2/connections/test", json=body, headers=headers, timeout=60
    ).json()
    assert answer["status"] is False and "invalid_client_secret" in answer["message"]
    assert "wrong-secret-value" not in answer["message"] and "ui_test" not in answer["message"]
