"""Connecting accounts from the accounts screen by signing in (OAuth), against the sandbox over
real HTTP: the chooser behind `a`, the connect dialog (paste or listener, then the list of what
to connect), reconnecting with `r`, and every way it can go wrong leaving nothing stored."""

from __future__ import annotations

import asyncio
import dataclasses
import html
import re
import socket
from collections.abc import Iterator

import httpx
import pytest
from textual.widgets import Input, Label, OptionList, Select, SelectionList, Static

from omnipost_tui.config import load_settings
from omnipost_tui.connectors.redirect_listener import RedirectListener
from omnipost_tui.engine.queue import open_queue
from omnipost_tui.errors import ValidationError
from omnipost_tui.models import CONNECTED, EXPIRED
from omnipost_tui.sandbox import SandboxServer
from omnipost_tui.sandbox.run import omnipost_settings
from omnipost_tui.services.accounts import (
    add_account,
    get_account,
    list_accounts,
    mark_account_expired,
    remove_account,
)
from omnipost_tui.services.connect import receive_consent
from omnipost_tui.services.context import Context, open_context
from omnipost_tui.services.variants import get_variant
from omnipost_tui.states import FAILED, SCHEDULED
from omnipost_tui.tui.app import OmniPostApp
from omnipost_tui.tui.screens import connect as connect_screen
from omnipost_tui.tui.screens.account_forms import AddAccountScreen
from omnipost_tui.tui.screens.accounts import AccountsScreen
from omnipost_tui.tui.screens.confirm import ConfirmScreen
from omnipost_tui.tui.screens.connect import AddAccountChooser, ConnectScreen
from tests.conftest import screen_text, settle, wait_in_app
from tests.test_tui_accounts import (
    cell,
    fail_on_expired_account,
    open_accounts,
    paste,
    row_keys,
    select_row,
    type_into,
)

SANDBOX_PAGES = {"100000000000001": "Sandbox Bakery", "100000000000002": "Sandbox Bookshop"}
NORTHWIND_CAREERS = "urn:li:organization:2002"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def port() -> int:
    """The redirect URI's port: the dialog listens there."""
    return free_port()


@pytest.fixture
def ctx(home, sandbox: SandboxServer, port: int, monkeypatch: pytest.MonkeyPatch) -> Iterator:
    """The test's context (the demo data goes into it), pointed at the sandbox for both
    platforms, their sign-in pages included, with a redirect URI on a free port."""
    for name, value in omnipost_settings(sandbox.url).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("OMNIPOST_OAUTH_REDIRECT_URI", f"http://localhost:{port}/callback")
    monkeypatch.setenv("OMNIPOST_QUEUE_URL", "memory://")
    context = open_context(load_settings(), open_queue=open_queue)
    yield context
    context.close()


def sign_in_link(url: str, which: str = "approve") -> str:
    """What the browser is sent to after the user clicks Approve (or Deny) on the platform's
    page: the sandbox's link, HTML-escaped in its page."""
    page = httpx.get(url, timeout=5.0)
    assert page.status_code == 200, page.text
    found = re.search(rf'<a id="{which}" href="([^"]*)"', page.text)
    assert found, page.text
    return html.unescape(found.group(1))


def port_is_free(port: int) -> bool:
    """A new listener can take the port (what the next connect needs)."""
    listener = RedirectListener(f"http://localhost:{port}/callback", "probe")
    try:
        listener.start()
    except ValidationError:
        return False
    listener.stop()
    return True


def account_count(ctx: Context) -> int:
    return len(list_accounts(ctx, include_removed=True))


def dialog(app) -> ConnectScreen:
    screen = app.screen
    assert isinstance(screen, ConnectScreen), screen
    return screen


def dialog_text(app) -> str:
    """The dialog's text as one line: its wrapped lines joined again."""
    lines = []
    for line in screen_text(app).splitlines():
        if line.count("█") >= 2:
            lines.append(line[line.index("█") + 1 : line.rindex("█")].strip())
    return " ".join(" ".join(lines).split())


def notifications(app) -> list[str]:
    """Every notification the app shows from now on (it keeps only the last two on screen)."""
    said: list[str] = []
    notify = app.notify

    def keep(message, *args, **kwargs):
        said.append(str(message))
        return notify(message, *args, **kwargs)

    app.notify = keep
    return said


def error_line(app) -> str:
    label = app.screen.query_one("#error", Label)
    return str(label.content) if label.display else ""


async def open_connect(pilot, key: str, *, brand_row: str | None = None) -> ConnectScreen:
    """Accounts screen, `a`, then f (Facebook) or l (LinkedIn): the dialog with its link."""
    await open_accounts(pilot)
    if brand_row is not None:
        await select_row(pilot, brand_row)
    await pilot.press("a")
    await settle(pilot)
    assert isinstance(pilot.app.screen, AddAccountChooser)
    await pilot.press(key)
    await settle(pilot)
    screen = dialog(pilot.app)
    await wait_in_app(pilot, lambda: screen.attempt is not None, "the sign-in link")
    return screen


async def wait_for_offers(pilot, screen: ConnectScreen) -> SelectionList:
    await wait_in_app(
        pilot, lambda: screen.consent is not None or error_line(pilot.app), "the consent"
    )
    assert screen.consent is not None, error_line(pilot.app)
    await settle(pilot)
    return screen.query_one("#offers", SelectionList)


async def tick(pilot, offers: SelectionList, value: str) -> None:
    """Move the list's cursor to ``value`` with the arrow keys and tick it with Space."""
    index = next(i for i, o in enumerate(offers.options) if o.value == value)
    await pilot.press("home")
    for _ in range(len(offers.options)):  # the cursor skips the ones that cannot be ticked
        if offers.highlighted == index:
            break
        await pilot.press("down")
    assert offers.highlighted == index
    await pilot.press("space")
    await settle(pilot)


async def test_connect_facebook_pages_by_pasting_the_address(demo, sandbox, port):
    north = demo.data.brands["Northwind"]
    before = account_count(demo.ctx)
    app = OmniPostApp(demo.ctx)
    said = notifications(app)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_connect(pilot, "f", brand_row=f"brand-{north}")
        assert screen.query_one("#brand", Select).value == north  # the selected row's brand
        assert app.focused is screen.query_one("#pasted", Input)  # where the paste goes
        attempt = screen.attempt
        assert attempt is not None
        # The link, whole (wrapped on screen), and what happens after approving.
        assert str(screen.query_one("#url", Static).content) == attempt.url
        text = dialog_text(app)
        assert "a page saying it cannot be reached is expected" in text
        assert f"also listening on 127.0.0.1:{port}" in text
        await pilot.press("ctrl+y")
        assert app.clipboard == attempt.url

        address = sign_in_link(attempt.url)
        code = re.search(r"code=([^&]+)", address).group(1)  # type: ignore[union-attr]  # found
        await paste(pilot, "#pasted", address)
        field = screen.query_one("#pasted", Input)
        assert field.password and field.value == address
        shown = screen_text(app)
        assert code not in shown and "code=" not in shown and "•" in shown
        await pilot.press("enter")
        offers = await wait_for_offers(pilot, screen)
        assert field.value == ""  # handed over, gone from the screen
        assert code not in screen_text(app)

        # Every Page granted; the ones connected already are listed but cannot be ticked.
        listed = {o.value: o for o in offers.options}
        assert set(SANDBOX_PAGES) <= set(listed)
        acme = demo.data.accounts["acme-fb"]
        assert listed["acme-coffee-page"].disabled
        assert f"already account {acme}" in str(listed["acme-coffee-page"].prompt)
        assert not any(listed[page].disabled for page in SANDBOX_PAGES)
        assert app.focused is offers
        # Ticked and not read differently in the text itself, not only in colour.
        assert "[x]" not in screen_text(app) and "[ ] Sandbox Bakery" in screen_text(app)
        for page in SANDBOX_PAGES:
            await tick(pilot, offers, page)
        assert sorted(offers.selected) == sorted(SANDBOX_PAGES)
        await settle(pilot)
        assert screen_text(app).count("[x]") == len(SANDBOX_PAGES)
        await pilot.press("ctrl+s")
        await wait_in_app(pilot, lambda: isinstance(app.screen, AccountsScreen), "the list")
        await settle(pilot)

        new = [a for a in list_accounts(demo.ctx) if a.external_id in SANDBOX_PAGES]
        assert account_count(demo.ctx) == before + 2
        assert {a.name for a in new} == set(SANDBOX_PAGES.values())
        assert {a.brand_id for a in new} == {north}
        assert all(a.status == CONNECTED and a.platform == "facebook" for a in new)
        assert {f"account-{a.id}" for a in new} <= set(row_keys(app))
        # Page tokens made from a long-lived user token do not expire, and the list says so.
        assert all(cell(app, f"account-{a.id}", "expires").strip() == "never" for a in new)
        ids = sorted(a.id for a in new)
        assert f"connected: account {ids[0]} (Sandbox Bakery), account {ids[1]}" in said[-1]
        text = screen_text(app)
        assert "Sandbox Bakery" in text and "Sandbox Bookshop" in text
        assert code not in text
        assert port_is_free(port)


async def test_connect_a_linkedin_organization_through_the_listener(demo, sandbox, port):
    acme = demo.data.brands["Acme Coffee"]
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_connect(pilot, "l")
        assert screen.query_one("#brand", Select).value == acme  # the selected account's
        assert screen.attempt is not None
        address = sign_in_link(screen.attempt.url)
        assert address.startswith(f"http://localhost:{port}/callback?")
        # The browser, on this machine, follows the redirect: a real request to the listener.
        answer = await asyncio.to_thread(
            httpx.get, address.replace("localhost", "127.0.0.1", 1), timeout=5.0
        )
        assert answer.status_code == 200 and "close this tab" in answer.text
        offers = await wait_for_offers(pilot, screen)
        listed = {o.value: o for o in offers.options}
        assert "urn:li:person:sandbox-member-1" in listed or any(
            "member" in str(o.prompt) for o in offers.options
        )
        assert listed["urn:li:organization:2001"].disabled  # Acme Coffee Co., account 2
        assert not listed[NORTHWIND_CAREERS].disabled
        await tick(pilot, offers, NORTHWIND_CAREERS)
        assert offers.selected == [NORTHWIND_CAREERS]
        await pilot.click("#connect")
        await wait_in_app(pilot, lambda: isinstance(app.screen, AccountsScreen), "the list")
        await settle(pilot)
        [new] = [a for a in list_accounts(demo.ctx) if a.external_id == NORTHWIND_CAREERS]
        assert new.brand_id == acme and new.platform == "linkedin" and new.status == CONNECTED
        assert new.has_refresh_token
        assert f"account-{new.id}" in row_keys(app)
        assert port_is_free(port)


async def test_deny_a_used_code_and_a_bad_paste_are_one_line_and_store_nothing(demo, sandbox, port):
    before = account_count(demo.ctx)
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_connect(pilot, "f")
        attempt = screen.attempt
        assert attempt is not None

        async def submit(text: str, expect: str) -> str:
            spent = screen.attempt
            await paste(pilot, "#pasted", text)
            await pilot.press("enter")
            await wait_in_app(pilot, lambda: error_line(app), f"the error ({expect})")
            # The spent state is not offered again: a new link, a new state.
            await wait_in_app(
                pilot,
                lambda: screen.attempt is not None and screen.attempt is not spent,
                "a new link",
            )
            await settle(pilot)
            assert screen.attempt.url != spent.url  # type: ignore[union-attr]  # both there
            line = error_line(app)
            assert expect in line, line
            assert "\n" not in line and "Traceback" not in screen_text(app)
            assert screen.query_one("#pasted", Input).value == ""
            assert app.focused is screen.query_one("#pasted", Input)  # paste again
            assert screen.consent is None and account_count(demo.ctx) == before
            return line

        await submit(sign_in_link(attempt.url, "deny"), "was not approved")
        await submit("this is not it", "does not look like")
        # A code used once already (here by the test itself) is refused by the platform.
        attempt = screen.attempt
        assert attempt is not None
        used = sign_in_link(attempt.url)
        code = re.search(r"code=([^&]+)", used).group(1)  # type: ignore[union-attr]  # found
        await asyncio.to_thread(receive_consent, demo.ctx, attempt, used)
        line = await submit(used, "could not connect with Facebook")
        assert code not in line and code not in screen_text(app)
        # Still open, still listening: an approval that works gets through after all that.
        assert screen.listener is not None
        await submit("", "nothing was pasted")
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, AccountsScreen)
        assert account_count(demo.ctx) == before
        assert port_is_free(port)


async def test_after_a_denial_through_the_listener_the_next_approval_gets_through(
    demo, sandbox, port
):
    before = account_count(demo.ctx)
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_connect(pilot, "l")
        assert screen.attempt is not None

        async def browser(which: str) -> httpx.Response:
            address = sign_in_link(screen.attempt.url, which)
            local = address.replace("localhost", "127.0.0.1", 1)
            return await asyncio.to_thread(httpx.get, local, timeout=5.0)

        assert "You did not approve" in (await browser("deny")).text
        await wait_in_app(pilot, lambda: error_line(app), "the denial")
        assert "LinkedIn says the connection was not approved" in error_line(app)
        assert account_count(demo.ctx) == before
        # A new link (the denied one's state is spent), and the listener waits for it.
        await wait_in_app(
            pilot, lambda: screen.attempt is not None and screen.listener is not None, "a new link"
        )
        assert "close this tab" in (await browser("approve")).text
        await wait_in_app(pilot, lambda: screen.consent is not None, "the consent")
        offers = await wait_for_offers(pilot, screen)
        assert not error_line(app)
        assert NORTHWIND_CAREERS in [o.value for o in offers.options]


async def test_missing_app_credentials_name_the_settings(demo, sandbox, port):
    settings = dataclasses.replace(demo.ctx.settings, facebook_app_secret=None)
    ctx = Context(settings=settings, db=demo.ctx.db, open_queue=open_queue, _cipher=demo.ctx.cipher)
    before = account_count(ctx)
    app = OmniPostApp(ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_accounts(pilot)
        await pilot.press("a", "f")
        screen = dialog(app)
        await wait_in_app(pilot, lambda: error_line(app), "the error")
        line = error_line(app)
        assert "OMNIPOST_FACEBOOK_APP_SECRET" in line and "\n" not in line
        assert not screen.query_one("#paste-step").display  # nothing to open or paste
        assert screen.listener is None and port_is_free(port)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, AccountsScreen) and account_count(ctx) == before


async def test_escape_at_each_step_stores_nothing_and_frees_the_port(demo, sandbox, port):
    before = account_count(demo.ctx)
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        # In the chooser.
        await open_accounts(pilot)
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, AddAccountChooser)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, AccountsScreen)

        # While the link is shown (and the listener waits).
        screen = await open_connect(pilot, "f")
        assert screen.listener is not None and not port_is_free(port)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, AccountsScreen) and port_is_free(port)

        # With the list of Pages shown, some ticked.
        screen = await open_connect(pilot, "f")
        assert screen.attempt is not None
        await paste(pilot, "#pasted", sign_in_link(screen.attempt.url))
        await pilot.press("enter")
        offers = await wait_for_offers(pilot, screen)
        await tick(pilot, offers, "100000000000001")
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, AccountsScreen)
        assert account_count(demo.ctx) == before and port_is_free(port)

        # Reconnecting, before the browser came back.
        expired = demo.data.accounts["north-li"]
        await select_row(pilot, f"account-{expired}")
        await pilot.press("r")
        await settle(pilot)
        screen = dialog(app)
        await wait_in_app(pilot, lambda: screen.attempt is not None, "the link")
        assert not screen.query("#brand")  # the account's brand: nothing to choose
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, AccountsScreen) and port_is_free(port)
        assert get_account(demo.ctx, expired).status == EXPIRED


async def test_a_busy_port_says_so_and_pasting_still_works(demo, sandbox, port):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        app = OmniPostApp(demo.ctx)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_connect(pilot, "f")
            assert screen.listener is None
            listening = str(screen.query_one("#listening", Label).content)
            assert f"not listening on 127.0.0.1:{port}" in listening and "busy" in listening
            assert screen.attempt is not None
            await paste(pilot, "#pasted", sign_in_link(screen.attempt.url))
            await pilot.press("enter")
            await wait_for_offers(pilot, screen)


async def test_a_redirect_to_another_machine_is_not_listened_for(demo, sandbox, port):
    settings = dataclasses.replace(
        demo.ctx.settings, oauth_redirect_uri="https://omnipost.example/callback"
    )
    ctx = Context(settings=settings, db=demo.ctx.db, open_queue=open_queue, _cipher=demo.ctx.cipher)
    app = OmniPostApp(ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_connect(pilot, "f")
        assert screen.listener is None
        assert "not listening: the redirect address is not this machine" in dialog_text(app)
        assert "sent to https://omnipost.example/callback" in dialog_text(app)


async def test_reconnect_an_expired_account_and_retry_what_failed(demo, sandbox, port):
    account_id = demo.data.accounts["acme-fb"]
    failed = fail_on_expired_account(demo, account_id, ["hiring-fb", "launch-again"])
    before = account_count(demo.ctx)
    app = OmniPostApp(demo.ctx)
    said = notifications(app)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_accounts(pilot)
        await select_row(pilot, f"account-{account_id}")
        await pilot.press("r")
        await settle(pilot)
        screen = dialog(app)
        await wait_in_app(pilot, lambda: screen.attempt is not None, "the link")
        assert screen.attempt.reconnecting is not None
        assert "again for Acme Coffee" in dialog_text(app)
        assert app.focused is screen.query_one("#pasted", Input)
        await paste(pilot, "#pasted", sign_in_link(screen.attempt.url))
        await pilot.press("enter")
        await wait_in_app(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        await settle(pilot)
        assert "Retry the 2 variants that failed while it was expired?" in dialog_text(app)
        assert get_account(demo.ctx, account_id).status == CONNECTED  # connected already
        await pilot.press("y")
        await wait_in_app(
            pilot,
            lambda: all(get_variant(demo.ctx, v).status == SCHEDULED for v in failed),
            "the variants scheduled again",
        )
        await settle(pilot)
        assert isinstance(app.screen, AccountsScreen)
        assert account_count(demo.ctx) == before  # the same account, not a new one
        assert f"account {account_id} (Acme Coffee) is connected again" in said
        assert f"queued again: {' '.join(str(v) for v in failed)}" in said
        assert port_is_free(port)


async def test_reconnect_answered_no_leaves_the_failed_variants(demo, sandbox, port):
    account_id = demo.data.accounts["acme-fb"]
    failed = fail_on_expired_account(demo, account_id, ["hiring-fb"])
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_accounts(pilot)
        await select_row(pilot, f"account-{account_id}")
        await pilot.press("r")
        await settle(pilot)
        screen = dialog(app)
        await wait_in_app(pilot, lambda: screen.attempt is not None, "the link")
        await paste(pilot, "#pasted", sign_in_link(screen.attempt.url))
        await pilot.press("enter")
        await wait_in_app(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        assert "Retry the variant that failed while it was expired?" in dialog_text(app)
        await pilot.press("n")
        await settle(pilot)
        assert get_account(demo.ctx, account_id).status == CONNECTED
        assert get_variant(demo.ctx, failed[0]).status == FAILED


async def test_a_reconnect_that_approves_another_page_is_refused(demo, sandbox, port):
    gone = add_account(
        demo.ctx,
        brand=demo.data.brands["Acme Coffee"],
        platform="facebook",
        external_id="104999000111",
        name="Old Page",
        access_token="EAAB-old-token",
    )
    mark_account_expired(demo.ctx, gone.id)
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_accounts(pilot)
        await select_row(pilot, f"account-{gone.id}")
        await pilot.press("r")
        await settle(pilot)
        screen = dialog(app)
        await wait_in_app(pilot, lambda: screen.attempt is not None, "the link")
        await paste(pilot, "#pasted", sign_in_link(screen.attempt.url))
        await pilot.press("enter")
        await wait_in_app(pilot, lambda: error_line(app), "the refusal")
        line = error_line(app)
        assert f"account {gone.id} is Old Page (104999000111), but Facebook granted" in line
        assert "nothing was changed" in line and "\n" not in line
        assert get_account(demo.ctx, gone.id).status == EXPIRED
        # That attempt is over: the message, and the way out, with nothing left to paste.
        assert not screen.query_one("#paste-step").display
        assert "Esc: close; r: sign in again" in dialog_text(app)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, AccountsScreen) and port_is_free(port)


async def test_r_in_a_refused_reconnect_signs_in_again(demo, sandbox, port, monkeypatch):
    """The refusal says "r: sign in again": r there gives a new link to approve, and the
    right Page approved through it reconnects the account."""
    account_id = demo.data.accounts["acme-fb"]
    mark_account_expired(demo.ctx, account_id)
    # The first consent comes back for another Page than the account's: refused.
    real_save = connect_screen.save_reconnect
    refusals = [ValidationError("Facebook granted another Page; nothing was changed")]

    def refuse_once(*args, **kwargs):
        if refusals:
            raise refusals.pop()
        return real_save(*args, **kwargs)

    monkeypatch.setattr(connect_screen, "save_reconnect", refuse_once)
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_accounts(pilot)
        await select_row(pilot, f"account-{account_id}")
        await pilot.press("r")
        await settle(pilot)
        screen = dialog(app)
        await wait_in_app(pilot, lambda: screen.attempt is not None, "the link")
        first = screen.attempt
        await paste(pilot, "#pasted", sign_in_link(first.url))
        await pilot.press("enter")
        await wait_in_app(pilot, lambda: error_line(app), "the refusal")
        assert "Esc: close; r: sign in again" in dialog_text(app)

        await pilot.press("r")
        await wait_in_app(pilot, lambda: screen.attempt is not None, "a new link")
        await settle(pilot)
        assert app.screen is screen and screen.query_one("#paste-step").display
        assert screen.attempt.url != first.url  # a fresh state: the old one is spent
        assert not error_line(app) and "sign in again" not in dialog_text(app)
        await paste(pilot, "#pasted", sign_in_link(screen.attempt.url))
        await pilot.press("enter")
        await wait_in_app(pilot, lambda: app.screen is not screen, "the dialog to close")
        await settle(pilot)
        assert get_account(demo.ctx, account_id).status == CONNECTED
        assert port_is_free(port)


async def test_reconnect_needs_an_account_row_and_not_a_removed_one(demo):
    app = OmniPostApp(demo.ctx)
    said = notifications(app)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_accounts(pilot)
        await select_row(pilot, f"brand-{demo.data.brands['Northwind']}")
        await pilot.press("r")
        await settle(pilot)
        assert isinstance(app.screen, AccountsScreen)
        assert "select an account (not a brand row)" in said

        removed = demo.data.accounts["north-li"]
        remove_account(demo.ctx, removed)
        await pilot.press("h")  # show removed accounts
        await settle(pilot)
        await select_row(pilot, f"account-{removed}")
        await pilot.press("r")
        await settle(pilot)
        assert isinstance(app.screen, AccountsScreen)
        assert "Northwind Careers was removed; a: connect it again" in said


async def test_the_chooser_still_offers_pasting_a_token(demo):
    before = account_count(demo.ctx)
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_accounts(pilot)
        await select_row(pilot, f"brand-{demo.data.brands['Northwind']}")
        await pilot.press("a")
        await settle(pilot)
        chooser = app.screen
        assert isinstance(chooser, AddAccountChooser)
        options = chooser.query_one(OptionList)
        assert [str(options.get_option_at_index(i).prompt) for i in range(3)] == [
            "f  Connect with Facebook",
            "l  Connect with LinkedIn",
            "p  Paste a token made elsewhere",
        ]
        await pilot.press("down", "down", "enter")  # or p
        await settle(pilot)
        form = app.screen
        assert isinstance(form, AddAccountScreen)
        await type_into(pilot, "#external", "104555666777")
        await type_into(pilot, "#name", "Northwind Shop")
        await paste(pilot, "#token", "EAAB-pasted-SECRET-token-5555555")
        await pilot.press("ctrl+s")
        await wait_in_app(pilot, lambda: isinstance(app.screen, AccountsScreen), "the list")
        await settle(pilot)
        [new] = [a for a in list_accounts(demo.ctx) if a.external_id == "104555666777"]
        assert new.brand_id == demo.data.brands["Northwind"]
        assert account_count(demo.ctx) == before + 1
        assert f"account-{new.id}" in row_keys(app)


async def test_the_accounts_screen_names_the_reconnect_key(demo):
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_accounts(pilot)
        await select_row(pilot, f"account-{demo.data.accounts['north-li']}")
        text = screen_text(app)
        assert "r Reconnect" in text.splitlines()[-1]
        assert "reconnect it (r or t)" in " ".join(text.split())


# --- what it looks like ---------------------------------------------------------------------


class StandInListener:
    """The listener, without a socket: a snapshot must not depend on a port being free."""

    def __init__(self, redirect_uri: str, state: str) -> None:
        self.port = 8765
        self.address = "127.0.0.1:8765"

    def start(self) -> StandInListener:
        return self

    def received(self) -> None:
        return None

    def stop(self) -> None:
        pass


def test_the_connect_dialog_at_80x24(snap_compare, demo, monkeypatch):
    from tests.scenes import visit

    monkeypatch.setattr(
        "omnipost_tui.connectors.oauth.generate_token", lambda length=30: "S" * length
    )
    monkeypatch.setattr(connect_screen, "RedirectListener", StandInListener)
    settings = dataclasses.replace(
        demo.ctx.settings,
        facebook_oauth_url="https://www.facebook.com",
        facebook_app_id="1234567890",
        oauth_redirect_uri="http://localhost:8765/callback",
    )
    ctx = Context(settings=settings, db=demo.ctx.db, open_queue=open_queue, _cipher=demo.ctx.cipher)
    app = OmniPostApp(ctx)
    assert snap_compare(app, terminal_size=(80, 24), run_before=visit(("4", "a", "f")))


def test_the_list_of_pages_at_80x24(snap_compare, demo, sandbox):
    from tests.scenes import visit

    keys = visit(("4", "a", "f"))

    async def run_before(pilot) -> None:
        await keys(pilot)
        screen = dialog(pilot.app)
        assert screen.attempt is not None
        await paste(pilot, "#pasted", sign_in_link(screen.attempt.url))
        await pilot.press("enter")
        offers = await wait_for_offers(pilot, screen)
        await tick(pilot, offers, "100000000000002")
        await settle(pilot)

    assert snap_compare(OmniPostApp(demo.ctx), terminal_size=(80, 24), run_before=run_before)
