"""Writes over real HTTP: rows upserted into the emulator exactly once, whatever happens to answers."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import pytest

from airflow_provider_zoho_invoice.emulator import FaultPlan
from airflow_provider_zoho_invoice.exceptions import ZohoInvoiceAuthError, ZohoInvoiceQuotaError
from airflow_provider_zoho_invoice.hooks.zoho_invoice_oauth import ZohoInvoiceOAuthHook

CUSTOMER = "260815000100000013"


def usage_rows(count: int, start: int = 0) -> list[dict]:
    return [
        {
            "reference_number": f"USAGE-{number:05d}",
            "customer_id": CUSTOMER,
            "line_items": [{"name": "API calls", "rate": "0.0125", "quantity": 1000 + number}],
        }
        for number in range(start, start + count)
    ]


def writes(emulator) -> int:
    return sum(count for kind, count in emulator.requests.items() if kind.endswith((":create", ":update")))


def references(emulator) -> Counter:
    records = emulator.records
    return Counter(records.record("invoices", i)["reference_number"] for i in range(records.size("invoices")))


@pytest.fixture
def write_emulator(make_emulator, use_oauth_emulator):
    def start(**kwargs):
        emulator = make_emulator(
            records={"invoices": 150, "contacts": 30, "items": 30},
            max_in_flight=0,
            daily_quota=10_000,
            **kwargs,
        )
        use_oauth_emulator(emulator, requests_per_minute=0)
        return emulator

    return start


def upsert(resource: str, rows: list[dict], **kwargs) -> list[dict]:
    return list(ZohoInvoiceOAuthHook().upsert_records(resource, rows, **kwargs))


def test_a_thousand_rows_are_created_once_and_a_rerun_creates_nothing(write_emulator):
    emulator = write_emulator()
    rows = usage_rows(1000)
    results = upsert("invoices", rows, match_on="reference_number")
    assert Counter(r["action"] for r in results) == {"created": 1000}
    assert [r["row"] for r in results] == list(range(1000))
    assert all(references(emulator)[row["reference_number"]] == 1 for row in rows)
    created = emulator.records.record("invoices", emulator.records.size("invoices") - 1)
    assert created["line_items"][0]["rate"] == Decimal("0.0125")  # the exact text given, as a number
    before = writes(emulator)
    again = upsert("invoices", rows, match_on="reference_number")
    assert Counter(r["action"] for r in again) == {"unchanged": 1000}
    assert writes(emulator) == before  # nothing written, nothing asked but the listing
    assert [r["id"] for r in again] == [r["id"] for r in results]


@pytest.mark.parametrize("faults", [{"write-reset": 0.05}, {"write-500": 0.05}])
def test_lost_answers_to_creates_never_make_a_second_record(write_emulator, faults, capfd):
    emulator = write_emulator(faults=FaultPlan(rates=faults, seed=5))
    rows = usage_rows(400)
    results = upsert("invoices", rows, match_on="reference_number")
    assert sum(emulator.faults.injected.values()) >= 10
    assert Counter(r["action"] for r in results) == {"created": 400}
    counts = references(emulator)
    assert all(counts[row["reference_number"]] == 1 for row in rows)
    assert "was lost" in capfd.readouterr().out


def test_a_dry_run_sends_no_write(write_emulator):
    emulator = write_emulator()
    upsert("invoices", usage_rows(5), match_on="reference_number")
    changed = usage_rows(5)
    changed[0]["line_items"][0]["quantity"] = 7
    results = upsert(
        "invoices", [*changed, *usage_rows(3, start=100)], match_on="reference_number", dry_run=True
    )
    assert [r["action"] for r in results] == ["would_update"] + ["unchanged"] * 4 + ["would_create"] * 3
    assert writes(emulator) == 5


def test_updates_change_only_what_differs(write_emulator):
    emulator = write_emulator()
    first = upsert("invoices", usage_rows(4), match_on="reference_number")
    changed = usage_rows(4)
    changed[2]["line_items"][0]["rate"] = "0.0150"
    results = upsert("invoices", changed, match_on="reference_number")
    assert [r["action"] for r in results] == ["unchanged", "unchanged", "updated", "unchanged"]
    index = int(first[2]["id"][10:])
    assert emulator.records.record("invoices", index)["line_items"][0]["rate"] == Decimal("0.0150")


def test_zoho_refusals_fail_their_rows_and_the_rest_are_written(write_emulator):
    emulator = write_emulator()
    rows = usage_rows(4)
    del rows[1]["customer_id"]
    rows[3]["invoice_number"] = "INV-000001"  # already taken by a generated invoice
    results = upsert("invoices", rows, match_on="reference_number")
    assert [r["action"] for r in results] == ["created", "failed", "created", "failed"]
    assert results[1]["code"] == 2 and "customer_id" in results[1]["message"]
    assert results[3]["code"] == 1001 and results[3]["message"] == "Invoice Number already exist"
    assert references(emulator)["USAGE-00000"] == 1 and references(emulator)["USAGE-00001"] == 0


def test_a_key_given_twice_is_written_by_neither_row(write_emulator):
    emulator = write_emulator()
    rows = [*usage_rows(2), usage_rows(1)[0]]
    results = upsert("invoices", rows, match_on="reference_number")
    assert [r["action"] for r in results] == ["failed", "created", "failed"]
    assert "more than one row" in results[0]["message"]
    assert references(emulator)["USAGE-00000"] == 0


def test_create_and_update_modes(write_emulator):
    write_emulator()
    upsert("invoices", usage_rows(2), match_on="reference_number")
    changed = usage_rows(3)
    changed[0]["line_items"][0]["quantity"] = 1
    created = upsert("invoices", changed, match_on="reference_number", mode="create")
    assert [r["action"] for r in created] == ["unchanged", "unchanged", "created"]
    updated = upsert("invoices", usage_rows(1, start=50), match_on="reference_number", mode="update")
    assert updated[0]["action"] == "failed" and "no invoice has reference_number" in updated[0]["message"]


def test_contacts_and_items_by_their_names(write_emulator):
    emulator = write_emulator()
    contacts = [{"contact_name": f"Pipeline Customer {n}", "email": f"p{n}@example.com"} for n in range(3)]
    assert [r["action"] for r in upsert("contacts", contacts, match_on="contact_name")] == ["created"] * 3
    items = [{"name": "Item 00003", "rate": "12.10"}, {"name": "Storage GB", "rate": 0.5}]
    assert [r["action"] for r in upsert("items", items, match_on="name")] == ["updated", "created"]
    assert emulator.records.record("items", 3)["rate"] == Decimal("12.10")


@pytest.mark.parametrize(
    ("resource", "rows", "match_on", "message"),
    [
        ("payments", [{"x": 1}], "x", "cannot be written"),
        ("invoices", [{"customer_id": CUSTOMER}], "reference_number", "row 0 has no 'reference_number'"),
        ("invoices", ["INV-1"], "reference_number", "row 0 is a str, not an object"),
        ("invoices", [{"reference_number": "A", "line_items": [{"rate": 0.1}]}], "reference_number", "0.1"),
        ("items", [{"name": "A", "rate": "12,10"}], "name", "not a decimal number"),
    ],
)
def test_bad_input_is_refused_before_any_request(write_emulator, resource, rows, match_on, message):
    emulator = write_emulator()
    with pytest.raises(ValueError, match=message):
        ZohoInvoiceOAuthHook().upsert_records(resource, rows, match_on=match_on)
    assert sum(emulator.requests.values()) == 0


def test_writes_that_cannot_fit_in_the_daily_quota_are_refused_before_any(make_emulator, use_oauth_emulator):
    emulator = make_emulator(records={"invoices": 10}, daily_quota=50)
    use_oauth_emulator(emulator, requests_per_minute=0, min_daily_remaining=20)
    with pytest.raises(ZohoInvoiceQuotaError, match="writing 40 rows needs up to 40 API calls"):
        upsert("invoices", usage_rows(40), match_on="reference_number")
    assert writes(emulator) == 0


def test_a_missing_create_scope_is_named(make_emulator, use_oauth_emulator):
    emulator = make_emulator(records={"invoices": 10}, scopes=["ZohoInvoice.invoices.READ"])
    use_oauth_emulator(emulator, requests_per_minute=0, organization_id="10234695")
    with pytest.raises(ZohoInvoiceAuthError, match=r"ZohoInvoice\.invoices\.CREATE"):
        upsert("invoices", usage_rows(1), match_on="reference_number")


def test_no_secret_in_results_or_logs(write_emulator, capfd):
    emulator = write_emulator(faults=FaultPlan(rates={"write-reset": 0.2}, seed=1))
    results = upsert("invoices", usage_rows(30), match_on="reference_number")
    seen = repr(results) + "".join(capfd.readouterr())
    tokens = (
        list(emulator.accounts.oauth.access_tokens)
        if hasattr(emulator.accounts.oauth, "access_tokens")
        else []
    )
    for secret in (emulator.client_secret, emulator.refresh_token, *tokens):
        assert secret not in seen


# -- the operator ------------------------------------------------------------------------------


def write_jsonl(path, rows) -> str:
    import gzip
    import json

    text = "".join(json.dumps(row) + "\n" for row in rows).encode()
    path.write_bytes(gzip.compress(text) if path.name.endswith(".gz") else text)
    return str(path)


def test_the_operator_writes_a_file_of_rows_and_a_results_file(write_emulator, tmp_path):
    import json

    from airflow_provider_zoho_invoice.operators.zoho_invoice import ZohoInvoiceUpsertRecordsOperator

    emulator = write_emulator()
    source = write_jsonl(tmp_path / "usage.jsonl.gz", usage_rows(60))
    operator = ZohoInvoiceUpsertRecordsOperator(
        task_id="bill", resource="invoices", match_on="reference_number", input_path=source,
        results_path=str(tmp_path / "out" / "results.jsonl"),
    )  # fmt: skip
    counts = operator.execute({})
    assert counts["created"] == 60 and counts["failed"] == 0
    results = [json.loads(line) for line in (tmp_path / "out" / "results.jsonl").read_text().splitlines()]
    assert [r["row"] for r in results] == list(range(60)) and {r["action"] for r in results} == {"created"}
    assert operator.execute({})["unchanged"] == 60
    assert sum(references(emulator)[f"USAGE-{n:05d}"] for n in range(60)) == 60


def test_the_operator_fails_after_trying_every_row_and_keeps_the_results(write_emulator, tmp_path):
    import json

    from airflow_provider_zoho_invoice.compat import AirflowFailException
    from airflow_provider_zoho_invoice.operators.zoho_invoice import ZohoInvoiceUpsertRecordsOperator

    emulator = write_emulator()
    rows = usage_rows(5)
    del rows[2]["customer_id"]
    operator = ZohoInvoiceUpsertRecordsOperator(
        task_id="bill", resource="invoices", match_on="reference_number", rows=rows,
        results_path=str(tmp_path / "results.jsonl"),
    )  # fmt: skip
    with pytest.raises(
        AirflowFailException, match=r"1 of 5 rows failed .*'USAGE-00002': Invalid value passed"
    ):
        operator.execute({})
    results = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]
    assert [r["action"] for r in results] == ["created", "created", "failed", "created", "created"]
    assert writes(emulator) == 5  # the failed row was tried too


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"resource": "invoices", "match_on": "reference_number"}, "exactly one of input_path"),
        (
            {"resource": "invoices", "match_on": "reference_number", "rows": [], "input_path": "x"},
            "exactly one",
        ),
        ({"resource": "estimates", "match_on": "reference_number", "rows": []}, "cannot be written"),
        (
            {"resource": "invoices", "match_on": "reference_number", "rows": [], "mode": "merge"},
            "mode must be",
        ),
    ],
)
def test_the_operator_checks_static_arguments_at_parse_time(kwargs, message):
    from airflow_provider_zoho_invoice.operators.zoho_invoice import ZohoInvoiceUpsertRecordsOperator

    with pytest.raises(ValueError, match=message):
        ZohoInvoiceUpsertRecordsOperator(task_id="bill", **kwargs)


def test_an_unwritable_results_path_is_refused_before_any_request(write_emulator, tmp_path):
    from airflow_provider_zoho_invoice.compat import AirflowFailException
    from airflow_provider_zoho_invoice.operators.zoho_invoice import ZohoInvoiceUpsertRecordsOperator

    emulator = write_emulator()
    (tmp_path / "taken").write_text("a file where a folder should be")
    operator = ZohoInvoiceUpsertRecordsOperator(
        task_id="bill", resource="invoices", match_on="reference_number", rows=usage_rows(3),
        results_path=str(tmp_path / "taken" / "results.jsonl"),
    )  # fmt: skip
    with pytest.raises(AirflowFailException, match="Cannot write results to"):
        operator.execute({})
    assert sum(emulator.requests.values()) == 0


def test_a_legacy_connection_is_refused_for_writes(emulator, use_emulator):
    from airflow_provider_zoho_invoice.compat import AirflowFailException
    from airflow_provider_zoho_invoice.operators.zoho_invoice import ZohoInvoiceUpsertRecordsOperator

    use_emulator(emulator)
    operator = ZohoInvoiceUpsertRecordsOperator(
        task_id="w", resource="items", match_on="name", rows=[{"name": "a"}]
    )
    with pytest.raises(AirflowFailException, match="legacy API, which this provider only reads"):
        operator.execute({})


def test_throttled_writes_are_sent_again_and_written_once(write_emulator):
    emulator = write_emulator(faults=FaultPlan(rates={"429": 0.1}, seed=3, retry_after=0.01))
    rows = usage_rows(100)
    results = upsert("invoices", rows, match_on="reference_number")
    assert emulator.faults.injected["429"] >= 5
    assert Counter(r["action"] for r in results) == {"created": 100}
    assert all(references(emulator)[row["reference_number"]] == 1 for row in rows)


def test_rows_rendered_as_json_text_are_read_with_exact_numbers(write_emulator):
    import json

    from airflow_provider_zoho_invoice.operators.zoho_invoice import ZohoInvoiceUpsertRecordsOperator

    emulator = write_emulator()
    text = json.dumps([{"name": "Support hour", "rate": 95.10}]).replace("95.1", "95.10")
    operator = ZohoInvoiceUpsertRecordsOperator(task_id="items", resource="items", match_on="name", rows=text)
    assert operator.execute({})["created"] == 1
    added = emulator.records.record("items", emulator.records.size("items") - 1)
    assert added["name"] == "Support hour" and str(added["rate"]) == "95.10"
