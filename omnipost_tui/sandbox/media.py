"""The sandbox's pictures: Facebook photos (published with their post, or staged with
``published=false`` for ``attached_media``) and LinkedIn images (initialized, uploaded,
processed). Only the SHA-256, the size and the alt text of each file are kept, never its bytes,
so tests can check that exactly the right pictures arrived, in order.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from email import policy
from email.parser import BytesParser
from typing import Any

from omnipost_tui.sandbox.payloads import FACEBOOK, LINKEDIN

# Facebook photo states
STAGED = "staged"  # uploaded with published=false, not used by a post yet
PUBLISHED = "published"  # part of a post
DELETED = "deleted"
# LinkedIn image states (what GET /rest/images/{urn} answers, lower-cased here)
WAITING_UPLOAD = "waiting_upload"  # initialized, no bytes yet
PROCESSING = "processing"
AVAILABLE = "available"
FAILED = "failed"


@dataclass(frozen=True)
class ReceivedImage:
    """A picture of an accepted post, in the post's order."""

    media_id: str
    sha256: str
    size: int
    alt: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "media_id": self.media_id,
            "sha256": self.sha256,
            "size": self.size,
            "alt": self.alt,
        }


@dataclass(frozen=True)
class Media:
    platform: str
    account: str  # page id or owner URN
    media_id: str
    sha256: str
    size: int
    state: str
    alt: str = ""
    uploaded_at: float | None = None  # monotonic; LinkedIn processing counts from it
    stuck: bool = False  # LinkedIn: stays PROCESSING
    fails: bool = False  # LinkedIn: becomes PROCESSING_FAILED

    def as_dict(self) -> dict[str, Any]:
        return {
            "platform": self.platform,
            "account": self.account,
            "media_id": self.media_id,
            "sha256": self.sha256,
            "size": self.size,
            "alt": self.alt,
            "state": self.state,
        }

    def received(self, alt: str | None = None) -> ReceivedImage:
        return ReceivedImage(
            self.media_id, self.sha256, self.size, self.alt if alt is None else alt
        )


@dataclass(frozen=True)
class FormPart:
    value: str = ""
    data: bytes = b""
    filename: str | None = None


def parse_multipart(content_type: str, body: bytes) -> dict[str, FormPart]:
    """The fields of a ``multipart/form-data`` body; ValueError when it is not one."""
    if not content_type.lower().startswith("multipart/form-data"):
        raise ValueError("not multipart/form-data")
    message = BytesParser(policy=policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
    )
    if not message.is_multipart():
        raise ValueError("multipart body without parts")
    fields: dict[str, FormPart] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        data = part.get_payload(decode=True)
        data = data if isinstance(data, bytes) else b""
        filename = part.get_filename()
        text = "" if filename else data.decode("utf-8", errors="replace")
        fields[name] = FormPart(value=text, data=data, filename=filename)
    return fields


class MediaStore:
    """Every picture the sandbox received, by media id. Thread-safe."""

    def __init__(
        self, processing_seconds: float = 0.2, now: Callable[[], float] = time.monotonic
    ) -> None:
        self.processing_seconds = processing_seconds
        self._now = now
        self._lock = threading.Lock()
        self._media: dict[str, Media] = {}
        self._next = 0

    def _new_id(self, prefix: str) -> str:
        self._next += 1
        return f"{prefix}{self._next}"

    def all(self) -> list[Media]:
        with self._lock:
            return [self._current(m) for m in self._media.values()]

    def reset(self) -> None:
        with self._lock:
            self._media.clear()

    # --- Facebook ------------------------------------------------------------------------------

    def add_photo(self, page: str, data: bytes, alt: str, *, published: bool) -> Media:
        with self._lock:
            photo_id = self._new_id("9000000000")
            media = Media(
                FACEBOOK,
                page,
                photo_id,
                hashlib.sha256(data).hexdigest(),
                len(data),
                PUBLISHED if published else STAGED,
                alt,
            )
            self._media[photo_id] = media
            return media

    def photo(self, photo_id: str) -> Media | None:
        with self._lock:
            media = self._media.get(photo_id)
        if media is None or media.platform != FACEBOOK or media.state == DELETED:
            return None
        return media

    def delete_photo(self, photo_id: str) -> bool:
        with self._lock:
            media = self._media.get(photo_id)
            if media is None or media.platform != FACEBOOK or media.state == DELETED:
                return False
            self._media[photo_id] = replace(media, state=DELETED)
            return True

    def attach_check(self, page: str, photo_ids: Sequence[str]) -> list[Media] | str:
        """The staged photos a post may use, or the reason one cannot be used (nothing
        changes: ``attach`` uses them once the post is accepted)."""
        return self._attach(page, photo_ids, use=False)

    def attach(self, page: str, photo_ids: Sequence[str]) -> list[Media] | str:
        """Use staged photos in a post (all or none); the reason when one cannot be used."""
        return self._attach(page, photo_ids, use=True)

    def _attach(self, page: str, photo_ids: Sequence[str], *, use: bool) -> list[Media] | str:
        with self._lock:
            found = []
            for photo_id in photo_ids:
                media = self._media.get(photo_id)
                if media is None or media.platform != FACEBOOK or media.state == DELETED:
                    return f"Unsupported post request. Object with ID '{photo_id}' does not exist"
                if media.account != page:
                    return f"photo {photo_id} belongs to another Page"
                if media.state != STAGED:
                    return f"photo {photo_id} is already part of a post"
                found.append(media)
            if len(set(photo_ids)) != len(photo_ids):
                return "the same photo is attached twice"
            if use:
                for media in found:
                    self._media[media.media_id] = replace(media, state=PUBLISHED)
            return found

    # --- LinkedIn ------------------------------------------------------------------------------

    def init_image(self, owner: str, *, stuck: bool, fails: bool) -> Media:
        with self._lock:
            image_id = self._new_id("D4E10AQ")
            urn = f"urn:li:image:{image_id}"
            media = Media(LINKEDIN, owner, urn, "", 0, WAITING_UPLOAD, stuck=stuck, fails=fails)
            self._media[urn] = media
            return media

    def upload_image(self, image_id: str, data: bytes) -> Media | None:
        urn = f"urn:li:image:{image_id}"
        with self._lock:
            media = self._media.get(urn)
            if media is None:
                return None
            media = replace(
                media,
                sha256=hashlib.sha256(data).hexdigest(),
                size=len(data),
                state=PROCESSING,
                uploaded_at=self._now(),
            )
            self._media[urn] = media
            return media

    def image(self, urn: str) -> Media | None:
        with self._lock:
            media = self._media.get(urn)
            return None if media is None or media.platform != LINKEDIN else self._current(media)

    def use_images(self, owner: str, urns: Sequence[str]) -> list[Media] | str:
        """Images a post names: each AVAILABLE and the author's own, else why not."""
        found = []
        for urn in urns:
            media = self.image(urn)
            if media is None:
                return f"image {urn} does not exist"
            if media.account != owner:
                return f"image {urn} belongs to another owner"
            if media.state != AVAILABLE:
                return f"image {urn} is not AVAILABLE ({media.state.upper()})"
            found.append(media)
        return found

    def _current(self, media: Media) -> Media:
        """A LinkedIn image moves from PROCESSING on by itself, as the real one does."""
        if media.platform != LINKEDIN or media.state != PROCESSING or media.uploaded_at is None:
            return media
        if media.stuck or self._now() - media.uploaded_at < self.processing_seconds:
            return media
        return replace(media, state=FAILED if media.fails else AVAILABLE)
