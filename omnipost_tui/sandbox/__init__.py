"""A local fake of the Facebook Graph and LinkedIn APIs for end-to-end tests, benchmarks and demos.

Standard library only; never imports textual. Run it with ``python -m omnipost_tui.sandbox``.
"""

from omnipost_tui.sandbox.payloads import (
    BEHAVIOURS,
    DEMO_MEMBER,
    DEMO_ORGANIZATIONS,
    DEMO_PAGES,
    TOKEN_ENDPOINT_MODES,
    unescape_little_text,
)
from omnipost_tui.sandbox.run import EXAMPLE_PAGE, EXAMPLE_TOKEN, main, omnipost_settings
from omnipost_tui.sandbox.server import ReceivedPost, SandboxServer

__all__ = [
    "BEHAVIOURS",
    "DEMO_MEMBER",
    "DEMO_ORGANIZATIONS",
    "DEMO_PAGES",
    "EXAMPLE_PAGE",
    "EXAMPLE_TOKEN",
    "TOKEN_ENDPOINT_MODES",
    "ReceivedPost",
    "SandboxServer",
    "main",
    "omnipost_settings",
    "unescape_little_text",
]
