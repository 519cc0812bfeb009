"""Requests each filter reading cost, reported in the test run's closing summary."""

from __future__ import annotations

REQUESTS: dict[str, tuple[int, int, int, int]] = {}
"""case -> (records in the interval, requests of an interval, requests measuring, pages of a scan)."""


def summary_lines() -> list[str]:
    return [
        f"interval under {case}: {records} records, {cost} requests ({measuring} more the first time, to "
        f"measure the filter); a full scan is {scan} pages"
        for case, (records, cost, measuring, scan) in sorted(REQUESTS.items())
    ]
