"""Which connector publishes for a platform, configured from settings."""

from __future__ import annotations

import httpx

from omnipost_tui.config import Settings
from omnipost_tui.connectors.base import Connector
from omnipost_tui.connectors.facebook import FacebookConnector
from omnipost_tui.connectors.linkedin import LinkedInConnector
from omnipost_tui.platforms import FACEBOOK, LINKEDIN


def connector_for(
    platform: str, settings: Settings, client: httpx.Client | None = None
) -> Connector:
    if platform == FACEBOOK:
        return FacebookConnector(
            settings.facebook_graph_url,
            settings.facebook_graph_version,
            settings.http_timeout,
            client=client,
        )
    if platform == LINKEDIN:
        return LinkedInConnector(
            settings.linkedin_api_url,
            settings.linkedin_version,
            settings.http_timeout,
            api=settings.linkedin_api,
            client=client,
            image_ready_timeout=settings.image_ready_timeout,
        )
    raise ValueError(f"no connector for platform {platform!r}")
