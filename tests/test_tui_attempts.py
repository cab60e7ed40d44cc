"""The attempts screen: every publication attempt, its detail, filters, paging, live updates."""

from __future__ import annotations

import io
import json
from datetime import timedelta

from rich.console import Console
from rich.text import Text
from textual.widgets import DataTable, Input, Label, Select, Static

from omnipost_tui import clock
from omnipost_tui.models import FAIL, PublicationAttempt
from omnipost_tui.services.attempts import AttemptFilter, list_attempts
from omnipost_tui.services.publishing import (
    AttemptRecord,
    claim_variant,
    complete_attempt,
    mark_sending,
)
from omnipost_tui.services.retry import Outcome
from omnipost_tui.services.variants import get_variant, publish_now
from omnipost_tui.states import RETRYING
from omnipost_tui.tui.app import OmniPostApp
from omnipost_tui.tui.screens import attempts as attempts_module
from omnipost_tui.tui.screens.attempts import PAGE, AttemptsScreen
from omnipost_tui.tui.screens.confirm import ConfirmScreen
from omnipost_tui.tui.screens.variants import VariantsScreen
from omnipost_tui.tui.widgets.month_grid import MonthGrid
from tests.conftest import (
    HOSTILE_ANSWER,
    HOSTILE_SHOWN,
    HeldLoads,
    assert_harmless,
    messages,
    screen_text,
    settle,
    wait_in_app,
)


def plain(renderable, width: int = 78) -> str:
    console = Console(width=width, file=io.StringIO(), record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


def row_keys(app: OmniPostApp) -> list[int]:
    table = app.screen.query_one("#attempts", DataTable)
    return [int(str(row.key.value)) for row in table.ordered_rows]


def cell(app: OmniPostApp, attempt_id: int, column: str):
    return app.screen.query_one("#attempts", DataTable).get_cell(str(attempt_id), column)


def detail_text(app: OmniPostApp) -> str:
    return plain(app.screen.query_one("#detail-body", Static).content)


def attempt_of(demo, key: str):
    return list_attempts(demo.ctx, variant=demo.data.variants[key])[0]


async def open_attempts(pilot) -> None:
    await settle(pilot)
    await pilot.press("3")
    await settle(pilot)


async def highlight(app: OmniPostApp, pilot, attempt_id: int) -> None:
    table = app.screen.query_one("#attempts", DataTable)
    table.move_cursor(row=table.get_row_index(str(attempt_id)))
    await settle(pilot)


async def type_variant_filter(pilot, text: str) -> None:
    await pilot.press("slash")
    await pilot.press(*text)
    await settle(pilot)


async def test_lists_every_attempt_newest_first_with_coloured_results(demo):
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_attempts(pilot)
        expected = [a.id for a in list_attempts(demo.ctx)]
        assert len(expected) == 7
        assert row_keys(app) == sorted(expected, reverse=True)

        published = attempt_of(demo, "launch-fb")
        duplicate = attempt_of(demo, "tasting-fb")
        result = cell(app, published.id, "result")
        assert isinstance(result, Text) and (result.plain, str(result.style)) == (
            "success",
            "green",
        )
        result = cell(app, duplicate.id, "result")
        assert (result.plain, str(result.style)) == ("fail", "red")
        assert str(cell(app, duplicate.id, "http")) == "400"
        assert "Duplicate status message" in cell(app, duplicate.id, "error").plain
        assert str(cell(app, published.id, "external")) == "acme-coffee-page_801"
        started = published.started_at.astimezone(app.tz).strftime("%m-%d %H:%M:%S")
        assert str(cell(app, published.id, "started")) == started
        assert str(cell(app, published.id, "took")) == "1.0s"
        label = str(app.screen.query_one("#position", Label).content)
        assert "1–7 of 7 attempts" in label


async def test_pending_attempt_shows_as_pending(demo):
    variant = demo.data.variants["hiring-fb"]
    demo.clock.advance(3 * 3600)
    claim = claim_variant(demo.ctx, variant, clock.now(), "w1")
    assert claim is not None
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_attempts(pilot)
        result = cell(app, claim.attempt_id, "result")
        assert (result.plain, str(result.style)) == ("pending", "yellow")
        assert str(cell(app, claim.attempt_id, "took")) == ""


async def test_moving_the_cursor_shows_the_attempt_in_the_detail_pane(demo):
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_attempts(pilot)
        newest = row_keys(app)[0]
        assert f"{newest} · #1 of variant" in detail_text(app)

        duplicate = attempt_of(demo, "tasting-fb")
        await highlight(app, pilot, duplicate.id)
        text = detail_text(app)
        assert f"of variant {demo.data.variants['tasting-fb']}" in text
        # The raw response and the redacted request, indented one key per line.
        assert '{\n  "message": "Facebook error 506: Duplicate status message"\n}' in text
        assert '"access_token": "[REDACTED]"' in text
        assert "HTTP 400" in text and "(permanent)" in text

        await pilot.press("up")
        await settle(pilot)
        above = row_keys(app)[row_keys(app).index(duplicate.id) - 1]
        assert f"{above} · #1 of variant" in detail_text(app)


async def test_raw_response_that_is_not_json_is_shown_as_it_is(demo):
    claim = _claim_due(demo, "tasting-li")
    record = AttemptRecord(
        result=FAIL, http_status=502, error_message="bad gateway", raw_response="<html>oops"
    )
    complete_attempt(demo.ctx, claim, record, Outcome(status=RETRYING), clock.now())
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_attempts(pilot)
        await highlight(app, pilot, claim.attempt_id)
        assert "<html>oops" in detail_text(app)


async def test_d_and_enter_toggle_a_full_height_detail(demo):
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_attempts(pilot)
        table = app.screen.query_one("#attempts", DataTable)
        detail = app.screen.query_one("#detail")
        # At 80×24 the table shows about nine rows, the detail pane gets the rest.
        assert 8 <= table.size.height <= 11
        assert detail.size.height >= 8
        await pilot.press("d")
        await settle(pilot)
        assert not table.display and app.focused is detail
        assert detail.size.height >= 18
        await pilot.press("escape")
        await settle(pilot)
        assert table.display and app.focused is table
        await pilot.press("enter")
        await settle(pilot)
        assert not table.display
        await pilot.press("d")
        await settle(pilot)
        assert table.display


async def test_variant_filter_typed_narrows_the_rows_and_escape_clears_it(demo):
    variant = demo.data.variants["tasting-fb"]
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_attempts(pilot)
        await type_variant_filter(pilot, str(variant))
        assert row_keys(app) == [a.id for a in list_attempts(demo.ctx, variant=variant)]
        await pilot.press("enter")  # back to the table, filter kept
        await settle(pilot)
        assert isinstance(app.focused, DataTable)
        assert "filtered" in str(app.screen.query_one("#position", Label).content)
        await pilot.press("escape")
        await settle(pilot)
        assert len(row_keys(app)) == 7
        assert app.screen.query_one("#variant", Input).value == ""


async def test_result_filter_narrows_the_rows(demo):
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_attempts(pilot)
        await pilot.press("slash")
        app.screen.query_one("#result", Select).value = "success"
        await settle(pilot)
        successes = [a.id for a in list_attempts(demo.ctx, result="success")]
        assert len(successes) == 3
        assert row_keys(app) == successes
        # Both filters together.
        await pilot.press(*str(demo.data.variants["launch-li"]))
        await settle(pilot)
        assert row_keys(app) == [attempt_of(demo, "launch-li").id]


async def test_bad_variant_ids_are_explained_beside_the_field(demo):
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_attempts(pilot)
        await type_variant_filter(pilot, "x1")
        error = app.screen.query_one("#filter-error", Label)
        assert "variant id must be a number" in str(error.content)
        assert len(row_keys(app)) == 7  # the list did not change

        await pilot.press("backspace", "backspace", *"999")
        await settle(pilot)
        assert "no variant 999" in str(error.content)
        assert row_keys(app) == []
        await pilot.press("backspace", "backspace", "backspace", "1")
        await settle(pilot)
        assert str(error.content) == ""
        assert row_keys(app) == [attempt_of(demo, "launch-fb").id]


async def test_another_screen_opens_the_attempts_of_a_variant_once(demo):
    variant = demo.data.variants["careers-li"]
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.show_filtered("attempts", AttemptFilter(variant=variant))
        await settle(pilot)
        assert app.current_mode == "attempts"
        assert app.take_filter("attempts") is None  # applied, and only once
        assert row_keys(app) == [attempt_of(demo, "careers-li").id]
        assert app.screen.query_one("#variant", Input).value == str(variant)
        # Shown again (e.g. after another screen): the filter the user has is kept.
        await pilot.press("1")
        await settle(pilot)
        await pilot.press("3")
        await settle(pilot)
        assert row_keys(app) == [attempt_of(demo, "careers-li").id]


async def test_enter_on_the_variants_screen_shows_that_variants_attempts(demo):
    variant = demo.data.variants["sale-fb"]
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_attempts(pilot)  # the screen exists already: shown again, it must look
        await pilot.press("2")
        await settle(pilot)
        assert isinstance(app.screen, VariantsScreen)
        table = app.screen.query_one(DataTable)
        table.move_cursor(row=table.get_row_index(str(variant)))
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, AttemptsScreen)
        assert row_keys(app) == [attempt_of(demo, "sale-fb").id]


async def test_a_new_failed_attempt_appears_without_a_key_press(demo):
    app = OmniPostApp(demo.ctx, poll_interval=0.1)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_attempts(pilot)
        first = row_keys(app)[0]
        await highlight(app, pilot, attempt_of(demo, "tasting-fb").id)
        cursor_on = attempt_of(demo, "tasting-fb").id

        claim = _claim_due(demo, "tasting-li")
        record = AttemptRecord(
            result=FAIL,
            http_status=429,
            error_code="429",
            error_message="throttled again",
            raw_response=json.dumps({"message": "throttled again"}),
        )
        complete_attempt(demo.ctx, claim, record, Outcome(status=RETRYING), clock.now())
        await wait_in_app(pilot, lambda: claim.attempt_id in row_keys(app), "the new attempt")
        assert row_keys(app)[:2] == [claim.attempt_id, first]
        assert cell(app, claim.attempt_id, "result").plain == "fail"
        assert "throttled again" in cell(app, claim.attempt_id, "error").plain
        # The cursor stayed on the attempt the user was reading.
        table = app.screen.query_one("#attempts", DataTable)
        assert table.coordinate_to_cell_key((table.cursor_row, 0)).row_key.value == str(cursor_on)


async def test_oldest_and_newest_keys_move_the_cursor_when_all_fits_on_one_page(demo):
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_attempts(pilot)
        keys = row_keys(app)
        assert f"1–{len(keys)} of {len(keys)} attempts" in str(
            app.screen.query_one("#position", Label).content
        )
        table = app.screen.query_one("#attempts", DataTable)
        await pilot.press("G")
        await settle(pilot)
        assert table.cursor_row == len(keys) - 1
        assert f"attempt {keys[-1]} ·" in " ".join(detail_text(app).split())
        await pilot.press("g")
        await settle(pilot)
        assert table.cursor_row == 0
        assert f"attempt {keys[0]} ·" in " ".join(detail_text(app).split())


async def test_pages_through_many_attempts(demo):
    variant = demo.data.variants["careers-draft"]
    _add_attempts(demo, variant, 2 * PAGE + 30)
    total = 2 * PAGE + 30 + 7
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_attempts(pilot)
        position = app.screen.query_one("#position", Label)
        newest = row_keys(app)
        assert len(newest) == PAGE
        assert f"1–{PAGE} of {total:,} attempts" in str(position.content)
        await pilot.press("right_square_bracket")
        await settle(pilot)
        second = row_keys(app)
        assert second[0] == newest[-1] - 1 and len(second) == PAGE
        assert f"{PAGE + 1}–{2 * PAGE} of" in str(position.content)
        await pilot.press("G")
        await settle(pilot)
        assert row_keys(app)[-1] == min(a.id for a in list_attempts(demo.ctx))
        assert f"{total - PAGE + 1}–{total:,} of" in str(position.content)
        await pilot.press("g")
        await settle(pilot)
        assert row_keys(app) == newest
        # Down from the last row of a page goes on to the next page.
        await pilot.press("right_square_bracket")
        await settle(pilot)
        await pilot.press("left_square_bracket")
        await settle(pilot)
        assert row_keys(app) == newest


async def test_r_retries_the_variant_of_the_highlighted_attempt(demo):
    failed = demo.data.variants["tasting-fb"]
    unconfirmed = demo.data.variants["sale-fb"]
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_attempts(pilot)
        await highlight(app, pilot, attempt_of(demo, "tasting-fb").id)
        await pilot.press("r")
        await settle(pilot)
        assert get_variant(demo.ctx, failed).status == "scheduled"

        # Unconfirmed: the post may be there already, so it asks first.
        await highlight(app, pilot, attempt_of(demo, "sale-fb").id)
        await pilot.press("r")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        await settle(pilot)
        assert get_variant(demo.ctx, unconfirmed).status == "unconfirmed"
        await pilot.press("r")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert get_variant(demo.ctx, unconfirmed).status == "scheduled"


async def test_p_publishes_the_attempts_variant_now_after_confirming(demo):
    failed = demo.data.variants["tasting-fb"]
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_attempts(pilot)
        await highlight(app, pilot, attempt_of(demo, "tasting-fb").id)
        await pilot.press("p")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        assert f"Publish variant {failed} now?" == app.screen.title_text
        await pilot.press("y")
        await settle(pilot)
        variant = get_variant(demo.ctx, failed)
        assert variant.status == "scheduled" and variant.scheduled_at <= clock.now()


async def test_m_marks_the_attempts_variant_published(demo):
    unconfirmed = demo.data.variants["sale-fb"]
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_attempts(pilot)
        await highlight(app, pilot, attempt_of(demo, "sale-fb").id)
        await pilot.press("m")
        await settle(pilot)
        await pilot.press(*"northwind_99", "enter")
        await settle(pilot)
        variant = get_variant(demo.ctx, unconfirmed)
        assert (variant.status, variant.external_post_id) == ("published", "northwind_99")


async def test_e_opens_the_editor_on_the_attempts_variant(demo):
    from omnipost_tui.tui.screens.editor import EditorScreen

    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_attempts(pilot)
        await highlight(app, pilot, attempt_of(demo, "careers-li").id)
        await pilot.press("e")
        await settle(pilot)
        assert isinstance(app.screen, EditorScreen)


async def test_v_shows_the_variant_on_the_variants_screen(demo):
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_attempts(pilot)
        await highlight(app, pilot, attempt_of(demo, "careers-li").id)
        await pilot.press("v")
        await settle(pilot)
        assert isinstance(app.screen, VariantsScreen)
        table = app.screen.query_one(DataTable)
        keys = {str(row.key.value) for row in table.ordered_rows}
        assert str(demo.data.variants["careers-li"]) in keys
        assert str(demo.data.variants["launch-fb"]) not in keys  # another post


async def test_showing_the_screen_acknowledges_repeated_failures(demo):
    # Five failures within the last hour (the default alert settings).
    _add_attempts(demo, demo.data.variants["careers-draft"], 5, started=clock.now())
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert "repeated_failures" in {a.kind for a in app.unseen_alerts}
        await pilot.press("3")
        await settle(pilot)
        assert "repeated_failures" not in {a.kind for a in app.unseen_alerts}


# --- helpers ------------------------------------------------------------------------------------


def _claim_due(demo, key: str):
    """Claim a variant (moving the clock past its retry time if needed) and reach sending."""
    variant = demo.data.variants[key]
    demo.clock.advance(10 * 60)
    claim = claim_variant(demo.ctx, variant, clock.now(), "test-worker")
    assert claim is not None
    assert mark_sending(demo.ctx, claim, clock.now())
    return claim


def _add_attempts(demo, variant_id: int, count: int, started=None) -> None:
    started = started or clock.now() - timedelta(days=60)
    with demo.ctx.db.write() as session:
        session.add_all(
            PublicationAttempt(
                variant_id=variant_id,
                attempt_no=number,
                started_at=started - timedelta(minutes=number),
                finished_at=started - timedelta(minutes=number, seconds=-2),
                result=FAIL,
                error_message=f"failure {number}",
            )
            for number in range(1, count + 1)
        )


async def test_the_error_code_is_said_once(demo):
    """A platform's message often names its code already: the detail and the table showed
    'REVOKED_ACCESS_TOKEN: LinkedIn error 401 REVOKED_ACCESS_TOKEN'."""
    repeated = _claim_due(demo, "tasting-li")
    message = "LinkedIn error 401 REVOKED_ACCESS_TOKEN: the member revoked the token"
    record = AttemptRecord(
        result=FAIL, http_status=401, error_code="REVOKED_ACCESS_TOKEN", error_message=message
    )
    complete_attempt(demo.ctx, repeated, record, Outcome(status="failed"), clock.now())
    # A code the message does not name is still shown in front of it.
    publish_now(demo.ctx, demo.data.variants["hiring-fb"])
    unnamed = _claim_due(demo, "hiring-fb")
    record = AttemptRecord(
        result=FAIL, http_status=400, error_code="1609005", error_message="Link could not be read"
    )
    complete_attempt(demo.ctx, unnamed, record, Outcome(status="failed"), clock.now())
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_attempts(pilot)
        await highlight(app, pilot, repeated.attempt_id)
        assert cell(app, repeated.attempt_id, "error").plain == message
        error_line = " ".join(detail_text(app).split())  # the detail wraps long lines
        assert error_line.count("REVOKED_ACCESS_TOKEN") == 1
        assert f"error {message}" in error_line

        await highlight(app, pilot, unnamed.attempt_id)
        assert cell(app, unnamed.attempt_id, "error").plain == "1609005: Link could not be read"


def store_attempt_answer(demo, key: str, **values) -> int:
    """What a platform answered (or an older version stored), written as it came."""
    from sqlalchemy import update

    attempt = attempt_of(demo, key).id
    with demo.ctx.db.write() as session:
        session.execute(
            update(PublicationAttempt).where(PublicationAttempt.id == attempt).values(**values)
        )
    return attempt


async def test_a_platform_answer_with_control_characters_is_shown_harmlessly(demo):
    # JSON escapes the controls (\u001b); decoded for pretty printing they are real again.
    as_json = store_attempt_answer(
        demo,
        "tasting-fb",
        error_message=HOSTILE_ANSWER,
        raw_response=json.dumps({"error": {"message": HOSTILE_ANSWER, "code": 100}}),
        request_summary=json.dumps({"method": "POST", "body": {"message": HOSTILE_ANSWER}}),
        external_post_id="id\x1b[31m",
    )
    # Not JSON at all: a proxy's page, as it came.
    as_page = store_attempt_answer(
        demo, "careers-li", raw_response=f"<html>\r\n{HOSTILE_ANSWER}\r\n</html>"
    )
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_attempts(pilot)
        assert "␛[2Jinput" in str(cell(app, as_json, "error"))
        assert str(cell(app, as_json, "external")) == "id␛[31m"
        await highlight(app, pilot, as_json)
        await pilot.press("d")  # the detail, full screen
        await settle(pilot)
        detail = detail_text(app)
        assert HOSTILE_SHOWN in detail  # the error line
        # The request and the raw answer, pretty-printed (a JSON string escapes its backslash).
        assert detail.count('"bad␇ ␛[2Jinput␀ ␡ \\\\x9b [/] end"') == 2, detail
        assert "id␛[31m" in detail
        assert_harmless(detail)
        assert_harmless(screen_text(app))

        await pilot.press("d")
        await highlight(app, pilot, as_page)
        detail = detail_text(app)
        assert f"<html>\n{HOSTILE_SHOWN}\n</html>" in detail
        assert_harmless(detail)
        assert_harmless(screen_text(app))


async def test_c_reads_the_page_back_and_the_detail_shows_the_read(demo):
    import httpx
    import respx

    from tests.conftest import GRAPH

    variant_id = demo.data.variants["sale-fb"]
    variant = get_variant(demo.ctx, variant_id)
    attempt = attempt_of(demo, "sale-fb")
    sent = (attempt.sent_at or attempt.started_at) + timedelta(seconds=1)
    listing = {
        "data": [
            {
                "id": "northwind_42",
                "message": variant.text,
                "created_time": sent.strftime("%Y-%m-%dT%H:%M:%S+0000"),
            }
        ]
    }
    app = OmniPostApp(demo.ctx)
    with respx.mock(assert_all_called=False) as http:
        reads = http.get(url__regex=rf"^{GRAPH}/v[0-9.]+/[^/]+/posts").mock(
            return_value=httpx.Response(200, json=listing)
        )
        async with app.run_test(size=(80, 24)) as pilot:
            await open_attempts(pilot)
            await highlight(app, pilot, attempt.id)
            await pilot.press("c")
            await wait_in_app(
                pilot,
                lambda: get_variant(demo.ctx, variant_id).status == "published",
                "the read-back to settle the variant",
            )
            await settle(pilot)
            assert reads.call_count == 1
            assert get_variant(demo.ctx, variant_id).external_post_id == "northwind_42"
            messages = " ".join(str(n.message) for n in app._notifications)
            assert "Facebook lists it as post northwind_42" in messages
            await highlight(app, pilot, attempt.id)
            shown = detail_text(app)
            assert "read back" in shown
            assert "found (user): Facebook lists it as post northwind_42" in shown


async def test_a_key_typed_before_the_filtered_page_lands_acts_on_no_old_row(demo, monkeypatch):
    """`a` on the calendar, then `p` at once: the attempts screen still holds the rows of
    before while the variant's page loads; `p` must not offer to publish the old row's variant."""
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_attempts(pilot)
        left = attempt_of(demo, "tasting-fb")  # failed: "publish now" would be offered
        await highlight(app, pilot, left.id)
        await pilot.press("1")
        await settle(pilot)
        # The calendar's agenda on another variant, one with an attempt of its own.
        wanted = get_variant(demo.ctx, demo.data.variants["launch-fb"])
        assert wanted.scheduled_at is not None and wanted.id != left.variant_id
        app.screen.query_one(MonthGrid).selected = wanted.scheduled_at.astimezone(app.tz).date()
        await settle(pilot)
        agenda = app.screen.query_one("#agenda", DataTable)
        agenda.move_cursor(row=agenda.get_row_index(str(wanted.id)))
        await settle(pilot)
        assert app.screen.selected().id == wanted.id

        loads = HeldLoads(monkeypatch, attempts_module, "load_page")
        try:
            await pilot.press("a", "p")
            await wait_in_app(
                pilot,
                lambda: isinstance(app.screen, ConfirmScreen) or messages(app),
                "an answer to p",
            )
            assert loads.started.is_set()  # the filtered page was still on its way
            assert not isinstance(app.screen, ConfirmScreen), screen_text(app)
            assert "no attempt selected" in messages(app)
        finally:
            loads.release()
        await settle(pilot)
        assert set(row_keys(app)) == {a.id for a in list_attempts(demo.ctx, variant=wanted.id)}
        await pilot.press("p")
        await settle(pilot)
        # Now p acts on the attempt shown: that variant went out, so it is refused, naming it.
        assert f"variant {wanted.id} is published" in messages(app)[-1]


async def test_retry_of_an_unconfirmed_variant_names_the_keys_of_this_screen(demo):
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_attempts(pilot)
        await highlight(app, pilot, attempt_of(demo, "sale-fb").id)
        await pilot.press("r")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        said = str(app.screen.body)
        assert "Press c to ask the platform or m to mark it published if you found it." in said
