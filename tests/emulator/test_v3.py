"""The emulator's API v3 and OAuth endpoints behave as Zoho's do, seen with a bare HTTP client."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import requests

ORG = {"X-com-zoho-invoice-organizationid": "10234695"}


def token_answer(emulator, **form) -> dict:
    base = {
        "grant_type": "refresh_token",
        "client_id": emulator.client_id,
        "client_secret": emulator.client_secret,
        "refresh_token": emulator.refresh_token,
    }
    response = requests.post(f"{emulator.url}/oauth/v2/token", data={**base, **form}, timeout=10)
    assert response.status_code == 200  # Zoho answers token errors with HTTP 200 too
    return response.json()


def test_token_answers_and_errors(make_emulator):
    emulator = make_emulator(records=1, token_lifetime=3600)
    answer = token_answer(emulator)
    assert list(answer) == ["access_token", "api_domain", "token_type", "expires_in"]
    assert (answer["api_domain"], answer["token_type"], answer["expires_in"]) == (
        emulator.url,
        "Bearer",
        3600,
    )
    assert token_answer(emulator, client_id="1000.NOPE") == {"error": "invalid_client"}
    assert token_answer(emulator, refresh_token="1000.nope") == {"error": "invalid_code"}
    code = emulator.accounts.issue_grant_code()
    granted = token_answer(emulator, grant_type="authorization_code", code=code, refresh_token="")
    assert granted["refresh_token"] in emulator.accounts.oauth.refresh_tokens
    assert token_answer(emulator, grant_type="authorization_code", code=code) == {"error": "invalid_code"}


def test_token_throttle_after_ten_in_ten_minutes(make_emulator):
    emulator = make_emulator(records=1)
    answers = [token_answer(emulator) for _ in range(11)]
    assert all("access_token" in answer for answer in answers[:10])
    assert answers[10]["error"] == "Access Denied" and "too many requests" in answers[10]["error_description"]


def test_api_authentication_codes(make_emulator):
    emulator = make_emulator(records=1)
    url = f"{emulator.url}/invoice/v3/invoices"
    missing = requests.get(url, headers=ORG, timeout=10)
    assert (missing.status_code, missing.json()["code"]) == (401, 14)
    dead = requests.get(url, headers={**ORG, "Authorization": "Zoho-oauthtoken 1000.dead"}, timeout=10)
    assert (dead.status_code, dead.json()["code"]) == (401, 57)
    token = token_answer(emulator)["access_token"]
    good = requests.get(url, headers={**ORG, "Authorization": f"Zoho-oauthtoken {token}"}, timeout=10)
    assert good.status_code == 200 and good.headers["content-type"] == "application/json;charset=UTF-8"
    assert all(
        name in good.headers
        for name in ("X-Rate-Limit-Limit", "X-Rate-Limit-Remaining", "X-Rate-Limit-Reset")
    )
    context = good.json()["page_context"]
    assert list(context)[:3] == ["page", "per_page", "has_more_page"] and "total" not in context
    requests.post(
        f"{emulator.url}/oauth/v2/token/revoke", params={"token": emulator.refresh_token}, timeout=10
    )
    revoked = requests.get(url, headers={**ORG, "Authorization": f"Zoho-oauthtoken {token}"}, timeout=10)
    assert revoked.status_code == 401 and token_answer(emulator) == {"error": "invalid_code"}


def test_expenses_refuse_sorting_by_modification_time(make_emulator):
    emulator = make_emulator(records=3)
    token = token_answer(emulator)["access_token"]
    headers = {**ORG, "Authorization": f"Zoho-oauthtoken {token}"}
    refused = requests.get(
        f"{emulator.url}/invoice/v3/expenses",
        params={"sort_column": "last_modified_time"},
        headers=headers,
        timeout=10,
    )
    assert refused.status_code == 400 and refused.json()["code"] == 2
    allowed = requests.get(
        f"{emulator.url}/invoice/v3/invoices",
        params={"sort_column": "last_modified_time"},
        headers=headers,
        timeout=10,
    )
    assert allowed.status_code == 200


def test_churn_from_the_command_line_edits_and_adds_v3_records():
    """The same churn settings change both protocols' data; here v3, through the emulator's CLI."""
    from airflow_provider_zoho_invoice.emulator.process import emulator_process

    args = ("--records", "40", "--items", "0", "--churn-every", "1", "--churn-edit", "2", "--churn-add", "1")
    with emulator_process(*args) as (url, _):
        form = {"grant_type": "refresh_token", "client_id": "1000.EMULATORCLIENTID",
                "client_secret": "emulator-client-secret", "refresh_token": "1000.emulator-refresh-token"}  # fmt: skip
        token = requests.post(f"{url}/oauth/v2/token", data=form, timeout=10).json()["access_token"]
        headers = {**ORG, "Authorization": f"Zoho-oauthtoken {token}"}
        newest = []
        for _ in range(3):
            params = {"sort_column": "last_modified_time", "sort_order": "D", "per_page": 200}
            answer = requests.get(
                f"{url}/invoice/v3/invoices", params=params, headers=headers, timeout=10
            ).json()
            newest.append((len(answer["invoices"]), answer["invoices"][0]["last_modified_time"]))
    assert [count for count, _ in newest] == [40, 41, 42]  # one record added after each page
    generated_latest = datetime.strptime(newest[0][1], "%Y-%m-%dT%H:%M:%S%z")
    edited = datetime.strptime(newest[1][1], "%Y-%m-%dT%H:%M:%S%z")
    # Edits are stamped with the current time, as Zoho stamps them: newer than any generated record.
    assert generated_latest < edited and abs(datetime.now(timezone.utc) - edited) < timedelta(minutes=1)


def api_get(emulator, path: str, *, scheme: str = "Zoho-oauthtoken", **params) -> requests.Response:
    token = token_answer(emulator)["access_token"]
    headers = {**ORG, "Authorization": f"{scheme} {token}"}
    return requests.get(f"{emulator.url}/invoice/v3{path}", params=params, headers=headers, timeout=10)


def test_lists_newest_first_and_says_so_and_accepts_bearer(make_emulator):
    """Zoho's default order is created_time, descending; its docs allow a Bearer header too."""
    emulator = make_emulator(records=30)
    answer = api_get(emulator, "/recurringinvoices", scheme="Bearer", per_page=10).json()
    created = [record["created_time"] for record in answer["recurring_invoices"]]
    assert created == sorted(created, reverse=True) and len(created) == 10
    context = answer["page_context"]
    assert (context["sort_column"], context["sort_order"], context["report_name"]) == (
        "created_time", "D", "Recurring Invoices",
    )  # fmt: skip
    ascending = api_get(emulator, "/invoices", sort_column="created_time", sort_order="A").json()
    times = [record["created_time"] for record in ascending["invoices"]]
    assert times == sorted(times)


def test_timestamps_follow_the_organizations_time_zone(make_emulator):
    emulator = make_emulator(records=3)
    summer = emulator.records.record("invoices", 0)["created_time"]
    edited = emulator.records.touch("invoices", 1)["last_modified_time"]  # now: late November
    assert summer.endswith("-0400") and edited.endswith("-0500")  # daylight saving time ended
    india = make_emulator(records=3, time_zone="Asia/Kolkata")
    assert india.records.record("invoices", 0)["created_time"] == "2026-06-01T18:30:00+0530"


def test_an_organizations_requests_in_process_are_limited(make_emulator):
    from concurrent.futures import ThreadPoolExecutor

    from airflow_provider_zoho_invoice.emulator import FaultPlan

    emulator = make_emulator(records=10, faults=FaultPlan(latency=0.3))
    token = token_answer(emulator)["access_token"]
    headers = {**ORG, "Authorization": f"Zoho-oauthtoken {token}"}

    def get(_: int) -> requests.Response:
        return requests.get(f"{emulator.url}/invoice/v3/invoices", headers=headers, timeout=10)

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(get, range(8)))
    refused = [answer.json() for answer in answers if answer.status_code == 429]
    assert len(refused) == 3 and {answer["code"] for answer in refused} == {1070}
    assert emulator.most_in_flight == 5
