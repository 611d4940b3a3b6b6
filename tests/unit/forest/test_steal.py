"""Stealing: the documented amount, once per thief, six thieves, half the ball, covers, cards."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

import pytest

from greenenergy.errors import Conflict, InvalidInput
from greenenergy.forest import (
    AlreadyCollected,
    AlreadyStolen,
    Ball,
    BallExpired,
    BallInvariantError,
    NothingLeft,
    NotRipe,
    OwnBall,
    Theft,
    TooManyThieves,
    collect,
    grant_item,
    steal,
    steal_pct,
    use_item,
)

RIPE_AT = datetime.fromisoformat("2026-11-21T07:00:00+08:00")
NOW = RIPE_AT + timedelta(hours=2)


def ripe_ball(energy_g: int = 100, ball_id: str = "b-1", stolen_g: int = 0) -> Ball:
    return Ball(
        ball_id=ball_id,
        user_id="victim",
        event_type="transit.bus",
        energy_g=energy_g,
        ripens_at=RIPE_AT,
        visible_at=RIPE_AT,
        expires_at=RIPE_AT + timedelta(hours=72),
        stolen_g=stolen_g,
    )


def run_thieves(ball: Ball, thief_ids, now=NOW, **effects):
    """Let each thief steal in turn; return the final ball and the thefts."""
    thefts: list[Theft] = []
    for thief in thief_ids:
        result = steal(ball, thefts, thief_id=thief, now=now, **effects)
        ball = result.ball
        thefts.append(result.theft)
    return ball, thefts


def test_amount_follows_the_documented_sha256_formula():
    digest = hashlib.sha256(b"b-1|thief|1").digest()
    pct = 5 + int.from_bytes(digest[:8], "big") % 11
    assert steal_pct("b-1", "thief", 1) == pct
    result = steal(ripe_ball(1000), [], thief_id="thief", now=NOW)
    assert result.stolen_g == 1000 * pct // 100
    assert result.reason == "stolen"
    assert result.ball.stolen_g == result.stolen_g
    assert result.ball.remaining_g == 1000 - result.stolen_g
    assert result.theft == Theft(
        "b-1", "victim", "thief", result.stolen_g, datetime.fromisoformat("2026-11-21T01:00:00+00:00")
    )


def test_percentages_stay_between_5_and_15():
    pcts = {steal_pct("b-1", f"t{i}", 1) for i in range(500)}
    assert pcts == set(range(5, 16))


def test_a_small_ball_still_yields_one_gram():
    assert steal(ripe_ball(4), [], thief_id="thief", now=NOW).stolen_g == 1


def test_thieves_together_take_at_most_half_and_then_nothing_is_left():
    # 10 g: each share floors to 1 g, half is 5 g: five thieves, then nothing_left.
    ball, thefts = run_thieves(ripe_ball(10), ["t1", "t2", "t3", "t4", "t5"])
    assert ball.stolen_g == 5 and [t.stolen_g for t in thefts] == [1, 1, 1, 1, 1]
    with pytest.raises(NothingLeft) as caught:
        steal(ball, thefts, thief_id="t6", now=NOW)
    assert caught.value.code == "nothing_left" and isinstance(caught.value, Conflict)


def test_a_one_gram_ball_cannot_be_stolen_from():
    with pytest.raises(NothingLeft):
        steal(ripe_ball(1), [], thief_id="t1", now=NOW)


def test_the_last_share_is_clipped_to_the_half_cap():
    earlier = [Theft("b-1", "victim", "other", 49, NOW)]
    result = steal(ripe_ball(100, stolen_g=49), earlier, thief_id="thief", now=NOW)
    assert result.stolen_g == 1 and result.ball.stolen_g == 50


def test_at_most_six_thieves_per_ball():
    earlier = [Theft("b-1", "victim", f"t{i}", 1, NOW) for i in range(6)]
    with pytest.raises(TooManyThieves) as caught:
        steal(ripe_ball(1000, stolen_g=6), earlier, thief_id="t7", now=NOW)
    assert caught.value.code == "too_many_thieves"


def test_six_real_thieves_then_the_seventh_is_refused():
    ball, thefts = run_thieves(ripe_ball(100_000), [f"t{i}" for i in range(6)])
    assert len({t.thief_id for t in thefts}) == 6
    with pytest.raises(TooManyThieves):
        steal(ball, thefts, thief_id="t7", now=NOW)


def test_each_thief_once_per_ball():
    ball, thefts = run_thieves(ripe_ball(1000), ["thief"])
    with pytest.raises(AlreadyStolen) as caught:
        steal(ball, thefts, thief_id="thief", now=NOW + timedelta(hours=1))
    assert caught.value.code == "already_stolen"


def test_a_double_collect_card_allows_a_second_steal_within_five_minutes_only():
    card = use_item(grant_item(item_id="i-1", user_id="thief", kind="double_collect_card", now=NOW), NOW)
    ball, thefts = run_thieves(ripe_ball(1000), ["thief", "thief"], thief_effects=[card])
    assert len(thefts) == 2 and ball.stolen_g == sum(t.stolen_g for t in thefts)
    assert thefts[1].stolen_g == 1000 * steal_pct("b-1", "thief", 2) // 100
    with pytest.raises(AlreadyStolen):
        steal(ball, thefts, thief_id="thief", now=NOW, thief_effects=[card])
    # Without the card's window, a first steal elsewhere is still once.
    ball, thefts = run_thieves(ripe_ball(1000, ball_id="b-2"), ["thief"])
    with pytest.raises(AlreadyStolen):
        steal(ball, thefts, thief_id="thief", now=NOW + timedelta(minutes=5), thief_effects=[card])


def test_another_users_card_does_not_help_the_thief():
    card = use_item(grant_item(item_id="i-1", user_id="someone", kind="double_collect_card", now=NOW), NOW)
    ball, thefts = run_thieves(ripe_ball(1000), ["thief"])
    with pytest.raises(AlreadyStolen):
        steal(ball, thefts, thief_id="thief", now=NOW, thief_effects=[card])


def test_a_cover_yields_zero_and_does_not_use_up_the_thiefs_chance():
    cover = use_item(grant_item(item_id="i-1", user_id="victim", kind="protection_cover", now=NOW), NOW)
    ball = ripe_ball(1000)
    blocked = steal(ball, [], thief_id="thief", now=NOW + timedelta(hours=23), victim_effects=[cover])
    assert (blocked.stolen_g, blocked.reason) == (0, "protected")
    assert blocked.ball == ball and blocked.theft.stolen_g == 0
    later = steal(ball, [blocked.theft], thief_id="thief", now=NOW + timedelta(hours=24), victim_effects=[cover])
    assert later.reason == "stolen" and later.stolen_g > 0


def test_protected_attempts_do_not_count_as_thieves():
    cover_attempts = [Theft("b-1", "victim", f"t{i}", 0, NOW) for i in range(6)]
    assert steal(ripe_ball(1000), cover_attempts, thief_id="t7", now=NOW).stolen_g > 0


def test_never_from_ones_own_ball():
    with pytest.raises(OwnBall) as caught:
        steal(ripe_ball(), [], thief_id="victim", now=NOW)
    assert caught.value.code == "own_ball" and isinstance(caught.value, InvalidInput)


def test_never_from_an_unripe_expired_or_collected_ball():
    ball = ripe_ball()
    with pytest.raises(NotRipe):
        steal(ball, [], thief_id="thief", now=RIPE_AT - timedelta(seconds=1))
    with pytest.raises(BallExpired):
        steal(ball, [], thief_id="thief", now=ball.expires_at)
    collected = collect(ball, NOW).ball
    with pytest.raises(AlreadyCollected):
        steal(collected, [], thief_id="thief", now=NOW)


def test_thefts_that_disagree_with_the_ball_are_refused():
    with pytest.raises(BallInvariantError):
        steal(ripe_ball(100, stolen_g=10), [Theft("b-1", "victim", "t1", 9, NOW)], thief_id="t2", now=NOW)
    with pytest.raises(BallInvariantError):
        steal(ripe_ball(100), [Theft("b-other", "victim", "t1", 0, NOW)], thief_id="t2", now=NOW)
