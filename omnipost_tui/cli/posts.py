"""``omnipost post …`` and ``omnipost variant …``: write posts, and plan, change and inspect
their variants (one post on one account at one time).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from omnipost_tui.cli.base import ID, LIMIT, POSITION, App, json_option, pass_app, text_arg
from omnipost_tui.cli.output import dumps, echo_json, table
from omnipost_tui.errors import ValidationError
from omnipost_tui.services.views import ImageView, VariantView, image_json, post_json, variant_json
from omnipost_tui.states import RETRYING
from omnipost_tui.text import visible, visible_line
from omnipost_tui.times import WHEN_HELP, format_relative, parse_until, parse_when

if TYPE_CHECKING:
    from omnipost_tui.services.media import ImageInput

# --- posts ----------------------------------------------------------------------------------------


@click.group()
def post() -> None:
    """Posts: a title, a text and an optional link shared by their variants."""


@post.command("add")
@click.option("--brand", "brand_ref", required=True, help="Brand id or name.")
@click.option("--title", required=True)
@click.option("--text", required=True, help="The post text, or - to read it from stdin.")
@click.option("--link", help="Optional http(s) link.")
@click.option(
    "--image",
    "image_paths",
    multiple=True,
    metavar="PATH",
    help="Attach a JPEG, PNG or GIF (repeat for several, in order).",
)
@click.option(
    "--alt", "alts", multiple=True, metavar="TEXT", help="Alt text of each --image, in order."
)
@json_option
@pass_app
def post_add(
    app: App,
    brand_ref: str,
    title: str,
    text: str,
    link: str | None,
    image_paths: tuple[str, ...],
    alts: tuple[str, ...],
    as_json: bool,
) -> None:
    """Create a post; prints its id."""
    from omnipost_tui.services.posts import add_post

    created = add_post(
        app.ctx,
        brand=brand_ref,
        title=title,
        text=text_arg(text),
        link=link,
        images=_image_inputs(image_paths, alts),
    )
    click.echo(dumps(post_json(created, app.settings.tz)) if as_json else created.id)


def _image_inputs(paths: tuple[str, ...], alts: tuple[str, ...]) -> list[ImageInput]:
    """``--image`` and ``--alt`` paired in order; more alt texts than images is a mistake."""
    if len(alts) > len(paths):
        raise ValidationError(
            f"{len(alts)} --alt for {len(paths)} --image; give one alt text per image, in order"
        )
    from omnipost_tui.services.media import ImageInput

    padded = list(alts) + [""] * (len(paths) - len(alts))
    return [ImageInput(path, alt) for path, alt in zip(paths, padded, strict=True)]


def _images_line(images: tuple[ImageView, ...]) -> str:
    if not images:
        return "-"
    return ", ".join(image.name for image in images)


def _echo_images(images: list[ImageView]) -> None:
    from omnipost_tui.services.media import human_size

    if not images:
        click.echo("no images")
        return
    rows = [
        (
            image.position,
            image.name,
            image.format,
            f"{image.width}×{image.height}",
            human_size(image.size),
            image.alt or "-",
        )
        for image in images
    ]
    click.echo(table(["#", "file", "format", "pixels", "size", "alt text"], rows, max_width=40))


@post.group("image")
def post_image() -> None:
    """A post's images: attach, list, remove, reorder, describe (alt text)."""


@post_image.command("add")
@click.argument("post_id")
@click.argument("path")
@click.option("--alt", default="", help="Alt text: what the image shows, for screen readers.")
@json_option
@pass_app
def post_image_add(app: App, post_id: str, path: str, alt: str, as_json: bool) -> None:
    """Attach the image at PATH after the post's others (OmniPost keeps its own copy)."""
    from omnipost_tui.services.media import ImageInput, attach_images, human_size

    attached = attach_images(app.ctx, post_id, [ImageInput(path, alt)])
    if as_json:
        echo_json([image_json(image) for image in attached.images])
        return
    if attached.restored:
        click.echo(f"image {attached.restored[0]} of post {post_id} is back in place")
        return
    added = attached.images[-1]
    click.echo(
        f"image {added.position} of post {post_id}: {added.name} ({added.format}, "
        f"{added.width}×{added.height}, {human_size(added.size)})"
    )


@post_image.command("list")
@click.argument("post_id")
@json_option
@pass_app
def post_image_list(app: App, post_id: str, as_json: bool) -> None:
    """The post's images in the order they are published."""
    from omnipost_tui.services.media import list_images

    images = list_images(app.ctx, post_id)
    if as_json:
        echo_json([image_json(image) for image in images])
    else:
        _echo_images(images)


@post_image.command("remove")
@click.argument("post_id")
@click.argument("number", type=POSITION)
@json_option
@pass_app
def post_image_remove(app: App, post_id: str, number: int, as_json: bool) -> None:
    """Remove image NUMBER (as ``post image list`` counts them)."""
    from omnipost_tui.services.media import remove_image

    images = remove_image(app.ctx, post_id, number)
    if as_json:
        echo_json([image_json(image) for image in images])
    else:
        click.echo(f"image {number} removed; post {post_id} has {len(images)} image(s)")


@post_image.command("move")
@click.argument("post_id")
@click.argument("number", type=POSITION)
@click.argument("to", type=POSITION)
@json_option
@pass_app
def post_image_move(app: App, post_id: str, number: int, to: int, as_json: bool) -> None:
    """Move image NUMBER to position TO."""
    from omnipost_tui.services.media import move_image

    images = move_image(app.ctx, post_id, number, to)
    if as_json:
        echo_json([image_json(image) for image in images])
    else:
        _echo_images(images)


@post_image.command("alt")
@click.argument("post_id")
@click.argument("number", type=POSITION)
@click.argument("text")
@json_option
@pass_app
def post_image_alt(app: App, post_id: str, number: int, text: str, as_json: bool) -> None:
    """Set the alt text of image NUMBER ('' removes it)."""
    from omnipost_tui.services.media import set_alt

    images = set_alt(app.ctx, post_id, number, text)
    if as_json:
        echo_json([image_json(image) for image in images])
    else:
        click.echo(f"alt text of image {number} saved")


@post.command("edit")
@click.argument("post_id")
@click.option("--title")
@click.option("--text", help="New text, or - to read it from stdin.")
@click.option("--link", help="New link ('' removes it).")
@json_option
@pass_app
def post_edit(
    app: App,
    post_id: str,
    title: str | None,
    text: str | None,
    link: str | None,
    as_json: bool,
) -> None:
    """Change a post's title, text or link."""
    from omnipost_tui.services.posts import UNSET, update_post

    changes: dict[str, Any] = {}
    if title is not None:
        changes["title"] = title
    if text is not None:
        changes["text"] = text_arg(text)
    if link is not None:
        changes["link"] = link
    if not changes:
        raise ValidationError("nothing to change; give --title, --text or --link")
    updated = update_post(app.ctx, post_id, **{k: changes.get(k, UNSET) for k in changes})
    click.echo(
        dumps(post_json(updated, app.settings.tz)) if as_json else f"post {updated.id} saved"
    )


@post.command("list")
@click.option("--brand", "brand_ref", help="Only this brand (id or name).")
@json_option
@pass_app
def post_list(app: App, brand_ref: str | None, as_json: bool) -> None:
    """List posts."""
    from omnipost_tui.services.posts import list_posts

    posts = list_posts(app.ctx, brand=brand_ref)
    if as_json:
        echo_json([post_json(p, app.settings.tz) for p in posts])
        return
    if not posts:
        click.echo("no posts yet; write one with: omnipost post add --help")
        return
    rows = [
        (
            p.id,
            p.brand_name,
            p.title,
            p.status_summary,
            p.variant_count,
            len(p.images) or "-",
            p.base_text.strip().splitlines()[0],
        )
        for p in posts
    ]
    headers = ["id", "brand", "title", "status", "variants", "images", "text"]
    click.echo(table(headers, rows, max_width=40))


# --- variants -------------------------------------------------------------------------------------


@click.group()
def variant() -> None:
    """Variants: one post on one account at one time."""


@variant.command("add")
@click.option("--post", "post_id", required=True, help="Post id.")
@click.option("--account", "account_ref", required=True, help="Account id or name.")
@click.option("--platform", help="Optional check that the account is on this platform.")
@click.option(
    "--text", help="Custom text for this platform (default: the post's text; - reads stdin)."
)
@click.option("--at", "at", help=f"When to publish: {WHEN_HELP}.")
@click.option("--draft", is_flag=True, help="Keep it as a draft (not scheduled).")
@json_option
@pass_app
def variant_add(
    app: App,
    post_id: str,
    account_ref: str,
    platform: str | None,
    text: str | None,
    at: str | None,
    draft: bool,
    as_json: bool,
) -> None:
    """Schedule a post on an account; prints the variant id."""
    from omnipost_tui.services.variants import add_variant

    when = app.when(at) if at else None
    custom = text_arg(text) if text is not None else None
    if custom is not None and not custom.strip():
        raise ValidationError("--text is empty; leave it out to publish the post's own text")
    created = add_variant(
        app.ctx,
        post=post_id,
        account=account_ref,
        platform=platform,
        custom_text=custom,
        at=when,
        draft=draft,
    )
    click.echo(dumps(variant_json(created, app.settings.tz)) if as_json else created.id)


def _variant_rows(app: App, variants: list[VariantView]) -> list[tuple[object, ...]]:
    now = app.now()
    rows: list[tuple[object, ...]] = []
    for v in variants:
        status = v.status
        if v.status == RETRYING and v.next_attempt_at is not None:
            status = f"retrying {format_relative(v.next_attempt_at, now)}"
        rows.append(
            (
                v.id,
                app.show(v.scheduled_at),
                v.platform,
                v.account_name,
                status,
                v.attempts,
                v.first_line,
            )
        )
    return rows


VARIANT_HEADERS = ["id", "when", "platform", "account", "status", "tries", "text"]


def _split(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(v.strip().lower() for item in values for v in item.split(",") if v.strip())


@variant.command("list")
@click.option("--status", multiple=True, help="Filter by status (repeat or comma-separate).")
@click.option("--platform", multiple=True, help="Filter by platform.")
@click.option("--brand", "brand_ref", help="Brand id or name.")
@click.option("--account", "account_ref", help="Account id or name.")
@click.option("--post", "post_id", type=ID, help="Post id.")
@click.option("--from", "date_from", help=f"From this time on (inclusive): {WHEN_HELP}.")
@click.option("--to", "date_to", help="Before this time; a bare date includes that whole day.")
@click.option("--search", help="Text to look for in the title or text.")
@click.option("--limit", type=LIMIT, help="At most this many rows.")
@json_option
@pass_app
def variant_list(
    app: App,
    status: tuple[str, ...],
    platform: tuple[str, ...],
    brand_ref: str | None,
    account_ref: str | None,
    post_id: int | None,
    date_from: str | None,
    date_to: str | None,
    search: str | None,
    limit: int | None,
    as_json: bool,
) -> None:
    """List variants in time order."""
    from omnipost_tui.services.variants import VariantFilter, list_variants

    now = app.now()
    flt = VariantFilter(
        statuses=_split(status),
        platforms=_split(platform),
        brand=brand_ref,
        account=account_ref,
        post=post_id,
        date_from=parse_when(date_from, app.settings.tz, now) if date_from else None,
        date_to=parse_until(date_to, app.settings.tz, now) if date_to else None,
        search=search,
    )
    variants = list_variants(app.ctx, flt, limit=limit)
    if as_json:
        echo_json([variant_json(v, app.settings.tz) for v in variants])
        return
    if not variants:
        click.echo("no variants match")
        return
    click.echo(table(VARIANT_HEADERS, _variant_rows(app, variants), max_width=40))


@variant.command("show")
@click.argument("variant_id")
@json_option
@pass_app
def variant_show(app: App, variant_id: str, as_json: bool) -> None:
    """Everything about one variant."""
    from omnipost_tui.services.variants import get_variant

    v = get_variant(app.ctx, variant_id)
    if as_json:
        echo_json(variant_json(v, app.settings.tz))
        return
    fields = [
        ("variant", v.id),
        ("post", f"{v.post_id} {v.post_title}"),
        ("brand", v.brand_name),
        ("account", f"{v.account_name} ({v.platform} #{v.account_id})"),
        ("status", v.status),
        ("planned", app.show(v.scheduled_at)),
        ("attempts", v.attempts),
        ("next attempt", app.show(v.next_attempt_at)),
        *([("next read-back", app.show(v.check_at))] if v.check_at else []),
        ("published", app.show(v.published_at)),
        ("external id", v.external_post_id or "-"),
        ("last error", v.last_error or "-"),
        ("link", v.link or "-"),
        ("images", _variant_images_line(v)),
    ]
    width = max(len(k) for k, _ in fields)
    for key, value in fields:
        click.echo(f"{key.ljust(width)}  {visible_line(str(value))}")
    click.echo("")
    # Stored text may predate the rule on control characters: never print them raw.
    click.echo(visible(v.text))


def _variant_images_line(v: VariantView) -> str:
    where = {"inherit": "the post's", "none": "none", "own": "its own"}[v.images_mode]
    if not v.images:
        return "none" if v.images_mode == "none" else f"{where}: none"
    return f"{where}: {len(v.images)} ({_images_line(v.images)})"


@variant.command("edit")
@click.argument("variant_id")
@click.option("--text", help="New custom text ('' goes back to the post's text; - reads stdin).")
@click.option("--account", "account_ref", help="Publish through another account of the brand.")
@click.option(
    "--images",
    "images_mode",
    type=click.Choice(["inherit", "none"]),
    help="inherit: the post's images; none: text only.",
)
@click.option(
    "--image",
    "image_paths",
    multiple=True,
    metavar="PATH",
    help="Its own images instead of the post's (repeat, in order).",
)
@click.option("--alt", "alts", multiple=True, metavar="TEXT", help="Alt text of each --image.")
@json_option
@pass_app
def variant_edit(
    app: App,
    variant_id: str,
    text: str | None,
    account_ref: str | None,
    images_mode: str | None,
    image_paths: tuple[str, ...],
    alts: tuple[str, ...],
    as_json: bool,
) -> None:
    """Change a variant's text, account or images (before it goes out)."""
    from omnipost_tui.services.media import set_variant_images
    from omnipost_tui.services.variants import UNSET, update_variant

    if images_mode is not None and image_paths:
        raise ValidationError("give --images or --image, not both")
    own = _image_inputs(image_paths, alts)  # first: an --alt without its --image says so
    if text is None and account_ref is None and images_mode is None and not image_paths:
        raise ValidationError("nothing to change; give --text, --account, --images or --image")
    if images_mode is not None or own:
        if text is not None or account_ref is not None:
            # Two changes would be two transactions: one could land without the other.
            raise ValidationError("change the images on their own, then --text or --account")
        updated = set_variant_images(app.ctx, variant_id, images_mode or "own", own)
    else:
        updated = update_variant(
            app.ctx,
            variant_id,
            custom_text=text_arg(text) if text is not None else UNSET,
            account=account_ref if account_ref is not None else UNSET,
        )
    if as_json:
        echo_json(variant_json(updated, app.settings.tz))
    else:
        click.echo(f"variant {updated.id} saved")


@variant.command("reschedule")
@click.argument("variant_id")
@click.argument("when")
@json_option
@pass_app
def variant_reschedule(app: App, variant_id: str, when: str, as_json: bool) -> None:
    """Schedule a variant (draft, scheduled, retrying or failed) for WHEN."""
    from omnipost_tui.services.variants import schedule_variant

    updated = schedule_variant(app.ctx, variant_id, app.when(when))
    if as_json:
        echo_json(variant_json(updated, app.settings.tz))
    else:
        click.echo(f"variant {updated.id} scheduled for {app.show(updated.scheduled_at)}")


@variant.command("unschedule")
@click.argument("variant_id")
@json_option
@pass_app
def variant_unschedule(app: App, variant_id: str, as_json: bool) -> None:
    """Move a variant back to draft (it keeps its planned time)."""
    from omnipost_tui.services.variants import unschedule_variant

    updated = unschedule_variant(app.ctx, variant_id)
    if as_json:
        echo_json(variant_json(updated, app.settings.tz))
    else:
        click.echo(f"variant {updated.id} is a draft again")


@variant.command("mark-published")
@click.argument("variant_id")
@click.option("--external-id", help="The platform's post id, if you have it.")
@json_option
@pass_app
def variant_mark_published(
    app: App, variant_id: str, external_id: str | None, as_json: bool
) -> None:
    """You checked the page and the post is there: record it as published."""
    from omnipost_tui.services.variants import mark_published

    updated = mark_published(app.ctx, variant_id, external_id)
    if as_json:
        echo_json(variant_json(updated, app.settings.tz))
    else:
        click.echo(f"variant {updated.id} marked published")


@variant.command("check")
@click.argument("variant_id")
@json_option
@pass_app
def variant_check(app: App, variant_id: str, as_json: bool) -> None:
    """Ask the platform now whether an unconfirmed variant's post is there.

    The same read-back the worker does by itself: listed with the text that was sent, the
    variant is published with its id; not listed, it is asked again after read_back_settle
    seconds (absent twice: sent again); the platform cannot be asked: it stays unconfirmed, with
    the reason. Exits 0 once the platform answered, whatever it said; non-zero when the variant
    cannot be checked.
    """
    from omnipost_tui.services.readback import check
    from omnipost_tui.services.variants import get_variant

    verdict = check(app.ctx, variant_id)
    if as_json:
        data = variant_json(get_variant(app.ctx, verdict.variant_id), app.settings.tz)
        echo_json({"read_back": verdict.outcome, "message": verdict.message, "variant": data})
    else:
        click.echo(f"variant {verdict.variant_id} is {verdict.status}: {verdict.message}")
