"""A local stand-in for the Facebook Graph API and the LinkedIn API.

One ``ThreadingHTTPServer`` on 127.0.0.1 serves both platforms (the connectors' base URLs are
settings, so both can point at it) plus a small inspection API under ``/_sandbox/``. What a
publish gets back depends only on the account it targets (page id or author URN): an explicit
mapping passed to the constructor, else a keyword contained in the account id (``ratelimit``,
``flaky``, ``expired``, ``permanent``/``duplicate``, ``forbidden``, ``slow``, ``hang``, ``down``),
else success. See ``payloads.py`` for the exact answers.

Tokens are never stored or echoed: request records only say whether one was present.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import Message
from types import TracebackType
from typing import Any

from omnipost_tui.sandbox import payloads
from omnipost_tui.sandbox.http import Incoming, LoopbackServer
from omnipost_tui.sandbox.payloads import (
    DEMO_PAGES,
    DOWN,
    DUPLICATE,
    EXPIRED,
    FACEBOOK,
    FB_SCOPES,
    FLAKY,
    FORBIDDEN,
    HANG,
    LINKEDIN,
    LONG_LIVED_SECONDS,
    OUTCOME_ABORTED,
    PAGE_TOKEN_PREFIX,
    PERMANENT,
    RATELIMIT,
    REFRESH_TOKEN_SECONDS,
    SLOW,
    Reply,
    behaviour_from_keyword,
    json_reply,
    normalize_behaviour,
    unescape_little_text,
)

_log = logging.getLogger(__name__)

# How often the serving thread checks for shutdown: bounds how long stop() waits.
_POLL_INTERVAL = 0.05
UGC_SHARE_CONTENT = "com.linkedin.ugc.ShareContent"


@dataclass(frozen=True)
class ReceivedPost:
    """One publish the sandbox accepted."""

    platform: str
    account: str
    text: str
    link: str | None
    external_post_id: str
    received_at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "platform": self.platform,
            "account": self.account,
            "text": self.text,
            "link": self.link,
            "external_post_id": self.external_post_id,
            "received_at": self.received_at.isoformat(),
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
    link: str | None = None
    # A malformed request gets this answer (after the token check) instead of a behaviour.
    invalid: Reply | None = None
    # Builds the success answer from the post number: (external post id, reply).
    success: Callable[[int], tuple[str, Reply]] | None = None


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


class SandboxServer:
    """Fake Facebook + LinkedIn APIs served from a daemon thread.

    ``behaviours`` maps an account id (page id or author URN, exact match) to a behaviour name
    and wins over keywords found in the id. ``slow`` accounts answer after ``slow_seconds``,
    ``hang`` accounts after ``hang_seconds`` (or never, if the server stops first).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        behaviours: Mapping[str, str] | None = None,
        slow_seconds: float = 2.0,
        hang_seconds: float = 60.0,
    ) -> None:
        self.host = host
        self.port = port
        self.slow_seconds = slow_seconds
        self.hang_seconds = hang_seconds
        self._behaviours = {
            account: normalize_behaviour(name) for account, name in (behaviours or {}).items()
        }
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._posts: list[ReceivedPost] = []
        self._requests: list[dict[str, Any]] = []
        self._attempts: dict[str, int] = {}
        self._next_post_number = 0
        self._in_flight = 0
        self._stopping = threading.Event()
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
            self._changed.notify_all()

    def behaviour_for(self, account: str) -> str:
        """The behaviour of ``account``: explicit mapping, else keyword in the id, else ok."""
        explicit = self._behaviours.get(account)
        if explicit is not None:
            return explicit
        return behaviour_from_keyword(account)

    def token_is_expired(self, token: str) -> bool:
        """Whether the sandbox treats ``token`` as expired.

        True for page tokens it issued for an ``expired`` page, and for any token containing the
        word "expired".
        """
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
            if len(seg) >= 3 and seg[-2:] == ["oauth", "access_token"]:
                return self._facebook_exchange(req)
            if len(seg) >= 2 and seg[-1] == "debug_token":
                return self._facebook_debug_token(req)
            if len(seg) >= 3 and seg[-2:] == ["me", "accounts"]:
                return self._facebook_accounts(req)
        elif req.method == "POST":
            if seg == ["_sandbox", "reset"]:
                self.reset()
                return json_reply(200, {"reset": True})
            if seg[-2:] == ["rest", "posts"]:
                return self._publish(self._linkedin_posts(req))
            if seg[-2:] == ["v2", "ugcPosts"]:
                return self._publish(self._linkedin_ugc_posts(req))
            if seg[-3:] == ["oauth", "v2", "accessToken"]:
                return self._linkedin_refresh(req)
            if seg[-3:] == ["oauth", "v2", "introspectToken"]:
                return self._linkedin_introspect(req)
            if len(seg) >= 3 and seg[-1] == "feed":
                return self._publish(self._facebook_feed(req))
        return payloads.not_found(req.path)

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
        if invalid is None and not message and not link:
            invalid = payloads.facebook_bad_request("Missing message or attachment")

        def success(number: int) -> tuple[str, Reply]:
            post_id = f"{page_id}_{number}"
            return post_id, json_reply(200, {"id": post_id})

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
        )

    def _facebook_exchange(self, req: Incoming) -> Reply:
        params = req.query
        if params.get("grant_type") != "fb_exchange_token":
            return payloads.facebook_bad_request("grant_type must be fb_exchange_token")
        for name in ("client_id", "client_secret", "fb_exchange_token"):
            if not params.get(name):
                return payloads.facebook_bad_request(f"Missing {name} parameter")
        if self.token_is_expired(params["fb_exchange_token"]):
            return payloads.facebook_token_expired()
        return json_reply(
            200,
            {
                "access_token": f"sandbox-user-token-{secrets.token_hex(8)}",
                "token_type": "bearer",
                "expires_in": LONG_LIVED_SECONDS,
            },
        )

    def _facebook_debug_token(self, req: Incoming) -> Reply:
        params = req.query
        if not self._facebook_token(req, params):
            return payloads.facebook_token_missing()
        input_token = params.get("input_token", "")
        if not input_token:
            return payloads.facebook_bad_request("Missing input_token parameter")
        valid = not self.token_is_expired(input_token)
        now = int(time.time())
        expires_at = now + LONG_LIVED_SECONDS if valid else now - 86_400
        return json_reply(
            200,
            {"data": {"is_valid": valid, "expires_at": expires_at, "scopes": list(FB_SCOPES)}},
        )

    def _facebook_accounts(self, req: Incoming) -> Reply:
        token = self._facebook_token(req, req.query)
        if not token:
            return payloads.facebook_token_missing()
        if self.token_is_expired(token):
            return payloads.facebook_token_expired()
        pages = [
            {"id": page_id, "name": name, "access_token": f"{PAGE_TOKEN_PREFIX}{page_id}"}
            for page_id, name in DEMO_PAGES
        ]
        return json_reply(200, {"data": pages})

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

        def success(number: int) -> tuple[str, Reply]:
            urn = f"urn:li:share:{number}"
            return urn, Reply(201, b"", None, (("x-restli-id", urn),))

        return _Publish(
            platform=LINKEDIN,
            account=author,
            path=req.path,
            received_at=req.received_at,
            token=_bearer(req.headers),
            text=unescape_little_text(commentary if isinstance(commentary, str) else ""),
            link=_str_or_none(_dig(body, "content", "article", "source")),
            invalid=invalid,
            success=success,
        )

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

    def _linkedin_refresh(self, req: Incoming) -> Reply:
        try:
            params = req.params()
        except ValueError:
            return payloads.linkedin_oauth_error("invalid_request", "Malformed request body")
        if params.get("grant_type") != "refresh_token":
            return payloads.linkedin_oauth_error(
                "unsupported_grant_type", "Only grant_type=refresh_token is supported"
            )
        for name in ("refresh_token", "client_id", "client_secret"):
            if not params.get(name):
                return payloads.linkedin_oauth_error(
                    "invalid_request", f'A required parameter "{name}" is missing'
                )
        refresh_token = params["refresh_token"]
        if self.token_is_expired(refresh_token):
            return payloads.linkedin_oauth_error(
                "invalid_grant",
                "The provided authorization grant or refresh token is invalid, expired or revoked",
            )
        return json_reply(
            200,
            {
                "access_token": f"sandbox-li-token-{secrets.token_hex(8)}",
                "expires_in": LONG_LIVED_SECONDS,
                "refresh_token": refresh_token,
                "refresh_token_expires_in": REFRESH_TOKEN_SECONDS,
            },
        )

    def _linkedin_introspect(self, req: Incoming) -> Reply:
        # The sandbox remembers no token, so a live one always has a full 60 days left.
        try:
            params = req.params()
        except ValueError:
            return payloads.linkedin_oauth_error("invalid_request", "Malformed request body")
        for name in ("client_id", "client_secret", "token"):
            if not params.get(name):
                return payloads.linkedin_oauth_error(
                    "invalid_request", f'A required parameter "{name}" is missing'
                )
        now = int(time.time())
        if self.token_is_expired(params["token"]):
            return json_reply(
                200, {"active": False, "status": "expired", "expires_at": now - 86_400}
            )
        return json_reply(
            200,
            {
                "active": True,
                "client_id": params["client_id"],
                "authorized_at": now,
                "created_at": now,
                "status": "active",
                "expires_at": now + LONG_LIVED_SECONDS,
                "scope": ",".join(payloads.LI_SCOPES),
                "auth_type": "3L",
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
        account = publish.account
        behaviour = self.behaviour_for(account)
        if self.token_is_expired(publish.token):
            behaviour = EXPIRED
        with self._lock:
            attempt = self._attempts.get(account, 0) + 1
            self._attempts[account] = attempt

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

        delay = {SLOW: self.slow_seconds, HANG: self.hang_seconds}.get(behaviour, 0.0)
        if delay > 0 and self._stopping.wait(delay):
            # The server is stopping: drop the connection, as a dying platform would.
            self._record(publish, None)
            return None
        return self._accept(publish)

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
