"""A path field that Tab completes the way a shell does: directories and files of the machine
the app runs on (over SSH, the server's), ``~`` for the home directory.

Tab completes as far as the matches agree; when several remain it lists them under the field,
and a second Tab with nothing more to complete moves focus on, as Tab does everywhere else.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import ClassVar

from textual.actions import SkipAction
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Input

# Listing stops here: a directory of a hundred thousand files must not freeze the editor.
MOST_ENTRIES = 5_000


@dataclass(frozen=True)
class PathCompletion:
    """What Tab does to ``text``: the completed text, and every name that still matches."""

    text: str
    matches: tuple[str, ...] = ()  # names in the directory, a directory's ending in "/"

    @property
    def ambiguous(self) -> bool:
        return len(self.matches) > 1


def complete_path(text: str) -> PathCompletion:
    """``~/Pic`` → ``~/Pictures/``; ``shots/a`` with ``a1.png`` and ``a2.png`` → ``shots/a``
    and both names. The typed part stays as typed (``~`` too); only the name is completed.
    Hidden files match only once a ``.`` is typed."""
    if not text:
        return PathCompletion(text)
    if text == "~":
        text = "~/"  # the home directory itself, as a shell completes it
    head, sep, prefix = text.rpartition("/")
    folder = head + sep  # as typed: "~/shots/", "/", "" (the working directory)
    listed = os.path.expanduser(folder) if folder else "."
    matches: list[str] = []
    try:
        with os.scandir(listed) as entries:
            for count, entry in enumerate(entries):
                if count >= MOST_ENTRIES:
                    break
                name = entry.name
                if not name.startswith(prefix) or (name.startswith(".") and not prefix[:1]):
                    continue
                try:
                    is_dir = entry.is_dir()  # follows links: a link to a folder is a folder
                except OSError:
                    is_dir = False
                matches.append(f"{name}/" if is_dir else name)
    except OSError:
        return PathCompletion(text)
    if not matches:
        return PathCompletion(text)
    matches.sort(key=lambda name: (name.casefold(), name))
    return PathCompletion(folder + common_start(matches), tuple(matches))


def common_start(names: list[str]) -> str:
    """The characters every name starts with (``a1.png``, ``a2.png`` → ``a``): a name is
    completed character by character, not by path component."""
    first, last = min(names), max(names)
    size = 0
    while size < min(len(first), len(last)) and first[size] == last[size]:
        size += 1
    return first[:size]


class PathInput(Input):
    """An Input whose Tab completes a path (see ``complete_path``)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("tab", "complete", "Complete", id="editor.complete_path", show=False),
    ]

    class Completed(Message):
        """Tab was pressed: ``matches`` are the names that still fit (empty: none or one)."""

        def __init__(self, path_input: PathInput, matches: tuple[str, ...]) -> None:
            super().__init__()
            self.path_input = path_input
            self.matches = matches

        @property
        def control(self) -> PathInput:
            return self.path_input

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._listed_for: str | None = None  # the text whose matches are shown

    def action_complete(self) -> None:
        completion = complete_path(self.value)
        if completion.text != self.value:
            self.value = completion.text
            self.cursor_position = len(self.value)
            listed = completion.ambiguous
        elif completion.ambiguous and self._listed_for != self.value:
            listed = True  # nothing more to complete: say what it could be
        else:
            # Nothing to complete (or the choices are on screen already): Tab moves on.
            raise SkipAction()
        self._listed_for = self.value if listed else None
        self.post_message(self.Completed(self, completion.matches if listed else ()))
