"""What text may contain, and how text that breaks the rule is shown without harm.

A post's or a variant's text may hold line breaks and tabs; one-line fields (titles, names,
links) hold neither. Every other control character (C0, DEL, C1) is refused where text comes
in, on every database: NUL is refused by PostgreSQL but stored by SQLite (and then published),
and the rest would drive the terminal that shows the text (BEL rings, CR returns to the start
of the line and lets a text overwrite what is shown there, ESC starts a command). Windows
(CRLF) and old Mac (CR) line ends become LF. Bytes that are not UTF-8 (they reach us as lone
surrogates from argv or a file) are refused too: they cannot be stored or sent.

Text stored before the rule, and whatever a platform answers, may still hold such characters:
``visible`` shows them as symbols instead of sending them to the terminal.

Where text has a fixed width on screen (a table cell, a day of the month grid), its width is
counted in terminal cells, not characters: a CJK character or an emoji takes two cells, a
combining accent none. ``clip`` and ``pad`` are the one place that cuts and fills to a width,
for the CLI's tables and the app's screens alike.
"""

from __future__ import annotations

import re
import unicodedata

# Rich measures cells the way Textual draws them (rich comes with Textual; the CLI's tables
# import it anyway). About 3 ms at start-up, measured with ``python -X importtime``.
from rich.cells import cell_len, set_cell_size

from omnipost_tui.errors import ValidationError

# The names terminals and Unicode give the C0 controls, to say which one was found.
_C0_NAMES = (
    *("NUL", "SOH", "STX", "ETX", "EOT", "ENQ", "ACK", "BEL", "BS", "HT", "LF", "VT"),
    *("FF", "CR", "SO", "SI", "DLE", "DC1", "DC2", "DC3", "DC4", "NAK", "SYN", "ETB"),
    *("CAN", "EM", "SUB", "ESC", "FS", "GS", "RS", "US"),
)
_DEL = 0x7F

# Control characters (and undecodable bytes) other than tab and LF: refused in any text,
# never printed raw. A one-line field refuses tab and LF too.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_CONTROLS_WITH_TAB_LF = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
# What else a one-line field (a name, a title) refuses: Unicode's own line breaks, the bidi
# controls that show a name in another order than it is stored ("Evil\u202egnp.exe" shows as
# "Evilexe.png"), and the invisible spaces that make "Acme\u200b" a second brand that looks
# like "Acme". The joiners (U+200C, U+200D: emoji sequences, Persian) and the marks (U+200E,
# U+200F: right-to-left names) stay allowed.
_HIDDEN_IN_A_LINE = re.compile("[\u2028\u2029\u202a-\u202e\u2066-\u2069\u200b\u2060\ufeff]")


def normalise_line_ends(text: str) -> str:
    """CRLF and a lone CR become LF."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def check_text(text: str, what: str) -> str:
    """Multi-line text (``what``: "post text", "variant text") as it may be stored.

    Line ends are normalised to LF; any other control character is refused with a
    ValidationError naming ``what``, the character and where it is.
    """
    text = normalise_line_ends(text)
    _refuse(_CONTROLS, text, what, one_line=False)
    return text


def check_line(text: str, what: str) -> str:
    """A one-line field (``what``: "post title", "brand name"…): no control character at all."""
    _refuse(_CONTROLS_WITH_TAB_LF, text, what, one_line=True)
    hidden = _HIDDEN_IN_A_LINE.search(text)
    if hidden is not None:
        code = ord(hidden.group())
        kind = "a line break" if code in (0x2028, 0x2029) else "an invisible character"
        raise ValidationError(
            f"the {what} contains {kind} (U+{code:04X} {unicodedata.name(hidden.group())}) at "
            f"column {hidden.start() + 1}; remove it"
        )
    return text


def _refuse(pattern: re.Pattern[str], text: str, what: str, *, one_line: bool) -> None:
    found = pattern.search(text)
    if found is None:
        return
    index = found.start()
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    where = f"at column {column}" if one_line else f"at line {line}, column {column}"
    code = ord(found.group())
    if 0xDC80 <= code <= 0xDCFF:  # how Python carries an undecodable byte (surrogateescape)
        raise ValidationError(
            f"the {what} is not valid UTF-8 (byte 0x{code - 0xDC00:02X} {where}); "
            "save it as UTF-8 and try again"
        )
    if 0xD800 <= code <= 0xDFFF:
        raise ValidationError(
            f"the {what} is not valid Unicode (an unpaired surrogate U+{code:04X} {where})"
        )
    if one_line and code in (0x0A, 0x0D):
        raise ValidationError(f"the {what} contains a line break {where}; it must be a single line")
    raise ValidationError(
        f"the {what} contains a control character ({describe_character(code)}) {where}; remove it"
    )


def describe_character(code: int) -> str:
    """``U+0007 BEL``: a control character as a person can look it up."""
    if code < len(_C0_NAMES):
        return f"U+{code:04X} {_C0_NAMES[code]}"
    if code == _DEL:
        return "U+007F DEL"
    return f"U+{code:04X}"


def storable(text: str | None) -> str | None:
    """A platform's words (an error, a raw answer) as every database can store them.

    They are evidence, so they are kept as they came, except NUL: PostgreSQL's text type cannot
    hold it, and refusing the write would lose the whole answer. It is stored as ␀.
    """
    return text.replace("\x00", "\u2400") if text else text


# --- showing text that may break the rule ----------------------------------------------------


def visible(text: str) -> str:
    """``text`` safe to print on a terminal: line breaks and tabs as they are, every other
    control character as a symbol (C0 and DEL as their U+2400 pictures: ␇ ␍ ␛ ␀ ␡; C1 and
    undecodable bytes as ``\\x9b``)."""
    if _CONTROLS.search(text) is None:
        return text
    return _CONTROLS.sub(_symbol, text)


def visible_line(text: str) -> str:
    """``text`` on one line (a table cell): line breaks and tabs become spaces."""
    return visible(text.replace("\r\n", " ").replace("\n", " ").replace("\t", " "))


def _symbol(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x20:
        return chr(0x2400 + code)
    if code == _DEL:
        return "\u2421"
    if 0xDC80 <= code <= 0xDCFF:
        return f"\\x{code - 0xDC00:02x}"
    if code <= 0x9F:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


# --- fitting text to a width ------------------------------------------------------------------

ELLIPSIS = "…"


def clip(text: str, width: int) -> str:
    """``text`` on one line (``visible_line``) in at most ``width`` terminal cells: cut with
    an ellipsis, never a space before it; a wide character that would straddle the edge is
    left out whole."""
    line = visible_line(text)
    if cell_len(line) <= width:
        return line
    if width <= 0:
        return ""
    # set_cell_size fills the half of a cut wide character with a space: stripped below.
    return set_cell_size(line, width - 1).rstrip() + ELLIPSIS


def pad(text: str, width: int) -> str:
    """``text`` followed by spaces up to ``width`` terminal cells (``text`` already fits)."""
    return text + " " * max(0, width - cell_len(text))
