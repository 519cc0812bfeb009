"""v3 listings end, and end exactly, whatever the server says about its pages (over real HTTP).

Each fault here made a listing loop until the daily quota was spent, emit duplicates, or stop
short and succeed; now each is a clear ZohoInvoiceResponseError within a few requests, and the
operator leaves no file behind.
"""

from __future__ import annotations

import pytest

from airflow_provider_zoho_invoice.emulator import FaultPlan
from airflow_provider_zoho_invoice.exceptions import ZohoInvoiceResponseError
from airflow_provider_zoho_invoice.hooks.zoho_invoice_oauth import ZohoInvoiceOAuthHook
from airflow_provider_zoho_invoice.operators.zoho_invoice import ZohoInvoiceListRecordsOperator
from tests.reliability.stats import STATS

BROKEN_PAGING = [
    ("page-repeated", "served page 2 of /invoices with records it had served already"),
    ("more-as-text", "has_more_page 'true', not true or false"),
    ("no-page-context", "full page of 50 invoices without page_context.has_more_page"),
    ("empty-but-more", "empty page that says more pages follow"),
    ("not-a-record", "holds int '1' at position 49 of its 'invoices' list"),
]


@pytest.mark.parametrize("concurrency", [1, 4])
@pytest.mark.parametrize(("kind", "message"), BROKEN_PAGING)
def test_a_listing_with_broken_paging_stops_with_a_clear_error(
    make_emulator, use_oauth_emulator, kind, message, concurrency
):
    emulator = make_emulator(records=450, faults=FaultPlan(rates={kind: 1.0}))
    use_oauth_emulator(emulator, organization_id="10234695")
    with pytest.raises(ZohoInvoiceResponseError, match=message):
        list(ZohoInvoiceOAuthHook().list_records("invoices", per_page=50, concurrency=concurrency))
    # Bounded: the first bad page, plus what was already under way when it was read.
    assert emulator.requests["v3:invoices"] <= 2 + concurrency
    STATS["faults_failed_clearly"] += 1


def test_the_operator_leaves_no_file_when_paging_breaks(make_emulator, use_oauth_emulator, tmp_path):
    emulator = make_emulator(records=450, faults=FaultPlan(sequence=["ok", "ok", "page-repeated"]))
    use_oauth_emulator(emulator, organization_id="10234695")
    (tmp_path / "out").mkdir()
    target = tmp_path / "out" / "invoices.jsonl"
    operator = ZohoInvoiceListRecordsOperator(
        task_id="invoices", resource="invoices", per_page=50, concurrency=1, output_path=str(target)
    )
    with pytest.raises(ZohoInvoiceResponseError, match="served page 2 of /invoices"):
        operator.execute({})
    assert not list((tmp_path / "out").iterdir())  # neither the file nor a partial one
    STATS["faults_failed_clearly"] += 1


def test_a_last_page_without_page_context_ends_the_listing(make_emulator, use_oauth_emulator):
    """A short page without page_context is the end (as /users answers were in Zoho's old samples)."""
    emulator = make_emulator(records=30, faults=FaultPlan(rates={"no-page-context": 1.0}))
    use_oauth_emulator(emulator, organization_id="10234695")
    assert len(list(ZohoInvoiceOAuthHook().list_records("users", per_page=50))) == 30
