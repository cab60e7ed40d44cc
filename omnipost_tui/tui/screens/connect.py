"""Connecting accounts by signing in (OAuth): the chooser behind ``a`` and the connect dialog.

The dialog drives the three steps of ``services.connect``: it shows the platform's link (whole,
wrapped, so it can be selected, and copied with a key: OSC 52 works over SSH), takes back the
address the browser was sent to, pasted into a masked field or caught by the loopback listener
(whichever comes first), then lets the user tick the Pages or authors to connect. Reconnecting
skips the list: the platform must give back the account's own Page or author.

Nothing is stored before the last step, so Esc at any point leaves no account behind; the
listener is stopped whenever the dialog closes. What is pasted holds a one-time code: it is
never shown back, and the field is emptied as soon as it was handed to the service.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import ClassVar
from urllib.parse import urlsplit

from rich.cells import cell_len
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import Button, Input, Label, OptionList, Select, SelectionList, Static
from textual.widgets.option_list import Option
from textual.widgets.selection_list import Selection

from omnipost_tui.connectors.redirect_listener import LOOPBACK_HOSTS, PortBusy, RedirectListener
from omnipost_tui.errors import OmniPostError, ValidationError
from omnipost_tui.platforms import FACEBOOK, LABELS, LINKEDIN
from omnipost_tui.services.connect import (
    ConnectAttempt,
    Consent,
    Offer,
    begin_connect,
    failed_by_expiry,
    receive_consent,
    save_consent,
    save_reconnect,
)
from omnipost_tui.services.context import Context
from omnipost_tui.services.views import AccountView, BrandView
from omnipost_tui.text import clip, pad, visible, visible_line
from omnipost_tui.tui.base import ServiceCalls
from omnipost_tui.tui.keymap import key_for
from omnipost_tui.tui.toasts import ToastsOffTheCursor
from omnipost_tui.tui.widgets.tick_list import TickList

# What the chooser offers: (value, key, label).
PASTE = "paste"
CHOICES = (
    (FACEBOOK, "f", "Connect with Facebook"),
    (LINKEDIN, "l", "Connect with LinkedIn"),
    (PASTE, "p", "Paste a token made elsewhere"),
)
LISTEN_POLL_S = 0.2  # how often the dialog looks whether the browser came back
NAME_WIDTH = 30  # the widest name in the list of what to connect; longer ones are clipped


class AddAccountChooser(ModalScreen[str | None]):
    """How to add an account: sign in with a platform, or paste a token (the fallback)."""

    CSS_PATH = "connect.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "choose(None)", "Cancel", id="add_account.cancel"),
        Binding("f", f"choose('{FACEBOOK}')", "Facebook", id="add_account.facebook", show=False),
        Binding("l", f"choose('{LINKEDIN}')", "LinkedIn", id="add_account.linkedin", show=False),
        Binding("p", f"choose('{PASTE}')", "Paste a token", id="add_account.paste", show=False),
    ]
    AUTO_FOCUS = "#choices"

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Add an account", id="title")
            yield OptionList(
                *(
                    # The space after the key, not before the label: SVG viewers drop the
                    # spaces a text part starts with (the screenshots would read "fConnect").
                    Option(Text.assemble((f"{key}  ", "bold"), label), id=value)
                    for value, key, label in CHOICES
                ),
                id="choices",
                compact=True,
            )
            yield Label("↑↓ Enter or f / l / p: choose   Esc: cancel", id="keys")

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_choose(self, choice: str | None) -> None:
        self.dismiss(choice)


@dataclass(frozen=True)
class Connected:
    """What the dialog closes with: the accounts connected (or the one reconnected)."""

    accounts: list[AccountView]
    reconnected: bool = False
    # Reconnected: the variants that had failed while the account was expired.
    failed_while_expired: list[int] = field(default_factory=list)


def reconnect_now(
    ctx: Context, account_id: int, save_token: Callable[[], AccountView]
) -> Connected:
    """Store the new token of the account with ``save_token``, and which of its variants
    failed while it was expired (asked first: saving the token is what ends the expiry).
    Signing in again and pasting a token both come here, so both offer those for a retry."""
    failed = failed_by_expiry(ctx, account_id)
    account = save_token()
    return Connected([account], reconnected=True, failed_while_expired=failed)


def offer_prompt(offer: Offer, width: int) -> Text:
    """One line of the list: name (padded to ``width``: the ids line up), kind and id, and the
    account it already is, if any."""
    # Each part ends with the space before the next (see AddAccountChooser).
    text = Text(pad(clip(offer.name, width), width) + "  ", style="bold")
    text.append(f"{offer.kind} {visible_line(offer.external_id)}", style="dim")
    if offer.connected_as is not None:
        text.append("  ", style="dim")
        text.append(f"— already account {offer.connected_as}", style="italic")
    return text


class ConnectScreen(ServiceCalls, ToastsOffTheCursor, ModalScreen[Connected | None]):
    """Sign in with Facebook or LinkedIn: the link, the way back, then what to connect."""

    CSS_PATH = "connect.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="connect.cancel"),
        Binding("ctrl+y", "copy_link", "Copy link", id="connect.copy_link"),
        Binding("ctrl+s", "submit", "Connect", id="connect.submit"),
        # Only once a reconnect was refused (see check_action): before, r is a letter typed.
        Binding("r", "sign_in_again", "Sign in again", id="connect.sign_in_again", show=False),
    ]
    # The brand has its value already: the first field that needs typing is the address.
    AUTO_FOCUS = "#pasted"

    def __init__(
        self,
        platform: str,
        *,
        brands: list[BrandView] | None = None,
        brand_id: int | None = None,
        reconnect: AccountView | None = None,
    ) -> None:
        super().__init__()
        self.platform = reconnect.platform if reconnect else platform
        self.label = LABELS.get(self.platform, self.platform)
        self.brands = brands or []
        self.brand_id = brand_id if brand_id is not None else self._only_brand()
        self.reconnecting = reconnect
        self.attempt: ConnectAttempt | None = None
        self.consent: Consent | None = None
        self.listener: RedirectListener | None = None
        self._poll: Timer | None = None
        self._asking = False  # a consent call is running: the other way back waits
        self._from_listener = False  # the running one came from the listener
        self._saving = False  # accounts are being written: Esc no longer cancels
        self._refused_reconnect = False  # its consent is spent: only Esc or r go on

    def _only_brand(self) -> int | None:
        return self.brands[0].id if len(self.brands) == 1 else None

    # --- layout -----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        account = self.reconnecting
        with Vertical(id="dialog"):
            if account is None:
                what = "Pages" if self.platform == FACEBOOK else "authors"
                yield Label(f"Connect {self.label} {what}", id="title")
                with Horizontal(classes="field", id="brand-field"):
                    yield Label("brand", id="brand-label")
                    yield Select(
                        [(b.name, b.id) for b in self.brands],
                        value=self.brand_id if self.brand_id is not None else Select.BLANK,
                        prompt="which brand the accounts join",
                        allow_blank=self.brand_id is None,
                        id="brand",
                        compact=True,
                    )
            else:
                yield Label(
                    Text(f"Sign in to {self.label} again for {account.name}"),
                    id="title",
                )
                yield Label(
                    Text(
                        f"account {account.id} · {account.external_id} · brand "
                        f"{account.brand_name} · now {account.status}; approve as someone who "
                        f"manages it"
                    ),
                    id="subtitle",
                )
            with Vertical(id="paste-step"):
                yield Label(
                    f"Open this link in any browser, sign in to {self.label} and approve:",
                    id="open",
                    classes="text",
                )
                yield Static("preparing the link…", id="url")
                yield Label("", id="then", classes="text")
                with Horizontal(classes="field", id="pasted-field"):
                    yield Label("address", id="pasted-label")
                    yield Input(
                        password=True,
                        placeholder="paste the address (or the code); it stays hidden",
                        id="pasted",
                        compact=True,
                    )
                yield Label("", id="listening", classes="text")
            with Vertical(id="choose-step"):
                yield Label(
                    f"{self.label} lets OmniPost publish as (Space ticks one):", id="choose-hint"
                )
                yield TickList(id="offers", compact=True)
                yield Label("", id="notes", classes="text")
                with Horizontal(id="buttons"):
                    yield Button("Connect", id="connect", variant="primary", compact=True)
                    yield Button("Cancel", id="cancel", compact=True)
            with Vertical(id="messages"):
                yield Label("", id="error")
                yield Label("", id="status")
            yield Label(self._keys(), id="keys")

    def _keys(self) -> str:
        if self.consent is not None:
            return "Space: tick   ctrl+s or Connect: connect   Tab: next   Esc: cancel"
        go_on = "reconnect" if self.reconnecting else "go on"
        return f"Enter: {go_on}   ctrl+y: copy the link   Esc: cancel"

    def on_mount(self) -> None:
        self.query_one("#choose-step").display = False
        for key in ("status", "error"):
            self._say(key, "")
        self._begin()

    def _begin(self) -> None:
        """A new attempt: a fresh link and state (a state is good for one answer only)."""
        self.call(
            partial(
                begin_connect,
                self.app.ctx,
                self.platform,
                reconnect=self.reconnecting.id if self.reconnecting else None,
            ),
            done=self._begun,
            failed=self._not_begun,
        )

    def _say(self, key: str, text: str | Text) -> None:
        """A line that takes room only while it has something to say. Plain text, controls as
        symbols: messages quote names (the platform's too), never markup."""
        label = self.query_one(f"#{key}", Label)
        label.update(Text(visible(text)) if isinstance(text, str) else text)
        label.display = bool(str(text))
        messages = self.query_one("#messages")
        messages.display = any(line.display for line in messages.children)

    # --- step 1: the link, and the listener ---------------------------------------------------

    def _begun(self, attempt: ConnectAttempt) -> None:
        self.attempt = attempt
        self.query_one("#url", Static).update(Text(attempt.url, style="underline"))
        self.query_one("#then", Label).update(
            Text(
                f"After you approve, your browser is sent to {attempt.redirect_uri}; a page "
                "saying it cannot be reached is expected: paste its address below."
            )
        )
        self._listen()

    def _not_begun(self, exc: BaseException) -> None:
        if not isinstance(exc, OmniPostError):
            self.app.report_error(exc)
            return
        # Nothing to open or paste: the reason, and the way out.
        self.query_one("#paste-step").display = False
        self._say("error", exc.message)
        self._say("status", "Esc: close; a, then p: paste a token made elsewhere instead")
        self.query_one("#keys", Label).update("Esc: close")

    def _listen(self) -> None:
        """Wait for the browser on the redirect's own port too, when it is this machine."""
        attempt = self.attempt
        assert attempt is not None
        parts = urlsplit(attempt.redirect_uri)
        if parts.hostname not in LOOPBACK_HOSTS:
            self._say("listening", "not listening: the redirect address is not this machine")
            return
        listener = RedirectListener(attempt.redirect_uri, attempt.authorization.state)
        try:
            listener.start()
        except ValidationError as exc:
            self._say("listening", self._not_listening(listener, exc))
            return
        self.listener = listener
        port = listener.port
        self._say(
            "listening",
            f"also listening on {listener.address} (here, or via ssh -L {port}:127.0.0.1:{port})",
        )
        if self._poll is None:
            self._poll = self.set_interval(LISTEN_POLL_S, self._check_listener)

    @staticmethod
    def _not_listening(listener: RedirectListener, exc: ValidationError) -> str:
        if isinstance(exc, PortBusy):
            return (
                f"not listening on {listener.address}: the port is busy (another program, or "
                "another connect still waiting); paste the address"
            )
        return f"not listening: {exc.message}"

    def _stop_listening(self) -> None:
        if self._poll is not None:
            self._poll.stop()
            self._poll = None
        if self.listener is not None:
            self.listener.stop()
            self.listener = None

    def _check_listener(self) -> None:
        if self.listener is None or self._asking:
            return
        received = self.listener.received()
        if received is not None:
            self._from_listener = True
            self._ask(received)

    # --- step 2: what the browser was sent to ---------------------------------------------

    @on(Input.Submitted, "#pasted")
    def _pasted(self, event: Input.Submitted) -> None:
        event.stop()
        self._take_paste()

    def _take_paste(self) -> None:
        field = self.query_one("#pasted", Input)
        pasted = field.value
        if self.attempt is None or self._asking:
            return
        field.value = ""  # handed over: the code leaves the screen
        self._from_listener = False
        self._ask(pasted)

    def _ask(self, pasted: str) -> None:
        attempt = self.attempt
        assert attempt is not None
        self._asking = True
        self._say("error", "")
        how = "your browser came back; " if self._from_listener else ""
        self._say("status", f"{how}asking {self.label}…")
        self.call(
            receive_consent,
            self.app.ctx,
            attempt,
            pasted,
            done=self._consented,
            failed=self._not_consented,
            group="consent",
        )

    def _not_consented(self, exc: BaseException) -> None:
        self._asking = False
        self._say("status", "")
        # That attempt's state is spent: a new link (and a new listener) for the next try.
        self._stop_listening()
        self.attempt = None
        self._begin()
        if not isinstance(exc, OmniPostError):
            self.app.report_error(exc)
            return
        self._say("error", exc.message)
        self._say("status", "open the new link above, approve, and paste the address; or Esc")
        self.query_one("#pasted", Input).focus()

    def _consented(self, consent: Consent) -> None:
        self._asking = False
        self._stop_listening()
        self.consent = consent
        account = self.reconnecting
        if account is not None:
            self._say("status", f"saving the new token of {account.name}…")
            self._saving = True
            self.call(
                reconnect_now,
                self.app.ctx,
                account.id,
                partial(save_reconnect, self.app.ctx, consent, account.id),
                done=self.dismiss,
                failed=self._refused,
            )
            return
        self._show_offers(consent)

    # --- step 3: what to connect ------------------------------------------------------------

    def _show_offers(self, consent: Consent) -> None:
        self.query_one("#paste-step").display = False
        self.query_one("#choose-step").display = True
        offers = self.query_one("#offers", SelectionList)
        new = [o for o in consent.offers if o.connected_as is None]
        width = min(max(cell_len(visible_line(o.name)) for o in consent.offers), NAME_WIDTH)
        offers.add_options(
            [
                Selection(
                    offer_prompt(o, width),
                    o.external_id,
                    # Only one to choose from: ticked already.
                    initial_state=len(new) == 1 and o.connected_as is None,
                    disabled=o.connected_as is not None,
                )
                for o in consent.offers
            ]
        )
        notes = [f"note: {visible_line(n)}" for n in consent.notes if n]
        if not new:
            notes.append("every one of them is connected already: Esc closes")
        self._say("notes", "\n".join(notes))
        self._say("status", "")
        self.query_one("#keys", Label).update(self._keys())
        offers.focus()

    @on(Button.Pressed, "#connect")
    def _connect_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_submit()

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_cancel()

    def action_submit(self) -> None:
        consent = self.consent
        if consent is None:
            self._take_paste()
            return
        if self._saving or self.reconnecting is not None:
            return
        brand = self.query_one("#brand", Select).value
        if not isinstance(brand, int):
            self._say("error", "choose the brand the accounts join (the first field)")
            self.query_one("#brand", Select).focus()
            return
        chosen = list(self.query_one("#offers", SelectionList).selected)
        self._saving = True
        self._say("error", "")
        self._say("status", "connecting…")
        self.call(
            partial(save_consent, self.app.ctx, consent, brand=brand, chosen=chosen),
            done=self._saved,
            failed=self._refused,
        )

    def _saved(self, accounts: list[AccountView]) -> None:
        self.dismiss(Connected(accounts))

    def _refused(self, exc: BaseException) -> None:
        self._saving = False
        self._say("status", "")
        if not isinstance(exc, OmniPostError):
            self.app.report_error(exc)
            return
        self._say("error", exc.message)
        if self.reconnecting is not None:
            # The consent is used up: this attempt is over (the message says what to do).
            self._refused_reconnect = True
            self.query_one("#paste-step").display = False
            again = key_for(self, "sign_in_again")
            self._say("status", f"Esc: close; {again}: sign in again")
            self.query_one("#keys", Label).update(f"{again}: sign in again   Esc: close")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "sign_in_again":
            return self._refused_reconnect
        return True

    def action_sign_in_again(self) -> None:
        """After a refused reconnect: start over with a new link, as the dialog opened."""
        self._refused_reconnect = False
        self.consent = None
        self.attempt = None
        self._say("error", "")
        self._say("status", "")
        self.query_one("#url", Static).update("preparing the link…")
        self.query_one("#paste-step").display = True
        self.query_one("#keys", Label).update(self._keys())
        self.query_one("#pasted", Input).focus()
        self._begin()

    # --- anywhere ---------------------------------------------------------------------------

    def action_copy_link(self) -> None:
        if self.attempt is None or self.consent is not None:
            return
        self.app.copy_to_clipboard(self.attempt.url)
        self.notify(
            "link copied (where the terminal allows it; or select it with the mouse)",
            timeout=4,
        )

    def action_cancel(self) -> None:
        if self._saving:
            return  # the accounts are being written: a moment, then the dialog closes itself
        self._stop_listening()
        self.query_one("#pasted", Input).value = ""
        self.dismiss(None)

    def on_unmount(self) -> None:
        self._stop_listening()
