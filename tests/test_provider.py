"""Airflow sees the provider, its connection type and its connection form."""

from __future__ import annotations

import subprocess
import sys
import warnings
from importlib.metadata import entry_points
from pathlib import Path

from airflow_provider_zoho_invoice import __version__, get_provider_info


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
    (conn_type,) = info["connection-types"]
    assert conn_type["connection-type"] == "zoho_invoice"
    assert conn_type["hook-name"] == "Zoho Invoice"
    hook_module, _, hook_class = conn_type["hook-class-name"].rpartition(".")
    hook = getattr(importlib.import_module(hook_module), hook_class)
    assert (hook.conn_type, hook.default_conn_name, hook.hook_name) == (
        "zoho_invoice",
        "zoho_invoice_default",
        "Zoho Invoice",
    )


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
        response = client.get("/ui/connections/hook_meta")
    assert response.status_code == 200
    (form,) = [entry for entry in response.json() if entry["connection_type"] == "zoho_invoice"]
    assert form["hook_name"] == "Zoho Invoice"
    fields = form["standard_fields"]
    assert fields["host"] == {
        "hidden": False,
        "title": "API base URL",
        "placeholder": "https://invoice.zoho.com",
    }
    assert fields["password"]["title"] == "Auth Token"
    assert fields["login"]["hidden"] and fields["port"]["hidden"] and fields["url_schema"]["hidden"]
    extras = form["extra_fields"]
    assert set(extras) >= {"apikey", "scope", "accounts_url", "timeout", "max_retries", "requests_per_minute"}
    assert extras["apikey"]["schema"]["format"] == "password"
    assert extras["scope"]["value"] == "invoiceapi"
    assert extras["accounts_url"]["value"] == "https://accounts.zoho.com"
    deprecations = [
        w for w in caught if "Deprecat" in type(w.message).__name__ and "zoho" in str(w.message).lower()
    ]
    assert deprecations == []
