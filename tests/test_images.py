"""Images on posts: read by content, copied into OmniPost's media directory, attached in order,
and checked against each platform's limits when a variant is scheduled.

Most tests drive the real command line in-process (click's CliRunner) on an isolated
OMNIPOST_HOME with the default SQLite database and queue; the pictures are real files made with
Pillow in ``tmp_path``. Each command reads the environment afresh, so the limits are made small
through ``OMNIPOST_*`` variables and the edge cases stay a few hundred bytes. The editor's plans
and the staging records, which no command reaches, are tested through the services.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from PIL import Image
from PIL.PngImagePlugin import PngInfo
from sqlalchemy import select

from omnipost_tui import clock
from omnipost_tui.config import load_settings
from omnipost_tui.engine.queue import open_queue
from omnipost_tui.models import PostImage, PostVariant, StagedMedia
from omnipost_tui.services import media, staging
from omnipost_tui.services.compose import PostPlan, VariantPlan, check_plan, save_plan
from omnipost_tui.services.context import Context, open_context
from omnipost_tui.services.media import (
    UNREFERENCED_GRACE_S,
    ImageInput,
    add_file,
    attach_images,
    human_size,
    list_images,
    remove_image,
    remove_unreferenced,
)
from omnipost_tui.services.posts import add_post
from omnipost_tui.services.variants import add_variant, mark_published
from omnipost_tui.states import FAILED
from tests.conftest import World, make_world
from tests.test_cli import as_json, new_id, ok
from tests.test_cli_errors import assert_user_error, stored_rows

# The accounts of ``make_world``, by the names the CLI takes.
FB_PAGE, LI_ORG = "Acme Page", "Acme LinkedIn"

FORMATS = {".jpg": "JPEG", ".png": "PNG", ".gif": "GIF", ".webp": "WEBP", ".bmp": "BMP"}


# --- pictures -----------------------------------------------------------------------------------


def shade(n: int) -> tuple[int, int, int]:
    """A colour of its own for each ``n`` (below 256): pictures of different content."""
    return (n * 37 % 256, n * 91 % 256, (n * 53 + 100) % 256)


def picture(path: Path, size: tuple[int, int] = (32, 24), n: int = 0) -> Path:
    """A real image at ``path``, in the format its suffix names."""
    Image.new("RGB", size, shade(n)).save(path, FORMATS[path.suffix])
    return path


def png_of_bytes(path: Path, size_bytes: int, n: int = 0) -> Path:
    """A valid PNG of exactly ``size_bytes`` bytes (padded with a text chunk)."""

    def write(padding: int) -> int:
        info = PngInfo()
        info.add_text("pad", "x" * padding)
        Image.new("RGB", (8, 8), shade(n)).save(path, "PNG", pnginfo=info)
        return path.stat().st_size

    write(size_bytes - write(0))
    assert path.stat().st_size == size_bytes
    return path


def truncated(path: Path, size: tuple[int, int] = (64, 48)) -> Path:
    """The first half of a noisy image in the format of ``path``'s suffix."""
    noise = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    noise.save(path, FORMATS[path.suffix])
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def bad_image(tmp_path: Path, kind: str) -> Path:
    """A path that no platform could publish as an image, of the given kind."""
    if kind == "missing":
        return tmp_path / "gone.jpg"
    if kind == "directory":
        folder = tmp_path / "folder.png"
        folder.mkdir()
        return folder
    if kind == "text named .png":
        text = tmp_path / "x.png"
        text.write_text("not a picture at all\n")
        return text
    if kind == "truncated png":
        return truncated(tmp_path / "cut.png")
    if kind == "device":
        return Path("/dev/zero")  # stat() says 0 bytes; reading it never ends
    if kind == "fifo":
        fifo = tmp_path / "pipe.png"
        os.mkfifo(fifo)  # nobody writes to it: opening it to read would wait for ever
        return fifo
    if kind == "socket":
        where = tmp_path / "sock.png"
        with closing(socket.socket(socket.AF_UNIX)) as listener:
            listener.bind(str(where))  # the socket file stays after the socket is closed
        return where
    return picture(tmp_path / f"photo.{kind}")


# What the user reads for each kind (every needle is in the one error line).
BAD_IMAGES = {
    "missing": ("no file", "gone.jpg"),
    "directory": ("folder.png", "is a directory"),
    "text named .png": ("x.png", "not an image OmniPost can read"),
    "truncated png": ("cut.png", "damaged image"),
    "device": ("/dev/zero", "is a device, not an image"),
    "fifo": ("pipe.png", "is a pipe (FIFO), not an image"),
    "socket": ("sock.png", "is a socket, not an image"),
    "webp": ("photo.webp", "WEBP", "JPEG, PNG and GIF"),
    "bmp": ("photo.bmp", "BMP", "JPEG, PNG and GIF"),
}


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def media_dir() -> Path:
    return load_settings().paths.media_dir


def copy_of(original: Path) -> Path:
    """Where OmniPost keeps its copy of ``original``: named by the SHA-256 of the bytes."""
    sha = sha256_of(original)
    ext = {"JPEG": "jpg", "PNG": "png", "GIF": "gif"}[FORMATS[original.suffix]]
    return media_dir() / sha[:2] / f"{sha}.{ext}"


# --- the command line ---------------------------------------------------------------------------


@pytest.fixture
def services(home: Path) -> Iterator[Context]:
    """A service context on the CLI's own files (SQLite database and SQLite queue)."""
    context = open_context(load_settings(), open_queue=open_queue)
    yield context
    context.close()


@pytest.fixture
def acme(services: Context) -> World:
    """Brand Acme (1): Facebook "Acme Page" (1), LinkedIn "Acme LinkedIn" (2), a text post (1)."""
    return make_world(services)


@pytest.fixture
def refuse(cli, home: Path):
    """Run a command that must be refused: one ``error:`` line, exit 2, no row changed."""

    def rows() -> dict[str, list[str]]:
        # The queue file an earlier command had no reason to create may appear, empty.
        return {name: found for name, found in stored_rows(home).items() if found}

    def copies() -> set[Path]:
        return {path for path in media_dir().rglob("*") if path.is_file()}

    def run(*args: str | Path, expect: tuple[str, ...] = ()) -> str:
        before, files_before = rows(), copies()
        line = assert_user_error(cli(*map(str, args)), *expect)
        assert rows() == before, f"refused `{' '.join(map(str, args))}` wrote rows"
        # Nothing partial: no copy of an image the refusal did not attach (it used to stay).
        assert copies() == files_before, f"refused `{' '.join(map(str, args))}` left files"
        return line

    return run


def post_add_args(*images: Path, alts: tuple[str, ...] = (), title: str = "Photos") -> list[str]:
    args = ["post", "add", "--brand", "Acme", "--title", title, "--text", "Look at these!"]
    for image in images:
        args += ["--image", str(image)]
    for alt in alts:
        args += ["--alt", alt]
    return args


def add_post_with(cli, *images: Path, alts: tuple[str, ...] = (), title: str = "Photos") -> str:
    """``omnipost post add … --image …``; returns the new post's id."""
    return str(new_id(cli(*post_add_args(*images, alts=alts, title=title))))


def schedule(cli, post: str, account: str = FB_PAGE, at: str = "+1h") -> Result:
    return cli("variant", "add", "--post", post, "--account", account, "--at", at)


def image_table(cli, post: str) -> list[list[str]]:
    """The rows of ``omnipost post image list POST``, cut into their cells."""
    header, *rows = ok(cli("post", "image", "list", post)).splitlines()
    assert re.split(r"\s{2,}", header) == ["#", "FILE", "FORMAT", "PIXELS", "SIZE", "ALT TEXT"]
    return [re.split(r"\s{2,}", row) for row in rows]


def images_json(cli, post: str) -> list[dict[str, Any]]:
    return as_json(cli("post", "image", "list", post, "--json"))


def names(cli, post: str) -> list[tuple[int, str]]:
    return [(image["position"], image["name"]) for image in images_json(cli, post)]


def post_ids(cli) -> list[int]:
    return [row["id"] for row in as_json(cli("post", "list", "--json"))]


# --- attaching from the command line ------------------------------------------------------------


def test_post_add_attaches_the_images_in_order_with_what_was_read(
    cli, acme: World, tmp_path: Path
) -> None:
    a = picture(tmp_path / "a.jpg", (40, 30), n=1)
    b = picture(tmp_path / "b.png", (20, 10), n=2)

    post = add_post_with(cli, a, b, alts=("A red square",))

    assert image_table(cli, post) == [
        ["1", "a.jpg", "JPEG", "40×30", human_size(a.stat().st_size), "A red square"],
        ["2", "b.png", "PNG", "20×10", human_size(b.stat().st_size), "-"],
    ]
    assert ok(cli("post", "image", "list", str(acme.post_id))) == "no images\n"


def test_omniposts_copy_is_named_by_the_content_and_private(
    cli, acme: World, tmp_path: Path
) -> None:
    a = picture(tmp_path / "a.jpg", n=1)
    b = picture(tmp_path / "b.png", n=2)

    add_post_with(cli, a, b)

    for original in (a, b):
        copy = copy_of(original)
        assert copy.read_bytes() == original.read_bytes()
        assert copy.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in media_dir().glob("*/*")) == sorted(
        (copy_of(a).name, copy_of(b).name)
    )


def test_moving_or_deleting_the_original_changes_nothing(cli, acme: World, tmp_path: Path) -> None:
    a = picture(tmp_path / "a.jpg", n=1)
    b = picture(tmp_path / "b.png", n=2)
    post = add_post_with(cli, a, b, alts=("A",))
    listed = ok(cli("post", "image", "list", post))

    a.unlink()
    b.rename(tmp_path / "elsewhere.png")

    assert ok(cli("post", "image", "list", post)) == listed
    new_id(schedule(cli, post, FB_PAGE))
    new_id(schedule(cli, post, LI_ORG))


def test_json_of_post_list_and_variant_show_has_the_images(
    cli, acme: World, tmp_path: Path
) -> None:
    a = picture(tmp_path / "a.jpg", (40, 30), n=1)
    b = picture(tmp_path / "b.png", (20, 10), n=2)
    post = add_post_with(cli, a, b, alts=("A",))
    variant = str(new_id(schedule(cli, post)))

    expected = [
        {
            "position": 1,
            "name": "a.jpg",
            "format": "JPEG",
            "width": 40,
            "height": 30,
            "size_bytes": a.stat().st_size,
            "alt": "A",
            "sha256": sha256_of(a),
        },
        {
            "position": 2,
            "name": "b.png",
            "format": "PNG",
            "width": 20,
            "height": 10,
            "size_bytes": b.stat().st_size,
            "alt": "",
            "sha256": sha256_of(b),
        },
    ]
    (listed,) = [p for p in as_json(cli("post", "list", "--json")) if str(p["id"]) == post]
    assert listed["images"] == expected
    shown = as_json(cli("variant", "show", variant, "--json"))
    assert shown["images_mode"] == "inherit"
    assert shown["images"] == expected
    assert "the post's: 2 (a.jpg, b.png)" in ok(cli("variant", "show", variant))


def test_a_file_name_that_is_not_utf8_is_attached_under_a_name_that_can_be_shown(
    cli, acme: World, tmp_path: Path
) -> None:
    """Bytes of another encoding reach us as lone surrogates, which the database driver could
    not store ("something went wrong"): the image is attached, its name shown with U+FFFD."""
    post = add_post_with(cli, picture(tmp_path / "good.jpg", n=1))
    latin1 = os.fsdecode(os.fsencode(tmp_path) + b"/caf\xe9.png")
    picture(Path(latin1), n=2)

    added = ok(cli("post", "image", "add", post, latin1))

    assert "caf\ufffd.png (PNG" in added
    assert names(cli, post) == [(1, "good.jpg"), (2, "caf\ufffd.png")]
    again = assert_user_error(cli("post", "image", "add", post, latin1), "already image 2")
    assert "caf\\xe9.png" in again  # the path as typed, its byte shown, never raw


def test_post_image_add_appends_after_the_others(cli, acme: World, tmp_path: Path) -> None:
    post = add_post_with(cli, picture(tmp_path / "a.jpg", n=1))
    gif = picture(tmp_path / "c.gif", (12, 8), n=3)

    out = ok(cli("post", "image", "add", post, str(gif), "--alt", "  A small gif  "))

    assert out == f"image 2 of post {post}: c.gif (GIF, 12×8, {human_size(gif.stat().st_size)})\n"
    assert image_table(cli, post)[1][1:] == [
        "c.gif",
        "GIF",
        "12×8",
        human_size(gif.stat().st_size),
        "A small gif",
    ]


# --- bad input: one line, exit 2, nothing written -----------------------------------------------


@pytest.mark.parametrize("kind", list(BAD_IMAGES))
def test_post_add_with_a_bad_second_image_creates_no_post(
    cli, refuse, acme: World, tmp_path: Path, kind: str
) -> None:
    good = picture(tmp_path / "good.jpg", n=1)
    bad = bad_image(tmp_path, kind)

    refuse(*post_add_args(good, bad), expect=BAD_IMAGES[kind])

    assert post_ids(cli) == [acme.post_id]


def test_a_refusal_keeps_the_copy_another_post_uses(
    cli, refuse, acme: World, tmp_path: Path
) -> None:
    shared = picture(tmp_path / "shared.jpg", n=1)
    first = add_post_with(cli, shared)

    refuse(*post_add_args(shared, bad_image(tmp_path, "text named .png")), expect=("x.png",))

    assert copy_of(shared).is_file()  # still the first post's picture
    ok(cli("variant", "add", "--post", first, "--account", FB_PAGE, "--at", "+1h"))


@pytest.mark.parametrize("kind", list(BAD_IMAGES))
def test_post_image_add_of_a_bad_file_attaches_nothing(
    cli, refuse, acme: World, tmp_path: Path, kind: str
) -> None:
    post = add_post_with(cli, picture(tmp_path / "good.jpg", n=1))

    refuse("post", "image", "add", post, bad_image(tmp_path, kind), expect=BAD_IMAGES[kind])

    assert names(cli, post) == [(1, "good.jpg")]


def test_a_file_over_the_read_limit_is_refused_unread(
    cli, refuse, acme: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    post = add_post_with(cli, picture(tmp_path / "good.jpg", n=1))
    big = png_of_bytes(tmp_path / "big.png", 2_000, n=2)
    monkeypatch.setattr(media, "MAX_READ_BYTES", 1_999)

    refuse("post", "image", "add", post, big, expect=("big.png is over 2.0 kB", "that large"))

    monkeypatch.setattr(media, "MAX_READ_BYTES", 2_000)  # exactly the limit is read
    ok(cli("post", "image", "add", post, str(big)))


@pytest.mark.parametrize("kind", ["missing", "webp"])
def test_variant_edit_with_a_bad_own_image_changes_nothing(
    cli, refuse, acme: World, tmp_path: Path, kind: str
) -> None:
    post = add_post_with(cli, picture(tmp_path / "good.jpg", n=1))
    variant = str(new_id(schedule(cli, post)))
    own = picture(tmp_path / "own.png", n=2)

    refuse("variant", "edit", variant, "--image", own, "--image", bad_image(tmp_path, kind))

    assert as_json(cli("variant", "show", variant, "--json"))["images_mode"] == "inherit"


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".gif"])
def test_a_truncated_image_of_any_format_is_refused(
    cli, refuse, acme: World, tmp_path: Path, suffix: str
) -> None:
    """Half a file would fail at the minute it publishes (or show half a picture); it must be
    refused when attached, whatever the format."""
    cut = truncated(tmp_path / f"cut{suffix}")

    refuse(*post_add_args(cut), expect=(f"cut{suffix}", "damaged image"))


def test_more_alt_texts_than_images(refuse, acme: World, tmp_path: Path) -> None:
    a = picture(tmp_path / "a.jpg", n=1)

    refuse(*post_add_args(a, alts=("A", "B")), expect=("2 --alt for 1 --image",))
    refuse(*post_add_args(alts=("A",)), expect=("1 --alt for 0 --image",))


def test_variant_edit_alt_without_its_image_says_so(
    cli, refuse, acme: World, tmp_path: Path
) -> None:
    post = add_post_with(cli, picture(tmp_path / "good.jpg", n=1))
    variant = str(new_id(schedule(cli, post)))
    refuse("variant", "edit", variant, "--alt", "A red square", expect=("1 --alt for 0 --image",))


def test_alt_text_over_the_limit(
    cli, refuse, acme: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OMNIPOST_IMAGE_ALT_MAX_CHARS", "10")
    a = picture(tmp_path / "a.jpg", n=1)
    b = picture(tmp_path / "b.png", n=2)
    over = ("11 characters", "at most 10")

    refuse(*post_add_args(a, alts=("x" * 11,)), expect=over)
    post = add_post_with(cli, a, alts=("x" * 10,))  # exactly at the limit
    refuse("post", "image", "add", post, b, "--alt", "y" * 11, expect=over)
    refuse("post", "image", "alt", post, "1", "y" * 11, expect=over)

    assert [image["alt"] for image in images_json(cli, post)] == ["x" * 10]


@pytest.mark.parametrize("alt", ["two\nlines", "carriage\rreturn"])
def test_alt_text_with_a_line_break(cli, refuse, acme: World, tmp_path: Path, alt: str) -> None:
    a = picture(tmp_path / "a.jpg", n=1)
    b = picture(tmp_path / "b.png", n=2)
    one_line = ("alt text must be one line",)

    refuse(*post_add_args(a, alts=(alt,)), expect=one_line)
    post = add_post_with(cli, a, alts=("fine",))
    refuse("post", "image", "add", post, b, "--alt", alt, expect=one_line)
    refuse("post", "image", "alt", post, "1", alt, expect=one_line)

    assert [image["alt"] for image in images_json(cli, post)] == ["fine"]


def test_the_same_image_twice(cli, refuse, acme: World, tmp_path: Path) -> None:
    a = picture(tmp_path / "a.jpg", n=1)
    same = tmp_path / "same-content.jpg"
    same.write_bytes(a.read_bytes())

    refuse(*post_add_args(a, a), expect=("already image 1 of this post",))
    refuse(*post_add_args(a, same), expect=("same-content.jpg", "already image 1"))
    post = add_post_with(cli, a)
    refuse("post", "image", "add", post, same, expect=("already image 1 of this post",))

    assert names(cli, post) == [(1, "a.jpg")]
    assert post_ids(cli) == [acme.post_id, int(post)]


# --- limits at the edges, checked when a variant is scheduled ----------------------------------

FB_LIMIT = 3000  # bytes: small, so the edge pictures stay small


def test_facebook_file_size_at_the_limit_schedules_one_byte_over_is_refused(
    cli, refuse, acme: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OMNIPOST_FACEBOOK_IMAGE_MAX_BYTES", str(FB_LIMIT))
    at_limit = add_post_with(cli, png_of_bytes(tmp_path / "fits.png", FB_LIMIT, n=1))
    over = add_post_with(cli, png_of_bytes(tmp_path / "big.png", FB_LIMIT + 1, n=2))

    new_id(schedule(cli, at_limit, FB_PAGE))
    refuse(
        "variant", "add", "--post", over, "--account", FB_PAGE, "--at", "+1h",
        expect=("cannot schedule", "image 1 (big.png)", "Facebook", f"{FB_LIMIT:,} bytes"),
    )  # fmt: skip
    new_id(schedule(cli, over, LI_ORG))  # Facebook's limit is Facebook's alone


def test_facebook_size_refusal_shows_the_image_larger_than_the_limit(
    cli, acme: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One byte over is refused; the message must not then say that the image is exactly as
    large as what Facebook takes ("is 3.0 kB; … up to 3.0 kB")."""
    monkeypatch.setenv("OMNIPOST_FACEBOOK_IMAGE_MAX_BYTES", str(FB_LIMIT))
    over = add_post_with(cli, png_of_bytes(tmp_path / "big.png", FB_LIMIT + 1))

    line = assert_user_error(schedule(cli, over, FB_PAGE), "big.png", "Facebook")

    found = re.search(r"is (.+?); Facebook takes photos up to (.+)$", line)
    assert found, line
    assert found.group(1) != found.group(2), line


@pytest.mark.parametrize(
    ("account", "setting", "label"),
    [(FB_PAGE, "FACEBOOK_MAX_IMAGES", "Facebook"), (LI_ORG, "LINKEDIN_MAX_IMAGES", "LinkedIn")],
)
def test_image_count_at_the_limit_schedules_one_more_is_refused(
    cli,
    refuse,
    acme: World,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    account: str,
    setting: str,
    label: str,
) -> None:
    most = 3
    monkeypatch.setenv(f"OMNIPOST_{setting}", str(most))
    pictures = [picture(tmp_path / f"p{n}.png", n=n) for n in range(most + 1)]
    at_limit = add_post_with(cli, *pictures[:most])
    over = add_post_with(cli, *pictures)

    new_id(schedule(cli, at_limit, account))
    refuse(
        "variant", "add", "--post", over, "--account", account, "--at", "+1h",
        expect=(f"{most + 1} images", f"{label} takes at most {most}"),
    )  # fmt: skip


def test_linkedin_pixels_below_the_limit_schedule_at_the_limit_are_refused(
    cli, refuse, acme: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OMNIPOST_LINKEDIN_IMAGE_MAX_PIXELS", "100")
    below = add_post_with(cli, picture(tmp_path / "small.png", (9, 11), n=1))  # 99 pixels
    at_limit = add_post_with(cli, picture(tmp_path / "square.png", (10, 10), n=2))  # 100

    new_id(schedule(cli, below, LI_ORG))
    refuse(
        "variant", "add", "--post", at_limit, "--account", LI_ORG, "--at", "+1h",
        expect=("image 1 (square.png)", "10×10 (100 pixels)", "LinkedIn takes fewer than 100"),
    )  # fmt: skip
    new_id(schedule(cli, at_limit, FB_PAGE))


def test_linkedin_ugc_api_refuses_images_but_schedules_text(
    cli, refuse, acme: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OMNIPOST_LINKEDIN_API", "ugc")
    with_image = add_post_with(cli, picture(tmp_path / "a.jpg", n=1))

    refuse(
        "variant", "add", "--post", with_image, "--account", LI_ORG, "--at", "+1h",
        expect=("use the Posts API", 'linkedin_api = "rest"'),
    )  # fmt: skip
    new_id(schedule(cli, str(acme.post_id), LI_ORG))
    new_id(schedule(cli, with_image, FB_PAGE))


def test_reschedule_of_a_draft_checks_the_limits_too(
    cli, refuse, acme: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OMNIPOST_LINKEDIN_IMAGE_MAX_PIXELS", "100")
    post = add_post_with(cli, picture(tmp_path / "square.png", (10, 10), n=2))
    draft = str(new_id(cli("variant", "add", "--post", post, "--account", LI_ORG, "--draft")))

    refuse("variant", "reschedule", draft, "+2h", expect=(f"variant {draft}", "100 pixels"))

    assert as_json(cli("variant", "show", draft, "--json"))["status"] == "draft"


# --- changing the images of a post that is scheduled -------------------------------------------


def test_an_image_the_scheduled_variant_cannot_take_is_refused_until_it_goes_without(
    cli, refuse, acme: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OMNIPOST_FACEBOOK_MAX_IMAGES", "2")
    pictures = [picture(tmp_path / f"p{n}.png", n=n) for n in range(3)]
    post = add_post_with(cli, *pictures[:2])
    variant = str(new_id(schedule(cli, post, FB_PAGE)))
    too_many = (f"variant {variant}", "3 images", "Facebook takes at most 2")

    refuse("post", "image", "add", post, pictures[2], expect=too_many)
    assert len(images_json(cli, post)) == 2

    ok(cli("variant", "edit", variant, "--images", "none"))
    shown = as_json(cli("variant", "show", variant, "--json"))
    assert (shown["images_mode"], shown["images"], shown["status"]) == ("none", [], "scheduled")
    ok(cli("post", "image", "add", post, str(pictures[2])))
    assert len(images_json(cli, post)) == 3

    refuse("variant", "edit", variant, "--images", "inherit", expect=too_many)
    assert as_json(cli("variant", "show", variant, "--json"))["images_mode"] == "none"


def test_a_draft_variant_does_not_hold_the_post_back(
    cli, acme: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OMNIPOST_FACEBOOK_MAX_IMAGES", "1")
    post = add_post_with(cli, picture(tmp_path / "p0.png", n=0))
    new_id(cli("variant", "add", "--post", post, "--account", FB_PAGE, "--draft"))

    ok(cli("post", "image", "add", post, str(picture(tmp_path / "p1.png", n=1))))

    assert len(images_json(cli, post)) == 2


def test_variant_edit_own_images_replace_the_posts(cli, acme: World, tmp_path: Path) -> None:
    post = add_post_with(cli, picture(tmp_path / "a.jpg", n=1))
    variant = str(new_id(schedule(cli, post, LI_ORG)))
    own = [picture(tmp_path / "own1.png", n=2), picture(tmp_path / "own2.gif", n=3)]

    ok(
        cli(
            "variant", "edit", variant, "--image", str(own[0]), "--image", str(own[1]), "--alt", "O"
        )
    )

    shown = as_json(cli("variant", "show", variant, "--json"))
    assert shown["images_mode"] == "own"
    assert [(i["position"], i["name"], i["alt"]) for i in shown["images"]] == [
        (1, "own1.png", "O"),
        (2, "own2.gif", ""),
    ]
    assert names(cli, post) == [(1, "a.jpg")]  # the post keeps its own


# --- remove, move, alt ----------------------------------------------------------------------


def test_move_remove_and_alt_renumber_the_images(cli, acme: World, tmp_path: Path) -> None:
    a, b, c = (picture(tmp_path / f"{x}.png", n=n) for n, x in enumerate("abc"))
    post = add_post_with(cli, a, b, c, alts=("A", "B", "C"))

    cells = [row[:2] for row in image_table(cli, post)]
    assert cells == [["1", "a.png"], ["2", "b.png"], ["3", "c.png"]]
    moved = ok(cli("post", "image", "move", post, "3", "1"))
    assert [line.split()[:2] for line in moved.splitlines()[1:]] == [
        ["1", "c.png"],
        ["2", "a.png"],
        ["3", "b.png"],
    ]
    assert names(cli, post) == [(1, "c.png"), (2, "a.png"), (3, "b.png")]

    out = ok(cli("post", "image", "remove", post, "2"))
    assert out == f"image 2 removed; post {post} has 2 image(s)\n"
    assert names(cli, post) == [(1, "c.png"), (2, "b.png")]

    assert ok(cli("post", "image", "alt", post, "2", "Bee")) == "alt text of image 2 saved\n"
    ok(cli("post", "image", "alt", post, "1", ""))
    assert [(i["name"], i["alt"]) for i in images_json(cli, post)] == [
        ("c.png", ""),
        ("b.png", "Bee"),
    ]

    listed = next(p for p in as_json(cli("post", "list", "--json")) if str(p["id"]) == post)
    assert [i["position"] for i in listed["images"]] == [1, 2]


def test_numbers_out_of_range_are_refused(refuse, cli, acme: World, tmp_path: Path) -> None:
    post = add_post_with(cli, picture(tmp_path / "a.png", n=1), picture(tmp_path / "b.png", n=2))
    text_only = str(acme.post_id)

    refuse(
        "post", "image", "remove", post, "3", expect=(f"post {post} has 2 image(s); no image 3",)
    )
    refuse("post", "image", "move", post, "1", "3", expect=("move to 1–2",))
    refuse("post", "image", "alt", post, "5", "x", expect=("no image 5",))
    refuse("post", "image", "remove", text_only, "1", expect=(f"post {text_only} has no images",))
    refuse("post", "image", "remove", post, "0")
    refuse("post", "image", "list", "999", expect=("no post 999",))

    assert names(cli, post) == [(1, "a.png"), (2, "b.png")]


def test_removing_the_last_reference_deletes_the_copy_a_shared_one_stays(
    cli, acme: World, tmp_path: Path
) -> None:
    shared = picture(tmp_path / "logo.png", n=1)
    only_here = picture(tmp_path / "once.png", n=2)
    first = add_post_with(cli, shared, only_here)
    second = add_post_with(cli, shared, title="Again")

    ok(cli("post", "image", "remove", first, "2"))
    assert not copy_of(only_here).exists()
    assert not copy_of(only_here).parent.exists()  # its empty folder went with it

    ok(cli("post", "image", "remove", first, "1"))
    assert copy_of(shared).read_bytes() == shared.read_bytes()  # the second post still has it
    assert names(cli, second) == [(1, "logo.png")]

    ok(cli("post", "image", "remove", second, "1"))
    assert list(media_dir().glob("*/*")) == []


def test_a_file_nothing_refers_to_stays_for_the_grace_period(
    cli, services: Context, acme: World, tmp_path: Path
) -> None:
    """A file no row knows is an attach in progress (copied, not yet committed) until it is
    old: then it is left over from a crash, and goes."""
    kept = picture(tmp_path / "kept.png", n=1)
    add_post_with(cli, kept)
    stray = media_dir() / "ab" / f"ab{'0' * 62}.png"
    stray.parent.mkdir(mode=0o700, exist_ok=True)
    stray.write_bytes(b"left by an attach that crashed")

    assert remove_unreferenced(services) == 0
    assert stray.exists()

    old = time.time() - UNREFERENCED_GRACE_S - 60
    os.utime(stray, (old, old))
    os.utime(copy_of(kept), (old, old))  # old too, but a post uses it
    assert remove_unreferenced(services) == 1
    assert not stray.exists()
    assert copy_of(kept).exists()


def test_an_image_added_for_the_editor_survives_another_posts_clean_up(
    ctx: Context, world: World, tmp_path: Path
) -> None:
    """``add_file`` copies an image for a plan the editor saves later; removing an image of
    another post meanwhile must not delete it (it is as young as an attach in progress)."""
    pending = add_file(ctx, str(picture(tmp_path / "pending.png", n=1)), "Soon")
    attach_images(ctx, world.post_id, [ImageInput(str(picture(tmp_path / "other.png", n=2)))])

    remove_image(ctx, world.post_id, 1)

    saved = save_plan(
        ctx, PostPlan(brand=world.brand_id, title="Edited", text="Hello", images=(pending,))
    )
    assert [i.name for i in list_images(ctx, saved.post.id)] == ["pending.png"]


# --- a copy removed from the media directory behind OmniPost's back ---------------------------


def lose_copy(original: Path) -> None:
    copy_of(original).unlink()


def doctor_images(cli) -> dict[str, Any]:
    """The images check of ``omnipost doctor --json``."""
    result = cli("doctor", "--json")
    assert "Traceback" not in result.output
    (check,) = [c for c in json.loads(result.stdout)["checks"] if c["name"] == "images"]
    return check


def test_scheduling_refuses_an_image_that_left_the_media_directory(
    cli, refuse, acme: World, tmp_path: Path
) -> None:
    a = picture(tmp_path / "a.jpg", n=1)
    b = picture(tmp_path / "b.png", n=2)
    post = add_post_with(cli, a, b)
    draft = str(new_id(cli("variant", "add", "--post", post, "--account", LI_ORG, "--draft")))
    lose_copy(b)
    gone = ("image 2 (b.png)", "no longer in OmniPost's media directory", "post image add")

    refuse("variant", "add", "--post", post, "--account", FB_PAGE, "--at", "+1h", expect=gone)
    refuse("variant", "reschedule", draft, "+1h", expect=(f"variant {draft}", *gone[:2]))

    ok(cli("variant", "edit", draft, "--images", "none"))
    ok(cli("variant", "reschedule", draft, "+1h"))  # text only: nothing missing


def test_the_advice_for_a_lost_image_works_as_written(cli, acme: World, tmp_path: Path) -> None:
    """The refusal tells what to do; doing just that lets the variant be scheduled."""
    a = picture(tmp_path / "a.jpg", n=1)
    post = add_post_with(cli, a)
    lose_copy(a)

    advice = assert_user_error(schedule(cli, post), "no longer in OmniPost's media directory")

    if "post image remove" in advice:  # advice to remove it first, then add it
        ok(cli("post", "image", "remove", post, "1"))
    else:
        assert "Attach it again (omnipost post image add)" in advice
    ok(cli("post", "image", "add", post, str(a)))
    new_id(schedule(cli, post))


def test_removing_a_lost_image_and_adding_it_again_restores_it(
    cli, acme: World, tmp_path: Path
) -> None:
    """What doctor advises: ``post image remove``, then ``add``."""
    a = picture(tmp_path / "a.jpg", n=1)
    post = add_post_with(cli, a, alts=("A",))
    lose_copy(a)

    ok(cli("post", "image", "remove", post, "1"))
    ok(cli("post", "image", "add", post, str(a), "--alt", "A"))

    assert copy_of(a).read_bytes() == a.read_bytes()
    new_id(schedule(cli, post))
    assert doctor_images(cli)["ok"]


def test_doctor_names_the_post_whose_image_left_the_media_directory(
    cli, acme: World, tmp_path: Path
) -> None:
    a = picture(tmp_path / "a.jpg", n=1)
    b = picture(tmp_path / "b.png", n=2)
    post = add_post_with(cli, a, b)

    healthy = doctor_images(cli)
    assert healthy["ok"], healthy
    assert "2 images" in healthy["detail"]

    lose_copy(b)
    check = doctor_images(cli)
    assert not check["ok"]
    assert "1 image missing" in check["detail"]
    assert f"post {post} (b.png)" in check["detail"]
    assert "a.jpg" not in check["detail"]
    assert "restore media/ from a backup" in check["fix"]
    # A warning: the install works, that post fails at its time unless the image comes back.
    assert check["level"] == "warn"
    assert cli("doctor", "--only", "images").exit_code == 1


def test_doctor_names_the_variant_whose_own_image_left_the_media_directory(
    cli, acme: World, tmp_path: Path
) -> None:
    post = add_post_with(cli, picture(tmp_path / "a.jpg", n=1))
    variant = str(new_id(schedule(cli, post, LI_ORG)))
    own = picture(tmp_path / "own.png", n=2)
    ok(cli("variant", "edit", variant, "--image", str(own)))
    lose_copy(own)

    check = doctor_images(cli)

    assert not check["ok"]
    assert "own.png" in check["detail"], check["detail"]


def test_backup_copies_the_images_beside_the_database_once(
    cli, acme: World, tmp_path: Path
) -> None:
    a = picture(tmp_path / "a.jpg", n=1)
    b = picture(tmp_path / "b.gif", n=2)
    add_post_with(cli, a, b)
    target = tmp_path / "backups"

    first = as_json(cli("backup", f"{target}/", "--json"))

    assert first["media_copied"] == 2
    assert Path(first["media_dir"]) == target / "media"
    for original in (a, b):
        sha = sha256_of(original)
        kept = target / "media" / sha[:2] / copy_of(original).name
        assert kept.read_bytes() == original.read_bytes()
        assert kept.stat().st_mode & 0o777 == 0o600
    assert Path(first["path"]).parent == target

    second = as_json(cli("backup", f"{target}/", "--json"))
    assert second["media_copied"] == 0
    assert second["path"] != first["path"]

    c = picture(tmp_path / "c.png", n=3)
    add_post_with(cli, c, title="Later")
    result = cli("backup", f"{target}/")
    assert result.exit_code == 0
    assert result.stderr == f"images: {target / 'media'} (1 new)\n"


# --- the editor's plans ---------------------------------------------------------------------


def test_check_plan_reports_an_image_over_a_planned_linkedin_variants_limit(
    ctx: Context, world: World, tmp_path: Path
) -> None:
    ctx.settings = replace(ctx.settings, linkedin_image_max_pixels=100)
    square = add_file(ctx, str(picture(tmp_path / "square.png", (10, 10), n=1)))
    later = clock.now() + timedelta(hours=1)

    def plan(account: int, at=later) -> PostPlan:
        return PostPlan(
            brand=world.brand_id,
            title="Plan",
            text="Hello",
            variants=(VariantPlan(account_id=account, at=at),),
            images=(square,),
        )

    problems = check_plan(ctx, plan(world.linkedin_id))
    assert set(problems) == {"variant.0.images"}
    assert "image 1 (square.png)" in problems["variant.0.images"]
    assert "LinkedIn takes fewer than 100" in problems["variant.0.images"]
    assert check_plan(ctx, plan(world.facebook_id)) == {}
    assert check_plan(ctx, plan(world.linkedin_id, at=None)) == {}  # a draft is not checked


def test_check_plan_reports_the_same_image_twice_and_bad_alt_text(
    ctx: Context, world: World, tmp_path: Path
) -> None:
    image = add_file(ctx, str(picture(tmp_path / "a.png", n=1)))

    def problems(*images) -> dict[str, str]:
        return check_plan(ctx, PostPlan(world.brand_id, "T", "Hello", images=images))

    assert "in the post twice" in problems(image, image)["images"]
    assert "one line" in problems(replace(image, alt="two\nlines"))["images"]
    assert problems(image) == {}


def test_save_plan_stores_the_images_in_order_with_their_alt_text(
    ctx: Context, world: World, tmp_path: Path
) -> None:
    first = add_file(ctx, str(picture(tmp_path / "first.gif", n=1)), "One")
    second = add_file(ctx, str(picture(tmp_path / "second.jpg", n=2)), "  Two  ")
    later = clock.now() + timedelta(hours=1)

    saved = save_plan(
        ctx,
        PostPlan(
            brand=world.brand_id,
            title="Plan",
            text="Hello",
            variants=(VariantPlan(account_id=world.facebook_id, at=later),),
            images=(second, first),
        ),
    )

    stored = list_images(ctx, saved.post.id)
    assert [(i.position, i.name, i.alt, i.format) for i in stored] == [
        (1, "second.jpg", "Two", "JPEG"),
        (2, "first.gif", "One", "GIF"),
    ]
    assert [i.name for i in saved.variants[0].images] == ["second.jpg", "first.gif"]


# --- staged uploads -------------------------------------------------------------------------


def post_with_images(ctx: Context, world: World, tmp_path: Path, count: int = 2) -> int:
    images = [
        ImageInput(str(picture(tmp_path / f"s{n}.png", n=n)), f"alt {n}") for n in range(count)
    ]
    return add_post(ctx, brand=world.brand_id, title="Staged", text="Hi", images=images).id


def stage(ctx: Context, variant_id: int, account_id: int, sha256: str, media_id: str) -> None:
    """A staged upload as the engine records it: with the alt text the image has now."""
    with ctx.db.write() as session:
        alt = session.scalars(select(PostImage.alt_text).where(PostImage.sha256 == sha256)).first()
        session.add(
            StagedMedia(
                variant_id=variant_id,
                account_id=account_id,
                sha256=sha256,
                media_id=media_id,
                alt_text=alt or "",
                staged_at=clock.now(),
            )
        )


def set_status(ctx: Context, variant_id: int, status: str) -> None:
    with ctx.db.write() as session:
        variant = session.get(PostVariant, variant_id)
        assert variant is not None
        variant.status = status


def scheduled_with_staged(ctx: Context, world: World, tmp_path: Path):
    post = post_with_images(ctx, world, tmp_path)
    variant = add_variant(
        ctx, post=post, account=world.facebook_id, at=clock.now() + timedelta(hours=1)
    )
    images = list_images(ctx, post)
    for image in images:
        stage(ctx, variant.id, world.facebook_id, image.sha256, f"photo-{image.position}")
    return post, variant, images


def test_uploads_of_a_published_variant_are_forgotten_never_discarded(
    ctx: Context, world: World, tmp_path: Path
) -> None:
    _, variant, _ = scheduled_with_staged(ctx, world, tmp_path)
    assert staging.stale(ctx) == []  # a scheduled variant keeps what it will use
    set_status(ctx, variant.id, FAILED)
    mark_published(ctx, variant.id, "104200_1")  # the user found it on the page

    (unused,) = staging.stale(ctx)

    assert (unused.variant_id, unused.discard) == (variant.id, False)
    assert sorted(row.media_id for row in unused.rows) == ["photo-1", "photo-2"]


def test_uploads_of_a_failed_variant_are_discarded(
    ctx: Context, world: World, tmp_path: Path
) -> None:
    _, variant, _ = scheduled_with_staged(ctx, world, tmp_path)
    set_status(ctx, variant.id, FAILED)

    (unused,) = staging.stale(ctx)

    assert (unused.variant_id, unused.discard) == (variant.id, True)
    assert len(unused.rows) == 2


def test_an_image_removed_from_a_scheduled_post_discards_only_its_upload(
    ctx: Context, world: World, tmp_path: Path
) -> None:
    post, variant, images = scheduled_with_staged(ctx, world, tmp_path)

    remove_image(ctx, post, 1)

    (unused,) = staging.stale(ctx)
    assert (unused.variant_id, unused.discard) == (variant.id, True)
    assert [(row.sha256, row.media_id) for row in unused.rows] == [(images[0].sha256, "photo-1")]


def test_variants_due_soon_with_images_and_nothing_staged_are_to_stage(
    ctx: Context, world: World, tmp_path: Path
) -> None:
    now = clock.now()
    soon = now + timedelta(minutes=3)
    post = post_with_images(ctx, world, tmp_path, count=1)
    with_images = add_variant(ctx, post=post, account=world.facebook_id, at=soon)
    text_only = add_variant(ctx, post=world.post_id, account=world.facebook_id, at=soon)
    later = add_variant(ctx, post=post, account=world.linkedin_id, at=now + timedelta(hours=2))

    assert staging.due_to_stage(ctx, now, timedelta(minutes=5)) == [with_images.id]
    assert text_only.id not in staging.due_to_stage(ctx, now, timedelta(hours=3))
    assert later.id in staging.due_to_stage(ctx, now, timedelta(hours=3))

    (image,) = list_images(ctx, post)
    stage(ctx, with_images.id, world.facebook_id, image.sha256, "photo-1")
    assert staging.due_to_stage(ctx, now, timedelta(minutes=5)) == []


# --- sizes as people read them --------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "shown"),
    [
        (0, "0 B"),
        (999, "999 B"),
        (1000, "1.0 kB"),
        (14_200, "14.2 kB"),
        (999_949, "999.9 kB"),
        (999_950, "1.0 MB"),
        (8_400_000, "8.4 MB"),
        (10 * 1024 * 1024, "10.5 MB"),
        (2_500_000_000, "2.5 GB"),
    ],
)
def test_human_size(size: int, shown: str) -> None:
    assert human_size(size) == shown
