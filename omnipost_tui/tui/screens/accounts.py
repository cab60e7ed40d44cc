"""Accounts: brands and their connected accounts, with the state of every token.

One table: a row per brand followed by its accounts. Expired accounts and tokens that expire
within a week stand out (they are what the alert line warns about), and the keys to fix them
are here: sign in again (reconnect) or paste a new token, connect an account, remove one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import ClassVar

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Label, Static

from omnipost_tui import clock
from omnipost_tui.models import CONNECTED, EXPIRED, REVOKED
from omnipost_tui.platforms import LABELS, SHORT_LABELS
from omnipost_tui.services.accounts import (
    AccountHasScheduledVariants,
    list_accounts,
    remove_account,
)
from omnipost_tui.services.alerts import EXPIRY_WARNING
from omnipost_tui.services.brands import list_brands
from omnipost_tui.services.tokens import check_account, refresh_account
from omnipost_tui.services.variants import RetryResult, retry_variants
from omnipost_tui.services.views import AccountView, BrandView
from omnipost_tui.text import visible_line
from omnipost_tui.times import format_local
from omnipost_tui.tui.base import OmniScreen
from omnipost_tui.tui.format import account_status_text, expiry_hint, local, shown
from omnipost_tui.tui.screens.account_forms import (
    AddAccountScreen,
    AddBrandScreen,
    ReplaceTokenScreen,
)
from omnipost_tui.tui.screens.confirm import ConfirmScreen
from omnipost_tui.tui.screens.connect import PASTE, AddAccountChooser, Connected, ConnectScreen
from omnipost_tui.tui.variant_actions import NO_WORKER
from omnipost_tui.tui.widgets.flex_table import FlexTable
from omnipost_tui.tui.widgets.updates import update_if_changed

# (key, header, width); None: shares what the fixed columns leave (see FLEX).
# Cells after a flexible column start with a space: a long name never touches the next value.
COLUMNS = (
    ("name", "Name", None),
    ("platform", "", 4),
    ("external", "External id", None),
    ("status", " Status", 13),
    ("expires", " Token expires", 25),
    ("scheduled", "Sched", 6),
)
FLEX = {"name": (16, 3), "external": (12, 2)}


@dataclass(frozen=True)
class Overview:
    brands: list[BrandView]
    accounts: list[AccountView]


def load_overview(ctx, include_removed: bool) -> Overview:
    brands = list_brands(ctx)
    accounts = list_accounts(ctx, include_removed=include_removed)
    return Overview([shown(b) for b in brands], [shown(a) for a in accounts])


def cropped(text: str, style: str = "") -> Text:
    """One line, cut with an ellipsis where the column ends."""
    return Text(text, style=style, no_wrap=True, overflow="ellipsis")


def needs_token(account: AccountView, now: datetime) -> bool:
    """Expired, or connected with a token that runs out within the warning window."""
    if account.status == EXPIRED:
        return True
    expires = account.token_expires_at
    return account.status == CONNECTED and expires is not None and expires - now <= EXPIRY_WARNING


class AccountsScreen(OmniScreen):
    MODE = "accounts"
    TITLE_TEXT = "Accounts"
    CSS_PATH = "accounts.tcss"
    ACKNOWLEDGES = ("account_expired", "token_expiring")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "add_account", "Add account", id="accounts.add"),
        Binding("r", "reconnect", "Reconnect", id="accounts.reconnect"),
        Binding("t", "replace_token", "New token", id="accounts.token"),
        Binding("f", "refresh_token", "Refresh", id="accounts.refresh"),
        Binding("c", "check_token", "Check", id="accounts.check"),
        Binding("b", "add_brand", "Add brand", id="accounts.add_brand"),
        Binding("x", "remove", "Remove", id="accounts.remove"),
        Binding("h", "toggle_removed", "Show removed", id="accounts.show_removed"),
        Binding("n", "new_post", "New post for the account", id="accounts.new_post", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.overview: Overview | None = None
        self.include_removed = False
        self._accounts: dict[str, AccountView] = {}
        self._brands: dict[str, BrandView] = {}
        self._cursor_to = ""  # a row key the next load should put the cursor on
        self._detail_of: tuple[object, ...] = ()  # what the detail pane was drawn from

    def compose_body(self) -> ComposeResult:
        yield Label("", id="summary")
        yield FlexTable(FLEX, id="accounts", cursor_type="row", cell_padding=0)
        yield Static("", id="account-detail")

    def on_mount(self) -> None:
        table = self.query_one(FlexTable)
        for key, label, width in COLUMNS:
            table.add_column(label, key=key, width=width or FLEX[key][0])
        table.focus()

    # --- loading ----------------------------------------------------------------------------

    def refresh_data(self) -> None:
        self.call(
            load_overview,
            self.app.ctx,
            self.include_removed,
            done=self._show,
            group="load",
            exclusive=True,
        )

    def _show(self, overview: Overview) -> None:
        self.overview = overview
        now = clock.now()
        rows: dict[str, tuple] = {}
        self._accounts, self._brands = {}, {}
        by_brand: dict[int, list[AccountView]] = {}
        for account in overview.accounts:
            by_brand.setdefault(account.brand_id, []).append(account)
        for brand in overview.brands:
            accounts = by_brand.get(brand.id, [])
            key = f"brand-{brand.id}"
            self._brands[key] = brand
            rows[key] = self._brand_cells(brand, accounts)
            for account in accounts:
                key = f"account-{account.id}"
                self._accounts[key] = account
                rows[key] = self._account_cells(account, now)
        self._fill(rows)
        self._show_summary(now)
        self._show_detail()

    def _fill(self, rows: dict[str, tuple]) -> None:
        """Cell updates when the rows are the same ones; otherwise rebuild, keeping the cursor."""
        table = self.query_one(FlexTable)
        with self.app.batch_update():
            current, row = table.cursor_key(), table.cursor_row
            if table.show_rows(rows):
                if table.move_to(self._cursor_to):
                    self._cursor_to = ""
                elif current in rows:
                    table.move_to(current)
                elif current and rows:
                    # Its row went away (removed, or hidden): stay where it was.
                    table.move_cursor(row=min(row, len(rows) - 1))
                elif self._accounts:
                    # First look: start on the first account (brand rows are headings).
                    table.move_to(next(iter(self._accounts)))
        table.fit_columns()

    def _brand_cells(self, brand: BrandView, accounts: list[AccountView]) -> tuple:
        live = [a for a in accounts if a.status != REVOKED]
        count = f"{len(live)} account{'s' if len(live) != 1 else ''}"
        return (
            cropped(f"▾ {brand.name}", "bold"),
            "",
            Text(count, style="dim"),
            "",
            "",
            Text(str(sum(a.scheduled_count for a in accounts)), style="dim", justify="right"),
        )

    def _account_cells(self, account: AccountView, now: datetime) -> tuple:
        warn = needs_token(account, now)
        name_style = "dim" if account.status == REVOKED else "bold red" if warn else ""
        if account.status == CONNECTED and warn:
            name_style = "yellow"
        if account.status == REVOKED or account.token_expires_at is None:
            unknown = "never" if account.token_never_expires else "not known"
            expires: Text = Text("—" if account.status == REVOKED else unknown, style="dim")
        else:
            expires = Text.assemble(
                local(account.token_expires_at, self.app.tz, "%m-%d %H:%M"),
                " ",
                expiry_hint(account.token_expires_at, now, EXPIRY_WARNING),
            )
        scheduled = account.scheduled_count
        return (
            cropped(f"  {account.name}", name_style),
            f" {SHORT_LABELS.get(account.platform, account.platform)}",
            cropped(account.external_id, "dim" if account.status == REVOKED else ""),
            Text(" ").append_text(account_status_text(account.status)),
            Text(" ").append_text(expires),
            Text(str(scheduled), justify="right", style="" if scheduled else "dim"),
        )

    def _show_summary(self, now: datetime) -> None:
        overview = self.overview
        if overview is None:
            return
        live = [a for a in overview.accounts if a.status != REVOKED]
        expired = sum(a.status == EXPIRED for a in live)
        expiring = sum(needs_token(a, now) and a.status == CONNECTED for a in live)
        text = Text(" ")
        text.append(f"{len(overview.brands)} brands · {len(live)} accounts")
        if expired:
            text.append(" · ")
            text.append(f"✗ {expired} expired", style="bold red")
        if expiring:
            text.append(" · ")
            text.append(f"⚠ {expiring} token{'s' if expiring > 1 else ''} expiring", style="yellow")
        if expired or expiring:
            text.append(" — r: reconnect", style="dim")
        elif not overview.brands:
            text.append(" — b: add a brand, then a: add an account", style="dim")
        update_if_changed(self.query_one("#summary", Label), text)

    # --- the selected row ---------------------------------------------------------------------

    def on_data_table_row_highlighted(self) -> None:
        self._show_detail()

    def _show_detail(self) -> None:
        detail = self.query_one("#account-detail", Static)
        key = self.query_one(FlexTable).cursor_key()
        account = self._accounts.get(key)
        # The token line counts down with the clock; the rest changes only with the row.
        token = self._token_line(account, clock.now()).plain if account else ""
        shown = (key, account, self._brands.get(key), token)
        if shown == self._detail_of:  # the poll shows the same row again: nothing to redraw
            return
        self._detail_of = shown
        if account is not None:
            detail.update(self._account_detail(account))
            return
        brand = self._brands.get(key)
        if brand is not None:
            detail.update(
                Text.assemble(
                    (f"Brand {brand.name}", "bold"),
                    f" (id {brand.id})\n",
                    ("a: add an account to it · b: add another brand", "dim"),
                )
            )
            return
        detail.update(Text("no brands yet — b: add one", style="dim"))

    def _account_detail(self, account: AccountView) -> Group:
        now = clock.now()
        heading = Text.assemble(
            (account.name, "bold"), (f"  account {account.id} · brand {account.brand_name}", "dim")
        )
        grid = Table.grid(padding=(0, 1))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column(overflow="fold")
        grid.add_row(
            "platform",
            Text(f"{LABELS.get(account.platform, account.platform)} · {account.external_id}"),
        )
        status = account_status_text(account.status)
        if account.status == EXPIRED:
            status.append(" — nothing goes out through it until you reconnect it (r or t)")
        elif account.status == REVOKED:
            status.append(" — removed: tokens erased, history kept (a: add it again)")
        grid.add_row("status", status)
        grid.add_row("token", self._token_line(account, now))
        count = account.scheduled_count
        grid.add_row("queue", f"{count} variant{'s' if count != 1 else ''} waiting to go out")
        return Group(heading, grid)

    def _token_line(self, account: AccountView, now: datetime) -> Text:
        if account.status == REVOKED:
            return Text("—", style="dim")
        text = Text()
        if account.token_expires_at is None:
            if account.token_never_expires:
                text.append("never expires")
            else:
                text.append("expiry not known", style="dim")
        else:
            text.append(f"expires {format_local(account.token_expires_at, self.app.tz)} (")
            text.append_text(expiry_hint(account.token_expires_at, now, EXPIRY_WARNING))
            text.append(")")
        refresh = "a refresh token" if account.has_refresh_token else "no refresh token"
        text.append(f" · {refresh}", style="dim")
        if needs_token(account, now) and account.status == CONNECTED:
            text.append(" — r: reconnect, t: paste a new one", style="yellow")
        return text

    def selected_account(self) -> AccountView | None:
        return self._accounts.get(self.query_one(FlexTable).cursor_key())

    def _need_account(self) -> AccountView | None:
        account = self.selected_account()
        if account is None:
            self.notify("select an account (not a brand row)", severity="warning")
        return account

    # --- actions ------------------------------------------------------------------------------

    def action_add_account(self) -> None:
        """Connect with Facebook or LinkedIn (sign in), or paste a token made elsewhere."""
        overview = self.overview
        if overview is None:
            return
        if not overview.brands:
            self.notify("add a brand first (b)", severity="warning")
            return
        key = self.query_one(FlexTable).cursor_key()
        selected = self._accounts.get(key)
        brand = self._brands.get(key)
        brand_id = selected.brand_id if selected else brand.id if brand else None
        brands = overview.brands

        def chosen(choice: str | None) -> None:
            if choice == PASTE:
                self.app.push_screen(AddAccountScreen(brands, brand_id), self._account_added)
            elif choice is not None:
                self.app.push_screen(
                    ConnectScreen(choice, brands=brands, brand_id=brand_id), self._connected
                )

        self.app.push_screen(AddAccountChooser(), chosen)

    def _account_added(self, account: AccountView | None) -> None:
        if account is not None:
            self.notify(f"account {account.id} ({account.name}) connected")
            self._refresh_to(f"account-{account.id}")

    def action_reconnect(self) -> None:
        """Sign in again for the selected account (its platform); t pastes a token instead."""
        account = self._need_account()
        if account is None:
            return
        if account.status == REVOKED:
            self.notify(f"{account.name} was removed; a: connect it again", severity="warning")
            return
        self.app.push_screen(ConnectScreen(account.platform, reconnect=account), self._connected)

    def _connected(self, result: Connected | None) -> None:
        if result is None:
            return
        if not result.reconnected:
            names = ", ".join(f"account {a.id} ({a.name})" for a in result.accounts)
            self.notify(f"connected: {names}")
            self._refresh_to(f"account-{result.accounts[0].id}")
            return
        account = result.accounts[0]
        self.notify(f"account {account.id} ({account.name}) is connected again")
        self._refresh_to(f"account-{account.id}")
        self._offer_retry(account, result.failed_while_expired)

    def _offer_retry(self, account: AccountView, failed: list[int]) -> None:
        """Ask whether to retry what failed while the account was expired: once it is
        reconnected, by signing in again or by a pasted token."""
        if not failed:
            return
        count = len(failed)
        body = Text(
            f"{account.name} could not publish while it was expired: variant"
            f"{'s' if count != 1 else ''} {', '.join(str(i) for i in failed)} failed. "
            "Retrying queues them to go out now."
        )

        def answered(yes: bool | None) -> None:
            if yes:
                self.call(retry_variants, self.app.ctx, failed, done=self._retried)

        title = (
            f"Retry the {count} variants that failed while it was expired?"
            if count != 1
            else "Retry the variant that failed while it was expired?"
        )
        self.app.push_screen(ConfirmScreen(title, body, "retry"), answered)

    def _retried(self, result: RetryResult) -> None:
        if result.retried:
            self.notify(f"queued again: {' '.join(str(v.id) for v in result.retried)}")
        for variant_id, why in result.skipped:
            self.notify(
                f"variant {variant_id} not retried: {visible_line(why)}", severity="warning"
            )
        if result.retried and not result.worker_online:
            self.notify(NO_WORKER, severity="warning", timeout=12)
        self.refresh_data()

    def action_replace_token(self) -> None:
        account = self._need_account()
        if account is not None:
            self.app.push_screen(ReplaceTokenScreen(account), self._token_replaced)

    def _token_replaced(self, result: Connected | None) -> None:
        if result is None:
            return
        account = result.accounts[0]
        self.notify(f"{account.name}: new token saved; the account is {account.status}")
        self.refresh_data()
        self._offer_retry(account, result.failed_while_expired)

    def action_refresh_token(self) -> None:
        """Ask the platform for a fresh token (needs the app credentials in the settings)."""
        account = self._need_account()
        if account is not None:
            self.notify(
                f"{account.name}: asking {LABELS.get(account.platform, '')} for a new token…"
            )
            self.call(refresh_account, self.app.ctx, account.id, done=self._token_refreshed)

    def _token_refreshed(self, account: AccountView) -> None:
        expiry = local(account.token_expires_at, self.app.tz) if account.token_expires_at else "?"
        self.notify(f"{account.name}: fresh token saved, valid until {expiry}")
        self.refresh_data()

    def action_check_token(self) -> None:
        """Ask the platform whether the stored token still works, and record its expiry."""
        account = self._need_account()
        if account is not None:
            self.call(check_account, self.app.ctx, account.id, done=self._token_checked)

    def _token_checked(self, account: AccountView) -> None:
        if account.status == EXPIRED:
            self.notify(
                f"{account.name}: the token no longer works; r: reconnect, t: paste a new one",
                severity="error",
            )
        else:
            self.notify(f"{account.name}: the token works")
        self.refresh_data()

    def action_add_brand(self) -> None:
        self.app.push_screen(AddBrandScreen(), self._brand_added)

    def _brand_added(self, brand: object) -> None:
        # AddBrandScreen is an AskScreen (its form and styles), typed to return str | None; it
        # dismisses with the new BrandView, or None when cancelled.
        if isinstance(brand, BrandView):
            self.notify(f"brand {brand.name} added; a: add an account to it")
            self._refresh_to(f"brand-{brand.id}")

    def _refresh_to(self, key: str) -> None:
        """Reload, then put the cursor on a row that was just created.

        Remembered rather than passed along: a live refresh may replace this load.
        """
        self._cursor_to = key
        self.refresh_data()

    def action_remove(self) -> None:
        account = self._need_account()
        if account is None:
            return
        if account.status == REVOKED:
            self.notify(f"{account.name} was already removed", severity="warning")
            return
        body = Text(
            f"{LABELS.get(account.platform, account.platform)} {account.external_id}, "
            f"brand {account.brand_name}.\n\n"
            "Its tokens are erased from OmniPost; its variants and attempts are kept as "
            "history. You can add it again later with a new token."
        )

        def answered(yes: bool | None) -> None:
            if yes:
                self.call(
                    remove_account,
                    self.app.ctx,
                    account.id,
                    done=self._removed,
                    failed=partial(self._remove_refused, account),
                )

        self.app.push_screen(
            ConfirmScreen(f"Remove account {account.name}?", body, "remove"), answered
        )

    def _remove_refused(self, account: AccountView, exc: BaseException) -> None:
        if not isinstance(exc, AccountHasScheduledVariants):
            self.app.report_error(exc)
            return
        ids = exc.variant_ids
        shown = ", ".join(str(i) for i in ids[:12]) + ("…" if len(ids) > 12 else "")
        body = Text(
            f"{account.name} still has {len(ids)} variant{'s' if len(ids) != 1 else ''} waiting "
            f"to go out (ids {shown}).\n\n"
            "Unschedule them (they become drafts, nothing is published) and remove the account?"
        )

        def answered(yes: bool | None) -> None:
            if yes:
                self.call(
                    partial(remove_account, unschedule=True),
                    self.app.ctx,
                    account.id,
                    done=self._removed,
                )

        self.app.push_screen(
            ConfirmScreen(f"Unschedule {len(ids)} and remove?", body, "unschedule and remove"),
            answered,
        )

    def _removed(self, account: AccountView) -> None:
        self.notify(f"account {account.name} removed; its history is kept")
        self.refresh_data()

    def action_new_post(self) -> None:
        """The editor for a new post with the selected account ticked (and no other)."""
        # Imported here: the editor imports widgets that import screens (no cycle at load).
        from omnipost_tui.tui.screens.editor import EditorScreen

        account = self.selected_account()
        self.app.push_screen(EditorScreen(account_id=account.id if account else None))

    def action_toggle_removed(self) -> None:
        self.include_removed = not self.include_removed
        self.notify(
            "showing removed accounts" if self.include_removed else "removed accounts hidden"
        )
        self.refresh_data()
