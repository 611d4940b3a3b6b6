"""Ball life: ripening at 07:00 local, visibility, the 72-hour edge, collect and expiry."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from greenenergy.errors import Conflict
from greenenergy.forest import (
    AlreadyCollected,
    Ball,
    BallClosed,
    BallExpired,
    BallInvariantError,
    NotRipe,
    ball_status,
    can_join,
    collect,
    collect_all,
    collectable,
    event_ball_id,
    expire,
    expire_due,
    join,
    new_event_ball,
    ripens_at,
)
from greenenergy.forest.balls import RipeningMemo

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
TICK = timedelta(microseconds=1)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def ball_of(occurred: str, ingested: str, tz: ZoneInfo = SHANGHAI, energy_g: int = 100) -> Ball:
    return new_event_ball(
        ball_id="b-1",
        user_id="u-1",
        event_type="recycling.box",
        energy_g=energy_g,
        occurred_at=at(occurred),
        ingested_at=at(ingested),
        tz=tz,
    )


# Ripening at 07:00 local -------------------------------------------------------------


def test_behaviour_before_seven_ripens_the_same_morning_in_shanghai():
    assert ripens_at(at("2026-11-20T06:59:59+08:00"), SHANGHAI) == at("2026-11-19T23:00:00+00:00")


def test_behaviour_at_seven_sharp_ripens_the_next_morning():
    assert ripens_at(at("2026-11-20T07:00:00+08:00"), SHANGHAI) == at("2026-11-20T23:00:00+00:00")


def test_ripening_uses_the_local_day_not_the_utc_day():
    # 23:30 UTC on 30 Nov is 07:30 on 1 Dec in Shanghai: ripens on 2 Dec, not 1 Dec.
    assert ripens_at(at("2026-11-30T23:30:00+00:00"), SHANGHAI) == at("2026-12-01T23:00:00+00:00")


def test_month_boundary_ball_ripens_on_the_first_and_expires_72_hours_later():
    ball = ball_of("2026-11-30T21:00:00+08:00", "2026-11-30T21:00:05+08:00")
    assert ball.ripens_at == at("2026-12-01T07:00:00+08:00")
    assert ball.visible_at == ball.ripens_at
    assert ball.expires_at == at("2026-12-04T07:00:00+08:00")
    assert ball_status(ball, at("2026-12-01T06:59:59.999999+08:00")) == "waiting"
    assert ball_status(ball, at("2026-12-01T07:00:00+08:00")) == "ripe"
    assert ball_status(ball, at("2026-12-04T07:00:00+08:00") - TICK) == "ripe"
    assert ball_status(ball, at("2026-12-04T07:00:00+08:00")) == "expired"


def test_late_event_becomes_visible_when_ingested_and_expires_72_hours_after_that():
    ball = ball_of("2026-11-20T10:00:00+08:00", "2026-11-21T09:30:00+08:00")
    assert ball.ripens_at == at("2026-11-21T07:00:00+08:00")
    assert ball.visible_at == at("2026-11-21T09:30:00+08:00")
    assert ball.expires_at == at("2026-11-24T09:30:00+08:00")


def test_berlin_ball_ripening_on_the_spring_forward_sunday_is_at_seven_summer_time():
    # 29 March 2026, the last Sunday of March: clocks jump 02:00 CET -> 03:00 CEST.
    ball = ball_of("2026-03-28T20:00:00+01:00", "2026-03-28T20:00:00+01:00", tz=BERLIN)
    assert ball.ripens_at == at("2026-03-29T05:00:00+00:00")  # 07:00 CEST
    assert ball.expires_at == at("2026-04-01T05:00:00+00:00")


def test_berlin_72_hours_across_the_dst_change_are_elapsed_hours_not_wall_clock():
    ball = ball_of("2026-03-27T10:00:00+01:00", "2026-03-27T10:00:00+01:00", tz=BERLIN)
    assert ball.ripens_at == at("2026-03-28T07:00:00+01:00")
    # 72 real hours later the wall clock reads 08:00 CEST, one hour "later" than 07:00.
    assert ball.expires_at == at("2026-03-31T08:00:00+02:00")
    assert ball_status(ball, at("2026-03-31T07:59:59+02:00")) == "ripe"
    assert ball_status(ball, at("2026-03-31T08:00:00+02:00")) == "expired"


def test_berlin_72_hours_across_the_autumn_change_end_at_six_winter_time():
    ball = ball_of("2026-10-23T10:00:00+02:00", "2026-10-23T10:00:00+02:00", tz=BERLIN)
    assert ball.ripens_at == at("2026-10-24T07:00:00+02:00")
    assert ball.expires_at == at("2026-10-27T06:00:00+01:00")


# Joining events into one ball ---------------------------------------------------------


def test_two_events_before_ripening_share_one_ball_id_and_join():
    ripening = at("2026-11-21T07:00:00+08:00")
    ids = {
        event_ball_id(
            user_id="u-1", event_type="recycling.box", ripening=ripening, ingested_at=at(ingested), event_ref=ref
        )
        for ingested, ref in [("2026-11-20T09:00:00+08:00", "s:1"), ("2026-11-20T18:00:00+08:00", "s:2")]
    }
    assert len(ids) == 1
    first = ball_of("2026-11-20T09:00:00+08:00", "2026-11-20T09:00:00+08:00", energy_g=37)
    second = join(
        first,
        energy_g=74,
        occurred_at=at("2026-11-20T18:00:00+08:00"),
        ingested_at=at("2026-11-20T18:00:01+08:00"),
        tz=SHANGHAI,
    )
    assert second.energy_g == 111 and second.remaining_g == 111
    assert second.expires_at == first.expires_at


def test_a_late_event_gets_its_own_ball_id():
    ripening = at("2026-11-21T07:00:00+08:00")
    common = {"user_id": "u-1", "event_type": "recycling.box", "ripening": ripening}
    early = event_ball_id(**common, ingested_at=at("2026-11-20T09:00:00+08:00"), event_ref="s:1")
    late_a = event_ball_id(**common, ingested_at=at("2026-11-21T07:00:00+08:00"), event_ref="s:2")
    late_b = event_ball_id(**common, ingested_at=at("2026-11-21T07:00:00+08:00"), event_ref="s:3")
    assert len({early, late_a, late_b}) == 3


def test_energy_cannot_join_a_ball_that_is_already_visible():
    ball = ball_of("2026-11-20T09:00:00+08:00", "2026-11-20T09:00:00+08:00")
    assert not can_join(
        ball, user_id="u-1", event_type="recycling.box", ripening=ball.ripens_at, ingested_at=ball.ripens_at
    )
    with pytest.raises(BallClosed):
        join(
            ball,
            energy_g=5,
            occurred_at=at("2026-11-20T10:00:00+08:00"),
            ingested_at=at("2026-11-21T07:00:00+08:00"),
            tz=SHANGHAI,
        )


def test_energy_of_another_ripening_cannot_join():
    ball = ball_of("2026-11-20T09:00:00+08:00", "2026-11-20T09:00:00+08:00")
    with pytest.raises(BallClosed):
        join(
            ball,
            energy_g=5,
            occurred_at=at("2026-11-21T08:00:00+08:00"),
            ingested_at=at("2026-11-21T08:00:00+08:00"),
            tz=SHANGHAI,
        )


# Collect --------------------------------------------------------------------------------


def test_collect_at_the_visible_instant_takes_everything_left():
    ball = ball_of("2026-11-20T09:00:00+08:00", "2026-11-20T09:00:00+08:00")
    done = collect(ball, at("2026-11-21T07:00:00+08:00"))
    assert done.collected_g == 100
    assert done.ball.remaining_g == 0 and done.ball.collected_g == 100
    assert done.ball.collected_at == at("2026-11-20T23:00:00+00:00")
    assert ball_status(done.ball, at("2026-11-21T07:00:00+08:00")) == "collected"


def test_collect_leaves_what_thieves_took():
    ball = ball_of("2026-11-20T09:00:00+08:00", "2026-11-20T09:00:00+08:00")
    robbed = replace(ball, stolen_g=30)
    assert collect(robbed, at("2026-11-21T08:00:00+08:00")).collected_g == 70


def test_collect_one_microsecond_before_seven_is_not_ripe():
    ball = ball_of("2026-11-20T09:00:00+08:00", "2026-11-20T09:00:00+08:00")
    with pytest.raises(NotRipe) as caught:
        collect(ball, at("2026-11-21T07:00:00+08:00") - TICK)
    assert caught.value.code == "not_ripe" and isinstance(caught.value, Conflict)


def test_collect_at_the_72_hour_edge_is_expired():
    ball = ball_of("2026-11-20T09:00:00+08:00", "2026-11-20T09:00:00+08:00")
    assert collect(ball, ball.expires_at - TICK).collected_g == 100
    with pytest.raises(BallExpired) as caught:
        collect(ball, ball.expires_at)
    assert caught.value.code == "expired"


def test_collect_twice_is_already_collected_even_after_expiry():
    ball = ball_of("2026-11-20T09:00:00+08:00", "2026-11-20T09:00:00+08:00")
    done = collect(ball, at("2026-11-21T08:00:00+08:00")).ball
    for moment in (at("2026-11-21T08:00:01+08:00"), done.expires_at + timedelta(days=1)):
        with pytest.raises(AlreadyCollected) as caught:
            collect(done, moment)
        assert caught.value.code == "already_collected"


def test_collect_all_takes_only_ripe_balls_in_ripening_order():
    base = {"user_id": "u-1", "event_type": "transit.metro", "energy_g": 52}
    now = at("2026-11-22T12:00:00+08:00")
    balls = [
        Ball(
            ball_id="waiting",
            ripens_at=at("2026-11-23T07:00:00+08:00"),
            visible_at=at("2026-11-23T07:00:00+08:00"),
            expires_at=at("2026-11-26T07:00:00+08:00"),
            **base,
        ),
        Ball(
            ball_id="ripe-late",
            ripens_at=at("2026-11-22T07:00:00+08:00"),
            visible_at=at("2026-11-22T07:00:00+08:00"),
            expires_at=at("2026-11-25T07:00:00+08:00"),
            **base,
        ),
        Ball(
            ball_id="ripe-early",
            ripens_at=at("2026-11-21T07:00:00+08:00"),
            visible_at=at("2026-11-21T07:00:00+08:00"),
            expires_at=at("2026-11-24T07:00:00+08:00"),
            **base,
        ),
        Ball(
            ball_id="expired",
            ripens_at=at("2026-11-19T07:00:00+08:00"),
            visible_at=at("2026-11-19T07:00:00+08:00"),
            expires_at=at("2026-11-22T07:00:00+08:00"),
            **base,
        ),
    ]
    assert [b.ball_id for b in collectable(balls, now)] == ["ripe-early", "ripe-late"]
    assert sum(c.collected_g for c in collect_all(balls, now)) == 104


# Expiry -----------------------------------------------------------------------------------


def test_status_is_expired_before_the_job_runs_and_expire_moves_what_remains_once():
    ball = ball_of("2026-11-20T09:00:00+08:00", "2026-11-20T09:00:00+08:00")
    robbed = replace(ball, stolen_g=40)
    assert ball_status(robbed, robbed.expires_at) == "expired"
    assert expire(robbed, robbed.expires_at - TICK).expired_g == 0
    first = expire(robbed, robbed.expires_at)
    assert first.expired_g == 60
    assert first.ball.remaining_g == 0 and first.ball.stolen_g == 40
    again = expire(first.ball, robbed.expires_at + timedelta(hours=1))
    assert again.expired_g == 0 and again.ball == first.ball


def test_expire_of_a_collected_ball_moves_nothing():
    ball = ball_of("2026-11-20T09:00:00+08:00", "2026-11-20T09:00:00+08:00")
    done = collect(ball, ball.visible_at).ball
    assert expire(done, done.expires_at + timedelta(days=3)).expired_g == 0


def test_expire_due_lists_only_balls_that_move_grams():
    ball = ball_of("2026-11-20T09:00:00+08:00", "2026-11-20T09:00:00+08:00")
    other = replace(ball, ball_id="b-2")
    collected = collect(other, other.visible_at).ball
    due = expire_due([ball, collected], ball.expires_at)
    assert [(e.ball_id, e.expired_g) for e in due] == [("b-1", 100)]


def test_an_expired_ball_stays_expired_even_if_the_clock_reads_earlier():
    ball = ball_of("2026-11-20T09:00:00+08:00", "2026-11-20T09:00:00+08:00")
    gone = expire(ball, ball.expires_at).ball
    assert ball_status(gone, ball.visible_at) == "expired"
    with pytest.raises(BallExpired):
        collect(gone, ball.visible_at)


# The invariant guards ----------------------------------------------------------------------


def ball_fields(**changes):
    fields = {
        "ball_id": "b-x",
        "user_id": "u",
        "event_type": "t",
        "energy_g": 10,
        "ripens_at": at("2026-11-21T07:00:00+08:00"),
        "visible_at": at("2026-11-21T07:00:00+08:00"),
        "expires_at": at("2026-11-24T07:00:00+08:00"),
    }
    fields.update(changes)
    return fields


@pytest.mark.parametrize(
    "changes",
    [
        {"energy_g": 0},
        {"collected_g": -1},
        {"stolen_g": 6},  # more than half of 10
        {"stolen_g": 5, "expired_g": 6},  # parts exceed the energy
        {"collected_g": 5, "collected_at": at("2026-11-21T08:00:00+08:00"), "expired_g": 5},
        {"collected_g": 10},  # collected without collected_at
        {"visible_at": at("2026-11-21T06:00:00+08:00")},
        {"source": "gift"},
    ],
)
def test_a_ball_whose_parts_do_not_add_up_cannot_be_built(changes):
    with pytest.raises(BallInvariantError):
        Ball(**ball_fields(**changes))


def test_float_grams_are_refused():
    with pytest.raises(TypeError):
        Ball(**ball_fields(energy_g=10.0))


def test_naive_timestamps_are_refused():
    with pytest.raises(ValueError):
        Ball(**ball_fields(ripens_at=datetime(2026, 11, 21, 7)))


def test_ball_times_are_stored_in_utc():
    ball = Ball(**ball_fields())
    assert ball.ripens_at.tzinfo == UTC and ball.ripens_at == at("2026-11-20T23:00:00+00:00")


@pytest.mark.parametrize(
    "zone",
    ["Asia/Shanghai", "Europe/Berlin", "America/St_Johns", "Asia/Kathmandu", "Australia/Lord_Howe", "Africa/Monrovia"],
)
def test_ripening_memo_gives_exactly_ripens_at(zone: str) -> None:
    # Every minute (and a few odd seconds) across DST changes, half-hour and 45-minute zones,
    # and Monrovia's pre-1972 -00:44:30, where the 15-minute premise fails and the memo
    # must fall back to computing each instant.
    tz = ZoneInfo(zone)
    memo = RipeningMemo(tz)
    starts = [
        datetime(2026, 3, 27, tzinfo=UTC),
        datetime(2026, 10, 23, tzinfo=UTC),
        datetime(1971, 12, 30, tzinfo=UTC),
    ]
    for start in starts:
        for minute in range(0, 4 * 24 * 60, 7):
            moment = start + timedelta(minutes=minute, seconds=(minute * 13) % 60)
            assert memo(moment) == ripens_at(moment, tz), (zone, moment)
