"""Keep credentials out of text that may reach a log line or an exception message."""

from __future__ import annotations

import re
from collections.abc import Iterable

_CREDENTIAL_PAIR = re.compile(
    r"(?i)\b(authtoken|apikey|api_key|password|email_id|ticket|client_secret|refresh_token|access_token|code)"
    r"=([^&\s\"'<>]+)"
)
# JSON members that hold OAuth secrets; an unterminated value (a cut-off body) is masked to its end.
_JSON_SECRET = re.compile(r'(?i)("(?:access_token|refresh_token|client_secret|id_token)"\s*:\s*")[^"]*"?')
MASK = "***"


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """Mask every known secret value and anything shaped like ``authtoken=...``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    text = _JSON_SECRET.sub(lambda m: f'{m.group(1)}{MASK}"', text)
    return _CREDENTIAL_PAIR.sub(lambda m: f"{m.group(1)}={MASK}", text)


def snippet(body: bytes, secrets: Iterable[str | None] = (), limit: int = 120) -> str:
    """A short, single-line, redacted start of a response body for error messages."""
    text = body[: limit * 4].decode("utf-8", errors="replace")
    text = " ".join(text.split())
    return redact(text, secrets)[:limit]


def for_connection_test(text: str, conn_id: str) -> str:
    """A test_connection message: the UI and API test under a random temporary id the user never saw."""
    return text.replace(f"Connection '{conn_id}'", "This connection").replace(
        f"'{conn_id}'", "this connection"
    )
