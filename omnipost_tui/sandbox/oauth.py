"""What the sandbox remembers of the OAuth flows it served: the authorization codes and the
tokens it issued.

So a used, expired or made-up code fails as the platform would, and a token the sandbox issued
gets the answers that fit it (its scopes, its expiry, its page). Only SHA-256 digests of codes
and tokens are kept, never their values, and ``/_sandbox/oauth`` shows counts only.

Tokens the sandbox did not issue are unknown here; the server answers them as it always did
(any token publishes, see server.py).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum

CODE_TTL_SECONDS = 600  # both platforms: an authorization code lives 10 minutes

# What an issued token is.
FB_USER_SHORT = "facebook-user-short"
FB_USER_LONG = "facebook-user-long"
FB_PAGE = "facebook-page"
LI_ACCESS = "linkedin-access"
LI_REFRESH = "linkedin-refresh"

FB_CODE_PREFIX = "sandbox-fb-code-"
LI_CODE_PREFIX = "sandbox-li-code-"
FB_USER_TOKEN_PREFIX = "sandbox-fb-user-"
ISSUED_PAGE_TOKEN_PREFIX = "sandbox-page-"
LI_ACCESS_TOKEN_PREFIX = "sandbox-li-token-"
LI_REFRESH_TOKEN_PREFIX = "sandbox-li-refresh-"


class Redeemed(Enum):
    """How redeeming an authorization code went."""

    OK = "ok"
    UNKNOWN = "unknown"  # never issued (for this platform and app)
    USED = "used"
    EXPIRED = "expired"
    REDIRECT_MISMATCH = "redirect_mismatch"


@dataclass(frozen=True)
class Code:
    platform: str
    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    expires_at: float


@dataclass(frozen=True)
class Issued:
    """One token the sandbox issued (without the token)."""

    kind: str
    client_id: str
    scopes: tuple[str, ...]
    expires_at: float  # epoch seconds; 0 means it never expires
    page_id: str | None = None

    def expired(self, now: float) -> bool:
        return self.expires_at != 0 and now >= self.expires_at


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def split_scopes(raw: str) -> tuple[str, ...]:
    """Facebook separates scopes with commas, LinkedIn with spaces; either is understood."""
    return tuple(part for part in raw.replace(",", " ").split() if part)


class Grants:
    """The codes and tokens issued so far; safe to use from the server's handler threads."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._codes: dict[str, Code] = {}
        self._used: set[str] = set()
        self._tokens: dict[str, Issued] = {}
        # Page tokens are derived from the user token (HMAC) so they are stable across calls
        # without the sandbox keeping any token value.
        self._key = secrets.token_bytes(32)
        self._codes_issued = 0
        self._codes_used = 0
        self._tokens_issued = 0

    def now(self) -> float:
        return self._clock()

    def issue_code(
        self, platform: str, prefix: str, client_id: str, redirect_uri: str, scopes: Sequence[str]
    ) -> str:
        code = f"{prefix}{secrets.token_hex(16)}"
        record = Code(
            platform, client_id, redirect_uri, tuple(scopes), self.now() + CODE_TTL_SECONDS
        )
        with self._lock:
            self._codes[digest(code)] = record
            self._codes_issued += 1
        return code

    def redeem(
        self, platform: str, code: str, client_id: str, redirect_uri: str
    ) -> tuple[Redeemed, Code | None]:
        """Check ``code`` against what it was issued for; on OK it is used up (single use)."""
        key = digest(code)
        with self._lock:
            record = self._codes.get(key)
            if record is None or record.platform != platform or record.client_id != client_id:
                return Redeemed.UNKNOWN, None
            if key in self._used:
                return Redeemed.USED, record
            if self.now() >= record.expires_at:
                return Redeemed.EXPIRED, record
            if record.redirect_uri != redirect_uri:
                return Redeemed.REDIRECT_MISMATCH, record
            self._used.add(key)
            self._codes_used += 1
            return Redeemed.OK, record

    def issue_token(
        self,
        prefix: str,
        kind: str,
        client_id: str,
        scopes: Sequence[str],
        lifetime: float | None,
    ) -> tuple[str, Issued]:
        """A new random token; ``lifetime`` None: it never expires."""
        token = f"{prefix}{secrets.token_hex(16)}"
        expires_at = 0.0 if lifetime is None else self.now() + lifetime
        record = Issued(kind, client_id, tuple(scopes), expires_at)
        with self._lock:
            self._tokens[digest(token)] = record
            self._tokens_issued += 1
        return token, record

    def page_token(self, user_token: str, user: Issued, page_id: str) -> str:
        """The token of ``page_id`` for the user behind ``user_token``, the same at every call.

        Got from a long-lived user token it never expires; from a short-lived one it expires
        with it (as on Facebook).
        """
        mac = hmac.new(self._key, f"{digest(user_token)}\0{page_id}".encode(), hashlib.sha256)
        token = f"{ISSUED_PAGE_TOKEN_PREFIX}{page_id}-{mac.hexdigest()[:32]}"
        expires_at = 0.0 if user.kind in (FB_USER_LONG, FB_PAGE) else user.expires_at
        key = digest(token)
        with self._lock:
            if key not in self._tokens:
                self._tokens[key] = Issued(
                    FB_PAGE, user.client_id, user.scopes, expires_at, page_id
                )
                self._tokens_issued += 1
        return token

    def lookup(self, token: str) -> Issued | None:
        """What the sandbox issued ``token`` as, or None for a token it did not issue."""
        if not token:
            return None
        key = digest(token)
        with self._lock:
            return self._tokens.get(key)

    def counts(self) -> dict[str, int]:
        with self._lock:
            return {
                "codes_issued": self._codes_issued,
                "codes_used": self._codes_used,
                "tokens_issued": self._tokens_issued,
            }
