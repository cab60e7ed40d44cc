"""How the commands print: aligned plain-text tables for people, JSON for scripts.

The JSON shapes of the views (``--json``) are a contract (issue #2) and live beside the views, in
``services/views.py``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

import click
from rich.cells import cell_len

from omnipost_tui.text import clip, pad


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], max_width: int = 60) -> str:
    """Columns padded to their widest cell; long cells cut with an ellipsis.

    Widths are terminal cells, not characters (``text.clip``): a CJK character or an emoji
    takes two, a combining accent none. Stored text is shown on one line with its control
    characters made visible, so no cell can move the cursor.
    """
    cells = [[_cell(v, max_width) for v in row] for row in rows]
    widths = [cell_len(h) for h in headers]
    for row in cells:
        for i, value in enumerate(row):
            widths[i] = max(widths[i], cell_len(value))
    lines = [_row([h.upper() for h in headers], widths)]
    lines.extend(_row(row, widths) for row in cells)
    return "\n".join(lines)


def _row(cells: Sequence[str], widths: Sequence[int]) -> str:
    return "  ".join(pad(v, w) for v, w in zip(cells, widths, strict=True)).rstrip()


def _cell(value: Any, max_width: int) -> str:
    return "-" if value is None or value == "" else clip(str(value), max_width)


# json.dumps escapes the C0 controls but leaves DEL, C1 and the lone surrogates that carry
# undecodable bytes raw; escaped here too (the same value once parsed).
_JSON_RAW = re.compile("[\x7f-\x9f\ud800-\udfff]")


def dumps(data: Any, *, one_line: bool = False) -> str:
    """JSON for scripts, with nothing in it that a terminal would take as a control;
    ``one_line`` for streams read a line at a time (``logs -f --json``)."""
    text = json.dumps(data, indent=None if one_line else 2, ensure_ascii=False)
    return _JSON_RAW.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def echo_json(data: Any) -> None:
    click.echo(dumps(data))
