"""Connecting an account with OAuth 2 (authorization code): the authorize URL, reading back where
the browser was sent, and the calls that turn a code into the Pages and authors a user may
connect, each with its own token.

authlib builds and reads the OAuth messages (a random ``state``, the authorize URL, the
redirect, the token request). The requests themselves go through ``calls.call`` like every
other token call, which keeps the code, the app secret and the tokens out of every message and
classifies the platforms' answers. (authlib's own HTTP client is built on httpx2 since 1.9 and
deprecated on httpx; we need none of it.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import httpx
from authlib.common.security import generate_token
from authlib.oauth2.rfc6749.parameters import (
    MismatchingStateException,
    MissingCodeException,
    parse_authorization_code_response,
    prepare_grant_uri,
    prepare_token_request,
)

from omnipost_tui.connectors.base import redacted_body
from omnipost_tui.connectors.calls import (
    call,
    describe,
    expires_in,
    facebook_error,
    graph_base,
    json_object,
    required_str,
)
from omnipost_tui.connectors.errors import Permanent, PermissionDenied, PlatformError
from omnipost_tui.connectors.linkedin import RESTLI_PROTOCOL, classify_linkedin_error
from omnipost_tui.connectors.tokens import TokenGrant, linkedin_grant
from omnipost_tui.errors import ValidationError
from omnipost_tui.platforms import FACEBOOK, LABELS

# The organizations a member administers are few; a few pages of them are plenty.
_ORGANIZATIONS_PER_PAGE = 50
_MAX_ORGANIZATION_PAGES = 20
# What each LinkedIn call needs the app (and the consent) to have.
_MEMBER_SCOPES = "the openid and profile scopes (Sign In with LinkedIn using OpenID Connect)"
_ADMIN_SCOPE = "the r_organization_admin scope (Community Management API)"
# What a pasted code may contain (the platforms use URL-safe characters, Facebook adds "#_=_").
_CODE_CHARACTERS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~+/="
)


@dataclass(frozen=True)
class Authorization:
    """One attempt to connect: the URL the user opens, and the ``state`` that the redirect must
    bring back (random, used once)."""

    platform: str
    url: str
    redirect_uri: str
    state: str = field(repr=False)


def authorization(
    platform: str,
    *,
    authorize_url: str,
    client_id: str,
    redirect_uri: str,
    scopes: Sequence[str],
) -> Authorization:
    """The authorize URL for ``platform`` with a fresh ``state``."""
    state = generate_token(32)
    # Facebook separates scopes with commas, LinkedIn with spaces (each as its docs show).
    scope = ",".join(scopes) if platform == FACEBOOK else " ".join(scopes)
    url = prepare_grant_uri(
        authorize_url,
        client_id,
        "code",
        redirect_uri=redirect_uri,
        scope=scope,
        state=state,
    )
    return Authorization(platform, url, redirect_uri, state)


def facebook_authorize_url(oauth_url: str, version: str) -> str:
    return f"{graph_base(oauth_url, version)}/dialog/oauth"


def linkedin_authorize_url(oauth_url: str) -> str:
    return f"{oauth_url.rstrip('/')}/oauth/v2/authorization"


def code_from_redirect(pasted: str, attempt: Authorization) -> str:
    """The code in what the user pasted: the whole address the browser was sent to (its
    ``state`` must be this attempt's), or the code alone. ValidationError says what is wrong,
    without repeating what was pasted (it is a secret until used)."""
    label = LABELS[attempt.platform]
    text = (pasted or "").strip()
    if not text:
        raise ValidationError(
            "nothing was pasted; paste the whole address your browser was sent to after you "
            "approved (or just its code)"
        )
    if "=" not in text or not any(key in text for key in ("code=", "error=", "state=")):
        return _bare_code(text)
    # Whatever the browser's address bar gave: with or without scheme and host, or the query.
    query = (text.split("?", 1)[1] if "?" in text else text).split("#", 1)[0]
    params = dict(parse_qsl(query))
    error = params.get("error")
    if error:
        if params.get("state") not in (None, attempt.state):
            raise _wrong_attempt()
        reason = params.get("error_description") or params.get("error_reason") or error
        if error in ("access_denied", "user_cancelled_authorize", "user_cancelled_login"):
            raise ValidationError(
                f"{label} says the connection was not approved ({_plain(reason)}); nothing was "
                "connected. Try again and choose Approve (or Continue)"
            )
        raise ValidationError(
            f"{label} did not give a code ({_plain(error)}: {_plain(reason)}); nothing was "
            "connected"
        )
    try:
        found = parse_authorization_code_response(
            f"https://redirect.invalid/?{query}", state=attempt.state
        )
    except MismatchingStateException:
        raise _wrong_attempt() from None
    except MissingCodeException:
        raise ValidationError(
            "the address you pasted has no code in it; paste the address the browser was sent "
            "to after you approved"
        ) from None
    return _bare_code(str(found["code"]))


def _bare_code(text: str) -> str:
    code = text.removesuffix("#_=_")  # Facebook appends it to every redirect
    if not code or not set(code) <= _CODE_CHARACTERS:
        raise ValidationError(
            "that does not look like the address your browser was sent to, nor like a code; "
            "paste the whole address from the browser's address bar"
        )
    return code


def _wrong_attempt() -> ValidationError:
    return ValidationError(
        "the address you pasted belongs to another connection attempt (its state does not "
        "match this one); open the link printed above and paste the address it sends you to"
    )


def _plain(text: str) -> str:
    """A platform's few words, short and on one line."""
    return " ".join(str(text).split())[:200]


# --- Facebook ---------------------------------------------------------------------------------


def facebook_exchange_code(
    graph_url: str,
    version: str,
    app_id: str,
    app_secret: str,
    redirect_uri: str,
    code: str,
    timeout: float,
    client: httpx.Client | None = None,
) -> TokenGrant:
    """A short-lived user token for ``code`` (``GET /oauth/access_token``)."""
    secrets = (code, app_secret)
    body = prepare_token_request(
        "authorization_code",
        redirect_uri=redirect_uri,
        code=code,
        client_id=app_id,
        client_secret=app_secret,
    )
    url = f"{graph_base(graph_url, version)}/oauth/access_token"
    response = call(client, timeout, "Facebook", "GET", url, secrets, params=parse_qsl(body))
    if not response.is_success:
        raise facebook_error(response, secrets, token_means_expired=False)
    data = json_object(response, "Facebook", secrets)
    token = required_str(data, "access_token", "Facebook", response, secrets)
    return TokenGrant(access_token=token, expires_at=expires_in(data.get("expires_in")))


# --- LinkedIn ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class LinkedInAuthor:
    """A member or an organization that can be the author of a post."""

    urn: str
    name: str


def linkedin_exchange_code(
    oauth_url: str,
    client_id: str,
    client_secret: str,
    redirect_uri: str,
    code: str,
    timeout: float,
    client: httpx.Client | None = None,
) -> TokenGrant:
    """An access token (and a refresh token, where the app has them) for ``code``."""
    secrets = (code, client_secret)
    body = prepare_token_request(
        "authorization_code",
        redirect_uri=redirect_uri,
        code=code,
        client_id=client_id,
        client_secret=client_secret,
    )
    url = f"{oauth_url.rstrip('/')}/oauth/v2/accessToken"
    response = call(
        client,
        timeout,
        "LinkedIn",
        "POST",
        url,
        secrets,
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    return linkedin_grant(response, secrets, "authorization code")


def linkedin_member(
    api_url: str, token: str, timeout: float, client: httpx.Client | None = None
) -> LinkedInAuthor:
    """The member the token belongs to (``GET /v2/userinfo``, scope ``openid profile``)."""
    url = f"{api_url.rstrip('/')}/v2/userinfo"
    data = _linkedin_get(client, timeout, url, token, {}, needs=_MEMBER_SCOPES)
    sub = data.get("sub")
    if not isinstance(sub, str) or not sub.strip():
        raise Permanent("LinkedIn answered userinfo without the member's id (sub)")
    name = data.get("name") or " ".join(
        str(data.get(part) or "") for part in ("given_name", "family_name")
    )
    return LinkedInAuthor(f"urn:li:person:{sub.strip()}", " ".join(str(name).split()) or sub)


def linkedin_organizations(
    api_url: str,
    version: str,
    token: str,
    timeout: float,
    client: httpx.Client | None = None,
) -> list[LinkedInAuthor]:
    """The organizations the member administers (``organizationAcls``, every page), named."""
    base = f"{api_url.rstrip('/')}/rest"
    headers = {"LinkedIn-Version": version, "X-Restli-Protocol-Version": RESTLI_PROTOCOL}
    urns: list[str] = []
    start = 0
    for _ in range(_MAX_ORGANIZATION_PAGES):
        params = {
            "q": "roleAssignee",
            "role": "ADMINISTRATOR",
            "state": "APPROVED",
            "start": str(start),
            "count": str(_ORGANIZATIONS_PER_PAGE),
        }
        data = _linkedin_get(
            client, timeout, f"{base}/organizationAcls", token, params, headers, _ADMIN_SCOPE
        )
        elements = data.get("elements")
        rows = [e for e in elements if isinstance(e, dict)] if isinstance(elements, list) else []
        for row in rows:
            urn = row.get("organization")
            if isinstance(urn, str) and urn.startswith("urn:li:organization:") and urn not in urns:
                urns.append(urn)
        paging = data.get("paging")
        total = paging.get("total") if isinstance(paging, dict) else None
        start += len(rows)
        if not rows or (isinstance(total, int) and start >= total):
            break
    authors = []
    for urn in urns:
        org_id = urn.rsplit(":", 1)[1]
        data = _linkedin_get(
            client, timeout, f"{base}/organizations/{org_id}", token, {}, headers, _ADMIN_SCOPE
        )
        name = data.get("localizedName") or data.get("vanityName") or urn
        authors.append(LinkedInAuthor(urn, " ".join(str(name).split())))
    return authors


def _linkedin_get(
    client: httpx.Client | None,
    timeout: float,
    url: str,
    token: str,
    params: dict[str, str],
    headers: dict[str, str] | None = None,
    needs: str = "",
) -> dict[str, Any]:
    secrets = (token,)
    response = call(
        client,
        timeout,
        "LinkedIn",
        "GET",
        url,
        secrets,
        params=params,
        headers={**(headers or {}), "Authorization": f"Bearer {token}"},
    )
    if not response.is_success:
        raise _linkedin_api_error(response, secrets, needs)
    return json_object(response, "LinkedIn", secrets)


def _linkedin_api_error(
    response: httpx.Response, secrets: tuple[str, ...], needs: str
) -> PlatformError:
    error = classify_linkedin_error(
        response.status_code, response.text, response.headers, secrets=secrets
    )
    if response.status_code == 403 and needs:
        # What a connect asks for without the right product or scope in the app.
        return PermissionDenied(
            f"LinkedIn refused ({error.message}); the app needs {needs}",
            http_status=error.http_status,
            code=error.code,
            raw_body=redacted_body(response.text, secrets),
        )
    if error.message:
        return error
    return Permanent(f"LinkedIn answered {describe(response, secrets)}")
