"""``python -m airflow_provider_zoho_invoice.emulator``: serve the emulator until interrupted."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from airflow_provider_zoho_invoice.emulator.accounts import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_REFRESH_TOKEN,
)
from airflow_provider_zoho_invoice.emulator.app import ZohoInvoiceEmulator
from airflow_provider_zoho_invoice.emulator.churn import Churn
from airflow_provider_zoho_invoice.emulator.faults import FAULTS, FaultPlan
from airflow_provider_zoho_invoice.emulator.legacy import (
    DEFAULT_APIKEY,
    DEFAULT_AUTHTOKEN,
    DEFAULT_EMAIL,
    DEFAULT_PASSWORD,
    Account,
)
from airflow_provider_zoho_invoice.emulator.v3 import DEFAULT_ORGANIZATION, FILTER_SEMANTICS

DEFAULT_PORT = 18765


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m airflow_provider_zoho_invoice.emulator",
        description="Serve Zoho Invoice locally: API v3 with Zoho Accounts' OAuth token endpoint, and the "
        "legacy XML API with its authtoken API. On start it prints the connections that reach it.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help="port; 0 picks a free one (Airflow's API server has 8080)",
    )
    parser.add_argument("--port-file", type=Path, help="write the chosen port to this file once listening")
    parser.add_argument("--items", type=int, default=500, help="legacy catalogue size")
    parser.add_argument("--records", type=int, default=500, help="v3 records per resource")
    parser.add_argument("--client-id", default=DEFAULT_CLIENT_ID, help="OAuth client id accepted")
    parser.add_argument("--client-secret", default=DEFAULT_CLIENT_SECRET, help="OAuth client secret accepted")
    parser.add_argument("--refresh-token", default=DEFAULT_REFRESH_TOKEN, help="OAuth refresh token accepted")
    parser.add_argument("--token-lifetime", type=float, default=3600.0, help="seconds an access token lives")
    parser.add_argument("--per-minute-limit", type=int, default=0, help="v3 calls per minute; 0: no limit")
    parser.add_argument(
        "--daily-quota",
        type=int,
        default=1000,
        help="v3 calls per organization per day (Zoho's Free plan: 1000)",
    )
    parser.add_argument(
        "--max-in-flight",
        type=int,
        default=5,
        help="v3 requests of one organization under way at once before 429 code 1070 (Zoho's Free plan: "
        "5, paid plans: 10; 0: no limit)",
    )
    parser.add_argument(
        "--time-zone",
        default="America/New_York",
        help="the organization's time zone, in which timestamps are written (e.g. Asia/Kolkata: +0530)",
    )
    parser.add_argument(
        "--modified-filter",
        choices=list(FILTER_SEMANTICS),
        default="gte",
        help="what the last_modified_time list parameter selects: "
        + "; ".join(f"{name}: {meaning}" for name, meaning in FILTER_SEMANTICS.items()),
    )
    parser.add_argument(
        "--refuse-modified-sort",
        default="expenses",
        metavar="RESOURCES",
        help="comma-separated resources that refuse sort_column=last_modified_time (Zoho: expenses)",
    )
    parser.add_argument(
        "--hard-quota",
        action="store_true",
        help="refuse calls past the daily quota (429, code 45) instead of answering on with a negative "
        "X-Rate-Limit-Remaining, as Zoho has been recorded doing",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the catalogue and the faults")
    parser.add_argument("--authtoken", default=DEFAULT_AUTHTOKEN, help="the authtoken accepted")
    parser.add_argument("--apikey", default=DEFAULT_APIKEY, help="the API key accepted")
    parser.add_argument(
        "--account",
        default=f"{DEFAULT_EMAIL}:{DEFAULT_PASSWORD}",
        help="EMAIL:PASSWORD of the account that may create authtokens",
    )
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every request")
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="KIND=RATE",
        help="inject a fault into that fraction of requests; KIND is one of: "
        + "; ".join(f"{kind} ({fault.description})" for kind, fault in FAULTS.items()),
    )
    parser.add_argument("--fault-sequence", default="", help="comma-separated faults for the first requests")
    parser.add_argument("--retry-after", type=float, default=1.0, help="Retry-After seconds sent with 429")
    parser.add_argument("--slow-seconds", type=float, default=5.0, help="delay of a 'slow' answer")
    parser.add_argument(
        "--trickle-interval", type=float, default=0.4, help="seconds between the bytes of a 'trickle' answer"
    )
    parser.add_argument(
        "--churn-every",
        type=int,
        default=0,
        help="change a resource after every N of its list pages (both APIs)",
    )
    parser.add_argument(
        "--churn-add", type=int, default=0, help="records (or legacy items) added at each change"
    )
    parser.add_argument("--churn-remove", type=int, default=0, help="legacy items removed at each change")
    parser.add_argument("--churn-edit", type=int, default=0, help="v3 records edited at each change")
    parser.add_argument("--churn-limit", type=int, default=0, help="changes at most; 0 for no limit")
    parser.add_argument(
        "--seed-style-errors", action="store_true", help="errors as in Zoho's published sample"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    email, _, password = args.account.partition(":")
    try:
        faults = FaultPlan.parse(
            args.fault,
            sequence=[kind for kind in args.fault_sequence.split(",") if kind],
            seed=args.seed,
            retry_after=args.retry_after,
            slow_seconds=args.slow_seconds,
            trickle_interval=args.trickle_interval,
            latency=args.latency,
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    emulator = ZohoInvoiceEmulator(
        items=args.items,
        seed=args.seed,
        authtokens=[args.authtoken],
        apikeys=[args.apikey],
        accounts={email: Account(password)},
        faults=faults,
        churn=Churn(
            every=args.churn_every,
            add=args.churn_add,
            remove=args.churn_remove,
            edit=args.churn_edit,
            limit=args.churn_limit,
            seed=args.seed,
        ),
        seed_style_errors=args.seed_style_errors,
        records=args.records,
        client_id=args.client_id,
        client_secret=args.client_secret,
        refresh_token=args.refresh_token,
        token_lifetime=args.token_lifetime,
        per_minute_limit=args.per_minute_limit,
        daily_quota=args.daily_quota,
        hard_quota=args.hard_quota,
        max_in_flight=args.max_in_flight,
        time_zone=args.time_zone,
        modified_filter=args.modified_filter,
        refuse_modified_sort=[name for name in args.refuse_modified_sort.split(",") if name],
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with emulator.start(args.host, args.port):
        port = emulator.url.rsplit(":", 1)[1]
        if args.port_file:
            args.port_file.write_text(port)
        grant_code = emulator.accounts.issue_grant_code()
        print(
            f"Zoho Invoice emulator on {emulator.url}: {args.records} v3 records per resource, "
            f"{args.items} legacy items.\n"
            f"OAuth (API v3): client id {args.client_id}, client secret {args.client_secret}, "
            f"refresh token {args.refresh_token}, organization {DEFAULT_ORGANIZATION['organization_id']}\n"
            f"  AIRFLOW_CONN_ZOHO_INVOICE_DEFAULT='{emulator.oauth_connection_json()}'\n"
            f"  grant code for 'python -m airflow_provider_zoho_invoice oauth': {grant_code}\n"
            f"Legacy: authtoken {args.authtoken}, API key {args.apikey}, account {args.account}\n"
            f"  AIRFLOW_CONN_ZOHO_INVOICE_LEGACY='{emulator.connection_json()}'\n"
            "  (the legacy example DAGs read the connection zoho_invoice_default: give it this value "
            "to run them against the emulator)",
            flush=True,
        )
        stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
