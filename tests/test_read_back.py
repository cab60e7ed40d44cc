"""Unconfirmed variants settled by reading the platform back.

The connectors' reads are unit-tested with respx (what they ask, what counts as "ours"); the
rest runs against the sandbox over loopback HTTP, in this process: a publish whose answer is
lost (``lostanswer``: the post exists; ``lostrequest``: it does not), a platform that lists new
posts only after a delay, and one that refuses the read. ``omnipost variant check`` is the same
read on demand.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import respx

from omnipost_tui import clock
from omnipost_tui.config import load_settings
from omnipost_tui.connectors import (
    FacebookConnector,
    LinkedInConnector,
    PermissionDenied,
    PublishRequest,
    Transient,
)
from omnipost_tui.connectors.little_text import escape_little_text
from omnipost_tui.engine.publisher import publish_variant
from omnipost_tui.engine.queue import open_queue
from omnipost_tui.errors import InvalidTransition, NotFound
from omnipost_tui.services import readback
from omnipost_tui.services.accounts import add_account
from omnipost_tui.services.attempts import list_attempts
from omnipost_tui.services.brands import add_brand
from omnipost_tui.services.context import Context, open_context
from omnipost_tui.services.posts import add_post
from omnipost_tui.services.variants import add_variant, get_variant, publish_now
from tests.conftest import FB_TOKEN, GRAPH, LI_TOKEN, LINKEDIN_API, wait_for

SINCE = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
TEXT = "Open day (Saturday) at #roastery — 10% off_all_ [beans]!"


def fb_request(text: str = TEXT, link: str | None = None) -> PublishRequest:
    return PublishRequest(account_external_id="104200", access_token=FB_TOKEN, text=text, link=link)


def graph_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S+0000")


# --- the connectors' reads (respx) -------------------------------------------------------------


@pytest.fixture
def http() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as mock:
        yield mock


def test_facebook_finds_the_post_with_the_text_sent_across_pages(http):
    after = SINCE + timedelta(seconds=30)
    first = {
        "data": [
            {"id": "104200_9", "message": "something else", "created_time": graph_time(after)},
            # OmniPost's own earlier post with the same text: not this attempt's.
            {"id": "104200_8", "message": TEXT, "created_time": graph_time(after)},
        ],
        "paging": {"next": f"{GRAPH}/v24.0/104200/posts?after=Mg&limit=2"},
    }
    second = {
        "data": [{"id": "104200_7", "message": f"{TEXT}\n", "created_time": graph_time(after)}],
        "paging": {},
    }
    route = http.get(url__startswith=f"{GRAPH}/v24.0/104200/posts").mock(
        side_effect=[httpx.Response(200, json=first), httpx.Response(200, json=second)]
    )
    connector = FacebookConnector(GRAPH, "v24.0", 5.0)
    found = connector.find_post(fb_request(), SINCE, frozenset({"104200_8"}))
    assert (found.post_id, found.listed) == ("104200_7", 3)
    asked = route.calls[0].request
    assert asked.url.params["since"] == str(int(SINCE.timestamp()))
    assert asked.url.params["fields"] == "id,message,created_time"
    # The token travels in a header, never in a URL, and the attempt log masks it.
    assert FB_TOKEN not in str(asked.url)
    assert asked.headers["Authorization"] == f"OAuth {FB_TOKEN}"
    assert FB_TOKEN not in json.dumps(found.summary)


def test_facebook_with_pictures_looks_for_the_link_in_the_text(http, tmp_path):
    from omnipost_tui.connectors import ImageUpload

    image = ImageUpload(1, tmp_path / "a.png", "0" * 64, 10, "image/png")
    request = PublishRequest(
        account_external_id="104200",
        access_token=FB_TOKEN,
        text=TEXT,
        link="https://acme.test/open",
        images=(image,),
    )
    listed = [
        {"id": "104200_1", "message": TEXT, "created_time": graph_time(SINCE)},
        {
            "id": "104200_2",
            "message": f"{TEXT}\nhttps://acme.test/open",
            "created_time": graph_time(SINCE),
        },
    ]
    http.get(url__startswith=f"{GRAPH}/v24.0/104200/posts").mock(
        return_value=httpx.Response(200, json={"data": listed})
    )
    found = FacebookConnector(GRAPH, "v24.0", 5.0).find_post(request, SINCE)
    assert found.post_id == "104200_2"


def test_facebook_ignores_posts_from_before_the_sending_point(http):
    old = {"id": "104200_1", "message": TEXT, "created_time": graph_time(SINCE - timedelta(1))}
    http.get(url__startswith=f"{GRAPH}/v24.0/104200/posts").mock(
        return_value=httpx.Response(200, json={"data": [old]})
    )
    found = FacebookConnector(GRAPH, "v24.0", 5.0).find_post(fb_request(), SINCE)
    assert (found.post_id, found.listed) == (None, 1)


def test_facebook_read_refused_or_garbled_raises(http):
    route = http.get(url__startswith=f"{GRAPH}/v24.0/104200/posts")
    connector = FacebookConnector(GRAPH, "v24.0", 5.0)
    route.mock(
        return_value=httpx.Response(
            403, json={"error": {"message": "(#10) needs pages_read_engagement", "code": 10}}
        )
    )
    with pytest.raises(PermissionDenied, match="Facebook error 10"):
        connector.find_post(fb_request(), SINCE)
    route.mock(return_value=httpx.Response(200, text="<html>gateway</html>"))
    with pytest.raises(Transient, match="HTML"):
        connector.find_post(fb_request(), SINCE)


def li_request(text: str = TEXT) -> PublishRequest:
    return PublishRequest(
        account_external_id="urn:li:organization:42", access_token=LI_TOKEN, text=text
    )


def li_post(post_id: str, commentary: str, created: datetime) -> dict:
    return {"id": post_id, "commentary": commentary, "createdAt": int(created.timestamp() * 1000)}


def test_linkedin_matches_the_escaped_commentary_and_stops_at_older_posts(http):
    after = SINCE + timedelta(seconds=5)
    posts = [
        # The text unescaped is not what LinkedIn keeps: only the escaped form is ours.
        li_post("urn:li:share:3", TEXT, after),
        li_post("urn:li:share:2", escape_little_text(TEXT), after),
    ]
    route = http.get(url__startswith=f"{LINKEDIN_API}/rest/posts").mock(
        return_value=httpx.Response(200, json={"elements": posts})
    )
    connector = LinkedInConnector(LINKEDIN_API, "202610", 5.0)
    found = connector.find_post(li_request(), SINCE)
    assert found.post_id == "urn:li:share:2"
    asked = route.calls[0].request
    assert asked.url.params["q"] == "author"
    assert asked.url.params["author"] == "urn:li:organization:42"
    assert "author=urn%3Ali%3Aorganization%3A42" in str(asked.url)
    assert asked.headers["LinkedIn-Version"] == "202610"
    assert asked.headers["X-RestLi-Method"] == "FINDER"

    older = [li_post("urn:li:share:1", escape_little_text(TEXT), SINCE - timedelta(minutes=1))]
    route.mock(return_value=httpx.Response(200, json={"elements": older}))
    assert connector.find_post(li_request(), SINCE).post_id is None


def test_linkedin_read_refused_raises_permission_denied(http):
    http.get(url__startswith=f"{LINKEDIN_API}/rest/posts").mock(
        return_value=httpx.Response(
            403, json={"status": 403, "code": "ACCESS_DENIED", "message": "Not enough permissions"}
        )
    )
    with pytest.raises(PermissionDenied, match="permission denied"):
        LinkedInConnector(LINKEDIN_API, "202610", 5.0).find_post(li_request(), SINCE)


# --- the whole read-back against the sandbox ---------------------------------------------------


@pytest.fixture
def live(home, sandbox, monkeypatch) -> Iterator[Context]:
    """A context pointed at the sandbox, with short waits: a request is "in flight" for 3 s,
    two reads 1 s apart settle it."""
    for key, value in {
        "OMNIPOST_FACEBOOK_GRAPH_URL": sandbox.url,
        "OMNIPOST_LINKEDIN_API_URL": sandbox.url,
        "OMNIPOST_QUEUE_URL": "memory://",
        "OMNIPOST_HTTP_TIMEOUT": "1",
        "OMNIPOST_PUBLISH_TIMEOUT": "3",
        "OMNIPOST_READ_BACK_SETTLE": "1",
    }.items():
        monkeypatch.setenv(key, value)
    context = open_context(load_settings(), open_queue=open_queue)
    yield context
    context.close()


def unconfirmed(ctx: Context, platform: str, account: str, text: str = TEXT) -> int:
    """A variant published through ``account`` in this process whose answer was lost."""
    brand = add_brand(ctx, f"Brand {account}").id
    token = FB_TOKEN if platform == "facebook" else LI_TOKEN
    account_id = add_account(
        ctx, brand=brand, platform=platform, external_id=account, name=account, access_token=token
    ).id
    post = add_post(ctx, brand=brand, title="Open day", text=text).id
    variant = add_variant(ctx, post=post, account=account_id, draft=True).id
    publish_now(ctx, variant)
    assert publish_variant(ctx, variant) == "unconfirmed"
    return variant


@pytest.mark.parametrize(
    ("platform", "account"),
    [("facebook", "page-lostanswer"), ("linkedin", "urn:li:organization:lostanswer")],
)
def test_a_post_that_is_there_is_found_at_once(live, sandbox, platform, account):
    variant = unconfirmed(live, platform, account)
    [post] = sandbox.posts
    verdict = readback.check(live, variant)
    assert (verdict.status, verdict.outcome) == ("published", "found")
    done = get_variant(live, variant)
    assert done.status == "published"
    assert done.external_post_id == post.external_post_id
    assert done.last_error is None
    [attempt] = list_attempts(live, variant=variant)
    assert attempt.result == "success"
    assert attempt.external_post_id == post.external_post_id
    assert attempt.error_message.startswith("confirmed by read-back")
    [step] = attempt.read_back
    assert (step["outcome"], step["by"]) == ("found", "user")
    assert step["post_id"] == post.external_post_id
    assert len(sandbox.posts) == 1  # nothing was sent again


def test_a_post_listed_only_after_a_delay_is_found_on_the_next_read(live, sandbox):
    sandbox.list_delay_seconds = 1.5
    variant = unconfirmed(live, "facebook", "page-lostanswer")
    first = readback.check(live, variant)
    assert (first.status, first.outcome) == ("unconfirmed", "absent")
    assert first.check_at is not None
    waiting = get_variant(live, variant)
    assert waiting.check_at == first.check_at
    assert "asking again at" in waiting.last_error
    wait_for(
        lambda: sandbox.listed_posts("facebook", "page-lostanswer"),
        timeout=5,
        what="the sandbox to list the post",
    )
    second = readback.check(live, variant)
    assert (second.status, second.outcome) == ("published", "found")
    [attempt] = list_attempts(live, variant=variant)
    assert [s["outcome"] for s in attempt.read_back] == ["absent", "found"]
    assert len(sandbox.posts) == 1


def test_a_post_never_there_is_sent_again_after_two_reads_a_settle_delay_apart(live, sandbox):
    variant = unconfirmed(live, "linkedin", "urn:li:organization:lostrequest")
    assert sandbox.posts == []
    first = readback.check(live, variant)
    assert (first.status, first.outcome) == ("unconfirmed", "absent")
    # Too soon again: the request could still be on its way, so it stays unconfirmed.
    assert readback.check(live, variant).status == "unconfirmed"

    def settled():
        verdict = readback.check(live, variant)
        return verdict if verdict.status != "unconfirmed" else None

    verdict = wait_for(settled, timeout=10, interval=0.5, what="two reads far enough apart")
    assert verdict.status == "retrying"
    retrying = get_variant(live, variant)
    assert "did not list it" in retrying.last_error
    assert retrying.check_at is None
    # Sent again (attempt 2), once.
    assert publish_variant(live, variant) == "published"
    [post] = sandbox.posts
    assert get_variant(live, variant).external_post_id == post.external_post_id
    assert [a.attempt_no for a in list_attempts(live, variant=variant)] == [2, 1]


def test_a_platform_that_cannot_be_asked_leaves_it_to_a_human(live, sandbox):
    variant = unconfirmed(live, "facebook", "page-lostanswer")
    sandbox.set_behaviour("page-lostanswer", "readrefused")
    verdict = readback.check(live, variant)
    assert (verdict.status, verdict.outcome) == ("unconfirmed", "unavailable")
    stuck = get_variant(live, variant)
    assert stuck.check_at is None  # the engine stops asking
    assert "could not be asked" in stuck.last_error
    assert "pages_read_engagement" in stuck.last_error
    assert f"omnipost variant mark-published {variant}" in stuck.last_error
    assert len(sandbox.posts) == 1


def test_only_unconfirmed_variants_can_be_checked(live, sandbox):
    variant = unconfirmed(live, "facebook", "page-lostanswer")
    readback.check(live, variant)
    with pytest.raises(InvalidTransition, match="is published; only unconfirmed"):
        readback.check(live, variant)
    with pytest.raises(NotFound, match="no variant 999"):
        readback.check(live, 999)


# --- the command --------------------------------------------------------------------------------


def test_variant_check_command(live, sandbox, cli):
    variant = unconfirmed(live, "facebook", "page-lostanswer")
    [post] = sandbox.posts
    result = cli("variant", "check", str(variant))
    assert result.exit_code == 0, result.output
    assert result.output.startswith(
        f"variant {variant} is published: published: Facebook lists it as post "
        f"{post.external_post_id}, created 20"
    )
    again = cli("variant", "check", str(variant))
    assert again.exit_code != 0
    assert again.stderr.strip().splitlines() == [
        f"error: variant {variant} is published; only unconfirmed variants can be checked on "
        "the platform"
    ]
    missing = cli("variant", "check", "nope")
    assert missing.exit_code != 0
    assert len(missing.stderr.strip().splitlines()) == 1
    assert "Traceback" not in missing.output + missing.stderr


def test_variant_check_json(live, sandbox, cli):
    variant = unconfirmed(live, "linkedin", "urn:li:organization:lostrequest")
    result = cli("variant", "check", str(variant), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["read_back"] == "absent"
    assert data["variant"]["status"] == "unconfirmed"
    assert data["variant"]["check_at"] is not None


def test_reads_the_platform_fails_are_asked_again_further_apart_until_it_answers(live, sandbox):
    """A platform down for a while: each failed read is asked again after twice the wait of
    the one before (settle 1 s here: 1, 2, 4, 8 s), and once it answers the post is found."""
    variant = unconfirmed(live, "facebook", "page-lostanswer")
    sandbox.start_outage(3600)
    waits = []
    for _ in range(4):
        verdict = readback.check(live, variant)
        assert (verdict.status, verdict.outcome) == ("unconfirmed", "error")
        assert verdict.check_at is not None
        waits.append(round((verdict.check_at - clock.now()).total_seconds()))
        assert "could not be asked just now" in get_variant(live, variant).last_error
    assert waits == [1, 2, 4, 8]
    sandbox.start_outage(0)  # back
    verdict = readback.check(live, variant)
    assert (verdict.status, verdict.outcome) == ("published", "found")
    assert len(sandbox.posts) == 1


def test_a_platform_down_past_the_last_read_is_left_to_a_human(live, sandbox):
    variant = unconfirmed(live, "linkedin", "urn:li:organization:lostanswer")
    sandbox.start_outage(3600)
    verdicts = [readback.check(live, variant) for _ in range(readback.READ_ERRORS_ALLOWED)]
    assert [v.outcome for v in verdicts[:-1]] == ["error"] * (readback.READ_ERRORS_ALLOWED - 1)
    assert verdicts[-1].check_at is None  # the engine stops asking
    stuck = get_variant(live, variant)
    assert stuck.status == "unconfirmed"
    assert "could not be asked" in stuck.last_error
    assert f"omnipost variant mark-published {variant}" in stuck.last_error
