"""Canned platform answers for the sandbox: behaviours, error bodies and little-text unescaping.

Everything here is pure (no sockets, no state) so the server module only has to decide *which*
answer a request gets.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from omnipost_tui.platforms import FACEBOOK, LINKEDIN

# Behaviours an account can have. "duplicate" is an alias of "permanent".
OK = "ok"
RATELIMIT = "ratelimit"
FLAKY = "flaky"
EXPIRED = "expired"
PERMANENT = "permanent"
DUPLICATE = "duplicate"
FORBIDDEN = "forbidden"
SLOW = "slow"
HANG = "hang"
DOWN = "down"
# Images (the create call itself behaves as "ok" for these)
UPLOADFLAKY = "uploadflaky"  # the account's first image upload answers 503
IMAGEREFUSED = "imagerefused"  # Facebook 1366046 on /photos; LinkedIn 400 on initializeUpload
IMAGESTUCK = "imagestuck"  # LinkedIn images stay PROCESSING
IMAGEFAILED = "imagefailed"  # LinkedIn images become PROCESSING_FAILED
# Answers lost on the way back (the create call leaves the variant unconfirmed), and reads
LOSTANSWER = "lostanswer"  # every post is created, then the connection drops unanswered
LOSTREQUEST = "lostrequest"  # the first publish drops the connection and creates nothing
READREFUSED = "readrefused"  # posts are created as usual; reading them back is forbidden

BEHAVIOURS: tuple[str, ...] = (
    OK,
    RATELIMIT,
    FLAKY,
    EXPIRED,
    PERMANENT,
    DUPLICATE,
    FORBIDDEN,
    SLOW,
    HANG,
    DOWN,
    UPLOADFLAKY,
    IMAGEREFUSED,
    IMAGESTUCK,
    IMAGEFAILED,
    LOSTANSWER,
    LOSTREQUEST,
    READREFUSED,
)

# Keywords looked for in an account id, first match wins. "ok" is the default, not a keyword
# (it would match every "facebook"-something id). "uploadflaky" before "flaky", which it holds.
KEYWORD_ORDER: tuple[str, ...] = (
    LOSTANSWER,
    LOSTREQUEST,
    READREFUSED,
    UPLOADFLAKY,
    IMAGEREFUSED,
    IMAGESTUCK,
    IMAGEFAILED,
    RATELIMIT,
    FLAKY,
    EXPIRED,
    PERMANENT,
    DUPLICATE,
    FORBIDDEN,
    SLOW,
    HANG,
    DOWN,
)

# Outcomes recorded in /_sandbox/requests.
OUTCOME_OK = "ok"
OUTCOME_RATE_LIMITED = "rate_limited"
OUTCOME_UNAVAILABLE = "unavailable"
OUTCOME_SERVER_ERROR = "server_error"
OUTCOME_TOKEN_EXPIRED = "token_expired"
OUTCOME_TOKEN_MISSING = "token_missing"
OUTCOME_PERMANENT = "permanent"
OUTCOME_FORBIDDEN = "forbidden"
OUTCOME_BAD_REQUEST = "bad_request"
OUTCOME_ABORTED = "aborted"

FB_TRACE_ID = "A1b2"
LONG_LIVED_SECONDS = 5_184_000  # 60 days
SHORT_LIVED_SECONDS = 5_400  # a Facebook user token straight from the code: 90 minutes
REFRESH_TOKEN_SECONDS = 31_536_000  # 365 days
FB_SCOPES = ("pages_manage_posts", "pages_read_engagement")
LI_SCOPES = ("w_member_social", "w_organization_social")

# Pages returned by /me/accounts. Page tokens are derived from the page id so the server can
# tell which page a token belongs to without remembering any token.
# The pages the sandbox's user manages (/me/accounts), including those of `omnipost demo`'s data
# (omnipost_tui/demo/data.py), so refreshing a demo account's token works.
DEMO_PAGES: tuple[tuple[str, str], ...] = (
    ("100000000000001", "Sandbox Bakery"),
    ("100000000000002", "Sandbox Bookshop"),
    ("acme-coffee-page", "Acme Coffee"),
    ("northwind-ratelimit", "Northwind Outdoors"),
    ("acme-events-duplicate", "Acme Events"),
)
PAGE_TOKEN_PREFIX = "sandbox-page-token-"
# What /me/accounts says of every page (Graph's default fields include both).
PAGE_CATEGORY = "Local Business"
PAGE_TASKS = ("ANALYZE", "ADVERTISE", "MODERATE", "CREATE_CONTENT", "MANAGE")
PAGE_FIELDS = ("id", "name", "access_token", "category", "tasks")
FACEBOOK_USER_ID = "100000000000100"  # the sandbox's one Facebook user

# The LinkedIn member who signs in (sub, name) and the organizations they administer (id,
# localizedName), named as in `omnipost demo`'s data (whose Northwind one is an "expired" id).
DEMO_MEMBER: tuple[str, str] = ("sandbox-member-1", "Sam Sandbox")
DEMO_ORGANIZATIONS: tuple[tuple[str, str], ...] = (
    ("2001", "Acme Coffee Co."),
    ("2002", "Northwind Careers"),
)
ORGANIZATION_ACLS_PAGE = 10  # organizationAcls' default count

# What the token endpoints (Facebook's /oauth/access_token, LinkedIn's /oauth/v2/accessToken)
# do: answer, answer a 500 HTML page (a proxy in the way), or drop the connection.
TOKEN_ENDPOINT_OK = "ok"
TOKEN_ENDPOINT_HTML500 = "html500"
TOKEN_ENDPOINT_DOWN = "down"
TOKEN_ENDPOINT_MODES: tuple[str, ...] = (
    TOKEN_ENDPOINT_OK,
    TOKEN_ENDPOINT_HTML500,
    TOKEN_ENDPOINT_DOWN,
)

LITTLE_TEXT_RESERVED = frozenset("\\|{}@[]()<>#*_~")

HTML = "text/html; charset=utf-8"
JSON = "application/json"


@dataclass(frozen=True)
class Reply:
    """One HTTP answer, plus the outcome word recorded for publish requests."""

    status: int
    body: bytes = b""
    content_type: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    outcome: str = OUTCOME_OK


def normalize_token_endpoint(value: str) -> str:
    """Validate a token endpoint mode (case-insensitive); raises ValueError for unknown ones."""
    name = value.strip().lower()
    if name not in TOKEN_ENDPOINT_MODES:
        raise ValueError(
            f"unknown token endpoint mode {value!r}; expected one of {TOKEN_ENDPOINT_MODES}"
        )
    return name


def normalize_behaviour(value: str) -> str:
    """Validate a behaviour name (case-insensitive); raises ValueError for unknown ones."""
    name = value.strip().lower()
    if name not in BEHAVIOURS:
        raise ValueError(f"unknown sandbox behaviour {value!r}; expected one of {BEHAVIOURS}")
    return name


def behaviour_from_keyword(account: str) -> str:
    """The behaviour named by a keyword contained in ``account`` (case-insensitive), else ok."""
    lowered = account.lower()
    for keyword in KEYWORD_ORDER:
        if keyword in lowered:
            return keyword
    return OK


def unescape_little_text(text: str) -> str:
    """Undo LinkedIn little-text escaping: ``\\`` + a reserved character is that character."""
    out: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text) and text[i + 1] in LITTLE_TEXT_RESERVED:
            out.append(text[i + 1])
            i += 2
            continue
        out.append(char)
        i += 1
    return "".join(out)


def json_reply(
    status: int,
    payload: Any,
    outcome: str = OUTCOME_OK,
    headers: tuple[tuple[str, str], ...] = (),
) -> Reply:
    body = json.dumps(payload, separators=(",", ":")).encode()
    return Reply(status, body, JSON, headers, outcome)


def html_reply(status: int, title: str, outcome: str) -> Reply:
    body = f"<html><body><h1>{status} {title}</h1></body></html>".encode()
    return Reply(status, body, HTML, (), outcome)


def unavailable() -> Reply:
    return html_reply(503, "Service Unavailable", OUTCOME_UNAVAILABLE)


def server_error() -> Reply:
    return html_reply(500, "Internal Server Error", OUTCOME_SERVER_ERROR)


def platform_error_json() -> Reply:
    """A 500 with the platforms' own error body (Graph's "unexpected error", transient)."""
    payload = {
        "error": {
            "message": "An unexpected error has occurred. Please retry your request later.",
            "type": "OAuthException",
            "is_transient": True,
            "code": 2,
        }
    }
    return json_reply(500, payload, OUTCOME_SERVER_ERROR)


def not_found(path: str) -> Reply:
    return json_reply(404, {"error": "not found", "path": path}, OUTCOME_BAD_REQUEST)


def bad_gateway_html() -> Reply:
    """What a token endpoint answers in the ``html500`` mode."""
    body = b"<html><body>Bad Gateway</body></html>"
    return Reply(500, body, HTML, (), OUTCOME_SERVER_ERROR)


# --- OAuth authorize pages ------------------------------------------------------------------


def authorize_page(
    platform: str, client_id: str, scopes: Sequence[str], approve_url: str, deny_url: str
) -> Reply:
    """The consent page: the app, the scopes, and two links back to the app's redirect URI.

    The links' ``href`` are HTML-escaped (``&`` is ``&amp;``), as in any HTML page.
    """
    esc = html.escape
    items = "".join(f"<li>{esc(scope)}</li>" for scope in scopes) or "<li>(none)</li>"
    body = (
        "<!DOCTYPE html>\n"
        '<html><head><meta charset="utf-8">'
        f"<title>Sandbox {esc(platform)}: authorize {esc(client_id)}</title></head>\n"
        f"<body><h1>Sandbox {esc(platform)}</h1>\n"
        f'<p>The app <strong id="client-id">{esc(client_id)}</strong> asks for:</p>\n'
        f'<ul id="scopes">{items}</ul>\n'
        f'<p><a id="approve" href="{esc(approve_url)}">Approve</a>\n'
        f'<a id="deny" href="{esc(deny_url)}">Deny</a></p>\n'
        "</body></html>\n"
    )
    return Reply(200, body.encode(), HTML)


def authorize_refused(message: str) -> Reply:
    """The page an authorize request without what it needs gets (400)."""
    body = (
        "<!DOCTYPE html>\n"
        '<html><head><meta charset="utf-8"><title>400 Bad Request</title></head>\n'
        f"<body><h1>400 Bad Request</h1>\n<p>{html.escape(message)}</p></body></html>\n"
    )
    return Reply(400, body.encode(), HTML, (), OUTCOME_BAD_REQUEST)


# --- Facebook -----------------------------------------------------------------------------


def facebook_error(
    status: int,
    message: str,
    code: int,
    outcome: str,
    *,
    subcode: int | None = None,
    headers: tuple[tuple[str, str], ...] = (),
) -> Reply:
    error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    error["fbtrace_id"] = FB_TRACE_ID
    return json_reply(status, {"error": error}, outcome, headers)


def facebook_token_expired() -> Reply:
    return facebook_error(
        400,
        "Error validating access token: Session has expired on Tuesday, 01-Sep-26 10:00:00 PDT.",
        190,
        OUTCOME_TOKEN_EXPIRED,
        subcode=463,
    )


def facebook_token_missing() -> Reply:
    return facebook_error(
        400,
        "An active access token must be used to query information about the current user.",
        190,
        OUTCOME_TOKEN_MISSING,
    )


def facebook_rate_limited(page_id: str) -> Reply:
    usage = {
        page_id: [
            {
                "type": "pages",
                "call_count": 100,
                "total_cputime": 10,
                "total_time": 10,
                "estimated_time_to_regain_access": 0,
            }
        ]
    }
    return facebook_error(
        400,
        "(#32) Page request limit reached",
        32,
        OUTCOME_RATE_LIMITED,
        headers=(("X-Business-Use-Case-Usage", json.dumps(usage, separators=(",", ":"))),),
    )


def facebook_duplicate() -> Reply:
    return facebook_error(400, "(#506) Duplicate status message", 506, OUTCOME_PERMANENT)


def facebook_forbidden() -> Reply:
    return facebook_error(
        403, "(#200) Requires pages_manage_posts permission", 200, OUTCOME_FORBIDDEN
    )


def facebook_bad_request(message: str) -> Reply:
    return facebook_error(400, f"(#100) {message}", 100, OUTCOME_BAD_REQUEST)


FB_CODE_USED = ("This authorization code has been used.", 36009)
FB_CODE_EXPIRED = ("This authorization code has expired.", 36007)
FB_CODE_INVALID = ("Invalid verification code format.", 36007)
FB_CODE_REDIRECT_MISMATCH = (
    "Error validating verification code. Please make sure your redirect_uri is identical to the "
    "one you used in the OAuth dialog request",
    36008,
)


def facebook_code_refused(error: tuple[str, int]) -> Reply:
    """A code exchange refused: one of the ``FB_CODE_*`` (message, subcode)."""
    message, subcode = error
    return facebook_error(400, message, 100, OUTCOME_BAD_REQUEST, subcode=subcode)


# --- LinkedIn -----------------------------------------------------------------------------


def linkedin_error(
    status: int,
    code: str,
    message: str,
    outcome: str,
    *,
    service_error_code: int | None = None,
) -> Reply:
    payload: dict[str, Any] = {"status": status}
    if service_error_code is not None:
        payload["serviceErrorCode"] = service_error_code
    payload["code"] = code
    payload["message"] = message
    return json_reply(status, payload, outcome)


def linkedin_token_expired() -> Reply:
    return linkedin_error(
        401,
        "REVOKED_ACCESS_TOKEN",
        "The token used in the request has been revoked by the user",
        OUTCOME_TOKEN_EXPIRED,
        service_error_code=65601,
    )


def linkedin_token_missing() -> Reply:
    return linkedin_error(
        401,
        "INVALID_ACCESS_TOKEN",
        "Empty oauth2 access token",
        OUTCOME_TOKEN_MISSING,
        service_error_code=65600,
    )


def linkedin_rate_limited() -> Reply:
    return linkedin_error(
        429, "TOO_MANY_REQUESTS", "Resource level throttle limit reached", OUTCOME_RATE_LIMITED
    )


def linkedin_duplicate() -> Reply:
    return linkedin_error(
        422, "DUPLICATE_POST", "Content is a duplicate of urn:li:share:1", OUTCOME_PERMANENT
    )


def linkedin_forbidden() -> Reply:
    return linkedin_error(
        403,
        "ACCESS_DENIED",
        "Not enough permissions to access: partnerApiPostsExternal.CREATE.20261001",
        OUTCOME_FORBIDDEN,
        service_error_code=100,
    )


def facebook_read_forbidden() -> Reply:
    return facebook_error(
        403,
        "(#10) This endpoint requires the 'pages_read_engagement' permission",
        10,
        OUTCOME_FORBIDDEN,
    )


def linkedin_read_forbidden() -> Reply:
    return linkedin_error(
        403,
        "ACCESS_DENIED",
        "Not enough permissions to access: partnerApiPostsExternal.FINDER-author.20261001",
        OUTCOME_FORBIDDEN,
        service_error_code=100,
    )


def linkedin_version_missing() -> Reply:
    return linkedin_error(
        400,
        "VERSION_MISSING",
        "A version must be present. Please specify a version by adding the LinkedIn-Version "
        "header.",
        OUTCOME_BAD_REQUEST,
    )


def linkedin_bad_request(status: int, code: str, message: str) -> Reply:
    return linkedin_error(status, code, message, OUTCOME_BAD_REQUEST)


def linkedin_token_invalid() -> Reply:
    """A bearer token LinkedIn never issued (or none)."""
    return linkedin_error(
        401,
        "INVALID_ACCESS_TOKEN",
        "Invalid access token",
        OUTCOME_TOKEN_MISSING,
        service_error_code=65600,
    )


def linkedin_acls_denied() -> Reply:
    return linkedin_error(
        403,
        "ACCESS_DENIED",
        "Not enough permissions to access: organizationAcls.FINDER-roleAssignee.20261001",
        OUTCOME_FORBIDDEN,
        service_error_code=100,
    )


def linkedin_userinfo_denied() -> Reply:
    return linkedin_error(
        403,
        "ACCESS_DENIED",
        "Not enough permissions to access: userinfo.GET.NO_VERSION",
        OUTCOME_FORBIDDEN,
        service_error_code=100,
    )


def linkedin_organization_not_found(organization_id: str) -> Reply:
    return linkedin_error(
        404,
        "NOT_FOUND",
        f"Not Found: urn:li:organization:{organization_id}",
        OUTCOME_BAD_REQUEST,
    )


def linkedin_oauth_error(error: str, description: str, status: int = 400) -> Reply:
    return json_reply(
        status, {"error": error, "error_description": description}, OUTCOME_BAD_REQUEST
    )


def linkedin_code_refused() -> Reply:
    """An unknown, used, expired or mismatched authorization code (LinkedIn says all at once)."""
    return linkedin_oauth_error(
        "invalid_request",
        "Unable to retrieve access token: appid/redirect uri/code verifier does not match "
        "authorization code. Or authorization code expired. Or external member binding exists",
    )


def linkedin_client_refused() -> Reply:
    return linkedin_oauth_error("invalid_client", "Client authentication failed", 401)


# --- Per-platform dispatch ---------------------------------------------------------------


def token_missing(platform: str) -> Reply:
    return facebook_token_missing() if platform == FACEBOOK else linkedin_token_missing()


def image_refused(platform: str) -> Reply:
    if platform == FACEBOOK:
        return facebook_error(
            400,
            "(#1366046) Sorry, the image you selected is in a format or size we don't support",
            1366046,
            OUTCOME_PERMANENT,
        )
    return linkedin_error(400, "BAD_REQUEST", "Image refused: unsupported image", OUTCOME_PERMANENT)


def token_expired(platform: str) -> Reply:
    return facebook_token_expired() if platform == FACEBOOK else linkedin_token_expired()


def rate_limited(platform: str, account: str) -> Reply:
    return facebook_rate_limited(account) if platform == FACEBOOK else linkedin_rate_limited()


def duplicate(platform: str) -> Reply:
    return facebook_duplicate() if platform == FACEBOOK else linkedin_duplicate()


def forbidden(platform: str) -> Reply:
    return facebook_forbidden() if platform == FACEBOOK else linkedin_forbidden()


__all__ = [
    "BEHAVIOURS",
    "DEMO_MEMBER",
    "DEMO_ORGANIZATIONS",
    "DEMO_PAGES",
    "FACEBOOK",
    "LINKEDIN",
    "TOKEN_ENDPOINT_MODES",
    "Reply",
    "behaviour_from_keyword",
    "normalize_behaviour",
    "normalize_token_endpoint",
    "unescape_little_text",
]
