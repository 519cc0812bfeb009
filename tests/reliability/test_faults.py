"""Listing thousands of items while the emulator misbehaves: exact output, or a clear failure and no file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airflow_provider_zoho_invoice.emulator import Churn, FaultPlan
from airflow_provider_zoho_invoice.exceptions import ZohoInvoiceConnectionError, ZohoInvoiceResponseError
from airflow_provider_zoho_invoice.hooks.zoho_invoice import ZohoInvoiceHook
from airflow_provider_zoho_invoice.operators.zoho_invoice import ZohoInvoiceListItemsOperator
from tests.reliability.stats import STATS

ITEMS = 3000
SURVIVABLE = ("500", "502", "503", "429", "429-bare", "reset", "html", "slow")
UNRECOVERABLE = (
    "truncate",
    "html-200",
    "empty",
    "entity-expansion",
    "external-entity",
    "huge",
    "huge-chunked",
)


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def list_to_file(tmp_path: Path, concurrency: int) -> dict:
    operator = ZohoInvoiceListItemsOperator(
        task_id="list", per_page=200, concurrency=concurrency, output_path=str(tmp_path / "items.jsonl")
    )
    return operator.execute({})


def record_losses(written: list[dict], expected_ids: set[str]) -> None:
    ids = [row["item_id"] for row in written]
    STATS["items_lost"] += len(expected_ids - set(ids))
    STATS["items_duplicated"] += len(ids) - len(set(ids))


@pytest.mark.parametrize("concurrency", [1, 4])
@pytest.mark.parametrize("kind", SURVIVABLE)
def test_listing_survives(make_emulator, use_emulator, tmp_path, kind, concurrency, capfd):
    emulator = make_emulator(
        items=ITEMS,
        seed=41,
        faults=FaultPlan(rates={kind: 0.3}, seed=concurrency, retry_after=0, slow_seconds=2.0),
    )
    # Only the 'slow' fault should meet the read timeout: a tight one for every kind made a busy
    # machine's own delays count as extra retries (14 retry lines for 11 injected 429s, once).
    timeout = 0.8 if kind == "slow" else 10.0
    use_emulator(emulator, max_retries=12, timeout=timeout, backoff=0.001, requests_per_minute=0)
    result = list_to_file(tmp_path, concurrency)
    expected = [item.as_row() for item in emulator.catalogue.items()]
    written = read_jsonl(tmp_path / "items.jsonl")
    record_losses(written, {row["item_id"] for row in expected})
    assert written == expected
    assert result["count"] == ITEMS
    injected = emulator.faults.injected[kind]
    assert injected > 0
    STATS["faults_survived"] += injected
    retries = capfd.readouterr().out.count("retrying in")
    assert retries == injected  # one log line per retry


@pytest.mark.parametrize("kind", UNRECOVERABLE)
def test_unrecoverable_answer_fails_clearly_and_leaves_no_file(make_emulator, use_emulator, tmp_path, kind):
    emulator = make_emulator(items=ITEMS, faults=FaultPlan(sequence=["ok", "ok", kind]))
    use_emulator(emulator, backoff=0.001)
    with pytest.raises(ZohoInvoiceResponseError) as caught:
        list_to_file(tmp_path, concurrency=1)
    message = str(caught.value)
    assert "/api/items/" in message or "Item" in message or "byte limit" in message or "DTD" in message
    assert list(tmp_path.iterdir()) == []
    STATS["faults_failed_clearly"] += 1


def test_5xx_beyond_the_retries_fails_clearly_and_leaves_no_file(make_emulator, use_emulator, tmp_path):
    emulator = make_emulator(items=ITEMS, faults=FaultPlan(sequence=["ok"] + ["502"] * 4))
    use_emulator(emulator, max_retries=3, backoff=0.001)
    with pytest.raises(ZohoInvoiceResponseError, match="HTTP 502 on all 4 attempts"):
        list_to_file(tmp_path, concurrency=1)
    assert list(tmp_path.iterdir()) == []
    STATS["faults_failed_clearly"] += 1


def test_timeouts_beyond_the_retries_fail_clearly(make_emulator, use_emulator, tmp_path):
    emulator = make_emulator(items=10, faults=FaultPlan(sequence=["slow"] * 2, slow_seconds=1.0))
    use_emulator(emulator, max_retries=1, timeout=0.2, backoff=0.001)
    with pytest.raises(ZohoInvoiceConnectionError, match=r"within 0\.2 s on all 2 attempts"):
        list_to_file(tmp_path, concurrency=1)
    assert list(tmp_path.iterdir()) == []
    STATS["faults_failed_clearly"] += 1


def test_retry_after_is_honoured(make_emulator, use_emulator, capfd):
    emulator = make_emulator(items=5, faults=FaultPlan(sequence=["429"], retry_after=1))
    use_emulator(emulator, backoff=0.001)
    assert len(list(ZohoInvoiceHook().list_items())) == 5
    out = capfd.readouterr().out
    assert "attempt 1 of 6 failed (HTTP 429); retrying in 1.00 s" in out
    STATS["faults_survived"] += 1


def test_auth_errors_are_never_retried(make_emulator, use_emulator):
    from airflow_provider_zoho_invoice.exceptions import ZohoInvoiceAuthError

    emulator = make_emulator(items=5)
    use_emulator(emulator, password="bad", backoff=0.001)
    with pytest.raises(ZohoInvoiceAuthError):
        list(ZohoInvoiceHook().list_items())
    assert emulator.requests["items"] == 1


@pytest.mark.parametrize("concurrency", [1, 4])
def test_catalogue_changing_between_pages(make_emulator, use_emulator, capfd, concurrency):
    emulator = make_emulator(
        items=ITEMS,
        seed=5,
        churn=Churn(seed=9, every=4, add=37, remove=23, limit=3),
    )
    use_emulator(emulator, requests_per_minute=0)
    before = {item.item_id for item in emulator.catalogue.items()}
    listed = [item.item_id for item in ZohoInvoiceHook().list_items(per_page=100, concurrency=concurrency)]
    after = {item.item_id for item in emulator.catalogue.items()}
    assert emulator.mutations == 3
    assert len(listed) == len(set(listed)), "an item was emitted twice"
    missing = (before & after) - set(listed)
    record_losses([{"item_id": i} for i in listed], before & after)
    assert not missing, f"{len(missing)} items present throughout the listing were not emitted"
    assert set(listed) <= before | after
    assert after - before <= set(listed), "items added during the listing were missed"
    assert "catalogue changed during the listing" in capfd.readouterr().out
    STATS["faults_survived"] += emulator.mutations
