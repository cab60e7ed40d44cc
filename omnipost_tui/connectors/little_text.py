"""LinkedIn's "little" text format: what a post's text means there, and how it is sent.

The Posts API reads ``commentary`` as little text. Its elements are plain text, a hashtag
(``#word``) and a mention (``@[Name](urn:li:organization:123)``); the characters
``| { } @ [ ] ( ) < > # \\ * _ ~`` are reserved and must be backslash-escaped wherever they are
meant as plain text, or LinkedIn silently cuts the post at the first one.

A user writes ordinary text. This module decides what in it is meant as an element:

- **Mention**: little's own form, ``@[Name](urn:li:organization:ID)`` or
  ``@[Name](urn:li:person:ID)``. The name is one or more characters, none of them reserved and
  no line break; the ID is letters, digits, ``-`` and ``_``. Sent as written.
- **URL**: ``http://`` or ``https://`` and what follows up to the next whitespace, stopping
  before ``\\ < > { } |`` (never part of a URL; a ``\\`` would read as an escape). Trailing
  ``. , ; : ! ? ' "`` and a ``)`` or ``]`` that closes nothing inside the URL belong to the
  sentence, not the URL. Sent exactly as written, reserved characters included, so LinkedIn
  links the address the user wrote (schedulers that fixed the silent truncation do the same).
- **Hashtag**: ``#`` followed by letters and digits, at least one of them a letter, and not
  right after a letter, digit, ``_`` or ``#``: ``#AI`` and ``(#AI)`` are hashtags; ``C#``,
  ``a#b``, ``##x`` and ``#1`` are text. A hashtag ends at the first character that is not a
  letter or digit (``#AI_ML`` is the hashtag ``#AI`` followed by the text ``_ML``).
- Everything else is text: each reserved character in it is escaped.

The legacy ``ugcPosts`` API takes plain text instead: hashtags and URLs as written, mentions as
the name plus an attribute that points at its URN (see ``plain_with_mentions``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

RESERVED = frozenset("|{}@[]()<>#\\*_~")

TEXT: Literal["text"] = "text"
HASHTAG: Literal["hashtag"] = "hashtag"
MENTION: Literal["mention"] = "mention"
URL: Literal["url"] = "url"
Kind = Literal["text", "hashtag", "mention", "url"]

_NAME = r"[^|{}@\[\]()<>#\\*_~\r\n]+"
_MENTION = re.compile(rf"@\[({_NAME})\]\((urn:li:(?:organization|person):[A-Za-z0-9_-]+)\)")
# The scheme spelled out in ASCII rather than re.IGNORECASE: that also matches "ſ" (long s) as
# "s", and "httpſ://x/a_b" then went out unescaped, an address to us but not to LinkedIn, which
# cut the post at its "_". \s stays Unicode: any space ends an address.
_URL = re.compile(r"[hH][tT][tT][pP][sS]?://[^\s\\<>{}|]+")
_URL_TRAILING = ".,;:!?'\""
_HASHTAG = re.compile(r"#[^\W_]+")
_CLOSERS = {")": "(", "]": "["}


@dataclass(frozen=True)
class Segment:
    """A piece of the user's text: ``text`` as written; mentions also carry name and URN."""

    kind: Kind
    text: str
    name: str = ""
    urn: str = ""

    @property
    def shown(self) -> str:
        """What a reader sees: a mention shows its name, everything else its text."""
        return self.name if self.kind == MENTION else self.text


def segments(text: str) -> list[Segment]:
    """Split ``text`` into plain text, mentions, URLs and hashtags (see the module's rules)."""
    out: list[Segment] = []
    plain: list[str] = []

    def element(segment: Segment) -> None:
        if plain:
            out.append(Segment(TEXT, "".join(plain)))
            plain.clear()
        out.append(segment)

    i = 0
    while i < len(text):
        char = text[i]
        if char == "@" and (match := _MENTION.match(text, i)):
            element(Segment(MENTION, match.group(0), match.group(1), match.group(2)))
            i = match.end()
        elif char in "hH" and (url := _url_at(text, i)):
            element(Segment(URL, url))
            i += len(url)
        elif char == "#" and (tag := _hashtag_at(text, i)):
            element(Segment(HASHTAG, tag))
            i += len(tag)
        else:
            plain.append(char)
            i += 1
    if plain:
        out.append(Segment(TEXT, "".join(plain)))
    return out


def _url_at(text: str, i: int) -> str | None:
    match = _URL.match(text, i)
    if match is None:
        return None
    url = match.group(0)
    while url and (url[-1] in _URL_TRAILING or _closes_nothing(url)):
        url = url[:-1]
    scheme_end = url.index("//") + 2
    return url if len(url) > scheme_end else None


def _closes_nothing(url: str) -> bool:
    """Ends in ``)`` or ``]`` without its opener inside: ``(see https://x.example/a)``."""
    last = url[-1]
    return last in _CLOSERS and url.count(_CLOSERS[last]) < url.count(last)


def _hashtag_at(text: str, i: int) -> str | None:
    if i > 0 and (text[i - 1] == "#" or text[i - 1].isalnum() or text[i - 1] == "_"):
        return None
    match = _HASHTAG.match(text, i)
    if match is None or not any(c.isalpha() for c in match.group(0)):
        return None
    return match.group(0)


def escape_little_text(text: str) -> str:
    """``text`` as little text: hashtags, mentions and URLs as written, the rest escaped."""
    return "".join(
        "".join(f"\\{c}" if c in RESERVED else c for c in part.text)
        if part.kind == TEXT
        else part.text
        for part in segments(text)
    )


def plain_with_mentions(text: str) -> tuple[str, list[dict[str, Any]]]:
    """``text`` for ``ugcPosts``: mentions become their name plus an attribute.

    Attribute offsets count UTF-16 code units, as LinkedIn's (Java) strings do.
    """
    out: list[str] = []
    attributes: list[dict[str, Any]] = []
    offset = 0
    for part in segments(text):
        shown = part.shown
        if part.kind == MENTION:
            entity = (
                {"com.linkedin.common.CompanyAttributedEntity": {"company": part.urn}}
                if part.urn.startswith("urn:li:organization:")
                else {"com.linkedin.common.MemberAttributedEntity": {"member": part.urn}}
            )
            attributes.append({"start": offset, "length": _utf16_len(shown), "value": entity})
        out.append(shown)
        offset += _utf16_len(shown)
    return "".join(out), attributes


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2
