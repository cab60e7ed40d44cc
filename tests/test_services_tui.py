"""Service-layer additions made for the TUI screens (attempts paging, account removal)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from omnipost_tui.errors import NotFound, ValidationError
from omnipost_tui.models import PublicationAttempt
from omnipost_tui.services.accounts import (
    AccountHasScheduledVariants,
    get_account,
    remove_account,
)
from omnipost_tui.services.attempts import count_attempts, list_attempts
from omnipost_tui.services.context import Context
from omnipost_tui.services.variants import add_variant
from tests.conftest import T0, World


def add_attempts(ctx: Context, variant_id: int, results: list[str | None]) -> list[int]:
    """Attempt rows as a worker leaves them (only what paging looks at matters here)."""
    ids = []
    with ctx.db.write() as session:
        for number, result in enumerate(results, start=1):
            attempt = PublicationAttempt(
                variant_id=variant_id,
                attempt_no=number,
                started_at=T0 + timedelta(seconds=number),
                finished_at=None if result is None else T0 + timedelta(seconds=number + 1),
                result=result,
            )
            session.add(attempt)
            session.flush()
            ids.append(attempt.id)
    return ids


@pytest.fixture
def variants(ctx: Context, world: World, fake_clock) -> tuple[int, int]:
    first = add_variant(ctx, post=world.post_id, account=world.facebook_id, at=T0 + timedelta(1))
    second = add_variant(ctx, post=world.post_id, account=world.linkedin_id, at=T0 + timedelta(1))
    return first.id, second.id


def test_attempts_page_backwards_from_a_row_still_newest_first(ctx, variants):
    ids = add_attempts(ctx, variants[0], ["fail"] * 10)
    newest_first = ids[::-1]
    assert [a.id for a in list_attempts(ctx, limit=3)] == newest_first[:3]
    assert [a.id for a in list_attempts(ctx, before_id=ids[5], limit=3)] == [ids[4], ids[3], ids[2]]
    # The page before the row ids[2]: the three attempts just newer than it, newest first.
    assert [a.id for a in list_attempts(ctx, after_id=ids[2], limit=3)] == [ids[5], ids[4], ids[3]]
    assert [a.id for a in list_attempts(ctx, after_id=ids[-2])] == [ids[-1]]
    assert list_attempts(ctx, after_id=ids[-1]) == []
    with pytest.raises(ValueError):
        list_attempts(ctx, before_id=ids[5], after_id=ids[1])


def test_count_attempts_by_filter_and_position(ctx, variants):
    first = add_attempts(ctx, variants[0], ["fail", "fail", "success"])
    second = add_attempts(ctx, variants[1], ["interrupted", None])
    assert count_attempts(ctx) == 5
    assert count_attempts(ctx, variant=variants[0]) == 3
    assert count_attempts(ctx, result="fail") == 2
    assert count_attempts(ctx, result="pending") == 1
    assert count_attempts(ctx, variant=variants[1], result="interrupted") == 1
    # How many sort before a row (newest first): its offset in the list.
    assert count_attempts(ctx, newer_than=first[-1]) == len(second)
    assert count_attempts(ctx, variant=variants[0], newer_than=first[0]) == 2
    with pytest.raises(ValidationError):
        count_attempts(ctx, result="exploded")
    with pytest.raises(NotFound):
        count_attempts(ctx, variant=999)


def test_filtered_paging_never_mixes_in_other_rows(ctx, variants):
    add_attempts(ctx, variants[0], ["fail"] * 4)
    ids = add_attempts(ctx, variants[1], ["fail", "success", "fail", "fail"])
    page = list_attempts(ctx, variant=variants[1], result="fail", after_id=ids[0], limit=5)
    assert [a.id for a in page] == [ids[3], ids[2]]


def test_removing_an_account_with_scheduled_variants_says_which(ctx, world, variants):
    with pytest.raises(AccountHasScheduledVariants) as refused:
        remove_account(ctx, world.facebook_id)
    assert refused.value.variant_ids == [variants[0]]
    assert isinstance(refused.value, ValidationError)  # the CLI prints it like any other
    assert get_account(ctx, world.facebook_id).status == "connected"
    assert remove_account(ctx, world.facebook_id, unschedule=True).status == "revoked"
