"""What sensors (in a worker) and triggers (in the triggerer) decide, written once for both.

Each check returns what it found and what Zoho answered, in words a timeout message can quote;
it raises on what waiting cannot fix.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_zoho_invoice.exceptions import (
    ZohoInvoiceAPIError,
    ZohoInvoiceAuthError,
    ZohoInvoiceConfigError,
    ZohoInvoiceTLSError,
    ZohoInvoiceTokenThrottleError,
)

if TYPE_CHECKING:
    from airflow_provider_zoho_invoice.hooks.base import ZohoInvoiceBaseHook

UNFIXABLE_BY_WAITING = (ZohoInvoiceAPIError, ZohoInvoiceConfigError, ZohoInvoiceTLSError)
"""Errors a sensor fails on at once; other ZohoInvoiceErrors (network, 5xx) are worth another poke."""


def unfixable_by_waiting(exc: BaseException) -> bool:
    """True for what a sensor fails on at once; Zoho Accounts' token throttle heals within minutes."""
    return isinstance(exc, UNFIXABLE_BY_WAITING) and not isinstance(exc, ZohoInvoiceTokenThrottleError)


ACCEPTED = "Zoho Invoice accepted the credentials"


def credentials_accepted(hook: ZohoInvoiceBaseHook, log: Any) -> tuple[bool, str]:
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
    log.info("%s", ACCEPTED)
    return True, ACCEPTED


def item_exists(
    hook: ZohoInvoiceBaseHook, log: Any, *, item_id: str | None, name: str | None
) -> tuple[dict[str, Any] | None, str]:
    """``(the item as a JSON-safe dict or None, what Zoho answered)``."""
    row = hook.item_row(item_id=item_id, name=name)
    if row is None:
        answer = f"no Zoho Invoice item {item_id or repr(name)} yet"
        log.info("%s", answer.capitalize())
        return None, answer
    return row, f"Zoho Invoice item {item_id or repr(name)} exists"
