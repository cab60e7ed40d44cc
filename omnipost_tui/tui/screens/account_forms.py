"""Forms of the accounts screen: add an account, paste a new token, add a brand.

Each form calls the service itself and stays open with the reason beside the field when it is
refused; it closes with the new row once the service accepted it. Tokens are typed into masked
inputs and cleared as soon as they have been handed to the service: the screen never keeps,
shows or logs one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Select

from omnipost_tui import clock
from omnipost_tui.errors import OmniPostError, ValidationError
from omnipost_tui.platforms import FACEBOOK, LABELS, LINKEDIN, PLATFORMS
from omnipost_tui.services.accounts import (
    add_account,
    check_token_expiry,
    reconnect_account,
    validate_external_id,
    validate_token,
)
from omnipost_tui.services.brands import add_brand
from omnipost_tui.services.views import AccountView, BrandView
from omnipost_tui.times import parse_when
from omnipost_tui.tui.base import ServiceCalls
from omnipost_tui.tui.screens.confirm import AskScreen
from omnipost_tui.tui.screens.connect import reconnect_now
from omnipost_tui.tui.toasts import ToastsOffTheCursor

EXTERNAL_HINTS = {
    FACEBOOK: ("page id", "the Facebook Page's id, e.g. 104123456789"),
    LINKEDIN: ("author", "urn:li:organization:ID (a company page) or urn:li:person:ID"),
}
EXPIRY_PLACEHOLDER = "optional: 2027-02-07 or +60d"
FORM_CSS = """
{name} {{ align: center middle; }}
{name} > Vertical {{
    width: 76; max-width: 100%; height: auto; max-height: 100%;
    border: thick $accent; background: $surface; padding: 0 1;
}}
{name} #title {{ text-style: bold; padding-bottom: 1; }}
{name} .field {{ height: 1; }}
{name} .field > Label {{ width: 10; color: $text-muted; }}
{name} .field > Input, {name} .field > Select {{ width: 1fr; }}
/* Where the typing goes is always visible: the field's row is lit and its label marked. (The
   row's own :focus-within rule is what makes Textual restyle the label when focus moves.) */
{name} .field:focus-within {{ background: $accent 15%; }}
{name} .field:focus-within > Label {{ color: $text; background: $accent; text-style: bold; }}
{name} #title.-with-subtitle {{ padding-bottom: 0; }}
{name} #subtitle {{ color: $text-muted; padding-bottom: 1; }}
{name} .hint {{ color: $text-muted; padding-left: 10; height: auto; width: 100%; }}
{name} .error {{ color: $error; padding-left: 10; height: auto; width: 100%; }}
{name} #error {{ color: $error; padding-top: 1; height: auto; width: 100%; }}
{name} #keys {{ color: $text-muted; padding-top: 1; }}
"""


def show(label: Label, text: str) -> None:
    """A hint or error line takes room only while it has something to say."""
    label.update(text)
    label.display = bool(text)


def parse_expiry(text: str, tz) -> datetime | None:
    """The token's expiry as typed (optional); refused as ``--expires-at`` is when it has passed."""
    if not text.strip():
        return None
    now = clock.now()
    when = parse_when(text, tz, now)
    check_token_expiry(when, now)
    return when


class FormScreen(ServiceCalls, ToastsOffTheCursor, ModalScreen[Any]):
    """Fields with an error line under each; Enter goes to the next field, the last submits."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="form.cancel"),
        Binding("ctrl+s", "submit", "Save", id="form.submit"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.hints: dict[str, str] = {}
        self._first_error = ""

    def field(self, label: str, widget, *, hint: str = "") -> ComposeResult:
        key = widget.id
        self.hints[key] = hint
        with Horizontal(classes="field"):
            yield Label(label, id=f"{key}-label")
            yield widget
        yield Label(hint, id=f"{key}-hint", classes="hint").set_styles(
            "display: block;" if hint else "display: none;"
        )
        yield Label("", id=f"{key}-error", classes="error").set_styles("display: none;")

    def token_field(self) -> ComposeResult:
        token = Input(password=True, placeholder="paste the access token", id="token", compact=True)
        yield from self.field(
            "token", token, hint="hidden while you type or paste; stored encrypted"
        )

    def set_error(self, key: str, message: str = "") -> None:
        """The error replaces the field's hint while there is one."""
        show(self.query_one(f"#{key}-error", Label), message)
        show(self.query_one(f"#{key}-hint", Label), "" if message else self.hints.get(key, ""))

    def check(self, key: str, validate: Callable[[], Any]) -> tuple[bool, Any]:
        """Run one field's validation; its message goes under the field."""
        try:
            value = validate()
        except ValidationError as exc:
            self.set_error(key, exc.message)
            if not self._first_error:
                self._first_error = key
            return False, None
        self.set_error(key, "")
        return True, value

    def valid(self, *checks: bool) -> bool:
        """All checks passed; otherwise the cursor goes to the first field that failed."""
        show(self.query_one("#error", Label), "")
        first, self._first_error = self._first_error, ""
        if first:
            self.query_one(f"#{first}").focus()
        return all(checks)

    @on(Input.Submitted)
    def _next_field(self, event: Input.Submitted) -> None:
        inputs = list(self.query(Input).results(Input))
        if event.input is inputs[-1]:
            self.action_submit()
        else:
            self.focus_next()

    def refused(self, exc: BaseException) -> None:
        if isinstance(exc, OmniPostError):
            show(self.query_one("#error", Label), exc.message)
        else:
            self.app.report_error(exc)

    def forget_token(self) -> None:
        """Handed to the service (or given up): the secret leaves the screen."""
        token = self.query_one("#token", Input)
        token.value = ""

    def action_submit(self) -> None:
        raise NotImplementedError

    def action_cancel(self) -> None:
        self.forget_token()
        self.dismiss(None)


class AddAccountScreen(FormScreen):
    """A new Facebook Page or LinkedIn author with its access token."""

    DEFAULT_CSS = FORM_CSS.format(name="AddAccountScreen")
    # The first text field, not the brand or platform select: typing at once must land in a
    # field, never pick a platform and shift every later value one field down.
    AUTO_FOCUS = "#external"

    def __init__(self, brands: list[BrandView], brand_id: int | None = None) -> None:
        super().__init__()
        self.brands = brands
        self.brand_id = brand_id if brand_id is not None else brands[0].id

    def compose(self) -> ComposeResult:
        label, hint = EXTERNAL_HINTS[FACEBOOK]
        with Vertical():
            yield Label("Add an account", id="title")
            yield from self.field(
                "brand",
                Select(
                    [(b.name, b.id) for b in self.brands],
                    allow_blank=False,
                    value=self.brand_id,
                    id="brand",
                    compact=True,
                ),
            )
            yield from self.field(
                "platform",
                Select(
                    [(LABELS[p], p) for p in PLATFORMS],
                    allow_blank=False,
                    value=FACEBOOK,
                    id="platform",
                    compact=True,
                ),
            )
            yield from self.field(label, Input(id="external", compact=True), hint=hint)
            yield from self.field(
                "name", Input(placeholder="as you call it", id="name", compact=True)
            )
            yield from self.token_field()
            yield from self.field(
                "expires", Input(placeholder=EXPIRY_PLACEHOLDER, id="expires", compact=True)
            )
            yield Label("", id="error").set_styles("display: none;")
            yield Label("Enter: next field, add on the last   ctrl+s: add   Esc: cancel", id="keys")

    @on(Select.Changed, "#platform")
    def _platform_changed(self, event: Select.Changed) -> None:
        platform = event.value if isinstance(event.value, str) else FACEBOOK
        label, hint = EXTERNAL_HINTS[platform]
        self.query_one("#external-label", Label).update(label)
        self.hints["external"] = hint
        self.set_error("external")

    def action_submit(self) -> None:
        brand = self.query_one("#brand", Select).value
        assert isinstance(brand, int)  # allow_blank=False: always one of the brands' ids
        platform = str(self.query_one("#platform", Select).value)
        name = self.query_one("#name", Input).value.strip()
        typed = self.query_one("#token", Input).value
        external_ok, external = self.check(
            "external",
            lambda: validate_external_id(platform, self.query_one("#external", Input).value),
        )
        name_ok, _ = self.check("name", lambda: check_name(name))
        token_ok, token = self.check("token", lambda: validate_token(typed))
        expiry_ok, expires = self.check(
            "expires", lambda: parse_expiry(self.query_one("#expires", Input).value, self.app.tz)
        )
        if not self.valid(external_ok, name_ok, token_ok, expiry_ok):
            return
        add = partial(
            add_account,
            self.app.ctx,
            brand=brand,
            platform=platform,
            external_id=external,
            name=name,
            access_token=token,
            token_expires_at=expires,
        )
        self.forget_token()
        self.call(add, done=self.dismiss, failed=self._refused)

    def _refused(self, exc: BaseException) -> None:
        self.refused(exc)
        self.set_error("token", "paste the token again")


def check_name(name: str) -> str:
    # The service says the same; checked here too so it shows beside the field.
    if not name:
        raise ValidationError("the account needs a name")
    if name.isdigit():
        raise ValidationError("not a bare number (it would look like an id)")
    return name


class ReplaceTokenScreen(FormScreen):
    """A new access token for an account (typically an expired one). Closes as signing in
    again does (``Connected``, with what failed while it was expired)."""

    DEFAULT_CSS = FORM_CSS.format(name="ReplaceTokenScreen")
    AUTO_FOCUS = "#token"

    def __init__(self, account: AccountView) -> None:
        super().__init__()
        self.account = account

    def compose(self) -> ComposeResult:
        account = self.account
        platform = LABELS.get(account.platform, account.platform)
        with Vertical():
            yield Label(
                f"New token for {account.name} ({platform})", id="title", classes="-with-subtitle"
            )
            yield Label(
                f"{account.external_id} · brand {account.brand_name} · now {account.status}",
                id="subtitle",
            )
            yield from self.token_field()
            yield from self.field(
                "expires", Input(placeholder=EXPIRY_PLACEHOLDER, id="expires", compact=True)
            )
            yield Label("", id="error").set_styles("display: none;")
            yield Label(
                "Enter: next field, save on the last   ctrl+s: save   Esc: cancel", id="keys"
            )

    def action_submit(self) -> None:
        token_ok, token = self.check(
            "token", lambda: validate_token(self.query_one("#token", Input).value)
        )
        expiry_ok, expires = self.check(
            "expires", lambda: parse_expiry(self.query_one("#expires", Input).value, self.app.tz)
        )
        if not self.valid(token_ok, expiry_ok):
            return
        replace = partial(
            reconnect_account,
            self.app.ctx,
            self.account.id,
            access_token=token,
            token_expires_at=expires,
        )
        self.forget_token()
        self.call(
            reconnect_now,
            self.app.ctx,
            self.account.id,
            replace,
            done=self.dismiss,
            failed=self._refused,
        )

    def _refused(self, exc: BaseException) -> None:
        self.refused(exc)
        self.set_error("token", "paste the token again")


class AddBrandScreen(ServiceCalls, AskScreen):
    """The brand's name; a refused name (empty, taken) is explained under the field."""

    def __init__(self) -> None:
        super().__init__("Add a brand", "Its name, as it should appear in lists:")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        event.prevent_default()  # AskScreen's handler would close with the bare text
        self.query_one("#error", Label).update("")
        self.call(
            add_brand,
            self.app.ctx,
            event.value,
            done=self.dismiss,
            failed=self._refused,
        )

    def _refused(self, exc: BaseException) -> None:
        if isinstance(exc, OmniPostError):
            self.query_one("#error", Label).update(Text(exc.message))
        else:
            self.app.report_error(exc)
