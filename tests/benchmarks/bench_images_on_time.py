"""Do posts with big pictures leave as close to their minute as text posts? Prints lateness.

Runs a real ``omnipost worker`` against the loopback sandbox. Schedules, at the same moments,
text posts and posts with five ~8 MB pictures on a Facebook Page and a LinkedIn organization,
due far enough ahead that the worker's sweep uploads the pictures early
(``stage_media_before``), and measures from ``scheduled_at`` to the moment the create call
reached the sandbox. With ``--no-stage-ahead`` the pictures are uploaded at the minute instead,
to show what staging saves. Takes about two minutes (the sweep runs once a minute).

    python tests/benchmarks/bench_images_on_time.py [--posts 4] [--images 5] [--megabytes 8]
        [--no-stage-ahead] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path


def noise_png(path: Path, megabytes: float, seed: int) -> Path:
    """A PNG of random pixels (it does not compress): about ``megabytes`` on disk."""
    import random

    from PIL import Image

    side = int((megabytes * 1_000_000 / 3) ** 0.5)
    rng = random.Random(seed)
    Image.frombytes("RGB", (side, side), rng.randbytes(side * side * 3)).save(path)
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=4, help="moments, each with all kinds")
    parser.add_argument("--images", type=int, default=5)
    parser.add_argument("--megabytes", type=float, default=8.0)
    parser.add_argument("--spacing", type=float, default=2.0, help="seconds between moments")
    parser.add_argument("--no-stage-ahead", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="omnipost-bench-images-"))
    os.environ["OMNIPOST_HOME"] = str(home)
    # Staged 90 s ahead, due 100 s from the worker's start: its first sweep (a minute after
    # it starts) uploads them. Without staging: a window shorter than any sweep sees.
    stage_before = 1 if args.no_stage_ahead else 90
    os.environ["OMNIPOST_STAGE_MEDIA_BEFORE"] = str(stage_before)
    from omnipost_tui.engine.queue import open_queue
    from omnipost_tui.sandbox import SandboxServer

    pictures = [noise_png(home / f"picture-{n}.png", args.megabytes, n) for n in range(args.images)]
    with SandboxServer() as sandbox:
        os.environ["OMNIPOST_FACEBOOK_GRAPH_URL"] = sandbox.url
        os.environ["OMNIPOST_LINKEDIN_API_URL"] = sandbox.url
        from omnipost_tui.config import load_settings
        from omnipost_tui.services.accounts import add_account
        from omnipost_tui.services.brands import add_brand
        from omnipost_tui.services.context import open_context
        from omnipost_tui.services.media import ImageInput
        from omnipost_tui.services.posts import add_post
        from omnipost_tui.services.variants import add_variant, get_variant

        ctx = open_context(load_settings(), open_queue=open_queue)
        brand = add_brand(ctx, "Bench").id
        accounts = {
            "facebook": add_account(
                ctx,
                brand=brand,
                platform="facebook",
                external_id="bench-page",
                name="Bench Page",
                access_token="bench-token-not-secret",
            ).id,
            "linkedin": add_account(
                ctx,
                brand=brand,
                platform="linkedin",
                external_id="urn:li:organization:4242",
                name="Bench LinkedIn",
                access_token="bench-token-not-secret",
            ).id,
        }
        text_post = add_post(ctx, brand=brand, title="Text", text="On time, in words?").id
        picture_post = add_post(
            ctx,
            brand=brand,
            title="Pictures",
            text="On time, in pictures?",
            images=[ImageInput(str(p), f"picture {n}") for n, p in enumerate(pictures, 1)],
        ).id

        worker = subprocess.Popen(
            [sys.executable, "-m", "omnipost_tui", "worker", "--workers", "4"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        kinds: dict[int, str] = {}
        try:
            start = datetime.now(UTC) + timedelta(seconds=100)
            for n in range(args.posts):
                at = start + timedelta(seconds=args.spacing * n)
                for platform, account in accounts.items():
                    for kind, post in (("text", text_post), ("pictures", picture_post)):
                        variant = add_variant(ctx, post=post, account=account, at=at).id
                        kinds[variant] = f"{platform} {kind}"
            deadline = time.monotonic() + 200 + args.spacing * args.posts
            while len(sandbox.posts) < len(kinds) and time.monotonic() < deadline:
                time.sleep(0.2)
        finally:
            worker.send_signal(signal.SIGINT)
            worker.wait(timeout=60)

        received = {p.external_post_id: p.received_at for p in sandbox.posts}
        lateness: dict[str, list[float]] = {}
        missing = early = 0
        for variant_id, kind in kinds.items():
            variant = get_variant(ctx, variant_id)
            if variant.external_post_id not in received:
                print(f"variant {variant_id} ({kind}) not published: {variant.status}")
                missing += 1
                continue
            delta = (received[variant.external_post_id] - variant.scheduled_at).total_seconds()
            early += delta < 0
            lateness.setdefault(kind, []).append(delta * 1000)
        ctx.close()

    staged = "no (uploaded at the minute)" if args.no_stage_ahead else f"yes ({stage_before} s)"
    print(
        f"{args.posts} moments; {args.images} pictures of ~{args.megabytes:g} MB each; "
        f"staged ahead: {staged}; {missing} missing, {early} early"
    )
    print("lateness ms (scheduled_at -> create call received)   median    max")
    figures = {}
    for kind in sorted(lateness):
        values = sorted(lateness[kind])
        figures[kind] = {"median_ms": statistics.median(values), "max_ms": values[-1]}
        print(f"  {kind:<48} {statistics.median(values):7.0f} {values[-1]:6.0f}")
    if args.json:
        args.json.write_text(json.dumps({"staged_ahead": not args.no_stage_ahead, **figures}))
    return 0 if not missing and not early else 1


if __name__ == "__main__":
    raise SystemExit(main())
