"""Watering: allowed amounts, three per friend per local day, a ball that is ripe at once."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from greenenergy.errors import Conflict, InvalidInput
from greenenergy.forest import (
    InvalidAmount,
    SelfWatering,
    WateringLimit,
    ball_status,
    collect,
    water,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def water_at(now: str, earlier=(), energy_g=18, friend="bo", ball_id="w-1"):
    return water(
        giver_id="al",
        friend_id=friend,
        energy_g=energy_g,
        now=at(now),
        tz=SHANGHAI,
        earlier=list(earlier),
        ball_id=ball_id,
    )


@pytest.mark.parametrize("amount", [10, 18, 33, 66])
def test_allowed_amounts_arrive_as_a_ripe_ball(amount):
    plan = water_at("2026-11-20T12:00:00+08:00", energy_g=amount)
    ball = plan.ball
    assert (ball.user_id, ball.energy_g, ball.source, ball.giver_id) == ("bo", amount, "water", "al")
    assert ball_status(ball, at("2026-11-20T12:00:00+08:00")) == "ripe"
    assert ball.expires_at == at("2026-11-23T12:00:00+08:00")
    assert collect(ball, at("2026-11-20T12:00:00+08:00")).collected_g == amount
    assert plan.watering.energy_g == amount and plan.watering.ball_id == "w-1"


@pytest.mark.parametrize("amount", [0, 11, 100, -10, 10.0, True, "10"])
def test_other_amounts_are_invalid(amount):
    with pytest.raises(InvalidAmount) as caught:
        water_at("2026-11-20T12:00:00+08:00", energy_g=amount)
    assert caught.value.code == "invalid_amount" and isinstance(caught.value, InvalidInput)


def test_nobody_waters_themselves():
    with pytest.raises(SelfWatering):
        water_at("2026-11-20T12:00:00+08:00", friend="al")


def test_the_fourth_watering_of_a_local_day_is_refused():
    done = []
    for minute in (0, 1, 2):
        done.append(water_at(f"2026-11-20T23:5{minute}:00+08:00", done, ball_id=f"w{minute}").watering)
    with pytest.raises(WateringLimit) as caught:
        water_at("2026-11-20T23:59:59+08:00", done)
    assert caught.value.code == "watering_limit" and isinstance(caught.value, Conflict)


def test_the_limit_resets_at_local_midnight_not_utc_midnight():
    done = [water_at(f"2026-11-20T23:5{m}:00+08:00", ball_id=f"w{m}").watering for m in (0, 1, 2)]
    # 00:10 in Shanghai is still 20 November in UTC (16:10Z), but a new local day.
    plan = water_at("2026-11-21T00:10:00+08:00", done)
    assert plan.watering.watered_at == at("2026-11-20T16:10:00+00:00")


def test_the_limit_is_per_friend():
    done = [water_at("2026-11-20T12:00:00+08:00", ball_id=f"w{i}").watering for i in range(3)]
    assert water_at("2026-11-20T12:05:00+08:00", done, friend="cy").ball.user_id == "cy"


def test_a_watering_ball_expires_72_hours_later_if_not_collected():
    ball = water_at("2026-11-20T12:00:00+08:00").ball
    assert ball_status(ball, ball.visible_at + timedelta(hours=72)) == "expired"
