"""The sandbox's pictures over real HTTP: Facebook photos (a photo post, photos staged with
published=false and attached to a /feed post, GET and DELETE of a photo) and LinkedIn images
(initializeUpload, PUT, status until AVAILABLE, content.media and multiImage), the image
behaviours, and what the sandbox keeps of each picture (its SHA-256 and size, never its bytes,
never a token)."""

from __future__ import annotations

import base64
import hashlib
import json
import random
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from omnipost_tui.sandbox import SandboxServer
from omnipost_tui.sandbox.media import ReceivedImage
from tests.conftest import wait_for

TOKEN = "SECRET-sandbox-image-token-5c1d"
EXPIRED_TOKEN = "SECRET-expired-image-token-77"
LI_VERSION = "202610"
PAGE = "104200"
OTHER_PAGE = "104201"
ORG = "urn:li:organization:42"
OTHER_ORG = "urn:li:organization:43"
PROCESSING_SECONDS = 0.3
# Written into every picture, so a test can tell that no record holds a picture's bytes.
MARKER = b"PIXELS-OF-A-PICTURE-e41b"

FB_EXPIRED = {
    "error": {
        "message": "Error validating access token: Session has expired on Tuesday, "
        "01-Sep-26 10:00:00 PDT.",
        "type": "OAuthException",
        "code": 190,
        "error_subcode": 463,
        "fbtrace_id": "A1b2",
    }
}
LI_EXPIRED = {
    "status": 401,
    "serviceErrorCode": 65601,
    "code": "REVOKED_ACCESS_TOKEN",
    "message": "The token used in the request has been revoked by the user",
}
HTML_503 = "<html><body><h1>503 Service Unavailable</h1></body></html>"


def picture(seed: int, size: int = 4096) -> bytes:
    """A picture's bytes: a PNG signature, the marker, random bytes (CR, LF and NUL among them)
    and a line that starts like a multipart boundary, ending in CRLF: all of which a multipart
    parser has to hand over unchanged."""
    body = random.Random(seed).randbytes(size)
    return (
        b"\x89PNG\r\n\x1a\n" + MARKER + body + b"\r\n--not-the-boundary\r\n" + body[:64] + b"\r\n"
    )


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(image_processing_seconds=PROCESSING_SECONDS) as server:
        yield server


@pytest.fixture
def client(sandbox: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.url, timeout=10.0) as http:
        yield http


def states(sandbox: SandboxServer) -> dict[str, str]:
    return {media.media_id: media.state for media in sandbox.media()}


# --- Facebook helpers ------------------------------------------------------------------------


def fb_photo(
    client: httpx.Client, page: str, data: bytes, token: str | None = TOKEN, **fields: str
) -> httpx.Response:
    """``POST /{page}/photos``, multipart: the file as ``source``, ``fields`` beside it."""
    form = dict(fields)
    if token is not None:
        form["access_token"] = token
    return client.post(
        f"/v24.0/{page}/photos", data=form, files={"source": ("photo.png", data, "image/png")}
    )


def fb_stage(client: httpx.Client, page: str, data: bytes, alt: str = "") -> str:
    """Stage a photo (published=false); its id."""
    fields = {"published": "false"}
    if alt:
        fields["alt_text_custom"] = alt
    response = fb_photo(client, page, data, **fields)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"id"}  # staged: no post
    return body["id"]


def fb_feed(
    client: httpx.Client,
    page: str,
    photo_ids: list[str],
    message: str = "Three pictures",
    key_order: list[int] | None = None,
) -> httpx.Response:
    """``POST /{page}/feed`` with ``attached_media[i]`` = photo i, the form keys written in
    ``key_order`` (index order by default)."""
    form = {"message": message}
    for index in key_order or range(len(photo_ids)):
        form[f"attached_media[{index}]"] = json.dumps({"media_fbid": photo_ids[index]})
    form["access_token"] = TOKEN
    return client.post(f"/v24.0/{page}/feed", data=form)


def fb_error_code(response: httpx.Response) -> int:
    return response.json()["error"]["code"]


# --- LinkedIn helpers ------------------------------------------------------------------------


def li_headers(token: str | None = TOKEN) -> dict[str, str]:
    headers = {"LinkedIn-Version": LI_VERSION, "X-Restli-Protocol-Version": "2.0.0"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return headers


def li_initialize(client: httpx.Client, owner: str, token: str = TOKEN) -> httpx.Response:
    return client.post(
        "/rest/images",
        params={"action": "initializeUpload"},
        json={"initializeUploadRequest": {"owner": owner}},
        headers=li_headers(token),
    )


def li_put(
    client: httpx.Client, upload_url: str, data: bytes, token: str | None = TOKEN
) -> httpx.Response:
    headers = {"Content-Type": "application/octet-stream"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return client.put(upload_url, content=data, headers=headers)


def li_initialized(client: httpx.Client, owner: str) -> tuple[str, str]:
    """(upload URL, image URN) of a new image of ``owner``."""
    response = li_initialize(client, owner)
    assert response.status_code == 200, response.text
    value = response.json()["value"]
    return value["uploadUrl"], value["image"]


def li_upload(client: httpx.Client, owner: str, data: bytes) -> str:
    """Initialize and upload an image; its URN (processing has started)."""
    upload_url, urn = li_initialized(client, owner)
    response = li_put(client, upload_url, data)
    assert response.status_code == 201, response.text
    return urn


def li_status(client: httpx.Client, urn: str) -> str:
    response = client.get(f"/rest/images/{quote(urn, safe='')}", headers=li_headers())
    assert response.status_code == 200, response.text
    return response.json()["status"]


def li_wait_until(client: httpx.Client, urns: list[str], status: str) -> None:
    wait_for(
        lambda: all(li_status(client, urn) == status for urn in urns),
        timeout=5.0,
        what=f"{len(urns)} image(s) to be {status}",
    )


def li_post(
    client: httpx.Client, author: str, content: dict[str, Any] | None = None
) -> httpx.Response:
    body: dict[str, Any] = {
        "author": author,
        "commentary": "Look at these",
        "visibility": "PUBLIC",
        "distribution": {"feedDistribution": "MAIN_FEED"},
        "lifecycleState": "PUBLISHED",
        "isReshareDisabledByAuthor": False,
    }
    if content is not None:
        body["content"] = content
    return client.post("/rest/posts", json=body, headers=li_headers())


# --- Facebook: a photo post ------------------------------------------------------------------


def test_facebook_one_photo_is_a_post_with_that_photo(
    sandbox: SandboxServer, client: httpx.Client
) -> None:
    data = picture(1)
    response = fb_photo(client, PAGE, data, message="Fresh bread 🥖 today", alt_text_custom="Loaf")

    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"id", "post_id"}
    assert body["post_id"].startswith(f"{PAGE}_")
    [post] = sandbox.posts
    assert (post.platform, post.account, post.text) == ("facebook", PAGE, "Fresh bread 🥖 today")
    assert post.external_post_id == body["post_id"]
    assert post.images == (ReceivedImage(body["id"], sha256(data), len(data), "Loaf"),)
    assert states(sandbox) == {body["id"]: "published"}


def test_facebook_photo_without_a_file_is_refused(
    sandbox: SandboxServer, client: httpx.Client
) -> None:
    # Multipart, as a photo upload is, with every field but the file.
    fields = {"message": (None, "No picture"), "access_token": (None, TOKEN)}
    response = client.post(f"/v24.0/{PAGE}/photos", files=fields)
    assert response.status_code == 400
    assert fb_error_code(response) == 100
    assert sandbox.posts == [] and sandbox.media() == []


# --- Facebook: staged photos attached to a /feed post ----------------------------------------


@pytest.mark.parametrize("key_order", [[0, 1, 2], [2, 0, 1]], ids=["in-order", "keys-shuffled"])
def test_facebook_staged_photos_join_the_feed_post_in_index_order(
    sandbox: SandboxServer, client: httpx.Client, key_order: list[int]
) -> None:
    pictures = [picture(n) for n in (11, 12, 13)]
    photo_ids = [fb_stage(client, PAGE, data, alt=f"alt {n}") for n, data in enumerate(pictures)]
    left_over = fb_stage(client, PAGE, picture(14))
    assert sandbox.posts == []  # staging makes nothing public
    assert set(states(sandbox).values()) == {"staged"}

    response = fb_feed(client, PAGE, photo_ids, key_order=key_order)

    assert response.status_code == 200, response.text
    [post] = sandbox.posts
    assert response.json() == {"id": post.external_post_id}
    assert post.text == "Three pictures"
    assert post.images == tuple(
        ReceivedImage(photo_id, sha256(data), len(data), f"alt {n}")
        for n, (photo_id, data) in enumerate(zip(photo_ids, pictures, strict=True))
    )
    assert states(sandbox) == {**dict.fromkeys(photo_ids, "published"), left_over: "staged"}


def _deleted(client: httpx.Client) -> str:
    photo_id = fb_stage(client, PAGE, picture(21))
    assert client.delete(f"/v24.0/{photo_id}", headers={"Authorization": f"OAuth {TOKEN}"}).json()
    return photo_id


def _another_pages(client: httpx.Client) -> str:
    return fb_stage(client, OTHER_PAGE, picture(22))


def _already_used(client: httpx.Client) -> str:
    photo_id = fb_stage(client, PAGE, picture(23))
    assert fb_feed(client, PAGE, [photo_id], message="First use").status_code == 200
    return photo_id


@pytest.mark.parametrize(
    "bad_photo",
    [_deleted, lambda client: "9000000000999", _another_pages, _already_used],
    ids=["deleted", "unknown", "another-pages", "already-used"],
)
def test_facebook_feed_attaching_an_unusable_photo_is_refused_and_uses_none(
    sandbox: SandboxServer, client: httpx.Client, bad_photo: Callable[[httpx.Client], str]
) -> None:
    bad = bad_photo(client)
    good = [fb_stage(client, PAGE, picture(n)) for n in (24, 25)]
    posts_before, states_before = sandbox.posts, states(sandbox)

    response = fb_feed(client, PAGE, [*good, bad])

    assert response.status_code == 400, response.text
    assert fb_error_code(response) == 100
    assert sandbox.posts == posts_before
    assert states(sandbox) == states_before
    assert [states(sandbox)[photo_id] for photo_id in good] == ["staged", "staged"]
    # Still usable: the refusal used none of them.
    assert fb_feed(client, PAGE, good).status_code == 200


def test_facebook_feed_attaching_one_photo_twice_is_refused(
    sandbox: SandboxServer, client: httpx.Client
) -> None:
    photo_id = fb_stage(client, PAGE, picture(26))
    response = fb_feed(client, PAGE, [photo_id, photo_id])
    assert response.status_code == 400
    assert fb_error_code(response) == 100
    assert sandbox.posts == []
    assert states(sandbox) == {photo_id: "staged"}


# --- Facebook: GET and DELETE of a photo -----------------------------------------------------


def test_facebook_photo_is_there_until_deleted(
    sandbox: SandboxServer, client: httpx.Client
) -> None:
    photo_id = fb_stage(client, PAGE, picture(31))
    oauth = {"Authorization": f"OAuth {TOKEN}"}

    there = client.get(f"/v24.0/{photo_id}", params={"fields": "id"}, headers=oauth)
    assert there.status_code == 200
    assert there.json() == {"id": photo_id}

    deleted = client.delete(f"/v24.0/{photo_id}", headers=oauth)
    assert deleted.status_code == 200
    assert deleted.json() == {"success": True}
    assert states(sandbox) == {photo_id: "deleted"}

    gone = client.get(f"/v24.0/{photo_id}", params={"fields": "id"}, headers=oauth)
    assert gone.status_code == 400
    assert fb_error_code(gone) == 100
    again = client.delete(f"/v24.0/{photo_id}", headers=oauth)
    assert again.status_code == 400
    assert fb_error_code(again) == 100


def test_facebook_unknown_photo_is_not_there(client: httpx.Client) -> None:
    response = client.get(
        "/v24.0/9000000000999", params={"fields": "id"}, headers={"Authorization": f"OAuth {TOKEN}"}
    )
    assert response.status_code == 400
    assert fb_error_code(response) == 100


def test_facebook_photo_get_and_delete_need_a_token(
    sandbox: SandboxServer, client: httpx.Client
) -> None:
    photo_id = fb_stage(client, PAGE, picture(32))
    assert 400 <= client.get(f"/v24.0/{photo_id}", params={"fields": "id"}).status_code < 500
    assert 400 <= client.delete(f"/v24.0/{photo_id}").status_code < 500
    assert states(sandbox) == {photo_id: "staged"}


# --- LinkedIn: initializeUpload, PUT, status -------------------------------------------------


def test_linkedin_image_is_uploaded_then_processed_until_available(
    sandbox: SandboxServer, client: httpx.Client
) -> None:
    data = picture(41)
    response = li_initialize(client, ORG)
    assert response.status_code == 200, response.text
    value = response.json()["value"]
    upload_url, urn = value["uploadUrl"], value["image"]
    assert upload_url.startswith(f"{sandbox.url}/")
    assert urn.startswith("urn:li:image:")
    assert value["uploadUrlExpiresAt"] > time.time() * 1000

    put = li_put(client, upload_url, data)
    assert put.status_code == 201
    assert put.content == b""

    status = client.get(f"/rest/images/{quote(urn, safe='')}", headers=li_headers())
    assert status.status_code == 200
    assert status.json() == {"id": urn, "status": "PROCESSING", "owner": ORG}
    li_wait_until(client, [urn], "AVAILABLE")
    [media] = sandbox.media()
    assert (media.media_id, media.account, media.state) == (urn, ORG, "available")
    assert (media.sha256, media.size) == (sha256(data), len(data))


def test_linkedin_unknown_image_is_404(client: httpx.Client) -> None:
    urn = "urn:li:image:D4E10AQ999"
    response = client.get(f"/rest/images/{quote(urn, safe='')}", headers=li_headers())
    assert response.status_code == 404


def test_linkedin_post_with_one_image_and_its_alt_text(
    sandbox: SandboxServer, client: httpx.Client
) -> None:
    data = picture(42)
    urn = li_upload(client, ORG, data)
    li_wait_until(client, [urn], "AVAILABLE")

    response = li_post(client, ORG, {"media": {"id": urn, "altText": "A loaf on a board"}})

    assert response.status_code == 201, response.text
    [post] = sandbox.posts
    assert response.headers["x-restli-id"] == post.external_post_id
    assert (post.platform, post.account, post.text) == ("linkedin", ORG, "Look at these")
    assert post.images == (ReceivedImage(urn, sha256(data), len(data), "A loaf on a board"),)


def test_linkedin_post_with_five_images_keeps_the_posts_order(
    sandbox: SandboxServer, client: httpx.Client
) -> None:
    pictures = [picture(n) for n in range(50, 55)]
    urns = [li_upload(client, ORG, data) for data in pictures]
    li_wait_until(client, urns, "AVAILABLE")
    # The post names them in another order than they were uploaded; the last one has no alt.
    order = [3, 0, 4, 1, 2]
    alts = ["three", "zero", "four", "one", ""]
    images = [
        {"id": urns[i], "altText": alt} if alt else {"id": urns[i]}
        for i, alt in zip(order, alts, strict=True)
    ]

    response = li_post(client, ORG, {"multiImage": {"images": images}})

    assert response.status_code == 201, response.text
    [post] = sandbox.posts
    assert post.images == tuple(
        ReceivedImage(urns[i], sha256(pictures[i]), len(pictures[i]), alt)
        for i, alt in zip(order, alts, strict=True)
    )


@pytest.mark.parametrize("problem", ["unknown", "another-owners"])
def test_linkedin_post_naming_an_image_it_may_not_use_is_refused(
    sandbox: SandboxServer, client: httpx.Client, problem: str
) -> None:
    mine = li_upload(client, ORG, picture(61))
    theirs = li_upload(client, OTHER_ORG, picture(62))
    li_wait_until(client, [mine, theirs], "AVAILABLE")
    bad = "urn:li:image:D4E10AQ999" if problem == "unknown" else theirs

    response = li_post(client, ORG, {"multiImage": {"images": [{"id": mine}, {"id": bad}]}})

    assert response.status_code == 400, response.text
    assert response.json()["status"] == 400
    assert sandbox.posts == []


def test_linkedin_post_naming_an_image_still_processing_is_refused() -> None:
    # Processing that outlasts the test: the image is PROCESSING whenever the post arrives.
    with (
        SandboxServer(image_processing_seconds=60.0) as slow,
        httpx.Client(base_url=slow.url, timeout=10.0) as client,
    ):
        urn = li_upload(client, ORG, picture(63))
        assert li_status(client, urn) == "PROCESSING"

        response = li_post(client, ORG, {"media": {"id": urn}})

        assert response.status_code == 400, response.text
        assert slow.posts == []


# --- behaviours by keyword -------------------------------------------------------------------


def test_facebook_uploadflaky_refuses_the_first_upload_only(
    sandbox: SandboxServer, client: httpx.Client
) -> None:
    page = "page-uploadflaky"
    first = fb_photo(client, page, picture(71), published="false")
    assert first.status_code == 503
    assert first.text == HTML_503
    assert sandbox.media() == []

    photo_ids = [fb_stage(client, page, picture(n)) for n in (72, 73)]
    # The create call is not an upload: it goes through the first time.
    assert fb_feed(client, page, photo_ids).status_code == 200
    [post] = sandbox.posts
    assert [image.media_id for image in post.images] == photo_ids


def test_facebook_uploadflaky_photo_post_fails_once_then_posts(
    sandbox: SandboxServer, client: httpx.Client
) -> None:
    page = "page-uploadflaky-single"
    assert fb_photo(client, page, picture(74), message="Once").status_code == 503
    assert sandbox.posts == []
    second = fb_photo(client, page, picture(74), message="Once")
    assert second.status_code == 200
    assert [post.external_post_id for post in sandbox.posts] == [second.json()["post_id"]]


def test_uploadflaky_is_not_flaky_for_posts_without_pictures(client: httpx.Client) -> None:
    feed = client.post(
        "/v24.0/page-uploadflaky/feed", data={"message": "Words only", "access_token": TOKEN}
    )
    assert feed.status_code == 200
    assert li_post(client, "urn:li:organization:uploadflaky").status_code == 201


def test_linkedin_uploadflaky_refuses_the_first_put_only(
    sandbox: SandboxServer, client: httpx.Client
) -> None:
    owner = "urn:li:organization:uploadflaky"
    data = picture(75)
    initialized = li_initialize(client, owner)  # not an upload: it goes through
    assert initialized.status_code == 200, initialized.text
    value = initialized.json()["value"]

    first = li_put(client, value["uploadUrl"], data)
    assert first.status_code == 503
    second = li_put(client, value["uploadUrl"], data)
    assert second.status_code == 201

    li_wait_until(client, [value["image"]], "AVAILABLE")
    assert li_post(client, owner, {"media": {"id": value["image"]}}).status_code == 201
    [post] = sandbox.posts
    assert [image.sha256 for image in post.images] == [sha256(data)]


@pytest.mark.parametrize("published", ["true", "false"])
def test_facebook_imagerefused_refuses_the_photo_as_facebook_does(
    sandbox: SandboxServer, client: httpx.Client, published: str
) -> None:
    response = fb_photo(client, "page-imagerefused", picture(81), published=published)
    assert response.status_code == 400
    assert fb_error_code(response) == 1366046
    assert sandbox.posts == [] and sandbox.media() == []


def test_linkedin_imagerefused_refuses_initialize_upload(
    sandbox: SandboxServer, client: httpx.Client
) -> None:
    response = li_initialize(client, "urn:li:organization:imagerefused")
    assert response.status_code == 400
    body = response.json()
    assert body["status"] == 400 and body["message"] and body["code"]
    assert sandbox.media() == []


def test_linkedin_imagestuck_stays_processing_past_the_processing_time(
    sandbox: SandboxServer, client: httpx.Client
) -> None:
    owner = "urn:li:organization:imagestuck"
    stuck = li_upload(client, owner, picture(82))
    # Uploaded after the stuck one: once it is AVAILABLE, the processing time has passed for both.
    clock = li_upload(client, ORG, picture(83))
    li_wait_until(client, [clock], "AVAILABLE")

    assert li_status(client, stuck) == "PROCESSING"
    assert li_post(client, owner, {"media": {"id": stuck}}).status_code == 400
    assert sandbox.posts == []


def test_linkedin_imagefailed_ends_processing_failed(
    sandbox: SandboxServer, client: httpx.Client
) -> None:
    owner = "urn:li:organization:imagefailed"
    urn = li_upload(client, owner, picture(84))
    li_wait_until(client, [urn], "PROCESSING_FAILED")

    assert states(sandbox) == {urn: "failed"}
    assert li_post(client, owner, {"media": {"id": urn}}).status_code == 400
    assert sandbox.posts == []


# --- expired tokens --------------------------------------------------------------------------


@pytest.mark.parametrize("published", ["true", "false"])
def test_facebook_upload_with_an_expired_token_gets_token_expired(
    sandbox: SandboxServer, client: httpx.Client, published: str
) -> None:
    response = fb_photo(client, PAGE, picture(91), token=EXPIRED_TOKEN, published=published)
    assert response.status_code == 400
    assert response.json() == FB_EXPIRED
    assert sandbox.posts == [] and sandbox.media() == []


def test_linkedin_initialize_upload_with_an_expired_token_gets_token_expired(
    sandbox: SandboxServer, client: httpx.Client
) -> None:
    response = li_initialize(client, ORG, token=EXPIRED_TOKEN)
    assert response.status_code == 401
    assert response.json() == LI_EXPIRED
    assert sandbox.media() == []


def test_linkedin_put_with_an_expired_token_gets_token_expired(
    sandbox: SandboxServer, client: httpx.Client
) -> None:
    upload_url, urn = li_initialized(client, ORG)

    response = li_put(client, upload_url, picture(92), token=EXPIRED_TOKEN)

    assert response.status_code == 401
    assert response.json() == LI_EXPIRED
    assert li_status(client, urn) == "WAITING_UPLOAD"  # nothing was stored


# --- what the sandbox keeps ------------------------------------------------------------------


def test_sandbox_photos_lists_media_and_reset_clears_it(
    sandbox: SandboxServer, client: httpx.Client
) -> None:
    staged = fb_stage(client, PAGE, picture(101), alt="staged one")
    posted = fb_photo(client, PAGE, picture(102), message="Posted").json()["id"]
    urn = li_upload(client, ORG, picture(103))
    li_wait_until(client, [urn], "AVAILABLE")

    listed = client.get("/_sandbox/photos")
    assert listed.status_code == 200
    assert listed.json() == [media.as_dict() for media in sandbox.media()]
    assert [(m["media_id"], m["state"]) for m in listed.json()] == [
        (staged, "staged"),
        (posted, "published"),
        (urn, "available"),
    ]
    assert listed.json()[0]["alt"] == "staged one"

    sandbox.reset()

    assert sandbox.media() == []
    assert client.get("/_sandbox/photos").json() == []
    # Forgotten for good: the staged photo can no longer be attached.
    assert fb_feed(client, PAGE, [staged]).status_code == 400


def test_requests_record_uploads_without_tokens_or_bytes(
    sandbox: SandboxServer, client: httpx.Client
) -> None:
    fb_data, li_data, one_post = picture(111), picture(112), picture(113)
    photo_id = fb_stage(client, PAGE, fb_data)
    fb_photo(client, PAGE, one_post, message="One")
    assert fb_feed(client, PAGE, [photo_id]).status_code == 200
    upload_url, urn = li_initialized(client, ORG)
    assert li_put(client, upload_url, li_data).status_code == 201
    li_wait_until(client, [urn], "AVAILABLE")
    assert li_post(client, ORG, {"media": {"id": urn}}).status_code == 201
    assert fb_photo(client, PAGE, fb_data, token=None, published="false").status_code == 400

    records = sandbox.requests
    staged = next(r for r in records if r.get("media_id") == photo_id)
    assert (staged["path"], staged["status"]) == (f"/v24.0/{PAGE}/photos", 200)
    assert (staged["sha256"], staged["size"]) == (sha256(fb_data), len(fb_data))
    assert staged["token_present"] is True
    put = next(r for r in records if r["path"] == upload_url.split(sandbox.url, 1)[1].split("?")[0])
    assert (put["status"], put["media_id"]) == (201, urn)
    assert (put["sha256"], put["size"]) == (sha256(li_data), len(li_data))
    assert put["token_present"] is True
    tokenless = records[-1]
    assert (tokenless["status"], tokenless["token_present"]) == (400, False)

    shown = [
        json.dumps(records),
        repr(sandbox.media()),
        repr(sandbox.posts),
        *(client.get(f"/_sandbox/{name}").text for name in ("requests", "photos", "posts")),
    ]
    for data in (fb_data, li_data, one_post):
        secret_forms = (MARKER.decode(), base64.b64encode(data).decode()[:40], data.hex()[:40])
        assert not any(form in text for text in shown for form in secret_forms)
    assert not any(TOKEN in text for text in shown)


def test_a_photo_at_facebooks_size_limit_is_accepted(
    sandbox: SandboxServer, client: httpx.Client
) -> None:
    data = picture(121, size=11 * 1024 * 1024)

    photo = fb_photo(client, PAGE, data, message="Big")
    assert photo.status_code == 200, photo.text
    upload_url, urn = li_initialized(client, ORG)
    assert li_put(client, upload_url, data).status_code == 201

    assert [(m.media_id, m.sha256, m.size) for m in sandbox.media()] == [
        (photo.json()["id"], sha256(data), len(data)),
        (urn, sha256(data), len(data)),
    ]
    assert sandbox.posts[0].images[0].sha256 == sha256(data)
