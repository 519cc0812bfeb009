"""The set-up commands: ``python -m airflow_provider_zoho_invoice oauth|authtoken`` and the emulator's."""

from __future__ import annotations

import json
import subprocess
import sys

from airflow_provider_zoho_invoice.emulator import DEFAULT_EMAIL, DEFAULT_PASSWORD


def run_cli(*args: str, stdin: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "airflow_provider_zoho_invoice", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_oauth_trades_a_grant_code_for_a_refresh_token(make_emulator):
    emulator = make_emulator(records=1)
    code = emulator.accounts.issue_grant_code()
    args = ("oauth", "--client-id", emulator.client_id, "--data-center", "eu",
            "--accounts-url", emulator.url, "--api-domain", emulator.url, "--conn-id", "zoho_eu")  # fmt: skip
    result = run_cli(*args, stdin=f"{emulator.client_secret}\n{code}\n")
    assert result.returncode == 0, result.stderr
    refresh_token = result.stdout.split("Refresh token", 1)[1].splitlines()[1].strip()
    assert emulator.accounts.oauth.refresh_tokens[refresh_token] == emulator.client_id
    assert "Organization: 10234695 (Zillum)" in result.stdout
    stored = json.loads(result.stdout.split("AIRFLOW_CONN_ZOHO_EU='", 1)[1].split("'", 1)[0])
    assert stored["extra"] == {
        "data_center": "eu",
        "accounts_url": emulator.url,
        "api_domain": emulator.url,
        "refresh_token": refresh_token,
        "organization_id": "10234695",
    }
    assert all(form in result.stdout for form in ("--conn-extra", "--conn-json", "--conn-uri"))  # audit log
    # The code is single-use: a second run fails with what to do, and prints no secret.
    again = run_cli(*args, stdin=f"{emulator.client_secret}\n{code}\n")
    assert again.returncode == 1 and "Generate a new one" in again.stderr
    assert emulator.client_secret not in again.stderr + again.stdout


def test_authtoken_needs_no_stored_connection(make_emulator):
    emulator = make_emulator(items=1)
    result = run_cli(
        "authtoken", "--email", DEFAULT_EMAIL, "--accounts-url", emulator.url, stdin=f"{DEFAULT_PASSWORD}\n"
    )
    assert result.returncode == 0, result.stderr
    token = result.stdout.split("Authtoken", 1)[1].splitlines()[1].strip()
    assert token in emulator.authtokens and DEFAULT_PASSWORD not in result.stdout
    wrong = run_cli(
        "authtoken", "--email", DEFAULT_EMAIL, "--accounts-url", emulator.url, stdin="nope-pass\n"
    )
    assert wrong.returncode == 1 and "INVALID_PASSWORD" in wrong.stderr and "nope-pass" not in wrong.stderr


def test_emulator_help_shows_defaults():
    result = subprocess.run(
        [sys.executable, "-m", "airflow_provider_zoho_invoice.emulator", "--help"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    text = " ".join(result.stdout.split())  # argparse wraps lines
    assert "(default: 18765)" in text and "(default: 1000.EMULATORCLIENTID)" in text
