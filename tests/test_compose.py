"""The editor's service: check a whole post with its variants, save it all or nothing, and load
an existing post back into a plan that saves unchanged."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from omnipost_tui.services.accounts import add_account, mark_account_expired, remove_account
from omnipost_tui.services.brands import add_brand
from omnipost_tui.services.compose import (
    PlanInvalid,
    PostPlan,
    VariantPlan,
    check_plan,
    field_label,
    load_plan,
    load_post,
    save_plan,
)
from omnipost_tui.services.context import Context
from omnipost_tui.services.posts import get_post, list_posts
from omnipost_tui.services.variants import add_variant, get_variant, list_variants
from omnipost_tui.states import DRAFT, FAILED, PUBLISHED, PUBLISHING, RETRYING, SCHEDULED
from tests.conftest import FakeClock, World
from tests.test_state_machine import make_variant

LI_LIMIT = 3_000


def new_plan(world: World, clock: FakeClock, **changes) -> PostPlan:
    """A valid new post: Facebook in two hours, LinkedIn as a draft."""
    plan = PostPlan(
        brand=world.brand_id,
        title="Opening",
        text="We open on Friday.",
        link="https://acme.example/open",
        variants=(
            VariantPlan(world.facebook_id, at=clock.now() + timedelta(hours=2)),
            VariantPlan(world.linkedin_id, custom_text="We open on Friday! #coffee"),
        ),
    )
    return replace(plan, **changes)


def counts(ctx: Context) -> tuple[int, int]:
    return len(list_posts(ctx)), len(list_variants(ctx))


def test_a_valid_plan_saves_the_post_and_every_variant(ctx, world, fake_clock):
    plan = new_plan(world, fake_clock)
    assert check_plan(ctx, plan) == {}
    result = save_plan(ctx, plan)
    post = get_post(ctx, result.post.id)
    assert (post.title, post.base_text, post.link) == (
        "Opening",
        "We open on Friday.",
        "https://acme.example/open",
    )
    fb, li = (get_variant(ctx, v.id) for v in result.variants)
    assert (fb.status, fb.scheduled_at) == (SCHEDULED, fake_clock.now() + timedelta(hours=2))
    assert (li.status, li.scheduled_at, li.text) == (DRAFT, None, "We open on Friday! #coffee")


@pytest.mark.parametrize(
    ("changes", "key", "says"),
    [
        ({"title": "  "}, "title", "title must not be empty"),
        ({"text": ""}, "text", "text must not be empty"),
        ({"link": "acme.example"}, "link", "not an http(s) URL"),
        ({"brand": "Nobody"}, "brand", "no brand"),
    ],
)
def test_post_fields_are_checked(ctx, world, fake_clock, changes, key, says):
    problems = check_plan(ctx, new_plan(world, fake_clock, **changes))
    assert says in problems[key]


def test_variant_problems_are_keyed_by_row_and_nothing_is_written(ctx, world, fake_clock):
    now = fake_clock.now()
    plan = new_plan(
        world,
        fake_clock,
        text="x" * (LI_LIMIT + 1),
        variants=(
            VariantPlan(world.facebook_id, at=now - timedelta(minutes=1)),
            VariantPlan(world.linkedin_id, at=now + timedelta(hours=1)),
            VariantPlan(world.linkedin_id),
        ),
    )
    problems = check_plan(ctx, plan)
    assert "past" in problems["variant.0.at"]
    assert "variant.0.text" not in problems  # Facebook takes 3,001 characters
    assert "(1 too many)" in problems["variant.1.text"]
    assert "already in this post" in problems["variant.2.account"]
    before = counts(ctx)
    with pytest.raises(PlanInvalid) as raised:
        save_plan(ctx, plan)
    assert raised.value.problems == problems
    assert raised.value.message.startswith("variant 1 time: that time is in the past")
    assert raised.value.message.endswith("(and 2 more)")
    assert counts(ctx) == before


def test_field_labels_read_like_the_form():
    assert field_label("variant.0.at") == "variant 1 time"
    assert field_label("variant.3.text") == "variant 4 text"
    assert field_label("title") == "title"


def test_a_custom_text_is_what_gets_checked_against_the_limit(ctx, world, fake_clock):
    at = fake_clock.now() + timedelta(hours=1)
    long = "x" * (LI_LIMIT + 1)
    fits = new_plan(
        world, fake_clock, text=long, variants=(VariantPlan(world.linkedin_id, "ok", at),)
    )
    assert check_plan(ctx, fits) == {}
    too_long = new_plan(world, fake_clock, variants=(VariantPlan(world.linkedin_id, long, at),))
    assert "variant.0.text" in check_plan(ctx, too_long)


def test_an_account_of_another_brand_is_refused(ctx, world, fake_clock):
    other = add_brand(ctx, "Other")
    page = add_account(
        ctx,
        brand=other.id,
        platform="facebook",
        external_id="999",
        name="Other Page",
        access_token="t-123456789",
    )
    plan = new_plan(world, fake_clock, variants=(VariantPlan(page.id),))
    assert "belongs to brand 'Other'" in check_plan(ctx, plan)["variant.0.account"]


def test_an_expired_account_takes_drafts_only_and_says_so(ctx, world, fake_clock):
    mark_account_expired(ctx, world.linkedin_id)
    at = fake_clock.now() + timedelta(hours=1)
    scheduled = new_plan(world, fake_clock, variants=(VariantPlan(world.linkedin_id, at=at),))
    problem = check_plan(ctx, scheduled)["variant.0.account"]
    assert "expired" in problem and "reconnect" in problem and "draft" in problem
    draft = new_plan(world, fake_clock, variants=(VariantPlan(world.linkedin_id),))
    assert check_plan(ctx, draft) == {}


# --- editing an existing post ---------------------------------------------------------------


def test_load_post_splits_editable_and_locked_variants(ctx, world, fake_clock):
    published = make_variant(ctx, world, fake_clock, PUBLISHED)
    failed = make_variant(ctx, world, fake_clock, FAILED, account=world.linkedin_id)
    scheduled = make_variant(ctx, world, fake_clock, SCHEDULED)
    planned = fake_clock.now() + timedelta(days=1)
    draft = add_variant(
        ctx, post=world.post_id, account=world.linkedin_id, at=planned, draft=True
    ).id
    loaded = load_post(ctx, world.post_id)
    assert [v.id for v in loaded.editable] == [failed, scheduled, draft]
    assert [(lv.variant.id, lv.reason) for lv in loaded.locked] == [(published, PUBLISHED)]
    plan = loaded.plan
    assert (plan.post_id, plan.brand, plan.title) == (world.post_id, world.brand_id, "Launch")
    assert [v.variant_id for v in plan.variants] == [failed, scheduled, draft]
    # A draft's planned time is not put in the plan: saving must not schedule it.
    assert plan.variants[2].at is None
    assert load_plan(ctx, world.post_id) == plan


def test_saving_a_loaded_plan_unchanged_changes_no_status(ctx, world, fake_clock):
    failed = make_variant(ctx, world, fake_clock, FAILED)  # its time is in the past now
    retrying = make_variant(ctx, world, fake_clock, RETRYING, account=world.linkedin_id)
    scheduled = make_variant(ctx, world, fake_clock, SCHEDULED)
    mark_account_expired(ctx, world.facebook_id)  # kept as they are, so no new token needed
    before = {v: get_variant(ctx, v) for v in (failed, retrying, scheduled)}
    plan = replace(load_plan(ctx, world.post_id), title="Launch (edited)")
    assert check_plan(ctx, plan) == {}
    save_plan(ctx, plan)
    assert get_post(ctx, world.post_id).title == "Launch (edited)"
    for variant_id, old in before.items():
        new = get_variant(ctx, variant_id)
        assert (new.status, new.scheduled_at, new.next_attempt_at) == (
            old.status,
            old.scheduled_at,
            old.next_attempt_at,
        )


def test_a_new_time_reschedules_and_no_time_makes_a_draft(ctx, world, fake_clock):
    first = make_variant(ctx, world, fake_clock, SCHEDULED)
    second = make_variant(ctx, world, fake_clock, SCHEDULED, account=world.linkedin_id)
    plan = load_plan(ctx, world.post_id)
    later = fake_clock.now() + timedelta(days=2)
    plan = replace(
        plan,
        variants=(replace(plan.variants[0], at=later), replace(plan.variants[1], at=None)),
    )
    save_plan(ctx, plan)
    assert (get_variant(ctx, first).status, get_variant(ctx, first).scheduled_at) == (
        SCHEDULED,
        later,
    )
    assert get_variant(ctx, second).status == DRAFT


def test_a_failed_variant_given_a_past_time_again_is_refused(ctx, world, fake_clock):
    failed = make_variant(ctx, world, fake_clock, FAILED)
    plan = load_plan(ctx, world.post_id)
    old = get_variant(ctx, failed).scheduled_at
    moved = replace(plan, variants=(replace(plan.variants[0], at=old - timedelta(minutes=1)),))
    assert "past" in check_plan(ctx, moved)["variant.0.at"]


def test_variants_on_removed_accounts_are_locked(ctx, world, fake_clock):
    draft = make_variant(ctx, world, fake_clock, DRAFT, account=world.linkedin_id)
    remove_account(ctx, world.linkedin_id)
    loaded = load_post(ctx, world.post_id)
    assert loaded.editable == ()
    assert [(lv.variant.id, lv.reason) for lv in loaded.locked] == [(draft, "account removed")]
    assert check_plan(ctx, replace(loaded.plan, title="Still saves")) == {}


def test_a_variant_claimed_meanwhile_is_refused(ctx, world, fake_clock):
    variant = make_variant(ctx, world, fake_clock, SCHEDULED)
    plan = load_plan(ctx, world.post_id)
    fake_clock.advance(61)
    from omnipost_tui.services.publishing import claim_variant

    assert claim_variant(ctx, variant, fake_clock.now(), "w") is not None
    assert get_variant(ctx, variant).status == PUBLISHING
    problems = check_plan(ctx, plan)
    assert "can no longer be edited" in problems["variant.0.variant"]


def test_the_post_text_must_fit_scheduled_variants_the_plan_leaves_out(ctx, world, fake_clock):
    make_variant(ctx, world, fake_clock, SCHEDULED, account=world.linkedin_id)
    plan = replace(load_plan(ctx, world.post_id), variants=(), text="y" * (LI_LIMIT + 5))
    problem = check_plan(ctx, plan)["text"]
    assert "Acme LinkedIn" in problem and "(5 too many)" in problem
    with pytest.raises(PlanInvalid):
        save_plan(ctx, plan)
    assert get_post(ctx, world.post_id).base_text == "We launch today (really)!"


def test_a_post_cannot_move_to_another_brand(ctx, world, fake_clock):
    other = add_brand(ctx, "Other")
    plan = replace(load_plan(ctx, world.post_id), brand=other.id)
    assert "another brand" in check_plan(ctx, plan)["brand"]


def test_saving_a_post_whose_variant_was_published_now_queues_it_for_now(ctx, world, fake_clock):
    """The editor saves a variant that publish now made due at once (its plan is next week):
    it is queued for now, not left to its planned time."""
    from omnipost_tui.services.variants import publish_now

    result = save_plan(ctx, new_plan(world, fake_clock))
    facebook = result.variants[0].id
    publish_now(ctx, facebook)
    huey = ctx.queue.huey
    huey.flush()  # the publish-now message was lost (a queue restarted empty)

    save_plan(ctx, load_plan(ctx, result.post.id))

    assert huey.pending_count() == 1  # due now: queued at once
    assert get_variant(ctx, facebook).next_attempt_at == fake_clock.now()
