"""``python -m airflow_provider_zoho_invoice.emulator``: serve the emulator until interrupted."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from airflow_provider_zoho_invoice.emulator.faults import FAULT_KINDS, FaultPlan
from airflow_provider_zoho_invoice.emulator.server import (
    DEFAULT_APIKEY,
    DEFAULT_AUTHTOKEN,
    DEFAULT_EMAIL,
    DEFAULT_PASSWORD,
    Account,
    ZohoInvoiceEmulator,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m airflow_provider_zoho_invoice.emulator",
        description="Serve the legacy Zoho Invoice API (and Zoho Accounts' authtoken API) locally.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port; 0 picks a free one (default 8080)")
    parser.add_argument("--port-file", type=Path, help="write the chosen port to this file once listening")
    parser.add_argument("--items", type=int, default=500, help="catalogue size (default 500)")
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
        help=f"inject a fault into that fraction of requests; KIND is one of {', '.join(FAULT_KINDS)}",
    )
    parser.add_argument("--fault-sequence", default="", help="comma-separated faults for the first requests")
    parser.add_argument("--retry-after", type=float, default=1.0, help="Retry-After seconds sent with 429")
    parser.add_argument("--slow-seconds", type=float, default=5.0, help="delay of a 'slow' answer")
    parser.add_argument("--mutate-every", type=int, default=0, help="change the catalogue every N item pages")
    parser.add_argument("--mutate-add", type=int, default=0, help="items added at each change")
    parser.add_argument("--mutate-remove", type=int, default=0, help="items removed at each change")
    parser.add_argument("--mutate-limit", type=int, default=0, help="changes at most; 0 for no limit")
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
            latency=args.latency,
            mutate_every=args.mutate_every,
            mutate_add=args.mutate_add,
            mutate_remove=args.mutate_remove,
            mutate_limit=args.mutate_limit,
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
        seed_style_errors=args.seed_style_errors,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with emulator.start(args.host, args.port):
        port = emulator.url.rsplit(":", 1)[1]
        if args.port_file:
            args.port_file.write_text(port)
        print(f"Zoho Invoice emulator: {emulator.url} ({args.items} items)", flush=True)
        stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
