"""Shared fixtures: an isolated Airflow home, the emulator on loopback, and DAG runs through Airflow."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_DAGS = ROOT / "example_dags"
SEED_FILE = ROOT.parent / "shared" / "seed" / "zoho_invoice_legacy_api.txt"

# Airflow reads its configuration on first import, so the environment is set before any test imports it.
_SESSION_DIR = Path(tempfile.mkdtemp(prefix="zoho-invoice-tests-"))
DAGS_FOLDER = _SESSION_DIR / "dags"
DAGS_FOLDER.mkdir()
os.environ.update(
    {
        "AIRFLOW_HOME": str(_SESSION_DIR / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE": "False",
        # The OpenLineage provider is installed for the lineage tests; its listener stays off elsewhere.
        "AIRFLOW__OPENLINEAGE__DISABLED": "True",
    }
)


from airflow_provider_zoho_invoice.emulator import (  # noqa: E402
    DEFAULT_APIKEY,
    DEFAULT_AUTHTOKEN,
    ZohoInvoiceEmulator,
)
from airflow_provider_zoho_invoice.emulator import connection_json as emulator_connection_json  # noqa: E402

AUTHTOKEN = DEFAULT_AUTHTOKEN
APIKEY = DEFAULT_APIKEY


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    shutil.rmtree(_SESSION_DIR, ignore_errors=True)


def connection_json(url: str, *, password: str | None = AUTHTOKEN, apikey: str = APIKEY, **extra: Any) -> str:
    """The emulator's connection JSON with a short retry backoff, so fault tests stay fast."""
    return emulator_connection_json(url, authtoken=password, apikey=apikey, **{"backoff": 0.01, **extra})


@pytest.fixture
def make_emulator() -> Iterator[Callable[..., ZohoInvoiceEmulator]]:
    """Start emulators on free loopback ports; all are stopped after the test."""
    started: list[ZohoInvoiceEmulator] = []

    def start(**kwargs: Any) -> ZohoInvoiceEmulator:
        emulator = ZohoInvoiceEmulator(**kwargs).start()
        started.append(emulator)
        return emulator

    yield start
    for emulator in started:
        emulator.stop()


@pytest.fixture
def emulator(make_emulator: Callable[..., ZohoInvoiceEmulator]) -> ZohoInvoiceEmulator:
    return make_emulator(items=450, seed=7)


@pytest.fixture
def use_emulator(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Point a connection id at an emulator through ``AIRFLOW_CONN_*``."""

    def point(emulator: ZohoInvoiceEmulator, conn_id: str = "zoho_invoice_default", **kwargs: Any) -> None:
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", connection_json(emulator.url, **kwargs))

    return point


@pytest.fixture
def zoho_conn(emulator: ZohoInvoiceEmulator, use_emulator: Callable[..., None]) -> ZohoInvoiceEmulator:
    use_emulator(emulator)
    return emulator


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """The session's metadata database, migrated once, on first use: tests that need no database
    (most of them) never wait for it."""
    airflow = Path(sys.executable).with_name("airflow")
    result = subprocess.run(
        [str(airflow), "db", "migrate"], capture_output=True, text=True, timeout=300, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"airflow db migrate failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return Path(os.environ["AIRFLOW_HOME"])


@pytest.fixture
def run_dag(airflow_db: Path) -> Callable[..., Any]:
    """Run a DAG file through Airflow's own ``dag.test()``; the file is copied into the dags folder."""

    def run(source: Path | str, dag_id: str, *, file_name: str | None = None, **test_kwargs: Any) -> Any:
        try:
            from airflow.dag_processing.dagbag import DagBag
        except ImportError:  # Airflow 3.0
            from airflow.models.dagbag import DagBag

        target = DAGS_FOLDER / (file_name or (source.name if isinstance(source, Path) else f"{dag_id}.py"))
        if isinstance(source, Path):
            shutil.copy(source, target)
        else:
            target.write_text(source)
        bag = DagBag(dag_folder=str(target))
        assert not bag.import_errors, bag.import_errors
        dag = bag.get_dag(dag_id)
        assert dag is not None, f"{dag_id} not found in {target}"
        return dag.test(**test_kwargs)

    return run


def dag_source(dag_id: str, body: str) -> str:
    """A DAG file with the provider's operators and sensors imported and ``body`` inside the DAG."""
    header = textwrap.dedent(
        f"""
        from datetime import datetime
        from airflow.sdk import DAG, task
        from airflow_provider_zoho_invoice.operators.zoho_invoice import (
            ZohoInvoiceListItemsOperator, ZohoInvoiceListRecordsOperator, ZohoInvoiceValidateTokenOperator,
        )
        from airflow_provider_zoho_invoice.sensors.zoho_invoice import (
            ZohoInvoiceItemSensor, ZohoInvoiceTokenSensor,
        )

        with DAG(dag_id="{dag_id}", schedule=None, start_date=datetime(2026, 1, 1), catchup=False) as dag:
        """
    )
    return header + textwrap.indent(textwrap.dedent(body), "    ")


def task_states(dag_run: Any) -> dict[str, str]:
    from airflow.utils.session import create_session

    with create_session() as session:
        return {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances(session=session)}


def xcom_value(dag_run: Any, task_id: str) -> Any:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = (
            session.query(XComModel)
            .filter_by(dag_id=dag_run.dag_id, run_id=dag_run.run_id, task_id=task_id, key="return_value")
            .one_or_none()
        )
        return None if row is None else XComModel.deserialize_value(row)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    from tests.reliability.stats import summary_line

    line = summary_line()
    if line:
        terminalreporter.write_line(line)
    from tests.v3.filter_report import summary_lines

    for line in summary_lines():
        terminalreporter.write_line(line)


@pytest.fixture
def use_oauth_emulator(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[..., None]:
    """Point a connection id at an emulator's v3 API; each test gets its own token cache directory."""
    monkeypatch.setenv("AIRFLOW__ZOHO_INVOICE__TOKEN_CACHE_DIR", str(tmp_path / "tokens"))

    def point(emulator: ZohoInvoiceEmulator, conn_id: str = "zoho_invoice_default", **extra: Any) -> None:
        monkeypatch.setenv(
            f"AIRFLOW_CONN_{conn_id.upper()}", emulator.oauth_connection_json(**{"backoff": 0.01, **extra})
        )

    return point


@pytest.fixture
def oauth_emulator(
    make_emulator: Callable[..., ZohoInvoiceEmulator], use_oauth_emulator: Callable[..., None]
) -> ZohoInvoiceEmulator:
    emulator = make_emulator(items=0, records=450, seed=7)
    use_oauth_emulator(emulator)
    return emulator


class ConnectionKind:
    """One connection type against its emulator, so that protocol twins are one test run twice.

    ``rows(n)``: the first n items as XCom carries them; ``add_item()``: add an item while a DAG
    waits, returning its id, name and expected row; ``break_credentials(conn_id)``: point another
    connection at the emulator with one credential wrong, returning that wrong value and the words
    the failure must contain.
    """

    def __init__(
        self, conn_type: str, emulator: ZohoInvoiceEmulator, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        self.conn_type = conn_type
        self.emulator = emulator
        self._monkeypatch = monkeypatch
        self.point()

    @property
    def legacy(self) -> bool:
        return self.conn_type == "zoho_invoice"

    def point(self, conn_id: str = "zoho_invoice_default", **extra: Any) -> None:
        value = (
            connection_json(self.emulator.url, **extra)
            if self.legacy
            else self.emulator.oauth_connection_json(**{"backoff": 0.01, **extra})
        )
        self._monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", value)

    def rows(self, count: int) -> list[dict[str, Any]]:
        if self.legacy:
            return [item.as_row() for item in self.emulator.catalogue.items()[:count]]
        records = self.emulator.records
        newest = records.size("items") - 1  # Zoho lists newest first when no sort is asked
        return [self.as_sent(records.record("items", newest - index)) for index in range(count)]

    @staticmethod
    def as_sent(record: dict[str, Any]) -> dict[str, Any]:
        """A v3 record as XCom carries it after the wire: whole numbers stay numbers, others decimal text."""
        import json

        from airflow_provider_zoho_invoice.v3.answers import encode

        row: dict[str, Any] = json.loads(encode(record).decode(), parse_float=str)
        return row

    def add_item(self) -> tuple[str, str, dict[str, Any]]:
        name = "Seasonal Gift Box"
        if self.legacy:
            from airflow_provider_zoho_invoice.emulator import EmulatedItem

            item = EmulatedItem("9000000000001", name, "Added while a sensor waits", "49.90", "PST", "8")
            self.emulator.catalogue.add(item)
            return item.item_id, name, item.as_row()
        from decimal import Decimal

        record = self.emulator.records.add("items", name=name, rate=Decimal("49.90"))
        return record["item_id"], name, self.as_sent(record)

    def next_item_id(self) -> str:
        if self.legacy:
            return "9000000000001"
        from airflow_provider_zoho_invoice.emulator.records import record_id

        return record_id("items", self.emulator.records.size("items"))

    def break_credentials(self, conn_id: str) -> tuple[str, tuple[str, ...]]:
        if self.legacy:
            self.point(conn_id, apikey="revoked-key-value")
            return "revoked-key-value", ("API key was not accepted",)
        self.point(conn_id, refresh_token="1000.revoked-refresh-value")
        return "1000.revoked-refresh-value", ("invalid_code", "issue a new refresh token")


@pytest.fixture(params=["zoho_invoice", "zoho_invoice_oauth"])
def connection_kind(
    request: pytest.FixtureRequest,
    make_emulator: Callable[..., ZohoInvoiceEmulator],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> ConnectionKind:
    """Each connection type in turn, pointed at a fresh emulator with 120 items of either kind."""
    monkeypatch.setenv("AIRFLOW__ZOHO_INVOICE__TOKEN_CACHE_DIR", str(tmp_path / "tokens"))
    emulator = make_emulator(items=120, records=120, seed=3)
    return ConnectionKind(request.param, emulator, monkeypatch)
