"""Keep secrets out of everything we store or print.

Two layers: known secret values (the token being used) are replaced wherever they appear, and
values under secret-looking keys are masked even when we do not know the value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

MASK = "[REDACTED]"

SECRET_KEYS = frozenset(
    {
        "access_token",
        "refresh_token",
        "input_token",
        "client_secret",
        "fb_exchange_token",
        "authorization",
        "appsecret_proof",
        "secret_key",
        "password",
        "token",
    }
)

# Query-string or form style "access_token=..." inside free text (URLs, error messages).
_SECRET_PAIR = re.compile(
    r"(?i)\b(" + "|".join(sorted(SECRET_KEYS, key=len, reverse=True)) + r")=([^&\s\"']+)"
)
_SECRET_JSON = re.compile(
    r'(?i)"(' + "|".join(sorted(SECRET_KEYS, key=len, reverse=True)) + r')"\s*:\s*"[^"]*"'
)
_BEARER = re.compile(r"(?i)\b(bearer|oauth)\s+[A-Za-z0-9._~+/=-]{8,}")


def redact_text(text: str | None, secrets: Iterable[str | None] = ()) -> str | None:
    """Return ``text`` with every known secret value and every ``key=value`` secret masked."""
    if text is None:
        return None
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, MASK)
    text = _SECRET_PAIR.sub(lambda m: f"{m.group(1)}={MASK}", text)
    text = _SECRET_JSON.sub(lambda m: f'"{m.group(1)}": "{MASK}"', text)
    return _BEARER.sub(lambda m: f"{m.group(1)} {MASK}", text)


def mask_url_password(url: str) -> str:
    """``scheme://user:secret@host/…`` → ``scheme://user:***@host/…`` (URLs get printed)."""
    url = redact_text(url) or ""  # ?password=… in the query
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    credentials, host = rest.rsplit("@", 1)
    if ":" not in credentials:
        return url  # a user name alone is no secret
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"


def redact_data(value: Any, secrets: Iterable[str | None] = ()) -> Any:
    """Deep-copy JSON-like data with secret keys masked and secret values replaced."""
    secrets = tuple(s for s in secrets if s)
    if isinstance(value, Mapping):
        return {
            k: MASK if str(k).lower() in SECRET_KEYS else redact_data(v, secrets)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact_data(v, secrets) for v in value]
    if isinstance(value, str):
        return redact_text(value, secrets)
    return value


def mask_url_path(url: str) -> str:
    """``https://hc-ping.com/<uuid>?rid=…`` → ``https://hc-ping.com/…``: for URLs whose path or
    query is the credential (a ping URL's UUID, a push token), only where they lead is shown."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return "…"  # not a URL: nothing in it is safe to show
    host = re.split(r"[/?#]", rest, maxsplit=1)[0].rsplit("@", 1)[-1]  # no user:password either
    return f"{scheme}://{host}/…"
