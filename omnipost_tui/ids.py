"""Whole numbers as users type them: ids, positions, counts.

One rule for every command and screen: ASCII digits only. ``str.isdigit`` alone also takes
"²", which ``int`` then refuses (a crash), and "٣", which would make a brand named "٣"
impossible to find by name; ``int`` alone (and click's INT) also takes "1_0", "+1" and " 1".
"""

from __future__ import annotations

# The largest id a row can have: SQLite's INTEGER and PostgreSQL's BIGINT are 64-bit signed.
# A larger number is no row's id, and the database driver cannot even ask for it
# (OverflowError: Python int too large to convert to SQLite INTEGER).
MAX_ID = 2**63 - 1


def is_whole_number(text: str) -> bool:
    """Whether ``text`` is a whole number written the one way we read: ASCII digits only."""
    return text.isascii() and text.isdigit()


def as_row_id(text: str) -> int | None:
    """``text`` as an id a row may have (1 … MAX_ID), or None."""
    if not is_whole_number(text):
        return None
    value = int(text)
    return value if 1 <= value <= MAX_ID else None
