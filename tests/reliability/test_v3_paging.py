"""v3 listings end, and end exactly, whatever the server says about its pages (over real HTTP).

Each fault here made a listing loop until the daily quota was spent, emit duplicates, or stop
short and succeed; now each is a clear ZohoInvoiceResponseError within a few requests, and the
operator leaves no file behind.
"""

from __future__ import annotations

import pytest

from airflow_provider_zoho_invoice.emulator import FaultPlan
from airflow_provider_zoho_invoice.exceptions import ZohoInvoiceConnectionError, ZohoInvoiceResponseError
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


def test_requests_past_the_last_page_are_neither_retried_nor_waited_for(make_emulator, use_oauth_emulator):
    """Pages asked for speculatively after the last one: at most ``concurrency`` of them, no retry."""
    emulator = make_emulator(records=450, faults=FaultPlan(rates={"past-end-503": 1.0}))
    use_oauth_emulator(emulator, organization_id="10234695", max_retries=5)
    assert len(list(ZohoInvoiceOAuthHook().list_records("invoices", per_page=50, concurrency=4))) == 450
    assert emulator.requests["v3:invoices"] <= 9 + 4  # nine pages, and what was under way past them

    slow = FaultPlan(rates={"past-end-slow": 1.0}, slow_seconds=5)
    emulator = make_emulator(records=450, faults=slow)
    use_oauth_emulator(emulator, organization_id="10234695")
    assert len(list(ZohoInvoiceOAuthHook().list_records("invoices", per_page=50, concurrency=4))) == 450
    assert slow.finished["past-end-slow"] == 0  # the listing ended without waiting for one of them
    STATS["faults_survived"] += 2


def test_a_body_that_trickles_in_meets_the_request_deadline(make_emulator, use_oauth_emulator):
    faults = FaultPlan(sequence=["ok", "trickle"], trickle_interval=0.05)
    emulator = make_emulator(records=50, faults=faults)
    use_oauth_emulator(emulator, organization_id="10234695", max_retries=0, deadline=1)
    with pytest.raises(
        ZohoInvoiceConnectionError, match=r"still sending its answer to /invoices \(page 1\) after 1 s"
    ):
        list(ZohoInvoiceOAuthHook().list_records("invoices"))
    STATS["faults_failed_clearly"] += 1


@pytest.mark.parametrize(
    ("sequence", "message"),
    [
        (["ok", "deep-record"], r"answer to /invoices \(page 1\) nests JSON arrays or objects too deeply"),
        (["ok", "deep-error"], r"answer to /invoices \(page 1\) nests JSON arrays or objects too deeply"),
        (["deep-error"], r"answer to /oauth/v2/token nests JSON arrays or objects too deeply"),
    ],
)
def test_json_nested_beyond_reason_is_a_response_error(make_emulator, use_oauth_emulator, sequence, message):
    emulator = make_emulator(records=50, faults=FaultPlan(sequence=sequence))
    use_oauth_emulator(emulator, organization_id="10234695", max_retries=0)
    with pytest.raises(ZohoInvoiceResponseError, match=message):
        list(ZohoInvoiceOAuthHook().list_records("invoices"))
    STATS["faults_failed_clearly"] += 1
