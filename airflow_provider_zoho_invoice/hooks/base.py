"""What both Zoho Invoice hooks share, and the interface operators, sensors and triggers call.

Operators never ask which protocol a connection speaks: they call :meth:`rows`,
:meth:`csv_fields`, :meth:`lineage_namespace`, :meth:`item_row` and the credential checks,
and each hook answers in its protocol's terms.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any, Self

from airflow_provider_zoho_invoice.compat import BaseHook
from airflow_provider_zoho_invoice.connection import fetch_connection
from airflow_provider_zoho_invoice.exceptions import (
    ZohoInvoiceAPIError,
    ZohoInvoiceAuthError,
    ZohoInvoiceError,
)
from airflow_provider_zoho_invoice.redaction import for_connection_test, redact

if TYPE_CHECKING:
    import requests

    from airflow_provider_zoho_invoice.compat import Connection
    from airflow_provider_zoho_invoice.transport import Transport

TEST_TIMEOUT = 10.0
"""Longest connect and read timeout of a check (the UI's Test button, a sensor's poke): one short attempt."""


@dataclass(frozen=True)
class Listing:
    """What an operator asks a hook to list."""

    resource: str
    per_page: int
    max_rows: int | None
    concurrency: int
    params: dict[str, Any] | None
    modified_since: datetime | None
    modified_before: datetime | None


class ZohoInvoiceBaseHook(BaseHook):
    """Nothing is looked up or sent in ``__init__``: hooks are built at DAG-parse time.

    :param zoho_invoice_conn_id: the Airflow connection to use.
    :param timeout: per-request read timeout in seconds (overrides the connection's ``timeout``).
    :param connect_timeout: connect timeout in seconds (overrides ``connect_timeout``).
    :param max_retries: retries of transient failures (overrides ``max_retries``).
    :param requests_per_minute: client-side rate limit, 0 for none (overrides ``requests_per_minute``).
    :param backoff: first retry wait in seconds; later waits double (overrides ``backoff``).
    :param connection: an already fetched connection (the triggerer fetches it asynchronously).
    """

    conn_name_attr = "zoho_invoice_conn_id"
    default_conn_name = "zoho_invoice_default"
    conn_type: str

    def __init__(
        self,
        zoho_invoice_conn_id: str = default_conn_name,
        *,
        timeout: float | None = None,
        connect_timeout: float | None = None,
        max_retries: int | None = None,
        requests_per_minute: int | None = None,
        backoff: float | None = None,
        connection: Connection | None = None,
    ) -> None:
        super().__init__()
        self.zoho_invoice_conn_id = zoho_invoice_conn_id
        self._overrides: dict[str, Any] = {
            "timeout": timeout,
            "connect_timeout": connect_timeout,
            "max_retries": max_retries,
            "requests_per_minute": requests_per_minute,
            "backoff": backoff,
        }
        if connection is not None:
            self.__dict__["connection"] = connection

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # Airflow 3.1 looks for the form methods in each hook class's own __dict__, not inherited.
        cls.get_connection_form_widgets = classmethod(_connection_form_widgets)  # type: ignore[assignment]
        cls.get_ui_field_behaviour = classmethod(_ui_field_behaviour)  # type: ignore[assignment]

    @cached_property
    def connection(self) -> Connection:
        """The given connection, else Airflow's, with a clear error when it is set but unreadable."""
        fetched: Connection = fetch_connection(self.get_connection, self.zoho_invoice_conn_id)
        return fetched

    @property
    def config(self) -> Any:
        """The connection, read once and checked (each protocol reads its own fields)."""
        raise NotImplementedError

    @property
    def transport(self) -> Transport:
        """Sends this hook's requests: one session, timeouts, retries, rate limit."""
        raise NotImplementedError

    @property
    def session(self) -> requests.Session:
        """The one ``requests.Session`` this hook keeps connections alive with."""
        return self.transport.session

    def get_conn(self) -> requests.Session:
        return self.transport.session

    def close(self) -> None:
        transport = self.__dict__.get("transport")
        if transport is not None:
            transport.close()

    # -- what operators, sensors and triggers call ----------------------------------------------

    def rows(
        self,
        resource: str,
        *,
        per_page: int,
        max_rows: int | None = None,
        concurrency: int = 1,
        params: dict[str, Any] | None = None,
        modified_since: datetime | None = None,
        modified_before: datetime | None = None,
        json_safe: bool = False,
    ) -> Iterator[dict[str, Any]]:
        """A resource's records as dicts; ``json_safe`` for XCom, which would turn ``Decimal`` into float."""
        listing = Listing(resource, per_page, max_rows, concurrency, params, modified_since, modified_before)
        records = self._records(listing)
        return (self.as_row(record) if json_safe else self._file_row(record) for record in records)

    def _records(self, listing: Listing) -> Iterator[Any]:
        """The records a listing asks for, in the protocol's own types."""
        raise NotImplementedError

    def _file_row(self, record: Any) -> dict[str, Any]:
        """One record as a file holds it (Zoho's number text kept where the protocol has it)."""
        row: dict[str, Any] = record
        return row

    def csv_fields(self, resource: str) -> Sequence[str] | None:
        """The CSV header when the protocol fixes one (so an empty file still has it); else None."""
        return None

    def lineage_namespace(self) -> str:
        """OpenLineage's namespace of the records this connection reads."""
        raise NotImplementedError

    item_not_found_codes: frozenset[int] = frozenset()
    """Zoho's codes for "no such item": find_item answers None for them."""

    def find_item(self, *, item_id: str | None = None, name: str | None = None) -> Any:
        """The item with this ID, or the first with exactly this name; None if there is none (yet)."""
        if bool(item_id) == bool(name):
            raise ValueError("find_item needs exactly one of item_id or name")
        if item_id:
            try:
                return self.get_item(item_id)
            except ZohoInvoiceAPIError as exc:
                if exc.code in self.item_not_found_codes:
                    return None
                raise
        assert name is not None
        return self._item_named(name)

    def get_item(self, item_id: str) -> Any:
        raise NotImplementedError

    def _item_named(self, name: str) -> Any:
        """The first item whose name is exactly ``name``, or None."""
        raise NotImplementedError

    def as_row(self, record: Any) -> dict[str, Any]:
        """One record as a JSON-safe dict, as XCom carries it."""
        raise NotImplementedError

    def item_row(self, *, item_id: str | None = None, name: str | None = None) -> dict[str, Any] | None:
        """The item as a JSON-safe dict, or None while it does not exist."""
        item = self.find_item(item_id=item_id, name=name)
        return None if item is None else self.as_row(item)

    def check_credentials(self) -> None:
        """One cheap authenticated call; raises ZohoInvoiceAuthError if Zoho rejects the credentials."""
        raise NotImplementedError

    def validate_token(self) -> bool:
        """True if Zoho accepts the credentials, False if it rejects them; other failures raise."""
        try:
            self.check_credentials()
        except ZohoInvoiceAuthError:
            return False
        return True

    # -- the UI's Test button -------------------------------------------------------------------

    def one_attempt(self, **overrides: Any) -> Self:
        """A hook of the same connection whose calls make one attempt with a short timeout.

        For checks that are repeated anyway (a sensor's pokes) or must answer quickly (the
        Test button): retries with backoff would make one check last half a minute.
        """
        settings = self.config.transport
        return type(self)(
            self.zoho_invoice_conn_id,
            connection=self.connection,
            max_retries=0,
            timeout=min(settings.read_timeout, TEST_TIMEOUT),
            connect_timeout=min(settings.connect_timeout, TEST_TIMEOUT),
            **overrides,
        )

    def test_connection(self) -> tuple[bool, str]:
        """One attempt with a short timeout, on a hook of its own; never raises."""
        try:
            probe = self.one_attempt(**self._test_overrides())
            try:
                return True, probe._test_call()
            finally:
                probe.close()
        except ZohoInvoiceError as exc:
            return False, for_connection_test(str(exc), self.zoho_invoice_conn_id)
        except Exception as exc:
            secrets = self.__dict__["config"].secrets if "config" in self.__dict__ else ()
            return False, f"{type(exc).__name__}: {redact(str(exc), secrets)}"

    def _test_overrides(self) -> dict[str, Any]:
        return {}

    def _test_call(self) -> str:
        """The check behind ``test_connection``; returns the success message."""
        raise NotImplementedError


def check_id(value: Any, field: str) -> str:
    """A Zoho ID as URL-safe text, or a ValueError naming the field."""
    text = str(value).strip()
    if not text or not all(ch.isalnum() or ch in "-_" for ch in text):
        raise ValueError(f"{field} must be a non-empty Zoho ID such as '460000000012345' (got {value!r})")
    return text


def _connection_form_widgets(cls: type[ZohoInvoiceBaseHook]) -> dict[str, Any]:
    """The form's extra fields for Airflow 3.1; Airflow 3.2+ reads ``conn-fields`` instead."""
    from airflow_provider_zoho_invoice.hooks.forms import form_widgets

    return form_widgets(cls.conn_type)


def _ui_field_behaviour(cls: type[ZohoInvoiceBaseHook]) -> dict[str, Any]:
    """Hidden and relabelled standard fields for Airflow 3.1; 3.2+ reads ``ui-field-behaviour``."""
    from airflow_provider_zoho_invoice.hooks.forms import field_behaviour

    return field_behaviour(cls.conn_type)
