"""How to read Zoho Invoice API v3 answers: exact-number JSON, timestamps, and the errors codes stand for.

Knows nothing of Airflow or HTTP sessions. Numbers are decoded to ``int`` and ``Decimal``
(never ``float``), so every amount keeps the exact text Zoho sent all the way to an output file.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

import msgspec

from airflow_provider_zoho_invoice.exceptions import (
    ZohoInvoiceAPIError,
    ZohoInvoiceAuthError,
    ZohoInvoiceConfigError,
    ZohoInvoiceOrganizationError,
    ZohoInvoiceQuotaError,
    ZohoInvoiceResponseError,
    ZohoInvoiceTokenThrottleError,
)
from airflow_provider_zoho_invoice.redaction import redact, snippet
from airflow_provider_zoho_invoice.v3.constants import (
    CODE_DAILY_QUOTA,
    CODE_IN_FLIGHT,
    CODE_NO_AUTHENTICATION,
    CODE_NOT_AUTHORIZED,
    CODE_UNKNOWN_ORGANIZATION,
    TOKEN_PATH,
    UNAUTHORIZED_CODES,
)

ZOHO_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S%z"
"""``2026-06-09T09:46:21-0400``: seconds, and an offset without a colon."""


def parse_zoho_time(text: Any) -> datetime | None:
    """A record's timestamp, or None when it has none (or not in Zoho's form)."""
    if not isinstance(text, str) or not text:
        return None
    try:
        parsed = datetime.fromisoformat(text)  # C-fast; Python 3.11+ reads Zoho's "-0400" offsets
    except ValueError:
        try:
            return datetime.strptime(text, ZOHO_TIME_FORMAT)  # 50 times slower: Python 3.10
        except ValueError:
            return None
    return parsed if parsed.tzinfo is not None else None


def format_zoho_time(moment: datetime) -> str:
    return moment.strftime(ZOHO_TIME_FORMAT)


_decoder = msgspec.json.Decoder(float_hook=Decimal)
_encoder = msgspec.json.Encoder(decimal_format="number")


def decode(body: bytes) -> Any:
    """JSON with every non-integer number as ``Decimal``: no binary float ever touches an amount."""
    return _decoder.decode(body)


def encode(value: Any) -> bytes:
    """Compact JSON that writes each ``Decimal`` back as the number text it came from."""
    return _encoder.encode(value)


def json_safe(value: Any) -> Any:
    """Amounts as decimal text: Airflow's XCom encoding would pass ``Decimal`` through ``float``."""
    return msgspec.json.decode(msgspec.json.encode(value))  # msgspec writes Decimal as a string by default


def _looks_like_html(body: bytes) -> bool:
    return body[:512].lstrip().lower().startswith((b"<!doctype html", b"<html"))


def decode_object(
    body: bytes, *, path: str, status_code: int, secrets: Iterable[str | None], quote_body: bool = True
) -> dict[str, Any]:
    """The JSON object of an answer, or a ZohoInvoiceResponseError saying what came instead.

    ``quote_body=False`` keeps the body out of the error: token answers carry fresh tokens.
    """
    if not quote_body:
        secrets = ()
        body_for_errors = b""
    else:
        body_for_errors = body
    if _looks_like_html(body):
        raise ZohoInvoiceResponseError(
            f"Zoho Invoice answered {path} with an HTML page instead of JSON (a proxy, login or error page?)",
            status_code=status_code,
            snippet=snippet(body_for_errors, secrets),
        )
    if not body.strip():
        raise ZohoInvoiceResponseError(
            f"Zoho Invoice answered {path} with an empty body", status_code=status_code
        )
    try:
        document = decode(body)
    except msgspec.DecodeError as exc:
        raise ZohoInvoiceResponseError(
            f"Zoho Invoice's answer to {path} is not valid JSON ({exc})",
            status_code=status_code,
            snippet=snippet(body_for_errors, secrets),
        ) from None
    except RecursionError:
        raise ZohoInvoiceResponseError(
            f"Zoho Invoice's answer to {path} nests JSON arrays or objects too deeply to read "
            "(no Zoho record nests more than a few levels)",
            status_code=status_code,
        ) from None
    if not isinstance(document, dict):
        raise ZohoInvoiceResponseError(
            f"Zoho Invoice's answer to {path} is JSON but not an object",
            status_code=status_code,
            snippet=snippet(body_for_errors, secrets),
        )
    return document


_API_REMEDIES = {
    CODE_NO_AUTHENTICATION: "The request carried no usable access token.",
    CODE_NOT_AUTHORIZED: "Zoho did not accept the access token even after a refresh: the refresh token "
    "may lack the scope this call needs (for example ZohoInvoice.invoices.READ, or "
    "ZohoInvoice.fullaccess.all); issue a new refresh token with that scope.",
    CODE_UNKNOWN_ORGANIZATION: "Check the connection's 'organization_id' extra; leave it empty to use the "
    "only organization the account has.",
}


def error_for_document(
    document: dict[str, Any],
    *,
    path: str,
    secrets: Iterable[str | None] = (),
    reset_seconds: int | None = None,
) -> ZohoInvoiceAPIError:
    """The error a non-zero ``code`` stands for; Zoho's message is quoted with every known secret masked."""
    code = document.get("code")
    code = code if isinstance(code, int) else None
    message = redact(str(document.get("message") or "no message"), secrets)
    if code in UNAUTHORIZED_CODES:
        return ZohoInvoiceAuthError(code, message, path=path, remedy=_API_REMEDIES.get(code))
    if code == CODE_DAILY_QUOTA:
        when = (
            f" in about {reset_seconds // 3600} h {reset_seconds % 3600 // 60} min" if reset_seconds else ""
        )
        return ZohoInvoiceQuotaError(
            code,
            message,
            path=path,
            remedy=f"The organization's daily API quota is used up; it resets at midnight in the "
            f"organization's time zone{when}. Retrying before then cannot succeed.",
        )
    remedy = _API_REMEDIES.get(code) if code is not None else None
    kind = ZohoInvoiceOrganizationError if code == CODE_UNKNOWN_ORGANIZATION else ZohoInvoiceAPIError
    error = kind(code, message, path=path)
    if remedy:
        error.args = (f"{error.args[0]}. {remedy}",)
    return error


def api_document(
    status: int, body: bytes, *, path: str, secrets: Iterable[str | None], reset_seconds: int | None
) -> dict[str, Any]:
    """The object of a successful API answer; any other answer raises the error it stands for.

    Called after the one token refresh a 401 allows, so a refusal of the credentials is permanent.
    """
    try:
        document = decode_object(body, path=path, status_code=status, secrets=secrets)
    except ZohoInvoiceResponseError:
        if status == 401:
            raise ZohoInvoiceAuthError(
                401, "Zoho Invoice refused a freshly issued access token", path=path, permanent=True
            ) from None
        raise
    if document.get("code") != 0:
        error = error_for_document(document, path=path, secrets=secrets, reset_seconds=reset_seconds)
        if isinstance(error, ZohoInvoiceAuthError):
            error.permanent = True  # a fresh token was refused too: waiting will not change that
        raise error
    if status >= 400:
        raise ZohoInvoiceResponseError(
            f"Zoho Invoice answered {path} with HTTP {status} but code 0",
            status_code=status,
            snippet=snippet(body, secrets),
        )
    return document


def missing_scope(path: str, code: int | None, scope: str, *, token_age: float) -> ZohoInvoiceAuthError:
    """Zoho refused an access token it had just issued: the refresh token lacks the call's scope.

    Zoho answers a missing scope exactly as an expired token (401, code 57); a token minted
    seconds ago cannot have expired, and refreshing it would only spend one of the ten tokens
    Zoho mints per ten minutes (and replace the one other tasks share).
    """
    return ZohoInvoiceAuthError(
        code,
        f"Zoho Invoice refused an access token issued {token_age:.0f} s ago for {path}: the refresh "
        f"token most likely lacks the scope {scope}",
        path=None,
        remedy=f"Issue a new refresh token whose scopes include {scope} (or ZohoInvoice.fullaccess.all): "
        "generate a grant code for the Self Client with that scope in Zoho's API console and run "
        "python -m airflow_provider_zoho_invoice oauth",
        permanent=True,
    )


def only_organization(found: list[dict[str, Any]], conn_id: str) -> dict[str, Any]:
    """The account's one organization, or a config error that lists them (or says there is none)."""
    if len(found) == 1:
        return found[0]
    if not found:
        raise ZohoInvoiceConfigError(
            f"Connection '{conn_id}': the Zoho account has no Zoho Invoice organization; create one in "
            "Zoho Invoice or use the account that owns it"
        )
    listed = "; ".join(f"{org.get('organization_id')} ({org.get('name')})" for org in found)
    raise ZohoInvoiceConfigError(
        f"Connection '{conn_id}': the account belongs to {len(found)} organizations ({listed}); set the "
        "'organization_id' extra to the one to use"
    )


def retryable(status: int, body: bytes) -> bool:
    """5xx and throttling (codes 44, 1070) heal with time; the daily quota (code 45) not for hours."""
    if status >= 500:
        return True
    return status == 429 and answer_code(body) != CODE_DAILY_QUOTA


def refused_unprocessed(status: int, body: bytes) -> bool:
    """What a write may be sent again after: a 429 (but the day's quota, code 45) is a refusal to
    do anything. A 5xx may come after the record was written, so it is not among them."""
    return status == 429 and answer_code(body) != CODE_DAILY_QUOTA


def too_many_in_process(status: int, body: bytes) -> bool:
    """Code 1070: the organization has its limit of requests in process; one ends within moments."""
    return status == 429 and answer_code(body) == CODE_IN_FLIGHT


def answer_code(body: bytes) -> int | None:
    """The ``code`` of a small error answer, if it is JSON; used to tell 429 kinds apart."""
    try:
        document = decode(body)
    except (msgspec.DecodeError, RecursionError):
        return None
    code = document.get("code") if isinstance(document, dict) else None
    return code if isinstance(code, int) else None


# Zoho Accounts' token errors (HTTP 200 with an "error" key), with what the user can do about each.
TOKEN_ERROR_REMEDIES = {
    "invalid_code": "Zoho Accounts rejected the refresh token: it is revoked, mistyped, or was issued in "
    "another data centre. Issue a new refresh token (python -m airflow_provider_zoho_invoice oauth) and "
    "check the connection's 'data_center' extra.",
    "invalid_client": "Zoho Accounts does not know this Client ID in this data centre: check the Client ID "
    "(the connection's Login) and the 'data_center' extra (a client registered on zoho.eu is unknown "
    "to accounts.zoho.com).",
    "invalid_client_secret": "The Client Secret (the connection's Password) does not belong to this "
    "Client ID: copy it again from Zoho's API console.",
    "Access Denied": "Zoho Accounts throttles access-token creation (at most 10 per refresh token in 10 "
    "minutes): this heals by itself within 10 minutes, so Airflow's task retries (with a retry_delay of "
    "a few minutes) and sensors get past it. Keep the connection's 'token_cache' at 'file' (the "
    "default) so that tasks share one access token instead of each creating its own.",
}
THROTTLED = "Access Denied"


def token_error(document: dict[str, Any], secrets: Iterable[str | None] = ()) -> ZohoInvoiceAuthError:
    """The error Zoho Accounts' ``error`` stands for, quoted with every known secret masked.

    "Access Denied" heals within ten minutes; the documented codes name their fix; any other
    answer (``invalid_token``, a text in the account's language) is quoted with a generic remedy
    and, since nobody knows that waiting helps, fails the task at once like the known refusals.
    """
    error = redact(str(document.get("error") or "unknown_error"), secrets)[:120]
    if error == THROTTLED:
        return ZohoInvoiceTokenThrottleError(
            None,
            f"Zoho Accounts refused to issue an access token ({error})",
            path=TOKEN_PATH,
            cause=error,
            remedy=TOKEN_ERROR_REMEDIES[THROTTLED],
        )
    remedy = TOKEN_ERROR_REMEDIES.get(
        error,
        f"Zoho Accounts' answer '{error}' is not one this provider knows; check the connection's Client "
        "ID, Client Secret, refresh token and 'data_center' extra, and issue a new refresh token "
        "(python -m airflow_provider_zoho_invoice oauth) if they are right",
    )
    return ZohoInvoiceAuthError(
        None,
        f"Zoho Accounts refused to issue an access token ({error})",
        path=TOKEN_PATH,
        cause=error,
        remedy=remedy,
        permanent=True,
    )
