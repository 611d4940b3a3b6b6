"""Per-group prefix sums and maxima: ``Runs`` (groups already contiguous) and ``Groups``
(sorted once) against a plain Python loop over the rows."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from greenenergy.scoring.groups import Groups, Runs, composite, stable_order, time_order


def by_loop(keys: list, values: list[int]) -> tuple[list[int], list[int], dict, dict]:
    """earlier sum, earlier max (0 if none), total and max per key, row by row."""
    sums: dict = {}
    highs: dict = {}
    earlier_sum, earlier_max = [], []
    for key, value in zip(keys, values, strict=True):
        earlier_sum.append(sums.get(key, 0))
        earlier_max.append(highs.get(key, 0))
        sums[key] = sums.get(key, 0) + value
        highs[key] = max(highs.get(key, 0), value)
    return earlier_sum, earlier_max, sums, highs


ROWS = st.lists(st.tuples(st.integers(0, 3), st.integers(0, 4), st.integers(0, 2**40)), max_size=60)


@settings(max_examples=300, deadline=None)
@given(rows=ROWS)
def test_runs_of_rows_sorted_by_user_and_period(rows: list[tuple[int, int, int]]) -> None:
    rows = sorted(rows, key=lambda r: (r[0], r[1]))  # stable: the value order stays as given
    users = np.array([r[0] for r in rows], dtype=np.int32)
    periods = np.array([r[1] for r in rows], dtype=np.int64)
    values = np.array([r[2] for r in rows], dtype=np.int64)
    keys = [(r[0], r[1]) for r in rows]
    earlier_sum, earlier_max, sums, highs = by_loop(keys, [r[2] for r in rows])
    runs = Runs(users, periods)
    assert runs.earlier_sum(values).tolist() == earlier_sum
    assert runs.earlier_max(values).tolist() == earlier_max
    firsts = [keys[i] for i in runs.first_rows()]
    assert firsts == list(dict.fromkeys(keys))  # one group per key, in order
    assert runs.totals(values).tolist() == [sums[k] for k in firsts]
    assert runs.maxima(values).tolist() == [highs[k] for k in firsts]
    assert runs.spread(np.arange(runs.size)).tolist() == [firsts.index(k) for k in keys]


@settings(max_examples=300, deadline=None)
@given(rows=ROWS)
def test_groups_of_rows_in_any_order(rows: list[tuple[int, int, int]]) -> None:
    users = np.array([r[0] for r in rows], dtype=np.int32)
    periods = np.array([r[1] for r in rows], dtype=np.int64)
    values = np.array([r[2] for r in rows], dtype=np.int64)
    keys = [(r[0], r[1]) for r in rows]
    earlier_sum, earlier_max, sums, highs = by_loop(keys, [r[2] for r in rows])
    groups = Groups(composite(users, periods)) if rows else None
    if groups is None:
        return
    assert groups.earlier_sum(values).tolist() == earlier_sum
    assert groups.earlier_max(values).tolist() == earlier_max
    firsts = [keys[i] for i in groups.first_rows()]
    assert sorted(firsts) == sorted(set(keys))
    assert groups.totals(values).tolist() == [sums[k] for k in firsts]
    assert groups.maxima(values).tolist() == [highs[k] for k in firsts]
    assert groups.spread(np.arange(groups.size)).tolist() == [firsts.index(k) for k in keys]


def test_earlier_max_over_more_groups_than_one_pass_packs(monkeypatch: pytest.MonkeyPatch) -> None:
    import greenenergy.scoring.groups as groups_module

    monkeypatch.setattr(groups_module, "GROUPS_PER_PASS", 2)  # as a batch of ~10M user-days would
    keys = [0, 0, 1, 2, 2, 2, 3, 4, 4, 5]
    values = [5, 3, 9, 1, 7, 2, 4, 8, 8, 6]
    expected = by_loop(keys, values)[1]
    column = np.array(keys, dtype=np.int64)
    assert Runs(column, column).earlier_max(np.array(values)).tolist() == expected
    shuffled = [3, 9, 0, 5, 1, 8, 2, 6, 4, 7]
    in_any_order = Groups(composite(column[shuffled])).earlier_max(np.array(values)[shuffled])
    assert in_any_order.tolist() == by_loop([keys[i] for i in shuffled], [values[i] for i in shuffled])[1]


def test_empty_runs() -> None:
    runs = Runs(np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int64))
    empty = np.zeros(0, dtype=np.int64)
    assert runs.size == 0
    for method in (runs.earlier_sum, runs.earlier_max, runs.totals, runs.maxima):
        assert method(empty).tolist() == []


@pytest.mark.parametrize("bits", [4, 16, 17, 40, 62])
def test_stable_order_sorts_wide_keys_keeping_ties_in_order(bits: int) -> None:
    rng = np.random.default_rng(bits)
    keys = rng.integers(0, 2**bits, size=5000, dtype=np.int64)
    keys[::7] = keys[0]  # plenty of ties
    order = stable_order(keys)
    assert order.tolist() == sorted(range(len(keys)), key=lambda i: (keys[i], i))


@pytest.mark.parametrize("unit", [1, 1_000, 1_000_000, 1_000_000_000])
@pytest.mark.parametrize("span_s", [60, 30 * 86_400, 100 * 365 * 86_400])
def test_time_order_is_a_stable_sort_whatever_the_clock_resolution(unit: int, span_s: int) -> None:
    rng = np.random.default_rng(unit + span_s)
    steps = max(1, span_s * 1_000_000_000 // unit)
    stamps = 1_780_000_000 * 10**9 + rng.integers(0, steps, size=3000, dtype=np.int64) * unit
    stamps[::5] = stamps[3]  # ties
    order = time_order(stamps)
    assert order.tolist() == sorted(range(len(stamps)), key=lambda i: (stamps[i], i))
