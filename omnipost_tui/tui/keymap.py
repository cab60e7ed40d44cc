"""``[keymap]`` in config.toml remaps keys by binding id. The ids belong to the app's own
bindings, so they are checked here, where the app starts: config.py (the foundation) reads the
table but cannot know them, and Textual ignores an id it does not have (a typo silently kept
the old key)."""

from __future__ import annotations

import difflib
import importlib
import pkgutil
from collections.abc import Mapping
from functools import cache
from pathlib import Path

from textual.app import App
from textual.binding import Binding
from textual.dom import DOMNode
from textual.screen import Screen

from omnipost_tui.errors import ConfigError


@cache
def binding_ids() -> frozenset[str]:
    """The id of every key binding in the app: its screens, forms and widgets."""
    import omnipost_tui.tui as tui

    for module in pkgutil.walk_packages(tui.__path__, f"{tui.__name__}."):
        importlib.import_module(module.name)  # every screen's class, even one not yet used
    ids: set[str] = set()
    classes: list[type] = [DOMNode]
    while classes:
        cls = classes.pop()
        classes.extend(cls.__subclasses__())
        if cls.__module__.startswith(f"{tui.__name__}."):
            bindings = cls.__dict__.get("BINDINGS", ())
            ids.update(b.id for b in bindings if isinstance(b, Binding) and b.id)
    return frozenset(ids)


def check_keymap(keymap: Mapping[str, str], config_file: Path) -> None:
    """Refuse an id the app does not have, naming it and the ids it could have meant."""
    known = binding_ids()
    for binding_id in keymap:
        if binding_id not in known:
            raise ConfigError(
                f"unknown key binding {binding_id!r} in [keymap] of {config_file}; "
                + _valid_ones(binding_id, known)
            )


def _valid_ones(binding_id: str, known: frozenset[str]) -> str:
    close = difflib.get_close_matches(binding_id, sorted(known), n=3)
    guess = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
    section = binding_id.split(".", 1)[0]
    same = sorted(k for k in known if k.split(".", 1)[0] == section)
    if same:
        return f"{guess}{section} has: {', '.join(same)}"
    sections = sorted({k.split(".", 1)[0] for k in known})
    return (
        f"{guess}ids are WHERE.ACTION with WHERE one of {', '.join(sections)} "
        "(the help screen, ?, lists every id)"
    )


def key_for(node: Screen | App, action: str) -> str | None:
    """The key that runs ``action`` on ``node`` (a screen, or the app for its global keys) as
    the key bar shows it (``M``, ``/``, ``^f``), remapped keys included; None when it has no
    key for it. The one place a message that names a key looks it up: never the action's own
    id."""
    # Textual private: the node's own bindings, remapped keys included (active_bindings
    # would leave out a key while a field has focus). Re-check when upgrading Textual.
    for bindings in node._bindings.key_to_bindings.values():
        for binding in bindings:
            if binding.action == action:
                return node.app.get_key_display(binding)
    return None
