"""The accounts screen: brands and accounts, token expiry, adding, reconnecting, removing."""

from __future__ import annotations

import logging

import pytest
from rich.text import Text
from textual import events
from textual.widgets import DataTable, Input, Label, Select

from omnipost_tui.engine.queue import open_queue
from omnipost_tui.models import ConnectedSocialAccount
from omnipost_tui.services.accounts import get_account, list_accounts, mark_account_expired
from omnipost_tui.services.brands import list_brands
from omnipost_tui.services.connect import failed_by_expiry
from omnipost_tui.services.publishing import fail_before_claim, load_due_state
from omnipost_tui.services.variants import get_variant
from omnipost_tui.states import FAILED, SCHEDULED
from omnipost_tui.tui.app import OmniPostApp
from omnipost_tui.tui.screens.account_forms import (
    AddAccountScreen,
    AddBrandScreen,
    ReplaceTokenScreen,
)
from omnipost_tui.tui.screens.accounts import AccountsScreen
from omnipost_tui.tui.screens.confirm import ConfirmScreen
from tests.conftest import (
    HOSTILE_ANSWER,
    HOSTILE_SHOWN,
    assert_harmless,
    messages,
    screen_text,
    settle,
    wait_in_app,
)

SECRET = "EAAG-pasted-SECRET-token-4242424242"


@pytest.fixture
def omnipost_log():
    """Every record the omnipost loggers write during the test, at any level."""
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger = logging.getLogger("omnipost")
    handler, level = Keep(level=logging.DEBUG), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield records
    logger.removeHandler(handler)
    logger.setLevel(level)


def cell(app, key: str, column: str) -> str:
    value = app.screen.query_one("#accounts", DataTable).get_cell(key, column)
    return value.plain if isinstance(value, Text) else str(value)


def row_keys(app) -> list[str]:
    table = app.screen.query_one("#accounts", DataTable)
    return [str(row.key.value) for row in table.ordered_rows]


async def open_accounts(pilot) -> None:
    await settle(pilot)
    await pilot.press("4")
    await settle(pilot)
    assert isinstance(pilot.app.screen, AccountsScreen)


async def select_row(pilot, key: str) -> None:
    table = pilot.app.screen.query_one("#accounts", DataTable)
    table.move_cursor(row=table.get_row_index(key))
    await settle(pilot)


async def paste(pilot, selector: str, text: str) -> None:
    widget = pilot.app.screen.query_one(selector, Input)
    widget.focus()
    widget.post_message(events.Paste(text))
    await settle(pilot)


async def type_into(pilot, selector: str, text: str) -> None:
    pilot.app.screen.query_one(selector, Input).focus()
    await pilot.press(*text)


def fail_on_expired_account(demo, account_id: int, variant_keys: list[str]) -> list[int]:
    """Expire the account, then fail its scheduled variants as the worker would (it cannot
    publish through an expired account)."""
    mark_account_expired(demo.ctx, account_id)
    now = demo.clock.advance(60)
    ids = [demo.data.variants[key] for key in variant_keys]
    for variant_id in ids:
        state = load_due_state(demo.ctx, variant_id)
        assert state is not None and state.account_id == account_id
        assert fail_before_claim(
            demo.ctx, variant_id, state.status, state.due_at, "the account is expired", now
        )
    assert failed_by_expiry(demo.ctx, account_id) == ids
    return ids


async def test_brands_and_accounts_with_expired_and_expiring_marked(demo):
    accounts = demo.data.accounts
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_accounts(pilot)
        acme, north = demo.data.brands["Acme Coffee"], demo.data.brands["Northwind"]
        assert row_keys(app) == [
            f"brand-{acme}",
            f"account-{accounts['acme-fb']}",
            f"account-{accounts['acme-li']}",
            f"brand-{north}",
            f"account-{accounts['north-fb']}",
            f"account-{accounts['north-li']}",
        ]
        expired, expiring = f"account-{accounts['north-li']}", f"account-{accounts['acme-li']}"
        fine = f"account-{accounts['acme-fb']}"
        assert "expired" in cell(app, expired, "status")
        assert "connected" in cell(app, expiring, "status")
        assert "⚠ in 5d" in cell(app, expiring, "expires")
        assert "⚠" not in cell(app, fine, "expires") and "in 55d" in cell(app, fine, "expires")
        status = app.screen.query_one("#accounts", DataTable).get_cell(expired, "status")
        assert "red" in str(status.style) or any("red" in str(s.style) for s in status.spans)
        # Scheduled variants per account (scheduled and retrying ones).
        assert cell(app, fine, "scheduled").strip() == "2"
        assert cell(app, expired, "scheduled").strip() == "0"
        summary = str(app.screen.query_one("#summary", Label).content)
        assert "1 expired" in summary and "1 token expiring" in summary


async def test_showing_the_screen_acknowledges_account_alerts(demo):
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.current_mode == "calendar"
        kinds = {a.kind for a in app.unseen_alerts}
        assert {"account_expired", "token_expiring"} <= kinds
        await pilot.press("4")
        await settle(pilot)
        kinds = {a.kind for a in app.unseen_alerts}
        assert not kinds & {"account_expired", "token_expiring"}


async def test_an_expiry_that_has_passed_is_refused_in_the_form_as_on_the_command_line(demo):
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_accounts(pilot)
        await pilot.press("a", "p")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, AddAccountScreen)
        await type_into(pilot, "#external", "104123456000")
        await type_into(pilot, "#name", "Acme Archive")
        await paste(pilot, "#token", SECRET)
        await type_into(pilot, "#expires", "2020-01-01")
        await pilot.press("enter")  # on the last field: add
        await settle(pilot)
        assert app.screen is form  # still open, with what was typed
        assert "that expiry time has passed" in screen_text(app)
    assert "Acme Archive" not in {a.name for a in list_accounts(demo.ctx)}


async def test_add_account_through_the_form(demo, omnipost_log):
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_accounts(pilot)
        await select_row(pilot, f"brand-{demo.data.brands['Northwind']}")
        await pilot.press("a", "p")  # add an account: paste a token made elsewhere
        await settle(pilot)
        form = app.screen
        assert isinstance(form, AddAccountScreen)
        assert form.query_one("#brand", Select).value == demo.data.brands["Northwind"]
        form.query_one("#platform", Select).value = "linkedin"
        await settle(pilot)
        assert "urn:li:organization" in str(form.query_one("#external-hint", Label).content)
        await type_into(pilot, "#external", "urn:li:organization:777")
        await type_into(pilot, "#name", "Northwind Jobs")
        await paste(pilot, "#token", SECRET)
        assert form.query_one("#token", Input).value == SECRET  # paste works when masked
        assert SECRET not in app.export_screenshot()
        await type_into(pilot, "#expires", "+30d")
        token = form.query_one("#token", Input)
        await pilot.press("enter")  # on the last field: add
        await settle(pilot)

        assert isinstance(app.screen, AccountsScreen)
        added = next(a for a in list_accounts(demo.ctx) if a.name == "Northwind Jobs")
        assert added.platform == "linkedin" and added.brand_name == "Northwind"
        assert (added.token_expires_at - demo.clock.now()).days == 30
        assert f"account-{added.id}" in row_keys(app)
        assert "in 30d" in cell(app, f"account-{added.id}", "expires")
        assert token.value == ""
        assert SECRET not in app.export_screenshot()
    assert not any(SECRET in r.getMessage() for r in omnipost_log)
    log_file = demo.ctx.settings.paths.log_file
    assert not log_file.exists() or SECRET not in log_file.read_text()


async def press_each(pilot, text: str, check=None) -> None:
    """Type as a person does: one key press per character, the screen redrawn in between."""
    for char in text:
        await pilot.press("space" if char == " " else char)
        if check is not None:
            check()


async def test_a_user_typing_through_the_add_form_puts_every_value_in_its_field(demo, omnipost_log):
    """The form used to open with invisible focus on the platform select: what a user typed at
    once went nowhere or changed the platform, every later value landed one field down, and the
    token ended up in the visible expiry field. Here a user opens it and just types."""
    typed_token = "EAAGtypedSECRETtoken4242"
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_accounts(pilot)
        await pilot.press("a", "p")  # add an account: paste a token made elsewhere
        await settle(pilot)
        form = app.screen
        assert isinstance(form, AddAccountScreen)
        field = {key: form.query_one(f"#{key}", Input) for key in ("external", "name", "token")}
        field["expires"] = form.query_one("#expires", Input)
        platform, brand = form.query_one("#platform", Select), form.query_one("#brand", Select)
        brand_before = brand.value

        def token_hidden() -> None:
            shown = screen_text(app)
            typed = field["token"].value
            assert len(typed) < 4 or typed not in shown, "part of the token is on the screen"

        # Focus starts in the first text field, and the screen says so: its label is marked.
        assert app.focused is field["external"]
        marked = form.query_one("#external-label", Label)
        assert marked.styles.background != form.query_one("#name-label", Label).styles.background
        await press_each(pilot, "104123456789")
        await pilot.press("enter")
        assert app.focused is field["name"]
        await press_each(pilot, "Acme Jobs")
        await pilot.press("enter")
        assert app.focused is field["token"]
        await press_each(pilot, typed_token, check=token_hidden)
        assert "•" * len(typed_token) in screen_text(app)  # masked, one dot per character
        await pilot.press("enter")
        assert app.focused is field["expires"]
        await press_each(pilot, "+30d", check=token_hidden)
        await settle(pilot)

        assert field["external"].value == "104123456789"
        assert field["name"].value == "Acme Jobs"
        assert field["token"].value == typed_token
        assert field["expires"].value == "+30d"
        assert platform.value == "facebook" and brand.value == brand_before
        token_hidden()

        await pilot.press("enter")  # on the last field: add
        await settle(pilot)
        assert isinstance(app.screen, AccountsScreen)
        added = next(a for a in list_accounts(demo.ctx) if a.name == "Acme Jobs")
        assert (added.platform, added.external_id) == ("facebook", "104123456789")
        assert (added.token_expires_at - demo.clock.now()).days == 30
        with demo.ctx.db.read() as session:
            stored = session.get(ConnectedSocialAccount, added.id).access_token_encrypted
        assert demo.ctx.cipher.decrypt(stored) == typed_token
        assert typed_token not in screen_text(app)
    assert not any(typed_token in r.getMessage() for r in omnipost_log)


async def test_invalid_account_is_explained_in_the_form_and_nothing_is_written(demo):
    before = list_accounts(demo.ctx, include_removed=True)
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_accounts(pilot)
        await pilot.press("a", "p")  # add an account: paste a token made elsewhere
        await settle(pilot)
        form = app.screen
        await type_into(pilot, "#external", "not a page id!")
        await type_into(pilot, "#name", "Broken")
        await paste(pilot, "#token", SECRET)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is form  # still open
        error = str(form.query_one("#external-error", Label).content)
        assert "Facebook page id" in error and "not valid" in error
        assert app.focused is form.query_one("#external", Input)
        assert list_accounts(demo.ctx, include_removed=True) == before

        # The service refuses what only it can know (the page is already connected): said in
        # the form, and the token is gone from it.
        form.query_one("#external", Input).value = "acme-coffee-page"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is form
        assert "already connected" in str(form.query_one("#error", Label).content)
        assert form.query_one("#token", Input).value == ""
        assert "paste the token again" in str(form.query_one("#token-error", Label).content)
        assert list_accounts(demo.ctx, include_removed=True) == before
        assert SECRET not in app.export_screenshot()

        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, AccountsScreen)


async def test_replace_the_expired_token(demo, omnipost_log):
    expired = demo.data.accounts["north-li"]
    app = OmniPostApp(demo.ctx, poll_interval=0.1)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert any(a.kind == "account_expired" for a in app.summary.alerts)
        await open_accounts(pilot)
        await select_row(pilot, f"account-{expired}")
        await pilot.press("t")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, ReplaceTokenScreen)
        assert app.focused is form.query_one("#token", Input)
        await paste(pilot, "#token", SECRET)
        assert SECRET not in app.export_screenshot()
        token = form.query_one("#token", Input)
        await pilot.press("enter", *"+60d", "enter")
        await settle(pilot)

        assert isinstance(app.screen, AccountsScreen)
        assert get_account(demo.ctx, expired).status == "connected"
        assert "connected" in cell(app, f"account-{expired}", "status")
        assert token.value == ""
        # The alert itself is gone (not only acknowledged): the calendar shows no warning.
        await wait_in_app(
            pilot,
            lambda: not any(a.kind == "account_expired" for a in app.summary.alerts),
            "the expired-account alert to clear",
        )
        await pilot.press("1")
        await settle(pilot)
        assert not any(a.kind == "account_expired" for a in app.unseen_alerts)
        assert SECRET not in app.export_screenshot()
    assert not any(SECRET in r.getMessage() for r in omnipost_log)


@pytest.mark.parametrize("answer", ["y", "n"])
async def test_a_pasted_token_offers_to_retry_what_failed_while_it_was_expired(demo, answer):
    """`t` reconnects as `r` does: the same question about what failed meanwhile."""
    account_id = demo.data.accounts["acme-li"]
    failed = fail_on_expired_account(demo, account_id, ["hiring-li"])
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_accounts(pilot)
        await select_row(pilot, f"account-{account_id}")
        await pilot.press("t")
        await settle(pilot)
        assert isinstance(app.screen, ReplaceTokenScreen)
        await paste(pilot, "#token", SECRET)
        await pilot.press("ctrl+s")
        await wait_in_app(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        await settle(pilot)
        assert "Retry the variant that failed while it was expired?" in screen_text(app)
        assert get_account(demo.ctx, account_id).status == "connected"  # saved already
        await pilot.press(answer)
        await settle(pilot)
        assert isinstance(app.screen, AccountsScreen)
        if answer == "y":
            assert get_variant(demo.ctx, failed[0]).status == SCHEDULED
            assert f"queued again: {failed[0]}" in messages(app)
        else:
            assert get_variant(demo.ctx, failed[0]).status == FAILED


async def test_replace_token_refuses_an_empty_token_and_a_past_expiry(demo):
    expired = demo.data.accounts["north-li"]
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_accounts(pilot)
        await select_row(pilot, f"account-{expired}")
        await pilot.press("t")
        await settle(pilot)
        form = app.screen
        await type_into(pilot, "#expires", "2020-01-01")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is form
        assert "must not be empty" in str(form.query_one("#token-error", Label).content)
        assert "has passed" in str(form.query_one("#expires-error", Label).content)
        assert get_account(demo.ctx, expired).status == "expired"


async def test_add_brand(demo):
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_accounts(pilot)
        await pilot.press("b")
        await settle(pilot)
        assert isinstance(app.screen, AddBrandScreen)
        await pilot.press(*"Northwind", "enter")  # taken: said in the form, which stays open
        await settle(pilot)
        assert isinstance(app.screen, AddBrandScreen)
        assert "already exists" in str(app.screen.query_one("#error", Label).content)
        await pilot.press(*" Labs", "enter")
        await settle(pilot)
        assert isinstance(app.screen, AccountsScreen)
        brand = next(b for b in list_brands(demo.ctx) if b.name == "Northwind Labs")
        key = f"brand-{brand.id}"
        assert key in row_keys(app)
        assert cell(app, key, "external") == "0 accounts"
        table = app.screen.query_one("#accounts", DataTable)
        assert table.cursor_row == table.get_row_index(key)


async def test_remove_an_account_with_scheduled_variants(demo):
    account = demo.data.accounts["north-fb"]
    waiting = [demo.data.variants["sale-again"], demo.data.variants["gear-again"]]
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_accounts(pilot)
        await select_row(pilot, f"account-{account}")
        await pilot.press("x")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        assert "tokens are erased" in str(app.screen.body)
        assert "history" in str(app.screen.body)
        await pilot.press("y")
        await settle(pilot)
        # Refused: variants are still waiting. Offered: unschedule them first.
        assert isinstance(app.screen, ConfirmScreen)
        assert "Unschedule 2" in app.screen.title_text
        assert get_account(demo.ctx, account).status == "connected"
        await pilot.press("y")
        await settle(pilot)
        assert isinstance(app.screen, AccountsScreen)
        assert get_account(demo.ctx, account).status == "revoked"
        assert [get_variant(demo.ctx, v).status for v in waiting] == ["draft", "draft"]
        assert f"account-{account}" not in row_keys(app)

        await pilot.press("h")  # removed accounts are still there, dimmed
        await settle(pilot)
        assert "revoked" in cell(app, f"account-{account}", "status")


async def test_remove_cancelled_and_remove_without_scheduled_variants(demo):
    account = demo.data.accounts["north-li"]
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_accounts(pilot)
        await select_row(pilot, f"account-{account}")
        await pilot.press("x")
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        assert get_account(demo.ctx, account).status == "expired"
        await pilot.press("x")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert isinstance(app.screen, AccountsScreen)
        assert get_account(demo.ctx, account).status == "revoked"


async def test_token_and_remove_need_an_account_row(demo):
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_accounts(pilot)
        await select_row(pilot, f"brand-{demo.data.brands['Acme Coffee']}")
        await pilot.press("t")
        await settle(pilot)
        assert isinstance(app.screen, AccountsScreen)
        await pilot.press("x")
        await settle(pilot)
        assert isinstance(app.screen, AccountsScreen)


async def test_refresh_and_check_ask_the_platform(demo, sandbox, monkeypatch):
    """f: a fresh token from the platform; c: does the stored one still work."""
    import dataclasses

    from omnipost_tui.services.accounts import get_account
    from omnipost_tui.services.context import Context

    settings = dataclasses.replace(
        demo.ctx.settings,
        facebook_graph_url=sandbox.url,
        linkedin_api_url=sandbox.url,
        linkedin_oauth_url=sandbox.url,
        facebook_app_id="app",
        facebook_app_secret="app-secret",
    )
    ctx = Context(settings=settings, db=demo.ctx.db, open_queue=open_queue, _cipher=demo.ctx.cipher)
    app = OmniPostApp(ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("4")
        await settle(pilot)
        table = app.screen.query_one("#accounts")
        target = f"account-{demo.data.accounts['acme-fb']}"
        while str(table.ordered_rows[table.cursor_row].key.value) != target:
            await pilot.press("down")
        before = get_account(ctx, demo.data.accounts["acme-fb"]).token_expires_at
        await pilot.press("f")
        await settle(pilot)
        after = get_account(ctx, demo.data.accounts["acme-fb"])
        messages = [str(n.message) for n in app._notifications]
        assert after.token_expires_at != before and after.status == "connected", messages
        await pilot.press("c")
        await settle(pilot)
        assert any("the token works" in str(n.message) for n in app._notifications)


async def test_stored_names_with_control_characters_are_shown_harmlessly(demo):
    """A name or a page id stored before the rule on what text holds (or as a platform gave
    it): symbols in the table, the detail and the remove dialog; its brackets as they are."""
    from sqlalchemy import update

    account = demo.data.accounts["acme-fb"]
    with demo.ctx.db.write() as session:
        session.execute(
            update(ConnectedSocialAccount)
            .where(ConnectedSocialAccount.id == account)
            .values(name=HOSTILE_ANSWER, external_id="page\x1b[2K")
        )
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(120, 30)) as pilot:
        await open_accounts(pilot)
        key = f"account-{account}"
        assert cell(app, key, "name").strip() == HOSTILE_SHOWN
        assert cell(app, key, "external") == "page␛[2K"
        await select_row(pilot, key)
        detail = screen_text(app)
        assert f"{HOSTILE_SHOWN}  account {account}" in detail
        assert "Facebook · page␛[2K" in detail
        assert_harmless(detail)

        await pilot.press("x")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        dialog = screen_text(app)
        assert f"Remove account {HOSTILE_SHOWN}?" in dialog
        assert_harmless(dialog)
