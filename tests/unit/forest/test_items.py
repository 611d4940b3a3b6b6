"""Items: 7-day shelf life unused, 24-hour cover, 5-minute double card, used once."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from greenenergy.forest import (
    ItemExpired,
    ItemUsed,
    UnknownItem,
    active_effects,
    grant_item,
    has_active,
    item_status,
    mark_used,
    use_item,
)

GRANTED = datetime.fromisoformat("2026-11-20T12:00:00+08:00")


def test_an_unused_item_lapses_seven_days_after_the_grant():
    item = grant_item(item_id="i-1", user_id="u-1", kind="protection_cover", now=GRANTED)
    assert item.expires_at == datetime.fromisoformat("2026-11-27T12:00:00+08:00")
    assert item_status(item, item.expires_at - timedelta(microseconds=1)) == "unused"
    assert item_status(item, item.expires_at) == "expired"
    with pytest.raises(ItemExpired) as caught:
        use_item(item, item.expires_at)
    assert caught.value.code == "item_expired"


def test_a_cover_lasts_24_hours_from_its_use():
    item = grant_item(item_id="i-1", user_id="u-1", kind="protection_cover", now=GRANTED)
    used_at = GRANTED + timedelta(days=2)
    effect = use_item(item, used_at)
    assert (effect.kind, effect.user_id, effect.item_id) == ("protection_cover", "u-1", "i-1")
    assert effect.starts_at == used_at and effect.ends_at == used_at + timedelta(hours=24)
    assert effect.active_at(used_at) and effect.active_at(effect.ends_at - timedelta(microseconds=1))
    assert not effect.active_at(effect.ends_at)
    assert not effect.active_at(used_at - timedelta(microseconds=1))


def test_a_double_card_lasts_five_minutes():
    effect = use_item(grant_item(item_id="i-2", user_id="u-1", kind="double_collect_card", now=GRANTED), GRANTED)
    assert effect.ends_at - effect.starts_at == timedelta(minutes=5)


def test_an_item_is_used_once():
    item = grant_item(item_id="i-1", user_id="u-1", kind="protection_cover", now=GRANTED)
    used = mark_used(item, use_item(item, GRANTED))
    assert used.used_at == GRANTED and item_status(used, GRANTED) == "used"
    with pytest.raises(ItemUsed) as caught:
        use_item(used, GRANTED + timedelta(minutes=1))
    assert caught.value.code == "item_used"


def test_unknown_kinds_are_refused():
    with pytest.raises(UnknownItem):
        grant_item(item_id="i-1", user_id="u-1", kind="rain_cloud", now=GRANTED)


def test_active_effects_at_a_moment():
    cover = use_item(grant_item(item_id="c", user_id="u-1", kind="protection_cover", now=GRANTED), GRANTED)
    card = use_item(grant_item(item_id="d", user_id="u-1", kind="double_collect_card", now=GRANTED), GRANTED)
    later = GRANTED + timedelta(minutes=10)
    assert active_effects([cover, card], GRANTED) == [card, cover]
    assert active_effects([cover, card], later) == [cover]
    assert has_active([cover, card], "protection_cover", later, user_id="u-1")
    assert not has_active([cover, card], "protection_cover", later, user_id="u-2")
    assert not has_active([cover, card], "double_collect_card", later)
