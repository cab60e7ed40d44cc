"""The application frame: navigation, help, status bar, live updates."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from omnipost_tui.engine.queue import open_queue
from omnipost_tui.tui.app import OmniPostApp
from tests.conftest import (
    HOSTILE_ANSWER,
    HOSTILE_SHOWN,
    assert_harmless,
    screen_text,
    settle,
    wait_in_app,
)
from tests.test_tui_variants import select_variant


async def test_opens_on_the_calendar_and_number_keys_switch_screens(demo):
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.current_mode == "calendar"
        for key, mode in (
            ("2", "variants"),
            ("3", "attempts"),
            ("4", "accounts"),
            ("1", "calendar"),
        ):
            await pilot.press(key)
            await settle(pilot)
            assert app.current_mode == mode


async def test_help_lists_every_key_with_its_id_and_closes(demo):
    from omnipost_tui.tui.screens.help import HelpScreen

    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        for key in ("question_mark", "f1"):
            await pilot.press(key)
            await settle(pilot)
            assert isinstance(app.screen, HelpScreen)
            ids = {binding_id for *_, binding_id in app.screen.rows()}
            for binding_id in ("variants.publish", "variants.retry", "screen.calendar", "app.quit"):
                assert binding_id in ids
            await pilot.press("escape")
            await settle(pilot)
            assert not isinstance(app.screen, HelpScreen)


async def test_keys_can_be_remapped_in_the_config(demo, home):
    from omnipost_tui.config import load_settings
    from omnipost_tui.services.context import Context
    from omnipost_tui.tui.screens.confirm import ConfirmScreen

    (home / "config.toml").write_text('[keymap]\n"variants.publish" = "ctrl+o"\n')
    ctx = Context(settings=load_settings(), db=demo.ctx.db, open_queue=open_queue)
    app = OmniPostApp(ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("2")
        await select_variant(pilot, demo.data.variants["hiring-fb"])  # scheduled
        await pilot.press("ctrl+o")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)


def test_an_unknown_keymap_id_is_refused_with_the_valid_ones(demo, home):
    from omnipost_tui.config import load_settings
    from omnipost_tui.errors import ConfigError
    from omnipost_tui.services.context import Context

    (home / "config.toml").write_text('[keymap]\n"variants.publsh" = "ctrl+o"\n')
    ctx = Context(settings=load_settings(), db=demo.ctx.db, open_queue=open_queue)
    with pytest.raises(ConfigError) as info:
        OmniPostApp(ctx)
    message = info.value.message
    assert "unknown key binding 'variants.publsh'" in message
    assert str(home / "config.toml") in message
    assert "did you mean 'variants.publish'" in message
    assert "variants.retry" in message and "variants.unschedule" in message  # the valid ones
    assert "\n" not in message


def test_omnipost_with_an_unknown_keymap_id_exits_2_with_one_line(home, process_env):
    """Where the app starts, in a real terminal: one error line, no traceback, no app."""
    import os
    import pty
    import subprocess

    from tests.conftest import omnipost_command

    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text('[keymap]\nvariant.publish = "ctrl+o"\n')
    controller, terminal = pty.openpty()
    try:
        proc = subprocess.run(
            omnipost_command(),
            env=process_env,
            stdin=terminal,
            stdout=terminal,
            stderr=subprocess.PIPE,
            text=True,
            timeout=30,  # the app, had it started, would wait for keys until killed here
        )
    finally:
        os.close(terminal)
        os.close(controller)
    assert proc.returncode == 2
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: unknown key binding 'variant.publish'")
    assert "did you mean 'variants.publish'" in lines[0]


async def test_the_chosen_theme_is_remembered(demo, home):
    from omnipost_tui.config import load_settings
    from omnipost_tui.services.context import Context

    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.theme = "textual-ansi" if "textual-ansi" in app.available_themes else "ansi-dark"
        await settle(pilot)
        chosen = app.theme
    assert f'theme = "{chosen}"' in (home / "config.toml").read_text()
    again = OmniPostApp(Context(settings=load_settings(), db=demo.ctx.db, open_queue=open_queue))
    async with again.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert again.theme == chosen


@pytest.mark.parametrize("problem", ["broken", "disk-full"])
async def test_a_theme_that_cannot_be_saved_is_said_in_the_app(demo, home, monkeypatch, problem):
    """The save runs in a thread; its failure used to vanish with the thread."""
    import errno
    import os

    path = home / "config.toml"
    original = '# mine\n[tui]\ntheme = "nord"\n'
    path.write_text(original)
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        if problem == "broken":  # edited in another window while the app runs
            original = '[tui]\ntheme = "nord"\n[keymap\n'
            path.write_text(original)
            reason = "is not valid TOML"
        else:

            def disk_full(fd: int) -> None:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

            monkeypatch.setattr(os, "fsync", disk_full)
            reason = "No space left on device"
        app.theme = "textual-light"
        await settle(pilot)
        said = [n for n in app._notifications if n.title == "Theme not saved"]
        assert len(said) == 1 and said[0].severity == "error"
        assert str(path) in said[0].message and reason in said[0].message
        if problem == "broken":
            assert "line 3" in said[0].message  # where the parser stopped
        assert app.is_running and app.theme == "textual-light"  # chosen, only not remembered
    assert path.read_text() == original


async def test_the_command_palette_offers_screen_actions(demo):
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        titles = [command.title for command in app.get_system_commands(app.screen)]
        for title in ("Go to Calendar", "Go to Attempts", "Publish", "Retry", "Help"):
            assert title in titles


async def test_status_bar_shows_the_worker_and_what_needs_attention(demo):
    from omnipost_tui.services.workers import register_worker
    from omnipost_tui.tui.widgets.frame import StatusBar

    app = OmniPostApp(demo.ctx, poll_interval=0.05)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        bar = app.screen.query_one(StatusBar)
        text = str(bar.render())
        assert "worker OFFLINE" in text
        assert "failed 2" in text and "unconfirmed 1" in text and "retrying 1" in text
        assert "Europe/Berlin" in text
        register_worker(demo.ctx, "host:1", periodic=True)
        await wait_in_app(pilot, lambda: "● worker" in str(bar.render()), "the worker online")
        assert "● worker" in str(bar.render())


async def test_a_narrow_status_bar_keeps_the_note_and_the_timezone(demo):
    """At 80 columns the demo's note does not fit beside the words: the legend's icons take
    their place, and the note and the timezone stay whole."""
    from omnipost_tui.demo.run import STATUS_NOTE
    from omnipost_tui.tui.widgets.frame import StatusBar

    app = OmniPostApp(demo.ctx, status_note=STATUS_NOTE)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        text = str(app.screen.query_one(StatusBar).render())
        assert STATUS_NOTE in text and "Europe/Berlin" in text
        assert "✗ 2" in text and "? 1" in text and "↻ 1" in text
        assert len(text) <= 80

        await pilot.resize_terminal(140, 30)
        await settle(pilot)
        text = str(app.screen.query_one(StatusBar).render())
        assert "failed 2" in text and "unconfirmed 1" in text and STATUS_NOTE in text


async def test_an_expired_account_warns_until_the_accounts_screen_is_seen(demo):
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        kinds = {a.kind for a in app.unseen_alerts}
        assert "account_expired" in kinds
        line = app.screen.query_one("AlertLine")
        assert line.display and "Northwind Careers" in str(line.render())
        await pilot.press("4")
        await settle(pilot)
        assert "account_expired" not in {a.kind for a in app.unseen_alerts}
        await pilot.press("1")
        await settle(pilot)
        assert not any(a.kind == "account_expired" for a in app.unseen_alerts)


def finish_attempts(demo, *errors: str | None) -> None:
    """Attempts that finish the way a worker finishes them: published for None, else failed
    with that error."""
    from omnipost_tui.services.publishing import (
        AttemptRecord,
        claim_variant,
        complete_attempt,
        mark_sending,
    )
    from omnipost_tui.services.retry import Outcome
    from omnipost_tui.services.variants import add_variant

    now = demo.clock.now()
    for error in errors:
        variant = add_variant(
            demo.ctx, post=demo.data.posts["hiring"], account=demo.data.accounts["acme-fb"], at=now
        )
        claim = claim_variant(demo.ctx, variant.id, now, "w")
        mark_sending(demo.ctx, claim, now)
        if error is None:
            record = AttemptRecord(result="success", http_status=200, external_post_id="1_2")
            outcome = Outcome(status="published")
        else:
            record = AttemptRecord(result="fail", http_status=500, error_message=error)
            outcome = Outcome(status="failed", last_error=error)
        complete_attempt(demo.ctx, claim, record, outcome, now)


async def test_a_failure_arrives_as_a_notification_and_repeated_ones_as_a_warning(demo):
    app = OmniPostApp(demo.ctx, poll_interval=0.05)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        finish_attempts(demo, *(f"boom {n}" for n in range(5)))
        await wait_in_app(
            pilot,
            lambda: any(a.kind == "repeated_failures" for a in app.unseen_alerts),
            "the repeated-failures warning",
        )
        messages = [str(n.message) for n in app._notifications]
        assert any("boom 4" in m for m in messages)
        assert any(a.kind == "repeated_failures" for a in app.unseen_alerts)
        await pilot.press("3")
        await settle(pilot)
        assert not any(a.kind == "repeated_failures" for a in app.unseen_alerts)


async def test_an_unreachable_queue_is_shown_not_a_crash(demo, monkeypatch):
    import dataclasses

    from omnipost_tui.services.context import Context
    from omnipost_tui.tui.screens.confirm import ConfirmScreen

    settings = dataclasses.replace(demo.ctx.settings, queue_url="redis://127.0.0.1:1/0")
    ctx = Context(settings=settings, db=demo.ctx.db, open_queue=open_queue)
    app = OmniPostApp(ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("2")
        await select_variant(pilot, demo.data.variants["hiring-fb"])  # scheduled
        await pilot.press("p")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await settle(pilot)
        assert any("unreachable" in str(n.message) for n in app._notifications)
        assert app.is_running


async def test_quitting_while_polls_are_in_flight_never_crashes(demo):
    """Quitting closes the change watcher while a poll thread may be inside it. It used to close
    the SQLite connection under the poll's statement: a segmentation fault within a few dozen
    quits (the crash seen in a full test run). Leaving run_test shuts the app down while its poll
    loop still runs, so every quit here races a poll."""
    for _ in range(40):
        app = OmniPostApp(demo.ctx, poll_interval=0.001, start_mode="accounts")
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_in_app(pilot, lambda app=app: app.summary is not None, "a first poll")
        assert not app._watcher.changed(), "a poll after quitting reported a change"


def test_a_closed_watcher_reports_nothing_and_never_touches_its_connection(demo):
    import threading

    from omnipost_tui.services.watch import ChangeWatcher

    for _ in range(200):
        watcher = ChangeWatcher(demo.ctx)
        errors: list[BaseException] = []
        stop = threading.Event()

        def poll(watcher=watcher, errors=errors, stop=stop) -> None:
            try:
                while not stop.is_set():
                    watcher.changed()
            except BaseException as exc:
                errors.append(exc)

        poller = threading.Thread(target=poll)
        poller.start()
        watcher.close()
        closed_reports = watcher.changed()
        stop.set()
        poller.join(timeout=5)
        assert not errors and not closed_reports


def toasts(app) -> list:
    """The notifications on screen, oldest first."""
    return list(app.screen.query("Toast"))


def toasts_clear_of(app, count: int, lines: Iterable[int]) -> bool:
    """``count`` toasts on screen, laid out, and none over any of ``lines``."""
    shown = [toast.region for toast in toasts(app)]
    return (
        len(shown) == count
        and all(shown)
        and not any(region.y <= line < region.bottom for region in shown for line in lines)
    )


def toast_texts(app) -> list[str]:
    """What each notification on screen reads, its wrapped lines joined."""
    lines = screen_text(app).splitlines()
    texts = []
    for toast in toasts(app):
        x, y, width, height = toast.region
        rows = (lines[row][x : x + width].strip(" ▌") for row in range(y, y + height))
        texts.append(" ".join(rows))
    return texts


async def test_attempts_that_finish_together_are_one_notification(demo):
    app = OmniPostApp(demo.ctx, poll_interval=0.05)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await settle(pilot)
        finish_attempts(demo, None, None, "Facebook error 32: (#32) Page request limit reached")
        finish_attempts(demo, None)
        await wait_in_app(pilot, lambda: app._notifications, "a notification")
        await settle(pilot)
        assert [(n.title, n.severity) for n in app._notifications] == [
            ("3 published · 1 failed", "error")
        ]
        [shown] = toast_texts(app)
        assert shown.startswith("3 published · 1 failed variant")
        assert "Facebook error 32: (#32) Page request limit reached" in shown

        # While it is on screen, what finishes next is added to it, not stacked below it.
        finish_attempts(demo, None, "LinkedIn error 500")
        await wait_in_app(
            pilot,
            lambda: any(n.title == "4 published · 2 failed" for n in app._notifications),
            "the notification to count the new attempts",
        )
        await settle(pilot)
        [shown] = toast_texts(app)
        assert shown.startswith("4 published · 2 failed")
        assert shown.endswith("LinkedIn error 500 (+1 more; 3: attempts)")


async def test_at_most_two_notifications_are_on_screen(demo):
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await settle(pilot)
        for n in range(5):
            app.notify(f"message number {n}")
            await settle(pilot)
            assert len(toasts(app)) <= 2
        assert toast_texts(app) == ["message number 3", "message number 4"]


def cursor_line(app, table_id: str) -> int:
    """The screen line the table's highlighted row is drawn on."""
    table = app.screen.query_one(table_id)
    above = table.cursor_row - round(table.scroll_y)
    return table.scrollable_content_region.y + table.header_height + above


@pytest.mark.parametrize("where", ["bottom", "top"])
async def test_notifications_never_cover_the_cursors_row(demo, where):
    """At 80×24 two notifications take about a third of the height: above the status bar
    unless the highlighted row is there, then under the navigation bar."""
    finish_attempts(demo, *([None] * 8))  # more variants than the table has room for
    app = OmniPostApp(demo.ctx, poll_interval=0.05)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        if where == "bottom":
            await pilot.press(*["down"] * 30)
            await settle(pilot)
        line = cursor_line(app, "#variants")
        assert line >= 17 if where == "bottom" else line <= 6, line
        before = screen_text(app).splitlines()[line]

        finish_attempts(demo, None, None, "Facebook error 32: (#32) Page request limit reached")
        await wait_in_app(pilot, lambda: app._notifications, "a notification")
        app.notify("variant 3 queued to publish now on Acme Coffee")
        await wait_in_app(pilot, lambda: toasts_clear_of(app, 2, [line]), "toasts off the row")
        shown = toast_texts(app)
        assert len(shown) == 2 and shown[0].startswith("2 published · 1 failed")
        assert shown[1] == "variant 3 queued to publish now on Acme Coffee"
        assert cursor_line(app, "#variants") == line
        assert screen_text(app).splitlines()[line] == before  # the highlighted row is whole


def key_bar_line(app) -> str:
    return screen_text(app).splitlines()[-1]


@pytest.mark.parametrize(
    ("screen", "keymap"),
    [("1", {}), ("2", {}), ("3", {}), ("4", {}), ("2", {"variants.publish": "ctrl+o"})],
    ids=["calendar", "variants", "attempts", "accounts", "variants-remapped"],
)
async def test_the_key_bar_shows_whole_keys_at_80_columns(demo, screen, keymap):
    """It used to end in 'x Remo', and a key remapped to ctrl+o showed as '^': what does not
    fit is left out whole, Help says how many, and a remapped key keeps its place."""
    import dataclasses

    from omnipost_tui.services.context import Context

    settings = dataclasses.replace(demo.ctx.settings, keymap=keymap)
    app = OmniPostApp(
        Context(settings=settings, db=demo.ctx.db, open_queue=open_queue, _cipher=demo.ctx.cipher)
    )
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press(screen)
        await settle(pilot)
        line = key_bar_line(app)
        keys = list(app.screen.query("FooterKey"))
        for key in keys:
            assert f"{key.key_display} {key.description}" in line, line
            assert key.region.right <= 80
        described = [b for b in app.screen.active_bindings.values() if b.binding.show]
        actions = {b.binding.action for b in described}
        shown = {key.action for key in keys}
        left_out = len(actions - shown)
        help_key = next(key for key in keys if key.action == "help")
        assert help_key.description == (f"Help +{left_out}" if left_out else "Help")
        if keymap:
            assert line.startswith(" ^o Publish") or line.startswith("^o Publish"), line


async def test_filtered_headers_leave_hints_out_whole_at_80_columns(demo):
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("2", "slash", "tab", "enter", *["down"] * 6, "enter")
        await settle(pilot)
        header = str(app.screen.query_one("#position").render())
        assert "(filtered — Esc clears)" in header and len(header) <= 78
        assert header.endswith(("[ ] pages", "/ filter", "Enter attempts")), header

        await pilot.press("escape", "down", "down", "down", "enter")  # that variant's attempts
        await settle(pilot)
        header = str(app.screen.query_one("#position").render())
        assert "(filtered — Esc clears)" in header and len(header) <= 78
        assert header.endswith(("[ ] pages", "/ filter", "d detail")), header


async def test_a_duration_keeps_its_unit_on_its_line(demo):
    """The calendar's detail wrapped 'did not answer within 30' / 's' at 80 columns."""
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert "within 30s" in screen_text(app)  # never "within 30" with "s" below it


async def test_the_frame_reads_right_in_an_svg_viewer(demo):
    """Screenshots and snapshots are SVG, and SVG viewers (rsvg) drop the spaces a text part
    starts with: the status bar read '0retrying 1failed', the keys 'aAdd account'. The status
    bar and the key bar end their parts with the space instead."""
    import re

    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("4")
        await settle(pilot)
        svg = app.export_screenshot()
    lines = {}
    for line_no, text in re.findall(r'clip-path="url\(#[\w-]+-line-(\d+)\)">([^<]*)<', svg):
        lines.setdefault(int(line_no), []).append(text)
    for bar in (22, 23):  # the status bar, the key bar
        parts = [part for part in lines[bar] if part.replace("&#160;", "").strip()]
        assert parts and not any(part.startswith("&#160;") for part in parts), parts


async def test_notifications_never_cover_the_field_being_typed_in(demo):
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("4", "a", "p")  # the form for pasting a token
        await settle(pilot)
        await pilot.press("enter", "enter", "enter")  # page id → name → token → expires
        await settle(pilot)
        field = app.focused
        assert field is not None and field.id == "expires"
        line = field.region.y
        before = screen_text(app).splitlines()[line]
        for n in range(2):  # a title and three lines each: a third of the screen
            app.notify(
                f"number {n}, long enough to wrap onto three lines of a toast " * 2, title="!"
            )
        await wait_in_app(pilot, lambda: toasts_clear_of(app, 2, [line]), "toasts off the field")
        assert len(toast_texts(app)) == 2
        assert screen_text(app).splitlines()[line] == before


async def test_alerts_and_notifications_show_stored_text_harmlessly(demo):
    """An account name stored before the rule on what text holds, and a platform's error
    quoted in a notification: symbols, brackets as they are, nothing the terminal acts on."""
    from sqlalchemy import update

    from omnipost_tui.errors import ValidationError
    from omnipost_tui.models import ConnectedSocialAccount

    with demo.ctx.db.write() as session:  # the expired account the alert line names
        session.execute(
            update(ConnectedSocialAccount)
            .where(ConnectedSocialAccount.id == demo.data.accounts["north-li"])
            .values(name=HOSTILE_ANSWER)
        )
    app = OmniPostApp(demo.ctx, poll_interval=0.05)
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await settle(pilot)
        alert = str(app.screen.query_one("AlertLine").render())
        assert HOSTILE_SHOWN in alert
        assert_harmless(screen_text(app))

        finish_attempts(demo, HOSTILE_ANSWER)  # a worker's attempt fails with it
        await wait_in_app(pilot, lambda: toasts(app), "the notification")
        await settle(pilot)
        [shown] = toast_texts(app)
        assert shown.startswith("1 failed variant") and "bad␇ ␛[2Jinput" in shown, shown
        app.report_error(ValidationError(f"Facebook says {HOSTILE_ANSWER}"))
        await wait_in_app(pilot, lambda: len(toasts(app)) == 2, "the error notification")
        await settle(pilot)
        assert toast_texts(app)[1] == f"Not done Facebook says {HOSTILE_SHOWN}"
        assert_harmless(screen_text(app))


@pytest.mark.parametrize("field", ["title", "last row"])
async def test_notifications_in_the_editor_never_cover_the_field_nor_the_save_summary(demo, field):
    """The editor had Textual's own footer and toast rack: two toasts covered its save summary
    and the fields at the bottom. Like every screen it keeps its bottom lines (the summary, two
    lines here, and the key bar) clear, and moves the toasts under its heading when the
    focused field is low on the screen."""
    from textual.widgets import Input

    from omnipost_tui.tui.screens.editor import EditorScreen
    from omnipost_tui.tui.widgets.frame import KeyBar
    from omnipost_tui.tui.widgets.variant_row import VariantRow

    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("2", *["down"] * 7, "e")  # edit the first scheduled variant's post
        await settle(pilot)
        editor = app.screen
        assert isinstance(editor, EditorScreen)
        summary = editor.query_one("#summary")
        await wait_in_app(pilot, lambda: "ctrl+s saves" in str(summary.render()), "the summary")
        await settle(pilot)  # and laid out: the regions below are the new text's
        assert editor.query_one(KeyBar).region.y == 23
        kept = [*range(summary.region.y, 23), 23]  # the save summary, the key bar
        assert len(kept) == 3  # the summary takes two lines at 80 columns
        if field == "title":
            target = editor.query_one("#title", Input)
        else:  # the own-text field of the last account row, as low as the form goes
            target = list(editor.query(VariantRow))[-1].query_one(".custom", Input)
            target.disabled = False
        target.focus()
        await settle(pilot)
        line = target.region.y
        assert (line <= 6) if field == "title" else (line >= 15), line
        before = screen_text(app).splitlines()
        for n in range(2):  # a title and three lines each: a third of the screen
            app.notify(f"number {n}, long enough to wrap onto three lines " * 2, title="!")
        await wait_in_app(pilot, lambda: toasts_clear_of(app, 2, [line, *kept]), "toasts clear")
        after = screen_text(app).splitlines()
        for row in (line, *kept):
            assert after[row] == before[row], row


@pytest.mark.parametrize("key", ["1", "2", "3", "4"])
async def test_a_poll_that_finds_nothing_new_redraws_nothing(demo, monkeypatch, key):
    """The live poll shows every screen's data again every few seconds; when none of it changed
    no widget is drawn again (each label update used to lay the whole screen out: the idle
    app's CPU)."""
    from textual.widget import Widget

    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press(key)
        await settle(pilot)
        summary = app._load_summary(demo.clock.now())
        app._apply_summary(summary)  # the screen catches up with this poll's data
        await settle(pilot)
        redrawn: list[str] = []
        refresh = Widget.refresh

        def counted(widget, *args, **kwargs):
            redrawn.append(f"{type(widget).__name__}#{widget.id}")
            return refresh(widget, *args, **kwargs)

        monkeypatch.setattr(Widget, "refresh", counted)
        for _ in range(3):
            app._apply_summary(app._load_summary(demo.clock.now()))
            await settle(pilot)
        assert redrawn == []
