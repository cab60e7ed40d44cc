"""How the CLI shows things: aligned plain-text tables for people, stable JSON for scripts.

The JSON shapes are a contract (issue #2): keep existing keys and their meaning.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

from rich.cells import cell_len

from omnipost_tui.services.views import AccountView, AttemptView, BrandView, PostView, VariantView
from omnipost_tui.text import clip, pad
from omnipost_tui.times import iso_local


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


def dumps(data: Any) -> str:
    """JSON for scripts, with nothing in it that a terminal would take as a control."""
    text = json.dumps(data, indent=2, ensure_ascii=False)
    return _JSON_RAW.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def brand_json(brand: BrandView, tz: ZoneInfo) -> dict[str, Any]:
    return {
        "id": brand.id,
        "name": brand.name,
        "accounts": brand.account_count,
        "created_at": iso_local(brand.created_at, tz),
    }


def account_json(account: AccountView, tz: ZoneInfo) -> dict[str, Any]:
    return {
        "id": account.id,
        "brand_id": account.brand_id,
        "brand": account.brand_name,
        "platform": account.platform,
        "external_id": account.external_id,
        "name": account.name,
        "status": account.status,
        "token_expires_at": iso_local(account.token_expires_at, tz),
        "has_refresh_token": account.has_refresh_token,
        "scheduled_variants": account.scheduled_count,
    }


def post_json(post: PostView, tz: ZoneInfo) -> dict[str, Any]:
    return {
        "id": post.id,
        "brand_id": post.brand_id,
        "brand": post.brand_name,
        "title": post.title,
        "text": post.base_text,
        "link": post.link,
        "status": post.status,
        "variants": post.variant_count,
        "variant_statuses": dict(post.variant_statuses),
        "created_at": iso_local(post.created_at, tz),
        "updated_at": iso_local(post.updated_at, tz),
    }


def variant_json(variant: VariantView, tz: ZoneInfo) -> dict[str, Any]:
    return {
        "id": variant.id,
        "post_id": variant.post_id,
        "post_title": variant.post_title,
        "brand_id": variant.brand_id,
        "brand": variant.brand_name,
        "account_id": variant.account_id,
        "account": variant.account_name,
        "platform": variant.platform,
        "status": variant.status,
        "scheduled_at": iso_local(variant.scheduled_at, tz),
        "attempts": variant.attempts,
        "next_attempt_at": iso_local(variant.next_attempt_at, tz),
        "external_post_id": variant.external_post_id,
        "last_error": variant.last_error,
        "custom_text": variant.custom_text,
        "text": variant.text,
        "link": variant.link,
        "published_at": iso_local(variant.published_at, tz),
        "updated_at": iso_local(variant.updated_at, tz),
    }


def attempt_json(attempt: AttemptView, tz: ZoneInfo) -> dict[str, Any]:
    return {
        "id": attempt.id,
        "variant_id": attempt.variant_id,
        "attempt_no": attempt.attempt_no,
        "result": attempt.result or "pending",
        "http_status": attempt.http_status,
        "error_code": attempt.error_code,
        "error_class": attempt.error_class,
        "error_message": attempt.error_message,
        "external_post_id": attempt.external_post_id,
        "started_at": iso_local(attempt.started_at, tz),
        "sent_at": iso_local(attempt.sent_at, tz),
        "finished_at": iso_local(attempt.finished_at, tz),
        "platform": attempt.platform,
        "account": attempt.account_name,
        "worker": attempt.worker,
        "request_summary": _maybe_json(attempt.request_summary),
        "raw_response": attempt.raw_response,
    }


def _maybe_json(text: str | None) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text
