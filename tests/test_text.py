"""What text may contain (issue 8, item 5): refused at input, normalised, never printed raw.

Tabs and line breaks are text; NUL, BEL, CR on its own, ESC, DEL and the C1 controls are not.
Every service that takes text from a person refuses them with one line naming the field, the
character and where it is; text stored before the rule (or quoted from a platform's answer)
is shown with its control characters made visible.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from omnipost_tui import clock
from omnipost_tui.config import load_settings
from omnipost_tui.engine.queue import open_queue
from omnipost_tui.errors import ValidationError
from omnipost_tui.models import Brand, ConnectedSocialAccount, Post, PostVariant
from omnipost_tui.services import publishing
from omnipost_tui.services.accounts import add_account
from omnipost_tui.services.brands import add_brand
from omnipost_tui.services.compose import PostPlan, VariantPlan, check_plan, save_plan
from omnipost_tui.services.context import Context, open_context
from omnipost_tui.services.posts import add_post, update_post
from omnipost_tui.services.variants import add_variant, get_variant, update_variant
from omnipost_tui.text import check_line, check_text, storable, visible
from omnipost_tui.tui.format import first_line
from tests.conftest import FB_TOKEN, World, make_world

# Everything a terminal would act on: C0 (except tab and LF), DEL, C1. Output may hold LF.
TERMINAL_CONTROLS = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f]")
HOSTILE = "ring\x07 back\rOVERWRITE \x1b[2J nul\x00 del\x7f csi\x9b end"


# --- the rule ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ring\x07bell", "the post text contains a control character (U+0007 BEL) at line 1, "
         "column 5; remove it"),
        ("line one\nnul \x00 here", "(U+0000 NUL) at line 2, column 5"),
        ("\x1b[31mred", "(U+001B ESC) at line 1, column 1"),
        ("tab\tok\vvertical", "(U+000B VT) at line 1, column 7"),
        ("form\x0cfeed", "(U+000C FF)"),
        ("delete\x7f", "(U+007F DEL) at line 1, column 7"),
        ("c1 \x9b csi", "(U+009B) at line 1, column 4"),
        ("bad \udcff\udcfe", "the post text is not valid UTF-8 (byte 0xFF at line 1, column 5)"),
    ],
)  # fmt: skip
def test_control_characters_are_refused_with_what_and_where(text: str, message: str) -> None:
    with pytest.raises(ValidationError) as info:
        check_text(text, "post text")
    assert message in info.value.message


def test_line_ends_become_lf_and_tabs_and_line_breaks_are_kept() -> None:
    assert check_text("a\r\nb\r\n", "post text") == "a\nb\n"
    assert check_text("old mac\rline", "post text") == "old mac\nline"
    assert check_text("col\tumns\n\nand paragraphs 🎉", "post text") == (
        "col\tumns\n\nand paragraphs 🎉"
    )


def test_a_one_line_field_takes_no_line_break_or_tab() -> None:
    with pytest.raises(ValidationError, match="the post title contains a line break at column 7"):
        check_line("Launch\nDay", "post title")
    with pytest.raises(ValidationError, match=r"\(U\+0009 HT\) at column 4"):
        check_line("Big\tnews", "post title")
    assert check_line("Ünïcödé ✓ 日本", "post title") == "Ünïcödé ✓ 日本"


@pytest.mark.parametrize(
    ("name", "refused"),
    [
        ("Acme\u200b", "U+200B ZERO WIDTH SPACE"),  # looks like "Acme", is another brand
        ("Evil\u202egnp.exe", "U+202E RIGHT-TO-LEFT OVERRIDE"),  # shows as "Evilexe.png"
        ("first\u2028second", "U+2028 LINE SEPARATOR"),  # a line break all the same
        ("\ufeffAcme", "U+FEFF ZERO WIDTH NO-BREAK SPACE"),
    ],
)
def test_a_one_line_field_refuses_what_would_hide_or_reorder_it(name: str, refused: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(refused)):
        check_line(name, "brand name")


def test_a_one_line_field_keeps_joiners_and_direction_marks() -> None:
    for name in ("👨\u200d👩\u200d👧 family", "می\u200cخواهم", "שלום\u200f"):
        assert check_line(name, "brand name") == name


def test_visible_shows_every_control_as_a_symbol_and_keeps_the_rest() -> None:
    shown = visible(HOSTILE + "\nnext\tline \udcff")
    assert TERMINAL_CONTROLS.sub("", shown.replace("\t", "")) == shown.replace("\t", "")
    assert shown == ("ring␇ back␍OVERWRITE ␛[2J nul␀ del␡ csi\\x9b end\nnext\tline \\xff")


@pytest.mark.parametrize(
    ("text", "width", "expected"),
    [
        ("東京カフェ渋谷店", 8, "東京カ…"),  # 7 cells: the fourth character would straddle
        ("東京カフェ渋谷店", 16, "東京カフェ渋谷店"),  # fits exactly
        ("ab 東京", 4, "ab…"),  # no space left before the ellipsis
        ("👨‍👩‍👧 family", 4, "👨‍👩‍👧…"),  # one two-cell family, not three emoji
        ("Cafe\u0301 crème", 7, "Cafe\u0301 c…"),  # the accent takes no cell
        ("bell\x07 \x1b[2J", 20, "bell␇ ␛[2J"),  # shown, never sent to the terminal
        ("two\nlines", 20, "two lines"),
        ("anything", 0, ""),
    ],
)  # fmt: skip
def test_clip_counts_the_cells_a_terminal_draws(text: str, width: int, expected: str) -> None:
    from rich.cells import cell_len

    from omnipost_tui.text import clip

    assert clip(text, width) == expected
    assert cell_len(clip(text, width)) <= width


# --- every service that takes text ------------------------------------------------------------


def row_counts(ctx: Context) -> tuple[int, ...]:
    with ctx.db.read() as session:
        return tuple(
            session.scalar(select(func.count()).select_from(model)) or 0
            for model in (Brand, ConnectedSocialAccount, Post, PostVariant)
        )


def text_inputs(world: World) -> dict[str, Callable[[Context, str], object]]:
    later = clock.now() + timedelta(hours=1)
    return {
        "brand name": lambda ctx, bad: add_brand(ctx, f"Acme {bad}"),
        "account name": lambda ctx, bad: add_account(
            ctx,
            brand=world.brand_id,
            platform="facebook",
            external_id="104999",
            name=f"Page {bad}",
            access_token=FB_TOKEN,
        ),
        "post title": lambda ctx, bad: add_post(ctx, brand=world.brand_id, title=bad, text="x"),
        "post text": lambda ctx, bad: add_post(ctx, brand=world.brand_id, title="T", text=bad),
        "link": lambda ctx, bad: add_post(
            ctx, brand=world.brand_id, title="T", text="x", link=f"https://acme.example/{bad}"
        ),
        "post text (edit)": lambda ctx, bad: update_post(ctx, world.post_id, text=bad),
        "post title (edit)": lambda ctx, bad: update_post(ctx, world.post_id, title=bad),
        "variant text": lambda ctx, bad: add_variant(
            ctx, post=world.post_id, account=world.facebook_id, custom_text=bad, at=later
        ),
        "variant text (draft)": lambda ctx, bad: add_variant(
            ctx, post=world.post_id, account=world.facebook_id, custom_text=bad, draft=True
        ),
        "post text (editor)": lambda ctx, bad: save_plan(
            ctx, PostPlan(brand=world.brand_id, title="T", text=bad)
        ),
        "variant text (editor)": lambda ctx, bad: save_plan(
            ctx,
            PostPlan(
                brand=world.brand_id,
                title="T",
                text="fine",
                variants=(VariantPlan(world.linkedin_id, custom_text=bad, at=later),),
            ),
        ),
    }


@pytest.mark.parametrize("field", list(text_inputs(World(0, 0, 0, 0))))
def test_every_service_refuses_control_characters_and_writes_nothing(
    ctx: Context, world: World, field: str
) -> None:
    before = row_counts(ctx)
    with pytest.raises(ValidationError) as info:
        text_inputs(world)[field](ctx, "ring\x07bell")
    name = field.split(" (")[0]
    # (The editor's save prefixes the field's key: "variant 1 text: the variant text …".)
    assert f"the {name} contains a control character (U+0007 BEL) at " in info.value.message
    assert row_counts(ctx) == before


def test_editing_a_variant_refuses_control_characters(ctx: Context, world: World) -> None:
    draft = add_variant(ctx, post=world.post_id, account=world.facebook_id, draft=True)
    with pytest.raises(ValidationError, match=r"the variant text contains .*U\+001B ESC"):
        update_variant(ctx, draft.id, custom_text="\x1b]0;pwned\x07")
    assert get_variant(ctx, draft.id).custom_text is None


def test_the_editor_names_the_field_before_saving(ctx: Context, world: World) -> None:
    plan = PostPlan(
        brand=world.brand_id,
        title="T",
        text="bell\x07",
        variants=(VariantPlan(world.facebook_id, custom_text="ok\rthen \x00"),),
    )
    problems = check_plan(ctx, plan)
    assert problems["text"].startswith("the post text contains a control character (U+0007 BEL)")
    assert problems["variant.0.text"].startswith(
        "the variant text contains a control character (U+0000 NUL) at line 2, column 6"
    )


def test_windows_line_ends_are_stored_as_lf(ctx: Context, world: World) -> None:
    post = add_post(ctx, brand=world.brand_id, title="Launch\r\n", text="a\r\nb\r\n")
    assert (post.title, post.base_text) == ("Launch", "a\nb\n")
    variant = add_variant(
        ctx, post=post.id, account=world.facebook_id, custom_text="one\rtwo", draft=True
    )
    assert get_variant(ctx, variant.id).custom_text == "one\ntwo"
    saved = save_plan(
        ctx,
        PostPlan(
            brand=world.brand_id,
            title="Editor",
            text="x\r\ny",
            variants=(VariantPlan(world.linkedin_id, custom_text="p\r\nq"),),
        ),
    )
    assert saved.post.base_text == "x\ny"
    assert get_variant(ctx, saved.variants[0].id).custom_text == "p\nq"


# --- stored text is shown, never obeyed ---------------------------------------------------------


@pytest.fixture
def services(home: Path) -> Iterator[Context]:
    """A service context on the CLI's own files."""
    context = open_context(load_settings(), open_queue=open_queue)
    yield context
    context.close()


def fail_with_answer(ctx: Context, variant_id: int, answer: str) -> None:
    """A worker's attempt that the platform refused with ``answer`` (quoted in the error)."""
    claim = publishing.claim_variant(ctx, variant_id, clock.now(), "test-worker")
    assert claim is not None
    publishing.mark_sending(ctx, claim, clock.now())
    record = publishing.AttemptRecord("fail", 400, "100", answer, "permanent")
    outcome = publishing.Outcome("failed", last_error=f"Facebook refused the post: {answer}")
    assert publishing.complete_attempt(ctx, claim, record, outcome, clock.now())


def test_text_stored_before_the_rule_is_printed_safely(cli, services: Context) -> None:
    world = make_world(services)
    variant = add_variant(
        services, post=world.post_id, account=world.facebook_id, at=clock.now()
    ).id
    # Written as an older OmniPost would have stored it, before the rule existed.
    with services.db.write() as session:
        session.execute(update(Post).values(title=f"Title {HOSTILE}", base_text=HOSTILE))
        session.execute(update(PostVariant).values(custom_text=f"custom {HOSTILE}"))
        session.execute(update(Brand).values(name=f"Acme {HOSTILE}"))
        session.execute(
            update(ConnectedSocialAccount)
            .where(ConnectedSocialAccount.id == world.facebook_id)
            .values(name=f"Page {HOSTILE}")
        )
    fail_with_answer(services, variant, f"platform says {HOSTILE}")

    commands = [
        ("variant", "show", str(variant)),
        ("variant", "list"),
        ("post", "list"),
        ("failed",),
        ("attempts",),
        ("brand", "list"),
        ("account", "list"),
    ]
    for args in commands:
        result = cli(*args)
        assert result.exit_code == 0, result.output
        out = result.stdout
        assert not TERMINAL_CONTROLS.search(out), f"{args}: raw control in {out!r}"
        assert "␇" in out and "␛[2J" in out, f"{args}: {out!r}"
    doctor = cli("doctor")  # names the account whose token expiry is unknown
    assert doctor.exit_code == 2, doctor.output  # a failure: no worker runs in this test
    assert not TERMINAL_CONTROLS.search(doctor.stdout), doctor.stdout
    assert f"Page {visible(HOSTILE)}" in doctor.stdout
    shown = cli("variant", "show", str(variant)).stdout
    assert shown.endswith(f"custom {visible(HOSTILE)}\n")
    assert "␍OVERWRITE" in shown and "␀" in shown and "␡" in shown and "\\x9b" in shown

    # JSON keeps the exact text for scripts, escaped so a terminal shows it harmlessly too.
    for args in [("variant", "show", str(variant)), ("attempts",), ("post", "list")]:
        out = cli(*args, "--json").stdout
        assert not TERMINAL_CONTROLS.search(out.replace("\n", "")), f"{args}: {out!r}"
    data = json.loads(cli("variant", "show", str(variant), "--json").stdout)
    assert data["text"] == f"custom {HOSTILE}"
    [attempt] = json.loads(cli("attempts", "--json").stdout)
    # A platform's words are kept as they came, but for NUL, which no database stores alike.
    assert attempt["error_message"] == f"platform says {storable(HOSTILE)}"


def test_the_apps_lists_show_a_stored_first_line_safely() -> None:
    # Textual drops BEL, BS, VT, FF and CR itself, but would pass ESC, NUL, DEL and C1 on.
    assert first_line("\x1b[2Jcleared\x00 \x9b\nsecond line") == "␛[2Jcleared␀ \\x9b"


def test_an_error_line_shows_a_stored_name_safely(cli, services: Context) -> None:
    world = make_world(services)
    with services.db.write() as session:
        session.execute(
            update(ConnectedSocialAccount)
            .where(ConnectedSocialAccount.id == world.facebook_id)
            .values(name="Page\r\x1b[2K", status="expired")
        )
    result = cli("variant", "add", "--post", "1", "--account", "1", "--at", "+1h")
    assert result.exit_code == 2
    assert "(Page␍␛[2K) is expired" in result.stderr
    assert not TERMINAL_CONTROLS.search(result.stderr)


# --- PostgreSQL refuses NUL itself: the rule must speak first, in our words --------------------


@pytest.mark.services
def test_postgresql_refuses_nul_with_our_message(
    home: Path, monkeypatch: pytest.MonkeyPatch, postgres_url: str, cli
) -> None:
    monkeypatch.setenv("OMNIPOST_DATABASE_URL", postgres_url)
    monkeypatch.setenv("OMNIPOST_QUEUE_URL", "memory://")
    context = open_context(load_settings(), open_queue=open_queue)
    try:
        world = make_world(context)
        before = row_counts(context)
        with pytest.raises(ValidationError) as info:
            add_post(context, brand=world.brand_id, title="T", text="nul\x00here")
        assert info.value.message == (
            "the post text contains a control character (U+0000 NUL) at line 1, column 4; remove it"
        )
        result = cli("variant", "add", "--post", "1", "--account", "1", "--draft",
                     "--text", "-", input="a\x00b")  # fmt: skip
        assert (result.exit_code, result.stderr) == (
            2,
            "error: the variant text contains a control character (U+0000 NUL) at line 1, "
            "column 2; remove it\n",
        )
        assert row_counts(context) == before
    finally:
        context.close()
