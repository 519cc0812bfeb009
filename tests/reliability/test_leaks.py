"""With known secrets configured, drive every failure path and look for them everywhere output goes."""

from __future__ import annotations

import json
import logging
import socket
import traceback
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from airflow_provider_zoho_invoice.emulator import FAULT_KINDS, Account, FaultPlan
from airflow_provider_zoho_invoice.hooks.zoho_invoice import ZohoInvoiceHook
from tests.conftest import dag_source, task_states

AUTHTOKEN = "LEAKTEST-authtoken-3f9a1c"
APIKEY = "LEAKTEST-apikey-77be20"
PASSWORD = "LEAKTEST-password-c0ffee"
WRONG_TOKEN = "LEAKTEST-wrongtoken-aa11"
WRONG_KEY = "LEAKTEST-wrongkey-bb22"
WRONG_PASSWORD = "LEAKTEST-wrongpassword-dd44"
APP_PASSWORD = "LEAKTEST-apppassword-ee55"
SECRETS = [AUTHTOKEN, APIKEY, PASSWORD, WRONG_TOKEN, WRONG_KEY, WRONG_PASSWORD, APP_PASSWORD]


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))  # the formatter appends the traceback, if any


def exception_texts(exc: BaseException) -> Iterator[str]:
    """Message, repr and traceback of an exception and of every cause and context, suppressed or not."""
    yield "".join(traceback.format_exception(exc))
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield str(current)
        yield repr(current)
        yield repr(current.args)
        pending += [current.__cause__, current.__context__]


@pytest.fixture
def capture_logs() -> Iterator[Collect]:
    handler = Collect()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    for name in ("urllib3", "requests", "airflow", "tenacity"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)
    root.setLevel(old_level)


def test_no_secret_reaches_logs_output_or_exceptions(
    make_emulator, use_emulator, capture_logs, capfd, monkeypatch
):
    accounts = {
        "owner@example.com": Account(PASSWORD),
        "twofa@example.com": Account(PASSWORD, two_factor=True, app_password=APP_PASSWORD),
        "full@example.com": Account(PASSWORD, max_tokens=0),
    }
    texts: list[str] = []
    secrets = list(SECRETS)

    def drive(action: Callable[[], Any]) -> Any:
        try:
            return action()
        except Exception as exc:
            texts.extend(exception_texts(exc))
            return None

    for kind in FAULT_KINDS:
        emulator = make_emulator(
            items=450,
            authtokens=[AUTHTOKEN],
            apikeys=[APIKEY],
            accounts=accounts,
            faults=FaultPlan(sequence=[kind, kind, kind], slow_seconds=0.6, retry_after=0),
        )
        use_emulator(emulator, password=AUTHTOKEN, apikey=APIKEY, max_retries=2, backoff=0.001, timeout=0.3)
        hook = ZohoInvoiceHook()
        drive(lambda hook=hook: list(hook.list_items(per_page=100, concurrency=2)))
        texts.append(repr(hook.test_connection()))

    emulator = make_emulator(items=50, authtokens=[AUTHTOKEN], apikeys=[APIKEY], accounts=accounts)
    for password, key in ((WRONG_TOKEN, APIKEY), (AUTHTOKEN, WRONG_KEY)):
        use_emulator(emulator, password=password, apikey=key, backoff=0.001)
        drive(lambda: list(ZohoInvoiceHook().list_items()))
        drive(lambda: ZohoInvoiceHook().get_item("4000000002000"))
        texts.append(repr(ZohoInvoiceHook().test_connection()))
    use_emulator(emulator, password=AUTHTOKEN, apikey=APIKEY)
    for email, password in (
        ("owner@example.com", PASSWORD),
        ("owner@example.com", WRONG_PASSWORD),
        ("nobody@example.com", PASSWORD),
        ("twofa@example.com", PASSWORD),
        ("twofa@example.com", APP_PASSWORD),
        ("full@example.com", PASSWORD),
    ):
        token = drive(
            lambda email=email, password=password: ZohoInvoiceHook().generate_authtoken(email, password)
        )
        if token:
            secrets.append(token)
    assert len(secrets) == len(SECRETS) + 2  # two tokens were created, and are secrets too

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    for host in (
        f"http://127.0.0.1:{closed_port}",
        f"https://user:{PASSWORD}@invoice.zoho.com",
        f"https://invoice.zoho.com/?authtoken={AUTHTOKEN}",
        f"http://{APIKEY}.example.com",
    ):
        extra = {"apikey": APIKEY, "max_retries": 1, "backoff": 0.001}
        conn = {"conn_type": "zoho_invoice", "host": host, "password": AUTHTOKEN, "extra": extra}
        monkeypatch.setenv("AIRFLOW_CONN_ZOHO_INVOICE_DEFAULT", json.dumps(conn))
        drive(lambda: ZohoInvoiceHook().validate_token())
        texts.append(repr(ZohoInvoiceHook().test_connection()))

    out, err = capfd.readouterr()
    everything = [*texts, *capture_logs.lines, out, err]
    # the capture works: urllib3's request lines and the hook's retry lines are in it
    assert any('"POST /api/items/ HTTP/1.1"' in line for line in capture_logs.lines)
    assert "retrying in" in out
    assert any("Invalid Ticket Passed" in text for text in texts)
    for secret in secrets:
        leaks = [text[:300] for text in everything if secret in text]
        assert not leaks, f"a secret leaked: {leaks[:3]}"


def test_no_secret_reaches_xcom_rendered_fields_or_task_logs(
    run_dag, make_emulator, use_emulator, capfd, tmp_path
):
    emulator = make_emulator(
        items=40, authtokens=[AUTHTOKEN], apikeys=[APIKEY], pending_apikeys={WRONG_KEY: 0.5}
    )
    use_emulator(emulator, password=AUTHTOKEN, apikey=APIKEY)
    use_emulator(emulator, conn_id="rejected", password=WRONG_TOKEN, apikey=APIKEY)
    use_emulator(emulator, conn_id="pending", password=AUTHTOKEN, apikey=WRONG_KEY)
    body = f"""
        ZohoInvoiceListItemsOperator(task_id="to_xcom", max_items=5)
        ZohoInvoiceListItemsOperator(task_id="to_file", output_path="{tmp_path}/items.jsonl")
        ZohoInvoiceValidateTokenOperator(task_id="good")
        ZohoInvoiceValidateTokenOperator(task_id="rejected", zoho_invoice_conn_id="rejected")
        ZohoInvoiceListItemsOperator(task_id="rejected_list", zoho_invoice_conn_id="rejected")
        ZohoInvoiceTokenSensor(task_id="pending", zoho_invoice_conn_id="pending", poke_interval=0.2,
                               timeout=30, deferrable=True)
        ZohoInvoiceItemSensor(task_id="item", item_id="4000000002003", poke_interval=0.2, timeout=30)
    """
    source = dag_source("leaks", body)
    dag_run = run_dag(source, "leaks")
    states = task_states(dag_run)
    assert states == {
        "to_xcom": "success",
        "to_file": "success",
        "good": "success",
        "rejected": "failed",
        "rejected_list": "failed",
        "pending": "success",
        "item": "success",
    }
    from airflow.models.renderedtifields import RenderedTaskInstanceFields
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        xcoms = [
            json.dumps(XComModel.deserialize_value(row), default=str)
            for row in session.query(XComModel).filter_by(dag_id="leaks", run_id=dag_run.run_id)
        ]
        rendered = [
            json.dumps(row.rendered_fields, default=str)
            for row in session.query(RenderedTaskInstanceFields).filter_by(
                dag_id="leaks", run_id=dag_run.run_id
            )
        ]
    assert len(xcoms) >= 4 and len(rendered) == 7
    out, err = capfd.readouterr()
    assert "Invalid Ticket Passed" in out
    for secret in SECRETS:
        for text in (*xcoms, *rendered, out, err):
            assert secret not in text


def test_run_time_secrets_are_registered_with_airflows_masker(make_emulator, use_emulator):
    """Inside a task, Airflow's masker then hides them from any log line, whoever writes it."""
    from airflow.sdk.log import redact

    accounts = {"owner@example.com": Account(PASSWORD)}
    emulator = make_emulator(items=1, authtokens=[AUTHTOKEN], apikeys=[APIKEY], accounts=accounts)
    use_emulator(emulator, password=AUTHTOKEN, apikey=APIKEY)
    hook = ZohoInvoiceHook()
    assert hook.validate_token()
    token = hook.generate_authtoken("owner@example.com", PASSWORD)
    for secret in (AUTHTOKEN, APIKEY, token):
        assert redact(f"value: {secret}") == "value: ***"


CLIENT_SECRET = "LEAKTEST-clientsecret-5e5e"
REFRESH_TOKEN = "1000.LEAKTEST-refresh-6f6f"
WRONG_SECRET = "LEAKTEST-wrongsecret-7a7a"
WRONG_REFRESH = "1000.LEAKTEST-wrongrefresh-8b8b"
GRANT_CODE = "1000.LEAKTEST-grantcode-9c9c"
OAUTH_SECRETS = [CLIENT_SECRET, REFRESH_TOKEN, WRONG_SECRET, WRONG_REFRESH, GRANT_CODE]


def oauth_emulator_for_leaks(make_emulator, **kwargs):
    return make_emulator(records=60, client_secret=CLIENT_SECRET, refresh_token=REFRESH_TOKEN, **kwargs)


def test_no_oauth_secret_reaches_logs_output_or_exceptions(
    make_emulator, use_oauth_emulator, capture_logs, capfd
):
    from airflow_provider_zoho_invoice.hooks.zoho_invoice_oauth import ZohoInvoiceOAuthHook

    texts: list[str] = []
    emulators = []

    def drive(action: Callable[[], Any]) -> Any:
        try:
            return action()
        except Exception as exc:
            texts.extend(exception_texts(exc))
            return None

    for kind in FAULT_KINDS:
        emulator = oauth_emulator_for_leaks(
            make_emulator, faults=FaultPlan(sequence=[kind] * 4, slow_seconds=0.6, retry_after=0)
        )
        emulators.append(emulator)
        use_oauth_emulator(emulator, max_retries=2, backoff=0.001, timeout=0.3, token_cache="none")
        hook = ZohoInvoiceOAuthHook()
        drive(lambda hook=hook: list(hook.list_records("invoices", per_page=20, concurrency=2)))
        texts.append(repr(ZohoInvoiceOAuthHook().test_connection()))

    emulator = oauth_emulator_for_leaks(make_emulator, token_lifetime=0.5)
    emulators.append(emulator)
    for change in ({"client_secret": WRONG_SECRET}, {"refresh_token": WRONG_REFRESH}, {}):
        use_oauth_emulator(emulator, backoff=0.001, **change)
        drive(lambda: list(ZohoInvoiceOAuthHook().list_records("contacts", per_page=10)))
        drive(lambda: ZohoInvoiceOAuthHook().get_record("invoices", "260815000299999999"))
        texts.append(repr(ZohoInvoiceOAuthHook().test_connection()))
    emulator = oauth_emulator_for_leaks(make_emulator)  # tokens live an hour, unless expired by hand
    emulators.append(emulator)
    use_oauth_emulator(emulator, backoff=0.001)
    hook = ZohoInvoiceOAuthHook()
    drive(lambda: list(hook.list_records("contacts", per_page=10)))  # the token is accepted ...
    emulator.accounts.expire_access_tokens()
    drive(lambda: list(hook.list_records("contacts", per_page=10)))  # ... then expires: one refresh
    drive(lambda: ZohoInvoiceOAuthHook().exchange_grant_code(GRANT_CODE))

    out, err = capfd.readouterr()
    everything = [*texts, *capture_logs.lines, out, err]
    access_tokens = [token for emulator in emulators for token in emulator.accounts.oauth.issued]
    assert len(access_tokens) >= 3
    assert any("GET /invoice/v3/" in line for line in capture_logs.lines)  # urllib3's lines are captured
    assert any("invalid_code" in text for text in texts) and "refreshing it once" in out
    for secret in [*OAUTH_SECRETS, *access_tokens]:
        leaks = [text[:300] for text in everything if secret in text]
        assert not leaks, f"a secret leaked: {leaks[:3]}"


def test_no_oauth_secret_reaches_xcom_rendered_fields_or_task_logs(
    run_dag, make_emulator, use_oauth_emulator, capfd, tmp_path
):
    emulator = oauth_emulator_for_leaks(make_emulator)
    use_oauth_emulator(emulator)
    use_oauth_emulator(emulator, conn_id="revoked", refresh_token=WRONG_REFRESH)
    body = f"""
        ZohoInvoiceListItemsOperator(task_id="items", max_items=5)
        ZohoInvoiceListRecordsOperator(task_id="invoices", resource="invoices", max_records=5)
        ZohoInvoiceListRecordsOperator(task_id="to_file", resource="contacts", output_path="{tmp_path}/c.jsonl")
        ZohoInvoiceValidateTokenOperator(task_id="good")
        ZohoInvoiceValidateTokenOperator(task_id="revoked", zoho_invoice_conn_id="revoked")
        ZohoInvoiceTokenSensor(task_id="sensor", poke_interval=0.2, timeout=30, deferrable=True)
        ZohoInvoiceItemSensor(task_id="item", name="Item 00002", poke_interval=0.2, timeout=30)
    """
    dag_run = run_dag(dag_source("oauth_leaks", body), "oauth_leaks")
    assert task_states(dag_run) == {
        "items": "success",
        "invoices": "success",
        "to_file": "success",
        "good": "success",
        "revoked": "failed",
        "sensor": "success",
        "item": "success",
    }
    from airflow.models.renderedtifields import RenderedTaskInstanceFields
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        stored = [
            json.dumps(XComModel.deserialize_value(row), default=str)
            for row in session.query(XComModel).filter_by(dag_id="oauth_leaks", run_id=dag_run.run_id)
        ] + [
            json.dumps(row.rendered_fields, default=str)
            for row in session.query(RenderedTaskInstanceFields).filter_by(
                dag_id="oauth_leaks", run_id=dag_run.run_id
            )
        ]
    out, err = capfd.readouterr()
    assert "invalid_code" in out and len(stored) >= 12
    for secret in [*OAUTH_SECRETS, *emulator.accounts.oauth.issued]:
        for text in (*stored, out, err):
            assert secret not in text


def test_oauth_run_time_secrets_are_registered_with_airflows_masker(make_emulator, use_oauth_emulator):
    from airflow.sdk.log import redact

    from airflow_provider_zoho_invoice.hooks.zoho_invoice_oauth import ZohoInvoiceOAuthHook

    emulator = oauth_emulator_for_leaks(make_emulator)
    use_oauth_emulator(emulator)
    assert ZohoInvoiceOAuthHook().validate_token()
    (access_token,) = emulator.accounts.oauth.issued
    for secret in (CLIENT_SECRET, REFRESH_TOKEN, access_token):
        assert redact(f"value: {secret}") == "value: ***"


def test_secrets_a_server_echoes_back_are_masked_in_errors(make_emulator, use_oauth_emulator, use_emulator):
    """Zoho's message (or error) quoting the request's token or form values never reaches an exception."""
    from airflow_provider_zoho_invoice.exceptions import ZohoInvoiceError
    from airflow_provider_zoho_invoice.hooks.zoho_invoice_oauth import ZohoInvoiceOAuthHook

    texts: list[str] = []
    emulators = []
    # The token request's answer quotes the client secret and refresh token; then an API answer
    # quotes the Authorization header (the access token).
    for sequence in (["echo-request"], ["ok", "echo-request"]):
        emulator = oauth_emulator_for_leaks(make_emulator, faults=FaultPlan(sequence=sequence))
        emulators.append(emulator)
        use_oauth_emulator(emulator, max_retries=0, token_cache="none")
        with pytest.raises(ZohoInvoiceError) as caught:
            list(ZohoInvoiceOAuthHook().list_records("invoices"))
        assert "Invalid value passed: " in str(caught.value) and "***" in str(caught.value)
        texts.extend(exception_texts(caught.value))
    legacy = make_emulator(
        items=5, authtokens=[AUTHTOKEN], apikeys=[APIKEY], faults=FaultPlan(sequence=["echo-request"])
    )
    use_emulator(legacy, password=AUTHTOKEN, apikey=APIKEY, max_retries=0)
    with pytest.raises(ZohoInvoiceError) as caught:
        list(ZohoInvoiceHook().list_items())
    texts.extend(exception_texts(caught.value))
    access_tokens = [token for emulator in emulators for token in emulator.accounts.oauth.issued]
    assert access_tokens
    for secret in [CLIENT_SECRET, REFRESH_TOKEN, AUTHTOKEN, APIKEY, *access_tokens]:
        leaks = [text[:300] for text in texts if secret in text]
        assert not leaks, f"a secret leaked: {leaks[:3]}"
