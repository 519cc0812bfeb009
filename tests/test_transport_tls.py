"""TLS: a certificate the client does not trust fails at once with a hint; a CA bundle in 'verify' fixes it."""

from __future__ import annotations

import datetime
import ipaddress
from pathlib import Path

import pytest

from airflow_provider_zoho_invoice.emulator import ZohoInvoiceEmulator
from airflow_provider_zoho_invoice.exceptions import ZohoInvoiceTLSError
from airflow_provider_zoho_invoice.hooks.zoho_invoice import ZohoInvoiceHook
from airflow_provider_zoho_invoice.hooks.zoho_invoice_oauth import ZohoInvoiceOAuthHook
from tests.conftest import dag_source, task_states


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[str, str]:
    """A self-signed certificate for 127.0.0.1 (cryptography comes with Airflow)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "zoho-invoice-emulator")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder: Path = tmp_path_factory.mktemp("tls")
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return str(folder / "cert.pem"), str(folder / "key.pem")


@pytest.fixture
def tls_emulator(certificate):
    emulator = ZohoInvoiceEmulator(items=5, records=5).start(tls=certificate)
    yield emulator
    emulator.stop()


def test_an_untrusted_certificate_fails_at_once_with_a_hint(tls_emulator, use_emulator, use_oauth_emulator):
    assert tls_emulator.url.startswith("https://")
    use_emulator(tls_emulator, max_retries=5, backoff=5)
    with pytest.raises(ZohoInvoiceTLSError, match="'verify' extra") as caught:
        ZohoInvoiceHook().get_page(1)
    assert "certificate verify failed" in str(caught.value)  # the root cause, kept
    use_oauth_emulator(tls_emulator, max_retries=5, backoff=5)
    with pytest.raises(ZohoInvoiceTLSError, match="CA bundle"):
        ZohoInvoiceOAuthHook().check_credentials()


def test_a_ca_bundle_in_verify_is_trusted(tls_emulator, certificate, use_emulator, use_oauth_emulator):
    use_emulator(tls_emulator, verify=certificate[0])
    assert len(list(ZohoInvoiceHook().list_items())) == 5
    use_oauth_emulator(tls_emulator, verify=certificate[0])
    assert len(list(ZohoInvoiceOAuthHook().list_records("invoices"))) == 5


@pytest.mark.parametrize("mode", ["poke", "deferrable"])
def test_token_sensor_does_not_wait_on_a_certificate_problem(
    run_dag, tls_emulator, use_emulator, capfd, mode
):
    use_emulator(tls_emulator)
    extra = "deferrable=True" if mode == "deferrable" else 'mode="poke"'
    body = f'ZohoInvoiceTokenSensor(task_id="wait", poke_interval=5, timeout=600, {extra})'
    dag_run = run_dag(dag_source(f"tls_{mode}", body), f"tls_{mode}")
    assert task_states(dag_run) == {"wait": "failed"}
    assert "cannot succeed by waiting" in capfd.readouterr().out
