"""Facts of Zoho Invoice API v3: hosts, paths, headers, limits and the codes of its answers.

Shared by the OAuth hook and the emulator; imports nothing.
"""

from __future__ import annotations

CONN_TYPE = "zoho_invoice_oauth"
API_ROOT = "/invoice/v3"
TOKEN_PATH = "/oauth/v2/token"  # noqa: S105 - a path
REVOKE_PATH = "/oauth/v2/token/revoke"
ORGANIZATION_HEADER = "X-com-zoho-invoice-organizationid"
MAX_PER_PAGE = 200
DEFAULT_DATA_CENTER = "com"

# data centre -> (accounts server, API domain)
DATA_CENTERS: dict[str, tuple[str, str]] = {
    dc: (f"https://accounts.zoho.{dc}", f"https://www.zohoapis.{dc}")
    for dc in ("com", "eu", "in", "com.au", "jp", "com.cn", "sa")
}
DATA_CENTERS["ca"] = ("https://accounts.zohocloud.ca", "https://www.zohoapis.ca")

# Codes of Zoho's JSON answers.
CODE_SUCCESS = 0
CODE_INVALID_VALUE = 2
CODE_NO_AUTHENTICATION = 14  # no or malformed Authorization header
CODE_PER_MINUTE_LIMIT = 44
CODE_DAILY_QUOTA = 45
CODE_IN_FLIGHT = 1070  # more requests of the organization in process at once than its plan allows
CODE_NOT_AUTHORIZED = 57  # expired or revoked access token (or a scope the token lacks)
CODE_NOT_FOUND = 1002
CODE_ITEM_NOT_FOUND = 2006  # what Zoho's items documentation lists; other resources say 1002
CODE_UNKNOWN_ORGANIZATION = 6041
UNAUTHORIZED_CODES = frozenset({CODE_NO_AUTHENTICATION, CODE_NOT_AUTHORIZED})
