"""Which pictures a variant goes out with (``post_variants.images_mode``): the post's (inherit),
none, or its own list. A vocabulary without the database layer, so the commands that only print
can use it without importing SQLAlchemy."""

from __future__ import annotations

IMAGES_INHERIT = "inherit"
IMAGES_NONE = "none"
IMAGES_OWN = "own"
IMAGES_MODES = (IMAGES_INHERIT, IMAGES_NONE, IMAGES_OWN)
