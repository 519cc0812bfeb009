"""Facts of the legacy Zoho Invoice protocol (authtoken, API key, XML), shared by hook and emulator."""

from __future__ import annotations

CONN_TYPE = "zoho_invoice"
ITEMS_PATH = "/api/items/"
AUTHTOKEN_PATH = "/apiauthtoken/nb/create"

DEFAULT_BASE_URL = "https://invoice.zoho.com"
DEFAULT_ACCOUNTS_URL = "https://accounts.zoho.com"
DEFAULT_SCOPE = "invoiceapi"
MAX_PER_PAGE = 200

# status="0" codes. 14 and 1002 are Zoho's published ones; the others are the emulator's choice
# for failures Zoho's documentation does not number.
CODE_INVALID_TICKET = 14  # the authtoken is unknown or revoked
CODE_INVALID_APIKEY = 15  # the API key is unknown or not yet active
CODE_INVALID_SCOPE = 16  # scope missing or not ``invoiceapi``
CODE_INVALID_VALUE = 2  # a parameter is out of range or malformed
CODE_UNKNOWN_METHOD = 1  # no such API path
CODE_ITEM_NOT_FOUND = 1002

AUTH_ERROR_CODES = frozenset({CODE_INVALID_TICKET, CODE_INVALID_APIKEY})

# CAUSE values of Zoho Accounts' authtoken API, with what the user can do about each.
AUTHTOKEN_CAUSE_REMEDIES = {
    "NO_SUCH_USER": "No Zoho account has this email ID or Zoho ID; check EMAIL_ID.",
    "INVALID_PASSWORD": "The password is wrong for this account; check it.",
    "INVALID_CREDENTIALS": "Zoho Accounts rejected the request's parameters; check the email ID, "
    "password and scope.",
    "WEB_LOGIN_REQUIRED": "The account uses two-factor authentication; generate an "
    "application-specific password in Zoho Accounts and use that instead.",
    "EXCEEDED_MAXIMUM_ALLOWED_AUTHTOKENS": "The account holds the most authtokens Zoho allows; "
    "delete unused ones under Zoho Accounts > Active Authtokens and reuse the token you keep.",
}
