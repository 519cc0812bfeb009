"""Access tokens and the request budget shared across machines through a real redis-server.

The server is Debian's ``redis-server`` on a loopback port; ``make test`` installs it, and a test
run without it fails rather than skips.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from airflow_provider_zoho_invoice.emulator import FaultPlan
from airflow_provider_zoho_invoice.exceptions import ZohoInvoiceConfigError, ZohoInvoiceQuotaError
from airflow_provider_zoho_invoice.hooks.zoho_invoice_oauth import ZohoInvoiceOAuthHook
from airflow_provider_zoho_invoice.v3.config import oauth_config_from_connection
from tests.reliability.test_ratelimit import max_in_any_window

REDIS_PASSWORD = "LEAKTEST-redis-password-4d4d"


class RedisServer:
    def __init__(self, directory: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail(
                "the Redis tests need Debian's redis-server: run make test, or apt-get install redis-server"
            )
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self._command = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                         "--appendonly", "no", "--requirepass", REDIS_PASSWORD, "--dir", str(directory)]  # fmt: skip
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://:{REDIS_PASSWORD}@127.0.0.1:{self.port}/3"

    def start(self) -> None:
        self.process = subprocess.Popen(self._command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=20)
            self.process = None


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


def test_three_machines_refresh_once(make_emulator, use_oauth_emulator, redis_server, tmp_path):
    emulator = make_emulator(records=60, faults=FaultPlan(latency=0.05))
    use_oauth_emulator(emulator, token_cache=redis_server.url)
    script = textwrap.dedent(
        """
        from airflow_provider_zoho_invoice.hooks.zoho_invoice_oauth import ZohoInvoiceOAuthHook
        print(len(list(ZohoInvoiceOAuthHook().list_records("invoices", per_page=20))))
        """
    )
    processes = []
    for machine in range(3):  # no shared disk: each "machine" has its own token directory
        env = {**os.environ, "AIRFLOW__ZOHO_INVOICE__TOKEN_CACHE_DIR": str(tmp_path / f"machine-{machine}")}
        processes.append(
            subprocess.Popen(
                [sys.executable, "-c", script],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    outputs = [process.communicate(timeout=120) for process in processes]
    assert [out.strip().splitlines()[-1] for out, _ in outputs] == ["60"] * 3, outputs[0][1][-2000:]
    assert emulator.accounts.oauth.refreshes == 1
    assert not any((tmp_path / f"machine-{machine}").exists() for machine in range(3))  # nothing on disk
    for out, err in outputs:
        assert REDIS_PASSWORD not in out + err


def test_one_request_budget_across_four_listers(make_emulator, use_oauth_emulator, redis_server):
    """Four hooks, four budgets without Redis; one with it. A 2 s window keeps the test at seconds."""
    emulator = make_emulator(records=200)
    use_oauth_emulator(
        emulator,
        token_cache=redis_server.url,
        requests_per_minute=10,
        rate_window=2,
        organization_id="10234695",
    )
    counts: list[int] = []

    def lister() -> None:
        counts.append(len(list(ZohoInvoiceOAuthHook().list_records("invoices", per_page=20))))

    threads = [threading.Thread(target=lister) for _ in range(4)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    elapsed = time.monotonic() - started
    assert counts == [200] * 4
    assert emulator.requests["v3:invoices"] == 4 * 10
    # Arrival times at the emulator trail the limiter's grants by a little jitter, so the check uses
    # a window a quarter shorter than the budget's: four separate budgets would put all 40 in it.
    assert max_in_any_window(emulator.request_times, 1.5) <= 10
    assert elapsed > 3 * 2 - 0.5  # 40 requests at 10 per window: at least three windows must pass


def test_redis_stopping_mid_run_does_not_fail_the_listing(
    make_emulator, use_oauth_emulator, redis_server, capfd
):
    emulator = make_emulator(records=400, faults=FaultPlan(latency=0.05))
    use_oauth_emulator(emulator, token_cache=redis_server.url, requests_per_minute=1000)
    hook = ZohoInvoiceOAuthHook()
    records = hook.list_records("invoices", per_page=20)
    first = [next(records) for _ in range(50)]
    redis_server.stop()
    rest = list(records)
    assert len(first) + len(rest) == 400
    emulator.accounts.expire_access_tokens()  # a refresh now has to do without Redis too
    assert len(list(ZohoInvoiceOAuthHook().list_records("invoices", per_page=200))) == 400
    out = capfd.readouterr().out
    assert out.count("The shared Zoho store (Redis at redis://127.0.0.1") >= 1
    assert "carries on with per-machine access tokens" in out and REDIS_PASSWORD not in out


def test_min_daily_remaining_stops_a_listing_before_it_starts(
    make_emulator, use_oauth_emulator, redis_server
):
    emulator = make_emulator(records=100, daily_quota=5)
    use_oauth_emulator(emulator, token_cache=redis_server.url, min_daily_remaining=3)
    assert len(list(ZohoInvoiceOAuthHook().list_records("invoices", per_page=50))) == 100  # 2 calls, 3 left
    assert len(list(ZohoInvoiceOAuthHook().list_records("invoices", per_page=100))) == 100  # 1 more: 2 left
    with pytest.raises(
        ZohoInvoiceQuotaError, match=r"only 2 of today's 5 API calls are left.*min_daily_remaining"
    ):
        ZohoInvoiceOAuthHook().list_records("invoices")  # another task: the shared store knows
    assert emulator.requests["v3:invoices"] == 3


@pytest.mark.parametrize(
    "url",
    ["redis://127.0.0.1:6379/0", "rediss://user:pw@redis.example.com:6380/2", "redis://:pw@localhost"],
)
def test_redis_urls_are_accepted(url):
    config = oauth_config_from_connection(
        conn_id="c", login="i", password="s", host=None, port=None,
        extra={"refresh_token": "r", "token_cache": url}, overrides={},
    )  # fmt: skip
    assert config.shared_store_url == url
    assert "pw" not in repr(config)


@pytest.mark.parametrize(
    "url",
    [
        "redis://:sekrit@",
        "redis://:sekrit@host:port/0",
        "redis://:sekrit@host/db",
        "memcached://:sekrit@host",
    ],
)
def test_bad_redis_urls_are_refused_without_echo(url):
    with pytest.raises(ZohoInvoiceConfigError, match="Redis URL such as") as caught:
        oauth_config_from_connection(
            conn_id="c", login="i", password="s", host=None, port=None,
            extra={"refresh_token": "r", "token_cache": url}, overrides={},
        )  # fmt: skip
    assert "sekrit" not in str(caught.value)


def test_the_in_flight_limit_spans_machines(make_emulator, use_oauth_emulator, redis_server, tmp_path):
    """Three machines (no shared disk) with four page workers each: five requests in process at most."""
    emulator = make_emulator(records=400, faults=FaultPlan(latency=0.05))
    use_oauth_emulator(emulator, token_cache=redis_server.url, organization_id="10234695")
    script = textwrap.dedent(
        """
        from airflow_provider_zoho_invoice.hooks.zoho_invoice_oauth import ZohoInvoiceOAuthHook
        print(len(list(ZohoInvoiceOAuthHook().list_records("invoices", per_page=20, concurrency=4))))
        """
    )
    processes = []
    for machine in range(3):
        env = {**os.environ, "AIRFLOW__ZOHO_INVOICE__TOKEN_CACHE_DIR": str(tmp_path / f"machine-{machine}")}
        processes.append(
            subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        )  # fmt: skip
    outputs = [process.communicate(timeout=120) for process in processes]
    assert [out.strip().splitlines()[-1] for out, _ in outputs] == ["400"] * 3, outputs[0][1][-2000:]
    assert emulator.refused_in_flight == 0
    assert 2 <= emulator.most_in_flight <= 5


def test_what_was_measured_of_the_filter_is_shared_through_redis(
    make_emulator, use_oauth_emulator, redis_server, tmp_path, monkeypatch
):
    emulator = make_emulator(records=300, modified_filter="gt")
    use_oauth_emulator(emulator, token_cache=redis_server.url)
    since = datetime(2026, 6, 1, 14, tzinfo=timezone.utc)

    def interval_requests(machine: int) -> int:
        monkeypatch.setenv("AIRFLOW__ZOHO_INVOICE__TOKEN_CACHE_DIR", str(tmp_path / f"machine-{machine}"))
        ahead = emulator.requests["v3:invoices"]
        hook = ZohoInvoiceOAuthHook()
        records = list(
            hook.list_records("invoices", modified_since=since, modified_before=since + timedelta(hours=2))
        )
        assert len(records) > 40
        return emulator.requests["v3:invoices"] - ahead

    first, second = interval_requests(0), interval_requests(1)
    assert first - second >= 2  # the second machine measured nothing
    assert not list(tmp_path.glob("machine-*/filters-*"))
