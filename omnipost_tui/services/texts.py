"""Is this variant publishable on its platform (text and images)? Checked when scheduling,
not at publish time."""

from __future__ import annotations

from omnipost_tui.config import Settings
from omnipost_tui.errors import ValidationError
from omnipost_tui.models import PostVariant
from omnipost_tui.platforms import LABELS, TEXT_LIMITS, text_with_link
from omnipost_tui.services.media import images_problem, missing_file, missing_message
from omnipost_tui.services.views import effective_text, images_of


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


def check_publishable(settings: Settings, variant: PostVariant, label: str) -> None:
    images = images_of(variant)
    text = effective_text(variant)
    # With pictures the link travels in the text (platforms.text_with_link): count it.
    problem = text_problem(
        variant.platform, text_with_link(text, variant.post.link) if images else text
    )
    if problem is None:
        problem = images_problem(settings, variant.platform, images)
    if problem is None:
        gone = missing_file(settings.paths, images)
        problem = missing_message(gone) if gone is not None else None
    if problem:
        raise ValidationError(f"{label}: {problem}")
