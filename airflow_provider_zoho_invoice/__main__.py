"""``python -m airflow_provider_zoho_invoice``: one-time credential set-up from a shell.

``oauth``      trade a Self Client grant code for a refresh token (API v3, every current account)
``authtoken``  create a legacy authtoken with an email and password
``probe``      measure what an account's list filters do, before its first backfill (read-only)

Secrets are read without echo (or from standard input when it is not a terminal) and
printed once, together with the connection to store.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from typing import Any

DATA_CENTER_CHOICES = ("com", "eu", "in", "com.au", "jp", "ca", "com.cn", "sa")


def _secret(prompt: str) -> str:
    if sys.stdin.isatty():
        return getpass.getpass(prompt)
    print(prompt, end="", file=sys.stderr, flush=True)
    return sys.stdin.readline().strip()


def _store_advice(conn_id: str, connection: dict[str, Any]) -> str:
    env_name = f"AIRFLOW_CONN_{conn_id.upper()}"
    return (
        f"\nStore it as connection '{conn_id}', for example in your secrets backend or as\n"
        f"  {env_name}='{json.dumps(connection)}'\n"
        "or in the UI (Admin > Connections). Avoid 'airflow connections add' with --conn-extra,\n"
        "--conn-json or --conn-uri: Airflow's audit log keeps the whole command line, and it masks\n"
        "only the password there.\n"
    )


def _oauth(args: argparse.Namespace) -> int:
    from airflow_provider_zoho_invoice.compat import Connection
    from airflow_provider_zoho_invoice.exceptions import ZohoInvoiceError
    from airflow_provider_zoho_invoice.hooks.zoho_invoice_oauth import ZohoInvoiceOAuthHook

    extra: dict[str, Any] = {"data_center": args.data_center}
    if args.accounts_url:
        extra["accounts_url"] = args.accounts_url
    if args.api_domain:
        extra["api_domain"] = args.api_domain
    client_secret = _secret("Client Secret: ")
    code = _secret("Grant code (Zoho API console > Self Client > Generate Code): ")

    def hook(**more: Any) -> ZohoInvoiceOAuthHook:
        connection = Connection(
            conn_id=args.conn_id,
            conn_type="zoho_invoice_oauth",
            login=args.client_id,
            password=client_secret,
            extra=json.dumps({**extra, **more}),
        )
        return ZohoInvoiceOAuthHook(args.conn_id, connection=connection)

    try:
        refresh_token = hook().exchange_grant_code(code)
        organizations = hook(refresh_token=refresh_token, token_cache="none").organizations()  # noqa: S106
    except (ZohoInvoiceError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"Refresh token (shown once; Zoho keeps at most 20 per user and client):\n  {refresh_token}")
    for organization in organizations:
        print(f"Organization: {organization.get('organization_id')} ({organization.get('name')})")
    if len(organizations) == 1:
        extra["organization_id"] = str(organizations[0].get("organization_id"))
    connection = {
        "conn_type": "zoho_invoice_oauth",
        "login": args.client_id,
        "password": client_secret,
        "extra": {**extra, "refresh_token": refresh_token},
    }
    print(_store_advice(args.conn_id, connection))
    return 0


def _authtoken(args: argparse.Namespace) -> int:
    from airflow_provider_zoho_invoice.compat import Connection
    from airflow_provider_zoho_invoice.exceptions import ZohoInvoiceError
    from airflow_provider_zoho_invoice.hooks.zoho_invoice import ZohoInvoiceHook

    extra = {"accounts_url": args.accounts_url} if args.accounts_url else {}
    password = _secret(f"Zoho password for {args.email}: ")
    connection = Connection(conn_id=args.conn_id, conn_type="zoho_invoice", extra=json.dumps(extra))
    try:
        token = ZohoInvoiceHook(args.conn_id, connection=connection).generate_authtoken(args.email, password)
    except (ZohoInvoiceError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"Authtoken (shown once; keep it, Zoho caps how many an account may hold):\n  {token}")
    stored = {"conn_type": "zoho_invoice", "password": token, "extra": {"apikey": "<your API key>", **extra}}
    print(_store_advice(args.conn_id, stored))
    return 0


def _probe(args: argparse.Namespace) -> int:
    from airflow_provider_zoho_invoice.exceptions import ZohoInvoiceError
    from airflow_provider_zoho_invoice.hooks.zoho_invoice_oauth import ZohoInvoiceOAuthHook
    from airflow_provider_zoho_invoice.probe import probe

    try:
        hook = ZohoInvoiceOAuthHook(args.conn_id)
        if hook.connection.conn_type != "zoho_invoice_oauth":
            print(
                f"error: connection {args.conn_id!r} is of type {hook.connection.conn_type!r}; probe "
                "measures API v3 accounts (connection type zoho_invoice_oauth)",
                file=sys.stderr,
            )
            return 1
        probe(hook, sys.stdout)
    except (ZohoInvoiceError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m airflow_provider_zoho_invoice",
        description="Set up Zoho Invoice credentials for an Airflow connection, and measure the account.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    oauth = commands.add_parser(
        "oauth",
        help="trade a Self Client grant code for a refresh token (API v3)",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    oauth.add_argument("--client-id", required=True, help="the Self Client's Client ID")
    oauth.add_argument(
        "--data-center", default="com", choices=DATA_CENTER_CHOICES, help="where the account lives"
    )
    oauth.add_argument("--accounts-url", help="override the data centre's Zoho Accounts server")
    oauth.add_argument("--api-domain", help="override the API host (a proxy, the emulator)")
    oauth.add_argument("--conn-id", default="zoho_invoice_default", help="connection id to print")
    oauth.set_defaults(run=_oauth)
    authtoken = commands.add_parser(
        "authtoken",
        help="create a legacy authtoken",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    authtoken.add_argument("--email", required=True, help="the Zoho account's email address")
    authtoken.add_argument("--accounts-url", help="Zoho Accounts server (default https://accounts.zoho.com)")
    authtoken.add_argument("--conn-id", default="zoho_invoice_default", help="connection id to print")
    authtoken.set_defaults(run=_authtoken)
    probe = commands.add_parser(
        "probe",
        help="measure an account's list filters and record endpoints (read-only, about 30 API calls)",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    probe.add_argument("--conn-id", default="zoho_invoice_default", help="the zoho_invoice_oauth connection")
    probe.set_defaults(run=_probe)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    status: int = args.run(args)
    return status


if __name__ == "__main__":
    sys.exit(main())
