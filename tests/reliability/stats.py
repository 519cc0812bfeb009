"""Counts the reliability suite reports in its closing summary line."""

from __future__ import annotations

from collections import Counter

STATS: Counter[str] = Counter()


def summary_line() -> str | None:
    if not STATS:
        return None
    return (
        f"reliability: {STATS['faults_survived']} faults injected and survived, "
        f"{STATS['faults_failed_clearly']} failed clearly with no output, "
        f"{STATS['bad_inputs']} bad inputs tried, {STATS['items_lost']} items lost, "
        f"{STATS['items_duplicated']} items duplicated"
    )
