"""Variant statuses through the service layer (DESIGN.md, "Variant states").

Every user action either moves a variant along an edge of the diagram or is refused with
InvalidTransition and leaves the variant exactly as it was.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from omnipost_tui import states
from omnipost_tui.connectors.errors import Transient
from omnipost_tui.errors import InvalidTransition, ValidationError
from omnipost_tui.models import FAIL, SUCCESS, ConnectedSocialAccount, PostVariant
from omnipost_tui.services import variants as variants_module
from omnipost_tui.services.accounts import (
    add_account,
    get_account,
    mark_account_expired,
    reconnect_account,
    remove_account,
)
from omnipost_tui.services.brands import add_brand
from omnipost_tui.services.context import Context
from omnipost_tui.services.posts import add_post, get_post, update_post
from omnipost_tui.services.publishing import (
    AttemptRecord,
    claim_variant,
    complete_attempt,
    fail_missed,
    mark_sending,
    recover_stuck,
)
from omnipost_tui.services.retry import Outcome, after_error
from omnipost_tui.services.transitions import move_variants
from omnipost_tui.services.variants import (
    Cursor,
    VariantFilter,
    add_variant,
    get_variant,
    list_variants,
    mark_published,
    publish_now,
    retry_variants,
    schedule_variant,
    unschedule_variant,
    update_variant,
)
from omnipost_tui.states import (
    DRAFT,
    FAILED,
    PUBLISHED,
    PUBLISHING,
    RETRYING,
    SCHEDULED,
    UNCONFIRMED,
    due_time,
)
from omnipost_tui.times import parse_until, parse_when
from tests.conftest import T0, FakeClock, World

STATUSES = (DRAFT, SCHEDULED, PUBLISHING, RETRYING, PUBLISHED, FAILED, UNCONFIRMED)
FB_LIMIT = 63_206
LI_LIMIT = 3_000
WORKER = "test-worker"


def make_variant(
    ctx: Context, world: World, clock: FakeClock, status: str, *, account: int | None = None
) -> int:
    """A variant in ``status``, reached the way the engine gets there (claim, send, complete)."""
    account = account or world.facebook_id
    if status == DRAFT:
        return add_variant(ctx, post=world.post_id, account=account, draft=True).id
    view = add_variant(
        ctx, post=world.post_id, account=account, at=clock.now() + timedelta(minutes=1)
    )
    if status == SCHEDULED:
        return view.id
    clock.advance(61)
    claim = claim_variant(ctx, view.id, clock.now(), WORKER)
    assert claim is not None
    if status == PUBLISHING:
        return view.id
    mark_sending(ctx, claim, clock.now())
    outcomes = {
        PUBLISHED: (AttemptRecord(SUCCESS, 200, external_post_id="104200_9"), Outcome(PUBLISHED)),
        RETRYING: (
            AttemptRecord(FAIL, 500, error_message="try later"),
            Outcome(RETRYING, next_attempt_at=clock.now() + timedelta(minutes=5), last_error="x"),
        ),
        FAILED: (
            AttemptRecord(FAIL, 400, error_message="Invalid parameter"),
            Outcome(FAILED, last_error="Facebook refused the post: Invalid parameter"),
        ),
        UNCONFIRMED: (
            AttemptRecord("interrupted", error_message="read timeout"),
            Outcome(UNCONFIRMED, last_error="no answer came back"),
        ),
    }
    record, outcome = outcomes[status]
    assert complete_attempt(ctx, claim, record, outcome, clock.now())
    assert get_variant(ctx, view.id).status == status
    return view.id


# --- the transition table -------------------------------------------------------------------

# action name -> (call, statuses it accepts, status it leads to or None for "unchanged")
Action = Callable[[Context, int, FakeClock], object]
ACTIONS: dict[str, tuple[Action, tuple[str, ...], str | None]] = {
    "schedule": (
        lambda ctx, vid, clock: schedule_variant(ctx, vid, clock.now() + timedelta(hours=2)),
        (DRAFT, SCHEDULED, RETRYING, FAILED),
        SCHEDULED,
    ),
    "unschedule": (
        lambda ctx, vid, clock: unschedule_variant(ctx, vid),
        (SCHEDULED, RETRYING, FAILED),
        DRAFT,
    ),
    "publish_now": (
        lambda ctx, vid, clock: publish_now(ctx, vid),
        (DRAFT, SCHEDULED, RETRYING, FAILED),
        SCHEDULED,
    ),
    "retry": (
        lambda ctx, vid, clock: retry_variants(ctx, [vid]),
        (FAILED, UNCONFIRMED),
        SCHEDULED,
    ),
    "mark_published": (
        lambda ctx, vid, clock: mark_published(ctx, vid, "104200_checked"),
        (FAILED, UNCONFIRMED),
        PUBLISHED,
    ),
    "update": (
        lambda ctx, vid, clock: update_variant(ctx, vid, custom_text="Edited text"),
        (DRAFT, SCHEDULED, RETRYING, FAILED),
        None,
    ),
}
CASES = [(action, status) for action in ACTIONS for status in STATUSES]


@pytest.mark.parametrize(("action", "status"), CASES, ids=[f"{a}-{s}" for a, s in CASES])
def test_transition(ctx, world, fake_clock, action, status):
    call, accepted, target = ACTIONS[action]
    variant_id = make_variant(ctx, world, fake_clock, status)
    before = get_variant(ctx, variant_id)
    fake_clock.advance(5)

    if status not in accepted:
        with pytest.raises(InvalidTransition) as info:
            call(ctx, variant_id, fake_clock)
        assert status in info.value.message
        # Refused means untouched: same status, same times, same everything.
        assert get_variant(ctx, variant_id) == before
        return

    call(ctx, variant_id, fake_clock)
    after = get_variant(ctx, variant_id)
    assert after.status == (target or status)
    assert after.updated_at == fake_clock.now()
    if action == "schedule":
        assert after.scheduled_at == fake_clock.now() + timedelta(hours=2)
        assert after.next_attempt_at is None and after.last_error is None
    elif action == "unschedule":
        assert after.scheduled_at == before.scheduled_at  # kept for rescheduling
        assert after.next_attempt_at is None
    elif action in ("publish_now", "retry"):
        # Due at once, and the planned time stays what the user planned (issue 8, item 10).
        assert after.scheduled_at == (before.scheduled_at or fake_clock.now())
        assert after.next_attempt_at == fake_clock.now()
        assert (
            due_time(after.status, after.scheduled_at, after.next_attempt_at)
            == after.next_attempt_at
        )
        assert after.last_error is None
    elif action == "mark_published":
        assert after.published_at == fake_clock.now()
        assert after.external_post_id == "104200_checked"
        assert after.last_error is None
    elif action == "update":
        assert after.custom_text == "Edited text"
        assert after.text == "Edited text"


# The actions above, by their name in the state machine: what it says must be what they do.
STATE_MACHINE_NAMES = {
    "schedule": "reschedule",
    "unschedule": "unschedule",
    "publish_now": "publish_now",
    "retry": "retry",
    "mark_published": "mark_published",
    "update": "edit",
}


@pytest.mark.parametrize("action", list(ACTIONS))
def test_the_state_machine_says_what_each_action_does(action):
    _, accepted, target = ACTIONS[action]
    rule = states.ACTIONS[STATE_MACHINE_NAMES[action]]
    assert set(rule.allowed) == set(accepted)
    assert rule.leads_to == target
    for status in STATUSES:
        assert rule.allows(status) == (status in accepted)
        refusal = rule.refusal(42, status)
        assert (refusal is None) == (status in accepted)
        if refusal is not None:
            assert refusal.startswith(f"variant 42 is {status}; only ")
    # Every status it leads to is reachable from every status it allows.
    if target is not None:
        assert all(s == target or states.can_move(s, target) for s in accepted)


def test_a_move_the_state_machine_does_not_have_is_refused_and_writes_nothing(
    ctx, world, fake_clock
):
    variant_id = make_variant(ctx, world, fake_clock, PUBLISHED)
    with ctx.db.write() as session, pytest.raises(AssertionError, match="no move from published"):
        move_variants(session, PostVariant.id == variant_id, sources=(PUBLISHED,), target=DRAFT)
    assert get_variant(ctx, variant_id).status == PUBLISHED


def _publishing(ctx, world, clock, *, sent: bool) -> tuple[int, object]:
    variant_id = make_variant(ctx, world, clock, SCHEDULED)
    clock.advance(61)
    claim = claim_variant(ctx, variant_id, clock.now(), WORKER)
    assert claim is not None
    if sent:
        assert mark_sending(ctx, claim, clock.now())
    return variant_id, claim


def _recovered(ctx, clock, variant_id: int) -> None:
    clock.advance(ctx.settings.publish_timeout + 1)
    assert [r.variant_id for r in recover_stuck(ctx, clock.now())] == [variant_id]


def _engine_claims(ctx, world, clock, status: str) -> int:
    variant_id = make_variant(ctx, world, clock, status)
    clock.advance(3600)
    assert claim_variant(ctx, variant_id, clock.now(), WORKER) is not None
    return variant_id


def _engine_misses(ctx, world, clock, status: str) -> int:
    variant_id = make_variant(ctx, world, clock, status)
    clock.advance(ctx.settings.max_lateness + 3600)
    assert fail_missed(ctx, clock.now()) == [variant_id]
    return variant_id


def _engine_completes(ctx, world, clock, status: str, *, late: bool = False) -> int:
    variant_id, claim = _publishing(ctx, world, clock, sent=True)
    if late:  # recovery called it unconfirmed before the answer could be written
        _recovered(ctx, clock, variant_id)
    record, outcome = {
        PUBLISHED: (AttemptRecord(SUCCESS, 200, external_post_id="104200_7"), Outcome(PUBLISHED)),
        RETRYING: (
            AttemptRecord(FAIL, 503),
            Outcome(RETRYING, next_attempt_at=clock.now() + timedelta(minutes=1)),
        ),
        FAILED: (AttemptRecord(FAIL, 400), Outcome(FAILED, last_error="refused")),
        UNCONFIRMED: (AttemptRecord("interrupted"), Outcome(UNCONFIRMED, last_error="lost")),
    }[status]
    assert complete_attempt(ctx, claim, record, outcome, clock.now())
    return variant_id


def _engine_recovers(ctx, world, clock, *, sent: bool, attempts_left: bool) -> int:
    if not attempts_left:
        ctx.settings = dataclasses.replace(ctx.settings, max_attempts=1)
    variant_id, _ = _publishing(ctx, world, clock, sent=sent)
    _recovered(ctx, clock, variant_id)
    return variant_id


# Every path on which the engine changes a status: (name, status before, how, status after).
ENGINE_PATHS = [
    (
        "claim a scheduled variant",
        SCHEDULED,
        lambda c, w, k: _engine_claims(c, w, k, SCHEDULED),
        PUBLISHING,
    ),
    ("claim a retry", RETRYING, lambda c, w, k: _engine_claims(c, w, k, RETRYING), PUBLISHING),
    ("missed", SCHEDULED, lambda c, w, k: _engine_misses(c, w, k, SCHEDULED), FAILED),
    ("a retry missed", RETRYING, lambda c, w, k: _engine_misses(c, w, k, RETRYING), FAILED),
    *[
        (f"answer: {s}", PUBLISHING, lambda c, w, k, s=s: _engine_completes(c, w, k, s), s)
        for s in (PUBLISHED, RETRYING, FAILED, UNCONFIRMED)
    ],
    *[
        (
            f"late answer: {s}",
            UNCONFIRMED,
            lambda c, w, k, s=s: _engine_completes(c, w, k, s, late=True),
            s,
        )
        for s in (PUBLISHED, RETRYING, FAILED)
    ],
    (
        "recovered before sending",
        PUBLISHING,
        lambda c, w, k: _engine_recovers(c, w, k, sent=False, attempts_left=True),
        RETRYING,
    ),
    (
        "recovered before sending the last attempt",
        PUBLISHING,
        lambda c, w, k: _engine_recovers(c, w, k, sent=False, attempts_left=False),
        FAILED,
    ),
    (
        "recovered after sending",
        PUBLISHING,
        lambda c, w, k: _engine_recovers(c, w, k, sent=True, attempts_left=True),
        UNCONFIRMED,
    ),
]


@pytest.mark.parametrize(
    ("source", "path", "target"),
    [(source, path, target) for _, source, path, target in ENGINE_PATHS],
    ids=[name for name, *_ in ENGINE_PATHS],
)
def test_every_move_the_engine_makes_is_in_the_state_machine(
    ctx, world, fake_clock, source, path, target
):
    variant_id = path(ctx, world, fake_clock)
    assert get_variant(ctx, variant_id).status == target
    assert states.can_move(source, target)
    assert any(m.by == "engine" and (m.source, m.target) == (source, target) for m in states.MOVES)


def test_the_state_machine_has_no_engine_move_the_engine_never_makes():
    made = {(source, target) for _, source, _, target in ENGINE_PATHS}
    listed = {(m.source, m.target) for m in states.MOVES if m.by == "engine"}
    assert listed == made


def test_mark_published_keeps_a_known_external_id_when_none_is_given(ctx, world, fake_clock):
    variant_id = make_variant(ctx, world, fake_clock, UNCONFIRMED)
    with ctx.db.write() as session:
        session.execute(
            update(PostVariant).where(PostVariant.id == variant_id).values(external_post_id="p_1")
        )
    assert mark_published(ctx, variant_id).external_post_id == "p_1"


def test_add_variant_scheduled_and_draft(ctx, world, fake_clock):
    at = T0 + timedelta(hours=3)
    scheduled = add_variant(ctx, post=world.post_id, account=world.facebook_id, at=at)
    assert scheduled.status == SCHEDULED
    assert scheduled.scheduled_at == at
    assert scheduled.platform == "facebook"
    assert scheduled.text == "We launch today (really)!"

    draft = add_variant(ctx, post=world.post_id, account="Acme LinkedIn", draft=True)
    assert draft.status == DRAFT
    assert draft.scheduled_at is None
    assert draft.platform == "linkedin"

    planned = add_variant(ctx, post=world.post_id, account=world.linkedin_id, at=at, draft=True)
    assert planned.status == DRAFT
    assert planned.scheduled_at == at

    with pytest.raises(ValidationError, match="--at"):
        add_variant(ctx, post=world.post_id, account=world.facebook_id)


def test_retry_all_retries_failed_but_not_unconfirmed(ctx, world, fake_clock):
    failed = [make_variant(ctx, world, fake_clock, FAILED) for _ in range(2)]
    unconfirmed = make_variant(ctx, world, fake_clock, UNCONFIRMED)
    scheduled = make_variant(ctx, world, fake_clock, SCHEDULED)
    before = get_variant(ctx, unconfirmed)

    result = retry_variants(ctx, None)

    assert sorted(v.id for v in result.retried) == sorted(failed)
    assert all(get_variant(ctx, vid).status == SCHEDULED for vid in failed)
    assert get_variant(ctx, unconfirmed) == before
    assert get_variant(ctx, scheduled).status == SCHEDULED
    # Named by id, the unconfirmed one is retried: the user has checked the page.
    assert [v.id for v in retry_variants(ctx, [unconfirmed]).retried] == [unconfirmed]
    assert get_variant(ctx, unconfirmed).status == SCHEDULED


def test_retry_by_ids_is_all_or_nothing(ctx, world, fake_clock):
    failed = make_variant(ctx, world, fake_clock, FAILED)
    published = make_variant(ctx, world, fake_clock, PUBLISHED)
    with pytest.raises(InvalidTransition):
        retry_variants(ctx, [failed, published])
    assert get_variant(ctx, failed).status == FAILED


def test_retry_gives_a_fresh_attempt_budget(ctx, world, fake_clock):
    variant_id = make_variant(ctx, world, fake_clock, FAILED)
    retry_variants(ctx, [variant_id])
    claim = claim_variant(ctx, variant_id, fake_clock.now(), WORKER)
    assert claim is not None
    assert claim.attempt_no == 2  # attempts are numbered on, never renumbered
    assert claim.attempt_in_round == 1  # but the retry policy starts again


def exhaust_attempts(ctx: Context, world: World, clock: FakeClock) -> int:
    """A variant that failed after using all its attempts on transient errors."""
    variant_id = make_variant(ctx, world, clock, SCHEDULED)
    for n in range(1, ctx.settings.max_attempts + 1):
        clock.advance(3600)
        claim = claim_variant(ctx, variant_id, clock.now(), WORKER)
        assert claim is not None and claim.attempt_in_round == n
        outcome = next_outcome_after_a_transient_error(ctx, claim, clock)
        complete_attempt(ctx, claim, AttemptRecord(FAIL, 503), outcome, clock.now())
    assert get_variant(ctx, variant_id).status == FAILED
    return variant_id


def next_outcome_after_a_transient_error(ctx: Context, claim, clock: FakeClock) -> Outcome:
    return after_error(
        Transient("Service Unavailable", http_status=503),
        attempt_in_round=claim.attempt_in_round,
        settings=ctx.settings,
        now=clock.now(),
        platform=claim.platform,
        variant_id=claim.variant_id,
        account_id=claim.account_id,
        account_name=claim.account_name,
    )


def claim_after_rescheduling(ctx: Context, variant_id: int, clock: FakeClock):
    schedule_variant(ctx, variant_id, clock.now() + timedelta(minutes=1))
    clock.advance(61)
    claim = claim_variant(ctx, variant_id, clock.now(), WORKER)
    assert claim is not None
    return claim


def test_rescheduling_a_failed_variant_gives_it_its_retries_back(ctx, world, fake_clock):
    variant_id = exhaust_attempts(ctx, world, fake_clock)
    claim = claim_after_rescheduling(ctx, variant_id, fake_clock)
    assert next_outcome_after_a_transient_error(ctx, claim, fake_clock).status == RETRYING


def test_a_failed_variant_rescheduled_via_draft_also_gets_its_retries_back(ctx, world, fake_clock):
    variant_id = exhaust_attempts(ctx, world, fake_clock)
    unschedule_variant(ctx, variant_id)
    claim = claim_after_rescheduling(ctx, variant_id, fake_clock)
    assert next_outcome_after_a_transient_error(ctx, claim, fake_clock).status == RETRYING


# --- compare-and-set ------------------------------------------------------------------------


def test_a_claimed_variant_cannot_be_unscheduled_and_the_worker_keeps_it(ctx, world, fake_clock):
    variant_id = make_variant(ctx, world, fake_clock, SCHEDULED)
    fake_clock.advance(61)
    claim = claim_variant(ctx, variant_id, fake_clock.now(), WORKER)
    assert claim is not None

    with pytest.raises(InvalidTransition, match="publishing"):
        unschedule_variant(ctx, variant_id)
    with pytest.raises(InvalidTransition):
        schedule_variant(ctx, variant_id, fake_clock.now() + timedelta(hours=1))
    assert get_variant(ctx, variant_id).status == PUBLISHING

    # The worker's claim is intact: it can still record the outcome.
    record = AttemptRecord(SUCCESS, 200, external_post_id="104200_1")
    assert complete_attempt(ctx, claim, record, Outcome(PUBLISHED), fake_clock.now())
    assert get_variant(ctx, variant_id).status == PUBLISHED


@pytest.mark.parametrize(
    "action",
    [
        lambda ctx, vid, now: unschedule_variant(ctx, vid),
        lambda ctx, vid, now: schedule_variant(ctx, vid, now + timedelta(hours=1)),
        lambda ctx, vid, now: publish_now(ctx, vid),
        lambda ctx, vid, now: update_variant(ctx, vid, custom_text="late edit"),
    ],
    ids=["unschedule", "reschedule", "publish_now", "update"],
)
def test_a_claim_landing_between_read_and_write_wins(ctx, world, fake_clock, monkeypatch, action):
    """The status check passed on a stale read; the UPDATE … WHERE status must still refuse."""
    variant_id = make_variant(ctx, world, fake_clock, SCHEDULED)
    original_load = variants_module._load

    def load_then_lose_the_race(session, ref):
        variant = original_load(session, ref)
        # A worker claims it right after we read it (the ORM object still says "scheduled").
        session.execute(
            update(PostVariant)
            .where(PostVariant.id == variant.id)
            .values(status=PUBLISHING, claim_token="other-worker")
            .execution_options(synchronize_session=False)
        )
        return variant

    monkeypatch.setattr(variants_module, "_load", load_then_lose_the_race)
    with pytest.raises(InvalidTransition, match="changed to publishing"):
        action(ctx, variant_id, fake_clock.now())


# --- editing ---------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [DRAFT, SCHEDULED])
def test_moving_a_variant_to_another_account(ctx, world, fake_clock, status):
    variant_id = make_variant(ctx, world, fake_clock, status)
    moved = update_variant(ctx, variant_id, account=world.linkedin_id)
    stored = get_variant(ctx, variant_id)
    assert (stored.account_id, stored.account_name, stored.platform) == (
        world.linkedin_id,
        "Acme LinkedIn",
        "linkedin",
    )
    assert moved == stored


def test_a_draft_cannot_be_moved_to_a_removed_account(ctx, world, fake_clock):
    old = add_account(
        ctx,
        brand=world.brand_id,
        platform="facebook",
        external_id="777",
        name="Old Page",
        access_token="tok-old",
    )
    remove_account(ctx, old.id)
    draft = make_variant(ctx, world, fake_clock, DRAFT)
    with pytest.raises(ValidationError, match="removed"):
        update_variant(ctx, draft, account=old.id)


# --- add_variant refusals -------------------------------------------------------------------


def variant_count(ctx: Context) -> int:
    return len(list_variants(ctx))


@pytest.mark.parametrize("offset", [timedelta(minutes=-1), timedelta(days=-1)])
def test_a_time_in_the_past_is_refused(ctx, world, fake_clock, offset):
    with pytest.raises(ValidationError, match="past"):
        add_variant(
            ctx, post=world.post_id, account=world.facebook_id, at=fake_clock.now() + offset
        )
    draft = make_variant(ctx, world, fake_clock, DRAFT)
    with pytest.raises(ValidationError, match="past"):
        schedule_variant(ctx, draft, fake_clock.now() + offset)
    assert variant_count(ctx) == 1
    assert get_variant(ctx, draft).status == DRAFT


def test_an_account_of_another_brand_is_refused(ctx, world, fake_clock):
    other = add_brand(ctx, "Globex")
    page = add_account(
        ctx,
        brand=other.id,
        platform="facebook",
        external_id="555",
        name="Globex Page",
        access_token="tok-globex",
    )
    at = fake_clock.now() + timedelta(hours=1)
    with pytest.raises(ValidationError, match="Globex"):
        add_variant(ctx, post=world.post_id, account=page.id, at=at)
    with pytest.raises(ValidationError, match="Globex"):
        add_variant(ctx, post=world.post_id, account=page.id, draft=True)
    draft = make_variant(ctx, world, fake_clock, DRAFT)
    with pytest.raises(ValidationError, match="another brand"):
        update_variant(ctx, draft, account=page.id)
    assert get_variant(ctx, draft).account_id == world.facebook_id
    assert variant_count(ctx) == 1


def test_a_platform_that_does_not_match_the_account_is_refused(ctx, world, fake_clock):
    at = fake_clock.now() + timedelta(hours=1)
    with pytest.raises(ValidationError, match="facebook account, not linkedin"):
        add_variant(ctx, post=world.post_id, account=world.facebook_id, platform="linkedin", at=at)
    with pytest.raises(ValidationError, match="unknown platform 'myspace'; use facebook or"):
        add_variant(ctx, post=world.post_id, account=world.facebook_id, platform="myspace", at=at)
    assert variant_count(ctx) == 0
    ok = add_variant(
        ctx, post=world.post_id, account=world.linkedin_id, platform=" LinkedIn ", at=at
    )
    assert ok.platform == "linkedin"


@pytest.mark.parametrize("custom", ["", "   ", "\n\t"])
def test_an_empty_custom_text_falls_back_to_the_post_text(ctx, world, fake_clock, custom):
    view = add_variant(
        ctx,
        post=world.post_id,
        account=world.facebook_id,
        custom_text=custom,
        at=fake_clock.now() + timedelta(hours=1),
    )
    assert view.custom_text is None
    assert view.text == "We launch today (really)!"


@pytest.mark.parametrize(
    ("account", "limit", "shown"),
    [("facebook_id", FB_LIMIT, "63,206"), ("linkedin_id", LI_LIMIT, "3,000")],
    ids=["facebook", "linkedin"],
)
def test_text_limits_exactly_at_the_limit_is_allowed(ctx, world, fake_clock, account, limit, shown):
    at = fake_clock.now() + timedelta(hours=1)
    account_id = getattr(world, account)
    with pytest.raises(ValidationError) as info:
        add_variant(
            ctx, post=world.post_id, account=account_id, custom_text="é" * (limit + 1), at=at
        )
    assert shown in info.value.message and "1 too many" in info.value.message
    assert variant_count(ctx) == 0

    ok = add_variant(ctx, post=world.post_id, account=account_id, custom_text="é" * limit, at=at)
    assert ok.status == SCHEDULED and len(ok.text) == limit

    # A draft may be too long while it is being written; it cannot be scheduled like that.
    draft = add_variant(
        ctx, post=world.post_id, account=account_id, custom_text="x" * (limit + 1), draft=True
    )
    with pytest.raises(ValidationError, match="too many"):
        schedule_variant(ctx, draft.id, at)
    with pytest.raises(ValidationError, match="too many"):
        publish_now(ctx, draft.id)
    assert get_variant(ctx, draft.id).status == DRAFT
    # Editing a scheduled variant over the limit is refused too.
    with pytest.raises(ValidationError, match="too many"):
        update_variant(ctx, ok.id, custom_text="x" * (limit + 1))
    assert get_variant(ctx, ok.id).text == "é" * limit


def test_linkedin_limit_does_not_apply_to_facebook(ctx, world, fake_clock):
    view = add_variant(
        ctx,
        post=world.post_id,
        account=world.facebook_id,
        custom_text="x" * (LI_LIMIT + 1),
        at=fake_clock.now() + timedelta(hours=1),
    )
    assert view.status == SCHEDULED
    # Moving it to the LinkedIn account would make it unpublishable.
    with pytest.raises(ValidationError, match="LinkedIn allows 3,000"):
        update_variant(ctx, view.id, account=world.linkedin_id)
    assert get_variant(ctx, view.id).platform == "facebook"


def test_an_expired_account_can_get_drafts_but_not_scheduled_posts(ctx, world, fake_clock):
    assert mark_account_expired(ctx, world.facebook_id)
    at = fake_clock.now() + timedelta(hours=1)
    with pytest.raises(ValidationError, match="expired; reconnect it first") as info:
        add_variant(ctx, post=world.post_id, account=world.facebook_id, at=at)
    assert f"omnipost account reconnect {world.facebook_id}" in info.value.message
    assert variant_count(ctx) == 0

    draft = add_variant(ctx, post=world.post_id, account=world.facebook_id, at=at, draft=True)
    assert draft.status == DRAFT
    with pytest.raises(ValidationError, match="expired"):
        schedule_variant(ctx, draft.id, at)
    with pytest.raises(ValidationError, match="expired"):
        publish_now(ctx, draft.id)
    assert get_variant(ctx, draft.id).status == DRAFT

    reconnect_account(ctx, world.facebook_id, access_token="EAAB-new-token")
    assert schedule_variant(ctx, draft.id, at).status == SCHEDULED


def test_a_failed_variant_on_an_expired_account_is_not_retried(ctx, world, fake_clock):
    variant_id = make_variant(ctx, world, fake_clock, FAILED)
    mark_account_expired(ctx, world.facebook_id)
    with pytest.raises(ValidationError, match="reconnect"):
        retry_variants(ctx, [variant_id])
    assert get_variant(ctx, variant_id).status == FAILED


# --- posts and accounts ---------------------------------------------------------------------


def test_editing_a_post_cannot_push_a_scheduled_linkedin_variant_over_its_limit(
    ctx, world, fake_clock
):
    at = fake_clock.now() + timedelta(hours=1)
    linkedin = add_variant(ctx, post=world.post_id, account=world.linkedin_id, at=at)
    add_variant(ctx, post=world.post_id, account=world.facebook_id, at=at)

    with pytest.raises(ValidationError) as info:
        update_post(ctx, world.post_id, text="y" * (LI_LIMIT + 1))
    assert f"variant {linkedin.id}" in info.value.message
    assert "3,000" in info.value.message
    # Nothing changed: not the post, not what the variant will publish.
    assert get_post(ctx, world.post_id).base_text == "We launch today (really)!"
    assert get_variant(ctx, linkedin.id).text == "We launch today (really)!"

    assert update_post(ctx, world.post_id, text="y" * LI_LIMIT).base_text == "y" * LI_LIMIT


def test_a_longer_post_text_is_fine_when_the_linkedin_variant_is_a_draft_or_has_its_own_text(
    ctx, world, fake_clock
):
    at = fake_clock.now() + timedelta(hours=1)
    add_variant(ctx, post=world.post_id, account=world.linkedin_id, draft=True)
    add_variant(
        ctx, post=world.post_id, account=world.linkedin_id, custom_text="Short for LinkedIn", at=at
    )
    long_text = "y" * (LI_LIMIT + 1)
    assert update_post(ctx, world.post_id, text=long_text).base_text == long_text


def raw_account(ctx: Context, account_id: int) -> ConnectedSocialAccount:
    with ctx.db.read() as session:
        return session.scalars(
            select(ConnectedSocialAccount).where(ConnectedSocialAccount.id == account_id)
        ).one()


def test_removing_an_account_with_scheduled_variants(ctx, world, fake_clock):
    reconnect_account(
        ctx, world.facebook_id, access_token="EAAB-token-2", refresh_token="refresh-secret"
    )
    scheduled = make_variant(ctx, world, fake_clock, SCHEDULED)
    retrying = make_variant(ctx, world, fake_clock, RETRYING)
    published = make_variant(ctx, world, fake_clock, PUBLISHED)
    linkedin = make_variant(ctx, world, fake_clock, SCHEDULED, account=world.linkedin_id)

    with pytest.raises(ValidationError) as info:
        remove_account(ctx, world.facebook_id)
    assert "--unschedule" in info.value.message
    assert str(scheduled) in info.value.message and str(retrying) in info.value.message
    assert get_account(ctx, world.facebook_id).status == "connected"
    assert get_variant(ctx, scheduled).status == SCHEDULED
    assert ctx.cipher.decrypt(raw_account(ctx, world.facebook_id).access_token_encrypted) == (
        "EAAB-token-2"
    )

    removed = remove_account(ctx, world.facebook_id, unschedule=True)
    assert removed.status == "revoked"
    assert get_variant(ctx, scheduled).status == DRAFT
    assert get_variant(ctx, retrying).status == DRAFT
    # History stays; other accounts are not touched.
    assert get_variant(ctx, published).status == PUBLISHED
    assert get_variant(ctx, linkedin).status == SCHEDULED
    # The tokens are gone from the database, not just hidden.
    row = raw_account(ctx, world.facebook_id)
    assert row.access_token_encrypted == ""
    assert row.refresh_token_encrypted is None
    # And nothing can be scheduled through it any more.
    with pytest.raises(ValidationError):
        schedule_variant(ctx, scheduled, fake_clock.now() + timedelta(hours=1))
    with pytest.raises(ValidationError, match="removed"):
        add_variant(ctx, post=world.post_id, account=world.facebook_id, draft=True)


def test_removing_an_account_without_pending_variants_needs_no_flag(ctx, world, fake_clock):
    make_variant(ctx, world, fake_clock, DRAFT)
    assert remove_account(ctx, world.linkedin_id).status == "revoked"
    assert raw_account(ctx, world.linkedin_id).access_token_encrypted == ""


def test_an_account_cannot_be_removed_while_publishing(ctx, world, fake_clock):
    variant_id = make_variant(ctx, world, fake_clock, PUBLISHING)
    with pytest.raises(ValidationError, match="publishing right now"):
        remove_account(ctx, world.facebook_id, unschedule=True)
    assert get_account(ctx, world.facebook_id).status == "connected"
    assert get_variant(ctx, variant_id).status == PUBLISHING


# --- listing --------------------------------------------------------------------------------


@pytest.fixture
def catalogue(ctx: Context, world: World, fake_clock: FakeClock) -> dict[str, object]:
    """25 variants over two brands, with equal times, drafts with and without a time."""
    globex = add_brand(ctx, "Globex")
    globex_page = add_account(
        ctx,
        brand=globex.id,
        platform="facebook",
        external_id="555",
        name="Globex Page",
        access_token="tok-globex",
    )
    globex_post = add_post(ctx, brand=globex.id, title="Hiring", text="Join the Globex team")
    sale = add_post(ctx, brand=world.brand_id, title="Spring SALE", text="Everything must go")
    day = T0 + timedelta(days=1)  # 3 December, 09:00 Berlin
    hours = [5, 1, 3, 1, 1, 7, 2, 3, 0, 26, 26, 4, 1, 50, 6, 2, 9, 30]
    ids: dict[str, list[int]] = {"acme": [], "globex": [], "linkedin": [], "sale": []}
    for n, hour in enumerate(hours):
        if n % 5 == 4:
            post, account, key = globex_post.id, globex_page.id, "globex"
        elif n % 3 == 0:
            post, account, key = world.post_id, world.linkedin_id, "linkedin"
        elif n % 4 == 1:
            post, account, key = sale.id, world.facebook_id, "sale"
        else:
            post, account, key = world.post_id, world.facebook_id, "acme"
        view = add_variant(ctx, post=post, account=account, at=day + timedelta(hours=hour))
        ids[key].append(view.id)
    drafts = [
        add_variant(ctx, post=world.post_id, account=world.facebook_id, draft=True).id
        for _ in range(4)
    ]
    planned = [
        add_variant(
            ctx,
            post=sale.id,
            account=world.facebook_id,
            draft=True,
            at=day + timedelta(hours=h),
            custom_text="Last chance: everything half price",
        ).id
        for h in (1, 3, 60)
    ]
    return {"ids": ids, "drafts": drafts, "planned": planned, "day": day, "globex": globex}


def expected_order(views):
    far = T0 + timedelta(days=10_000)
    return sorted(views, key=lambda v: (v.scheduled_at is None, v.scheduled_at or far, v.id))


def page_through(ctx: Context, flt: VariantFilter | None = None, limit: int = 7):
    pages, cursor = [], None
    while True:
        page = list_variants(ctx, flt, after=cursor, limit=limit)
        if not page:
            return pages
        pages.append(page)
        assert len(pages) <= 100, "pagination does not end"
        cursor = Cursor(page[-1].scheduled_at, page[-1].id)


def test_list_is_in_time_order_with_timeless_drafts_last(ctx, catalogue):
    everything = list_variants(ctx)
    assert len(everything) == 25
    assert [v.id for v in everything] == [v.id for v in expected_order(everything)]
    assert [v.id for v in everything[-4:]] == catalogue["drafts"]


def test_keyset_pagination_has_no_duplicates_or_gaps(ctx, catalogue):
    everything = list_variants(ctx)
    pages = page_through(ctx)
    assert [len(p) for p in pages] == [7, 7, 7, 4]
    paged = [v.id for page in pages for v in page]
    assert paged == [v.id for v in everything]
    assert len(set(paged)) == 25


def test_keyset_pagination_with_a_filter_and_odd_page_sizes(ctx, catalogue):
    flt = VariantFilter(brand="Acme")
    everything = list_variants(ctx, flt)
    assert len(everything) == 25 - len(catalogue["ids"]["globex"])
    for limit in (1, 2, 3, 7, 100):
        paged = [v.id for page in page_through(ctx, flt, limit=limit) for v in page]
        assert paged == [v.id for v in everything], limit


def test_search_finds_the_text_as_typed_percent_and_underscore_included(ctx, world, fake_clock):
    def variant_of(title: str, text: str) -> int:
        post = add_post(ctx, brand=world.brand_id, title=title, text=text)
        return add_variant(ctx, post=post.id, account=world.facebook_id, draft=True).id

    half = variant_of("Sale", "50% off today")
    visitors = variant_of("Milestone", "500 visitors")
    snake = variant_of("Code", "call load_posts first")
    plain = variant_of("Code too", "call loadXposts first")

    def found(search: str) -> set[int]:
        return {v.id for v in list_variants(ctx, VariantFilter(search=search))}

    assert found("50%") == {half}  # not "500 visitors": % is a percent sign here
    assert found("%") == {half}
    assert found("load_posts") == {snake}  # _ is an underscore, not any character
    assert found("loadxposts") == {plain}
    assert found("50") >= {half, visitors}


def test_filters(ctx, world, catalogue, fake_clock):
    ids = catalogue["ids"]

    def listed(**kwargs) -> set[int]:
        return {v.id for v in list_variants(ctx, VariantFilter(**kwargs))}

    drafts = set(catalogue["drafts"]) | set(catalogue["planned"])
    assert listed(statuses=(DRAFT,)) == drafts
    assert listed(statuses=(SCHEDULED,)) == {i for group in ids.values() for i in group}
    assert listed(statuses=(FAILED, UNCONFIRMED)) == set()
    assert listed(platforms=("linkedin",)) == set(ids["linkedin"])
    assert listed(brand="Globex") == set(ids["globex"])
    assert listed(brand=catalogue["globex"].id) == set(ids["globex"])
    assert listed(account=world.linkedin_id) == set(ids["linkedin"])
    assert listed(brand="Acme", platforms=("linkedin",), statuses=(SCHEDULED,)) == set(
        ids["linkedin"]
    )

    # Search: title, post text and the variant's own text, case-insensitively.
    assert listed(search="spring sale") == set(ids["sale"]) | set(catalogue["planned"])
    assert listed(search="half PRICE") == set(catalogue["planned"])
    assert listed(search="globex team") == set(ids["globex"])
    assert listed(search="no such words") == set()

    # Date range the way the CLI reads it: --from inclusive, --to a whole local day, inclusive.
    tz = ctx.settings.tz
    day = catalogue["day"]
    on_the_day = listed(
        date_from=parse_when("2026-12-03", tz, fake_clock.now()),
        date_to=parse_until("2026-12-03", tz, fake_clock.now()),
    )
    expected = {
        v.id
        for v in list_variants(ctx)
        if v.scheduled_at is not None and v.scheduled_at < day + timedelta(hours=15)
    }
    assert on_the_day == expected
    assert len(on_the_day) == 14 + 2  # 14 scheduled and 2 planned drafts before midnight
    # --from is inclusive, --to exclusive, to the second.
    exact = day + timedelta(hours=26)
    assert len(listed(date_from=exact, date_to=exact + timedelta(seconds=1))) == 2
    assert listed(date_from=exact, date_to=exact) == set()

    with pytest.raises(ValidationError, match="unknown status"):
        list_variants(ctx, VariantFilter(statuses=("sent",)))
    with pytest.raises(ValidationError, match="unknown platform"):
        list_variants(ctx, VariantFilter(platforms=("twitter",)))


def test_retry_all_skips_what_cannot_go_out_and_retries_the_rest(ctx, world, fake_clock):
    from omnipost_tui.services.accounts import mark_account_expired
    from omnipost_tui.services.publishing import fail_before_claim

    on_page = add_variant(
        ctx,
        post=world.post_id,
        account=world.facebook_id,
        at=fake_clock.now() + timedelta(minutes=5),
    )
    on_linkedin = add_variant(
        ctx,
        post=world.post_id,
        account=world.linkedin_id,
        at=fake_clock.now() + timedelta(minutes=5),
    )
    for variant in (on_page, on_linkedin):
        assert fail_before_claim(
            ctx, variant.id, "scheduled", variant.scheduled_at, "boom", fake_clock.now()
        )
    mark_account_expired(ctx, world.linkedin_id)

    result = retry_variants(ctx, None)
    assert [v.id for v in result.retried] == [on_page.id]
    assert [variant_id for variant_id, _ in result.skipped] == [on_linkedin.id]
    assert "reconnect" in result.skipped[0][1]
    assert get_variant(ctx, on_linkedin.id).status == "failed"
    # Named explicitly, the same variant refuses the whole command.
    with pytest.raises(ValidationError):
        retry_variants(ctx, [on_linkedin.id])
