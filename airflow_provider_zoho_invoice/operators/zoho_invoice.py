"""Operators for Zoho Invoice: thin task wrappers around the hooks.

Each operator works with either connection type: the hook is picked from the
connection when the task runs. DAG files import this module on every parse, so it
imports neither ``requests``, ``xmltodict`` nor ``msgspec``.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from airflow_provider_zoho_invoice.arguments import (
    check_bound,
    check_concurrency,
    check_interval,
    check_max_items,
    check_mode,
    check_output_format,
    check_output_path,
    check_per_page,
    check_resource,
    clamp_to_now,
    is_template,
)
from airflow_provider_zoho_invoice.compat import AirflowFailException, BaseOperator
from airflow_provider_zoho_invoice.exceptions import (
    ZohoInvoiceAuthError,
    ZohoInvoiceConfigError,
    ZohoInvoiceQuotaError,
    ZohoInvoiceTokenThrottleError,
)
from airflow_provider_zoho_invoice.hooks import hook_for
from airflow_provider_zoho_invoice.v3.resources import WRITE_ACTIONS, check_write

if TYPE_CHECKING:
    from collections.abc import Iterable
    from datetime import datetime

    from airflow_provider_zoho_invoice.compat import Context
    from airflow_provider_zoho_invoice.hooks.base import ZohoInvoiceBaseHook

MAX_XCOM_ITEMS = 1000
"""Most items returned through XCom; larger listings belong in ``output_path``."""

DEFAULT_CONCURRENCY = 4
"""Pages fetched at once by default: most of the gain of eight workers, half the burst on Zoho's limit."""


_UNFIXABLE = (ZohoInvoiceAuthError, ZohoInvoiceConfigError, ZohoInvoiceQuotaError)
"""Failures a task retry cannot heal: rejected or missing credentials, bad configuration, a spent quota."""


def _fail_at_once(conn_id: str, exc: Exception) -> Exception:
    """Fail without Airflow task retries, naming the connection and the fix; Zoho Accounts'
    token throttle is the exception: it heals within minutes, so task retries apply."""
    if isinstance(exc, ZohoInvoiceTokenThrottleError):
        return exc
    return AirflowFailException(f"Zoho Invoice connection '{conn_id}': {exc}")


class _ZohoInvoiceListOperator(BaseOperator):
    """What listing operators share: XCom for small results, an atomic file for large ones."""

    ui_color = "#e8f4ea"
    _noun = "records"

    def __init__(
        self,
        *,
        zoho_invoice_conn_id: str = "zoho_invoice_default",
        per_page: int | str = 200,
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
        self.output_path = check_output_path(output_path)
        self.output_format = check_output_format(output_format)
        self.concurrency = check_concurrency(concurrency)

    @cached_property
    def hook(self) -> ZohoInvoiceBaseHook:
        return hook_for(self.zoho_invoice_conn_id)

    def _resource(self) -> str:
        return "items"

    def _rows(self, per_page: int, limit: int | None) -> Iterable[dict[str, Any]]:
        """Records as Zoho sent them for a file; JSON-safe for XCom."""
        return self.hook.rows(
            self._resource(),
            per_page=per_page,
            max_rows=limit,
            concurrency=self.concurrency,
            json_safe=not self.output_path,
            **self._query(),
        )

    def _query(self) -> dict[str, Any]:
        return {}

    def _emit(self, context: Context, max_rows: int | None) -> Any:
        per_page = check_per_page(self.per_page, rendered=True)
        output_format = check_output_format(self.output_format, rendered=True)
        try:
            check_output_path(self.output_path, rendered=True)
        except ValueError as exc:
            raise AirflowFailException(f"{type(self).__name__} '{self.task_id}': {exc}") from exc
        try:
            if self.output_path:
                from airflow_provider_zoho_invoice.output import write_rows

                result = write_rows(
                    self._rows(per_page, max_rows),
                    self.output_path,
                    output_format,
                    csv_fields=self.hook.csv_fields(self._resource()),
                )
                self.log.info("Wrote %d Zoho Invoice %s to %s", result["count"], self._noun, result["path"])
                self._attach_asset_extra(context, result)
                return result
            return self._to_xcom(per_page, max_rows)
        except _UNFIXABLE as exc:
            raise _fail_at_once(self.zoho_invoice_conn_id, exc) from exc

    def _to_xcom(self, per_page: int, max_rows: int | None) -> list[dict[str, Any]]:
        # Without a smaller limit, ask for one more than fits: an oversized listing is then
        # detected without reading all of it.
        small = max_rows is not None and max_rows <= MAX_XCOM_ITEMS
        wanted = max_rows if small else MAX_XCOM_ITEMS + 1
        rows = list(self._rows(per_page, wanted))
        if len(rows) > MAX_XCOM_ITEMS:
            raise AirflowFailException(
                f"There are more than {MAX_XCOM_ITEMS} {self._noun}, too many for XCom: set output_path "
                f"to write them to a file (or a limit to take fewer)"
            )
        self.log.info("Listed %d Zoho Invoice %s", len(rows), self._noun)
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


class ZohoInvoiceListItemsOperator(_ZohoInvoiceListOperator):
    """List the Zoho Invoice item catalogue and hand it to the next task.

    Without ``output_path`` the items come back through XCom as a list of dicts
    (at most :data:`MAX_XCOM_ITEMS`). With it, they are streamed page by page to
    that path (local, ``file://``, ``s3://``… anything Airflow's object storage
    opens) as JSON Lines (gzip-compressed if the path ends in ``.gz``) or CSV; the
    file appears complete or not at all, and the task returns
    ``{"path": ..., "count": ..., "format": ...}``. Rows are ``ZohoInvoiceItem.to_dict()``
    on a legacy connection and Zoho's own item objects on an OAuth (v3) connection.

    :param zoho_invoice_conn_id: connection to use, of either type (templated).
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
    _noun = "items"

    def __init__(self, *, max_items: int | str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_items = check_max_items(max_items)

    def execute(self, context: Context) -> Any:
        return self._emit(context, check_max_items(self.max_items, rendered=True))


class ZohoInvoiceListRecordsOperator(_ZohoInvoiceListOperator):
    """List any Zoho Invoice v3 resource (invoices, contacts, payments, ...) and hand it on.

    Needs a ``zoho_invoice_oauth`` connection. Records are Zoho's JSON objects unchanged;
    in a JSON Lines file every amount keeps the exact number text Zoho sent; through
    XCom (at most :data:`MAX_XCOM_ITEMS` records) amounts arrive as decimal text.

    :param resource: one of ``items``, ``contacts``, ``invoices``, ``estimates``,
        ``customerpayments``, ``creditnotes``, ``expenses``, ``recurringinvoices``, ``projects``,
        ``taxes``, ``users`` (templated).
    :param query_params: extra query parameters, e.g. ``{"status": "paid"}`` (templated). Not
        ``params``: Airflow merges an operator's ``params`` into the DAG's params.
    :param max_records: stop after this many records; ``None`` lists all (templated).
    :param output_path: where to write the records, JSON Lines; ``.gz`` compresses (templated).
    :param output_format: ``"jsonl"`` or ``"csv"`` (nested objects as JSON text) (templated).
    :param modified_since: with ``modified_before``, extract exactly the records whose
        ``last_modified_time`` lies in ``[modified_since, modified_before)``; typically
        ``"{{ data_interval_start }}"`` and ``"{{ data_interval_end }}"``. Timezone-aware datetimes
        or ISO-8601 strings (templated). Re-running an interval rewrites the same path with the
        same content when Zoho did not change.
    :param mode: ``"incremental"`` (the default: the interval if bounds are given, else every
        record) or ``"snapshot"`` (every record, e.g. daily, to detect deletions: Zoho has no feed
        of deleted records).
    """

    template_fields: Sequence[str] = (
        "zoho_invoice_conn_id",
        "resource",
        "modified_since",
        "modified_before",
        "query_params",
        "per_page",
        "max_records",
        "output_path",
        "output_format",
    )
    template_fields_renderers: ClassVar[dict[str, str]] = {"query_params": "json"}

    def __init__(
        self,
        *,
        resource: str,
        query_params: dict[str, Any] | None = None,
        max_records: int | str | None = None,
        modified_since: datetime | str | None = None,
        modified_before: datetime | str | None = None,
        mode: str = "incremental",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.resource = check_resource(resource)
        self.query_params = query_params
        self.max_records = check_max_items(max_records, name="max_records")
        self.modified_since = check_bound(modified_since, "modified_since")
        self.modified_before = check_bound(modified_before, "modified_before")
        self.mode = check_mode(mode, modified_since, modified_before)
        self._since: datetime | None = None
        self._before: datetime | None = None
        self._lineage_output: str | None = None

    @property
    def _noun(self) -> str:  # type: ignore[override]
        return str(self.resource)

    def _resource(self) -> str:
        return str(check_resource(self.resource, rendered=True))

    def _query(self) -> dict[str, Any]:
        return {"params": self.query_params, "modified_since": self._since, "modified_before": self._before}

    def execute(self, context: Context) -> Any:
        try:
            self._since, self._before = check_interval(self.modified_since, self.modified_before)
        except ValueError as exc:
            raise AirflowFailException(f"{type(self).__name__} '{self.task_id}': {exc}") from exc
        if self._since or self._before:
            asked = self._before
            self._before = clamp_to_now(asked)
            self.log.info(
                "Extracting Zoho Invoice %s modified in [%s, %s)%s",
                self.resource,
                self._since.isoformat() if self._since else "the beginning",
                self._before.isoformat(),
                ""
                if asked == self._before
                else " (ended at the listing's start: later edits belong to the next interval)",
            )
        result = self._emit(context, check_max_items(self.max_records, rendered=True, name="max_records"))
        self._lineage_output = result["path"] if isinstance(result, dict) else None
        if isinstance(result, dict):
            result = {
                **result,
                "resource": self.resource,
                "modified_since": self._since.isoformat() if self._since else None,
                "modified_before": self._before.isoformat() if self._before else None,
            }
        return result

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """Lineage for apache-airflow-providers-openlineage, which calls this after execute.

        Input: the Zoho Invoice organization's resource; output: the file written, if any.
        Imported only here, so that DAG files pay nothing for it.
        """
        from airflow.providers.common.compat.openlineage.facet import Dataset
        from airflow.providers.openlineage.extractors import OperatorLineage

        source = Dataset(namespace=self.hook.lineage_namespace(), name=str(self.resource))
        outputs = []
        if self._lineage_output:
            namespace, name = _lineage_location(self._lineage_output)
            outputs.append(Dataset(namespace=namespace, name=name))
        return OperatorLineage(inputs=[source], outputs=outputs)


def _lineage_location(path: str) -> tuple[str, str]:
    """OpenLineage's (namespace, name) for a file: ``s3://bucket`` and the key, or ``file`` and the path."""
    if "://" not in path:
        import os

        return "file", os.path.abspath(path)
    scheme, _, rest = path.partition("://")
    if scheme == "file":
        return "file", "/" + rest.lstrip("/")
    bucket, _, key = rest.partition("/")
    return f"{scheme}://{bucket}", key


class ZohoInvoiceValidateTokenOperator(BaseOperator):
    """Succeed if Zoho Invoice accepts the connection's credentials (either type); fail fast if not.

    A rejected credential fails the task without retries and says which credential
    and how to fix it. Network trouble keeps Airflow's normal retries.
    """

    template_fields: Sequence[str] = ("zoho_invoice_conn_id",)
    ui_color = "#e8f4ea"

    def __init__(self, *, zoho_invoice_conn_id: str = "zoho_invoice_default", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.zoho_invoice_conn_id = zoho_invoice_conn_id

    @cached_property
    def hook(self) -> ZohoInvoiceBaseHook:
        return hook_for(self.zoho_invoice_conn_id)

    def execute(self, context: Context) -> bool:
        try:
            self.hook.check_credentials()
        except _UNFIXABLE as exc:
            raise _fail_at_once(self.zoho_invoice_conn_id, exc) from exc
        self.log.info("Zoho Invoice accepted the credentials of connection '%s'", self.zoho_invoice_conn_id)
        return True


class ZohoInvoiceUpsertRecordsOperator(BaseOperator):
    """Create or update Zoho Invoice records from rows, each key exactly once (API v3 connections).

    Rows come from a JSON Lines file (``input_path``: a local path or object-storage URI, ``.gz``
    allowed) or a list (``rows``, e.g. from XCom). Each row is matched to Zoho's records by
    ``match_on`` (``reference_number`` for invoices, ``contact_name`` or ``email`` for contacts,
    ``name`` for items): created when new, updated when different, left alone when equal. A retry,
    a lost answer or a re-run of the same input never creates a key twice.

    :param mode: ``upsert``; ``create`` (existing keys are ``unchanged``, never written); ``update``
        (keys not in Zoho fail).
    :param dry_run: decide everything, write nothing (``would_create`` / ``would_update``).
    :param results_path: where one JSON line per row goes (row, key, action, id, Zoho's code and
        message), written whole or not at all (templated).

    Returns the counts of each action and ``results_path``. If any row failed, the task fails
    once every row was tried and the results are written, naming the first failures.
    """

    template_fields: Sequence[str] = (
        "zoho_invoice_conn_id",
        "resource",
        "match_on",
        "input_path",
        "rows",
        "mode",
        "results_path",
    )
    template_fields_renderers: ClassVar[dict[str, str]] = {"rows": "json"}
    ui_color = "#f4ece8"

    def __init__(
        self,
        *,
        resource: str,
        match_on: str,
        input_path: str | None = None,
        rows: list[dict[str, Any]] | str | None = None,
        mode: str = "upsert",
        dry_run: bool = False,
        results_path: str | None = None,
        zoho_invoice_conn_id: str = "zoho_invoice_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if (input_path is None) == (rows is None):
            raise ValueError(
                "give the rows to write as exactly one of input_path (a JSON Lines file) or rows"
            )
        statics = [value for value in (resource, match_on, mode) if not is_template(value)]
        if len(statics) == 3:
            check_write(resource, match_on, mode)
        self.resource, self.match_on, self.mode = resource, match_on, mode
        self.write_nothing = dry_run  # not self.dry_run: BaseOperator has a method of that name
        self.input_path, self.rows, self.results_path = input_path, rows, results_path
        self.zoho_invoice_conn_id = zoho_invoice_conn_id

    @cached_property
    def hook(self) -> ZohoInvoiceBaseHook:
        return hook_for(self.zoho_invoice_conn_id)

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider_zoho_invoice.output import check_writable, parse_rows, read_rows, write_rows

        name = f"{type(self).__name__} '{self.task_id}'"
        try:
            check_write(self.resource, self.match_on, self.mode)
            rows = read_rows(self.input_path) if self.input_path is not None else self.rows
            if isinstance(rows, str):  # a template rendered to JSON text
                rows = parse_rows(rows)
            if not isinstance(rows, list):
                raise ValueError(f"rows must be a list of objects (got {type(rows).__name__})")
            if self.results_path is not None:
                check_writable(self.results_path)
        except (ValueError, ZohoInvoiceConfigError) as exc:
            raise AirflowFailException(f"{name}: {exc}") from exc
        hook = self.hook
        upsert = getattr(hook, "upsert_records", None)
        if upsert is None:
            raise AirflowFailException(
                f"{name}: connection '{self.zoho_invoice_conn_id}' speaks the legacy API, which this "
                "provider only reads; writing needs a zoho_invoice_oauth (API v3) connection"
            )
        counts = dict.fromkeys(WRITE_ACTIONS, 0)
        failures: list[dict[str, Any]] = []

        def counted(results: Iterable[dict[str, Any]]) -> Iterable[dict[str, Any]]:
            for result in results:
                counts[result["action"]] += 1
                if result["action"] == "failed" and len(failures) < 3:
                    failures.append(result)
                yield result

        try:
            results = counted(
                upsert(
                    self.resource, rows, match_on=self.match_on, mode=self.mode, dry_run=self.write_nothing
                )
            )
            if self.results_path is not None:
                write_rows(results, self.results_path, "jsonl")
            else:
                for _ in results:
                    pass
        except ValueError as exc:
            raise AirflowFailException(f"{name}: {exc}") from exc
        except _UNFIXABLE as exc:
            raise _fail_at_once(self.zoho_invoice_conn_id, exc) from exc
        self.log.info(
            "Zoho Invoice %s written: %s",
            self.resource,
            ", ".join(f"{n} {a}" for a, n in counts.items() if n),
        )
        if counts["failed"]:
            first = "; ".join(f"{f['key']!r}: {f['message']}" for f in failures)
            raise AirflowFailException(
                f"{name}: {counts['failed']} of {len(rows)} rows failed (the others were written; "
                f"results in {self.results_path or 'the task log'}): {first}"
            )
        return {**counts, "results_path": self.results_path}


def _asset_uri(path: str) -> str:
    if "://" in path:
        return path
    import os

    return f"file://{os.path.abspath(path)}"
