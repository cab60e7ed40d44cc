"""Is this text publishable on that platform? Checked when scheduling, not at publish time."""

from __future__ import annotations

from omnipost_tui.errors import ValidationError
from omnipost_tui.models import PostVariant
from omnipost_tui.platforms import LABELS, TEXT_LIMITS
from omnipost_tui.services.views import effective_text


def text_problem(platform: str, text: str) -> str | None:
    """Why ``text`` cannot be published on ``platform``, or None when it can."""
    if not text.strip():
        return "text is empty"
    limit = TEXT_LIMITS[platform]
    if len(text) > limit:
        return (
            f"text is {len(text):,} characters; {LABELS[platform]} allows {limit:,} "
            f"({len(text) - limit:,} too many)"
        )
    return None


def check_publishable(variant: PostVariant, label: str) -> None:
    problem = text_problem(variant.platform, effective_text(variant))
    if problem:
        raise ValidationError(f"{label}: {problem}")
