"""Uploading a post's pictures ahead of time (engine/staging.py), in this process, against the
sandbox over real loopback HTTP: what is reused, what is uploaded again, what is deleted."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image

from omnipost_tui import clock
from omnipost_tui.config import load_settings
from omnipost_tui.engine.queue import open_queue
from omnipost_tui.engine.staging import discard_stale, stage_ahead
from omnipost_tui.services.context import Context, open_context
from omnipost_tui.services.media import ImageInput, attach_images, set_alt
from omnipost_tui.services.staging import staged_for
from omnipost_tui.services.variants import add_variant, unschedule_variant
from tests.conftest import make_world


@pytest.fixture
def live(home: Path, sandbox, monkeypatch: pytest.MonkeyPatch) -> Context:
    monkeypatch.setenv("OMNIPOST_QUEUE_URL", "memory://")
    monkeypatch.setenv("OMNIPOST_FACEBOOK_GRAPH_URL", sandbox.url)
    monkeypatch.setenv("OMNIPOST_LINKEDIN_API_URL", sandbox.url)
    context = open_context(load_settings(), open_queue=open_queue)
    yield context
    context.close()


def three_pictures(ctx: Context, post_id: int, folder: Path) -> None:
    images = []
    for n in range(3):
        path = folder / f"p{n}.png"
        Image.new("RGB", (30 + n, 20), (n * 80, 10, 10)).save(path)
        images.append(ImageInput(str(path), f"picture {n + 1}"))
    attach_images(ctx, post_id, images)


def states(sandbox, page: str) -> list[tuple[str, str]]:
    return sorted((m.alt, m.state) for m in sandbox.media() if m.account == page)


def test_staging_twice_uploads_once(live, sandbox, tmp_path):
    world = make_world(live, page="page-stage")
    three_pictures(live, world.post_id, tmp_path)
    variant = add_variant(
        live, post=world.post_id, account=world.facebook_id, at=clock.now() + timedelta(minutes=3)
    ).id

    assert stage_ahead(live, variant) == 3
    assert stage_ahead(live, variant) == 3  # the second run reuses what the first uploaded
    assert len(sandbox.media()) == 3
    assert states(sandbox, "page-stage") == [(f"picture {n}", "staged") for n in (1, 2, 3)]


def test_new_alt_text_is_a_new_upload_and_the_old_photo_is_deleted(live, sandbox, tmp_path):
    world = make_world(live, page="page-alt")
    three_pictures(live, world.post_id, tmp_path)
    variant = add_variant(
        live, post=world.post_id, account=world.facebook_id, at=clock.now() + timedelta(minutes=3)
    ).id
    stage_ahead(live, variant)

    set_alt(live, world.post_id, 2, "the second picture, described better")
    assert stage_ahead(live, variant) == 3

    assert states(sandbox, "page-alt") == [
        ("picture 1", "staged"),
        ("picture 2", "deleted"),
        ("picture 3", "staged"),
        ("the second picture, described better", "staged"),
    ]
    assert len(staged_for(live, variant, world.facebook_id)) == 3


def test_an_unscheduled_variants_photos_are_deleted_and_forgotten(live, sandbox, tmp_path):
    world = make_world(live, page="page-drop")
    three_pictures(live, world.post_id, tmp_path)
    variant = add_variant(
        live, post=world.post_id, account=world.facebook_id, at=clock.now() + timedelta(minutes=3)
    ).id
    stage_ahead(live, variant)

    unschedule_variant(live, variant)
    assert discard_stale(live) == 3

    assert [state for _, state in states(sandbox, "page-drop")] == ["deleted"] * 3
    assert staged_for(live, variant, world.facebook_id) == {}
    assert discard_stale(live) == 0
