"""Facts about the platforms that the whole program shares: names and text limits."""

from __future__ import annotations

FACEBOOK = "facebook"
LINKEDIN = "linkedin"
PLATFORMS = (FACEBOOK, LINKEDIN)

# Longest text each platform accepts, counted in characters (code points).
TEXT_LIMITS = {FACEBOOK: 63_206, LINKEDIN: 3_000}

LABELS = {FACEBOOK: "Facebook", LINKEDIN: "LinkedIn"}
