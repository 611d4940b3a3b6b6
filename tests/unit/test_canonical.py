"""greenenergy.canonical: RFC 8785 bytes for every hashed record, and one form of an instant."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from greenenergy.canonical import NotCanonical, format_instant, jcs, legacy_json

scalars = st.none() | st.booleans() | st.integers(min_value=-(2**53 - 1), max_value=2**53 - 1) | st.text()
json_values = st.recursive(
    scalars | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20,
)


@given(json_values)
def test_jcs_is_rfc8785(value) -> None:
    assert jcs(value) == rfc8785.dumps(value)


@given(
    st.recursive(
        scalars,
        lambda inner: (
            st.lists(inner, max_size=4)
            | st.dictionaries(
                st.text(st.characters(max_codepoint=0xFFFF, exclude_categories=("Cs",)), max_size=6), inner, max_size=4
            )
        ),
        max_leaves=20,
    )
)
def test_without_floats_jcs_is_the_compact_sorted_json_of_the_first_format(value) -> None:
    assert jcs(value) == legacy_json(value)


def test_the_two_formats_differ_only_in_how_floats_are_written() -> None:
    assert jcs({"w": 1e-7, "x": 5.0}) == b'{"w":1e-7,"x":5}'
    assert legacy_json({"w": 1e-7, "x": 5.0}) == b'{"w":1e-07,"x":5.0}'


def test_keys_outside_the_bmp_sort_by_utf16_code_units() -> None:
    # U+1F600 is D83D DE00 in UTF-16, below U+FF21; code-point order puts it after.
    value = {"\U0001f600": 1, "\uff21": 2}
    assert jcs(value) == rfc8785.dumps(value)
    assert jcs(value).index("\U0001f600".encode()) < jcs(value).index("\uff21".encode())


@pytest.mark.parametrize("value", ["\ud800", {"k": "x\udfff"}, float("nan"), {1: "a"}, 2**53])
def test_values_without_a_canonical_form_are_refused_clearly(value) -> None:
    with pytest.raises(NotCanonical, match="no canonical JSON form"):
        jcs(value)


@given(
    st.datetimes(
        min_value=datetime(1900, 1, 2),
        timezones=st.just(UTC) | st.builds(lambda h: timezone(timedelta(hours=h)), st.integers(-12, 14)),
    )
)
def test_format_instant_is_utc_with_microseconds_and_z(moment: datetime) -> None:
    assert format_instant(moment) == moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_format_instant_refuses_a_naive_time() -> None:
    with pytest.raises(ValueError, match="naive"):
        format_instant(datetime(2026, 1, 1))


def test_an_event_record_of_format_2_hashes_its_jcs_bytes() -> None:
    from greenenergy.ingestion import EventRecord

    record = EventRecord(
        source_id="cainiao", event_id="cn-1", user_id="u-42", event_type="recycling.box",
        occurred_at=datetime(2026, 11, 20, 1, 15, tzinfo=UTC), ingested_at=datetime(2026, 11, 20, 2, tzinfo=UTC),
        data={"boxes": 2}, energy_g=74, rule_ref="recycling.box@1", explanation="37 * boxes = 74",
        ball_id="b-1", shard=7, lane=3, seq=12, prev_hash="0" * 64,
    )  # fmt: skip
    expected = json.loads(record.canonical_bytes())
    assert expected["format"] == 2 and expected["lane"] == 3 and "transaction_id" not in expected
    assert record.canonical_bytes() == rfc8785.dumps(expected)
