"""Benchmarks of the Zoho Invoice provider against the local emulator, as ratios measured in one run.

Scenarios 1-5 measure the legacy XML protocol, 6-9 API v3 over OAuth 2.0, 10 API v3 with Zoho's
real limits on (100 requests a minute, 5 in process, 300 ms a request), 11 intervals under the
readings of Zoho's last_modified_time filter that need another strategy (exact, ignored), 12
writes: requests per row and 1,000 upserts at Zoho's limits.

    python benchmarks/run.py                # the full run (make bench)
    python benchmarks/run.py --quick        # tiny sizes, to check that every scenario works

Each scenario runs several times and reports median, min and max. The emulator runs in its own
process, so client CPU time is the hook's alone.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
AUTHTOKEN, APIKEY = "bench-authtoken", "bench-apikey"


@dataclass
class Row:
    scenario: str
    measure: str
    unit: str
    values: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    def cells(self) -> str:
        return f"{self.median:,.4g} | {min(self.values):,.4g} | {max(self.values):,.4g}"


@contextlib.contextmanager
def emulator(items: int, latency: float = 0.0) -> Iterator[str]:
    """The emulator in a child process; yields its URL."""
    from airflow_provider_zoho_invoice.emulator.process import emulator_process

    args = ["--items", str(items), "--latency", str(latency), "--authtoken", AUTHTOKEN, "--apikey", APIKEY]
    with emulator_process(*args) as (url, _):
        yield url


def connection_env(url: str, **extra: object) -> str:
    from airflow_provider_zoho_invoice.emulator import connection_json

    return connection_json(url, authtoken=AUTHTOKEN, apikey=APIKEY, **extra)


def baseline_listing(url: str) -> int:
    """What a user would write by hand: one Session, one POST per page, xmltodict."""
    import requests
    import xmltodict

    session = requests.Session()
    count, page = 0, 1
    while True:
        response = session.post(
            f"{url}/api/items/",
            data={
                "authtoken": AUTHTOKEN,
                "apikey": APIKEY,
                "scope": "invoiceapi",
                "page": page,
                "per_page": 200,
            },
            timeout=30,
        )
        document = xmltodict.parse(response.content)["Response"]
        items = document["Items"]["Item"] if document["Items"] else []
        count += len(items) if isinstance(items, list) else 1
        if page >= int(document["PageContext"]["@Total_Pages"]):
            return count
        page += 1


def hook_listing(concurrency: int = 1) -> int:
    from airflow_provider_zoho_invoice.hooks.zoho_invoice import ZohoInvoiceHook

    hook = ZohoInvoiceHook()
    try:
        return sum(1 for _ in hook.list_items(per_page=200, concurrency=concurrency))
    finally:
        hook.close()


def measure(action: Callable[[], int], expected: int) -> tuple[float, float]:
    """(CPU seconds of this process, wall seconds) of one run."""
    cpu, wall = time.process_time(), time.perf_counter()
    count = action()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    if count != expected:
        raise AssertionError(f"listed {count} items, expected {expected}")
    return cpu, wall


def throughput(items: int, repeats: int) -> list[Row]:
    base_cpu = Row("1 sequential", "baseline CPU (requests + xmltodict)", "s")
    hook_cpu = Row("1 sequential", "hook CPU", "s")
    ratio = Row("1 sequential", "hook / baseline CPU (target <= 1.00)", "x")
    # Zoho's default limit (100 requests a minute) stays on unless the run needs more pages than it allows.
    limit = {} if items <= 100 * 200 else {"requests_per_minute": 0}
    with emulator(items) as url:
        os.environ["AIRFLOW_CONN_ZOHO_INVOICE_DEFAULT"] = connection_env(url, **limit)
        alternate_cpu(lambda: baseline_listing(url), hook_listing, items, repeats, base_cpu, hook_cpu, ratio)
    return [base_cpu, hook_cpu, ratio]


def alternate_cpu(
    baseline: Callable[[], int],
    hook: Callable[[], int],
    expected: int,
    repeats: int,
    base_cpu: Row,
    hook_cpu: Row,
    ratio: Row,
) -> None:
    """Warm both, then measure them in alternating order, so that neither always runs second."""
    measure(baseline, expected)
    measure(hook, expected)
    for repeat in range(repeats):
        runs = [(base_cpu, baseline), (hook_cpu, hook)]
        for row, action in runs if repeat % 2 == 0 else runs[::-1]:
            row.values.append(measure(action, expected)[0])
        ratio.values.append(hook_cpu.values[-1] / base_cpu.values[-1])


def concurrent(pages: int, latency: float, workers: int, repeats: int) -> list[Row]:
    items = pages * 200
    base = Row("2 concurrent", f"baseline wall, sequential, {latency * 1000:g} ms latency", "s")
    rows = {n: Row("2 concurrent", f"hook wall, concurrency={n}", "s") for n in sorted({1, 4, workers})}
    ratio = Row("2 concurrent", f"hook concurrency={workers} / baseline wall (target <= 0.16)", "x")
    with emulator(items, latency) as url:
        os.environ["AIRFLOW_CONN_ZOHO_INVOICE_DEFAULT"] = connection_env(url, requests_per_minute=0)
        for _ in range(repeats):
            base.values.append(measure(lambda: baseline_listing(url), items)[1])
            for n, row in rows.items():
                row.values.append(measure(lambda n=n: hook_listing(n), items)[1])
            ratio.values.append(rows[workers].values[-1] / base.values[-1])
    floor = Row(
        "2 concurrent", f"physical floor (1 + ceil({pages - 1}/{workers}) round trips) / baseline", "x"
    )
    floor.values.append((1 + -(-(pages - 1) // workers)) / pages)
    return [base, *rows.values(), ratio, floor]


def peak_rss(
    rows: dict[int, Row], ratio: Row, env: dict[str, str], probe_args: list[str], repeats: int
) -> list[Row]:
    """Each size in a fresh process (memory_probe.py); the ratio is largest / smallest peak RSS."""
    small, large = min(rows), max(rows)
    for _ in range(repeats):
        for n, row in rows.items():
            result = subprocess.run(
                [sys.executable, str(HERE / "memory_probe.py"), str(n), *probe_args],
                env=env, capture_output=True, text=True, check=True, timeout=3600,
            )  # fmt: skip
            probe = json.loads(result.stdout.strip().splitlines()[-1])
            if probe["count"] != n or probe["lines"] != n:
                raise AssertionError(f"the operator wrote {probe}, expected {n} rows and lines")
            row.values.append(probe["peak_rss_mb"])
        ratio.values.append(rows[large].values[-1] / rows[small].values[-1])
    return [*rows.values(), ratio]


def memory(small: int, large: int, repeats: int) -> list[Row]:
    rows = {n: Row("3 memory", f"peak RSS streaming {n:,} items to JSON Lines", "MB") for n in (small, large)}
    ratio = Row("3 memory", f"peak RSS {large:,} / {small:,} (target <= 1.2, and < 250 MB)", "x")
    with emulator(large) as url:
        env = {**os.environ, "AIRFLOW_CONN_ZOHO_INVOICE_DEFAULT": connection_env(url, requests_per_minute=0)}
        return peak_rss(rows, ratio, env, [], repeats)


IMPORT_PROBE = """
import sys, time
import airflow.sdk
start = time.perf_counter()
import airflow_provider_zoho_invoice.operators.zoho_invoice
import airflow_provider_zoho_invoice.sensors.zoho_invoice
elapsed = time.perf_counter() - start
print(elapsed * 1000, int("requests" in sys.modules), int("xmltodict" in sys.modules))
"""

DAG_PROBE = """
import runpy, sys, time
import airflow.sdk
start = time.perf_counter()
runpy.run_path(sys.argv[1])
print((time.perf_counter() - start) * 1000)
"""

EMPTY_DAG = """
from datetime import datetime
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, task

with DAG(dag_id="empty_items_sync", schedule="@daily", start_date=datetime(2026, 1, 1), catchup=False) as dag:
    wait_for_credentials = EmptyOperator(task_id="wait_for_credentials")
    list_items = EmptyOperator(task_id="list_items")

    @task
    def summarize(result: dict) -> dict:
        return result

    wait_for_credentials >> list_items
    summarize(list_items.output)
"""


def python_ms(code: str, *args: str) -> list[float]:
    result = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=True, timeout=300
    )
    return [float(value) for value in result.stdout.split()]


def compile_package() -> None:
    """Bytecode for the package, as pip writes it when installing a wheel.

    Without it (an editable install under PYTHONDONTWRITEBYTECODE), every probe would time the
    compiler, not the import a scheduler's DAG processor pays.
    """
    import compileall

    compileall.compile_dir(str(ROOT / "airflow_provider_zoho_invoice"), quiet=1)


def parse_cost(repeats: int) -> list[Row]:
    compile_package()
    imports = Row("4 DAG parse", "import operators + sensors after airflow.sdk (target <= 10)", "ms")
    heavy = Row("4 DAG parse", "requests or xmltodict imported by that (target 0)", "count")
    example = Row("4 DAG parse", "run example_zoho_invoice_items_sync.py", "ms")
    empty = Row("4 DAG parse", "run the same DAG built from EmptyOperators", "ms")
    ratio = Row("4 DAG parse", "example / EmptyOperator DAG", "x")
    with tempfile.TemporaryDirectory() as tmp:
        empty_file = Path(tmp) / "empty_items_sync.py"
        empty_file.write_text(EMPTY_DAG)
        for _ in range(repeats):
            elapsed, has_requests, has_xmltodict = python_ms(IMPORT_PROBE)
            imports.values.append(elapsed)
            heavy.values.append(has_requests + has_xmltodict)
            example.values.append(
                python_ms(DAG_PROBE, str(ROOT / "example_dags/example_zoho_invoice_items_sync.py"))[0]
            )
            empty.values.append(python_ms(DAG_PROBE, str(empty_file))[0])
            ratio.values.append(example.values[-1] / empty.values[-1])
    return [imports, heavy, example, empty, ratio]


def xml_parsing(pages: int, repeats: int) -> list[Row]:
    import xmltodict

    from airflow_provider_zoho_invoice.emulator import Catalogue
    from airflow_provider_zoho_invoice.emulator.legacy import items_page_xml
    from airflow_provider_zoho_invoice.legacy.answers import parse_items_page

    catalogue = Catalogue(pages * 200, seed=1)
    bodies = [
        items_page_xml(catalogue.page(page, 200)[0], page=page, per_page=200, total=pages * 200)
        for page in range(1, pages + 1)
    ]
    megabytes = sum(map(len, bodies)) / 1e6
    hook = Row("5 XML parsing", "hook parser (typed items)", "MB/s")
    plain = Row("5 XML parsing", "xmltodict.parse", "MB/s")
    ratio = Row("5 XML parsing", "hook / xmltodict", "x")
    for _ in range(repeats):
        start = time.process_time()
        for body in bodies:
            parse_items_page(body, path="/api/items/", status_code=200)
        hook.values.append(megabytes / (time.process_time() - start))
        start = time.process_time()
        for body in bodies:
            xmltodict.parse(body)
        plain.values.append(megabytes / (time.process_time() - start))
        ratio.values.append(hook.values[-1] / plain.values[-1])
    return [hook, plain, ratio]


# -- API v3 (OAuth) ---------------------------------------------------------------------------

V3_ORGANIZATION = "10234695"


@contextlib.contextmanager
def v3_emulator(records: int, latency: float = 0.0, *limits: str) -> Iterator[str]:
    """The emulator in a child process serving ``records`` v3 records per resource; yields its URL.

    Without ``limits`` it plays a paid plan's 10 requests in process (scenarios 6-9 measure the
    client, not Zoho's limits; scenario 10 passes Zoho's Free-plan limits).
    """
    from airflow_provider_zoho_invoice.emulator.process import emulator_process

    args = ("--items", "0", "--records", str(records), "--latency", str(latency))
    with emulator_process(*args, *(limits or ("--max-in-flight", "10"))) as (url, _):
        yield url


def v3_connection_env(url: str, **extra: object) -> str:
    from airflow_provider_zoho_invoice.emulator import oauth_connection_json

    return oauth_connection_json(url, organization_id=V3_ORGANIZATION, **{"max_in_flight": 10, **extra})


def v3_access_token(url: str) -> str:
    import requests

    from airflow_provider_zoho_invoice.emulator import (
        DEFAULT_CLIENT_ID,
        DEFAULT_CLIENT_SECRET,
        DEFAULT_REFRESH_TOKEN,
    )

    form = {
        "grant_type": "refresh_token",
        "client_id": DEFAULT_CLIENT_ID,
        "client_secret": DEFAULT_CLIENT_SECRET,
        "refresh_token": DEFAULT_REFRESH_TOKEN,
    }
    token: str = requests.post(f"{url}/oauth/v2/token", data=form, timeout=30).json()["access_token"]
    return token


def v3_baseline_listing(url: str, token: str) -> int:
    """What a user would write by hand: one Session, one GET per page, the json module."""
    import requests

    session = requests.Session()
    headers = {
        "Authorization": f"Zoho-oauthtoken {token}",
        "X-com-zoho-invoice-organizationid": V3_ORGANIZATION,
    }
    count, page = 0, 1
    while True:
        response = session.get(
            f"{url}/invoice/v3/invoices", params={"page": page, "per_page": 200}, headers=headers, timeout=30
        )
        document = json.loads(response.content)
        count += len(document["invoices"])
        if not document["page_context"]["has_more_page"]:
            return count
        page += 1


def v3_hook_listing(concurrency: int = 1) -> int:
    from airflow_provider_zoho_invoice.hooks.zoho_invoice_oauth import ZohoInvoiceOAuthHook

    hook = ZohoInvoiceOAuthHook()
    try:
        return sum(1 for _ in hook.list_records("invoices", per_page=200, concurrency=concurrency))
    finally:
        hook.close()


def v3_throughput(records: int, repeats: int) -> list[Row]:
    base_cpu = Row("6 v3 sequential", "baseline CPU (requests + json)", "s")
    hook_cpu = Row("6 v3 sequential", "OAuth hook CPU", "s")
    ratio = Row("6 v3 sequential", "hook / baseline CPU (target <= 1.00)", "x")
    # The limit (100 a minute) stays on while the pages and the one token request fit in a minute.
    limit = {} if -(-records // 200) + 1 <= 100 else {"requests_per_minute": 0}
    with v3_emulator(records) as url:
        os.environ["AIRFLOW_CONN_ZOHO_INVOICE_DEFAULT"] = v3_connection_env(url, **limit)
        token = v3_access_token(url)
        baseline = lambda: v3_baseline_listing(url, token)  # noqa: E731 - a measured action
        alternate_cpu(baseline, v3_hook_listing, records, repeats, base_cpu, hook_cpu, ratio)
    return [base_cpu, hook_cpu, ratio]


def v3_concurrent(pages: int, latency: float, workers: int, repeats: int) -> list[Row]:
    records = pages * 200
    scenario = "7 v3 concurrent"
    base = Row(scenario, f"baseline wall, sequential, {latency * 1000:g} ms latency", "s")
    rows = {n: Row(scenario, f"OAuth hook wall, concurrency={n}", "s") for n in sorted({1, 4, workers})}
    ratio = Row(scenario, f"hook concurrency={workers} / baseline wall (target <= 0.16)", "x")
    with v3_emulator(records, latency) as url:
        os.environ["AIRFLOW_CONN_ZOHO_INVOICE_DEFAULT"] = v3_connection_env(url, requests_per_minute=0)
        token = v3_access_token(url)
        v3_hook_listing()  # the access token, once, into the token cache
        for _ in range(repeats):
            base.values.append(measure(lambda: v3_baseline_listing(url, token), records)[1])
            for n, row in rows.items():
                row.values.append(measure(lambda n=n: v3_hook_listing(n), records)[1])
            ratio.values.append(rows[workers].values[-1] / base.values[-1])
    floor = Row(scenario, f"physical floor (1 + ceil({pages - 1}/{workers}) round trips) / baseline", "x")
    floor.values.append((1 + -(-(pages - 1) // workers)) / pages)
    return [base, *rows.values(), ratio, floor]


def v3_memory(small: int, large: int, repeats: int) -> list[Row]:
    scenario = "8 v3 memory"
    rows = {
        n: Row(scenario, f"peak RSS streaming {n:,} invoices to JSON Lines", "MB") for n in (small, large)
    }
    ratio = Row(scenario, f"peak RSS {large:,} / {small:,} (target <= 1.2)", "x")
    with v3_emulator(large) as url, tempfile.TemporaryDirectory() as tokens:
        env = {
            **os.environ,
            "AIRFLOW_CONN_ZOHO_INVOICE_DEFAULT": v3_connection_env(url, requests_per_minute=0),
            "AIRFLOW__ZOHO_INVOICE__TOKEN_CACHE_DIR": tokens,
        }
        return peak_rss(rows, ratio, env, ["invoices"], repeats)


def v3_interval_baseline(url: str, token: str, since: str) -> tuple[int, int]:
    """A hand-written interval loop: Zoho's filter and sort, offset pages, json; (records, requests)."""
    import requests

    session = requests.Session()
    headers = {
        "Authorization": f"Zoho-oauthtoken {token}",
        "X-com-zoho-invoice-organizationid": V3_ORGANIZATION,
    }
    count, page = 0, 1
    while True:
        params = {"last_modified_time": since, "sort_column": "last_modified_time", "sort_order": "A",
                  "page": page, "per_page": 200}  # fmt: skip
        document = json.loads(
            session.get(f"{url}/invoice/v3/invoices", params=params, headers=headers, timeout=60).content
        )
        count += len(document["invoices"])
        if not document["page_context"]["has_more_page"]:
            return count, page
        page += 1


def v3_interval_hook(since: str, before: str) -> int:
    from airflow_provider_zoho_invoice.hooks.zoho_invoice_oauth import ZohoInvoiceOAuthHook

    hook = ZohoInvoiceOAuthHook()
    try:
        records = hook.list_records("invoices", per_page=200, modified_since=since, modified_before=before)
        return sum(1 for _ in records)
    finally:
        hook.close()


def v3_interval(records: int, repeats: int) -> list[Row]:
    """One interval holding every invoice: keyset paging against an offset loop over the same filter."""
    scenario = "9 v3 interval"
    base_cpu = Row(scenario, f"baseline CPU, {records:,} invoices (requests + json, offset pages)", "s")
    hook_cpu = Row(scenario, "OAuth hook CPU (keyset pages, exact interval)", "s")
    ratio = Row(scenario, "hook / baseline CPU (target <= 1.00)", "x")
    base_requests = Row(scenario, "baseline requests", "count")
    hook_requests = Row(scenario, "hook requests", "count")
    extra = Row(scenario, "extra requests per 200 records, keyset over offset (target <= 1)", "x")
    since, before = "2026-06-01T00:00:00-04:00", "2100-01-01T00:00:00+00:00"
    with v3_emulator(records) as url:
        os.environ["AIRFLOW_CONN_ZOHO_INVOICE_DEFAULT"] = v3_connection_env(url, requests_per_minute=0)
        token = v3_access_token(url)
        v3_interval_hook(since, before)  # warm: token, organization, the emulator's sorted index
        counts: dict[str, int] = {}

        def baseline() -> int:
            total, made = v3_interval_baseline(url, token, since)
            counts["baseline"] = made
            return total

        for repeat in range(repeats):
            runs = [("baseline", baseline), ("hook", lambda: v3_interval_hook(since, before))]
            for name, action in runs if repeat % 2 == 0 else runs[::-1]:
                with _counted_requests(url) as made:
                    cpu, _ = measure(action, records)
                if name == "hook":
                    counts["hook"] = made()
                (base_cpu if name == "baseline" else hook_cpu).values.append(cpu)
            ratio.values.append(hook_cpu.values[-1] / base_cpu.values[-1])
            base_requests.values.append(counts["baseline"])
            hook_requests.values.append(counts["hook"])
            extra.values.append((counts["hook"] - counts["baseline"]) / (records / 200))
        small = max(1, records // 10)
        memory_rows = {n: Row(scenario, f"peak RSS extracting {n:,} invoices of the interval to a file", "MB")
                       for n in (small, records)}  # fmt: skip
        memory_ratio = Row(scenario, f"peak RSS {records:,} / {small:,} (target <= 1.2)", "x")
        with tempfile.TemporaryDirectory() as tokens:
            env = {**os.environ, "AIRFLOW__ZOHO_INVOICE__TOKEN_CACHE_DIR": tokens}
            interval_memory = peak_rss(
                memory_rows, memory_ratio, env, ["invoices", since, before], max(1, repeats // 2)
            )
    return [base_cpu, hook_cpu, ratio, base_requests, hook_requests, extra, *interval_memory]


# -- scenario 11: intervals under each reading of Zoho's filter -------------------------------

FILTER_READINGS = ("gte", "exact", "ignored")


def _modified_at(index: int) -> str:
    """About when the emulator's invoice ``index`` was last modified (they grow with the index)."""
    from airflow_provider_zoho_invoice.emulator.records import EPOCH

    return (EPOCH + timedelta(seconds=index * 137)).isoformat()


def filter_readings(records: int, repeats: int) -> list[Row]:
    """Intervals under Zoho's documented filter (gte) and two it might really have: requests and CPU."""
    scenario = "11 v3 interval by filter reading"
    intervals = {
        "recent (newest 10%)": (_modified_at(records * 9 // 10), "2100-01-01T00:00:00+00:00"),
        "older (40-50%)": (_modified_at(records * 4 // 10), _modified_at(records // 2)),
    }
    rows: list[Row] = []
    for label, (since, before) in intervals.items():
        cpu = {r: Row(scenario, f"{label}: hook CPU, filter read as {r}", "s") for r in FILTER_READINGS}
        made = {r: Row(scenario, f"{label}: requests, filter read as {r}", "count") for r in FILTER_READINGS}
        others = [r for r in FILTER_READINGS if r != "gte"]
        made_ratio = {r: Row(scenario, f"{label}: requests, {r} / gte", "x") for r in others}
        cpu_ratio = {r: Row(scenario, f"{label}: CPU, {r} / gte", "x") for r in others}
        expected: int | None = None
        for reading in FILTER_READINGS:
            limits = ("--max-in-flight", "10", "--modified-filter", reading)
            with v3_emulator(records, 0.0, *limits) as url, tempfile.TemporaryDirectory() as tokens:
                os.environ["AIRFLOW__ZOHO_INVOICE__TOKEN_CACHE_DIR"] = tokens
                os.environ["AIRFLOW_CONN_ZOHO_INVOICE_DEFAULT"] = v3_connection_env(
                    url, requests_per_minute=0
                )
                warm = v3_interval_hook(since, before)  # token, organization, and the filter measured
                expected = warm if expected is None else expected
                for _ in range(repeats):
                    with _counted_requests(url) as count:
                        seconds, _ = measure(lambda s=since, b=before: v3_interval_hook(s, b), expected)
                    cpu[reading].values.append(seconds)
                    made[reading].values.append(count())
            os.environ.pop("AIRFLOW__ZOHO_INVOICE__TOKEN_CACHE_DIR")
        for reading in others:
            made_ratio[reading].values.append(made[reading].median / made["gte"].median)
            cpu_ratio[reading].values.append(cpu[reading].median / cpu["gte"].median)
        rows += [*made.values(), *cpu.values(), *made_ratio.values(), *cpu_ratio.values()]
    scan = Row(scenario, f"pages of a full scan of {records:,} invoices", "count")
    scan.values.append(-(-records // 200))
    return [*rows, scan]


# -- scenario 12: writes ----------------------------------------------------------------------


def _usage_rows(count: int) -> list[dict[str, Any]]:
    return [
        {
            "reference_number": f"USAGE-{number:06d}",
            "customer_id": "260815000100000013",
            "line_items": [{"name": "API calls", "rate": "0.0125", "quantity": 1000 + number}],
        }
        for number in range(count)
    ]


def _api_requests(url: str) -> int:
    return sum(n for kind, n in _emulator_stats(url)["requests"].items() if kind.startswith("v3:"))


def _upsert(rows: list[dict[str, Any]]) -> Counter[str]:
    from airflow_provider_zoho_invoice.hooks.zoho_invoice_oauth import ZohoInvoiceOAuthHook

    hook = ZohoInvoiceOAuthHook()
    try:
        return Counter(
            r["action"] for r in hook.upsert_records("invoices", rows, match_on="reference_number")
        )
    finally:
        hook.close()


def upserts(count: int, latency: float) -> list[Row]:
    """Requests per written row for a first load and a re-run; wall time of the upserts at Zoho's
    limits (100 a minute, 5 in process, ``latency`` a request) against the floors of scenario 10."""
    scenario = "12 v3 upsert"
    rows = _usage_rows(count)
    first = Row(scenario, f"requests per row, first load of {count:,} invoices", "count")
    again = Row(scenario, "requests per row, the same input again (every row unchanged)", "count")
    wall = Row(scenario, f"{count:,} upserts at Zoho's limits ({latency * 1000:g} ms a request), wall", "s")
    floor = Row(scenario, "burst-aware floor for the requests made (as scenario 10)", "s")
    ratio = Row(scenario, "wall / burst-aware floor", "x")
    rate = Row(scenario, "wall / (requests / 100 a minute), the rate floor (target <= 1.10)", "x")
    quota = ("--daily-quota", "1000000")
    with tempfile.TemporaryDirectory() as tokens:
        os.environ["AIRFLOW__ZOHO_INVOICE__TOKEN_CACHE_DIR"] = tokens
        with v3_emulator(200, 0.0, "--max-in-flight", "10", *quota) as url:
            os.environ["AIRFLOW_CONN_ZOHO_INVOICE_DEFAULT"] = v3_connection_env(url, requests_per_minute=0)
            for row, expected in ((first, "created"), (again, "unchanged")):
                before = _api_requests(url)
                assert _upsert(rows) == {expected: count}
                row.values.append((_api_requests(url) - before) / count)
        limits = ("--per-minute-limit", str(ZOHO_PER_MINUTE), "--max-in-flight", str(ZOHO_IN_FLIGHT), *quota)
        with v3_emulator(200, latency, *limits) as url:
            os.environ["AIRFLOW_CONN_ZOHO_INVOICE_DEFAULT"] = v3_connection_env(url, max_in_flight=5)
            started = time.perf_counter()
            assert _upsert(rows) == {"created": count}
            elapsed = time.perf_counter() - started
            made = _api_requests(url)
            stats = _emulator_stats(url)
            assert stats["refused_in_flight"] + stats["refused_per_minute"] == 0
        os.environ.pop("AIRFLOW__ZOHO_INVOICE__TOKEN_CACHE_DIR")
    wall.values.append(elapsed)
    floor.values.append(
        latency + limits_floor(made, latency, per_window=ZOHO_PER_MINUTE, window=60.0, slots=ZOHO_IN_FLIGHT)
    )
    ratio.values.append(elapsed / floor.values[0])
    rate.values.append(elapsed / (60.0 * made / ZOHO_PER_MINUTE))
    return [first, again, wall, floor, ratio, rate]


# -- scenario 10: Zoho's real limits ---------------------------------------------------------

ZOHO_PER_MINUTE, ZOHO_IN_FLIGHT, ZOHO_LATENCY = 100, 5, 0.3


def limits_floor(requests: int, latency: float, *, per_window: int, window: float, slots: int) -> float:
    """The least wall time ``requests`` calls can take under Zoho's limits: at most ``per_window``
    starts in any ``window`` seconds (a burst of them at once is allowed), at most ``slots`` in
    process, each taking ``latency``. Greedy earliest starts, which is optimal here."""
    starts: list[float] = []
    free = [0.0] * slots  # when each slot frees up
    for number in range(requests):
        earliest = min(free)
        if number >= per_window:
            earliest = max(earliest, starts[number - per_window] + window)
        starts.append(earliest)
        free[free.index(min(free))] = earliest + latency
    return max(free)


def _emulator_stats(url: str) -> dict[str, Any]:
    import requests

    stats: dict[str, Any] = requests.get(f"{url}/_emulator/stats", timeout=10).json()
    return stats


def _extraction(kind: str) -> int:
    """One extraction by the records operator, as a DAG task would run it; the records written."""
    with tempfile.TemporaryDirectory() as out:
        return _extractor(kind, out)()


def _extractor(kind: str, out: str) -> Callable[[], int]:
    """The records operator, built and its connection read, ready to run (imports are not timed)."""
    from airflow_provider_zoho_invoice.operators.zoho_invoice import ZohoInvoiceListRecordsOperator

    bounds = {"modified_since": "2026-01-01T00:00:00+00:00"} if kind == "interval" else {}
    operator = ZohoInvoiceListRecordsOperator(
        task_id=kind,
        resource="invoices",
        output_path=f"{out}/invoices.jsonl",
        concurrency=ZOHO_IN_FLIGHT,
        mode="snapshot" if kind == "snapshot" else "incremental",
        **bounds,
    )
    operator.hook.transport  # noqa: B018 - the connection read and the HTTP stack imported, untimed
    try:  # Airflow 3.2+ loads its plugins at the first file write: a running task has already
        from airflow.sdk.lineage import get_hook_lineage_collector
    except ImportError:  # Airflow 3.1
        pass
    else:
        get_hook_lineage_collector()
    return lambda: int(operator.execute({})["count"])


def _two_tasks(redis_url: str, tokens: str) -> tuple[list[int], float]:
    """Two task processes extracting the same organization at once, sharing Redis: the records each
    wrote, and the wall time from the first listing's start to the last one's end (process start-up,
    the same for any task, is left out)."""
    script = (
        "import sys, tempfile, time; sys.path.insert(0, sys.argv[1]); from run import _extractor\n"
        "with tempfile.TemporaryDirectory() as out:\n"
        "    extract = _extractor('full', out); started = time.time(); count = extract()\n"
        "    print('records written:', count, started, time.time())"
    )
    connection = json.loads(os.environ["AIRFLOW_CONN_ZOHO_INVOICE_DEFAULT"])
    connection["extra"]["token_cache"] = redis_url
    env = {
        **os.environ,
        "AIRFLOW_CONN_ZOHO_INVOICE_DEFAULT": json.dumps(connection),
        "AIRFLOW__ZOHO_INVOICE__TOKEN_CACHE_DIR": tokens,
    }
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(HERE)], env=env, stdout=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outputs = [process.communicate(timeout=900)[0] for process in processes]
    reports = [
        line.split()[2:]
        for out in outputs
        for line in out.splitlines()
        if line.startswith("records written:")
    ]
    counts = [int(count) for count, _, _ in reports]
    wall = max(float(end) for _, _, end in reports) - min(float(start) for _, start, _ in reports)
    return counts, wall


@contextlib.contextmanager
def _redis_server() -> Iterator[str | None]:
    """A throwaway redis-server on a free loopback port, or None when Debian's package is missing."""
    import shutil
    import socket

    binary = shutil.which("redis-server")
    if binary is None:
        yield None
        return
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with tempfile.TemporaryDirectory() as directory:
        command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", directory]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 20
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            process.terminate()
            process.wait(timeout=20)


def zoho_limits(records: int, latency: float) -> list[Row]:
    """Extractions against the emulator with Zoho's limits on: 100 requests a minute, 5 in process,
    ``latency`` per request. The floor is what those limits allow at best; zero 429s are expected."""
    scenario = "10 v3 at Zoho's limits"
    limits = ("--per-minute-limit", str(ZOHO_PER_MINUTE), "--max-in-flight", str(ZOHO_IN_FLIGHT))
    pages = -(-records // 200)
    floor_of = lambda requests: limits_floor(  # noqa: E731 - the floor, given how many requests
        requests, latency, per_window=ZOHO_PER_MINUTE, window=60.0, slots=ZOHO_IN_FLIGHT
    )
    rows: list[Row] = []
    per_thousand = {kind: Row(scenario, f"requests per 1,000 records, {kind} extraction", "count")
                    for kind in ("full", "snapshot", "interval")}  # fmt: skip
    refused = Row(scenario, "429 answers (code 44 or 1070), all extractions (target 0)", "count")
    refused.values.append(0)
    wall, floor, ratio = (
        Row(scenario, f"full extraction of {records:,} invoices, wall", "s"),
        Row(scenario, f"floor: {pages} requests at {ZOHO_PER_MINUTE}/min, {ZOHO_IN_FLIGHT} in process, "
                      f"{latency * 1000:g} ms, plus the token", "s"),
        Row(scenario, "full extraction wall / floor (burst-aware: the least the limits allow)", "x"),
    )  # fmt: skip
    rate_ratio = Row(scenario, f"full extraction wall / (requests / {ZOHO_PER_MINUTE} a minute), the issue's "
                               "floor (target <= 1.05)", "x")  # fmt: skip
    rate_floor = lambda requests: 60.0 * requests / ZOHO_PER_MINUTE  # noqa: E731
    with tempfile.TemporaryDirectory() as tokens:
        os.environ["AIRFLOW__ZOHO_INVOICE__TOKEN_CACHE_DIR"] = tokens
        for kind in ("full", "snapshot", "interval"):
            with (
                v3_emulator(records, latency, *limits) as url,  # fresh: each starts with a full minute
                tempfile.TemporaryDirectory() as out,
            ):
                os.environ["AIRFLOW_CONN_ZOHO_INVOICE_DEFAULT"] = v3_connection_env(url, max_in_flight=5)
                extract = _extractor(kind, out)
                started = time.perf_counter()
                assert extract() == records
                elapsed = time.perf_counter() - started
                stats = _emulator_stats(url)
                per_thousand[kind].values.append(stats["requests"]["v3:invoices"] / (records / 1000))
                refused.values[0] += stats["refused_in_flight"] + stats["refused_per_minute"]
                if kind == "full":
                    wall.values.append(elapsed)
                    floor.values.append(latency + floor_of(pages))  # the token request, then the pages
                    ratio.values.append(elapsed / floor.values[0])
                    rate_ratio.values.append(elapsed / rate_floor(pages))
        rows += [wall, floor, ratio, rate_ratio, *per_thousand.values()]
        with _redis_server() as redis_url:
            two = Row(scenario, "two tasks at once, one organization (Redis shared), wall / burst-aware "
                                "floor", "x")  # fmt: skip
            two_rate = Row(scenario, f"two tasks at once, wall / ({2 * pages} requests / {ZOHO_PER_MINUTE} a "
                                     "minute), the issue's floor (target <= 1.10)", "x")  # fmt: skip
            if redis_url is None:
                print(
                    "scenario 10: redis-server not installed; the two-task measure is skipped",
                    file=sys.stderr,
                )
            else:
                with v3_emulator(records, latency, *limits) as url:
                    os.environ["AIRFLOW_CONN_ZOHO_INVOICE_DEFAULT"] = v3_connection_env(url, max_in_flight=5)
                    counts, elapsed = _two_tasks(redis_url, tokens)
                    assert counts == [records, records]
                    stats = _emulator_stats(url)
                    refused.values[0] += stats["refused_in_flight"] + stats["refused_per_minute"]
                    two.values.append(elapsed / (latency + floor_of(2 * pages)))
                    two_rate.values.append(elapsed / rate_floor(2 * pages))
                rows += [two, two_rate]
    return [*rows, refused]


@contextlib.contextmanager
def _counted_requests(url: str) -> Iterator[Callable[[], int]]:
    """Requests the emulator served for /invoices meanwhile, read from its stats endpoint."""
    import requests

    def served() -> int:
        value: int = (
            requests.get(f"{url}/_emulator/stats", timeout=10).json()["requests"].get("v3:invoices", 0)
        )
        return value

    before = served()
    result = {"made": 0}
    yield lambda: result["made"]
    result["made"] = served() - before


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks that every scenario works")
    parser.add_argument("--items", type=int, default=20_000, help="items for scenario 1 (default 20,000)")
    parser.add_argument("--pages", type=int, default=100, help="pages for scenario 2 (default 100)")
    parser.add_argument("--latency", type=float, default=0.05, help="simulated latency, scenario 2 (s)")
    parser.add_argument("--workers", type=int, default=8, help="concurrency measured in scenario 2")
    parser.add_argument("--memory-items", type=int, default=1_000_000, help="large size of scenario 3")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write the rows here")
    parser.add_argument("--only", type=int, action="append", choices=range(1, 13), help="run only scenario N")
    parser.add_argument("--upsert-rows", type=int, default=1_000, help="rows upserted in scenario 12")
    parser.add_argument("--interval-records", type=int, default=100_000, help="invoices in scenario 9")
    parser.add_argument("--limits-records", type=int, default=20_000, help="invoices in scenario 10")
    parser.add_argument("--limits-latency", type=float, default=ZOHO_LATENCY, help="latency, scenario 10 (s)")
    args = parser.parse_args(argv)
    if args.quick:
        args.items, args.pages, args.memory_items, args.repeats, args.latency = 1_000, 6, 3_000, 1, 0.01
        args.interval_records = 2_000
        args.limits_records, args.limits_latency = 2_000, 0.02
        args.upsert_rows = 30
    small_memory = min(10_000, args.memory_items // 3)

    started = time.perf_counter()
    scenarios: dict[int, Callable[[], list[Row]]] = {
        1: lambda: throughput(args.items, args.repeats),
        2: lambda: concurrent(args.pages, args.latency, args.workers, args.repeats),
        3: lambda: memory(small_memory, args.memory_items, max(1, args.repeats // 2)),
        4: lambda: parse_cost(args.repeats),
        5: lambda: xml_parsing(max(5, args.items // 200), args.repeats),
        6: lambda: v3_throughput(args.items, args.repeats),
        7: lambda: v3_concurrent(args.pages, args.latency, args.workers, args.repeats),
        8: lambda: v3_memory(small_memory, args.memory_items, max(1, args.repeats // 2)),
        9: lambda: v3_interval(args.interval_records, args.repeats),
        10: lambda: zoho_limits(args.limits_records, args.limits_latency),
        11: lambda: filter_readings(args.interval_records // 5, args.repeats),
        12: lambda: upserts(args.upsert_rows, args.limits_latency),
    }
    rows = [row for number, run in scenarios.items() if not args.only or number in args.only for row in run()]
    print(f"Zoho Invoice provider benchmarks ({args.repeats} runs each; python {sys.version.split()[0]})")
    print()
    print("| scenario | measure | unit | median | min | max |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        print(f"| {row.scenario} | {row.measure} | {row.unit} | {row.cells()} |")
    print()
    print(f"total time {time.perf_counter() - started:.0f} s")
    if args.json:
        args.json.write_text(json.dumps([row.__dict__ for row in rows], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
