"""Zoho's limit on an organization's requests in process (code 1070 beyond), kept by the provider
across the threads of a task and the tasks of a machine; the emulator enforces it as Zoho does."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from airflow_provider_zoho_invoice.emulator import FaultPlan
from airflow_provider_zoho_invoice.hooks.zoho_invoice_oauth import ZohoInvoiceOAuthHook

ORGANIZATION = "10234695"


def test_page_workers_stay_within_the_organizations_limit(make_emulator, use_oauth_emulator):
    emulator = make_emulator(records=1000, faults=FaultPlan(latency=0.05))  # Zoho's Free plan: 5
    use_oauth_emulator(emulator, organization_id=ORGANIZATION)
    records = list(ZohoInvoiceOAuthHook().list_records("invoices", per_page=50, concurrency=8))
    assert len({record["invoice_id"] for record in records}) == 1000
    assert emulator.refused_in_flight == 0
    assert emulator.most_in_flight == 5  # the limit is used, and not exceeded


def test_the_limit_is_a_connection_extra(make_emulator, use_oauth_emulator):
    emulator = make_emulator(records=600, faults=FaultPlan(latency=0.05), max_in_flight=10)  # a paid plan
    use_oauth_emulator(emulator, organization_id=ORGANIZATION, max_in_flight=2)
    assert len(list(ZohoInvoiceOAuthHook().list_records("invoices", per_page=50, concurrency=8))) == 600
    assert emulator.most_in_flight == 2


def test_tasks_on_one_machine_share_the_limit(make_emulator, use_oauth_emulator, tmp_path):
    """Three task processes listing at once, four page workers each: five slots between them."""
    emulator = make_emulator(records=400, faults=FaultPlan(latency=0.05))
    use_oauth_emulator(emulator, organization_id=ORGANIZATION)
    script = textwrap.dedent(
        """
        from airflow_provider_zoho_invoice.hooks.zoho_invoice_oauth import ZohoInvoiceOAuthHook
        print(len(list(ZohoInvoiceOAuthHook().list_records("invoices", per_page=20, concurrency=4))))
        """
    )
    processes = [
        subprocess.Popen([sys.executable, "-c", script], env=dict(os.environ), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]  # fmt: skip
    outputs = [process.communicate(timeout=120) for process in processes]
    assert [out.strip().splitlines()[-1] for out, _ in outputs] == ["400"] * 3, outputs[0][1][-2000:]
    assert emulator.refused_in_flight == 0
    assert 2 <= emulator.most_in_flight <= 5


def test_a_1070_from_elsewhere_is_retried_briefly_and_logged_once(make_emulator, use_oauth_emulator, capfd):
    """Another client of the organization holds slots: the emulator allows two, the connection five."""
    emulator = make_emulator(records=800, faults=FaultPlan(latency=0.05), max_in_flight=2)
    use_oauth_emulator(emulator, organization_id=ORGANIZATION, max_retries=20)
    records = list(ZohoInvoiceOAuthHook().list_records("invoices", per_page=50, concurrency=5))
    assert len({record["invoice_id"] for record in records}) == 800
    assert emulator.refused_in_flight > 1
    logged = capfd.readouterr().out
    assert logged.count("too many requests of the organization in process") == 1
