"""Argument checks shared by the hook (at call time) and the operators (at DAG-parse time).

A templated value cannot be checked until it is rendered, so operators check
static values in ``__init__`` and rendered ones again in ``execute``.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from airflow_provider_zoho_invoice.legacy.constants import MAX_PER_PAGE
from airflow_provider_zoho_invoice.v3.resources import RESOURCES

MAX_CONCURRENCY = 16
OUTPUT_FORMATS = ("jsonl", "csv")


def is_template(value: Any) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def _whole_number(value: Any, name: str, expected: str) -> int:
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be {expected} (got {value!r})")
    return value


def check_per_page(value: Any, *, rendered: bool = False) -> Any:
    if is_template(value) and not rendered:
        return value
    expected = f"a whole number from 1 to {MAX_PER_PAGE}"
    number = _whole_number(value, "per_page", expected)
    if not 1 <= number <= MAX_PER_PAGE:
        raise ValueError(f"per_page must be {expected} (got {value!r})")
    return number


def check_max_items(value: Any, *, rendered: bool = False, name: str = "max_items") -> Any:
    if value is None or value == "" or (rendered and value == "None"):
        return None
    if is_template(value) and not rendered:
        return value
    expected = "None or a whole number of at least 0"
    number = _whole_number(value, name, expected)
    if number < 0:
        raise ValueError(f"{name} must be {expected} (got {value!r})")
    return number


RESOURCE_NAMES = tuple(RESOURCES)


def check_resource(value: Any, *, rendered: bool = False) -> Any:
    if is_template(value) and not rendered:
        return value
    if value not in RESOURCE_NAMES:
        raise ValueError(f"resource must be one of {', '.join(RESOURCE_NAMES)} (got {value!r})")
    return value


def check_concurrency(value: Any) -> int:
    expected = f"a whole number from 1 to {MAX_CONCURRENCY}"
    number = _whole_number(value, "concurrency", expected)
    if not 1 <= number <= MAX_CONCURRENCY:
        raise ValueError(f"concurrency must be {expected} (got {value!r})")
    return number


def check_page(value: Any) -> int:
    number = _whole_number(value, "page", "a whole number of at least 1")
    if number < 1:
        raise ValueError(f"page must be a whole number of at least 1 (got {value!r})")
    return number


def check_output_path(value: Any, *, rendered: bool = False) -> Any:
    """None (rows go to XCom) or a path; an empty one is refused rather than read as None."""
    if value is None or (is_template(value) and not rendered):
        return value
    if not isinstance(value, str):
        raise ValueError(f"output_path must be a path or URI string (got {type(value).__name__})")
    if not value.strip():
        raise ValueError(
            "output_path is empty (a template that rendered to nothing?): give a path such as "
            "/data/zoho/invoices.jsonl.gz, or leave it out (None) to return the rows through XCom"
        )
    return value


def check_output_format(value: Any, *, rendered: bool = False) -> Any:
    if is_template(value) and not rendered:
        return value
    if value not in OUTPUT_FORMATS:
        raise ValueError(f"output_format must be one of {', '.join(OUTPUT_FORMATS)} (got {value!r})")
    return value


def interval_bound(value: Any, name: str) -> datetime | None:
    """A timezone-aware bound from a datetime or an ISO-8601 string; None when not given.

    An empty string is refused, not read as "no bound": a template that rendered to nothing
    would otherwise widen an hour's extraction to everything before (or after) it.
    """
    if value is None:
        return None
    example = "2026-06-09T09:00:00+00:00"
    if isinstance(value, str) and not value.strip():
        raise ValueError(
            f"{name} is empty (a template that rendered to nothing?): give a timestamp such as {example}, "
            "or leave it out (None) for an open end"
        )
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        text = value.strip()
        if text == "None":
            raise ValueError(
                f"{name} rendered to None: a manual run has no data interval; pass explicit bounds "
                f"such as {example}"
            )
        try:
            moment = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
        except ValueError:
            raise ValueError(
                f"{name} must be an ISO-8601 timestamp such as {example} (got {value!r})"
            ) from None
    else:
        raise ValueError(f"{name} must be a datetime or an ISO-8601 string (got {type(value).__name__})")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(
            f"{name} has no timezone: Zoho's timestamps carry an offset, so a naive time is ambiguous; "
            f"give one such as {example} (Airflow's data_interval_start/end are timezone-aware)"
        )
    return moment


def check_interval(since: Any, before: Any) -> tuple[datetime | None, datetime | None]:
    start, end = interval_bound(since, "modified_since"), interval_bound(before, "modified_before")
    if start is not None and end is not None and start == end:
        raise ValueError(
            "modified_since equals modified_before, an empty interval: Airflow 3 gives manual runs, and "
            "cron schedules that are not data-interval timetables, a zero-length data interval; schedule "
            "with CronDataIntervalTimetable (or set [scheduler] create_cron_data_intervals) or pass bounds"
        )
    if start is not None and end is not None and start > end:
        raise ValueError("modified_since must be earlier than modified_before")
    return start, end


def clamp_to_now(before: datetime | None) -> datetime:
    """An interval's end, no later than this second: a record edited while the interval is being
    listed then belongs to the next interval (with its new time), never to this one twice."""
    now = datetime.now(timezone.utc).replace(microsecond=0)
    return now if before is None or before > now else before


def check_bound(value: Any, name: str, *, rendered: bool = False) -> Any:
    """An operator's interval bound: checked now if static, after rendering if templated."""
    if is_template(value) and not rendered:
        return value
    interval_bound(value, name)
    return value


EXTRACTION_MODES = ("incremental", "snapshot")


def check_mode(value: Any, since: Any, before: Any) -> str:
    if value not in EXTRACTION_MODES:
        raise ValueError(f"mode must be one of {', '.join(EXTRACTION_MODES)} (got {value!r})")
    if value == "snapshot" and (since or before):
        raise ValueError(
            "mode='snapshot' lists every record (to detect deletions): drop modified_since/modified_before"
        )
    return str(value)
