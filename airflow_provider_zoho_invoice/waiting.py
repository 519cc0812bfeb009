"""What waiting can and cannot fix: shared by the sensors (in a worker) and triggers (in the triggerer)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_zoho_invoice.exceptions import (
    ZohoInvoiceAPIError,
    ZohoInvoiceAuthError,
    ZohoInvoiceConfigError,
    ZohoInvoiceTLSError,
)

if TYPE_CHECKING:
    from airflow_provider_zoho_invoice.hooks import AnyZohoInvoiceHook

UNFIXABLE_BY_WAITING = (ZohoInvoiceAPIError, ZohoInvoiceConfigError, ZohoInvoiceTLSError)
"""Errors a sensor fails on at once; other ZohoInvoiceErrors (network, 5xx) are worth another poke."""


ACCEPTED = "Zoho Invoice accepted the credentials"


def check_credentials(hook: AnyZohoInvoiceHook, log: Any) -> tuple[bool, str]:
    """``(accepted, what Zoho answered)``; the answer is logged while a rejection may still heal.

    A legacy API key starts working some time after Zoho issues it, so its rejection is
    worth waiting for; an unknown OAuth client or revoked refresh token is not, and raises.
    """
    try:
        hook.check_credentials()
    except ZohoInvoiceAuthError as exc:
        if exc.permanent:
            raise
        log.info("Zoho Invoice does not accept the credentials yet: %s", exc)
        return False, str(exc)
    return True, ACCEPTED
