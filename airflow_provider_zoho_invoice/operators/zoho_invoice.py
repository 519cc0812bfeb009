"""Operators for Zoho Invoice: thin task wrappers around ZohoInvoiceHook.

DAG files import this module on every parse, so it imports neither ``requests``
nor ``xmltodict``: the hook is imported when a task runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow_provider_zoho_invoice._validation import (
    check_concurrency,
    check_max_items,
    check_output_format,
    check_per_page,
    is_template,
)
from airflow_provider_zoho_invoice.compat import AirflowFailException, BaseOperator
from airflow_provider_zoho_invoice.exceptions import ZohoInvoiceAuthError, ZohoInvoiceConfigError
from airflow_provider_zoho_invoice.hooks import hook_for

if TYPE_CHECKING:
    from airflow_provider_zoho_invoice.compat import Context
    from airflow_provider_zoho_invoice.hooks.zoho_invoice import ZohoInvoiceHook

MAX_XCOM_ITEMS = 1000
"""Most items returned through XCom; larger listings belong in ``output_path``."""

DEFAULT_CONCURRENCY = 4
"""Pages fetched at once by default: most of the gain of eight workers, half the burst on Zoho's limit."""


def _fail_on_auth(conn_id: str, exc: ZohoInvoiceAuthError | ZohoInvoiceConfigError) -> AirflowFailException:
    """Retrying cannot heal rejected or missing credentials, so fail without Airflow task retries."""
    return AirflowFailException(f"Zoho Invoice connection '{conn_id}': {exc}")


class ZohoInvoiceListItemsOperator(BaseOperator):
    """List the Zoho Invoice item catalogue and hand it to the next task.

    Without ``output_path`` the items come back through XCom as a list of dicts
    (at most :data:`MAX_XCOM_ITEMS`). With it, they are streamed page by page to
    that path (local, ``file://``, ``s3://``… anything Airflow's object storage
    opens) as JSON Lines or CSV; the file appears complete or not at all, and the
    task returns ``{"path": ..., "count": ..., "format": ...}``.

    :param zoho_invoice_conn_id: connection to use (templated).
    :param per_page: items per request, 1 to 200 (templated).
    :param max_items: stop after this many items; ``None`` lists all (templated).
    :param output_path: where to write the items (templated).
    :param output_format: ``"jsonl"`` or ``"csv"`` (templated).
    :param concurrency: pages fetched at once after the first, 1 to 16.
    :param emit_asset: declare ``output_path`` (static paths only) as an outlet Asset so
        that downstream DAGs can be scheduled on it.
    """

    template_fields: Sequence[str] = (
        "zoho_invoice_conn_id",
        "per_page",
        "max_items",
        "output_path",
        "output_format",
    )
    ui_color = "#e8f4ea"

    def __init__(
        self,
        *,
        zoho_invoice_conn_id: str = "zoho_invoice_default",
        per_page: int | str = 200,
        max_items: int | str | None = None,
        output_path: str | None = None,
        output_format: str = "jsonl",
        concurrency: int = DEFAULT_CONCURRENCY,
        emit_asset: bool = False,
        **kwargs: Any,
    ) -> None:
        if emit_asset:
            if not output_path or is_template(output_path):
                raise ValueError(
                    "emit_asset=True needs a static output_path (no Jinja); for a templated path, "
                    "pass outlets=[Asset(...)] yourself"
                )
            from airflow_provider_zoho_invoice.compat import Asset

            kwargs["outlets"] = [*kwargs.get("outlets", []), Asset(_asset_uri(output_path))]
        super().__init__(**kwargs)
        self.zoho_invoice_conn_id = zoho_invoice_conn_id
        self.per_page = check_per_page(per_page)
        self.max_items = check_max_items(max_items)
        self.output_path = output_path
        self.output_format = check_output_format(output_format)
        self.concurrency = check_concurrency(concurrency)

    @cached_property
    def hook(self) -> ZohoInvoiceHook:
        return hook_for(self.zoho_invoice_conn_id)

    def execute(self, context: Context) -> Any:
        per_page = check_per_page(self.per_page, rendered=True)
        max_items = check_max_items(self.max_items, rendered=True)
        output_format = check_output_format(self.output_format, rendered=True)
        try:
            if self.output_path:
                from airflow_provider_zoho_invoice.output import write_items

                items = self.hook.list_items(
                    per_page=per_page, max_items=max_items, concurrency=self.concurrency
                )
                result = write_items(items, self.output_path, output_format)
                self.log.info("Wrote %d Zoho Invoice items to %s", result["count"], result["path"])
                self._attach_asset_extra(context, result)
                return result
            return self._to_xcom(per_page, max_items)
        except (ZohoInvoiceAuthError, ZohoInvoiceConfigError) as exc:
            raise _fail_on_auth(self.zoho_invoice_conn_id, exc) from exc

    def _to_xcom(self, per_page: int, max_items: int | None) -> list[dict[str, Any]]:
        # Without a smaller max_items, ask for one more than fits: an oversized catalogue is then
        # detected without listing all of it.
        small = max_items is not None and max_items <= MAX_XCOM_ITEMS
        wanted = max_items if small else MAX_XCOM_ITEMS + 1
        items = self.hook.list_items(per_page=per_page, max_items=wanted, concurrency=self.concurrency)
        rows = [item.to_dict() for item in items]
        if len(rows) > MAX_XCOM_ITEMS:
            raise AirflowFailException(
                f"The catalogue has more than {MAX_XCOM_ITEMS} items, too many for XCom: set output_path "
                "to write them to a file (or max_items to take fewer)"
            )
        self.log.info("Listed %d Zoho Invoice items", len(rows))
        return rows

    def _attach_asset_extra(self, context: Context, result: dict[str, Any]) -> None:
        for outlet in self.outlets or []:
            try:
                context["outlet_events"][outlet].extra = {
                    "count": result["count"],
                    "format": result["format"],
                }
            except (KeyError, TypeError, AttributeError):
                continue


class ZohoInvoiceValidateTokenOperator(BaseOperator):
    """Succeed if Zoho Invoice accepts the connection's authtoken and API key; fail fast if not.

    A rejected credential fails the task without retries and says which credential
    and how to fix it. Network trouble keeps Airflow's normal retries.
    """

    template_fields: Sequence[str] = ("zoho_invoice_conn_id",)
    ui_color = "#e8f4ea"

    def __init__(self, *, zoho_invoice_conn_id: str = "zoho_invoice_default", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.zoho_invoice_conn_id = zoho_invoice_conn_id

    @cached_property
    def hook(self) -> ZohoInvoiceHook:
        return hook_for(self.zoho_invoice_conn_id)

    def execute(self, context: Context) -> bool:
        try:
            self.hook.get_page(1, 1)
        except (ZohoInvoiceAuthError, ZohoInvoiceConfigError) as exc:
            raise _fail_on_auth(self.zoho_invoice_conn_id, exc) from exc
        self.log.info("Zoho Invoice accepted the credentials of connection '%s'", self.zoho_invoice_conn_id)
        return True


def _asset_uri(path: str) -> str:
    if "://" in path:
        return path
    import os

    return f"file://{os.path.abspath(path)}"
