"""Publish to a Facebook Page through the Graph API: ``/{page_id}/feed`` for text and several
images (uploaded unpublished first), ``/{page_id}/photos`` for a single image."""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx

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
from omnipost_tui.platforms import FACEBOOK, text_with_link
from omnipost_tui.redact import redact_text

LABEL = "Facebook"

log = logging.getLogger("omnipost.connectors")

# Graph API error codes; Facebook's HTTP status is too coarse (most errors are a plain 400).
TOKEN_CODES = frozenset({102, 190})
RATE_LIMIT_CODES = frozenset({4, 17, 32, 613, *range(80000, 80015)})
PERMANENT_CODES = frozenset({100, 368, 506, 1609005})
PERMISSION_CODES = frozenset({10, *range(200, 300)})
TRANSIENT_CODES = frozenset({1, 2})
# The picture itself was refused (size or format; an invalid file): the same file never passes.
IMAGE_CODES = frozenset({1366046, 2069019})


def classify_facebook_error(
    http_status: int,
    body_text: str | None,
    headers: Mapping[str, str],
    *,
    secrets: Iterable[str | None] = (),
    request_summary: dict[str, Any] | None = None,
) -> PlatformError:
    """Map a failed Graph API answer to the PlatformError the engine should act on."""
    secrets = tuple(secrets)
    fields: dict[str, Any] = {
        "http_status": http_status,
        "raw_body": redacted_body(body_text, secrets),
        "request_summary": request_summary,
    }
    error = _error_object(body_text)
    if error is None:
        return _classify_by_status(http_status, body_text, headers, fields)

    code = _as_int(error.get("code"))
    text = redact_text(str(error.get("message") or "no message given"), secrets)
    if code is None:
        # An error object without a code: the status is all we have to go on.
        return _classify_by_status(http_status, body_text, headers, fields, detail=text)

    message = f"Facebook error {code}: {text}"
    fields["code"] = str(code)
    if code in RATE_LIMIT_CODES:
        return RateLimited(message, retry_after=facebook_retry_after(headers), **fields)
    return _class_for_code(code, error.get("is_transient") is True)(message, **fields)


def _class_for_code(code: int, is_transient: bool) -> type[PlatformError]:
    if code in TOKEN_CODES:
        return TokenExpired
    # Known permanent and permission codes win over is_transient: re-sending a duplicate or a
    # policy-blocked post can never succeed, whatever the flag says.
    if code in PERMANENT_CODES or code in IMAGE_CODES:
        return Permanent
    if code in PERMISSION_CODES:
        return PermissionDenied
    if code in TRANSIENT_CODES or is_transient:
        return Transient
    return Permanent


def _classify_by_status(
    http_status: int,
    body_text: str | None,
    headers: Mapping[str, str],
    fields: dict[str, Any],
    detail: str | None = None,
) -> PlatformError:
    """No usable Graph error code: fall back to the HTTP status, which is then the code too
    (as LinkedIn's errors record it), so attempts can be grouped by what went wrong."""
    detail = detail or describe_body(body_text)
    fields = {**fields, "code": str(http_status)}
    if http_status >= 500:
        return Transient(f"Facebook server error (HTTP {http_status}): {detail}", **fields)
    if http_status == 429:
        return RateLimited(
            f"Facebook rate limit (HTTP 429): {detail}",
            retry_after=facebook_retry_after(headers),
            **fields,
        )
    if parse_json(body_text) is None:
        # An HTML or empty error page comes from something in front of the Graph API (a proxy,
        # a load balancer), not from Facebook's judgement of the post: worth another try.
        return Transient(
            f"Facebook answered HTTP {http_status} without details: {detail}", **fields
        )
    return Permanent(f"Facebook answered HTTP {http_status}: {detail}", **fields)


def _error_object(body_text: str | None) -> dict[str, Any] | None:
    data = parse_json(body_text)
    error = data.get("error") if isinstance(data, dict) else None
    return error if isinstance(error, dict) else None


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def facebook_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds until Facebook lets us post again, from its usage header or ``Retry-After``."""
    minutes = _business_use_case_minutes(httpx.Headers(headers).get("x-business-use-case-usage"))
    if minutes:
        return minutes * 60.0
    return retry_after_header(headers)


def _business_use_case_minutes(value: str | None) -> float | None:
    """Largest ``estimated_time_to_regain_access`` (minutes) in the header; None when 0/absent.

    Shape: ``{"<business id>": [{"type": "pages", "estimated_time_to_regain_access": 5, …}]}``.
    """
    try:
        usage = json.loads(value) if value else None
    except ValueError:
        return None
    if not isinstance(usage, dict):
        return None
    waits = [
        float(entry["estimated_time_to_regain_access"])
        for entries in usage.values()
        if isinstance(entries, list)
        for entry in entries
        if isinstance(entry, dict)
        and isinstance(entry.get("estimated_time_to_regain_access"), int | float)
    ]
    longest = max((w for w in waits if math.isfinite(w)), default=0.0)
    return longest if longest > 0 else None


class FacebookConnector(HttpConnector):
    """Posts text (and an optional link) to a Facebook Page with a page access token."""

    platform = FACEBOOK
    label = LABEL

    def __init__(
        self,
        graph_url: str,
        graph_version: str,
        timeout: float,
        client: httpx.Client | None = None,
    ) -> None:
        super().__init__(timeout, client)
        self._graph_url = graph_url.rstrip("/")
        # Accept "24.0" as well as "v24.0": the Graph API only understands the latter.
        version = graph_version.strip().strip("/")
        self._graph_version = version if version.startswith("v") else f"v{version}"

    def _node_url(self, node_id: str) -> str:
        return f"{self._graph_url}/{self._graph_version}/{quote(node_id, safe='')}"

    def feed_url(self, page_id: str) -> str:
        return f"{self._node_url(page_id)}/feed"

    def photos_url(self, page_id: str) -> str:
        return f"{self._node_url(page_id)}/photos"

    # --- preparation: several images are uploaded unpublished, then attached to one post ------

    def to_stage(self, request: PublishRequest) -> tuple[ImageUpload, ...]:
        # A single image goes out with its post in one /photos call: nothing to prepare.
        return request.images if len(request.images) >= 2 else ()

    def stage(self, request: PublishRequest, image: ImageUpload) -> StagedImage:
        data = image.read()  # before any request: a changed file is refused, not sent
        secrets = (request.access_token,)
        url = self.photos_url(request.account_external_id)
        form = {"published": "false"}
        if image.alt:
            form["alt_text_custom"] = image.alt
        form["access_token"] = request.access_token
        upload = upload_log(image)
        response = self._upload_call(
            upload,
            image,
            "POST",
            url,
            headers={},
            shown_body={"source": describe_file(image), **form},
            secrets=secrets,
            data=form,
            files={"source": (image.shown_name, data, image.mime)},
        )
        body = response.text
        if not response.is_success or _error_object(body) is not None:
            error = classify_facebook_error(
                response.status_code,
                body,
                response.headers,
                secrets=secrets,
                request_summary=upload,
            )
            raise restate(error, _upload_message(error, image), request_sent=False)
        photo_id = _answer_id(body, "id")
        if not photo_id:
            # An unpublished photo is invisible, so uploading again is safe; at worst an unused
            # one stays behind in the Page's photos, hidden.
            raise Transient(
                f"Facebook took {image_name(image)} but returned no photo id; it will be"
                " uploaded again",
                http_status=response.status_code,
                raw_body=redacted_body(body, secrets),
                request_summary=upload,
                request_sent=False,
            )
        upload["media_id"] = photo_id
        return StagedImage(image.position, image.sha256, photo_id, summary=upload)

    def still_there(self, request: PublishRequest, staged: StagedImage) -> bool:
        """True only when Facebook shows the photo; any doubt means "upload it again"."""
        secrets = (request.access_token,)
        url = self._node_url(staged.media_id)
        headers = {"Authorization": f"OAuth {request.access_token}"}
        summary = summarize_request("GET", url, headers, None, secrets)
        try:
            response = self._send(
                "GET",
                url,
                params={"fields": "id"},
                headers=headers,
                secrets=secrets,
                request_summary=summary,
            )
        except PlatformError as exc:
            log.debug("Facebook photo %s: cannot tell if it is there: %s", staged.media_id, exc)
            return False
        data = parse_json(response.text)
        return (
            response.status_code == 200
            and isinstance(data, dict)
            and "error" not in data
            and str(data.get("id")) == staged.media_id
        )

    def discard(self, request: PublishRequest, staged: StagedImage) -> None:
        """Delete an unpublished photo the post will not use. A failure only leaves a hidden
        photo behind, so it is logged, never raised."""
        secrets = (request.access_token,)
        url = self._node_url(staged.media_id)
        headers = {"Authorization": f"OAuth {request.access_token}"}
        summary = summarize_request("DELETE", url, headers, None, secrets)
        try:
            response = self._send(
                "DELETE", url, headers=headers, secrets=secrets, request_summary=summary
            )
        except PlatformError as exc:
            log.warning("Facebook photo %s not deleted: %s", staged.media_id, exc)
            return
        if response.is_success and _error_object(response.text) is None:
            log.debug("Facebook photo %s deleted", staged.media_id)
            return
        error = classify_facebook_error(
            response.status_code, response.text, response.headers, secrets=secrets
        )
        log.warning("Facebook photo %s not deleted: %s", staged.media_id, error)

    # --- the create call --------------------------------------------------------------------

    @staticmethod
    def sent_message(request: PublishRequest) -> str:
        """The ``message`` the create call sends: with pictures there is no link card, so the
        link travels in the text."""
        return text_with_link(request.text, request.link) if request.images else request.text

    def publish(self, request: PublishRequest) -> PublishResult:
        if len(request.images) == 1:
            return self._publish_photo(request, request.images[0])
        if request.images:
            return self._publish_album(request)
        return self._publish_text(request)

    def _publish_text(self, request: PublishRequest) -> PublishResult:
        secrets = (request.access_token,)
        url = self.feed_url(request.account_external_id)
        form = {"message": request.text}
        if request.link:
            form["link"] = request.link
        # The token goes in the form body, never the URL: httpx puts the URL in its exception
        # messages, and proxies and server logs record URLs.
        form["access_token"] = request.access_token
        summary = summarize_request("POST", url, {}, form, secrets)
        response = self._send("POST", url, data=form, secrets=secrets, request_summary=summary)
        return self._result(response, secrets, summary)

    def _publish_photo(self, request: PublishRequest, image: ImageUpload) -> PublishResult:
        """One image: a published photo is the post (``post_id``), created in this one call."""
        data = image.read()  # before any request: a changed file is refused, not sent
        secrets = (request.access_token,)
        url = self.photos_url(request.account_external_id)
        form = {"message": self.sent_message(request)}
        if image.alt:
            form["alt_text_custom"] = image.alt
        form["access_token"] = request.access_token
        summary = summarize_request(
            "POST", url, {}, {"source": describe_file(image), **form}, secrets
        )
        response = self._send(
            "POST",
            url,
            data=form,
            files={"source": (image.shown_name, data, image.mime)},
            secrets=secrets,
            request_summary=summary,
        )
        return self._result(response, secrets, summary, id_keys=("post_id", "id"), image=image)

    def _publish_album(self, request: PublishRequest) -> PublishResult:
        """Several images: a feed post that attaches the photos staged unpublished before."""
        staged = staged_in_order(request)
        secrets = (request.access_token,)
        url = self.feed_url(request.account_external_id)
        # No ``link`` field: with attached_media it would compete with the photos for the post.
        form = {"message": self.sent_message(request)}
        for index, photo in enumerate(staged):
            form[f"attached_media[{index}]"] = json.dumps(
                {"media_fbid": photo.media_id}, separators=(",", ":")
            )
        form["access_token"] = request.access_token
        summary = summarize_request("POST", url, {}, form, secrets)
        response = self._send("POST", url, data=form, secrets=secrets, request_summary=summary)
        return self._result(response, secrets, summary)

    # --- reading back -------------------------------------------------------------------------

    def find_post(
        self, request: PublishRequest, since: datetime, exclude: frozenset[str] = frozenset()
    ) -> ReadBack:
        """``GET /{page}/posts?since=…`` (newest first, paged), looking for our message."""
        secrets = (request.access_token,)
        page_id = request.account_external_id
        message = self.sent_message(request)
        headers = {"Authorization": f"OAuth {request.access_token}"}
        calls: list[dict[str, Any]] = []
        summary: dict[str, Any] = {"read": f"posts of {page_id}", "calls": calls}
        url: str | None = f"{self._node_url(page_id)}/posts"
        params: dict[str, str] | None = {
            "fields": "id,message,created_time",
            "since": str(int(since.timestamp())),
            "limit": "100",
        }
        listed = 0
        while url is not None and listed < READ_BACK_MAX_POSTS:
            calls.append(summarize_request("GET", url.split("?", 1)[0], headers, params, secrets))
            response = self._send(
                "GET", url, params=params, headers=headers, secrets=secrets, request_summary=summary
            )
            calls[-1]["http_status"] = response.status_code
            body = response.text
            if not response.is_success or _error_object(body) is not None:
                raise classify_facebook_error(
                    response.status_code,
                    body,
                    response.headers,
                    secrets=secrets,
                    request_summary=summary,
                )
            data = parse_json(body)
            posts = data.get("data") if isinstance(data, dict) else None
            if not isinstance(data, dict) or not isinstance(posts, list):
                raise Transient(
                    f"Facebook answered the read of the Page's posts with {describe_body(body)}",
                    http_status=response.status_code,
                    raw_body=redacted_body(body, secrets),
                    request_summary=summary,
                )
            for post in posts:
                if not isinstance(post, dict):
                    continue
                listed += 1
                post_id = str(post.get("id") or "")
                created = _graph_time(post.get("created_time"))
                if (
                    post_id
                    and post_id not in exclude
                    and (created is None or created >= since)
                    and same_text(_str(post.get("message")), message)
                ):
                    calls[-1]["found"] = post_id
                    return ReadBack(post_id, listed, created, summary)
            paging = data.get("paging")
            after = paging.get("next") if isinstance(paging, dict) else None
            url, params = (after, None) if isinstance(after, str) and after else (None, None)
        calls[-1]["listed"] = listed
        return ReadBack(None, listed, None, summary)

    def _result(
        self,
        response: httpx.Response,
        secrets: tuple[str, ...],
        summary: dict[str, Any],
        *,
        id_keys: tuple[str, ...] = ("id",),
        image: ImageUpload | None = None,
    ) -> PublishResult:
        body = response.text
        if not response.is_success or _error_object(body) is not None:
            error = classify_facebook_error(
                response.status_code,
                body,
                response.headers,
                secrets=secrets,
                request_summary=summary,
            )
            if image is not None and _refused_image(error):
                error = restate(
                    error, _upload_message(error, image), request_sent=error.request_sent
                )
            raise error
        post_id = _answer_id(body, *id_keys)
        if not post_id:
            # Facebook accepted the call, so the post may exist: never re-sent blindly.
            raise MaybePublished(
                "Facebook accepted the request but returned no post id; the post may have been"
                " published — check the Page before publishing again",
                http_status=response.status_code,
                raw_body=redacted_body(body, secrets),
                request_summary=summary,
            )
        return PublishResult(
            external_post_id=post_id,
            http_status=response.status_code,
            request_summary=summary,
            raw_response=redacted_body(body, secrets),
        )


def _answer_id(body: str | None, *keys: str) -> str | None:
    """The first of ``keys`` the answer carries (``post_id`` before ``id`` for a photo post)."""
    data = parse_json(body)
    if not isinstance(data, dict):
        return None
    for key in keys:
        value = data.get(key)
        if value:
            return str(value)
    return None


def _graph_time(value: Any) -> datetime | None:
    """``2026-12-02T18:00:05+0000``, as the Graph API writes times; None when unreadable."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z")
    except ValueError:
        return None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _refused_image(error: PlatformError) -> bool:
    return error.code is not None and error.code.isdigit() and int(error.code) in IMAGE_CODES


def _upload_message(error: PlatformError, image: ImageUpload) -> str:
    """The error's message naming the image: the user must know which picture to replace."""
    if _refused_image(error):
        # "Facebook error 1366046: text" → the platform's own words after the image's name.
        detail = error.message.split(": ", 1)[-1]
        return f"Facebook refused {image_name(image)}: {detail}"
    return f"could not upload {image_name(image)}: {error.message}"
