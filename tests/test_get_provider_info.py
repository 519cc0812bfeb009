"""Airflow sees the provider, its connection type and its connection form."""

from __future__ import annotations

import subprocess
import sys
import warnings
from importlib.metadata import entry_points
from pathlib import Path

from airflow_provider_zoho_invoice import __version__
from airflow_provider_zoho_invoice.get_provider_info import get_provider_info


def test_entry_point_points_at_get_provider_info():
    (entry,) = [
        ep
        for ep in entry_points(group="apache_airflow_provider")
        if ep.value.startswith("airflow_provider_zoho")
    ]
    assert entry.load() is get_provider_info


def test_provider_info_names_every_module_and_the_connection_type():
    import importlib

    info = get_provider_info()
    assert info["package-name"] == "airflow-provider-zoho-invoice"
    assert info["versions"] == [__version__]
    for section in ("hooks", "operators", "sensors", "triggers"):
        for module in info[section][0]["python-modules"]:
            importlib.import_module(module)
    by_type = {entry["connection-type"]: entry for entry in info["connection-types"]}
    expected = {
        "zoho_invoice": "Zoho Invoice",
        "zoho_invoice_oauth": "Zoho Invoice (OAuth 2.0)",
    }
    assert set(by_type) == set(expected)
    for conn_type, hook_name in expected.items():
        entry = by_type[conn_type]
        assert entry["hook-name"] == hook_name
        hook_module, _, hook_class = entry["hook-class-name"].rpartition(".")
        hook = getattr(importlib.import_module(hook_module), hook_class)
        assert (hook.conn_type, hook.default_conn_name, hook.hook_name, hook.conn_name_attr) == (
            conn_type,
            "zoho_invoice_default",
            hook_name,
            "zoho_invoice_conn_id",
        )
        # Defaults live in code: a schema default would be saved into every new connection.
        assert all("default" not in field["schema"] for field in entry["conn-fields"].values())


def test_airflow_providers_list_shows_the_package(airflow_db: Path):
    airflow = Path(sys.executable).with_name("airflow")
    result = subprocess.run(
        [str(airflow), "providers", "list", "--output", "plain"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "airflow-provider-zoho-invoice" in result.stdout


def test_connection_form_as_the_ui_reads_it(airflow_db: Path):
    from airflow.api_fastapi.app import create_app
    from fastapi.testclient import TestClient

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        client = TestClient(create_app())
        token = client.get("/auth/token").json()["access_token"]  # Airflow 3.1 requires one
        response = client.get("/ui/connections/hook_meta", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    forms = {entry["connection_type"]: entry for entry in response.json()}
    form = forms["zoho_invoice"]
    assert form["hook_name"] == "Zoho Invoice"
    fields = form["standard_fields"]
    assert fields["host"] == {
        "hidden": False,
        "title": "API base URL",
        "placeholder": "https://invoice.zoho.com",
    }
    assert fields["password"]["title"] == "Auth Token"
    assert fields["login"]["hidden"] and fields["url_schema"]["hidden"]
    assert not (fields["port"] or {}).get("hidden")  # the port is honoured, so it is offered
    extras = form["extra_fields"]
    assert set(extras) >= {
        "apikey",
        "scope",
        "accounts_url",
        "timeout",
        "connect_timeout",
        "backoff",
        "verify",
    }
    assert extras["apikey"]["schema"]["format"] == "password"
    assert "required" in extras["apikey"]["schema"]["title"].lower()
    assert extras["scope"]["value"] is None and "invoiceapi" in extras["scope"]["description"]

    oauth = forms["zoho_invoice_oauth"]
    assert oauth["hook_name"] == "Zoho Invoice (OAuth 2.0)"
    standard = oauth["standard_fields"]
    assert standard["login"]["title"] == "Client ID" and standard["password"]["title"] == "Client Secret"
    assert standard["host"]["hidden"] and standard["port"]["hidden"] and standard["url_schema"]["hidden"]
    oauth_extras = oauth["extra_fields"]
    assert set(oauth_extras) >= {
        "refresh_token", "organization_id", "data_center", "accounts_url", "api_domain", "token_cache",
        "timeout", "connect_timeout", "max_retries", "backoff", "requests_per_minute", "verify",
    }  # fmt: skip
    assert oauth_extras["refresh_token"]["schema"]["format"] == "password"
    assert all(field["value"] is None for field in oauth_extras.values())
    deprecations = [
        w for w in caught if "Deprecat" in type(w.message).__name__ and "zoho" in str(w.message).lower()
    ]
    assert deprecations == []
