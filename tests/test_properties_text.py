"""Properties of post text, from what a user writes to what each platform is sent (hypothesis).

For any text, through every service that takes one (``add_post`` + ``add_variant``, a variant's
own text, the editor's ``save_plan``, editing a scheduled variant's text or its post's), then
the claim the worker publishes from and the connector's request as it leaves (captured with
respx):

- accepted: Facebook's ``message`` is the text byte for byte; LinkedIn's ``commentary`` is
  exactly ``escape_little_text(text)``, and read with little's grammar (the recogniser in
  test_connector_linkedin, written from the grammar, not from the escaper) it is the text again,
  nothing cut. The one change ever made is the documented one: CRLF and CR become LF.
- refused: one line (an OmniPostError), nothing written. Which texts are refused is decided
  here independently (empty or blank, a control character other than tab and LF, an unpaired
  surrogate, over the platform's limit), so a text accepted or refused by mistake fails too.

And through ``omnipost post add`` / ``variant add`` (argument and stdin, stdin as raw bytes):
stored and shown by ``--json`` exactly, or exit 2 with one ``error:`` line and no traceback;
and any ``--post`` or ``--account`` typed is found (an id in ASCII digits, or a name) or refused
the same way.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
import respx
from click.testing import Result
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from omnipost_tui.config import load_settings
from omnipost_tui.connectors import PublishRequest, connector_for, escape_little_text
from omnipost_tui.engine.queue import open_queue
from omnipost_tui.errors import OmniPostError
from omnipost_tui.models import Post, PostVariant
from omnipost_tui.platforms import FACEBOOK, LINKEDIN, TEXT_LIMITS
from omnipost_tui.services.compose import PostPlan, VariantPlan, save_plan
from omnipost_tui.services.context import Context, open_context
from omnipost_tui.services.posts import add_post, get_post, update_post
from omnipost_tui.services.publishing import claim_variant
from omnipost_tui.services.variants import add_variant, get_variant, update_variant
from tests.conftest import (
    FB_TOKEN,
    GRAPH,
    LI_TOKEN,
    LINKEDIN_API,
    T0,
    FakeClock,
    World,
    make_world,
)
from tests.test_cli_errors import assert_user_error
from tests.test_connector_linkedin import walk_little

AT = T0 + timedelta(hours=1)

# --- what text is made of ------------------------------------------------------------------

PIECES = st.sampled_from(
    [
        # emoji, with ZWJ sequences, skin tones, flags and variation selectors
        "👩‍👩‍👧‍👦",
        "🏳️‍🌈",
        "👍🏽",
        "🇩🇪",
        "❤️",
        "🚀",
        # combining marks, and one letter carrying many
        "e\u0301",
        "a\u0308\u0323",
        "Z\u0337\u0322\u0334\u0353",
        "\u0301",
        # right to left, and the controls that reorder text
        "שלום",
        "مرحبا ١٢٣",
        "\u202e",
        "\u200f",
        "\u2067",
        "\u200d",
        "\ufeff",
        # spaces and line breaks of every kind
        " ",
        "\t",
        "\n",
        "\r\n",
        "\r",
        "\u00a0",
        "\u2028",
        "\u3000",
        "\u200b",
        # C0, DEL and C1 controls; NUL
        "\x00",
        "\x07",
        "\x1b[2J",
        "\x0b",
        "\x7f",
        "\x85",
        "\x9b",
        # unpaired surrogates (an undecodable byte from argv arrives as \udc80-\udcff)
        "\ud800",
        "\udc80",
        "\udfff",
        # LinkedIn's reserved characters, backslashes, and its elements
        *"\\|{}@[]()<>#*_~",
        "\\\\",
        "\\#",
        "#AI",
        "C#",
        "#1",
        "@[Acme](urn:li:organization:1)",
        "@[",
        "](",
        "https://x.example/a_(b)?q=1#f",
        "httpſ://x.example/a_b",
        "HTTP://X.EXAMPLE/~u",
        # plain words
        "Launch",
        "a",
        "ß",
        "日本語",
        ".",
    ]
)
SHORT = st.one_of(st.lists(PIECES, max_size=20).map("".join), st.text(max_size=20))


@st.composite
def long_texts(draw: st.DrawFn) -> str:
    """Texts right at, under and over each platform's limit, and 64k."""
    length = draw(st.sampled_from([2_999, 3_000, 3_001, 63_205, 63_206, 63_207, 65_536]))
    tail = draw(SHORT)
    fill = draw(st.sampled_from(["x", "é", "🚀", "(", "\\"]))
    return fill * max(0, length - len(tail)) + tail


TEXTS = st.one_of(SHORT, long_texts())

# --- what the service should do with it, decided here --------------------------------------

CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def stored_form(text: str) -> str:
    """The one change OmniPost makes to a text it accepts: line ends become LF."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def expected_refusal(text: str, platform: str) -> str | None:
    """Why ``text`` cannot go out on ``platform`` (a word for the test's messages), or None."""
    stored = stored_form(text)
    if not stored.strip():
        return "empty"
    if CONTROL.search(stored):
        return "control character"
    if len(stored) > TEXT_LIMITS[platform]:
        return "too long"
    return None


def assert_one_line(error: OmniPostError) -> None:
    assert error.message.strip(), "an empty error message"
    assert len(error.message.splitlines()) == 1, f"more than one line: {error.message!r}"


# --- through the services to the request ---------------------------------------------------


def counts(ctx: Context) -> tuple[int, int]:
    with ctx.db.read() as session:
        posts = session.scalar(select(func.count(Post.id))) or 0
        variants = session.scalar(select(func.count(PostVariant.id))) or 0
    return posts, variants


BASE = "We launch today (really)!"
EDITS = ("variant edit", "post edit")


def prepare(ctx: Context, world: World, platform: str, how: str) -> int | None:
    """For an edit: the scheduled variant (of a post of its own) that is about to be edited."""
    if how not in EDITS:
        return None
    account = world.facebook_id if platform == FACEBOOK else world.linkedin_id
    post = add_post(ctx, brand=world.brand_id, title="Props", text=BASE)
    return add_variant(ctx, post=post.id, account=account, at=AT).id


def schedule(
    ctx: Context, world: World, platform: str, how: str, text: str, edited: int | None
) -> int:
    """Schedule ``text`` on ``platform`` the way ``how`` says; returns the variant id."""
    account = world.facebook_id if platform == FACEBOOK else world.linkedin_id
    if edited is not None:
        if how == "variant edit":
            return update_variant(ctx, edited, custom_text=text).id
        update_post(ctx, get_variant(ctx, edited).post_id, text=text)
        return edited
    if how == "post text":
        post = add_post(ctx, brand=world.brand_id, title="Props", text=text)
        return add_variant(ctx, post=post.id, account=account, at=AT).id
    if how == "variant text":
        return add_variant(ctx, post=world.post_id, account=account, custom_text=text, at=AT).id
    plan = PostPlan(
        brand=world.brand_id,
        title="Props",
        text=text,
        variants=(VariantPlan(account_id=account, at=AT),),
    )
    return save_plan(ctx, plan).variants[0].id


def sent_body(ctx: Context, platform: str, text: str, link: str | None) -> dict[str, Any]:
    """The request body the configured connector sends for ``text``, as the platform reads it."""
    request = PublishRequest(
        account_external_id="104200" if platform == FACEBOOK else "urn:li:organization:42",
        access_token=FB_TOKEN if platform == FACEBOOK else LI_TOKEN,
        text=text,
        link=link,
    )
    with respx.mock(assert_all_called=True) as router:
        if platform == FACEBOOK:
            route = router.post(url__startswith=GRAPH).respond(200, json={"id": "104200_1"})
        else:
            route = router.post(f"{LINKEDIN_API}/rest/posts").respond(
                201, headers={"x-restli-id": "urn:li:share:1"}
            )
        connector = connector_for(platform, ctx.settings, httpx.Client())
        try:
            connector.publish(request)
        finally:
            connector.close()
        sent = route.calls.last.request
    if platform == FACEBOOK:
        # Strictly: the form must be ASCII (percent-encoded UTF-8) and decode without loss.
        form = parse_qs(sent.content.decode("ascii"), keep_blank_values=True, strict_parsing=True)
        return {key: values[0] for key, values in form.items()}
    body: dict[str, Any] = json.loads(sent.content)
    return body


@pytest.mark.parametrize("how", ["post text", "variant text", "editor", *EDITS])
@pytest.mark.parametrize("platform", [FACEBOOK, LINKEDIN])
@given(text=TEXTS)
@example(text="httpſ://x.example/a_b")  # long s: LinkedIn used to get an unescaped "_"
@example(text="\x00")
@example(text="\ud800 lone")
@example(text="   \n\t ")
@example(text="🚀" * 3_001)
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_any_text_goes_out_exactly_or_is_refused_with_one_line(
    ctx: Context, world: World, fake_clock: FakeClock, platform: str, how: str, text: str
) -> None:
    # A variant's own blank text means "use the post's text" (documented).
    own_text = how in ("variant text", "variant edit")
    effective = BASE if own_text and not text.strip() else text
    refusal = expected_refusal(effective, platform)
    edited = prepare(ctx, world, platform, how)
    before = counts(ctx)
    try:
        variant_id = schedule(ctx, world, platform, how, text, edited)
    except OmniPostError as error:
        assert_one_line(error)
        assert refusal is not None, f"refused ({error.message}) though it can go out"
        posts, variants = counts(ctx)
        assert variants == before[1], "a refused text left a variant behind"
        if how == "editor":  # the editor saves all or nothing (add_post alone keeps its post)
            assert posts == before[0], "a refused plan left its post behind"
        if edited is not None:
            assert get_variant(ctx, edited).text == BASE, "a refused edit changed the text"
        return
    assert refusal is None, f"accepted though {refusal}"
    # What the worker publishes from, claimed at the planned time.
    claim = claim_variant(ctx, variant_id, AT, "props")
    assert claim is not None
    assert claim.text == stored_form(effective)
    body = sent_body(ctx, platform, claim.text, claim.link)
    if platform == FACEBOOK:
        assert body["message"].encode("utf-8") == stored_form(effective).encode("utf-8")
        return
    assert body["commentary"] == escape_little_text(stored_form(effective))
    decoded, _ = walk_little(body["commentary"])  # raises where LinkedIn would cut the post
    assert decoded == stored_form(effective)


# --- through the command line --------------------------------------------------------------

# Fewer cases than the other properties: each is a whole command run.
CLI_EXAMPLES = max(10, settings.default.max_examples // 2)


@pytest.fixture
def services(home) -> Iterator[Context]:
    """A service context on the CLI's own files (SQLite database and queue)."""
    context = open_context(load_settings(), open_queue=open_queue)
    yield context
    context.close()


@pytest.fixture
def acme(services: Context) -> World:
    """Brand Acme: Facebook "Acme Page" (1), LinkedIn "Acme LinkedIn" (2), post 1."""
    return make_world(services)


def refused_with_one_line(result: Result) -> None:
    assert result.exit_code != 0
    assert_user_error(result)


def stdin_bytes(text: str) -> bytes:
    """``text`` as a file would hold it: lone surrogates become the bytes a file cannot decode."""
    return text.encode("utf-8", "surrogatepass")


@given(text=SHORT, via=st.sampled_from(["argument", "option=value", "stdin"]))
@example(text="\udc80", via="argument")  # an undecodable byte in argv
@example(text="\ud800", via="stdin")
@example(text="--json", via="argument")
@example(text="line\r\nend\n\n", via="stdin")
@settings(
    max_examples=CLI_EXAMPLES,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_post_add_stores_any_text_exactly_or_says_why_in_one_line(
    cli: Callable[..., Result], services: Context, acme: World, text: str, via: str
) -> None:
    args = ["post", "add", "--brand", "Acme", "--title", "T", "--json"]
    if via == "stdin":
        result = cli(*args, "--text", "-", input=stdin_bytes(text))
        # The newline that ends every piped file is not part of the post.
        expected = text.rstrip("\r\n")
    elif via == "option=value":
        result = cli(*args, f"--text={text}")
        expected = text
    else:
        if text == "-":
            return  # "-" means stdin
        result = cli(*args, "--text", text)
        expected = text
    undecodable = via == "stdin" and re.search("[\ud800-\udfff]", text)
    if undecodable or expected_refusal(expected, FACEBOOK) in ("empty", "control character"):
        refused_with_one_line(result)
        return
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    shown = json.loads(result.stdout)
    assert shown["text"] == stored_form(expected)
    assert get_post(services, shown["id"]).base_text == stored_form(expected)


@given(text=TEXTS, platform=st.sampled_from([FACEBOOK, LINKEDIN]))
@example(text="é" * 3_001, platform=LINKEDIN)
@example(text="x" * 63_207, platform=FACEBOOK)
@settings(
    max_examples=CLI_EXAMPLES,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_variant_add_schedules_any_text_exactly_or_says_why_in_one_line(
    cli: Callable[..., Result], acme: World, text: str, platform: str
) -> None:
    if text == "-":
        return  # "-" means stdin
    account = "Acme Page" if platform == FACEBOOK else "Acme LinkedIn"
    result = cli(
        "variant", "add", "--post", "1", "--account", account, "--at", "+1h",
        "--text", text, "--json",
    )  # fmt: skip
    if expected_refusal(text, platform) is not None:
        refused_with_one_line(result)
        return
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["custom_text"] == shown["text"] == stored_form(text)


# --- ids and names typed on the command line -------------------------------------------------

REFS = st.one_of(
    st.sampled_from(["1", "2", " 2 ", "01", "Acme Page", "Acme LinkedIn", "0", "-1", "+1", "1_0"]),
    st.sampled_from(["²", "٢", "２", "1\u2028", "\u2028", "Acme\x00", "\udc80"]),
    st.text(max_size=6),
)


def id_of(ref: str, names: dict[str, int]) -> int | None:
    """What OmniPost should find for ``ref``: an id in ASCII digits, else an exact name."""
    text = ref.strip()
    if text.isascii() and text.isdigit():
        return int(text)
    return names.get(text)


@given(post_ref=REFS, account_ref=REFS)
@example(post_ref="1", account_ref="²")  # isdigit but not int(): "something went wrong"
@example(post_ref="²", account_ref="1")
@example(post_ref="1\u2028", account_ref="1")  # the line separator was echoed in the error
@example(post_ref="1", account_ref="\udc80")  # an undecodable byte: the driver could not encode it
@settings(
    max_examples=CLI_EXAMPLES,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_any_post_or_account_typed_is_found_or_refused_in_one_line(
    cli: Callable[..., Result], acme: World, post_ref: str, account_ref: str
) -> None:
    result = cli("variant", "add", "--post", post_ref, "--account", account_ref, "--draft")
    post = id_of(post_ref, {})
    account = id_of(account_ref, {"Acme Page": acme.facebook_id, "Acme LinkedIn": acme.linkedin_id})
    if post == acme.post_id and account in (acme.facebook_id, acme.linkedin_id):
        assert result.exit_code == 0, result.output
        return
    refused_with_one_line(result)
