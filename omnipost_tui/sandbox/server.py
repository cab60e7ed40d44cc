"""A local stand-in for the Facebook Graph API and the LinkedIn API.

One ``ThreadingHTTPServer`` on 127.0.0.1 serves both platforms (the connectors' base URLs are
settings, so both can point at it) plus a small inspection API under ``/_sandbox/``. What a
publish gets back depends only on the account it targets (page id or author URN): an explicit
mapping passed to the constructor, else a keyword contained in the account id (``ratelimit``,
``flaky``, ``expired``, ``permanent``/``duplicate``, ``forbidden``, ``slow``, ``hang``, ``down``),
else success. See ``payloads.py`` for the exact answers. ``start_outage(seconds)`` (or
``POST /_sandbox/outage`` with ``{"seconds": 120}``) takes both platforms down for a while:
500s, HTML error pages, resets and timeouts in turn, then they recover.

Tokens are never stored or echoed: request records only say whether one was present.

OAuth (the authorization code flows of DESIGN.md, "Connecting accounts"): Facebook's dialog
``GET /{version}/dialog/oauth`` and LinkedIn's ``GET /oauth/v2/authorization`` answer a consent
page whose ``<a id="approve">`` and ``<a id="deny">`` links lead to the ``redirect_uri`` with a
``code`` (or an ``error``) and the ``state``. The code exchanges, ``fb_exchange_token``,
``/me/accounts`` (paged), ``debug_token``, ``/v2/userinfo``, ``/rest/organizationAcls`` (paged)
and ``/rest/organizations/{id}`` know the codes and tokens the sandbox issued (oauth.py keeps
their SHA-256 digests, never their values): a used, expired or made-up code fails as on the
platform. Tokens it did not issue get the answers they always got. The user's pages, the
LinkedIn member and their organizations are constructor arguments.

For tests of the failures around those flows:

- The token endpoints (Facebook's ``/oauth/access_token`` and LinkedIn's
  ``/oauth/v2/accessToken``, every grant) have a mode: ``"ok"``; ``"html500"``, a 500
  ``text/html`` page ``<html><body>Bad Gateway</body></html>``; ``"down"``, the connection is
  dropped unanswered. Give it as ``token_endpoint=`` to the constructor, to
  ``set_token_endpoint()``, or over HTTP: ``POST /_sandbox/oauth-behaviour`` with the JSON
  ``{"token_endpoint": "html500"}``.
- ``clock`` (a ``time.time`` stand-in) ages codes (10 minutes) and tokens.
- ``GET /_sandbox/oauth`` answers ``{"codes_issued", "codes_used", "tokens_issued"}``: counts
  only (tokens: user, page, member access and refresh tokens). ``reset()`` leaves them, and the
  tokens issued keep working, as on a platform.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import secrets
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import Message
from types import TracebackType
from typing import Any
from urllib.parse import urlencode, urlsplit

from omnipost_tui.sandbox import payloads
from omnipost_tui.sandbox.http import Incoming, LoopbackServer
from omnipost_tui.sandbox.media import Media, MediaStore, ReceivedImage, parse_multipart
from omnipost_tui.sandbox.oauth import (
    FB_CODE_PREFIX,
    FB_PAGE,
    FB_USER_LONG,
    FB_USER_SHORT,
    FB_USER_TOKEN_PREFIX,
    LI_ACCESS,
    LI_ACCESS_TOKEN_PREFIX,
    LI_CODE_PREFIX,
    LI_REFRESH,
    LI_REFRESH_TOKEN_PREFIX,
    Grants,
    Issued,
    Redeemed,
    split_scopes,
)
from omnipost_tui.sandbox.payloads import (
    DEMO_MEMBER,
    DEMO_ORGANIZATIONS,
    DEMO_PAGES,
    DOWN,
    DUPLICATE,
    EXPIRED,
    FACEBOOK,
    FACEBOOK_USER_ID,
    FB_SCOPES,
    FLAKY,
    FORBIDDEN,
    HANG,
    IMAGEFAILED,
    IMAGEREFUSED,
    IMAGESTUCK,
    LINKEDIN,
    LONG_LIVED_SECONDS,
    LOSTANSWER,
    LOSTREQUEST,
    ORGANIZATION_ACLS_PAGE,
    OUTCOME_ABORTED,
    PAGE_CATEGORY,
    PAGE_FIELDS,
    PAGE_TASKS,
    PAGE_TOKEN_PREFIX,
    PERMANENT,
    RATELIMIT,
    READREFUSED,
    REFRESH_TOKEN_SECONDS,
    SHORT_LIVED_SECONDS,
    SLOW,
    TOKEN_ENDPOINT_DOWN,
    TOKEN_ENDPOINT_HTML500,
    TOKEN_ENDPOINT_OK,
    UPLOADFLAKY,
    Reply,
    behaviour_from_keyword,
    json_reply,
    normalize_behaviour,
    normalize_token_endpoint,
    unescape_little_text,
)

_log = logging.getLogger(__name__)

# How often the serving thread checks for shutdown: bounds how long stop() waits.
_POLL_INTERVAL = 0.05
UGC_SHARE_CONTENT = "com.linkedin.ugc.ShareContent"

FACEBOOK_TOKEN_KINDS = frozenset({FB_USER_SHORT, FB_USER_LONG, FB_PAGE})
FB_CODE_ERRORS = {
    Redeemed.UNKNOWN: payloads.FB_CODE_INVALID,
    Redeemed.USED: payloads.FB_CODE_USED,
    Redeemed.EXPIRED: payloads.FB_CODE_EXPIRED,
    Redeemed.REDIRECT_MISMATCH: payloads.FB_CODE_REDIRECT_MISMATCH,
}
ACCOUNTS_PAGE = 25  # /me/accounts' default limit
MAX_PAGE_SIZE = 100  # the most Graph and LinkedIn hand out at once
# What requests get, in turn, during ``start_outage``.
OUTAGE_KINDS = ("json500", "html502", "reset", "timeout")


@dataclass(frozen=True)
class _Failure:
    reply: Reply | None  # None: the connection is dropped unanswered


ORGANIZATION_ADMIN_SCOPE = "r_organization_admin"


@dataclass(frozen=True)
class ReceivedPost:
    """One publish the sandbox accepted."""

    platform: str
    account: str
    text: str
    link: str | None
    external_post_id: str
    received_at: datetime
    images: tuple[ReceivedImage, ...] = ()  # in the post's order
    # The text as a read of the account's posts shows it (LinkedIn: the commentary as sent,
    # escapes and all); None: ``text``.
    shown_text: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "platform": self.platform,
            "account": self.account,
            "text": self.text,
            "link": self.link,
            "external_post_id": self.external_post_id,
            "received_at": self.received_at.isoformat(),
            "images": [image.as_dict() for image in self.images],
        }


@dataclass
class _Publish:
    """Everything the behaviour logic needs to know about one publish request."""

    platform: str
    account: str | None
    path: str
    received_at: datetime
    token: str
    text: str = ""
    shown_text: str | None = None
    link: str | None = None
    # A malformed request gets this answer (after the token check) instead of a behaviour.
    invalid: Reply | None = None
    # Builds the success answer from the post number: (external post id, reply).
    success: Callable[[int], tuple[str, Reply]] | None = None
    # The post's pictures, made part of it only when it is accepted.
    images: Callable[[], tuple[ReceivedImage, ...]] | None = None


def _dig(data: Any, *keys: str | int) -> Any:
    """``data[k1][k2]…`` or None when any step is missing or of the wrong type."""
    for key in keys:
        if isinstance(key, int):
            if not isinstance(data, list) or len(data) <= key:
                return None
        elif not isinstance(data, dict):
            return None
        data = data[key] if isinstance(key, int) else data.get(key)
    return data


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _bearer(headers: Message, schemes: Sequence[str] = ("bearer",)) -> str:
    value = (headers.get("Authorization") or "").strip()
    scheme, _, credentials = value.partition(" ")
    if scheme.lower() in schemes:
        return credentials.strip()
    return ""


def _with_query(url: str, params: Sequence[tuple[str, str]]) -> str:
    """``url`` with ``params`` added to its query (after ``&`` if it has one); no fragment."""
    base = url.partition("#")[0]
    if "?" not in base:
        base += "?"
    elif not base.endswith(("?", "&")):
        base += "&"
    return base + urlencode(params)


def _is_http_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _state(params: Mapping[str, str]) -> list[tuple[str, str]]:
    """The ``state`` to send back: as given, and only if given."""
    return [("state", params["state"])] if "state" in params else []


def _count(raw: str | None, default: int) -> int:
    """A non-negative integer query parameter; ValueError when it is not one."""
    if raw is None or raw == "":
        return default
    value = int(raw)
    if value < 0:
        raise ValueError(raw)
    return value


def _epoch_or_none(raw: str | None) -> float | None:
    try:
        return float(raw) if raw else None
    except ValueError:
        return None


def _cursor(index: int) -> str:
    return base64.urlsafe_b64encode(str(index).encode()).decode().rstrip("=")


def _cursor_index(cursor: str) -> int:
    """The index a ``_cursor`` stands for; ValueError for anything else."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise ValueError(cursor) from None
    if not text.isdigit():
        raise ValueError(cursor)
    return int(text)


def _attached_media(params: Mapping[str, str]) -> tuple[list[str], str | None]:
    """The photo ids of ``attached_media[0]``, ``[1]``… in index order, or what is wrong."""
    indexed: dict[int, str] = {}
    for key, value in params.items():
        found = re.fullmatch(r"attached_media\[(\d+)\]", key)
        if not found:
            continue
        try:
            data = json.loads(value)
        except ValueError:
            return [], f"{key} is not JSON"
        photo_id = data.get("media_fbid") if isinstance(data, dict) else None
        if not isinstance(photo_id, str | int) or not str(photo_id):
            return [], f"{key} has no media_fbid"
        indexed[int(found.group(1))] = str(photo_id)
    return [indexed[i] for i in sorted(indexed)], None


def _linkedin_pictures(body: Any) -> list[tuple[str, str]]:
    """(image URN, alt text) of ``content.media`` or ``content.multiImage``, in order."""
    single = _dig(body, "content", "media")
    entries = (
        [single] if isinstance(single, dict) else _dig(body, "content", "multiImage", "images")
    )
    if not isinstance(entries, list):
        return []
    return [
        (str(entry.get("id")), str(entry.get("altText") or ""))
        for entry in entries
        if isinstance(entry, dict) and entry.get("id")
    ]


def _vanity_name(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _authorize_problem(client_id: str, redirect_uri: str) -> Reply | None:
    """The 400 page an authorize request gets without an app or a place to send the user."""
    if not client_id:
        return payloads.authorize_refused("Missing client_id: which app asks (its app id)?")
    if not redirect_uri:
        return payloads.authorize_refused("Missing redirect_uri: where to send the user back?")
    if not _is_http_url(redirect_uri):
        return payloads.authorize_refused("redirect_uri must be an absolute http(s) URL.")
    return None


class SandboxServer:
    """Fake Facebook + LinkedIn APIs served from a daemon thread.

    ``behaviours`` maps an account id (page id or author URN, exact match) to a behaviour name
    and wins over keywords found in the id. ``slow`` accounts answer after ``slow_seconds``,
    ``hang`` accounts after ``hang_seconds`` (or never, if the server stops first).
    ``answer_delay_seconds`` holds every other publish that long before it is accepted and
    answered, as a real platform takes its time (a benchmark's 100 ms round trip).

    OAuth: ``facebook_pages`` (id, name) are the pages the Facebook user manages
    (``/me/accounts``; ``()``: the user granted none), ``linkedin_member`` (sub, name) signs in
    to LinkedIn and administers ``linkedin_organizations`` (id, localizedName);
    ``linkedin_refresh_tokens=False`` is an app without programmatic refresh tokens.
    ``token_endpoint`` and ``clock``: see the module docstring.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        behaviours: Mapping[str, str] | None = None,
        slow_seconds: float = 2.0,
        hang_seconds: float = 60.0,
        *,
        facebook_pages: Sequence[tuple[str, str]] | None = None,
        linkedin_member: tuple[str, str] = DEMO_MEMBER,
        linkedin_organizations: Sequence[tuple[str, str]] | None = None,
        linkedin_refresh_tokens: bool = True,
        token_endpoint: str = TOKEN_ENDPOINT_OK,
        clock: Callable[[], float] | None = None,
        image_processing_seconds: float = 0.2,
        list_delay_seconds: float = 0.0,
        answer_delay_seconds: float = 0.0,
    ) -> None:
        self.host = host
        self.answer_delay_seconds = answer_delay_seconds
        # A new post shows up in reads of the account's posts only this long after it arrived
        # (platforms take a moment to list a post).
        self.list_delay_seconds = list_delay_seconds
        self.port = port
        self.slow_seconds = slow_seconds
        self.hang_seconds = hang_seconds
        self._behaviours = {
            account: normalize_behaviour(name) for account, name in (behaviours or {}).items()
        }
        self._facebook_pages = tuple(DEMO_PAGES if facebook_pages is None else facebook_pages)
        self._linkedin_member = linkedin_member
        self._linkedin_organizations = tuple(
            DEMO_ORGANIZATIONS if linkedin_organizations is None else linkedin_organizations
        )
        self.linkedin_refresh_tokens = linkedin_refresh_tokens
        self._token_endpoint = normalize_token_endpoint(token_endpoint)
        self._grants = Grants(clock or time.time)
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._posts: list[ReceivedPost] = []
        self._requests: list[dict[str, Any]] = []
        self._attempts: dict[str, int] = {}
        self._uploads: dict[str, int] = {}  # image uploads per account (``uploadflaky``)
        self._media = MediaStore(image_processing_seconds)
        self._next_post_number = 0
        self._in_flight = 0
        self._stopping = threading.Event()
        self._outage_until = 0.0  # time.monotonic(); see start_outage
        self._outage_answers = 0
        self._httpd: LoopbackServer | None = None
        self._thread: threading.Thread | None = None
        self._url: str | None = None
        self._stopped = False

    # --- lifecycle ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """``http://HOST:PORT`` of the running server (only after ``start()``)."""
        if self._url is None:
            raise RuntimeError("the sandbox server has not been started")
        return self._url

    def start(self) -> SandboxServer:
        """Bind and serve in a daemon thread; returns self. A server starts at most once."""
        with self._lock:
            if self._httpd is not None or self._stopped:
                raise RuntimeError("a SandboxServer can only be started once")
            httpd = LoopbackServer((self.host, self.port), self._respond)
            self._httpd = httpd
        bound_host, bound_port = httpd.server_address[:2]
        self.port = int(bound_port)
        shown = str(bound_host)
        self._url = (
            f"http://[{shown}]:{self.port}" if ":" in shown else f"http://{shown}:{self.port}"
        )
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": _POLL_INTERVAL},
            name=f"omnipost-sandbox-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket. Idempotent; never waits for slow/hung requests."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            httpd, thread = self._httpd, self._thread
        # Wake slow/hang handlers first: they drop their connection instead of answering.
        self._stopping.set()
        if httpd is None:
            return
        if thread is not None:
            httpd.shutdown()  # returns once serve_forever has left its loop (<= poll interval)
        httpd.server_close()  # block_on_close is off: does not join handler threads
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- inspection --------------------------------------------------------------------------

    @property
    def posts(self) -> list[ReceivedPost]:
        """Every accepted publish, oldest first (a copy)."""
        with self._lock:
            return list(self._posts)

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Every publish request, refused ones included (copies; never contains a token)."""
        with self._lock:
            return [dict(record) for record in self._requests]

    def media(self) -> list[Media]:
        """Every picture uploaded, on both platforms, with its state (never its bytes)."""
        return self._media.all()

    @property
    def in_flight(self) -> int:
        """Publish requests received but not answered yet (e.g. ``slow``/``hang`` ones)."""
        with self._lock:
            return self._in_flight

    def wait_for_posts(self, count: int, timeout: float = 5.0) -> list[ReceivedPost]:
        """Block until at least ``count`` posts were accepted; TimeoutError after ``timeout``."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self._posts) >= count, timeout):
                raise TimeoutError(
                    f"sandbox received {len(self._posts)} post(s), expected {count} "
                    f"within {timeout:g} s"
                )
            return list(self._posts)

    def reset(self) -> None:
        """Forget posts, requests and per-account attempt counts.

        The post number sequence keeps going so external ids stay unique for the server's life.
        """
        with self._changed:
            self._posts.clear()
            self._requests.clear()
            self._attempts.clear()
            self._uploads.clear()
            self._media.reset()
            self._changed.notify_all()

    def start_outage(self, seconds: float) -> None:
        """For ``seconds`` from now the platforms are down: every publish and every read of an
        account's posts gets, in turn, a 500 with a JSON error, a 502 HTML page, the connection
        dropped unanswered (a reset), or no answer until the outage ends (a timeout, for a
        client whose timeout is shorter). Nothing is created meanwhile."""
        with self._lock:
            self._outage_until = time.monotonic() + seconds
            self._outage_answers = 0

    def _outage_answer(self) -> tuple[str, float] | None:
        """During an outage, the next kind of failure and the time it has left; else None."""
        with self._lock:
            left = self._outage_until - time.monotonic()
            if left <= 0:
                return None
            kind = OUTAGE_KINDS[self._outage_answers % len(OUTAGE_KINDS)]
            self._outage_answers += 1
        return kind, left

    def _down(self) -> _Failure | None:
        """What a request gets during an outage; None when the platforms are up."""
        outage = self._outage_answer()
        if outage is None:
            return None
        kind, left = outage
        if kind == "json500":
            return _Failure(payloads.platform_error_json())
        if kind == "html502":
            return _Failure(payloads.html_reply(502, "Bad Gateway", payloads.OUTCOME_SERVER_ERROR))
        if kind == "timeout":
            self._stopping.wait(left)
        return _Failure(None)

    @property
    def token_endpoint(self) -> str:
        """The token endpoints' mode: ``ok``, ``html500`` or ``down``."""
        with self._lock:
            return self._token_endpoint

    def set_token_endpoint(self, mode: str) -> None:
        """Make the token endpoints answer (``ok``), answer a 500 HTML page (``html500``) or drop
        the connection (``down``); ValueError for another mode."""
        name = normalize_token_endpoint(mode)
        with self._lock:
            self._token_endpoint = name

    @property
    def oauth_counts(self) -> dict[str, int]:
        """What ``GET /_sandbox/oauth`` answers: codes issued and used, tokens issued."""
        return self._grants.counts()

    def set_behaviour(self, account: str, name: str) -> None:
        """From now on ``account`` behaves as ``name`` (ValueError for an unknown one)."""
        behaviour = normalize_behaviour(name)
        with self._lock:
            self._behaviours[account] = behaviour

    def behaviour_for(self, account: str) -> str:
        """The behaviour of ``account``: explicit mapping, else keyword in the id, else ok."""
        explicit = self._behaviours.get(account)
        if explicit is not None:
            return explicit
        return behaviour_from_keyword(account)

    def token_is_expired(self, token: str) -> bool:
        """Whether the sandbox treats ``token`` as expired.

        True for tokens it issued that are past their expiry (see ``clock``), for page tokens it
        issued for an ``expired`` page, and for any token containing the word "expired".
        """
        issued = self._grants.lookup(token)
        if issued is not None:
            if issued.expired(self._grants.now()):
                return True
            if issued.page_id is not None and self.behaviour_for(issued.page_id) == EXPIRED:
                return True
        if token.startswith(PAGE_TOKEN_PREFIX):
            page_id = token[len(PAGE_TOKEN_PREFIX) :]
            if self.behaviour_for(page_id) == EXPIRED:
                return True
        return EXPIRED in token.lower()

    # --- routing -----------------------------------------------------------------------------

    def _respond(self, req: Incoming) -> Reply | None:
        """The answer to ``req``, or None to drop the connection without answering."""
        seg = req.segments
        if req.method == "GET":
            if seg == ["_sandbox", "posts"]:
                return json_reply(200, [post.as_dict() for post in self.posts])
            if seg == ["_sandbox", "requests"]:
                return json_reply(200, self.requests)
            if seg == ["_sandbox", "oauth"]:
                return json_reply(200, self.oauth_counts)
            if seg == ["_sandbox", "photos"]:
                return json_reply(200, [media.as_dict() for media in self.media()])
            if len(seg) >= 2 and seg[-2:] == ["dialog", "oauth"]:
                return self._facebook_dialog(req)
            if len(seg) >= 3 and seg[-2:] == ["oauth", "access_token"]:
                return self._token_endpoint_answer(self._facebook_exchange, req)
            if len(seg) >= 2 and seg[-1] == "debug_token":
                return self._facebook_debug_token(req)
            if len(seg) >= 3 and seg[-2:] == ["me", "accounts"]:
                return self._facebook_accounts(req)
            if seg[-3:] == ["oauth", "v2", "authorization"]:
                return self._linkedin_authorize(req)
            if seg[-2:] == ["v2", "userinfo"]:
                return self._linkedin_userinfo(req)
            if seg[-2:] == ["rest", "organizationAcls"]:
                return self._linkedin_organization_acls(req)
            if len(seg) >= 3 and seg[-3:-1] == ["rest", "organizations"]:
                return self._linkedin_organization(req, seg[-1])
            if len(seg) >= 3 and seg[-3:-1] == ["rest", "images"]:
                return self._linkedin_image(req, seg[-1])
            try:
                if seg[-2:] == ["rest", "posts"] and req.query.get("q") == "author":
                    return self._linkedin_list_posts(req)
                if len(seg) == 3 and seg[0].startswith("v") and seg[2] in ("posts", "feed"):
                    return self._facebook_list_posts(req, seg[1])
            except ValueError:
                return json_reply(400, {"message": "invalid paging parameter"})
            if len(seg) == 2 and seg[0].startswith("v"):
                return self._facebook_photo(req, seg[1])
        elif req.method == "PUT":
            if len(seg) == 3 and seg[:2] == ["_upload", "linkedin"]:
                return self._linkedin_upload(req, seg[2])
        elif req.method == "DELETE":
            if len(seg) == 2 and seg[0].startswith("v"):
                return self._facebook_delete_photo(req, seg[1])
        elif req.method == "POST":
            if seg == ["_sandbox", "reset"]:
                self.reset()
                return json_reply(200, {"reset": True})
            if seg == ["_sandbox", "oauth-behaviour"]:
                return self._set_oauth_behaviour(req)
            if seg == ["_sandbox", "outage"]:
                return self._set_outage(req)
            if len(seg) >= 3 and seg[-2:] == ["oauth", "access_token"]:
                return self._token_endpoint_answer(self._facebook_exchange, req)
            if seg[-2:] == ["rest", "posts"]:
                return self._publish(self._linkedin_posts(req))
            if seg[-2:] == ["rest", "images"] and req.query.get("action") == "initializeUpload":
                return self._linkedin_initialize_upload(req)
            if len(seg) >= 3 and seg[-1] == "photos":
                return self._facebook_photos(req)
            if seg[-2:] == ["v2", "ugcPosts"]:
                return self._publish(self._linkedin_ugc_posts(req))
            if seg[-3:] == ["oauth", "v2", "accessToken"]:
                return self._token_endpoint_answer(self._linkedin_access_token, req)
            if seg[-3:] == ["oauth", "v2", "introspectToken"]:
                return self._linkedin_introspect(req)
            if len(seg) >= 3 and seg[-1] == "feed":
                return self._publish(self._facebook_feed(req))
        return payloads.not_found(req.path)

    def _token_endpoint_answer(
        self, answer: Callable[[Incoming], Reply], req: Incoming
    ) -> Reply | None:
        mode = self.token_endpoint
        if mode == TOKEN_ENDPOINT_DOWN:
            return None
        if mode == TOKEN_ENDPOINT_HTML500:
            return payloads.bad_gateway_html()
        return answer(req)

    def _set_outage(self, req: Incoming) -> Reply:
        try:
            body = req.json_body()
        except ValueError:
            body = None
        seconds = body.get("seconds") if isinstance(body, dict) else None
        if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds < 0:
            return json_reply(400, {"error": 'expected {"seconds": a number >= 0}'})
        self.start_outage(float(seconds))
        return json_reply(200, {"outage_seconds": seconds})

    def _set_oauth_behaviour(self, req: Incoming) -> Reply:
        try:
            body = req.json_body()
        except ValueError:
            body = None
        mode = body.get("token_endpoint") if isinstance(body, dict) else None
        if not isinstance(mode, str):
            return json_reply(
                400, {"error": 'expected {"token_endpoint": "ok" | "html500" | "down"}'}
            )
        try:
            self.set_token_endpoint(mode)
        except ValueError as exc:
            return json_reply(400, {"error": str(exc)})
        return json_reply(200, {"token_endpoint": self.token_endpoint})

    # --- Facebook ----------------------------------------------------------------------------

    @staticmethod
    def _facebook_token(req: Incoming, params: Mapping[str, str]) -> str:
        return params.get("access_token") or _bearer(req.headers, ("bearer", "oauth"))

    def _facebook_feed(self, req: Incoming) -> _Publish:
        page_id = req.segments[-2]
        invalid: Reply | None = None
        try:
            params = req.params()
        except ValueError:
            params = dict(req.query)
            invalid = payloads.facebook_bad_request("Invalid JSON body")
        message = params.get("message", "")
        link = params.get("link") or None
        photo_ids, problem = _attached_media(params)
        if invalid is None and problem is None and photo_ids:
            found = self._media.attach_check(page_id, photo_ids)
            problem = found if isinstance(found, str) else None
        if invalid is None and problem is not None:
            invalid = payloads.facebook_bad_request(problem)
        if invalid is None and not message and not link and not photo_ids:
            invalid = payloads.facebook_bad_request("Missing message or attachment")

        def success(number: int) -> tuple[str, Reply]:
            post_id = f"{page_id}_{number}"
            return post_id, json_reply(200, {"id": post_id})

        def images() -> tuple[ReceivedImage, ...]:
            attached = self._media.attach(page_id, photo_ids)
            return tuple(m.received() for m in attached) if isinstance(attached, list) else ()

        return _Publish(
            platform=FACEBOOK,
            account=page_id,
            path=req.path,
            received_at=req.received_at,
            token=self._facebook_token(req, params),
            text=message,
            link=link,
            invalid=invalid,
            success=success,
            images=images if photo_ids else None,
        )

    def _facebook_photos(self, req: Incoming) -> Reply | None:
        """``POST /{page}/photos``: a photo post, or (``published=false``) a photo staged for
        ``attached_media``, which makes nothing public."""
        page_id = req.segments[-2]
        try:
            form = parse_multipart(req.headers.get("Content-Type") or "", req.body)
        except ValueError:
            form = {}
        fields = {**req.query, **{name: part.value for name, part in form.items()}}
        token = self._facebook_token(req, fields)
        source = form.get("source")
        alt = fields.get("alt_text_custom", "")
        published = fields.get("published", "true").lower() != "false"
        refusal = self._upload_refusal(FACEBOOK, page_id, token, "photo")
        if refusal is None and (source is None or not source.data):
            refusal = payloads.facebook_bad_request("Missing source: the photo's file")
        if refusal is not None:
            return self._record_upload(FACEBOOK, page_id, req, refusal, token, None)
        assert source is not None
        if not published:
            media = self._media.add_photo(page_id, source.data, alt, published=False)
            return self._record_upload(
                FACEBOOK, page_id, req, json_reply(200, {"id": media.media_id}), token, media
            )
        photo: list[Media] = []

        def success(number: int) -> tuple[str, Reply]:
            media = self._media.add_photo(page_id, source.data, alt, published=True)
            photo.append(media)
            post_id = f"{page_id}_{number}"
            return post_id, json_reply(200, {"id": media.media_id, "post_id": post_id})

        return self._publish(
            _Publish(
                platform=FACEBOOK,
                account=page_id,
                path=req.path,
                received_at=req.received_at,
                token=token,
                text=fields.get("message", ""),
                success=success,
                images=lambda: tuple(m.received() for m in photo),
            )
        )

    def _facebook_photo(self, req: Incoming, photo_id: str) -> Reply:
        """``GET /{photo id}``: whether the photo is still there."""
        token = _bearer(req.headers, ("bearer", "oauth")) or req.query.get("access_token", "")
        if not token:
            return payloads.token_missing(FACEBOOK)
        media = self._media.photo(photo_id)
        if media is None:
            return payloads.facebook_bad_request(
                f"Unsupported get request. Object with ID '{photo_id}' does not exist"
            )
        return json_reply(200, {"id": media.media_id})

    def _facebook_delete_photo(self, req: Incoming, photo_id: str) -> Reply:
        token = _bearer(req.headers, ("bearer", "oauth")) or req.query.get("access_token", "")
        if not token:
            return payloads.token_missing(FACEBOOK)
        if not self._media.delete_photo(photo_id):
            return payloads.facebook_bad_request(
                f"Unsupported delete request. Object with ID '{photo_id}' does not exist"
            )
        return json_reply(200, {"success": True})

    def _upload_refusal(self, platform: str, account: str, token: str, step: str) -> Reply | None:
        """What an image upload step gets instead of success: no token, an expired one, or the
        account's image behaviour. ``step``: ``photo`` (Facebook's /photos), ``initialize`` or
        ``bytes`` (LinkedIn's initializeUpload, then its PUT). ``imagerefused`` refuses the
        photo or the initialize; ``uploadflaky`` the first call that carries the bytes."""
        if not token:
            return payloads.token_missing(platform)
        if self.token_is_expired(token):
            return payloads.token_expired(platform)
        behaviour = self.behaviour_for(account)
        if behaviour == IMAGEREFUSED and step in ("photo", "initialize"):
            return payloads.image_refused(platform)
        if behaviour == UPLOADFLAKY and step in ("photo", "bytes"):
            with self._lock:
                self._uploads[account] = self._uploads.get(account, 0) + 1
                first = self._uploads[account] == 1
            if first:
                return payloads.unavailable()
        return None

    def _record_upload(
        self,
        platform: str,
        account: str,
        req: Incoming,
        reply: Reply,
        token: str,
        media: Media | None,
    ) -> Reply:
        with self._changed:
            self._requests.append(
                {
                    "platform": platform,
                    "account": account,
                    "path": req.path,
                    "behaviour": self.behaviour_for(account),
                    "outcome": reply.outcome,
                    "status": reply.status,
                    "token_present": bool(token),
                    "media_id": media.media_id if media else None,
                    "sha256": media.sha256 if media else None,
                    "size": media.size if media else None,
                    "received_at": req.received_at.isoformat(),
                }
            )
            self._changed.notify_all()
        return reply

    def _facebook_dialog(self, req: Incoming) -> Reply:
        params = req.query
        client_id = params.get("client_id", "")
        redirect_uri = params.get("redirect_uri", "")
        refused = _authorize_problem(client_id, redirect_uri)
        if refused is not None:
            return refused
        if params.get("response_type", "code") != "code":
            return payloads.authorize_refused("response_type must be code.")
        scopes = split_scopes(params.get("scope", ""))
        code = self._grants.issue_code(FACEBOOK, FB_CODE_PREFIX, client_id, redirect_uri, scopes)
        approve = _with_query(redirect_uri, [("code", code), *_state(params)])
        deny = _with_query(
            redirect_uri,
            [
                ("error", "access_denied"),
                ("error_reason", "user_denied"),
                ("error_description", "Permissions error"),
                *_state(params),
            ],
        )
        return payloads.authorize_page("Facebook", client_id, scopes, approve, deny)

    def _facebook_exchange(self, req: Incoming) -> Reply:
        # GET with a query, as Graph documents it, or POST with a form: Graph takes both.
        try:
            params = req.params()
        except ValueError:
            return payloads.facebook_bad_request("Invalid JSON body")
        grant_type = params.get("grant_type", "")
        if grant_type == "fb_exchange_token":
            return self._facebook_long_lived(params)
        if grant_type in ("", "authorization_code"):
            return self._facebook_code_exchange(params)
        return payloads.facebook_bad_request(
            "Unsupported grant_type: send a code (no grant_type) or grant_type=fb_exchange_token"
        )

    def _facebook_code_exchange(self, params: Mapping[str, str]) -> Reply:
        for name in ("client_id", "redirect_uri", "client_secret", "code"):
            if not params.get(name):
                return payloads.facebook_bad_request(f"Missing {name} parameter")
        client_id = params["client_id"]
        redeemed, code = self._grants.redeem(
            FACEBOOK, params["code"], client_id, params["redirect_uri"]
        )
        if redeemed is not Redeemed.OK or code is None:
            return payloads.facebook_code_refused(FB_CODE_ERRORS[redeemed])
        token, _ = self._grants.issue_token(
            FB_USER_TOKEN_PREFIX, FB_USER_SHORT, client_id, code.scopes, SHORT_LIVED_SECONDS
        )
        return json_reply(
            200, {"access_token": token, "token_type": "bearer", "expires_in": SHORT_LIVED_SECONDS}
        )

    def _facebook_long_lived(self, params: Mapping[str, str]) -> Reply:
        for name in ("client_id", "client_secret", "fb_exchange_token"):
            if not params.get(name):
                return payloads.facebook_bad_request(f"Missing {name} parameter")
        given = params["fb_exchange_token"]
        if self.token_is_expired(given):
            return payloads.facebook_token_expired()
        issued = self._facebook_issued(given)
        if issued is None:
            token = f"sandbox-user-token-{secrets.token_hex(8)}"
        else:
            # A token of the sandbox's user (a page token too): a long-lived user token.
            token, _ = self._grants.issue_token(
                FB_USER_TOKEN_PREFIX,
                FB_USER_LONG,
                issued.client_id,
                issued.scopes,
                LONG_LIVED_SECONDS,
            )
        return json_reply(
            200, {"access_token": token, "token_type": "bearer", "expires_in": LONG_LIVED_SECONDS}
        )

    def _facebook_issued(self, token: str) -> Issued | None:
        issued = self._grants.lookup(token)
        return issued if issued is not None and issued.kind in FACEBOOK_TOKEN_KINDS else None

    def _facebook_debug_token(self, req: Incoming) -> Reply:
        params = req.query
        if not self._facebook_token(req, params):
            return payloads.facebook_token_missing()
        input_token = params.get("input_token", "")
        if not input_token:
            return payloads.facebook_bad_request("Missing input_token parameter")
        valid = not self.token_is_expired(input_token)
        now = int(self._grants.now())
        issued = self._facebook_issued(input_token)
        if issued is None:
            expires_at = now + LONG_LIVED_SECONDS if valid else now - 86_400
            return json_reply(
                200,
                {"data": {"is_valid": valid, "expires_at": expires_at, "scopes": list(FB_SCOPES)}},
            )
        data: dict[str, Any] = {
            "app_id": issued.client_id,
            "type": "PAGE" if issued.page_id is not None else "USER",
            # 0: never expires (a page token got from a long-lived user token).
            "expires_at": int(issued.expires_at) if valid or issued.expires_at else now - 86_400,
            "is_valid": valid,
            "scopes": list(issued.scopes),
            "user_id": FACEBOOK_USER_ID,
        }
        if issued.page_id is not None:
            data["profile_id"] = issued.page_id
        return json_reply(200, {"data": data})

    def _facebook_accounts(self, req: Incoming) -> Reply:
        params = req.query
        token = self._facebook_token(req, params)
        if not token:
            return payloads.facebook_token_missing()
        if self.token_is_expired(token):
            return payloads.facebook_token_expired()
        try:
            limit = min(_count(params.get("limit"), ACCOUNTS_PAGE), MAX_PAGE_SIZE)
            if limit == 0:
                raise ValueError(limit)
        except ValueError:
            return payloads.facebook_bad_request("Param limit must be a positive integer")
        try:
            start = _cursor_index(params["after"]) + 1 if params.get("after") else 0
        except ValueError:
            return payloads.facebook_bad_request("Invalid after cursor")
        requested = {
            field.split("{", 1)[0].strip() for field in params.get("fields", "").split(",")
        } - {""}
        fields = {"id", *(requested or PAGE_FIELDS)}
        issued = self._facebook_issued(token)
        window = self._facebook_pages[start : start + limit]
        data = [self._page_entry(token, issued, page_id, name, fields) for page_id, name in window]
        if not data:
            return json_reply(200, {"data": []})
        last = start + len(data) - 1
        paging: dict[str, Any] = {"cursors": {"before": _cursor(start), "after": _cursor(last)}}
        if last + 1 < len(self._facebook_pages):
            # Graph's next link is complete: token, fields, limit and the cursor.
            query = {k: v for k, v in params.items() if k not in ("after", "before")}
            query.update(access_token=token, limit=str(limit), after=_cursor(last))
            host = req.headers.get("Host") or urlsplit(self.url).netloc
            paging["next"] = f"http://{host}{req.path}?{urlencode(query)}"
        return json_reply(200, {"data": data, "paging": paging})

    def _page_entry(
        self, user_token: str, issued: Issued | None, page_id: str, name: str, fields: set[str]
    ) -> dict[str, Any]:
        entry: dict[str, Any] = {}
        for field in PAGE_FIELDS:
            if field not in fields:
                continue
            if field == "id":
                entry["id"] = page_id
            elif field == "name":
                entry["name"] = name
            elif field == "access_token":
                entry["access_token"] = (
                    f"{PAGE_TOKEN_PREFIX}{page_id}"
                    if issued is None
                    else self._grants.page_token(user_token, issued, page_id)
                )
            elif field == "category":
                entry["category"] = PAGE_CATEGORY
            elif field == "tasks":
                entry["tasks"] = list(PAGE_TASKS)
        return entry

    # --- LinkedIn ----------------------------------------------------------------------------

    def _linkedin_posts(self, req: Incoming) -> _Publish:
        invalid: Reply | None = None
        try:
            body = req.json_body()
        except ValueError:
            body = None
            invalid = payloads.linkedin_bad_request(
                400, "INVALID_JSON", "Request body is not valid JSON"
            )
        author = _str_or_none(_dig(body, "author"))
        commentary = _dig(body, "commentary")
        if invalid is None:
            if not (req.headers.get("LinkedIn-Version") or "").strip():
                invalid = payloads.linkedin_version_missing()
            elif author is None:
                invalid = payloads.linkedin_bad_request(
                    422,
                    "UNPROCESSABLE_ENTITY",
                    "ERROR :: /author :: field is required but not found and has no default value",
                )

        pictures = _linkedin_pictures(body)
        found: list[Media] = []
        if invalid is None and author is not None and pictures:
            usable = self._media.use_images(author, [urn for urn, _ in pictures])
            if isinstance(usable, str):
                invalid = payloads.linkedin_bad_request(400, "BAD_REQUEST", usable)
            else:
                found = usable

        def success(number: int) -> tuple[str, Reply]:
            urn = f"urn:li:share:{number}"
            return urn, Reply(201, b"", None, (("x-restli-id", urn),))

        def images() -> tuple[ReceivedImage, ...]:
            return tuple(m.received(alt) for m, (_, alt) in zip(found, pictures, strict=True))

        return _Publish(
            platform=LINKEDIN,
            account=author,
            path=req.path,
            received_at=req.received_at,
            token=_bearer(req.headers),
            text=unescape_little_text(commentary if isinstance(commentary, str) else ""),
            shown_text=commentary if isinstance(commentary, str) else "",
            link=_str_or_none(_dig(body, "content", "article", "source")),
            invalid=invalid,
            success=success,
            images=images if found else None,
        )

    # --- reading an account's posts back -------------------------------------------------------

    def listed_posts(self, platform: str, account: str) -> list[ReceivedPost]:
        """The account's posts a read shows now, newest first: those older than the listing
        delay."""
        shown_before = datetime.now(UTC) - timedelta(seconds=self.list_delay_seconds)
        with self._lock:
            posts = [
                post
                for post in self._posts
                if post.platform == platform
                and post.account == account
                and post.received_at <= shown_before
            ]
        return sorted(posts, key=lambda post: post.received_at, reverse=True)

    def _read_refusal(self, platform: str, account: str, token: str) -> Reply | None:
        if not token:
            return payloads.token_missing(platform)
        down = self._down()
        if down is not None:
            # A read answers: dropped or timed out, it is told as a 500 page.
            return down.reply or payloads.server_error()
        if self.token_is_expired(token) or self.behaviour_for(account) == EXPIRED:
            return payloads.token_expired(platform)
        if self.behaviour_for(account) == READREFUSED:
            if platform == FACEBOOK:
                return payloads.facebook_read_forbidden()
            return payloads.linkedin_read_forbidden()
        return None

    def _facebook_list_posts(self, req: Incoming, page_id: str) -> Reply:
        """``GET /{page}/posts`` (or ``/feed``): ``since`` (epoch seconds), ``limit``,
        ``after``; ``{"data": [{"id", "message", "created_time"}], "paging"}``."""
        params = dict(req.query)
        refusal = self._read_refusal(FACEBOOK, page_id, self._facebook_token(req, params))
        if refusal is not None:
            return refusal
        since = _epoch_or_none(params.get("since"))
        posts = [
            post
            for post in self.listed_posts(FACEBOOK, page_id)
            if since is None or post.received_at.timestamp() >= since
        ]
        limit = min(_count(params.get("limit"), 25), MAX_PAGE_SIZE)
        start = _cursor_index(params["after"]) if params.get("after") else 0
        chunk = posts[start : start + limit]
        data = [
            {
                "id": post.external_post_id,
                "message": post.shown_text if post.shown_text is not None else post.text,
                "created_time": post.received_at.strftime("%Y-%m-%dT%H:%M:%S+0000"),
            }
            for post in chunk
        ]
        paging: dict[str, Any] = {}
        if start + limit < len(posts):
            query = [(k, v) for k, v in params.items() if k not in ("after", "access_token")]
            query.append(("after", _cursor(start + limit)))
            paging["next"] = _with_query(f"{self.url}{req.path.split('?', 1)[0]}", query)
        return json_reply(200, {"data": data, "paging": paging})

    def _linkedin_list_posts(self, req: Incoming) -> Reply:
        """``GET /rest/posts?q=author&author=URN&start&count``, newest first."""
        params = dict(req.query)
        author = params.get("author", "")
        refusal = self._read_refusal(LINKEDIN, author, _bearer(req.headers))
        if refusal is not None:
            return refusal
        if not (req.headers.get("LinkedIn-Version") or "").strip():
            return payloads.linkedin_version_missing()
        posts = self.listed_posts(LINKEDIN, author)
        start = max(_count(params.get("start"), 0), 0) if params.get("start") else 0
        count = min(_count(params.get("count"), 10), MAX_PAGE_SIZE)
        elements = [
            {
                "id": post.external_post_id,
                "author": post.account,
                "commentary": post.shown_text if post.shown_text is not None else post.text,
                "createdAt": int(post.received_at.timestamp() * 1000),
                "lifecycleState": "PUBLISHED",
                "visibility": "PUBLIC",
            }
            for post in posts[start : start + count]
        ]
        return json_reply(
            200,
            {"elements": elements, "paging": {"start": start, "count": count, "total": len(posts)}},
        )

    def _linkedin_initialize_upload(self, req: Incoming) -> Reply:
        try:
            body = req.json_body()
        except ValueError:
            body = None
        owner = _str_or_none(_dig(body, "initializeUploadRequest", "owner"))
        token = _bearer(req.headers)
        refusal = self._upload_refusal(LINKEDIN, owner or "", token, "initialize")
        if refusal is None and owner is None:
            refusal = payloads.linkedin_bad_request(
                422, "UNPROCESSABLE_ENTITY", "initializeUploadRequest.owner is required"
            )
        if refusal is not None:
            return self._record_upload(LINKEDIN, owner or "", req, refusal, token, None)
        assert owner is not None
        behaviour = self.behaviour_for(owner)
        media = self._media.init_image(
            owner, stuck=behaviour == IMAGESTUCK, fails=behaviour == IMAGEFAILED
        )
        image_id = media.media_id.rsplit(":", 1)[-1]
        reply = json_reply(
            200,
            {
                "value": {
                    "uploadUrlExpiresAt": int((time.time() + 3600) * 1000),
                    "uploadUrl": f"{self.url}/_upload/linkedin/{image_id}?sig=sandbox",
                    "image": media.media_id,
                }
            },
        )
        return self._record_upload(LINKEDIN, owner, req, reply, token, media)

    def _linkedin_upload(self, req: Incoming, image_id: str) -> Reply:
        media = self._media.image(f"urn:li:image:{image_id}")
        if media is None:
            return payloads.not_found(req.path)
        token = _bearer(req.headers)
        refusal = self._upload_refusal(LINKEDIN, media.account, token, "bytes")
        if refusal is not None:
            return self._record_upload(LINKEDIN, media.account, req, refusal, token, None)
        stored = self._media.upload_image(image_id, req.body)
        return self._record_upload(LINKEDIN, media.account, req, Reply(201), token, stored)

    def _linkedin_image(self, req: Incoming, urn: str) -> Reply:
        if not _bearer(req.headers):
            return payloads.token_missing(LINKEDIN)
        media = self._media.image(urn)
        if media is None:
            return payloads.linkedin_bad_request(404, "NOT_FOUND", f"image {urn} not found")
        status = {
            "waiting_upload": "WAITING_UPLOAD",
            "processing": "PROCESSING",
            "available": "AVAILABLE",
            "failed": "PROCESSING_FAILED",
        }[media.state]
        return json_reply(200, {"id": media.media_id, "status": status, "owner": media.account})

    def _linkedin_ugc_posts(self, req: Incoming) -> _Publish:
        invalid: Reply | None = None
        try:
            body = req.json_body()
        except ValueError:
            body = None
            invalid = payloads.linkedin_bad_request(
                400, "INVALID_JSON", "Request body is not valid JSON"
            )
        author = _str_or_none(_dig(body, "author"))
        share = _dig(body, "specificContent", UGC_SHARE_CONTENT)
        text = _dig(share, "shareCommentary", "text")
        if invalid is None and author is None:
            invalid = payloads.linkedin_bad_request(
                422,
                "UNPROCESSABLE_ENTITY",
                "ERROR :: /author :: field is required but not found and has no default value",
            )

        def success(number: int) -> tuple[str, Reply]:
            urn = f"urn:li:share:{number}"
            return urn, json_reply(201, {"id": urn}, headers=(("x-restli-id", urn),))

        return _Publish(
            platform=LINKEDIN,
            account=author,
            path=req.path,
            received_at=req.received_at,
            token=_bearer(req.headers),
            text=text if isinstance(text, str) else "",
            link=_str_or_none(_dig(share, "media", 0, "originalUrl")),
            invalid=invalid,
            success=success,
        )

    def _linkedin_authorize(self, req: Incoming) -> Reply:
        params = req.query
        client_id = params.get("client_id", "")
        redirect_uri = params.get("redirect_uri", "")
        refused = _authorize_problem(client_id, redirect_uri)
        if refused is not None:
            return refused
        if params.get("response_type") != "code":
            return payloads.authorize_refused("response_type must be code.")
        scopes = split_scopes(params.get("scope", ""))
        code = self._grants.issue_code(LINKEDIN, LI_CODE_PREFIX, client_id, redirect_uri, scopes)
        approve = _with_query(redirect_uri, [("code", code), *_state(params)])
        deny = _with_query(
            redirect_uri,
            [
                ("error", "user_cancelled_authorize"),
                ("error_description", "The user cancelled the authorization"),
                *_state(params),
            ],
        )
        return payloads.authorize_page("LinkedIn", client_id, scopes, approve, deny)

    def _linkedin_access_token(self, req: Incoming) -> Reply:
        try:
            params = req.params()
        except ValueError:
            return payloads.linkedin_oauth_error("invalid_request", "Malformed request body")
        grant_type = params.get("grant_type")
        if grant_type == "authorization_code":
            return self._linkedin_code_exchange(params)
        if grant_type == "refresh_token":
            return self._linkedin_refresh(params)
        return payloads.linkedin_oauth_error(
            "unsupported_grant_type",
            "Only grant_type=authorization_code or grant_type=refresh_token is supported",
        )

    def _linkedin_code_exchange(self, params: Mapping[str, str]) -> Reply:
        if not params.get("client_id"):
            return payloads.linkedin_oauth_error(
                "invalid_request", 'A required parameter "client_id" is missing'
            )
        if not params.get("client_secret"):
            return payloads.linkedin_client_refused()
        for name in ("code", "redirect_uri"):
            if not params.get(name):
                return payloads.linkedin_oauth_error(
                    "invalid_request", f'A required parameter "{name}" is missing'
                )
        client_id = params["client_id"]
        redeemed, code = self._grants.redeem(
            LINKEDIN, params["code"], client_id, params["redirect_uri"]
        )
        if redeemed is not Redeemed.OK or code is None:
            return payloads.linkedin_code_refused()
        token, _ = self._grants.issue_token(
            LI_ACCESS_TOKEN_PREFIX, LI_ACCESS, client_id, code.scopes, LONG_LIVED_SECONDS
        )
        body: dict[str, Any] = {"access_token": token, "expires_in": LONG_LIVED_SECONDS}
        if self.linkedin_refresh_tokens:
            refresh, _ = self._grants.issue_token(
                LI_REFRESH_TOKEN_PREFIX, LI_REFRESH, client_id, code.scopes, REFRESH_TOKEN_SECONDS
            )
            body["refresh_token"] = refresh
            body["refresh_token_expires_in"] = REFRESH_TOKEN_SECONDS
        body["scope"] = ",".join(code.scopes)
        body["token_type"] = "Bearer"
        return json_reply(200, body)

    def _linkedin_refresh(self, params: Mapping[str, str]) -> Reply:
        for name in ("refresh_token", "client_id", "client_secret"):
            if not params.get(name):
                return payloads.linkedin_oauth_error(
                    "invalid_request", f'A required parameter "{name}" is missing'
                )
        refresh_token = params["refresh_token"]
        issued = self._grants.lookup(refresh_token)
        if self.token_is_expired(refresh_token) or (
            issued is not None and issued.kind != LI_REFRESH
        ):
            return payloads.linkedin_oauth_error(
                "invalid_grant",
                "The provided authorization grant or refresh token is invalid, expired or revoked",
            )
        if issued is None:
            return json_reply(
                200,
                {
                    "access_token": f"sandbox-li-token-{secrets.token_hex(8)}",
                    "expires_in": LONG_LIVED_SECONDS,
                    "refresh_token": refresh_token,
                    "refresh_token_expires_in": REFRESH_TOKEN_SECONDS,
                },
            )
        token, _ = self._grants.issue_token(
            LI_ACCESS_TOKEN_PREFIX, LI_ACCESS, issued.client_id, issued.scopes, LONG_LIVED_SECONDS
        )
        # LinkedIn hands the same refresh token back, with what is left of its life.
        left = max(0, int(issued.expires_at - self._grants.now()))
        return json_reply(
            200,
            {
                "access_token": token,
                "expires_in": LONG_LIVED_SECONDS,
                "refresh_token": refresh_token,
                "refresh_token_expires_in": left,
                "scope": ",".join(issued.scopes),
                "token_type": "Bearer",
            },
        )

    def _linkedin_introspect(self, req: Incoming) -> Reply:
        # A token the sandbox did not issue always has a full 60 days left.
        try:
            params = req.params()
        except ValueError:
            return payloads.linkedin_oauth_error("invalid_request", "Malformed request body")
        for name in ("client_id", "client_secret", "token"):
            if not params.get(name):
                return payloads.linkedin_oauth_error(
                    "invalid_request", f'A required parameter "{name}" is missing'
                )
        now = int(self._grants.now())
        issued = self._grants.lookup(params["token"])
        if issued is not None and issued.kind not in (LI_ACCESS, LI_REFRESH):
            issued = None
        if self.token_is_expired(params["token"]):
            expired_at = int(issued.expires_at) if issued and issued.expires_at else now - 86_400
            return json_reply(200, {"active": False, "status": "expired", "expires_at": expired_at})
        return json_reply(
            200,
            {
                "active": True,
                "client_id": issued.client_id if issued else params["client_id"],
                "authorized_at": now,
                "created_at": now,
                "status": "active",
                "expires_at": int(issued.expires_at) if issued else now + LONG_LIVED_SECONDS,
                "scope": ",".join(issued.scopes if issued else payloads.LI_SCOPES),
                "auth_type": "3L",
            },
        )

    def _linkedin_caller(self, req: Incoming, *, rest: bool = False) -> Issued | Reply:
        """What the sandbox issued the member access token of a LinkedIn API call as, or the
        answer the call gets instead (401; 400 for a ``/rest`` call without LinkedIn-Version)."""
        token = _bearer(req.headers)
        issued = self._grants.lookup(token)
        if issued is None or issued.kind != LI_ACCESS:
            if token and EXPIRED in token.lower():
                return payloads.linkedin_token_expired()
            return payloads.linkedin_token_invalid()
        if self.token_is_expired(token):
            return payloads.linkedin_token_expired()
        if rest and not (req.headers.get("LinkedIn-Version") or "").strip():
            return payloads.linkedin_version_missing()
        return issued

    def _linkedin_userinfo(self, req: Incoming) -> Reply:
        issued = self._linkedin_caller(req)
        if isinstance(issued, Reply):
            return issued
        if "openid" not in issued.scopes:
            return payloads.linkedin_userinfo_denied()
        sub, name = self._linkedin_member
        given, _, family = name.partition(" ")
        body: dict[str, Any] = {
            "sub": sub,
            "email_verified": True,
            "name": name,
            "locale": {"country": "US", "language": "en"},
            "given_name": given,
            "family_name": family,
        }
        if "email" in issued.scopes:
            body["email"] = f"{sub}@sandbox.invalid"
        return json_reply(200, body)

    def _linkedin_organization_acls(self, req: Incoming) -> Reply:
        issued = self._linkedin_caller(req, rest=True)
        if isinstance(issued, Reply):
            return issued
        if ORGANIZATION_ADMIN_SCOPE not in issued.scopes:
            return payloads.linkedin_acls_denied()
        params = req.query
        if params.get("q") != "roleAssignee":
            return payloads.linkedin_bad_request(
                400, "ILLEGAL_ARGUMENT", "Query parameter q must be roleAssignee"
            )
        try:
            start = _count(params.get("start"), 0)
            count = min(_count(params.get("count"), ORGANIZATION_ACLS_PAGE), MAX_PAGE_SIZE)
        except ValueError:
            return payloads.linkedin_bad_request(
                400, "ILLEGAL_ARGUMENT", "start and count must be non-negative integers"
            )
        person = f"urn:li:person:{self._linkedin_member[0]}"
        # The member administers every organization, and has no other role.
        role = params.get("role", "ADMINISTRATOR")
        matches = role == "ADMINISTRATOR" and params.get("state", "APPROVED") == "APPROVED"
        acls = [
            {
                "organization": f"urn:li:organization:{organization_id}",
                "role": "ADMINISTRATOR",
                "state": "APPROVED",
                "roleAssignee": person,
            }
            for organization_id, _ in (self._linkedin_organizations if matches else ())
        ]
        return json_reply(
            200,
            {
                "elements": acls[start : start + count],
                "paging": {"start": start, "count": count, "total": len(acls)},
            },
        )

    def _linkedin_organization(self, req: Incoming, organization_id: str) -> Reply:
        issued = self._linkedin_caller(req, rest=True)
        if isinstance(issued, Reply):
            return issued
        names = dict(self._linkedin_organizations)
        if organization_id not in names:
            return payloads.linkedin_organization_not_found(organization_id)
        name = names[organization_id]
        return json_reply(
            200,
            {
                "id": int(organization_id) if organization_id.isdigit() else organization_id,
                "localizedName": name,
                "vanityName": _vanity_name(name),
            },
        )

    # --- publishing ----------------------------------------------------------------------------

    def _publish(self, publish: _Publish) -> Reply | None:
        with self._lock:
            self._in_flight += 1
        try:
            return self._decide(publish)
        finally:
            with self._lock:
                self._in_flight -= 1

    def _decide(self, publish: _Publish) -> Reply | None:
        platform = publish.platform
        if not publish.token:
            return self._record(publish, payloads.token_missing(platform))
        if publish.invalid is not None or publish.account is None:
            invalid = publish.invalid or payloads.not_found(publish.path)
            return self._record(publish, invalid)
        down = self._down()
        if down is not None:
            return self._record(publish, down.reply)
        account = publish.account
        behaviour = self.behaviour_for(account)
        if self.token_is_expired(publish.token):
            behaviour = EXPIRED
        with self._lock:
            attempt = self._attempts.get(account, 0) + 1
            self._attempts[account] = attempt

        if behaviour == LOSTREQUEST and attempt == 1:
            return self._record(publish, None)  # dropped before anything was created
        if behaviour == RATELIMIT and attempt == 1:
            return self._record(publish, payloads.rate_limited(platform, account))
        if behaviour == FLAKY and attempt == 1:
            return self._record(publish, payloads.unavailable())
        if behaviour == EXPIRED:
            return self._record(publish, payloads.token_expired(platform))
        if behaviour in (PERMANENT, DUPLICATE):
            return self._record(publish, payloads.duplicate(platform))
        if behaviour == FORBIDDEN:
            return self._record(publish, payloads.forbidden(platform))
        if behaviour == DOWN:
            return self._record(publish, payloads.server_error())

        delay = {SLOW: self.slow_seconds, HANG: self.hang_seconds}.get(
            behaviour, self.answer_delay_seconds
        )
        if delay > 0 and self._stopping.wait(delay):
            # The server is stopping: drop the connection, as a dying platform would.
            self._record(publish, None)
            return None
        reply = self._accept(publish)
        # The post exists; the answer never reaches the caller.
        return None if behaviour == LOSTANSWER else reply

    def _accept(self, publish: _Publish) -> Reply:
        assert publish.success is not None and publish.account is not None
        with self._changed:
            self._next_post_number += 1
            external_id, reply = publish.success(self._next_post_number)
            self._posts.append(
                ReceivedPost(
                    platform=publish.platform,
                    account=publish.account,
                    text=publish.text,
                    link=publish.link,
                    external_post_id=external_id,
                    received_at=publish.received_at,
                    images=publish.images() if publish.images is not None else (),
                    shown_text=publish.shown_text,
                )
            )
            self._requests.append(self._request_record(publish, reply, external_id))
            self._changed.notify_all()
        return reply

    def _record(self, publish: _Publish, reply: Reply | None) -> Reply | None:
        with self._changed:
            self._requests.append(self._request_record(publish, reply, None))
            self._changed.notify_all()
        return reply

    def _request_record(
        self, publish: _Publish, reply: Reply | None, external_id: str | None
    ) -> dict[str, Any]:
        # Never the token itself: only whether there was one.
        return {
            "platform": publish.platform,
            "account": publish.account,
            "path": publish.path,
            "behaviour": None if publish.account is None else self.behaviour_for(publish.account),
            "outcome": OUTCOME_ABORTED if reply is None else reply.outcome,
            "status": None if reply is None else reply.status,
            "token_present": bool(publish.token),
            "external_post_id": external_id,
            "received_at": publish.received_at.isoformat(),
        }
