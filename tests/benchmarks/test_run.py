"""The benchmark command keeps working (tiny sizes; nothing here asserts on time)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_every_scenario_runs_at_a_tiny_size(tmp_path):
    out = tmp_path / "rows.json"
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    rows = json.loads(out.read_text())
    scenarios = {row["scenario"] for row in rows}
    assert scenarios == {
        "1 sequential", "2 concurrent", "3 memory", "4 DAG parse", "5 XML parsing",
        "6 v3 sequential", "7 v3 concurrent", "8 v3 memory", "9 v3 interval", "10 v3 at Zoho's limits",
        "11 v3 interval by filter reading", "12 v3 upsert",
    }  # fmt: skip
    for row in rows:
        assert row["values"], row
        assert all(value >= 0 for value in row["values"]), row
    heavy = next(row for row in rows if row["measure"].startswith("requests or xmltodict imported"))
    assert heavy["values"] == [0] * len(heavy["values"])  # a fact about imports, not a timing
    assert "| 1 sequential | hook / baseline CPU" in result.stdout


def test_the_limits_floor_follows_the_rules():
    """The floor of scenario 10: bursts up to the per-minute limit, then the window; five in process."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from run import limits_floor

    assert limits_floor(100, 0.3, per_window=100, window=60, slots=5) == pytest.approx(6.0)
    assert limits_floor(200, 0.3, per_window=100, window=60, slots=5) == pytest.approx(66.0)
    assert limits_floor(7, 1.0, per_window=100, window=60, slots=5) == pytest.approx(2.0)
