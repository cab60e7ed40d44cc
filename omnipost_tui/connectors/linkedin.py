"""Publish to LinkedIn through the Posts API (``/rest/posts``) or the legacy ``/v2/ugcPosts``;
images go through the Images API first (``/rest/images``, Posts API only)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import httpx

from omnipost_tui import clock
from omnipost_tui.connectors.base import (
    READ_BACK_MAX_POSTS,
    HttpConnector,
    ImageUpload,
    PublishRequest,
    PublishResult,
    ReadBack,
    StagedImage,
    describe_body,
    describe_file,
    image_name,
    parse_json,
    redacted_body,
    retry_after_header,
    same_text,
    staged_in_order,
    summarize_request,
    upload_log,
)
from omnipost_tui.connectors.errors import (
    MaybePublished,
    Permanent,
    PermissionDenied,
    PlatformError,
    RateLimited,
    TokenExpired,
    Transient,
    restate,
)
from omnipost_tui.connectors.little_text import escape_little_text, plain_with_mentions
from omnipost_tui.platforms import LINKEDIN, text_with_link
from omnipost_tui.redact import redact_text
from omnipost_tui.times import format_seconds

LABEL = "LinkedIn"
RESTLI_PROTOCOL = "2.0.0"
VERSION_ENV = "OMNIPOST_LINKEDIN_VERSION"

# LinkedIn shows the article title as the link card headline; it rejects very long ones.
_MAX_TITLE = 200

# Polling an uploaded image until LinkedIn has processed it: often at first (small images are
# ready within a second), then less often, so a slow one costs few requests.
FIRST_POLL = 0.25
LAST_POLL = 2.0
# Posts asked for per page when reading an author's posts back.
READ_BACK_PAGE = 50


def classify_linkedin_error(
    http_status: int,
    body_text: str | None,
    headers: Mapping[str, str],
    *,
    secrets: Iterable[str | None] = (),
    request_summary: dict[str, Any] | None = None,
) -> PlatformError:
    """Map a failed LinkedIn answer (classified by HTTP status) to a PlatformError."""
    secrets = tuple(secrets)
    data = parse_json(body_text)
    error = data if isinstance(data, dict) else {}
    li_code = str(error["code"]) if error.get("code") else None
    platform_message = error.get("message")
    detail = redact_text(str(platform_message), secrets) if platform_message else None
    fields: dict[str, Any] = {
        "http_status": http_status,
        "code": li_code or str(http_status),
        "raw_body": redacted_body(body_text, secrets),
        "request_summary": request_summary,
    }
    detail = detail or describe_body(body_text)
    prefix = f"LinkedIn error {http_status}" + (f" {li_code}" if li_code else "")

    if http_status == 401:
        return TokenExpired(
            f"{prefix}: the access token expired or was revoked; reconnect the account ({detail})",
            **fields,
        )
    if http_status == 403:
        return PermissionDenied(f"{prefix}: permission denied ({detail})", **fields)
    if http_status == 426:
        return Permanent(_version_retired_message(prefix, detail, request_summary), **fields)
    if http_status == 429:
        return RateLimited(
            f"{prefix}: rate limit reached ({detail})",
            retry_after=retry_after_header(headers),
            **fields,
        )
    if http_status >= 500:
        return Transient(f"{prefix}: server error ({detail})", **fields)
    if http_status in (400, 422) or data is not None:
        return Permanent(f"{prefix}: {detail}", **fields)
    # Anything else without a JSON error body came from something in between (proxy, gateway),
    # not from LinkedIn's API itself: worth another try.
    return Transient(f"{prefix}: {detail}", **fields)


def _version_retired_message(
    prefix: str, detail: str, request_summary: dict[str, Any] | None
) -> str:
    headers = (request_summary or {}).get("headers") or {}
    version = headers.get("LinkedIn-Version")
    which = f"LinkedIn-Version {version}" if version else "the LinkedIn-Version"
    return f"{prefix}: {which} is retired; set {VERSION_ENV} to a current YYYYMM version ({detail})"


def _article_title(link: str) -> str:
    """A readable card title from the link itself (LinkedIn requires one for articles)."""
    title = re.sub(r"^[a-z][a-z0-9+.-]*://(www\.)?", "", link.strip(), flags=re.IGNORECASE)
    title = title.rstrip("/") or link
    return title if len(title) <= _MAX_TITLE else f"{title[: _MAX_TITLE - 1]}…"


def posts_payload(request: PublishRequest) -> dict[str, Any]:
    """Body for ``POST /rest/posts`` (the versioned Posts API).

    With images, ``request.staged`` must hold each one's image URN (ValueError otherwise), and
    the link goes into the commentary: a post has either pictures or a link card.
    """
    payload: dict[str, Any] = {
        "author": request.account_external_id,
        "commentary": posts_commentary(request),
        "visibility": "PUBLIC",
        "distribution": {
            "feedDistribution": "MAIN_FEED",
            "targetEntities": [],
            "thirdPartyDistributionChannels": [],
        },
        "lifecycleState": "PUBLISHED",
        "isReshareDisabledByAuthor": False,
    }
    if request.images:
        payload["content"] = _image_content(request)
    elif request.link:
        payload["content"] = {
            "article": {"source": request.link, "title": _article_title(request.link)}
        }
    return payload


def posts_commentary(request: PublishRequest) -> str:
    """The Posts API ``commentary``: little text, escaped; with images the link goes in it."""
    text = text_with_link(request.text, request.link) if request.images else request.text
    return escape_little_text(text)


def _image_content(request: PublishRequest) -> dict[str, Any]:
    """``content.media`` for one image, ``content.multiImage`` for several, in image order."""
    alt_by_position = {image.position: image.alt for image in request.images}
    images = []
    for staged in staged_in_order(request):
        entry = {"id": staged.media_id}
        if alt_by_position[staged.position]:
            entry["altText"] = alt_by_position[staged.position]
        images.append(entry)
    if len(images) == 1:
        return {"media": images[0]}
    return {"multiImage": {"images": images}}


def _ugc_refuses_images() -> Permanent:
    return Permanent(
        'LinkedIn images need the Posts API; set linkedin_api = "rest" in the config',
        request_sent=False,
    )


def _without_query(url: str) -> str:
    """An upload URL as the attempt log shows it: its query is a short-lived signature."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(query="…" if parts.query else "", fragment=""))


def ugc_payload(request: PublishRequest) -> dict[str, Any]:
    """Body for the legacy ``POST /v2/ugcPosts``.

    Its shareCommentary is plain text (nothing to escape; hashtags and URLs as written), and a
    mention is the name in the text plus an attribute that points at the URN.
    """
    text, attributes = plain_with_mentions(request.text)
    commentary: dict[str, Any] = {"text": text}
    if attributes:
        commentary["attributes"] = attributes
    share: dict[str, Any] = {"shareCommentary": commentary, "shareMediaCategory": "NONE"}
    if request.link:
        share["shareMediaCategory"] = "ARTICLE"
        share["media"] = [{"status": "READY", "originalUrl": request.link}]
    return {
        "author": request.account_external_id,
        "lifecycleState": "PUBLISHED",
        "specificContent": {"com.linkedin.ugc.ShareContent": share},
        "visibility": {"com.linkedin.ugc.MemberNetworkVisibility": "PUBLIC"},
    }


class LinkedInConnector(HttpConnector):
    """Posts text (and an optional link) as a LinkedIn member or organization."""

    platform = LINKEDIN
    label = LABEL

    def __init__(
        self,
        api_url: str,
        api_version: str,
        timeout: float,
        api: str = "rest",
        client: httpx.Client | None = None,
        image_ready_timeout: float = 60.0,
    ) -> None:
        if api not in ("rest", "ugc"):
            raise ValueError(f"LinkedIn api must be 'rest' or 'ugc', not {api!r}")
        super().__init__(timeout, client)
        self._api_url = api_url.rstrip("/")
        self._api_version = api_version.strip()
        self._api = api
        self._image_ready_timeout = image_ready_timeout

    def _rest_headers(self, token: str) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {token}",
            "LinkedIn-Version": self._api_version,
            "X-Restli-Protocol-Version": RESTLI_PROTOCOL,
        }

    def image_url(self, urn: str) -> str:
        return f"{self._api_url}/rest/images/{quote(urn, safe='')}"

    # --- preparation: each image is uploaded and processed before the post refers to it -----

    def to_stage(self, request: PublishRequest) -> tuple[ImageUpload, ...]:
        if request.images and self._api == "ugc":
            raise _ugc_refuses_images()
        return request.images

    def stage(self, request: PublishRequest, image: ImageUpload) -> StagedImage:
        if self._api == "ugc":
            raise _ugc_refuses_images()
        data = image.read()  # before any request: a changed file is refused, not sent
        secrets = (request.access_token,)
        upload = upload_log(image)
        upload_url, urn = self._initialize_upload(request, image, upload)
        response = self._upload_call(
            upload,
            image,
            "PUT",
            upload_url,
            headers={
                "Authorization": f"Bearer {request.access_token}",
                "Content-Type": "application/octet-stream",
            },
            shown_body=describe_file(image),
            shown_url=_without_query(upload_url),
            secrets=secrets,
            content=data,
        )
        if not response.is_success:
            raise self._upload_error(response, image, secrets, upload)
        self._wait_until_available(request, image, urn, upload)
        upload["media_id"] = urn
        return StagedImage(image.position, image.sha256, urn, summary=upload)

    def _initialize_upload(
        self, request: PublishRequest, image: ImageUpload, upload: dict[str, Any]
    ) -> tuple[str, str]:
        """Ask for an upload URL; the answer also names the image URN the post will use."""
        secrets = (request.access_token,)
        payload = {"initializeUploadRequest": {"owner": request.account_external_id}}
        response = self._upload_call(
            upload,
            image,
            "POST",
            f"{self._api_url}/rest/images?action=initializeUpload",
            headers={
                **self._rest_headers(request.access_token),
                "Content-Type": "application/json",
            },
            shown_body=payload,
            secrets=secrets,
            json=payload,
        )
        if not response.is_success:
            raise self._upload_error(response, image, secrets, upload)
        data = parse_json(response.text)
        value = data.get("value") if isinstance(data, dict) else None
        upload_url = value.get("uploadUrl") if isinstance(value, dict) else None
        urn = value.get("image") if isinstance(value, dict) else None
        if not isinstance(upload_url, str) or not upload_url or not isinstance(urn, str) or not urn:
            raise Transient(
                f"LinkedIn did not say where to upload {image_name(image)}"
                f" ({describe_body(response.text)}); it will be uploaded again",
                http_status=response.status_code,
                raw_body=redacted_body(response.text, secrets),
                request_summary=upload,
                request_sent=False,
            )
        # The answer names the upload URL; its signature stays out of the log like the PUT's.
        query = urlsplit(upload_url).query
        if query:
            call = upload["calls"][-1]
            call["answer"] = call["answer"].replace(query, "…")
        return upload_url, urn

    def _wait_until_available(
        self, request: PublishRequest, image: ImageUpload, urn: str, upload: dict[str, Any]
    ) -> None:
        """Poll the image until LinkedIn has processed it, at most ``image_ready_timeout``: a
        post that refers to an image still processing is refused."""
        secrets = (request.access_token,)
        deadline = clock.now() + timedelta(seconds=self._image_ready_timeout)
        delay = FIRST_POLL
        while True:
            response = self._upload_call(
                upload,
                image,
                "GET",
                self.image_url(urn),
                headers=self._rest_headers(request.access_token),
                shown_body=None,
                secrets=secrets,
            )
            if not response.is_success:
                raise self._upload_error(response, image, secrets, upload)
            status = _image_status(response.text)
            if status == "AVAILABLE":
                return
            if status == "PROCESSING_FAILED":
                raise Permanent(
                    f"LinkedIn could not process {image_name(image)}; try another file or format",
                    http_status=response.status_code,
                    code=status,
                    raw_body=redacted_body(response.text, secrets),
                    request_summary=upload,
                    request_sent=False,
                )
            remaining = (deadline - clock.now()).total_seconds()
            if remaining <= 0:
                raise Transient(
                    f"LinkedIn was still processing {image_name(image)} after"
                    f" {format_seconds(self._image_ready_timeout)}",
                    http_status=response.status_code,
                    raw_body=redacted_body(response.text, secrets),
                    request_summary=upload,
                    request_sent=False,
                )
            clock.sleep(min(delay, remaining))
            delay = min(delay * 2, LAST_POLL)

    def _upload_error(
        self,
        response: httpx.Response,
        image: ImageUpload,
        secrets: tuple[str, ...],
        upload: dict[str, Any],
    ) -> PlatformError:
        error = classify_linkedin_error(
            response.status_code,
            response.text,
            response.headers,
            secrets=secrets,
            request_summary=upload,
        )
        refused = type(error) is Permanent and response.status_code in (400, 422)
        what = "LinkedIn refused" if refused else "could not upload"
        return restate(error, f"{what} {image_name(image)}: {error.message}", request_sent=False)

    def still_there(self, request: PublishRequest, staged: StagedImage) -> bool:
        """True only when LinkedIn says the image is AVAILABLE; any doubt means "upload it
        again"."""
        if self._api == "ugc":
            return False
        secrets = (request.access_token,)
        url = self.image_url(staged.media_id)
        headers = self._rest_headers(request.access_token)
        summary = summarize_request("GET", url, headers, None, secrets)
        try:
            response = self._send(
                "GET", url, headers=headers, secrets=secrets, request_summary=summary
            )
        except PlatformError:
            return False
        return response.status_code == 200 and _image_status(response.text) == "AVAILABLE"

    def discard(self, request: PublishRequest, staged: StagedImage) -> None:
        # Nothing to do: LinkedIn's Images API has no call that deletes an uploaded image no
        # post refers to. Such an image is never shown to anyone, so leaving it costs nothing.
        return None

    def _endpoint(self, request: PublishRequest) -> tuple[str, dict[str, str], dict[str, Any]]:
        """URL, non-secret headers and JSON body for the configured API flavour."""
        headers = {"X-Restli-Protocol-Version": RESTLI_PROTOCOL}
        if self._api == "ugc":
            return f"{self._api_url}/v2/ugcPosts", headers, ugc_payload(request)
        headers["LinkedIn-Version"] = self._api_version
        return f"{self._api_url}/rest/posts", headers, posts_payload(request)

    # --- the create call --------------------------------------------------------------------

    def publish(self, request: PublishRequest) -> PublishResult:
        if request.images and self._api == "ugc":
            raise _ugc_refuses_images()
        secrets = (request.access_token,)
        url, headers, payload = self._endpoint(request)
        headers["Authorization"] = f"Bearer {request.access_token}"
        headers["Content-Type"] = "application/json"
        summary = summarize_request("POST", url, headers, payload, secrets)
        response = self._send(
            "POST", url, json=payload, headers=headers, secrets=secrets, request_summary=summary
        )
        return self._result(response, secrets, summary)

    # --- reading back -------------------------------------------------------------------------

    def find_post(
        self, request: PublishRequest, since: datetime, exclude: frozenset[str] = frozenset()
    ) -> ReadBack:
        """``GET /rest/posts?q=author`` (newest first, paged) looking for our commentary.

        LinkedIn lets an app read an author's posts only with a read permission
        (``r_organization_social``, or ``r_member_social`` for members, which LinkedIn grants
        few apps): without it the answer is a 403 and the read-back leaves it to a human.
        """
        token = request.access_token
        secrets = (token,)
        headers = {**self._rest_headers(token), "X-RestLi-Method": "FINDER"}
        # Posts made through ugcPosts are listed with the text as written (plain) or escaped.
        wanted = {posts_commentary(request)}
        if self._api == "ugc":
            wanted.add(plain_with_mentions(request.text)[0])
        base = (
            f"{self._api_url}/rest/posts?q=author"
            f"&author={quote(request.account_external_id, safe='')}&sortBy=CREATED"
        )
        calls: list[dict[str, Any]] = []
        summary: dict[str, Any] = {
            "read": f"posts of {request.account_external_id}",
            "calls": calls,
        }
        listed = 0
        start = 0
        while listed < READ_BACK_MAX_POSTS:
            url = f"{base}&count={READ_BACK_PAGE}&start={start}"
            calls.append(summarize_request("GET", url, headers, None, secrets))
            response = self._send(
                "GET", url, headers=headers, secrets=secrets, request_summary=summary
            )
            calls[-1]["http_status"] = response.status_code
            body = response.text
            if not response.is_success:
                raise classify_linkedin_error(
                    response.status_code,
                    body,
                    response.headers,
                    secrets=secrets,
                    request_summary=summary,
                )
            data = parse_json(body)
            elements = data.get("elements") if isinstance(data, dict) else None
            if not isinstance(elements, list):
                raise Transient(
                    f"LinkedIn answered the read of the author's posts with {describe_body(body)}",
                    http_status=response.status_code,
                    raw_body=redacted_body(body, secrets),
                    request_summary=summary,
                )
            older = False
            for post in elements:
                if not isinstance(post, dict):
                    continue
                listed += 1
                post_id = str(post.get("id") or "")
                created = _epoch_ms(post.get("createdAt"))
                if created is not None and created < since:
                    older = True  # newest first: the rest are older still
                    break
                commentary = post.get("commentary")
                if (
                    post_id
                    and post_id not in exclude
                    and isinstance(commentary, str)
                    and any(same_text(commentary, text) for text in wanted)
                ):
                    calls[-1]["found"] = post_id
                    return ReadBack(post_id, listed, created, summary)
            if older or len(elements) < READ_BACK_PAGE:
                break
            start += len(elements)
        calls[-1]["listed"] = listed
        return ReadBack(None, listed, None, summary)

    def _result(
        self,
        response: httpx.Response,
        secrets: tuple[str, ...],
        summary: dict[str, Any],
    ) -> PublishResult:
        body = response.text
        if not response.is_success:
            raise classify_linkedin_error(
                response.status_code,
                body,
                response.headers,
                secrets=secrets,
                request_summary=summary,
            )
        post_id = _post_id(response)
        if not post_id:
            # LinkedIn accepted the call, so the post may exist: never re-sent blindly.
            raise MaybePublished(
                f"LinkedIn accepted the request (HTTP {response.status_code}) but returned no"
                " post id; the post may have been published — check the profile or page before"
                " publishing again",
                http_status=response.status_code,
                code=str(response.status_code),
                raw_body=redacted_body(body, secrets),
                request_summary=summary,
            )
        return PublishResult(
            external_post_id=post_id,
            http_status=response.status_code,
            request_summary=summary,
            raw_response=redacted_body(body, secrets),
        )


def _post_id(response: httpx.Response) -> str | None:
    """The new post's URN: the ``x-restli-id`` header, else ``x-linkedin-id``, else body ``id``."""
    for header in ("x-restli-id", "x-linkedin-id"):
        value: str = response.headers.get(header, "").strip()
        if value:
            return value
    data = parse_json(response.text)
    post_id = data.get("id") if isinstance(data, dict) else None
    return str(post_id) if post_id else None


def _epoch_ms(value: Any) -> datetime | None:
    """LinkedIn's ``createdAt``: milliseconds since the epoch; None when unreadable."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return datetime.fromtimestamp(value / 1000, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _image_status(body: str | None) -> str | None:
    """``PROCESSING``, ``AVAILABLE``, ``PROCESSING_FAILED`` (or whatever else LinkedIn says)."""
    data = parse_json(body)
    status = data.get("status") if isinstance(data, dict) else None
    return status if isinstance(status, str) else None
