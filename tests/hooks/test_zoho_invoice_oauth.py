"""ZohoInvoiceOAuthHook (API v3, OAuth 2.0) against the emulator over real HTTP."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
from decimal import Decimal

import pytest
import requests

from airflow_provider_zoho_invoice.compat import AirflowFailException
from airflow_provider_zoho_invoice.emulator import FaultPlan
from airflow_provider_zoho_invoice.exceptions import (
    ZohoInvoiceAPIError,
    ZohoInvoiceAuthError,
    ZohoInvoiceConfigError,
    ZohoInvoiceQuotaError,
    ZohoInvoiceTokenThrottleError,
)
from airflow_provider_zoho_invoice.hooks.zoho_invoice_oauth import ZohoInvoiceOAuthHook
from airflow_provider_zoho_invoice.operators.zoho_invoice import ZohoInvoiceValidateTokenOperator
from airflow_provider_zoho_invoice.v3.answers import encode
from airflow_provider_zoho_invoice.v3.config import oauth_config_from_connection
from airflow_provider_zoho_invoice.v3.resources import RESOURCES


def raw_records(emulator, resource: str) -> list[bytes]:
    """Each record's JSON text exactly as the emulator sends it, read with a bare requests loop."""
    token = requests.post(
        f"{emulator.url}/oauth/v2/token",
        data={
            "grant_type": "refresh_token",
            "client_id": emulator.client_id,
            "client_secret": emulator.client_secret,
            "refresh_token": emulator.refresh_token,
        },
        timeout=10,
    ).json()["access_token"]
    found = RESOURCES[resource]
    texts, page = [], 1
    while True:
        body = requests.get(
            f"{emulator.url}/invoice/v3{found.path}",
            params={"page": page, "per_page": 200},
            headers={
                "Authorization": f"Zoho-oauthtoken {token}",
                "X-com-zoho-invoice-organizationid": "10234695",
            },
            timeout=10,
        ).text
        document = json.loads(body, parse_float=Decimal)  # the standard library's decoder, not the hook's
        texts.extend(encode(record) for record in document[found.list_key])
        if not document["page_context"]["has_more_page"]:
            return texts
        page += 1


def test_records_keep_zoho_keys_order_and_exact_number_text(oauth_emulator):
    records = list(ZohoInvoiceOAuthHook().list_records("invoices"))
    assert len(records) == 450
    # Byte-for-byte the emulator's JSON: same keys, same order, numbers such as 120.50 unchanged.
    assert [encode(record) for record in records] == raw_records(oauth_emulator, "invoices")
    totals = {str(record["total"]) for record in records}
    assert any(text.endswith("0") and "." in text for text in totals), (
        "the data set has trailing-zero amounts"
    )
    assert all(not isinstance(record["total"], float) for record in records)
    item = ZohoInvoiceOAuthHook().get_item(oauth_emulator.records.record("items", 0)["item_id"])
    assert encode({"rate": item["rate"]}) == b'{"rate":500.0}'


@pytest.mark.parametrize("resource", sorted(RESOURCES))
def test_every_resource_lists_and_gets(make_emulator, use_oauth_emulator, resource):
    emulator = make_emulator(records=7)
    use_oauth_emulator(emulator)
    hook = ZohoInvoiceOAuthHook()
    records = list(hook.list_records(resource, per_page=3))
    id_field = RESOURCES[resource].id_field
    assert len({record[id_field] for record in records}) == 7
    assert hook.get_record(resource, records[4][id_field]) == records[4]


def test_unknown_resource_and_unknown_id(oauth_emulator):
    hook = ZohoInvoiceOAuthHook()
    with pytest.raises(ValueError, match="choose one of items, contacts, invoices"):
        list(hook.list_records("bills"))
    with pytest.raises(ZohoInvoiceAPIError) as caught:
        hook.get_record("invoices", "260815000299999999")
    assert caught.value.code == 1002 and "Invoice does not exist" in str(caught.value)
    with pytest.raises(ZohoInvoiceAPIError) as caught:
        hook.get_item("260815000099999999")
    assert caught.value.code == 2006 and "Item does not exist" in str(caught.value)  # Zoho's items code
    assert hook.find_item(item_id="260815000099999999") is None


def test_concurrent_speculative_paging_keeps_order_and_bounds_overshoot(oauth_emulator):
    sequential = list(ZohoInvoiceOAuthHook().list_records("contacts", per_page=50))
    before = oauth_emulator.requests["v3:contacts"]
    assert before == 9
    concurrent = list(ZohoInvoiceOAuthHook().list_records("contacts", per_page=50, concurrency=4))
    assert concurrent == sequential
    made = oauth_emulator.requests["v3:contacts"] - before
    assert 9 <= made <= 9 + 4


def test_max_records_stops_early(oauth_emulator):
    records = list(ZohoInvoiceOAuthHook().list_records("estimates", per_page=100, max_records=150))
    assert len(records) == 150
    assert oauth_emulator.requests["v3:estimates"] == 2


def test_access_token_is_reused_across_hooks_and_file_is_private(oauth_emulator, tmp_path):
    for _ in range(3):
        assert ZohoInvoiceOAuthHook().validate_token()
    assert oauth_emulator.accounts.oauth.refreshes == 1
    directory = tmp_path / "tokens"
    files = list(directory.iterdir())
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert all(stat.S_IMODE(path.stat().st_mode) == 0o600 for path in files)
    secrets = (oauth_emulator.client_secret, oauth_emulator.refresh_token, oauth_emulator.client_id)
    assert not any(secret in path.name for path in files for secret in secrets)


def test_token_cache_none_refreshes_per_hook(make_emulator, use_oauth_emulator):
    emulator = make_emulator(records=1)
    use_oauth_emulator(emulator, token_cache="none")
    for _ in range(3):
        assert ZohoInvoiceOAuthHook().validate_token()
    assert emulator.accounts.oauth.refreshes == 3


def test_twelve_processes_starting_at_once_refresh_once(make_emulator, tmp_path):
    """The file store's single flight across processes, with nothing but the token layer imported."""
    emulator = make_emulator(faults=FaultPlan(latency=0.05))
    script = textwrap.dedent(
        """
        import json, logging, sys
        from pathlib import Path
        from airflow_provider_zoho_invoice.transport import Transport
        from airflow_provider_zoho_invoice.v3.config import oauth_config_from_connection
        from airflow_provider_zoho_invoice.v3.oauth import OAuthClient
        from airflow_provider_zoho_invoice.v3.tokens import FileTokenStore, TokenManager, store_key

        connection = json.loads(sys.argv[1])
        config = oauth_config_from_connection(
            conn_id="c", login=connection["login"], password=connection["password"], host=None, port=None,
            extra=connection["extra"], overrides={},
        )
        log = logging.getLogger("token")
        client = OAuthClient(
            Transport(config.transport, log=log, accept="application/json"), config, conn_id="c", log=log,
            reveal=lambda *secrets: None,
        )
        store = FileTokenStore(Path(sys.argv[2]), store_key(config.accounts_url, *config.secrets[:2]))
        token = TokenManager(store, client.refresh).get()
        print("airflow" in sys.modules, token.expires_at)
        """
    )
    command = [sys.executable, "-c", script, emulator.oauth_connection_json(), str(tmp_path / "tokens")]
    processes = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(12)
    ]
    outputs = [process.communicate(timeout=120) for process in processes]
    lines = {out.strip() for out, _ in outputs}
    assert len(lines) == 1 and next(iter(lines)).startswith("False "), outputs[0][1][-2000:]
    assert emulator.accounts.oauth.refreshes == 1


def test_expiry_in_the_middle_of_a_listing(make_emulator, use_oauth_emulator):
    emulator = make_emulator(records=300, token_lifetime=1.0, faults=FaultPlan(latency=0.15))
    use_oauth_emulator(emulator)
    records = list(ZohoInvoiceOAuthHook().list_records("invoices", per_page=20))
    assert len({record["invoice_id"] for record in records}) == 300
    assert emulator.accounts.oauth.refreshes >= 2


def test_a_refused_token_is_refreshed_once(oauth_emulator):
    hook = ZohoInvoiceOAuthHook()
    assert len(list(hook.list_records("taxes"))) == 450
    oauth_emulator.accounts.expire_access_tokens()  # revoked behind the hook's back: the next call gets 401 code 57
    assert len(list(hook.list_records("taxes"))) == 450
    assert oauth_emulator.accounts.oauth.refreshes == 2


def test_a_missing_scope_fails_at_once_naming_it_without_a_refresh(make_emulator, use_oauth_emulator):
    """Zoho answers a token lacking the module's scope as an expired one (401, code 57)."""
    emulator = make_emulator(records=3, scopes=["ZohoInvoice.invoices.READ"])
    use_oauth_emulator(emulator, organization_id="10234695")  # listing organizations needs settings
    hook = ZohoInvoiceOAuthHook(token_cache="none")
    assert len(list(hook.list_records("invoices"))) == 3
    with pytest.raises(ZohoInvoiceAuthError, match=r"lacks the scope ZohoInvoice\.settings\.READ") as caught:
        hook.get_item(emulator.records.record("items", 0)["item_id"])
    assert caught.value.permanent and caught.value.code == 57
    assert "python -m airflow_provider_zoho_invoice oauth" in str(caught.value)
    assert emulator.accounts.oauth.refreshes == 1  # the fresh token was not replaced


def test_a_401_on_an_older_token_refreshes_once_then_names_the_scope(
    make_emulator, use_oauth_emulator, tmp_path
):
    emulator = make_emulator(records=3, scopes=["ZohoInvoice.invoices.ALL"])
    use_oauth_emulator(emulator, organization_id="10234695")
    assert len(list(ZohoInvoiceOAuthHook().list_records("invoices"))) == 3
    (cached,) = (tmp_path / "tokens").glob("*.json")
    token = json.loads(cached.read_text())
    cached.write_text(json.dumps({**token, "issued_at": token["issued_at"] - 600}))  # minted 10 min ago
    with pytest.raises(ZohoInvoiceAuthError, match=r"lacks the scope ZohoInvoice\.contacts\.READ"):
        list(ZohoInvoiceOAuthHook().list_records("contacts"))
    assert emulator.accounts.oauth.refreshes == 2  # an old token may have expired: one refresh, no more


@pytest.mark.parametrize(
    ("change", "cause", "hint"),
    [
        ({"login": "1000.WRONG"}, "invalid_client", "data_center"),
        ({"password": "wrong-secret"}, "invalid_client_secret", "Client Secret"),
        ({"refresh_token": "1000.revoked"}, "invalid_code", "issue a new refresh token"),
    ],
)
def test_token_errors_fail_at_once_with_a_remedy(make_emulator, monkeypatch, tmp_path, change, cause, hint):
    emulator = make_emulator(records=1)
    monkeypatch.setenv("AIRFLOW__ZOHO_INVOICE__TOKEN_CACHE_DIR", str(tmp_path))
    connection = json.loads(emulator.oauth_connection_json())
    for key, value in change.items():
        (connection if key in ("login", "password") else connection["extra"])[key] = value
    monkeypatch.setenv("AIRFLOW_CONN_ZOHO_INVOICE_DEFAULT", json.dumps(connection))
    with pytest.raises(ZohoInvoiceAuthError) as caught:
        list(ZohoInvoiceOAuthHook().list_items())
    assert caught.value.cause == cause and caught.value.permanent
    assert hint.lower() in str(caught.value).lower()
    assert emulator.requests["token"] == 1
    assert not ZohoInvoiceOAuthHook().validate_token()
    for secret in ("wrong-secret", "1000.revoked", emulator.client_secret, emulator.refresh_token):
        assert secret not in str(caught.value)


def test_token_throttle_is_reported_and_not_retried(make_emulator, use_oauth_emulator):
    emulator = make_emulator(records=1, tokens_per_window=2)
    use_oauth_emulator(emulator, token_cache="none")
    assert ZohoInvoiceOAuthHook().validate_token() and ZohoInvoiceOAuthHook().validate_token()
    with pytest.raises(ZohoInvoiceAuthError, match="at most 10 per refresh token") as caught:
        ZohoInvoiceOAuthHook().check_credentials()
    assert caught.value.cause == "Access Denied" and not caught.value.permanent
    assert emulator.requests["token"] == 3


def test_the_token_throttle_leaves_task_retries_to_airflow(make_emulator, use_oauth_emulator):
    """'Access Denied' heals within ten minutes: not an AirflowFailException, which skips retries."""
    emulator = make_emulator(records=1, tokens_per_window=0)
    use_oauth_emulator(emulator, token_cache="none")
    operator = ZohoInvoiceValidateTokenOperator(task_id="validate")
    with pytest.raises(ZohoInvoiceTokenThrottleError, match="heals by itself within 10 minutes"):
        operator.execute({})


def test_an_unknown_token_error_fails_at_once_quoting_zoho(make_emulator, use_oauth_emulator):
    emulator = make_emulator(records=1, faults=FaultPlan(sequence=["token-unknown-error"]))
    use_oauth_emulator(emulator, token_cache="none")
    operator = ZohoInvoiceValidateTokenOperator(task_id="validate")
    with pytest.raises(
        AirflowFailException, match=r"\(invalid_token\).*'invalid_token' is not one this provider"
    ):
        operator.execute({})
    assert emulator.requests["token"] == 1


def test_a_refused_refresh_is_asked_once_by_the_threads_of_a_listing(make_emulator, use_oauth_emulator):
    """Tokens expire mid-listing and Zoho throttles the refresh: four page workers share one answer."""
    emulator = make_emulator(records=400, tokens_per_window=1, faults=FaultPlan(latency=0.05))
    use_oauth_emulator(emulator, token_cache="none", organization_id="10234695")
    hook = ZohoInvoiceOAuthHook()
    records = hook.list_records("invoices", per_page=20, concurrency=4)
    first = next(records)  # the first page, with the one token Zoho will issue in this window
    emulator.accounts.expire_access_tokens()
    with pytest.raises(ZohoInvoiceAuthError, match="Access Denied"):
        list(records)
    assert first and emulator.requests["token"] == 2  # the first token, and one refused refresh


def test_per_minute_throttling_is_retried(make_emulator, use_oauth_emulator):
    emulator = make_emulator(records=100, per_minute_limit=3)
    emulator.v3.window = 0.3
    use_oauth_emulator(emulator, requests_per_minute=0, backoff=0.1)
    records = list(ZohoInvoiceOAuthHook().list_records("invoices", per_page=10))
    assert len(records) == 100
    assert emulator.requests["v3:invoices"] > 10  # some answers were 429 code 44, and were asked again


def test_injected_faults_are_retried(make_emulator, use_oauth_emulator):
    emulator = make_emulator(records=60, faults=FaultPlan(sequence=["ok", "ok", "503", "429-bare", "reset"]))
    use_oauth_emulator(emulator)
    assert len(list(ZohoInvoiceOAuthHook().list_records("invoices", per_page=20))) == 60


def test_a_hard_daily_quota_fails_at_once(make_emulator, use_oauth_emulator, capfd):
    emulator = make_emulator(records=100, daily_quota=3, hard_quota=True)
    use_oauth_emulator(emulator)
    hook = ZohoInvoiceOAuthHook()
    assert len(list(hook.list_records("invoices", per_page=50))) == 100
    assert "quota: 2 of 3 calls left" in capfd.readouterr().out
    with pytest.raises(ZohoInvoiceQuotaError, match="daily API quota is used up") as caught:
        list(hook.list_records("invoices", per_page=50))
    assert caught.value.code == 45
    assert emulator.requests["v3:invoices"] == 4  # three answered, the fourth refused and not retried
    assert "nearly spent: 0 of 3 calls left" in capfd.readouterr().out


@pytest.mark.parametrize("interval", [False, True])
def test_a_soft_daily_quota_warns_once_per_listing_and_goes_on(
    make_emulator, use_oauth_emulator, capfd, interval
):
    """Zoho has been recorded answering HTTP 200 with X-Rate-Limit-Remaining: -85."""
    emulator = make_emulator(records=100, daily_quota=3)
    use_oauth_emulator(emulator, organization_id="10234695")
    bounds = {"modified_since": "2026-06-01T00:00:00+00:00"} if interval else {}
    for _ in range(2):
        assert len(list(ZohoInvoiceOAuthHook().list_records("contacts", per_page=10, **bounds))) == 100
    logged = capfd.readouterr().out
    assert logged.count("past its daily quota") == 2  # once per listing, though most pages said so
    assert "reports -1 of today's 3 API calls left" in logged
    assert emulator.requests["v3:contacts"] >= 20  # every page answered, none refused


def test_every_kind_of_listing_logs_the_quota_once(make_emulator, use_oauth_emulator, capfd):
    emulator = make_emulator(records=100)
    use_oauth_emulator(emulator, organization_id="10234695")
    hook = ZohoInvoiceOAuthHook()
    list(hook.list_records("contacts", per_page=10))  # offset pages
    list(hook.list_records("contacts", per_page=10, modified_since="2026-06-01T00:00:00+00:00"))  # keyset
    list(hook.list_records("expenses", per_page=10, modified_since="2026-06-01T00:00:00+00:00"))  # scan
    assert capfd.readouterr().out.count("Zoho Invoice daily API quota: ") == 3


def test_organization_discovery(make_emulator, use_oauth_emulator):
    several = make_emulator(
        records=1,
        organizations=[
            {"organization_id": "111", "name": "North"},
            {"organization_id": "222", "name": "South"},
        ],
    )
    use_oauth_emulator(several)
    with pytest.raises(ZohoInvoiceConfigError, match=r"111 \(North\); 222 \(South\).*organization_id"):
        list(ZohoInvoiceOAuthHook().list_items())
    use_oauth_emulator(several, organization_id="222")
    assert len(list(ZohoInvoiceOAuthHook().list_items())) == 1
    assert several.requests["organizations"] == 1  # a configured organization needs no discovery
    none = make_emulator(records=1, organizations=[])
    use_oauth_emulator(none)
    with pytest.raises(ZohoInvoiceConfigError, match="no Zoho Invoice organization"):
        list(ZohoInvoiceOAuthHook().list_items())
    use_oauth_emulator(several, organization_id="333")
    with pytest.raises(ZohoInvoiceAPIError, match=r"6041.*organization_id"):
        list(ZohoInvoiceOAuthHook().list_items())


def test_api_domain_comes_from_the_token_answer_unless_pinned(make_emulator, use_oauth_emulator):
    emulator = make_emulator(records=2)
    connection = json.loads(emulator.oauth_connection_json())
    del connection["extra"]["api_domain"]  # the emulator's token answer names itself as api_domain
    use_oauth_emulator(emulator, api_domain="")
    os.environ["AIRFLOW_CONN_ZOHO_INVOICE_DEFAULT"] = json.dumps(connection)
    assert len(list(ZohoInvoiceOAuthHook().list_items())) == 2


@pytest.mark.parametrize(
    ("data_center", "accounts", "api"),
    [
        ("com", "https://accounts.zoho.com", "https://www.zohoapis.com"),
        ("eu", "https://accounts.zoho.eu", "https://www.zohoapis.eu"),
        ("in", "https://accounts.zoho.in", "https://www.zohoapis.in"),
        ("com.au", "https://accounts.zoho.com.au", "https://www.zohoapis.com.au"),
        ("jp", "https://accounts.zoho.jp", "https://www.zohoapis.jp"),
        ("ca", "https://accounts.zohocloud.ca", "https://www.zohoapis.ca"),
        ("com.cn", "https://accounts.zoho.com.cn", "https://www.zohoapis.com.cn"),
        ("sa", "https://accounts.zoho.sa", "https://www.zohoapis.sa"),
    ],
)
def test_data_centre_hosts(data_center, accounts, api):
    from airflow_provider_zoho_invoice.v3.tokens import AccessToken

    config = oauth_config_from_connection(
        conn_id="c", login="id", password="s", host=None, port=None,
        extra={"data_center": data_center, "refresh_token": "r"}, overrides={},
    )  # fmt: skip
    assert config.accounts_url == accounts and config.api_domain is None
    hook = ZohoInvoiceOAuthHook("c")
    hook.__dict__["config"] = config
    assert hook._api_base(AccessToken("t", 0, 1)) == f"{api}/invoice/v3"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"data_center": "mars"}, "'Data centre'.*one of com, eu, in"),
        ({"organization_id": "12ab"}, "'Organization ID'.*digits"),
        ({"token_cache": "memcached"}, "'Token cache'.*'file'"),
        ({"api_domain": "http://zoho.example.com"}, "plain http:// to a remote host"),
        ({"timeout": "soon"}, "'timeout' must be a number"),
    ],
)
def test_bad_configuration_names_the_field_never_the_value(extra, message):
    with pytest.raises(ZohoInvoiceConfigError, match=message) as caught:
        oauth_config_from_connection(
            conn_id="c", login="id", password="s3cret-value", host=None, port=None,
            extra={"refresh_token": "r3fresh-value", **extra}, overrides={},
        )  # fmt: skip
    assert "s3cret-value" not in str(caught.value) and "r3fresh-value" not in str(caught.value)
    assert "mars" not in str(caught.value) and "12ab" not in str(caught.value)


@pytest.mark.parametrize(
    ("login", "password", "refresh", "label"),
    [
        (None, "s", "r", "'Client ID'"),
        ("i", None, "r", "'Client Secret'"),
        ("i", "s", None, "'Refresh Token'"),
    ],
)
def test_missing_credentials_name_the_form_label(monkeypatch, login, password, refresh, label):
    connection = {"conn_type": "zoho_invoice_oauth", "login": login, "password": password, "extra": {}}
    if refresh:
        connection["extra"]["refresh_token"] = refresh
    monkeypatch.setenv("AIRFLOW_CONN_ZOHO_INVOICE_DEFAULT", json.dumps(connection))
    with pytest.raises(ZohoInvoiceConfigError, match=label):
        ZohoInvoiceOAuthHook().check_credentials()


def test_uri_form_with_host_and_port(make_emulator, use_oauth_emulator):
    emulator = make_emulator(records=3)
    use_oauth_emulator(emulator)
    port = emulator.url.rsplit(":", 1)[1]
    os.environ["AIRFLOW_CONN_ZOHO_INVOICE_DEFAULT"] = (
        f"zoho-invoice-oauth://{emulator.client_id}:{emulator.client_secret}@127.0.0.1:{port}/"
        f"?refresh_token={emulator.refresh_token}"
    )
    config = ZohoInvoiceOAuthHook().config
    assert config.api_domain == config.accounts_url == emulator.url
    assert len(list(ZohoInvoiceOAuthHook().list_items())) == 3


def test_test_connection_is_quick_and_never_raises(make_emulator, use_oauth_emulator):
    emulator = make_emulator(records=1, faults=FaultPlan(sequence=["503"]))
    use_oauth_emulator(emulator, max_retries=5, backoff=5)
    ok, message = ZohoInvoiceOAuthHook().test_connection()
    assert not ok and "HTTP 503 on all 1 attempt" in message  # one attempt, no 5 s backoff
    ok, message = ZohoInvoiceOAuthHook().test_connection()
    assert ok and "10234695" in message


def test_call_reaches_any_endpoint(oauth_emulator):
    hook = ZohoInvoiceOAuthHook()
    document = hook.call("GET", "/invoices", params={"per_page": 2})
    assert document["code"] == 0 and len(document["invoices"]) == 2
    assert hook.call("get", "/organizations")["organizations"][0]["name"] == "Zillum"
    with pytest.raises(ValueError, match="method"):
        hook.call("PATCH", "/invoices")
    with pytest.raises(ValueError, match="API path"):
        hook.call("GET", "https://elsewhere.example.com/x")


def test_init_does_no_lookup_or_network():
    hook = ZohoInvoiceOAuthHook("a_connection_that_does_not_exist")
    assert not {"config", "transport", "tokens"} & set(hook.__dict__)


def test_secrets_stay_out_of_logs_and_errors(make_emulator, use_oauth_emulator, capfd, caplog, tmp_path):
    emulator = make_emulator(records=30, faults=FaultPlan(sequence=["503", "html", "truncate"]))
    use_oauth_emulator(emulator, max_retries=0)
    caplog.set_level("DEBUG")
    errors = []
    hook = ZohoInvoiceOAuthHook()
    for _ in range(4):
        try:
            list(hook.list_records("invoices", per_page=10))
        except Exception as exc:
            errors.append(repr(exc) + str(exc))
    emulator.accounts.expire_access_tokens()
    list(hook.list_records("invoices", per_page=10))
    access_tokens = {path.read_text() for path in (tmp_path / "tokens").glob("*.json")}
    token_values = [json.loads(text)["access_token"] for text in access_tokens]
    output = capfd.readouterr()
    seen = "\n".join([output.out, output.err, caplog.text, *errors])
    assert len(errors) == 3 and token_values
    for secret in (emulator.client_secret, emulator.refresh_token, *token_values):
        assert secret not in seen
