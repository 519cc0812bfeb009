"""What both Zoho Invoice hooks share: construction without I/O, the 3.1 form methods, closing."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_zoho_invoice.compat import BaseHook
from airflow_provider_zoho_invoice.hooks.config import fetch_connection

if TYPE_CHECKING:
    from airflow_provider_zoho_invoice.compat import Connection


class ZohoInvoiceBaseHook(BaseHook):
    """Nothing is looked up or sent in ``__init__``: hooks are built at DAG-parse time.

    :param zoho_invoice_conn_id: the Airflow connection to use.
    :param timeout: per-request read timeout in seconds (overrides the connection's ``timeout``).
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
        max_retries: int | None = None,
        requests_per_minute: int | None = None,
        backoff: float | None = None,
        connection: Connection | None = None,
    ) -> None:
        super().__init__()
        self.zoho_invoice_conn_id = zoho_invoice_conn_id
        self._overrides: dict[str, Any] = {
            "timeout": timeout,
            "max_retries": max_retries,
            "requests_per_minute": requests_per_minute,
            "backoff": backoff,
        }
        self._connection = connection

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # Airflow 3.1 looks for the form methods in each hook class's own __dict__, not inherited.
        cls.get_connection_form_widgets = classmethod(_connection_form_widgets)  # type: ignore[assignment]
        cls.get_ui_field_behaviour = classmethod(_ui_field_behaviour)  # type: ignore[assignment]

    def _fetch_connection(self) -> Connection:
        """The given connection, else Airflow's, with a clear error when it is set but unreadable."""
        connection: Connection = self._connection or fetch_connection(
            self.get_connection, self.zoho_invoice_conn_id
        )
        return connection

    def close(self) -> None:
        transport = self.__dict__.get("transport")
        if transport is not None:
            transport.close()


def _connection_form_widgets(cls: type[ZohoInvoiceBaseHook]) -> dict[str, Any]:
    """The form's extra fields for Airflow 3.1; Airflow 3.2+ reads ``conn-fields`` instead."""
    from airflow_provider_zoho_invoice._form import form_widgets

    return form_widgets(cls.conn_type)


def _ui_field_behaviour(cls: type[ZohoInvoiceBaseHook]) -> dict[str, Any]:
    """Hidden and relabelled standard fields for Airflow 3.1; 3.2+ reads ``ui-field-behaviour``."""
    from airflow_provider_zoho_invoice._form import field_behaviour

    return field_behaviour(cls.conn_type)
