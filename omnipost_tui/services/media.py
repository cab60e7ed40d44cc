"""Images: read by content, kept in OmniPost's media directory, attached to posts in order, and
checked against each platform's limits when a variant is scheduled (not when it publishes).

A file is copied into ``<data dir>/media/<sha256[:2]>/<sha256>.<ext>`` before any row refers to
it, so a crash between the two leaves at most a file nothing refers to, which
``remove_unreferenced`` deletes once it is old enough not to belong to an attach in progress.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import time
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from omnipost_tui import clock
from omnipost_tui.config import Paths, Settings
from omnipost_tui.errors import InvalidTransition, NotFound, ValidationError
from omnipost_tui.files import (
    PRIVATE_FILE_MODE,
    FileTooLarge,
    NotAFile,
    expand_user,
    make_private_dir,
    read_limited,
)
from omnipost_tui.image_modes import IMAGES_INHERIT, IMAGES_MODES, IMAGES_OWN
from omnipost_tui.models import (
    MediaFile,
    Post,
    PostImage,
    PostVariant,
    VariantImage,
)
from omnipost_tui.platforms import FACEBOOK, LABELS, LINKEDIN
from omnipost_tui.services.context import Context
from omnipost_tui.services.lookup import post_by_id, variant_by_id
from omnipost_tui.services.views import ImageView, VariantView, images_of
from omnipost_tui.states import EDIT, WAITING
from omnipost_tui.text import check_line

if TYPE_CHECKING:
    from omnipost_tui.connectors.base import ImageUpload

# Formats both platforms take, by what Pillow reads in the file (never by its name).
MIME_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif"}
EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "GIF": "gif"}
# Larger than any platform takes: read no further (a mistyped path to a disk image, say).
MAX_READ_BYTES = 200 * 1024 * 1024
# Decoded in full to find damage up to this size (a few hundred MB of memory at most); larger
# ones are over every platform's pixel limit anyway, or Facebook's file size.
MAX_DECODE_PIXELS = 60_000_000
# A file in the media directory nothing refers to is deleted only when older than this: an
# attach copies the file first and refers to it a moment later.
UNREFERENCED_GRACE_S = 3600


@dataclass(frozen=True)
class StoredImage:
    """A picture copied into the media directory: what a post's image row refers to."""

    sha256: str
    format: str
    width: int
    height: int
    size: int
    name: str  # the file name it was attached from
    restored: bool = False  # OmniPost knew it, but its copy had gone: written back

    @property
    def mime(self) -> str:
        return MIME_TYPES[self.format]


@dataclass(frozen=True)
class ImageInput:
    """An image as a user gives it: a path, and alt text."""

    path: str
    alt: str = ""


def media_path(paths: Paths, sha256: str, image_format: str) -> Path:
    return paths.media_dir / sha256[:2] / f"{sha256}.{EXTENSIONS.get(image_format, 'bin')}"


def read_image(path_text: str) -> tuple[bytes, MediaFacts]:
    """The bytes of the file at ``path_text`` and what they are; ValidationError (one line)
    when it is missing, unreadable, not a regular file (a directory, a device, a FIFO), too
    big to be any platform's image, or not a JPEG, PNG or GIF whatever its name says."""
    shown = path_text.strip()
    if not shown:
        raise ValidationError("image path is empty")
    path = expand_user(shown, "image path")
    try:
        data = read_limited(path, MAX_READ_BYTES)
    except FileNotFoundError:
        raise ValidationError(f"no file {shown}") from None
    except NotAFile as exc:
        raise ValidationError(f"{shown} is {exc.kind}, not an image") from None
    except FileTooLarge:
        raise ValidationError(
            f"{shown} is over {human_size(MAX_READ_BYTES)}; no platform takes images that large"
        ) from None
    except OSError as exc:
        raise ValidationError(f"cannot read {shown}: {exc.strerror}") from None
    return data, inspect_bytes(data, shown)


@dataclass(frozen=True)
class MediaFacts:
    format: str
    width: int
    height: int


def inspect_bytes(data: bytes, shown: str) -> MediaFacts:
    """What Pillow reads in ``data``: format and size in pixels, or why it is no image."""
    from PIL import Image, UnidentifiedImageError  # imported only when images are handled

    try:
        with warnings.catch_warnings():
            # A huge pixel count is a limit to report, not a warning on stderr.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                image_format = image.format or ""
                width, height = image.size
                image.verify()  # the structure (PNG's checksums)
            if width * height <= MAX_DECODE_PIXELS:
                # verify() reads little of a JPEG or GIF: decode every frame, so that half a
                # file is refused now and not at the platform.
                with Image.open(io.BytesIO(data)) as image:
                    for frame in range(getattr(image, "n_frames", 1)):
                        image.seek(frame)
                        image.load()
    except Image.DecompressionBombError:
        raise ValidationError(f"{shown} has more pixels than any platform takes") from None
    except UnidentifiedImageError:
        raise ValidationError(f"{shown} is not an image OmniPost can read") from None
    except Exception as exc:  # a truncated or damaged file: Pillow raises many kinds
        raise ValidationError(f"{shown} is a damaged image ({type(exc).__name__})") from None
    if image_format not in MIME_TYPES:
        raise ValidationError(
            f"{shown} is a {image_format or 'unknown'} image; Facebook and LinkedIn take "
            "JPEG, PNG and GIF"
        )
    return MediaFacts(image_format, width, height)


class NewCopies:
    """The copies an operation put into the media directory where there was none: when the
    operation is refused (an exception leaves the ``with``, after its transaction rolled back),
    they are deleted again, so a refusal leaves nothing behind. Copies that were there already
    (another post shows the same picture) stay, and so does one that another process recorded
    meanwhile (it attached the same picture)."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._created: dict[str, Path] = {}

    def add(self, sha256: str, path: Path) -> None:
        self._created[sha256] = path

    def __enter__(self) -> NewCopies:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        if exc_type is None or not self._created:
            return
        try:
            with self._ctx.db.read() as session:
                recorded = set(
                    session.scalars(
                        select(MediaFile.sha256).where(MediaFile.sha256.in_(list(self._created)))
                    )
                )
        except Exception:  # the refusal is what the user must read; remove_unreferenced
            return  # deletes the files later, once no attach can be in progress
        for sha256, path in self._created.items():
            if sha256 not in recorded:
                with contextlib.suppress(OSError):
                    path.unlink()
                with contextlib.suppress(OSError):
                    path.parent.rmdir()  # only when empty


def store_image(session: Session, paths: Paths, path_text: str, copies: NewCopies) -> StoredImage:
    """Copy the image at ``path_text`` into the media directory (once per content) and record
    it; the original may then move or vanish without harm. A copy made where there was no file
    is noted in ``copies``, to be removed if the operation is refused."""
    data, facts = read_image(path_text)
    sha256 = hashlib.sha256(data).hexdigest()
    target = media_path(paths, sha256, facts.format)
    known = session.get(MediaFile, sha256)
    written = not _holds(target, sha256)
    if written:
        if known is None and not target.exists():
            copies.add(sha256, target)
        make_private_dir(target.parent)
        partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(partial, target)  # atomic: a reader sees no file or the whole file
    if known is None:
        session.add(
            MediaFile(
                sha256=sha256,
                format=facts.format,
                width=facts.width,
                height=facts.height,
                size_bytes=len(data),
                created_at=clock.now(),
            )
        )
        session.flush()
    return StoredImage(
        sha256,
        facts.format,
        facts.width,
        facts.height,
        len(data),
        storable_name(Path(path_text).name),
        restored=written and known is not None,
    )


# How undecodable bytes of a file name reach us (surrogateescape): lone surrogates.
_UNDECODABLE = re.compile("[\ud800-\udfff]")


def storable_name(name: str) -> str:
    """A file name as it may be stored and shown. A name in another encoding than UTF-8 (from
    an old archive, say) arrives with its bytes as lone surrogates, which no database can
    store: each becomes U+FFFD (�). It is only shown; the file is read by its real path."""
    return _UNDECODABLE.sub("\ufffd", name)


def _holds(target: Path, sha256: str) -> bool:
    try:
        return hashlib.sha256(target.read_bytes()).hexdigest() == sha256
    except OSError:
        return False


def human_size(size: int) -> str:
    """``812 B``, ``14.2 kB``, ``8.4 MB`` (powers of 1,000, as file managers show them)."""
    if size < 1000:
        return f"{size} B"
    value = float(size)
    for unit in ("kB", "MB"):
        value /= 1000
        if value < 999.95:
            return f"{value:.1f} {unit}"
    return f"{value / 1000:.1f} GB"


# --- limits ----------------------------------------------------------------------------------


def images_problem(settings: Settings, platform: str, images: Sequence[ImageView]) -> str | None:
    """Why ``images`` cannot be published on ``platform``, naming the image, the limit and
    the platform; None when they can."""
    if not images:
        return None
    label = LABELS.get(platform, platform)
    if platform == LINKEDIN and settings.linkedin_api != "rest":
        return (
            "LinkedIn's legacy ugcPosts API does not take images in OmniPost; use the Posts API "
            '(set linkedin_api = "rest")'
        )
    most = settings.facebook_max_images if platform == FACEBOOK else settings.linkedin_max_images
    if len(images) > most:
        return f"{len(images)} images; {label} takes at most {most} in a post here"
    for image in images:
        which = f"image {image.position} ({image.name})"
        if image.format not in MIME_TYPES:
            return f"{which} is {image.format}; {label} takes JPEG, PNG and GIF"
        if platform == FACEBOOK and image.size > settings.facebook_image_max_bytes:
            limit = settings.facebook_image_max_bytes
            shown_size, shown_limit = human_size(image.size), human_size(limit)
            if shown_size == shown_limit:  # rounded alike: say it in bytes
                shown_size, shown_limit = f"{image.size:,} bytes", f"{limit:,} bytes"
            return f"{which} is {shown_size}; {label} takes photos up to {shown_limit}"
        pixels = image.width * image.height
        if platform == LINKEDIN and pixels >= settings.linkedin_image_max_pixels:
            return (
                f"{which} is {image.width}×{image.height} ({pixels:,} pixels); {label} takes "
                f"fewer than {settings.linkedin_image_max_pixels:,}"
            )
        if len(image.alt) > settings.image_alt_max_chars:
            return (
                f"{which} has {len(image.alt):,} characters of alt text; at most "
                f"{settings.image_alt_max_chars:,} here"
            )
    return None


def alt_problem(settings: Settings, alt: str) -> str | None:
    if "\n" in alt or "\r" in alt:
        return "alt text must be one line"
    try:
        check_line(alt, "alt text")  # no control characters (ESC, NUL…) either
    except ValidationError as exc:
        return exc.message
    if len(alt) > settings.image_alt_max_chars:
        return f"alt text is {len(alt):,} characters; at most {settings.image_alt_max_chars:,} here"
    return None


def check_alt(settings: Settings, alt: str) -> str:
    alt = alt.strip()
    problem = alt_problem(settings, alt)
    if problem:
        raise ValidationError(problem)
    return alt


def check_variant_images(settings: Settings, variant: PostVariant, label: str) -> None:
    problem = images_problem(settings, variant.platform, images_of(variant))
    if problem:
        raise ValidationError(f"{label}: {problem}")


def uploads_of(paths: Paths, images: Iterable[ImageView]) -> tuple[ImageUpload, ...]:
    """What a connector needs to upload ``images`` (OmniPost's copies, not the originals)."""
    # Imported here: the connectors bring httpx (0.1 s), which `variant add` and the other
    # commands that attach or check images never need.
    from omnipost_tui.connectors.base import ImageUpload

    return tuple(
        ImageUpload(
            position=image.position,
            path=media_path(paths, image.sha256, image.format),
            sha256=image.sha256,
            size=image.size,
            mime=MIME_TYPES.get(image.format, "application/octet-stream"),
            alt=image.alt,
            name=image.name,
        )
        for image in images
    )


def missing_file(paths: Paths, images: Iterable[ImageView]) -> ImageView | None:
    """The first image whose file left the media directory behind OmniPost's back."""
    for image in images:
        if not media_path(paths, image.sha256, image.format).is_file():
            return image
    return None


def missing_message(image: ImageView) -> str:
    return (
        f"image {image.position} ({image.name}) is no longer in OmniPost's media directory; "
        "nothing was sent. Attach it again (omnipost post image add), then retry"
    )


# --- attach, remove, reorder -----------------------------------------------------------------


@dataclass(frozen=True)
class Attached:
    images: list[ImageView]  # all of the post's, in order
    restored: list[int]  # positions whose lost copy the attach put back (nothing added)


def attach_images(ctx: Context, post_id: int | str, images: Sequence[ImageInput]) -> Attached:
    """Add ``images`` (in order) after the post's current ones; all or nothing."""
    with NewCopies(ctx) as copies, ctx.db.write() as session:
        post = post_by_id(session, post_id)
        restored = attach_to(session, ctx.settings, post, images, copies)
        _changed(session, post, ctx.settings)
        return Attached([ImageView.of(row) for row in post.images], restored)


def attach_to(
    session: Session,
    settings: Settings,
    post: Post,
    images: Sequence[ImageInput],
    copies: NewCopies,
) -> list[int]:
    """Append ``images`` to ``post`` inside the caller's transaction (``post add --image``).

    One the post has already is refused, unless its copy had left the media directory: then
    attaching it again puts the copy back (what a user who lost it does) and adds nothing.
    Returns the positions restored that way."""
    alts = [check_alt(settings, image.alt) for image in images]
    known = {row.sha256: row.position for row in post.images}
    restored: list[int] = []
    for image, alt in zip(images, alts, strict=True):
        stored = store_image(session, settings.paths, image.path, copies)
        if stored.sha256 in known:
            if stored.restored:
                restored.append(known[stored.sha256])
                continue
            raise ValidationError(
                f"{image.path} is already image {known[stored.sha256]} of this post"
            )
        position = len(post.images) + 1
        known[stored.sha256] = position
        post.images.append(
            PostImage(
                position=position,
                sha256=stored.sha256,
                alt_text=alt,
                original_name=stored.name[:300],
            )
        )
    session.flush()
    return restored


def add_file(ctx: Context, path: str, alt: str = "") -> ImageView:
    """Copy the image at ``path`` into the media directory and describe it, for a plan that
    the editor saves later (``PostPlan.images``); its position is set when the plan is."""
    alt = check_alt(ctx.settings, alt)
    with NewCopies(ctx) as copies, ctx.db.write() as session:
        stored = store_image(session, ctx.settings.paths, path, copies)
    return ImageView(
        position=0,
        name=stored.name,
        format=stored.format,
        width=stored.width,
        height=stored.height,
        size=stored.size,
        alt=alt,
        sha256=stored.sha256,
    )


def list_images(ctx: Context, post_id: int | str) -> list[ImageView]:
    with ctx.db.read() as session:
        return [ImageView.of(row) for row in post_by_id(session, post_id).images]


def remove_image(ctx: Context, post_id: int | str, number: int) -> list[ImageView]:
    with ctx.db.write() as session:
        post = post_by_id(session, post_id)
        row = _image_at(post, number)
        released = row.sha256
        post.images.remove(row)
        _renumber(post.images)
        _changed(session, post, ctx.settings)
        views = [ImageView.of(image) for image in post.images]
    remove_unreferenced(ctx, released=[released])
    return views


def move_image(ctx: Context, post_id: int | str, number: int, to: int) -> list[ImageView]:
    with ctx.db.write() as session:
        post = post_by_id(session, post_id)
        row = _image_at(post, number)
        if not 1 <= to <= len(post.images):
            raise ValidationError(
                f"post {post.id} has {len(post.images)} image(s); move to 1–{len(post.images)}"
            )
        ordered = list(post.images)
        ordered.remove(row)
        ordered.insert(to - 1, row)
        _renumber(ordered)
        _changed(session, post, ctx.settings)
        return [ImageView.of(image) for image in sorted(ordered, key=lambda i: i.position)]


def set_alt(ctx: Context, post_id: int | str, number: int, alt: str) -> list[ImageView]:
    alt = check_alt(ctx.settings, alt)
    with ctx.db.write() as session:
        post = post_by_id(session, post_id)
        _image_at(post, number).alt_text = alt
        _changed(session, post, ctx.settings)
        return [ImageView.of(image) for image in post.images]


def set_post_images(session: Session, post: Post, stored: Sequence[tuple[str, str, str]]) -> None:
    """Replace the post's images with ``(sha256, alt, name)`` in order (the editor's save).
    Each sha256 must be in the media directory already (``store_image``)."""
    seen: set[str] = set()
    for position, (sha256, _alt, name) in enumerate(stored, start=1):
        if session.get(MediaFile, sha256) is None:
            raise ValidationError(f"image {position} ({name}) is not in the media directory")
        if sha256 in seen:
            raise ValidationError(f"image {position} ({name}) is in the post twice")
        seen.add(sha256)
    current = [(row.sha256, row.alt_text, row.original_name) for row in post.images]
    if current == list(stored):
        return
    post.images.clear()
    session.flush()
    for position, (sha256, alt, name) in enumerate(stored, start=1):
        post.images.append(
            PostImage(position=position, sha256=sha256, alt_text=alt, original_name=name[:300])
        )


def set_variant_images(
    ctx: Context,
    variant_id: int | str,
    mode: str,
    images: Sequence[ImageInput] = (),
) -> VariantView:
    """``inherit`` the post's images, ``none``, or ``own`` images (given in ``images``)."""
    if mode not in IMAGES_MODES:
        raise ValidationError(f"images must be one of {', '.join(IMAGES_MODES)}, not {mode!r}")
    if mode != IMAGES_OWN and images:
        raise ValidationError("give images only with their own list (--image)")
    settings = ctx.settings
    alts = [check_alt(settings, image.alt) for image in images]
    with NewCopies(ctx) as copies, ctx.db.write() as session:
        variant = variant_by_id(session, variant_id)
        refusal = EDIT.refusal(variant.id, variant.status)
        if refusal:
            raise InvalidTransition(refusal)
        variant.images_mode = mode
        variant.own_images.clear()
        session.flush()
        seen: set[str] = set()
        for position, (image, alt) in enumerate(zip(images, alts, strict=True), start=1):
            stored = store_image(session, settings.paths, image.path, copies)
            if stored.sha256 in seen:
                raise ValidationError(f"{image.path} is in the list twice")
            seen.add(stored.sha256)
            variant.own_images.append(
                VariantImage(
                    position=position,
                    sha256=stored.sha256,
                    alt_text=alt,
                    original_name=stored.name[:300],
                )
            )
        variant.updated_at = clock.now()
        session.flush()
        if variant.status in WAITING:
            check_variant_images(settings, variant, f"variant {variant.id}")
        session.refresh(variant, ["post", "account"])
        return VariantView.of(variant)


def _image_at(post: Post, number: int) -> PostImage:
    if not 1 <= number <= len(post.images):
        if not post.images:
            raise NotFound(f"post {post.id} has no images")
        raise NotFound(f"post {post.id} has {len(post.images)} image(s); no image {number}")
    return post.images[number - 1]


def _renumber(rows: Sequence[PostImage]) -> None:
    for position, row in enumerate(rows, start=1):
        row.position = position


def _changed(session: Session, post: Post, settings: Settings) -> None:
    """Every variant still waiting to go out must still be publishable with the post's images
    (a ValidationError rolls the whole change back)."""
    post.updated_at = clock.now()
    session.flush()
    for variant in post.variants:
        if variant.status in WAITING and variant.images_mode == IMAGES_INHERIT:
            check_variant_images(settings, variant, f"variant {variant.id}")


# --- clean-up ----------------------------------------------------------------------------------


def remove_unreferenced(
    ctx: Context, *, grace_s: float = UNREFERENCED_GRACE_S, released: Iterable[str] = ()
) -> int:
    """Delete files (and rows) of images nothing refers to any more; returns how many.

    Only once older than ``grace_s`` (the editor adds a file before the post that uses it is
    saved), except those just ``released`` (a user removed them from the last post using them).
    """
    with ctx.db.write() as session:
        used = select(PostImage.sha256).union(select(VariantImage.sha256))
        settled = clock.now() - timedelta(seconds=grace_s)
        unused = session.scalars(
            select(MediaFile).where(
                MediaFile.sha256.not_in(used),
                (MediaFile.created_at < settled) | MediaFile.sha256.in_(list(released)),
            )
        ).all()
        for media in unused:
            session.delete(media)
        gone = {(m.sha256, m.format) for m in unused}
        known = set(session.scalars(select(MediaFile.sha256)))
    removed = 0
    for sha256, image_format in gone:
        path = media_path(ctx.settings.paths, sha256, image_format)
        try:
            path.unlink()
            removed += 1
        except FileNotFoundError:
            pass
        with contextlib.suppress(OSError):
            path.parent.rmdir()  # only when empty
    # Files no row knows (an attach that crashed between copy and commit), once old enough.
    cutoff = time.time() - grace_s
    media_dir = ctx.settings.paths.media_dir
    if media_dir.is_dir():
        for path in media_dir.glob("*/*"):
            if path.stem.lstrip(".").split(".")[0] in known:
                continue
            try:
                if path.is_file() and path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
            except OSError:
                continue
    return removed
