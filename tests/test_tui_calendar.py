"""The calendar screen, driven by its keys on the demo data (80×24).

The demo clock stands at Wednesday 9 December 2026, 10:30 in Berlin. Its variants by local day:
3 Dec two published, 5 Dec one published, 7 and 8 Dec one failed each, 9 Dec one unconfirmed
(07:30), one retrying (10:26) and two scheduled (12:30, 12:45), 10 Dec one scheduled (11:30),
12 and 17 Dec one scheduled each.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import ClassVar
from zoneinfo import ZoneInfo

import pytest
from rich.cells import cell_len
from textual.screen import Screen
from textual.widgets import DataTable, Label

from omnipost_tui.services import publishing
from omnipost_tui.services.variants import add_variant, get_variant
from omnipost_tui.tui.app import OmniPostApp
from omnipost_tui.tui.format import STATUS_STYLES
from omnipost_tui.tui.screens import calendar as calendar_module
from omnipost_tui.tui.screens import editor as editor_module
from omnipost_tui.tui.screens.calendar import CalendarScreen
from omnipost_tui.tui.screens.confirm import AskScreen, ConfirmScreen
from omnipost_tui.tui.widgets.month_grid import HEADER_LINES, MonthGrid
from tests.conftest import (
    HeldLoads,
    messages,
    publish_before_the_filtered_rows_land,
    screen_text,
    search_palette,
    settle,
    wait_in_app,
)

BERLIN = ZoneInfo("Europe/Berlin")
DEC = 12


def d(day: int, month: int = DEC, year: int = 2026) -> date:
    return date(year, month, day)


def grid(app) -> MonthGrid:
    return app.screen.query_one(MonthGrid)


def agenda_table(app) -> DataTable:
    return app.screen.query_one("#agenda", DataTable)


def agenda_ids(app) -> list[int]:
    return [int(str(row.key.value)) for row in agenda_table(app).ordered_rows]


def agenda_column(app, index: int) -> list[str]:
    table = agenda_table(app)
    return [str(table.get_row_at(row)[index]) for row in range(table.row_count)]


def day_title(app) -> str:
    return str(app.screen.query_one("#day-title", Label).render())


def cursor_id(app) -> int:
    table = agenda_table(app)
    return int(str(table.ordered_rows[table.cursor_row].key.value))


def grid_text(app) -> list[str]:
    widget = grid(app)
    return [widget.render_line(y).text for y in range(widget.size.height)]


def notes(app) -> list[str]:
    return [n.message for n in app._notifications]


def local_time(value: datetime) -> tuple[date, int, int]:
    at = value.astimezone(BERLIN)
    return at.date(), at.hour, at.minute


async def press(pilot, *keys: str) -> None:
    for key in keys:
        await pilot.press(key)
        await settle(pilot)


async def select_row(pilot, variant_id: int) -> None:
    """Focus the agenda (Enter on the day) and walk its cursor to a variant."""
    app = pilot.app
    if app.screen.focused is not agenda_table(app):
        await press(pilot, "enter")
    assert app.screen.focused is agenda_table(app)
    target = agenda_ids(app).index(variant_id)
    while agenda_table(app).cursor_row < target:
        await press(pilot, "down")
    while agenda_table(app).cursor_row > target:
        await press(pilot, "up")
    assert cursor_id(app) == variant_id


class FakeEditor(Screen[bool]):
    """Stands in for the editor: records what it was opened with."""

    opened: ClassVar[list[dict]] = []

    def __init__(self, **kwargs) -> None:
        super().__init__()
        FakeEditor.opened.append(kwargs)


@pytest.fixture
def fake_editor(monkeypatch: pytest.MonkeyPatch) -> type[FakeEditor]:
    FakeEditor.opened = []
    monkeypatch.setattr(editor_module, "EditorScreen", FakeEditor)
    return FakeEditor


# --- the month ------------------------------------------------------------------------------


async def test_opens_on_today_in_december_with_counts_by_status(demo):
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, CalendarScreen)
        g = grid(app)
        assert g.selected == g.today == d(9)
        assert g.counts_for(d(3)) == {"published": 2}
        assert g.counts_for(d(7)) == {"failed": 1}
        assert g.counts_for(d(9)) == {"unconfirmed": 1, "retrying": 1, "scheduled": 2}
        assert g.counts_for(d(10)) == {"scheduled": 1}
        assert g.counts_for(d(11)) == {}
        lines = grid_text(app)
        assert "December 2026" in lines[0]
        assert lines[1].split() == ["Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"]
        # Each day: its number and counts, then its variants' times; a busy one says how many
        # more (the agenda lists them all).
        assert cell(g, d(7)) == ["7 ✗1", "✗10:30", ""]
        assert cell(g, d(9)) == ["9", "?07:30", "+3 more"]
        week = HEADER_LINES + next(i for i, w in enumerate(g.weeks) if d(9) in w) * 3
        colours = {
            seg.text: seg.style.color.name
            for y in range(week, week + 3)
            for seg in g.render_line(y)
            if seg.style and seg.style.color and seg.text.strip()
        }
        assert colours["✗1"] == "red"  # "bold red"
        assert colours["?"] == STATUS_STYLES["unconfirmed"].split()[-1]
        assert cell(g, d(3))[0] == "3 ✓2"
        assert any(
            seg.text == "✓2" and seg.style.color.name == STATUS_STYLES["published"]
            for y in range(HEADER_LINES, HEADER_LINES + 3)
            for seg in g.render_line(y)
        )


def cell(g: MonthGrid, day: date) -> list[str]:
    return [line.strip() for line in g.cell_text(day)]


@pytest.mark.parametrize(("size", "lines"), [((80, 24), 3), ((120, 40), 6)])
async def test_each_day_stays_in_its_cell_and_a_busy_day_says_how_many_more(demo, size, lines):
    # Nine variants on Wednesday 16 December, more than a cell holds at either size.
    post = demo.data.posts["tasting"]
    accounts = [demo.data.accounts["acme-fb"], demo.data.accounts["acme-li"]]
    start = datetime(2026, 12, 16, 8, 0, tzinfo=UTC)  # 09:00 in Berlin
    for i in range(9):
        at = start + timedelta(minutes=10 * i)
        add_variant(demo.ctx, post=post, account=accounts[i % 2], at=at)
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        g = grid(app)
        assert g.lines_per_week() == lines  # the height the terminal gives is used
        # A rule between every two days, and nothing of a day beyond its own cell.
        assert_every_cell_keeps_its_width(g)
        busy = cell(g, d(16))
        shown = lines - 2  # the number's line and the "+N more" line aside
        assert busy[0] == "16 ◷9"
        assert [line[:6] for line in busy[1:-1]] == [f"◷09:{m}0" for m in range(shown)]
        assert busy[-1] == f"+{9 - shown} more"
        if size == (120, 40):
            # Room for the platform beside the time.
            assert [line[7:] for line in busy[1:3]] == ["FB", "LI"]
            # The 9th's four variants all fit: no "+N more" there.
            assert cell(g, d(9))[1:5] == ["?07:30 FB", "↻10:26 LI", "◷12:30 FB", "◷12:45 LI"]


def assert_every_cell_keeps_its_width(g: MonthGrid) -> None:
    """Measured in terminal cells: a rule between every two days at the same column on every
    line, and each day's text exactly as wide as its cell."""
    width = g.cell_width()
    for y in range(HEADER_LINES, HEADER_LINES + len(g.weeks) * g.lines_per_week()):
        strip = g.render_line(y)
        assert strip.cell_length == g.size.width, strip.text
        days = strip.divide([width * c for c in range(1, 8)])[1:7]
        assert [day.text[0] for day in days] == ["│"] * 6, strip.text
        assert [day.cell_length for day in days] == [width] * 6, strip.text
    for week in g.weeks:
        for day in week:
            assert [cell_len(line) for line in g.cell_text(day)] == [width - 1] * len(
                g.cell_text(day)
            ), day


@pytest.mark.parametrize("size", [(80, 24), (120, 40), (180, 50)])
async def test_wide_characters_stay_in_their_day(demo, size):
    # Account names in Japanese and with emoji take two cells a character: cut by cells, not
    # by characters, they still end inside their day and in the agenda's column. The grid
    # names accounts from 16-column days on (180 columns); narrower, it says FB or LI only.
    from sqlalchemy import update

    from omnipost_tui.models import ConnectedSocialAccount, Post

    names = {"acme-fb": "東京カフェ渋谷店", "acme-li": "☕🥐 Café Crème 渋谷"}
    with demo.ctx.db.write() as session:
        for key, name in names.items():
            session.execute(
                update(ConnectedSocialAccount)
                .where(ConnectedSocialAccount.id == demo.data.accounts[key])
                .values(name=name)
            )
        session.execute(update(Post).values(base_text="🎉🎉 新年快乐 ☕ grand opening 🥐🥐🥐"))
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        g = grid(app)
        assert_every_cell_keeps_its_width(g)
        if g.cell_width() >= 16:  # cut where the next character would not fit, with "…"
            assert cell(g, d(9))[3:5] == ["◷12:30 FB 東京…", "◷12:45 LI ☕🥐…"]
        else:
            assert not any("東" in line for line in g.cell_text(d(9)))
        screen = app.screen
        assert isinstance(screen, CalendarScreen)
        table = agenda_table(app)
        for key in ("account", "text"):
            column = [str(table.get_cell(row.key, key)) for row in table.ordered_rows]
            room = max(0, screen._widths[key] - 1)  # no account column at 80 columns
            assert column and all(cell_len(c) <= room for c in column), column
        assert any(c.startswith("🎉🎉 新") for c in agenda_column(app, 4))


async def test_keys_move_the_day_and_the_month(demo):
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        g = grid(app)
        steps = [
            ("l", d(10)),
            ("h", d(9)),
            ("j", d(16)),
            ("k", d(9)),
            ("right", d(10)),
            ("left", d(9)),
            ("down", d(16)),
            ("up", d(9)),
            ("home", d(1)),
            ("end", d(31)),
            ("right_square_bracket", d(31, 1, 2027)),
            ("right_square_bracket", d(28, 2, 2027)),  # clamped to February's last day
            ("left_square_bracket", d(28, 1, 2027)),
            ("pageup", d(28)),
            ("pagedown", d(28, 1, 2027)),
            ("t", d(9)),
        ]
        for key, expected in steps:
            await press(pilot, key)
            assert g.selected == expected, key
        assert "December 2026" in grid_text(app)[0]


async def test_arrows_cross_into_the_next_month_and_load_it(demo):
    early_january = datetime(2027, 1, 5, 9, 0, tzinfo=UTC)
    jan = add_variant(
        demo.ctx,
        post=demo.data.posts["sale"],
        account=demo.data.accounts["north-fb"],
        at=early_january,
    )
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "end", "l")
        g = grid(app)
        assert g.selected == d(1, 1, 2027)
        assert "January 2027" in grid_text(app)[0]
        assert g.counts_for(d(5, 1, 2027)) == {"scheduled": 1}
        await press(pilot, "j")  # 8 January
        await press(pilot, "h", "h", "h")
        assert g.selected == d(5, 1, 2027)
        assert agenda_ids(app) == [jan.id]
        await press(pilot, "k")  # back over the edge: 29 December
        assert g.selected == d(29)
        assert "December 2026" in grid_text(app)[0]


# --- the agenda -----------------------------------------------------------------------------


async def test_agenda_lists_the_local_day_including_near_midnight(demo):
    # 23:30 on the 10th and 00:15 on the 11th in Berlin are both the 10th in UTC.
    late = add_variant(
        demo.ctx,
        post=demo.data.posts["sale"],
        account=demo.data.accounts["north-fb"],
        at=datetime(2026, 12, 10, 22, 30, tzinfo=UTC),
    )
    after_midnight = add_variant(
        demo.ctx,
        post=demo.data.posts["hiring"],
        account=demo.data.accounts["acme-li"],
        at=datetime(2026, 12, 10, 23, 15, tzinfo=UTC),
    )
    v = demo.data.variants
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert agenda_ids(app) == [v["sale-fb"], v["tasting-li"], v["hiring-fb"], v["hiring-li"]]
        assert agenda_column(app, 0) == ["07:30", "10:26", "12:30", "12:45"]
        await press(pilot, "l")
        assert agenda_ids(app) == [v["sale-again"], late.id]
        assert grid(app).counts_for(d(10)) == {"scheduled": 2}
        assert agenda_column(app, 0) == ["11:30", "23:30"]
        await press(pilot, "l")
        assert agenda_ids(app) == [after_midnight.id]
        assert grid(app).counts_for(d(11)) == {"scheduled": 1}
        assert "Fri 11 Dec" in day_title(app) and "1 variant" in day_title(app)


async def test_a_dst_day_shows_the_zone_with_each_time(demo):
    # 28 March 2027: Berlin skips 02:00-03:00; 03:30 is CEST.
    spring = add_variant(
        demo.ctx,
        post=demo.data.posts["sale"],
        account=demo.data.accounts["north-fb"],
        at=datetime(2027, 3, 28, 1, 30, tzinfo=UTC),
    )
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        for _ in range(3):
            await press(pilot, "right_square_bracket")
        while grid(app).selected != d(28, 3, 2027):
            await press(pilot, "l")
        assert agenda_ids(app) == [spring.id]
        assert agenda_column(app, 0) == ["03:30 CEST"]
        assert "23h day" in day_title(app)


async def test_enter_on_an_agenda_row_and_n_open_the_real_editor(demo):
    from omnipost_tui.tui.screens.editor import EditorScreen

    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "enter")  # the day's agenda
        assert app.screen.focused is agenda_table(app)
        await press(pilot, "enter")
        assert isinstance(app.screen, EditorScreen)
        v = demo.data.variants
        assert (app.screen.post_id, app.screen.variant_id) == (
            demo.data.posts["sale"],
            v["sale-fb"],
        )
        app.pop_screen()
        await settle(pilot)
        app.screen.query_one(MonthGrid).focus()
        await press(pilot, "n")
        assert isinstance(app.screen, EditorScreen)
        assert app.screen.day == d(9) and app.screen.variant_id is None


async def test_enter_edit_and_new_open_the_editor_with_the_variant_or_the_day(demo, fake_editor):
    v = demo.data.variants
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await select_row(pilot, v["hiring-fb"])
        await press(pilot, "enter")
        hiring = demo.data.posts["hiring"]
        assert fake_editor.opened == [{"post_id": hiring, "variant_id": v["hiring-fb"]}]
        app.pop_screen()
        await settle(pilot)
        await press(pilot, "e")
        assert fake_editor.opened[-1] == {"post_id": hiring, "variant_id": v["hiring-fb"]}
        app.pop_screen()
        await settle(pilot)
        app.screen.query_one(MonthGrid).focus()
        await press(pilot, "l", "n")
        assert fake_editor.opened[-1] == {"day": d(10)}


# --- move -----------------------------------------------------------------------------------


async def test_move_keeps_the_local_time_on_the_new_day(demo):
    v = demo.data.variants
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await select_row(pilot, v["hiring-fb"])  # 9 Dec 12:30
        await press(pilot, "m")
        screen = app.screen
        assert screen.moving is not None and screen.moving.id == v["hiring-fb"]
        assert screen.focused is grid(app)
        line = str(screen.query_one("#move-line", Label).render())
        assert "moving #" in line and "Esc" in line
        assert screen.query_one("#move-line").display
        await press(pilot, "l", "l", "enter")  # Friday 11 December
        moved = get_variant(demo.ctx, v["hiring-fb"])
        assert moved.status == "scheduled"
        assert local_time(moved.scheduled_at) == (d(11), 12, 30)
        assert screen.moving is None
        assert not screen.query_one("#move-line").display
        # The new day's agenda shows it, selected.
        assert grid(app).selected == d(11)
        assert agenda_ids(app) == [v["hiring-fb"]]
        assert cursor_id(app) == v["hiring-fb"]
        assert grid(app).counts_for(d(11)) == {"scheduled": 1}
        assert grid(app).counts_for(d(9)) == {"unconfirmed": 1, "retrying": 1, "scheduled": 1}
        # Back on the grid: the day keys work at once.
        assert screen.focused is grid(app)
        await press(pilot, "l")
        assert grid(app).selected == d(12)


async def test_escape_cancels_a_move(demo):
    v = demo.data.variants
    before = get_variant(demo.ctx, v["hiring-fb"])
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await select_row(pilot, v["hiring-fb"])
        await press(pilot, "m", "l", "escape")
        assert app.screen.moving is None
        await press(pilot, "enter")  # now just the day's agenda
        assert app.screen.focused is agenda_table(app)
        assert get_variant(demo.ctx, v["hiring-fb"]) == before


async def test_a_published_variant_cannot_be_moved(demo):
    v = demo.data.variants
    before = get_variant(demo.ctx, v["launch-fb"])
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "k", "l")  # Thursday 3 December
        assert grid(app).selected == d(3)
        await select_row(pilot, v["launch-fb"])
        await press(pilot, "m")
        assert app.screen.moving is None
        assert any("published" in n and "moved" in n for n in notes(app))
        await press(pilot, "l", "enter")
        assert get_variant(demo.ctx, v["launch-fb"]) == before


async def test_a_move_to_a_past_day_is_refused_and_another_day_can_be_picked(demo):
    v = demo.data.variants
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await select_row(pilot, v["hiring-fb"])
        await press(pilot, "m", "h", "enter")  # yesterday
        assert any("past" in n for n in notes(app))
        assert local_time(get_variant(demo.ctx, v["hiring-fb"]).scheduled_at) == (d(9), 12, 30)
        assert app.screen.moving is not None  # still picking
        await press(pilot, "right_square_bracket", "enter")  # 8 January
        assert local_time(get_variant(demo.ctx, v["hiring-fb"]).scheduled_at) == (
            d(8, 1, 2027),
            12,
            30,
        )


# --- publish now, retry -----------------------------------------------------------------------


async def test_publish_now_asks_first_and_only_yes_publishes(demo):
    v = demo.data.variants
    before = get_variant(demo.ctx, v["hiring-fb"])
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await select_row(pilot, v["hiring-fb"])
        for refuse in ("n", "escape"):
            await press(pilot, "p")
            assert isinstance(app.screen, ConfirmScreen)
            body = str(app.screen.query_one("#body").render())
            assert "Acme Coffee" in body and "We are hiring baristas" in body
            await press(pilot, refuse)
            assert isinstance(app.screen, CalendarScreen)
            assert get_variant(demo.ctx, v["hiring-fb"]) == before
        await press(pilot, "p", "y")
        after = get_variant(demo.ctx, v["hiring-fb"])
        # Due now; its planned time is kept (the calendar moves it once it went out).
        assert (after.status, after.next_attempt_at) == ("scheduled", demo.clock.now())
        assert after.scheduled_at == before.scheduled_at
        assert cursor_id(app) == v["hiring-fb"]
        assert agenda_column(app, 0) == ["07:30", "10:26", "12:30", "12:45"]


async def test_a_variant_published_early_sits_where_it_went_out_with_its_plan_in_the_detail(
    demo,
):
    v = demo.data.variants
    hiring = v["hiring-fb"]  # planned for 12:30 today
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await select_row(pilot, hiring)
        await press(pilot, "p", "y")
        # A worker takes it at once (10:30) and the platform accepts it.
        claim = publishing.claim_variant(demo.ctx, hiring, demo.clock.now(), "w")
        publishing.mark_sending(demo.ctx, claim, demo.clock.now())
        publishing.complete_attempt(
            demo.ctx,
            claim,
            publishing.AttemptRecord("success", 200, external_post_id="p_9"),
            publishing.Outcome("published"),
            demo.clock.now(),
        )
        await wait_in_app(pilot, lambda: "published" in detail(app), "the detail to update")
        assert "published 09 Dec 10:30 · planned 09 Dec 12:30" in detail(app)
        assert agenda_column(app, 0) == ["07:30", "10:26", "10:30", "12:45"]


def detail(app) -> str:
    return str(app.screen.query_one("#detail").render())


async def test_retry_a_failed_variant(demo):
    v = demo.data.variants
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "h", "h")  # Monday 7 December
        await select_row(pilot, v["tasting-fb"])
        await press(pilot, "r")
        retried = get_variant(demo.ctx, v["tasting-fb"])
        assert (retried.status, retried.next_attempt_at) == ("scheduled", demo.clock.now())
        # Due now, and still on the day it was planned for until it goes out.
        assert grid(app).counts_for(d(7)) == {"scheduled": 1}
        assert grid(app).counts_for(d(9))["scheduled"] == 2


# --- filter and live updates ------------------------------------------------------------------


async def test_filter_narrows_counts_and_agenda(demo):
    v = demo.data.variants
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "slash")
        for key in "hiring":
            await pilot.press(key)
        await settle(pilot)
        assert grid(app).counts_for(d(9)) == {"scheduled": 2}
        assert grid(app).counts_for(d(3)) == {}
        assert agenda_ids(app) == [v["hiring-fb"], v["hiring-li"]]
        assert "filtered" in grid_text(app)[0]
        await press(pilot, "enter", "escape")  # leave the field, then clear the filter
        assert grid(app).counts_for(d(3)) == {"published": 2}
        assert len(agenda_ids(app)) == 4


async def test_changes_from_elsewhere_show_without_a_key_and_the_cursor_stays(demo):
    v = demo.data.variants
    app = OmniPostApp(demo.ctx, poll_interval=0.1)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await select_row(pilot, v["hiring-li"])
        due = get_variant(demo.ctx, v["hiring-fb"]).scheduled_at
        # A worker fails it (a missed window) while the user looks at the calendar.
        assert publishing.fail_before_claim(
            demo.ctx, v["hiring-fb"], "scheduled", due, "missed", demo.clock.now()
        )
        await wait_in_app(
            pilot, lambda: grid(app).counts_for(d(9)).get("failed") == 1, "the failed count"
        )
        assert grid(app).counts_for(d(9))["scheduled"] == 1
        await wait_in_app(
            pilot,
            lambda: app.screen._views[str(v["hiring-fb"])].status == "failed",
            "the agenda row",
        )
        status_cell = agenda_table(app).get_cell(str(v["hiring-fb"]), "status")
        assert str(status_cell) == "✗"
        assert grid(app).selected == d(9)
        assert cursor_id(app) == v["hiring-li"]


async def test_a_click_selects_a_day_and_the_arrows_in_the_title_change_month(demo):
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        g = grid(app)
        spot = next(
            (x, y)
            for y in range(g.size.height)
            for x in range(g.size.width)
            if g.day_at(x, y) == d(10)
        )
        await pilot.click(MonthGrid, offset=spot)
        await settle(pilot)
        assert g.selected == d(10)
        assert agenda_ids(app) == [demo.data.variants["sale-again"]]
        await pilot.click(MonthGrid, offset=(g.size.width - 8, 0))
        await settle(pilot)
        assert g.selected == d(10, 1, 2027)


async def test_a_platform_answer_with_control_characters_is_shown_harmlessly(demo):
    from sqlalchemy import update

    from omnipost_tui.models import PostVariant

    failed = demo.data.variants["tasting-fb"]  # failed, on Monday 7 December
    with demo.ctx.db.write() as session:  # as a platform's answer (or older data) left it
        session.execute(
            update(PostVariant)
            .where(PostVariant.id == failed)
            .values(last_error="Facebook error 100: bad\x1b[2Jinput\x07")
        )
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "h", "h")
        await select_row(pilot, failed)
        shown = detail(app)
        assert "bad␛[2Jinput␇" in shown
        assert "\x1b" not in shown and "\x07" not in shown


async def test_a_key_typed_before_the_filtered_agenda_lands_acts_on_no_old_row(demo, monkeypatch):
    """A filter typed and Enter, then `p` at once: the day's old rows are still shown while
    the filtered agenda loads, and `p` must not offer to publish a row the filter hides."""
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        left = get_variant(demo.ctx, demo.data.variants["tasting-fb"])  # failed: publishable
        assert left.scheduled_at is not None
        grid(app).selected = left.scheduled_at.astimezone(app.tz).date()
        await settle(pilot)
        await select_row(pilot, left.id)

        loads = HeldLoads(monkeypatch, calendar_module, "load_agenda")
        await publish_before_the_filtered_rows_land(pilot, loads)
        await settle(pilot)
        assert agenda_ids(app) == []


async def test_retry_of_an_unconfirmed_variant_names_the_keys_that_check_it(demo):
    """The dialog names the keys the key bar shows, never an action's id; `c` is bound in the
    agenda as the README says, and asks the platform."""
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        unsure = get_variant(demo.ctx, demo.data.variants["sale-fb"])
        assert unsure.scheduled_at is not None
        grid(app).selected = unsure.scheduled_at.astimezone(app.tz).date()
        await settle(pilot)
        await select_row(pilot, unsure.id)
        await press(pilot, "r")
        assert isinstance(app.screen, ConfirmScreen)
        said = str(app.screen.body)
        assert "Press c to ask the platform or M to mark it published if you found it." in said
        await press(pilot, "escape", "c")
        assert f"asking Facebook whether variant {unsure.id}" in " ".join(messages(app))


async def test_the_palette_finds_mark_published_though_the_key_bar_has_no_room_for_it(demo):
    """Ctrl+P lists every action of the screen, each with its key, not only the key bar's."""
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        unsure = get_variant(demo.ctx, demo.data.variants["sale-fb"])
        assert unsure.scheduled_at is not None
        grid(app).selected = unsure.scheduled_at.astimezone(app.tz).date()
        await settle(pilot)
        await select_row(pilot, unsure.id)
        assert "Mark published" not in screen_text(app)  # not in the key bar

        found = await search_palette(pilot, "mark")
        assert found and found[0].startswith("Mark published"), found
        assert "Calendar: press M" in found[0]
        await press(pilot, "enter")
        assert isinstance(app.screen, AskScreen)
        assert f"Mark variant {unsure.id} published" in screen_text(app)

        await press(pilot, "escape")
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for title in ("Unschedule", "Today", "Next month", "Attempts of the variant"):
            assert title in titles
        assert "Next day" not in titles  # a cursor step: the arrows' job
        assert "Focus Next" not in titles and "Copy selected text" not in titles  # Textual's


async def test_from_the_agenda_esc_goes_back_to_the_days_and_the_month_keys_work(demo):
    v = demo.data.variants
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        start = grid(app).selected
        await select_row(pilot, v["hiring-fb"])
        await press(pilot, "up")  # a list: the arrows move within it, not the day
        assert grid(app).selected == start
        assert cursor_id(app) != v["hiring-fb"]
        await press(pilot, "pagedown")
        assert grid(app).selected == d(9, 1, 2027)
        await press(pilot, "left_square_bracket")
        assert grid(app).selected == start
        await press(pilot, "escape")
        assert app.screen.focused is grid(app)
        await press(pilot, "l")
        assert grid(app).selected == start + timedelta(days=1)
