"""What the legacy API answers: typed items, and response bodies turned into them or into clear errors.

Item pages go through the C ElementTree parser (they are most of the traffic);
everything else goes through xmltodict. Both refuse DTDs, so no entity is ever
expanded or fetched, and both force UTF-8 so the DTD check cannot be dodged by
a declared encoding.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from airflow_provider_zoho_invoice.exceptions import (
    ZohoInvoiceAPIError,
    ZohoInvoiceAuthError,
    ZohoInvoiceResponseError,
)
from airflow_provider_zoho_invoice.legacy.constants import AUTH_ERROR_CODES, AUTHTOKEN_CAUSE_REMEDIES
from airflow_provider_zoho_invoice.redaction import redact, snippet

ITEM_FIELDS = (
    "item_id",
    "name",
    "description",
    "rate",
    "tax1_name",
    "tax1_percentage",
    "tax2_name",
    "tax2_percentage",
    "uri",
)


@dataclass(frozen=True, slots=True)
class ZohoInvoiceItem:
    """One catalogue item. Money stays ``Decimal`` so that no rate is rounded through ``float``."""

    item_id: str
    name: str | None
    description: str | None
    rate: Decimal | None
    tax1_name: str | None
    tax1_percentage: Decimal | None
    tax2_name: str | None
    tax2_percentage: Decimal | None
    uri: str | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form: every row an operator emits is exactly this (decimals as strings)."""
        return {
            "item_id": self.item_id,
            "name": self.name,
            "description": self.description,
            "rate": None if self.rate is None else str(self.rate),
            "tax1_name": self.tax1_name,
            "tax1_percentage": None if self.tax1_percentage is None else str(self.tax1_percentage),
            "tax2_name": self.tax2_name,
            "tax2_percentage": None if self.tax2_percentage is None else str(self.tax2_percentage),
            "uri": self.uri,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ZohoInvoiceItem:
        """Inverse of :meth:`to_dict`, for tasks that read what an operator wrote."""

        def dec(value: Any) -> Decimal | None:
            return None if value is None else Decimal(value)

        return cls(
            item_id=str(data["item_id"]),
            name=data.get("name"),
            description=data.get("description"),
            rate=dec(data.get("rate")),
            tax1_name=data.get("tax1_name"),
            tax1_percentage=dec(data.get("tax1_percentage")),
            tax2_name=data.get("tax2_name"),
            tax2_percentage=dec(data.get("tax2_percentage")),
            uri=data.get("uri"),
        )


@dataclass(frozen=True, slots=True)
class PageContext:
    """Where a page sits in a listing, as the server reported it."""

    page: int
    per_page: int
    total: int
    total_pages: int


# The seed's own error sample closes tags with <Code> instead of </Code>; read such bodies leniently.
_LENIENT_STATUS = re.compile(rb"<Response\s+status\s*=\s*[\"']0[\"']")
_LENIENT_CODE = re.compile(rb"<Code>\s*(\d+)\s*</?Code>")
_LENIENT_MESSAGE = re.compile(rb"<Message>([^<]*)</?Message>")

_AUTH_REMEDIES = {
    14: "The authtoken was not accepted: set a valid authtoken as the connection's password "
    "(ZohoInvoiceHook.generate_authtoken creates one).",
    15: "The API key was not accepted: check the connection's 'apikey' extra; a newly requested "
    "key works only once Zoho has activated it.",
}


def refuse_dtd(body: bytes, *, status_code: int | None, secrets: Iterable[str | None]) -> None:
    """Entity declarations live only in a DTD; Zoho never sends one, so any DTD is refused."""
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        raise ZohoInvoiceResponseError(
            "Refusing a response that declares a DTD (entity expansion is never processed)",
            status_code=status_code,
            snippet=snippet(body, secrets),
        )


def error_for_code(code: int | None, message: str, path: str | None) -> ZohoInvoiceAPIError:
    if code in AUTH_ERROR_CODES:
        return ZohoInvoiceAuthError(code, message, path=path, remedy=_AUTH_REMEDIES.get(code))
    return ZohoInvoiceAPIError(code, message, path=path)


def _to_int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def _lenient_error(body: bytes, secrets: Iterable[str | None]) -> ZohoInvoiceAPIError | None:
    if not _LENIENT_STATUS.search(body[:512]):
        return None
    code_match = _LENIENT_CODE.search(body)
    message_match = _LENIENT_MESSAGE.search(body)
    code = int(code_match.group(1)) if code_match else None
    message = message_match.group(1).decode("utf-8", "replace").strip() if message_match else ""
    return error_for_code(code, redact(message, secrets) or "no message", None)


def parse_root(
    body: bytes, *, path: str, status_code: int | None, secrets: Iterable[str | None] = ()
) -> ET.Element:
    """Parse a ``<Response>`` document and raise the API error it carries, if any."""
    if body[:512].lstrip().lower().startswith((b"<!doctype html", b"<html")):
        raise ZohoInvoiceResponseError(
            f"Zoho Invoice answered {path} with an HTML page instead of XML (a proxy, login or error page?)",
            status_code=status_code,
            snippet=snippet(body, secrets),
        )
    refuse_dtd(body, status_code=status_code, secrets=secrets)
    try:
        root = ET.fromstring(body, parser=ET.XMLParser(encoding="utf-8"))  # noqa: S314 - DTDs refused above
    except ET.ParseError:
        lenient = _lenient_error(body, secrets)
        if lenient is not None:
            lenient.path = path
            raise lenient from None
        raise ZohoInvoiceResponseError(
            f"Zoho Invoice answered {path} with a body that is not well-formed XML",
            status_code=status_code,
            snippet=snippet(body, secrets),
        ) from None
    if root.tag != "Response":
        raise ZohoInvoiceResponseError(
            f"Zoho Invoice answered {path} with <{root.tag}> instead of <Response>",
            status_code=status_code,
            snippet=snippet(body, secrets),
        )
    status = root.get("status")
    if status == "1":
        return root
    if status == "0":
        message = redact((root.findtext("Message") or "").strip(), secrets)
        raise error_for_code(_to_int(root.findtext("Code")), message, path)
    raise ZohoInvoiceResponseError(
        f"Zoho Invoice answered {path} with an unknown status {status!r}",
        status_code=status_code,
        snippet=snippet(body, secrets),
    )


def _decimal(text: str | None, field: str, item_id: str) -> Decimal | None:
    if text is None:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        raise ZohoInvoiceResponseError(
            f"Item {item_id} has a {field} that is not a decimal number: {text[:40]!r}"
        ) from None


def item_from_element(element: ET.Element) -> ZohoInvoiceItem:
    fields: dict[str, str | None] = {child.tag: (child.text or None) for child in element}
    item_id = fields.get("ItemID")
    if not item_id:
        raise ZohoInvoiceResponseError("An <Item> in Zoho Invoice's answer has no <ItemID>")
    return ZohoInvoiceItem(
        item_id=item_id,
        name=fields.get("Name"),
        description=fields.get("Description"),
        rate=_decimal(fields.get("Rate"), "Rate", item_id),
        tax1_name=fields.get("Tax1Name"),
        tax1_percentage=_decimal(fields.get("Tax1Percentage"), "Tax1Percentage", item_id),
        tax2_name=fields.get("Tax2Name"),
        tax2_percentage=_decimal(fields.get("Tax2Percentage"), "Tax2Percentage", item_id),
        uri=element.get("uri"),
    )


def parse_items_page(
    body: bytes, *, path: str, status_code: int | None, secrets: Iterable[str | None] = ()
) -> tuple[list[ZohoInvoiceItem], PageContext]:
    root = parse_root(body, path=path, status_code=status_code, secrets=secrets)
    items_element = root.find("Items")
    items = (
        [] if items_element is None else [item_from_element(el) for el in items_element if el.tag == "Item"]
    )
    context_element = root.find("PageContext")
    if context_element is None:
        # A listing without paging information is one complete page.
        return items, PageContext(page=1, per_page=len(items), total=len(items), total_pages=1)
    try:
        context = PageContext(
            page=int(context_element.get("Page", "1")),
            per_page=int(context_element.get("Per_Page", str(len(items)))),
            total=int(context_element.get("Total", str(len(items)))),
            total_pages=int(context_element.get("Total_Pages", "1")),
        )
    except ValueError:
        raise ZohoInvoiceResponseError(
            f"Zoho Invoice answered {path} with a PageContext that is not numeric",
            status_code=status_code,
            snippet=snippet(body, secrets),
        ) from None
    return items, context


def parse_single_item(
    body: bytes, *, path: str, status_code: int | None, secrets: Iterable[str | None] = ()
) -> ZohoInvoiceItem:
    root = parse_root(body, path=path, status_code=status_code, secrets=secrets)
    element = root.find("Item")
    if element is None:
        element = root.find("Items/Item")
    if element is None:
        raise ZohoInvoiceResponseError(
            f"Zoho Invoice answered {path} without an <Item>",
            status_code=status_code,
            snippet=snippet(body, secrets),
        )
    return item_from_element(element)


def parse_document(
    body: bytes, *, path: str, status_code: int | None, secrets: Iterable[str | None] = ()
) -> dict[str, Any]:
    """The whole ``<Response>`` as nested dicts, for endpoints the hook does not wrap yet."""
    import xmltodict

    parse_root(body, path=path, status_code=status_code, secrets=secrets)  # raises the API error, if any
    document = xmltodict.parse(body, encoding="utf-8", disable_entities=True)
    response: dict[str, Any] = document["Response"]
    return response


def parse_properties(body: bytes) -> dict[str, str]:
    """``KEY=value`` lines of Zoho Accounts' answers; ``#`` lines are comments."""
    values: dict[str, str] = {}
    for raw_line in body.decode("utf-8", errors="replace").splitlines():
        line = raw_line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        values[key.strip()] = value.strip()
    return values


def authtoken_error(cause: str) -> ZohoInvoiceAuthError:
    remedy = AUTHTOKEN_CAUSE_REMEDIES.get(cause, "See Zoho Accounts for details.")
    return ZohoInvoiceAuthError(
        None, f"Zoho Accounts refused to create an authtoken: {cause}", cause=cause, remedy=remedy
    )
