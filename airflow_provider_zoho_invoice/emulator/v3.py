"""The emulator's Zoho Invoice API v3: organizations, every list resource and record by id.

Behaves as Zoho does where Zoho's behaviour is known: 401 with code 14 or 57, 429 with code 44
or 45, ``X-Rate-Limit-*`` headers, ``page_context`` without a total, the refusal of the
``last_modified_time`` sort on expenses. Access tokens are Zoho Accounts' (``accounts.py``).

What Zoho's ``last_modified_time`` filter compares is not settled, so the emulator plays each
plausible reading (:data:`FILTER_SEMANTICS`), and can refuse the sort on any resource.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from datetime import datetime, timedelta
from datetime import time as clock_time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from airflow_provider_zoho_invoice.emulator.accounts import JSON_TYPE, AccountsService, json_response
from airflow_provider_zoho_invoice.emulator.cache import PageCache
from airflow_provider_zoho_invoice.emulator.churn import Churn
from airflow_provider_zoho_invoice.emulator.faults import Serve
from airflow_provider_zoho_invoice.emulator.records import ORG_ZONE, RecordSet
from airflow_provider_zoho_invoice.emulator.writes import WRITABLE, written
from airflow_provider_zoho_invoice.v3.answers import encode, parse_zoho_time
from airflow_provider_zoho_invoice.v3.constants import (
    API_ROOT,
    CODE_DAILY_QUOTA,
    CODE_INVALID_VALUE,
    CODE_NO_AUTHENTICATION,
    CODE_NOT_AUTHORIZED,
    CODE_PER_MINUTE_LIMIT,
    CODE_UNKNOWN_ORGANIZATION,
    MAX_PER_PAGE,
    ORGANIZATION_HEADER,
)
from airflow_provider_zoho_invoice.v3.resources import RESOURCES, scope_for

FILTER_SEMANTICS = {
    "gte": "records modified at or after the value (an inclusive lower bound)",
    "gt": "records modified after the value (an exclusive lower bound)",
    "exact": "records modified at exactly the value",
    "ignored": "every record: the filter has no effect (the sort still applies)",
    "date": "records modified on or after the value's calendar date (dates in the organization's zone)",
    "local": "an inclusive lower bound, with the value's UTC offset ignored and its wall-clock time read "
    "in the organization's time zone",
}
"""What the ``last_modified_time`` query parameter can mean; ``gte`` is the documented reading."""

LOOKUP_FIELDS = ("name", "sku", "contact_name", "email", "invoice_number", "reference_number")
"""List filters that select records whose field equals the value (Zoho's lookups by key)."""

DEFAULT_ORGANIZATION = {"organization_id": "10234695", "name": "Zillum"}
_SINGULAR_MESSAGES = {
    "items": "Item",
    "contacts": "Contact",
    "invoices": "Invoice",
    "estimates": "Estimate",
    "customerpayments": "Payment",
    "creditnotes": "Credit note",
    "expenses": "Expense",
    "recurringinvoices": "Recurring invoice",
    "projects": "Project",
    "taxes": "Tax",
    "users": "User",
}
_REPORT_NAMES = {
    "recurringinvoices": "Recurring Invoices",
    "estimates": "Quotes",
    "customerpayments": "Payments Received",
    "creditnotes": "Credit Notes",
}


_DETAIL_ONLY = ("line_items",)
"""Fields Zoho sends with one record (``GET /invoices/{id}``) but leaves out of list answers."""


def _listed(record: dict[str, Any]) -> dict[str, Any]:
    if not any(field in record for field in _DETAIL_ONLY):
        return record
    return {key: value for key, value in record.items() if key not in _DETAIL_ONLY}


class V3Service:
    """Routes and state of API v3 inside :class:`ZohoInvoiceEmulator` (which records and injects faults)."""

    def __init__(
        self,
        *,
        records: RecordSet,
        accounts: AccountsService,
        organizations: list[dict[str, Any]],
        per_minute_limit: int,
        daily_quota: int,
        hard_quota: bool,
        churn: Callable[[], Churn],
        serve: Serve,
        modified_filter: str = "gte",
        refuse_modified_sort: frozenset[str] = frozenset({"expenses"}),
    ) -> None:
        if modified_filter not in FILTER_SEMANTICS:
            raise ValueError(f"modified_filter must be one of {', '.join(FILTER_SEMANTICS)}")
        self.records = records
        self.modified_filter = modified_filter
        """How the ``last_modified_time`` parameter filters (a key of :data:`FILTER_SEMANTICS`)."""
        self.refuse_modified_sort = refuse_modified_sort
        """Resources whose ``sort_column=last_modified_time`` is refused (Zoho: expenses)."""
        self.accounts = accounts
        self.organizations = organizations
        self.per_minute_limit = per_minute_limit
        self.daily_quota = daily_quota
        self.hard_quota = hard_quota
        """Refuse past the quota (429, code 45) instead of answering on with a negative remainder."""
        self._serve = serve
        self._lock = threading.Lock()
        self._calls: dict[str, deque[float]] = defaultdict(deque)
        self.window = 60.0
        """Seconds over which ``per_minute_limit`` counts (shorter in tests)."""
        self.calls_today: dict[str, int] = defaultdict(int)
        self.refused_per_minute = 0
        """Requests answered 429 code 44: over ``per_minute_limit``."""
        self._pages = PageCache()
        self._churn = churn

    def routes(self) -> list[Route]:
        return [
            Route(f"{API_ROOT}/organizations", self._organizations, methods=["GET"]),
            Route(f"{API_ROOT}/settings/taxes", self._list_route("taxes"), methods=["GET"]),
            Route(f"{API_ROOT}/settings/taxes/{{record_id}}", self._get_route("taxes"), methods=["GET"]),
            *(
                route
                for name, found in RESOURCES.items()
                if name != "taxes"
                for route in (
                    Route(f"{API_ROOT}{found.path}", self._list_route(name), methods=["GET"]),
                    Route(f"{API_ROOT}{found.path}/{{record_id}}", self._get_route(name), methods=["GET"]),
                )
            ),
            *(
                route
                for name in WRITABLE
                for route in (
                    Route(
                        f"{API_ROOT}{RESOURCES[name].path}",
                        self._write_route(name, "create"),
                        methods=["POST"],
                    ),
                    Route(
                        f"{API_ROOT}{RESOURCES[name].path}/{{record_id}}",
                        self._write_route(name, "update"),
                        methods=["PUT"],
                    ),
                )
            ),
        ]

    # -- API ------------------------------------------------------------------------------------

    def _quota_headers(self, organization: str) -> dict[str, str]:
        limit = self.daily_quota
        now = datetime.now(ORG_ZONE)
        midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        return {
            "X-Rate-Limit-Limit": str(limit),
            "X-Rate-Limit-Remaining": str(limit - self.calls_today[organization]),
            "X-Rate-Limit-Reset": str(int((midnight - now).total_seconds())),
        }

    def _authorize(self, request: Request, *, organization: bool) -> tuple[Response | None, str]:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme not in ("Zoho-oauthtoken", "Bearer") or not token:  # Zoho's docs allow both
            return json_response(
                {
                    "code": CODE_NO_AUTHENTICATION,
                    "message": "The request could not be authenticated as the authentication value you "
                    "entered is invalid. Enter a valid authentication value and try again.",
                },
                401,
            ), ""
        needed = scope_for(request.url.path.removeprefix(API_ROOT), request.method)
        if not self.accounts.access_token_valid(token) or not self.accounts.access_token_allows(
            token, needed
        ):
            # Zoho gives a token that lacks the module's scope the answer an expired one gets.
            return json_response(
                {"code": CODE_NOT_AUTHORIZED, "message": "You are not authorized to perform this operation"},
                401,
            ), ""
        if not organization:
            return None, ""
        org_id = request.headers.get(ORGANIZATION_HEADER) or request.query_params.get("organization_id", "")
        if not org_id:
            return json_response(
                {"code": CODE_INVALID_VALUE, "message": "Invalid value passed for organization_id"}, 400
            ), ""
        if org_id not in {str(org["organization_id"]) for org in self.organizations}:
            return json_response(
                {
                    "code": CODE_UNKNOWN_ORGANIZATION,
                    "message": f"This user is not associated with the CompanyID/CompanyName:{org_id}.",
                },
                400,
            ), ""
        return self._meter(org_id), org_id

    def _meter(self, organization: str) -> Response | None:
        now = time.monotonic()
        with self._lock:
            if self.hard_quota and self.calls_today[organization] >= self.daily_quota:
                return json_response(
                    {
                        "code": CODE_DAILY_QUOTA,
                        "message": "The API call for this organization has exceeded the maximum call rate "
                        f"limit of {self.daily_quota}.",
                    },
                    429,
                    self._quota_headers(organization),
                )
            if self.per_minute_limit:
                recent = self._calls[organization]
                while recent and recent[0] <= now - self.window:
                    recent.popleft()
                if len(recent) >= self.per_minute_limit:
                    self.refused_per_minute += 1
                    return json_response(
                        {
                            "code": CODE_PER_MINUTE_LIMIT,
                            "message": "For security reasons your organization has been blocked as it have "
                            "exceeded the maximum number of requests per minute that can originate from "
                            "an organization.",
                        },
                        429,
                    )
                recent.append(now)
            self.calls_today[organization] += 1
        return None

    async def _organizations(self, request: Request) -> Response:
        def respond(request: Request, params: dict[str, str]) -> Response:
            refusal, _ = self._authorize(request, organization=False)
            if refusal is not None:
                return refusal
            return json_response({"code": 0, "message": "success", "organizations": self.organizations})

        return await self._serve(request, "organizations", respond)

    def _list_route(self, name: str) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            return await self._serve(request, f"v3:{name}", lambda req, params: self._list(name, req, params))

        return endpoint

    def _get_route(self, name: str) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            return await self._serve(request, f"v3:{name}:get", lambda req, params: self._get(name, req))

        return endpoint

    def _write_route(self, name: str, action: str) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            return await self._serve(
                request, f"v3:{name}:{action}", lambda req, params: self._write(name, req, params)
            )

        return endpoint

    def _write(self, name: str, request: Request, params: dict[str, str]) -> Response:
        refusal, organization = self._authorize(request, organization=True)
        if refusal is not None:
            return refusal
        return written(
            self.records,
            name,
            params,
            request.path_params.get("record_id"),
            self._quota_headers(organization),
        )

    def _list(self, name: str, request: Request, params: dict[str, str]) -> Response:
        refusal, organization = self._authorize(request, organization=True)
        if refusal is not None:
            return refusal
        headers = self._quota_headers(organization)
        try:
            page = int(params.get("page", "1"))
            per_page = int(params.get("per_page", str(MAX_PER_PAGE)))
        except ValueError:
            return json_response(
                {"code": CODE_INVALID_VALUE, "message": "Invalid value passed for page"}, 400, headers
            )
        if page < 1 or not 1 <= per_page <= MAX_PER_PAGE:
            return json_response(
                {"code": CODE_INVALID_VALUE, "message": "Invalid value passed for page or per_page"},
                400,
                headers,
            )
        sort_column = params.get("sort_column")
        if name in self.refuse_modified_sort and sort_column == "last_modified_time":
            return json_response(
                {"code": CODE_INVALID_VALUE, "message": "Invalid value passed for sort_column"}, 400, headers
            )
        modified_since = params.get("last_modified_time")
        if modified_since is not None and parse_zoho_time(modified_since) is None:
            return json_response(
                {"code": CODE_INVALID_VALUE, "message": "Invalid value passed for last_modified_time"},
                400,
                headers,
            )
        key = (
            name,
            page,
            per_page,
            sort_column,
            params.get("sort_order"),
            tuple((field, params[field]) for field in LOOKUP_FIELDS if field in params),
            modified_since,
            self.modified_filter,
            self.records.version,
        )
        body = self._pages.get(key)
        if body is None:  # generating a page costs the event loop milliseconds; serving it again, none
            body = self._list_body(name, page, per_page, params)
            self._pages.put(key, body)
        self._after_page(name)
        return Response(body, media_type=JSON_TYPE, headers={"Server": "ZGS", **headers})

    def _after_page(self, name: str) -> None:
        """Change the resource between page fetches as the emulator's churn says."""
        churn = self._churn()
        if not churn.page_served(name):
            return
        size = self.records.size(name)
        for index in [churn.rng.randrange(size) for _ in range(churn.edit if size else 0)]:
            self.records.touch(name, index)
        for _ in range(churn.add):
            self.records.add(name)

    def _list_body(self, name: str, page: int, per_page: int, params: dict[str, str]) -> bytes:
        found = RESOURCES[name]
        sort_column = params.get("sort_column")
        modified_since = params.get("last_modified_time")
        if sort_column == "last_modified_time" or modified_since is not None:
            records, more = self._modified_page(name, page, per_page, params)
        elif any(field in params for field in LOOKUP_FIELDS):
            indexes: set[int] | None = None
            for field in LOOKUP_FIELDS:
                if field in params:
                    having = set(self.records.having(name, field, params[field]))
                    indexes = having if indexes is None else indexes & having
            matches = [self.records.record(name, index) for index in sorted(indexes or ())]
            start = (page - 1) * per_page
            records, more = matches[start : start + per_page], start + per_page < len(matches)
        else:
            ascending = sort_column in (None, "created_time") and params.get("sort_order") == "A"
            records, more = self.records.page(name, page, per_page, newest_first=not ascending)
        records = [_listed(record) for record in records]
        context: dict[str, Any] = {"page": page, "per_page": per_page, "has_more_page": more}
        if modified_since is not None:
            context["last_modified_time"] = modified_since  # echoed, as Zoho does for projects
        context |= {
            "report_name": _REPORT_NAMES.get(name, name.capitalize()),
            "applied_filter": "PaymentMode.All" if name == "customerpayments" else "Status.All",
            "custom_fields": [],
            "sort_column": sort_column or "created_time",
            "sort_order": params.get("sort_order", "D"),
        }
        return encode({"code": 0, "message": "success", found.list_key: records, "page_context": context})

    def _modified_page(
        self, name: str, page: int, per_page: int, params: dict[str, str]
    ) -> tuple[list[dict[str, Any]], bool]:
        """Zoho's ``last_modified_time`` filter (as :attr:`modified_filter` reads it) and sort, with
        offset pages."""
        order = self._filtered(self.records.by_modified_time(name), params.get("last_modified_time"))
        if params.get("sort_column") == "last_modified_time" and params.get("sort_order", "D") == "D":
            order = order[::-1]
        start = (page - 1) * per_page
        chosen = order[start : start + per_page]
        return [self.records.record(name, index) for _, _, index in chosen], start + per_page < len(order)

    def _filtered(
        self, order: list[tuple[float, str, int]], value: str | None
    ) -> list[tuple[float, str, int]]:
        """The records ``last_modified_time=value`` selects, of ``order`` (ascending, whole seconds)."""
        moment = parse_zoho_time(value)
        mode = self.modified_filter
        if moment is None or mode == "ignored":
            return order

        def first_at(seconds: float) -> int:
            return bisect.bisect_left(order, (seconds, "", -1))

        if mode == "local":
            moment = moment.replace(tzinfo=self.records.zone)  # the wall clock, read in the zone
        elif mode == "date":
            moment = datetime.combine(moment.date(), clock_time(), self.records.zone)
        seconds = moment.timestamp()
        if mode == "gt":
            return order[first_at(seconds + 1) :]
        if mode == "exact":
            return order[first_at(seconds) : first_at(seconds + 1)]
        return order[first_at(seconds) :]

    def _get(self, name: str, request: Request) -> Response:
        refusal, organization = self._authorize(request, organization=True)
        if refusal is not None:
            return refusal
        headers = self._quota_headers(organization)
        record = self.records.get(name, request.path_params["record_id"])
        if record is None:
            return json_response(
                {
                    "code": RESOURCES[name].not_found_code,
                    "message": f"{_SINGULAR_MESSAGES[name]} does not exist.",
                },
                404,
                headers,
            )
        return json_response(
            {"code": 0, "message": "success", RESOURCES[name].record_key: record}, 200, headers
        )
