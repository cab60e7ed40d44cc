"""The editor's preview: what each platform will receive, the whole text as written
(LinkedIn's mentions as names), the pictures, and the link: a card, or in the text when
there are pictures."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from omnipost_tui.image_modes import IMAGES_INHERIT, IMAGES_NONE, IMAGES_OWN
from omnipost_tui.platforms import (
    LABELS,
    text_with_link,  # the connectors' own rule
)
from omnipost_tui.text import visible_line
from omnipost_tui.tui.widgets.variant_row import counter_text, shown_text


@dataclass(frozen=True)
class VariantImages:
    """The pictures a variant publishes: the post's (``inherit``), its own, or ``none``."""

    mode: str = IMAGES_INHERIT
    names: tuple[str, ...] = ()

    @property
    def sent(self) -> tuple[str, ...]:
        return () if self.mode == IMAGES_NONE else self.names

    def describe(self) -> str:
        """``3 images: a.jpg, b.png, c.gif``; ``no images``; ``its own image: x.png``."""
        if self.mode == IMAGES_NONE:
            return "no images (this variant publishes its text only)"
        if not self.names:
            return "no images"
        count = f"{len(self.names)} image{'s' if len(self.names) != 1 else ''}"
        own = "its own " if self.mode == IMAGES_OWN else ""
        return f"{own}{count}: {', '.join(visible_line(name) for name in self.names)}"


class PreviewScreen(ModalScreen[None]):
    """What each platform will receive: the whole text as written, the pictures, the link."""

    CSS_PATH = "preview.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,enter,q,f2,ctrl+o", "close", "Close", id="preview.close"),
    ]

    def __init__(
        self,
        items: list[tuple[str, str, str, str | None]],
        images: Sequence[VariantImages] | None = None,
    ) -> None:
        """``items``: (platform, account name, final text, link); ``images[i]``: what
        ``items[i]`` publishes besides its text (none when not given)."""
        super().__init__()
        self.items = items
        self.images = list(images) if images is not None else [VariantImages()] * len(items)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text("Preview", style="bold"))
            with VerticalScroll():
                if not self.items:
                    yield Label("No account is included: tick one to see its preview.")
                for (platform, account, text, link), images in zip(
                    self.items, self.images, strict=True
                ):
                    pictures = images.sent
                    sent = text_with_link(text, link) if pictures else text
                    head = Text(f"{LABELS[platform]} · {visible_line(account)}   ", style="bold")
                    head.append_text(counter_text(platform, sent, named=False))
                    yield Label(head, classes="preview-head")
                    shown = shown_text(platform, sent) if sent else Text("(no text yet)")
                    yield Static(shown, classes="preview-text")
                    yield Label(Text(images.describe()), classes="preview-images")
                    if link and pictures:
                        yield Label(
                            Text(f"link in the text (no link card with images): {link}"),
                            classes="preview-link",
                        )
                    elif link:
                        yield Label(Text(f"link card: {link}"), classes="preview-link")
            yield Label("\nEsc / Enter: close", id="keys")

    def action_close(self) -> None:
        self.dismiss(None)
