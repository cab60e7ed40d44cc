"""Facts about the platforms that the whole program shares: names, labels, text limits and
which settings hold each platform's app credentials."""

from __future__ import annotations

FACEBOOK = "facebook"
LINKEDIN = "linkedin"
PLATFORMS = (FACEBOOK, LINKEDIN)

LABELS = {FACEBOOK: "Facebook", LINKEDIN: "LinkedIn"}
# Where a column or a line has little room.
SHORT_LABELS = {FACEBOOK: "FB", LINKEDIN: "LI"}

# Longest text each platform accepts, counted in characters (code points).
TEXT_LIMITS = {FACEBOOK: 63_206, LINKEDIN: 3_000}

# The settings (config.toml keys) that hold each platform's app id and secret: refreshing a
# token, and connecting an account, need them.
APP_CREDENTIAL_SETTINGS = {
    FACEBOOK: ("facebook_app_id", "facebook_app_secret"),
    LINKEDIN: ("linkedin_client_id", "linkedin_client_secret"),
}


def text_with_link(text: str, link: str | None) -> str:
    """The post text with its link on a new line (unless the text has it already): a post
    with images has no link card, so the link travels in the text."""
    if not link or link in text:
        return text
    return f"{text}\n{link}" if text else link
