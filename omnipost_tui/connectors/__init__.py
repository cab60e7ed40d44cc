"""Platform connectors: publish one post over HTTP and classify what went wrong."""

from omnipost_tui.connectors.base import (
    Connector,
    ImageUpload,
    PublishRequest,
    PublishResult,
    ReadBack,
    StagedImage,
    summarize_request,
)
from omnipost_tui.connectors.errors import (
    MaybePublished,
    Permanent,
    PermissionDenied,
    PlatformError,
    RateLimited,
    TokenExpired,
    Transient,
)
from omnipost_tui.connectors.facebook import FacebookConnector, classify_facebook_error
from omnipost_tui.connectors.factory import connector_for
from omnipost_tui.connectors.linkedin import LinkedInConnector, classify_linkedin_error
from omnipost_tui.connectors.little_text import escape_little_text

__all__ = [
    "Connector",
    "FacebookConnector",
    "ImageUpload",
    "LinkedInConnector",
    "MaybePublished",
    "Permanent",
    "PermissionDenied",
    "PlatformError",
    "PublishRequest",
    "PublishResult",
    "RateLimited",
    "ReadBack",
    "StagedImage",
    "TokenExpired",
    "Transient",
    "classify_facebook_error",
    "classify_linkedin_error",
    "connector_for",
    "escape_little_text",
    "summarize_request",
]
