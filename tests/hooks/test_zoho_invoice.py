"""ZohoInvoiceHook against the emulator over real HTTP."""

from __future__ import annotations

import json
import socket
from decimal import Decimal

import pytest

from airflow_provider_zoho_invoice.emulator import Account, Catalogue, EmulatedItem, FaultPlan
from airflow_provider_zoho_invoice.exceptions import (
    ZohoInvoiceAPIError,
    ZohoInvoiceAuthError,
    ZohoInvoiceConfigError,
    ZohoInvoiceConnectionError,
    ZohoInvoiceResponseError,
)
from airflow_provider_zoho_invoice.hooks.zoho_invoice import ZohoInvoiceHook
from airflow_provider_zoho_invoice.legacy.answers import ZohoInvoiceItem
from tests.conftest import APIKEY, AUTHTOKEN


def rows(items: list[ZohoInvoiceItem]) -> list[dict[str, object]]:
    return [item.to_dict() for item in items]


def expected_rows(emulator) -> list[dict[str, object]]:
    return [item.as_row() for item in emulator.catalogue.items()]


def test_lists_every_page_in_catalogue_order(zoho_conn):
    hook = ZohoInvoiceHook()
    items = list(hook.list_items(per_page=200))
    assert rows(items) == expected_rows(zoho_conn)
    assert len(items) == 450
    assert zoho_conn.requests["items"] == 3  # 200 + 200 + 50


def test_single_item_pages_are_still_lists(make_emulator, use_emulator):
    emulator = make_emulator(items=3)
    use_emulator(emulator)
    items = list(ZohoInvoiceHook().list_items(per_page=1))
    assert rows(items) == expected_rows(emulator)
    assert emulator.requests["items"] == 3


def test_empty_catalogue(make_emulator, use_emulator):
    emulator = make_emulator(items=0)
    use_emulator(emulator)
    assert list(ZohoInvoiceHook().list_items()) == []
    assert emulator.requests["items"] == 1


def test_max_items_stops_early(zoho_conn):
    items = list(ZohoInvoiceHook().list_items(per_page=100, max_items=150))
    assert rows(items) == expected_rows(zoho_conn)[:150]
    assert zoho_conn.requests["items"] == 2


def test_items_are_typed_with_decimals_and_none_for_empty_elements(make_emulator, use_emulator):
    item = EmulatedItem("42", "Nuts & Bolts <M4>", None, "1234567.89", "PST", "8", None, None)
    emulator = make_emulator(catalogue=Catalogue(items=[item]))
    use_emulator(emulator)
    (listed,) = ZohoInvoiceHook().list_items()
    assert listed.rate == Decimal("1234567.89")
    assert isinstance(listed.tax1_percentage, Decimal)
    assert listed.name == "Nuts & Bolts <M4>"
    assert listed.description is None and listed.tax2_name is None and listed.tax2_percentage is None
    assert listed.to_dict()["rate"] == "1234567.89"
    assert json.loads(json.dumps(listed.to_dict())) == listed.to_dict()
    assert ZohoInvoiceItem.from_dict(listed.to_dict()) == listed


def test_get_item_and_unknown_item(zoho_conn):
    hook = ZohoInvoiceHook()
    wanted = zoho_conn.catalogue.items()[17]
    assert hook.get_item(wanted.item_id).to_dict() == wanted.as_row()
    with pytest.raises(ZohoInvoiceAPIError) as caught:
        hook.get_item("4000000002001")
    assert caught.value.code == 1002
    assert "Item does not exist." in str(caught.value)
    assert not isinstance(caught.value, ZohoInvoiceAuthError)


@pytest.mark.parametrize("bad_id", ["", "  ", "../etc", "1?x=1"])
def test_get_item_refuses_malformed_ids_before_any_request(zoho_conn, bad_id):
    with pytest.raises(ValueError, match="item_id"):
        ZohoInvoiceHook().get_item(bad_id)
    assert sum(zoho_conn.requests.values()) == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"per_page": 0}, "per_page"),
        ({"per_page": 201}, "per_page"),
        ({"max_items": -1}, "max_items"),
        ({"concurrency": 0}, "concurrency"),
    ],
)
def test_out_of_range_arguments_are_refused_before_any_request(zoho_conn, kwargs, message):
    with pytest.raises(ValueError, match=message):
        ZohoInvoiceHook().list_items(**kwargs)
    assert sum(zoho_conn.requests.values()) == 0


def test_validate_token(make_emulator, use_emulator):
    emulator = make_emulator(items=2)
    use_emulator(emulator)
    assert ZohoInvoiceHook().validate_token() is True
    use_emulator(emulator, password="not-the-token")
    assert ZohoInvoiceHook().validate_token() is False
    use_emulator(emulator, apikey="not-the-key")
    assert ZohoInvoiceHook().validate_token() is False
    assert emulator.requests["items"] == 3  # one cheap call each, per_page=1


def test_invalid_ticket_is_an_auth_error_with_a_remedy_and_no_secret(emulator, use_emulator):
    use_emulator(emulator, password="wrong-token-value")
    with pytest.raises(ZohoInvoiceAuthError) as caught:
        list(ZohoInvoiceHook().list_items())
    assert caught.value.code == 14
    assert "Invalid Ticket Passed" in str(caught.value)
    assert "authtoken" in str(caught.value)
    assert "wrong-token-value" not in str(caught.value)


def test_unknown_api_key_has_its_own_error(emulator, use_emulator):
    use_emulator(emulator, apikey="unknown-key")
    with pytest.raises(ZohoInvoiceAuthError) as caught:
        ZohoInvoiceHook().get_page(1)
    assert caught.value.code == 15
    assert "API key" in str(caught.value)
    assert "unknown-key" not in str(caught.value)


def test_seed_style_malformed_error_still_reports_code_and_message(make_emulator, use_emulator):
    emulator = make_emulator(items=1, seed_style_errors=True)
    use_emulator(emulator, password="bad")
    with pytest.raises(ZohoInvoiceAuthError) as caught:
        ZohoInvoiceHook().get_page(1)
    assert (caught.value.code, caught.value.message) == (14, "Invalid Ticket Passed")


def test_html_page_is_a_response_error_with_a_snippet(make_emulator, use_emulator):
    emulator = make_emulator(items=5, faults=FaultPlan(sequence=["html-200"]))
    use_emulator(emulator)
    with pytest.raises(ZohoInvoiceResponseError) as caught:
        ZohoInvoiceHook().get_page(1)
    assert caught.value.status_code == 200
    assert "502 Bad Gateway" in caught.value.snippet


def test_truncated_xml_is_a_response_error(make_emulator, use_emulator):
    emulator = make_emulator(items=5, faults=FaultPlan(sequence=["truncate"]))
    use_emulator(emulator)
    with pytest.raises(ZohoInvoiceResponseError, match="not well-formed XML"):
        ZohoInvoiceHook().get_page(1)


def test_5xx_that_outlasts_the_retries_names_the_status(make_emulator, use_emulator):
    emulator = make_emulator(items=5, faults=FaultPlan(sequence=["503"] * 3))
    use_emulator(emulator, max_retries=2)
    with pytest.raises(ZohoInvoiceResponseError, match="HTTP 503") as caught:
        ZohoInvoiceHook().get_page(1)
    assert caught.value.status_code == 503
    assert emulator.requests["items"] == 3


def test_unknown_path_through_the_generic_call(zoho_conn):
    with pytest.raises(ZohoInvoiceAPIError) as caught:
        ZohoInvoiceHook().call("/api/nothing/")
    assert caught.value.code == 1


def test_generic_call_returns_the_parsed_response(zoho_conn):
    response = ZohoInvoiceHook().call("/api/items/", {"per_page": 1})
    assert response["Items"]["Item"]["ItemID"] == zoho_conn.catalogue.items()[0].item_id
    assert response["PageContext"]["@Total"] == "450"


def test_generic_call_refuses_get_and_odd_paths(zoho_conn):
    with pytest.raises(ValueError, match="POST"):
        ZohoInvoiceHook().call("/api/items/", method="GET")
    with pytest.raises(ValueError, match="path"):
        ZohoInvoiceHook().call("/api/../admin")


def test_user_agent_names_the_package(zoho_conn):
    from airflow_provider_zoho_invoice import __version__

    ZohoInvoiceHook().get_page(1, 1)
    assert zoho_conn.user_agents == {f"airflow-provider-zoho-invoice/{__version__}"}


def test_one_session_is_reused(zoho_conn):
    hook = ZohoInvoiceHook()
    list(hook.list_items(per_page=50))
    assert hook.session is hook.get_conn()
    assert zoho_conn.connections_opened == 1


def test_test_connection(make_emulator, use_emulator):
    emulator = make_emulator(items=1)
    use_emulator(emulator)
    assert ZohoInvoiceHook().test_connection() == (True, "Zoho Invoice accepted the authtoken and API key.")
    use_emulator(emulator, password="bad-token-value")
    ok, message = ZohoInvoiceHook().test_connection()
    assert not ok and "Invalid Ticket Passed" in message and "bad-token-value" not in message


def test_test_connection_never_raises_when_unreachable(monkeypatch):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed once the block ends: nothing listens there
    monkeypatch.setenv(
        "AIRFLOW_CONN_ZOHO_INVOICE_DEFAULT",
        json.dumps(
            {
                "conn_type": "zoho_invoice",
                "host": f"http://127.0.0.1:{port}",
                "password": AUTHTOKEN,
                "extra": {"apikey": APIKEY, "max_retries": 1, "backoff": 0.01},
            }
        ),
    )
    ok, message = ZohoInvoiceHook().test_connection()
    assert not ok
    assert "after 1 attempt:" in message and "Connection refused" in message, message
    with pytest.raises(ZohoInvoiceConnectionError):
        ZohoInvoiceHook().get_page(1)


def test_init_does_no_lookup_or_network():
    hook = ZohoInvoiceHook("a_connection_that_does_not_exist")
    assert hook.zoho_invoice_conn_id == "a_connection_that_does_not_exist"
    assert "config" not in hook.__dict__ and "session" not in hook.__dict__


class TestAuthtoken:
    @pytest.fixture
    def accounts_emulator(self, make_emulator, use_emulator):
        accounts = {
            "owner@example.com": Account("right-password"),
            "twofa@example.com": Account("login-password", two_factor=True, app_password="app-password"),
            "full@example.com": Account("full-password", max_tokens=1, tokens=["old-token"]),
        }
        emulator = make_emulator(items=2, accounts=accounts)
        use_emulator(emulator, password=None)
        return emulator

    def test_creates_a_token_that_then_works(self, accounts_emulator, use_emulator):
        token = ZohoInvoiceHook().generate_authtoken("owner@example.com", "right-password")
        assert len(token) == 32
        assert token in accounts_emulator.authtokens
        use_emulator(accounts_emulator, password=token)
        assert ZohoInvoiceHook().validate_token()

    def test_two_factor_account_works_with_its_application_password(self, accounts_emulator):
        assert ZohoInvoiceHook().generate_authtoken("twofa@example.com", "app-password")

    @pytest.mark.parametrize(
        ("email", "password", "cause", "advice"),
        [
            ("nobody@example.com", "whatever-pass", "NO_SUCH_USER", "email ID"),
            ("owner@example.com", "wrong-password", "INVALID_PASSWORD", "password"),
            ("twofa@example.com", "login-password", "WEB_LOGIN_REQUIRED", "application-specific password"),
            ("full@example.com", "full-password", "EXCEEDED_MAXIMUM_ALLOWED_AUTHTOKENS", "delete unused"),
        ],
    )
    def test_each_failure_cause(self, accounts_emulator, email, password, cause, advice):
        with pytest.raises(ZohoInvoiceAuthError) as caught:
            ZohoInvoiceHook().generate_authtoken(email, password)
        assert caught.value.cause == cause
        assert cause in str(caught.value) and advice in str(caught.value)
        assert password not in str(caught.value)

    def test_invalid_credentials_when_the_scope_is_wrong(self, accounts_emulator, use_emulator):
        use_emulator(accounts_emulator, password=None, scope="crmapi")
        with pytest.raises(ZohoInvoiceAuthError) as caught:
            ZohoInvoiceHook().generate_authtoken("owner@example.com", "right-password")
        assert caught.value.cause == "INVALID_CREDENTIALS"

    def test_credentials_travel_in_the_body_not_the_url(self, accounts_emulator):
        ZohoInvoiceHook().generate_authtoken("owner@example.com", "right-password")
        assert accounts_emulator.query_strings == [""]

    def test_missing_arguments(self, accounts_emulator):
        with pytest.raises(ValueError, match="email_id and password"):
            ZohoInvoiceHook().generate_authtoken("", "x")


class TestConnectionConfig:
    def hook_for(self, monkeypatch, conn: dict[str, object] | str) -> ZohoInvoiceHook:
        monkeypatch.setenv("AIRFLOW_CONN_CFG", conn if isinstance(conn, str) else json.dumps(conn))
        return ZohoInvoiceHook("cfg")

    def test_defaults(self, monkeypatch):
        config = self.hook_for(
            monkeypatch, {"conn_type": "zoho_invoice", "password": "tok", "extra": {"apikey": "key"}}
        ).config
        assert config.base_url == "https://invoice.zoho.com"
        assert config.accounts_url == "https://accounts.zoho.com"
        assert config.scope == "invoiceapi"
        assert (config.transport.connect_timeout, config.transport.read_timeout) == (10.0, 30.0)
        assert (config.transport.max_retries, config.transport.requests_per_minute) == (5, 100)
        assert config.transport.verify is True

    def test_prefixed_extras_from_older_forms_are_read(self, monkeypatch):
        config = self.hook_for(
            monkeypatch,
            {
                "conn_type": "zoho_invoice",
                "host": "invoice.example.com",
                "password": "tok",
                "extra": {"extra__zoho_invoice__apikey": "key", "extra__zoho_invoice__timeout": "12.5"},
            },
        ).config
        assert config.apikey == "key"
        assert config.transport.read_timeout == 12.5
        assert config.base_url == "https://invoice.example.com"

    def test_repr_hides_credentials(self, monkeypatch):
        config = self.hook_for(
            monkeypatch,
            {"conn_type": "zoho_invoice", "password": "tok-secret", "extra": {"apikey": "key-secret"}},
        ).config
        assert "secret" not in repr(config)

    @pytest.mark.parametrize(
        ("conn", "field"),
        [
            ({"host": "ftp://invoice.zoho.com"}, "host"),
            ({"host": "https://"}, "host"),
            ({"host": "https://invoice.zoho.com:99999"}, "port"),
            ({"host": "http://invoice.zoho.com"}, "https://"),
            ({"host": "https://user:pw-secret@invoice.zoho.com"}, "credentials"),
            ({"host": "https://invoice.zoho.com/?authtoken=secret-in-url"}, "query"),
            ({"extra": {"apikey": "k", "timeout": "soon"}}, "timeout"),
            ({"extra": {"apikey": "k", "timeout": -1}}, "timeout"),
            ({"extra": {"apikey": "k", "max_retries": 1.5}}, "max_retries"),
            ({"extra": {"apikey": "k", "requests_per_minute": "many"}}, "requests_per_minute"),
            ({"extra": {"apikey": "k", "accounts_url": "not a url at all"}}, "accounts_url"),
            ({"extra": {"apikey": 12345}}, "apikey"),
            ({"extra": {"apikey": "k", "verify": 3}}, "verify"),
        ],
    )
    def test_bad_config_names_the_field(self, monkeypatch, conn, field):
        full = {"conn_type": "zoho_invoice", "password": "tok-secret", "extra": {"apikey": "k"}, **conn}
        with pytest.raises(ZohoInvoiceConfigError) as caught:
            self.hook_for(monkeypatch, full).config  # noqa: B018
        message = str(caught.value)
        assert "'cfg'" in message and field in message
        assert "secret" not in message

    def test_extra_that_is_not_json(self, monkeypatch):
        monkeypatch.setenv("AIRFLOW_CONN_CFG", "zoho-invoice://:tok@invoice.zoho.com?__extra__=%7Bnot-json")
        with pytest.raises(Exception, match="JSON"):
            ZohoInvoiceHook("cfg").config  # noqa: B018

    def test_missing_authtoken_and_apikey_are_named(self, monkeypatch, emulator):
        hook = self.hook_for(
            monkeypatch, {"conn_type": "zoho_invoice", "host": emulator.url, "extra": {"apikey": "k"}}
        )
        with pytest.raises(ZohoInvoiceConfigError, match=r"no authtoken: put it in the 'Auth Token' field"):
            hook.get_page(1)
        hook = self.hook_for(
            monkeypatch, {"conn_type": "zoho_invoice", "host": emulator.url, "password": "tok"}
        )
        with pytest.raises(ZohoInvoiceConfigError, match=r"no API key.*'API Key' field.*apikey"):
            hook.get_page(1)
        assert sum(emulator.requests.values()) == 0

    def test_loopback_http_is_allowed(self, monkeypatch):
        for host in ("http://localhost:8080", "http://127.0.0.1:8080", "http://[::1]:8080"):
            config = self.hook_for(monkeypatch, {"conn_type": "zoho_invoice", "host": host}).config
            assert config.base_url == host

    def test_hook_arguments_override_the_connection(self, monkeypatch):
        monkeypatch.setenv(
            "AIRFLOW_CONN_CFG",
            json.dumps({"conn_type": "zoho_invoice", "extra": {"timeout": 5, "max_retries": 9}}),
        )
        config = ZohoInvoiceHook("cfg", timeout=2, max_retries=0, requests_per_minute=0).config
        assert (
            config.transport.read_timeout,
            config.transport.max_retries,
            config.transport.requests_per_minute,
        ) == (2.0, 0, 0)


def test_proxy_environment_is_honoured(make_emulator, monkeypatch):
    """The emulator stands in for a proxy: the target port is closed, so only a proxied call can succeed."""
    emulator = make_emulator(items=3)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    conn = {
        "conn_type": "zoho_invoice",
        "host": f"http://localhost:{closed_port}",
        "password": AUTHTOKEN,
        "extra": {"apikey": APIKEY, "max_retries": 0},
    }
    monkeypatch.setenv("AIRFLOW_CONN_ZOHO_INVOICE_DEFAULT", json.dumps(conn))
    monkeypatch.setenv("HTTP_PROXY", emulator.url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    assert len(list(ZohoInvoiceHook().list_items())) == 3
    monkeypatch.setenv("NO_PROXY", "localhost")
    with pytest.raises(ZohoInvoiceConnectionError):
        ZohoInvoiceHook().get_page(1)


@pytest.mark.parametrize("concurrency", [2, 8, 16])
def test_concurrent_listing_keeps_catalogue_order_and_reuses_connections(zoho_conn, concurrency):
    hook = ZohoInvoiceHook()
    items = list(hook.list_items(per_page=20, concurrency=concurrency))
    assert rows(items) == expected_rows(zoho_conn)
    assert zoho_conn.requests["items"] == 23  # 450 items, 20 a page
    assert zoho_conn.connections_opened <= concurrency + 1  # the pool grows to the workers, no further


def test_stopping_early_cancels_prefetched_pages(zoho_conn):
    hook = ZohoInvoiceHook()
    iterator = hook.list_items(per_page=10, concurrency=4)
    first = [next(iterator) for _ in range(15)]
    iterator.close()  # the consumer stops: queued pages are cancelled, workers shut down
    assert rows(first) == expected_rows(zoho_conn)[:15]
    assert zoho_conn.requests["items"] <= 1 + 2 * 4 + 1


def test_find_item_by_id_or_exact_name(zoho_conn):
    hook = ZohoInvoiceHook()
    wanted = zoho_conn.catalogue.items()[321]
    assert hook.find_item(item_id=wanted.item_id).to_dict() == wanted.as_row()
    assert hook.find_item(name=wanted.name).to_dict() == wanted.as_row()
    assert hook.find_item(item_id="4000000002001") is None
    assert hook.find_item(name=wanted.name.lower()) is None
    with pytest.raises(ValueError, match="exactly one of item_id or name"):
        hook.find_item(item_id="1", name="x")
