"""Errors raised by the Zoho Invoice provider.

Messages name what went wrong and how to fix it; they never contain a secret.
"""

from __future__ import annotations


class ZohoInvoiceError(Exception):
    """Base class of every error this provider raises."""


class ZohoInvoiceConfigError(ZohoInvoiceError, ValueError):
    """The connection or an argument is not usable as configured."""


class ZohoInvoiceAPIError(ZohoInvoiceError):
    """Zoho processed the request and refused it (``status="0"``, or a non-zero v3 ``code``)."""

    def __init__(self, code: int | None, message: str, *, path: str | None = None) -> None:
        self.code = code
        self.message = message
        self.path = path
        where = f" for {path}" if path else ""
        number = "" if code is None else f" {code}"
        super().__init__(f"Zoho Invoice error{number}{where}: {message}")


class ZohoInvoiceAuthError(ZohoInvoiceAPIError):
    """Zoho rejected the credentials; retrying cannot help.

    ``permanent`` marks answers no wait can heal (an unknown client, a revoked refresh token),
    as opposed to a legacy API key that Zoho has not activated yet.
    """

    def __init__(
        self,
        code: int | None,
        message: str,
        *,
        path: str | None = None,
        cause: str | None = None,
        remedy: str | None = None,
        permanent: bool = False,
    ) -> None:
        super().__init__(code, message, path=path)
        self.cause = cause
        self.remedy = remedy
        self.permanent = permanent
        if remedy:
            self.args = (f"{self.args[0]}. {remedy}",)


class ZohoInvoiceTokenThrottleError(ZohoInvoiceAuthError):
    """Zoho Accounts minted its 10 access tokens for this refresh token in the last 10 minutes
    ("Access Denied"): nothing is wrong with the credentials, and the refusal heals with time, so
    Airflow's task retries apply and sensors keep waiting."""


class ZohoInvoiceQuotaError(ZohoInvoiceAPIError):
    """The organization's daily API quota is spent (v3 code 45); it resets at the organization's midnight."""

    def __init__(self, code: int | None, message: str, *, path: str | None = None, remedy: str = "") -> None:
        super().__init__(code, message, path=path)
        self.remedy = remedy
        if remedy:
            self.args = (f"{self.args[0]}. {remedy}",)


class ZohoInvoiceOrganizationError(ZohoInvoiceAPIError, ZohoInvoiceConfigError):
    """Zoho does not know the connection's organization (v3 code 6041): the connection needs fixing."""


class ZohoInvoiceResponseError(ZohoInvoiceError):
    """The server's answer was not the XML the protocol promises (or a 5xx outlasted the retries)."""

    def __init__(self, message: str, *, status_code: int | None = None, snippet: str = "") -> None:
        self.status_code = status_code
        self.snippet = snippet
        text = message if status_code is None else f"{message} (HTTP {status_code})"
        if snippet:
            text = f"{text}; body starts: {snippet!r}"
        super().__init__(text)


class ZohoInvoiceConnectionError(ZohoInvoiceError):
    """The server could not be reached, or stopped answering, even after retries."""


class ZohoInvoiceTLSError(ZohoInvoiceConnectionError):
    """The TLS handshake failed (certificate, CA bundle): waiting or retrying cannot fix it."""
