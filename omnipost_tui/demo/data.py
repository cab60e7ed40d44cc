"""A realistic, deterministic data set: two brands, four accounts (five in the live demo,
which adds a page that refuses every post), a month of posts in every status, with the
attempts that got them there.

Used by the screenshots, the TUI's snapshot tests and ``omnipost demo``. Everything is written
through the service layer, replaying history on a stand-in clock, so the rows look exactly like
the ones a real worker leaves behind.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from omnipost_tui import clock
from omnipost_tui.files import make_private_dir
from omnipost_tui.models import FAIL, SUCCESS
from omnipost_tui.services import publishing
from omnipost_tui.services.accounts import add_account, mark_account_expired
from omnipost_tui.services.brands import add_brand
from omnipost_tui.services.context import Context
from omnipost_tui.services.media import ImageInput
from omnipost_tui.services.posts import add_post
from omnipost_tui.services.publishing import AttemptRecord
from omnipost_tui.services.retry import Outcome
from omnipost_tui.services.variants import add_variant
from omnipost_tui.states import FAILED, PUBLISHED, RETRYING, UNCONFIRMED
from omnipost_tui.times import format_seconds

DEMO_TOKEN = "demo-token-not-a-real-secret"


class _ReplayClock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at

    def sleep(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)


@dataclass
class DemoData:
    brands: dict[str, int] = field(default_factory=dict)
    accounts: dict[str, int] = field(default_factory=dict)
    posts: dict[str, int] = field(default_factory=dict)
    variants: dict[str, int] = field(default_factory=dict)


# Account external ids double as sandbox behaviours (omnipost_tui.sandbox): "ratelimit" is
# refused once, "expired" always answers with an expired token, "duplicate" is refused for good.
ACCOUNTS = (
    ("acme-fb", "Acme Coffee", "facebook", "acme-coffee-page", "Acme Coffee"),
    ("acme-li", "Acme Coffee", "linkedin", "urn:li:organization:2001", "Acme Coffee Co."),
    ("north-fb", "Northwind", "facebook", "northwind-ratelimit", "Northwind Outdoors"),
    ("north-li", "Northwind", "linkedin", "urn:li:organization:expired", "Northwind Careers"),
)

POSTS = (
    (
        "launch",
        "Acme Coffee",
        "Winter blend launch",
        "Our winter blend is here: dark chocolate, orange peel and a hint of clove. "
        "In every shop from today.",
        "https://acme.example/winter",
    ),
    (
        "tasting",
        "Acme Coffee",
        "Tasting evening",
        "Join our baristas for a free tasting evening on Thursday, 18:00. Bring a friend!",
        None,
    ),
    (
        "hiring",
        "Acme Coffee",
        "We are hiring",
        "We are hiring baristas in Berlin and Hamburg. Full training, fair pay, free coffee.",
        "https://acme.example/jobs",
    ),
    (
        "gear",
        "Northwind",
        "Winter gear guide",
        "Ten pieces of kit for winter hikes, tested on the trail by our team.",
        "https://northwind.example/guide",
    ),
    (
        "sale",
        "Northwind",
        "Year-end sale",
        "Year-end sale: 20% off all tents until 31 December.",
        None,
    ),
    (
        "careers",
        "Northwind",
        "Trail guides wanted",
        "Northwind is looking for trail guides for the 2027 season. Apply by 15 January.",
        None,
    ),
    (
        "flash",
        "Acme Coffee",
        "Flash sale",
        "Flash sale: two coffees for the price of one, today until 14:00 (yes, really).",
        None,
    ),
    (
        "storm",
        "Northwind",
        "Storm warning",
        "Storm warning for the weekend: trails above 1,500 m are closed. Stay safe out there.",
        None,
    ),
)

# What ``omnipost demo`` schedules for the next minutes (seconds from start): each account's
# sandbox behaviour makes one kind of outcome visible live.
LIVE = (
    ("live-ok-fb", "flash", "acme-fb", 6),  # published
    ("live-ok-li", "flash", "acme-li", 9),  # published
    ("live-ratelimit", "storm", "north-fb", 12),  # rate limited, retried, published
    ("live-expired", "storm", "north-li", 15),  # token expired: failed, account expired
    ("live-duplicate", "flash", "acme-events", 18),  # refused for good: failed
    ("live-photos-fb", "photos", "acme-fb", 21),  # three pictures, then the post
    ("live-photos-li", "photos", "acme-li", 24),
    ("live-later-fb", "hiring", "acme-fb", 60),
    ("live-later-li", "hiring", "acme-li", 120),
)


def seed_demo(ctx: Context, now: datetime | None = None, *, live: bool = False) -> DemoData:
    """Fill an empty database with the demo data, as seen at ``now``.

    ``live`` (``omnipost demo``) also schedules variants for the next minutes, and leaves the
    account with an expired token connected so the live run discovers it.
    """
    started = now or clock.now()
    now = started.astimezone(UTC).replace(second=0, microsecond=0)
    data = DemoData()
    previous = clock.installed()  # restored below: seeding must not change the caller's time
    replay = _ReplayClock(now - timedelta(days=30))
    clock.install(replay)
    try:
        for brand in ("Acme Coffee", "Northwind"):
            data.brands[brand] = add_brand(ctx, brand).id
        for key, brand, platform, external, name in ACCOUNTS:
            expires = now + timedelta(days=5) if key == "acme-li" else now + timedelta(days=55)
            data.accounts[key] = add_account(
                ctx,
                brand=data.brands[brand],
                platform=platform,
                external_id=external,
                name=name,
                access_token=DEMO_TOKEN,
                token_expires_at=expires,
            ).id
        for key, brand, title, text, link in POSTS:
            data.posts[key] = add_post(
                ctx, brand=data.brands[brand], title=title, text=text, link=link
            ).id
        _history(ctx, data, now, replay, live=live)
    finally:
        clock.install(previous)
    if live:
        schedule_live(ctx, data, started)
    return data


# A page the sandbox refuses every post for (a permanent error), only in the live demo.
LIVE_ACCOUNT = ("acme-events", "Acme Coffee", "facebook", "acme-events-duplicate", "Acme Events")


def schedule_live(ctx: Context, data: DemoData, start: datetime) -> None:
    """The variants ``omnipost demo`` shows going out, due a few seconds after ``start``."""
    if LIVE_ACCOUNT[0] not in data.accounts:
        key, brand, platform, external, name = LIVE_ACCOUNT
        data.accounts[key] = add_account(
            ctx,
            brand=data.brands[brand],
            platform=platform,
            external_id=external,
            name=name,
            access_token=DEMO_TOKEN,
            token_expires_at=start + timedelta(days=55),
        ).id
    if PHOTO_POST[0] not in data.posts:
        key, brand, title, text, captions = PHOTO_POST
        folder = ctx.settings.paths.data_dir / "demo-pictures"
        data.posts[key] = add_post(
            ctx,
            brand=data.brands[brand],
            title=title,
            text=text,
            images=[
                ImageInput(str(path), alt)
                for path, alt in zip(demo_pictures(folder), captions, strict=True)
            ],
        ).id
    for key, post, account, seconds in LIVE:
        data.variants[key] = add_variant(
            ctx,
            post=data.posts[post],
            account=data.accounts[account],
            at=start + timedelta(seconds=seconds),
        ).id


# A post with pictures (made at run time), published live on Facebook and LinkedIn.
PHOTO_POST = (
    "photos",
    "Acme Coffee",
    "Roastery open day",
    "Open day at the roastery on Saturday: see the beans, smell the roast, taste the result.",
    (
        "Green coffee beans in a sack",
        "The roaster drum, glowing orange",
        "A cup of black coffee on a wooden table",
    ),
)
_PICTURE_COLOURS = ((86, 125, 70), (196, 98, 45), (62, 39, 35))


def demo_pictures(folder: Path) -> list[Path]:
    """Three small PNGs (a gradient each), written to ``folder``: the demo's own pictures."""
    from PIL import Image  # only the demo and image checks need Pillow

    make_private_dir(folder)
    paths = []
    for number, (red, green, blue) in enumerate(_PICTURE_COLOURS, start=1):
        picture = Image.new("RGB", (320, 200))
        picture.putdata(
            [
                (min(255, red + x // 4), min(255, green + y // 4), blue)
                for y in range(200)
                for x in range(320)
            ]
        )
        path = folder / f"roastery-{number}.png"
        picture.save(path)
        paths.append(path)
    return paths


def _history(
    ctx: Context, data: DemoData, now: datetime, replay: _ReplayClock, *, live: bool
) -> None:
    """Past variants replayed through claim → send → outcome; future ones simply scheduled."""
    day = timedelta(days=1)
    past = [
        # (key, post, account, when, outcome, external id / error)
        ("launch-fb", "launch", "acme-fb", now - 6 * day, PUBLISHED, "acme-coffee-page_801"),
        ("launch-li", "launch", "acme-li", now - 6 * day, PUBLISHED, "urn:li:share:7001"),
        (
            "gear-fb",
            "gear",
            "north-fb",
            now - 4 * day + timedelta(hours=2),
            PUBLISHED,
            "northwind-ratelimit_802",
        ),
        (
            "tasting-fb",
            "tasting",
            "acme-fb",
            now - 2 * day,
            FAILED,
            "Facebook error 506: Duplicate status message",
        ),
        (
            "careers-li",
            "careers",
            "north-li",
            now - day,
            FAILED,
            "LinkedIn error 401 REVOKED_ACCESS_TOKEN: The token used in the request has been "
            "revoked by the user",
        ),
        (
            "sale-fb",
            "sale",
            "north-fb",
            now - timedelta(hours=3),
            UNCONFIRMED,
            f"Facebook did not answer within {format_seconds(30)}",
        ),
        (
            "tasting-li",
            "tasting",
            "acme-li",
            now - timedelta(minutes=4),
            RETRYING,
            "LinkedIn error 429 TOO_MANY_REQUESTS: Resource level throttle limit reached",
        ),
    ]
    if live:
        # The live run finds out about this account's token by itself.
        past = [row for row in past if row[2] != "north-li"]
    for key, post, account, when, outcome, detail in past:
        replay.at = when - timedelta(minutes=5)
        variant = add_variant(ctx, post=data.posts[post], account=data.accounts[account], at=when)
        data.variants[key] = variant.id
        replay.at = when
        _replay_attempt(ctx, variant.id, outcome, detail, when)
    if not live:
        mark_account_expired(ctx, data.accounts["north-li"])

    replay.at = now
    future = [
        ("hiring-fb", "hiring", "acme-fb", now + timedelta(hours=2)),
        ("hiring-li", "hiring", "acme-li", now + timedelta(hours=2, minutes=15)),
        ("sale-again", "sale", "north-fb", now + day + timedelta(hours=1)),
        ("gear-again", "gear", "north-fb", now + 3 * day),
        ("launch-again", "launch", "acme-fb", now + 8 * day),
    ]
    for key, post, account, when in future:
        variant = add_variant(ctx, post=data.posts[post], account=data.accounts[account], at=when)
        data.variants[key] = variant.id
    draft = add_variant(
        ctx,
        post=data.posts["careers"],
        account=data.accounts["north-fb"],
        custom_text="Trail guides wanted for 2027 — apply by 15 January!",
        draft=True,
    )
    data.variants["careers-draft"] = draft.id


def _replay_attempt(ctx: Context, variant_id: int, outcome: str, detail: str, when: datetime):
    claim = publishing.claim_variant(ctx, variant_id, when, "demo-worker")
    assert claim is not None
    publishing.mark_sending(ctx, claim, when)
    finished = when + timedelta(seconds=1)
    summary = json.dumps({"method": "POST", "body": {"access_token": "[REDACTED]"}})
    if outcome == PUBLISHED:
        record = AttemptRecord(
            result=SUCCESS,
            http_status=200,
            external_post_id=detail,
            request_summary=summary,
            raw_response=json.dumps({"id": detail}),
        )
        result = Outcome(status=PUBLISHED)
    elif outcome == UNCONFIRMED:
        record = AttemptRecord(
            result=FAIL, error_class="transient", error_message=detail, request_summary=summary
        )
        result = Outcome(status=UNCONFIRMED, last_error=detail)
    else:
        status = 429 if outcome == RETRYING else 401 if "401" in detail else 400
        # The code the connectors record: Facebook's Graph code, LinkedIn's own name for it.
        said = re.search(r"Facebook error (\d+)|LinkedIn error \d+ (\w+)", detail)
        code = next(group for group in said.groups() if group) if said else str(status)
        record = AttemptRecord(
            result=FAIL,
            http_status=status,
            error_code=code,
            error_message=detail,
            error_class="rate_limited" if outcome == RETRYING else "permanent",
            request_summary=summary,
            raw_response=json.dumps({"message": detail}),
        )
        result = Outcome(
            status=outcome,
            last_error=detail,
            next_attempt_at=finished + timedelta(minutes=5) if outcome == RETRYING else None,
        )
    publishing.complete_attempt(ctx, claim, record, result, finished)
