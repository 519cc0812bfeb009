"""What both connection types share: extras, URLs, transport settings, and fetching the connection.

Errors name the field and how to fix it, never its value.
"""

from __future__ import annotations

import ipaddress
import json
import math
import os
from typing import Any
from urllib.parse import urlsplit

from airflow_provider_zoho_invoice.exceptions import ZohoInvoiceConfigError
from airflow_provider_zoho_invoice.transport import TransportSettings

DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_RETRIES = 5
DEFAULT_REQUESTS_PER_MINUTE = 100
DEFAULT_BACKOFF = 1.0
MAX_CONNECT_TIMEOUT = 10.0
DEFAULT_RATE_WINDOW = 60
DEFAULT_DEADLINE = 120.0

_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def is_loopback(hostname: str) -> bool:
    if hostname.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


def check_url(raw: Any, *, field: str, conn_id: str, port: int | None = None) -> str:
    """A base URL with scheme, host and no query; plain HTTP only to this machine.

    ``port`` is the connection's Port field: it applies when the URL names no port itself.
    """
    where = f"Connection '{conn_id}' field '{field}'"
    if not isinstance(raw, str) or not raw.strip():
        raise ZohoInvoiceConfigError(f"{where} must be a URL such as https://invoice.zoho.com")
    text = raw.strip()
    if any(char.isspace() for char in text):
        raise ZohoInvoiceConfigError(
            f"{where} must be a URL without spaces, such as https://invoice.zoho.com"
        )
    if "://" not in text:
        # A bare host (the URI form has no scheme): https, but http on this machine (the emulator).
        bare = urlsplit(f"//{text}").hostname or ""
        text = f"{'http' if is_loopback(bare) else 'https'}://{text}"
    parts = urlsplit(text)
    connection_port = _port(port, where)
    try:
        port = parts.port
    except ValueError:
        raise ZohoInvoiceConfigError(f"{where} has a port that is not a number from 1 to 65535") from None
    if parts.scheme not in ("http", "https"):
        raise ZohoInvoiceConfigError(f"{where} must start with https:// (got scheme {parts.scheme!r})")
    if not parts.hostname:
        raise ZohoInvoiceConfigError(f"{where} has no host name; use a URL such as https://invoice.zoho.com")
    if parts.username or parts.password:
        raise ZohoInvoiceConfigError(
            f"{where} must not carry credentials; put the authtoken in the Password field instead"
        )
    if parts.query or parts.fragment:
        raise ZohoInvoiceConfigError(f"{where} must not have a query string or fragment")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ZohoInvoiceConfigError(
            f"{where} uses plain http:// to a remote host, which would send credentials unencrypted; "
            "use https:// (http:// is allowed only for localhost, 127.0.0.1 and ::1)"
        )
    if port is None and connection_port:
        port = connection_port
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    netloc = host if port is None else f"{host}:{port}"
    return f"{parts.scheme}://{netloc}{parts.path.rstrip('/')}"


def _port(raw: Any, where: str) -> int | None:
    if raw in (None, "", 0):
        return None
    if isinstance(raw, bool) or not str(raw).isdigit() or not 1 <= int(raw) <= 65535:
        raise ZohoInvoiceConfigError(f"{where}: the connection's Port must be a number from 1 to 65535")
    return int(raw)


def number(
    extras: dict[str, Any], field: str, conn_id: str, *, default: float, positive: bool = False
) -> float:
    """A non-negative (or, with ``positive``, strictly positive) number from the extras."""
    raw = extras.get(field)
    if raw is None or raw == "":
        return default
    where = f"Connection '{conn_id}' extra '{field}'"
    if isinstance(raw, bool):
        raise ZohoInvoiceConfigError(f"{where} must be a number, not true/false")
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise ZohoInvoiceConfigError(f"{where} must be a number (got a {type(raw).__name__})") from None
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        raise ZohoInvoiceConfigError(f"{where} must be {'greater than 0' if positive else 'at least 0'}")
    return value


def whole_number(extras: dict[str, Any], field: str, conn_id: str, *, default: int) -> int:
    raw = extras.get(field)
    if raw is None or raw == "":
        return default
    where = f"Connection '{conn_id}' extra '{field}'"
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    if isinstance(raw, bool) or not str(raw).strip().lstrip("-").isdigit():
        raise ZohoInvoiceConfigError(f"{where} must be a whole number (got {type(raw).__name__} value)")
    value = int(str(raw).strip())
    if value < 0:
        raise ZohoInvoiceConfigError(f"{where} must be at least 0")
    return value


def _verify(raw: Any, conn_id: str) -> bool | str:
    if raw is None or raw == "" or raw is True:
        return True
    if raw is False:
        return False
    if isinstance(raw, str):
        lowered = raw.strip().lower()
        if lowered in ("true", "1", "yes"):
            return True
        if lowered in ("false", "0", "no"):
            return False
        if not os.path.exists(raw):
            raise ZohoInvoiceConfigError(
                f"Connection '{conn_id}' extra 'verify' names a CA bundle that does not exist; "
                "give the path of a PEM file or directory, or true/false"
            )
        return raw  # a CA bundle path, as requests accepts
    raise ZohoInvoiceConfigError(
        f"Connection '{conn_id}' extra 'verify' must be true, false or a path to a CA bundle"
    )


def read_extras(raw_extra: Any, conn_id: str, conn_type: str) -> dict[str, Any]:
    """Extras as a dict, accepting both ``apikey`` and the older ``extra__<conn type>__apikey`` form."""
    if raw_extra is None or raw_extra == "":
        return {}
    if isinstance(raw_extra, str):
        try:
            raw_extra = json.loads(raw_extra)
        except ValueError:
            raise ZohoInvoiceConfigError(
                f"Connection '{conn_id}' extra is not valid JSON; write it as a JSON object, "
                'for example {"apikey": "..."}'
            ) from None
    if not isinstance(raw_extra, dict):
        raise ZohoInvoiceConfigError(
            f"Connection '{conn_id}' extra must be a JSON object, not a {type(raw_extra).__name__}"
        )
    prefix = f"extra__{conn_type}__"
    extras: dict[str, Any] = {}
    for key, value in raw_extra.items():
        if key.startswith(prefix):
            extras.setdefault(key[len(prefix) :], value)
        else:
            extras[key] = value
    return extras


def transport_settings(merged: dict[str, Any], conn_id: str) -> TransportSettings:
    """The transport extras both connection types share."""
    read_timeout = number(merged, "timeout", conn_id, default=DEFAULT_TIMEOUT, positive=True)
    connect_timeout = number(
        merged, "connect_timeout", conn_id, default=min(read_timeout, MAX_CONNECT_TIMEOUT), positive=True
    )
    return TransportSettings(
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        deadline=number(
            merged,
            "deadline",
            conn_id,
            default=max(DEFAULT_DEADLINE, connect_timeout + read_timeout),
            positive=True,
        ),
        max_retries=whole_number(merged, "max_retries", conn_id, default=DEFAULT_MAX_RETRIES),
        backoff=number(merged, "backoff", conn_id, default=DEFAULT_BACKOFF),
        requests_per_minute=whole_number(
            merged, "requests_per_minute", conn_id, default=DEFAULT_REQUESTS_PER_MINUTE
        ),
        verify=_verify(merged.get("verify"), conn_id),
        rate_window=float(whole_number(merged, "rate_window", conn_id, default=DEFAULT_RATE_WINDOW) or 1),
    )


def unreadable_connection(conn_id: str) -> ZohoInvoiceConfigError | None:
    """Why Airflow found no connection although ``AIRFLOW_CONN_<ID>`` is set, if it is set.

    Airflow 3.1 reports a malformed extra in that variable as "isn't defined"; this names the
    actual problem instead (never the value).
    """
    variable = f"AIRFLOW_CONN_{conn_id.upper()}"
    raw = os.environ.get(variable)
    if raw is None:
        return None
    text = raw.strip()
    reason = "check its format (a JSON object or a connection URI)"
    if text.startswith("{"):
        try:
            document = json.loads(text)
        except ValueError:
            reason = "it is not valid JSON"
        else:
            extra = document.get("extra") if isinstance(document, dict) else None
            if isinstance(extra, str) and extra.strip():
                try:
                    extra = json.loads(extra)
                except ValueError:
                    reason = "its extra is not valid JSON; write it as a JSON object"
            if reason.startswith("check") and extra is not None and not isinstance(extra, dict):
                reason = "its extra must be a JSON object"
    else:
        from urllib.parse import parse_qs

        extra_text = parse_qs(urlsplit(text).query).get("__extra__", [None])[0]
        if extra_text is not None:
            try:
                extra = json.loads(extra_text)
            except ValueError:
                reason = "its __extra__ parameter is not valid JSON"
            else:
                if not isinstance(extra, dict):
                    reason = "its __extra__ parameter must be a JSON object"
    return ZohoInvoiceConfigError(
        f"Connection '{conn_id}' is set in {variable}, but Airflow could not read it: {reason}"
    )


def fetch_connection(get_connection: Any, conn_id: str) -> Any:
    """``get_connection(conn_id)``, with a clear error when the connection is set but unreadable."""
    try:
        return get_connection(conn_id)
    except Exception as exc:
        if type(exc).__name__ != "AirflowNotFoundException":
            raise
        clearer = unreadable_connection(conn_id)
        if clearer is None:
            raise
        raise clearer from None
