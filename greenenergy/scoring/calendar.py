"""Local days, weeks and months of UTC instants, fast, for both scoring paths.

Caps count per local day / ISO week (Monday) / month of the configured zone. Converting
each event through ``ZoneInfo`` costs more than scoring it, so:

* the online path caches, per UTC hour, the (day, week start, month start) triple when the
  whole hour lies in one local date at one UTC offset (any hour holding a local midnight
  or an offset change is computed exactly, event by event); ``recent`` holds the last
  such hour as ``(start, end, triple)``, so events in time order mostly cost two
  comparisons of datetimes;
* the batch path finds the zone's offset changes (to the second) in the years the data
  spans, then adds the right offset to each timestamp with ``searchsorted``.

Both ask ``ZoneInfo`` for the offsets, so they agree with ``greenenergy.periods`` on every
instant. Assumption (true of the tz database): a zone changes offset at most once an hour.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np

from greenenergy.clock import UTC
from greenenergy.periods import local_date

Triple = tuple[date, date, date]

EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
NS_PER_SECOND = 1_000_000_000
NS_PER_DAY = 86_400 * NS_PER_SECOND
_HOUR = timedelta(hours=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_JUST_UNDER_AN_HOUR = timedelta(hours=1) - timedelta(microseconds=1)
PER_INDEX = {"day": 0, "week": 1, "month": 2}


def period_triple(day: date) -> Triple:
    """(the day, the Monday of its ISO week, the first of its month)."""
    return day, day - timedelta(days=day.weekday()), day.replace(day=1)


class LocalCalendar:
    """Local periods of UTC instants in one zone, cached per UTC hour."""

    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz
        # UTC hour number (ordinal * 24 + hour) -> triple, or False when the hour straddles
        # a local date or an offset change (computed exactly each time)
        self.hours: dict[int, Triple | bool] = {}
        # [(start, end, triple)]: the UTC hour last looked up, when cacheable; one tuple,
        # replaced whole, so that a reader never sees the bounds of one hour with another's
        # triple (scorers may run in several threads)
        self.recent: list[tuple[datetime, datetime, Triple]] = [(_EPOCH, _EPOCH, period_triple(date(1970, 1, 1)))]

    def periods(self, moment: datetime) -> Triple:
        """(local day, week start, month start) of a tz-aware ``moment`` (UTC is fastest)."""
        if moment.tzinfo is not UTC:
            moment = moment.astimezone(UTC)
        low, high, triple = self.recent[0]
        if low <= moment < high:
            return triple
        key = moment.toordinal() * 24 + moment.hour
        hit = self.hours.get(key)
        if hit is None:
            hit = self._fill(key, moment)
        if hit:
            start = moment.replace(minute=0, second=0, microsecond=0)
            self.recent[0] = (start, start + _HOUR, hit)  # type: ignore[assignment]
            return hit  # type: ignore[return-value]
        return period_triple(local_date(moment, self.tz))

    def _fill(self, key: int, moment: datetime) -> Triple | bool:
        if len(self.hours) > 200_000:
            self.hours.clear()
        start = moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        first = start.astimezone(self.tz)
        last = (start + _JUST_UNDER_AN_HOUR).astimezone(self.tz)
        entry: Triple | bool = False
        if first.date() == last.date() and first.utcoffset() == last.utcoffset():
            entry = period_triple(first.date())
        self.hours[key] = entry
        return entry

    def local_days(self, utc_ns: np.ndarray) -> np.ndarray:
        """Local calendar day numbers (days since 1970-01-01) of UTC nanosecond stamps."""
        if len(utc_ns) == 0:
            return np.zeros(0, dtype=np.int64)
        first_year = _year_of(int(utc_ns.min()))
        last_year = _year_of(int(utc_ns.max()))
        changes, offsets = _offset_table(self.tz.key, first_year, last_year)
        if len(changes) == 1:  # one offset all along (e.g. Asia/Shanghai): nothing to look up
            return (utc_ns + offsets[0]) // NS_PER_DAY
        index = np.searchsorted(changes, utc_ns, side="right") - 1
        return (utc_ns + offsets[index]) // NS_PER_DAY


def day_number_to_date(day: int) -> date:
    return date.fromordinal(int(day) + EPOCH_ORDINAL)


def date_to_day_number(day: date) -> int:
    return day.toordinal() - EPOCH_ORDINAL


def week_start_days(days: np.ndarray) -> np.ndarray:
    """Day number of the Monday on or before each day (1970-01-01 was a Thursday)."""
    return days - (days + 3) % 7


def month_start_days(days: np.ndarray) -> np.ndarray:
    """Day number of the first of the month of each day."""
    if not len(days):
        return np.zeros(0, dtype=np.int64)
    low, high = int(days.min()), int(days.max())
    if high - low > len(days):  # a wide span: convert each day
        return _month_starts(days)
    # a batch spans few days: convert each distinct day once, then look the rows up
    return _month_starts(np.arange(low, high + 1, dtype=np.int64))[days - low]


def _month_starts(days: np.ndarray) -> np.ndarray:
    months = days.astype("datetime64[D]").astype("datetime64[M]")
    return months.astype("datetime64[D]").astype(np.int64)


def _year_of(ns: int) -> int:
    return (_EPOCH + timedelta(microseconds=ns // 1000)).year


@lru_cache(maxsize=64)
def _offset_table(zone: str, first_year: int, last_year: int) -> tuple[np.ndarray, np.ndarray]:
    """UTC instants (ns) at which ``zone``'s offset changes, and the offset (ns) from each.

    The first entry starts before ``first_year`` so that every instant of the span falls
    at or after it.
    """
    tz = ZoneInfo(zone)
    start = datetime(first_year, 1, 1, tzinfo=UTC) - timedelta(days=2)
    end = datetime(last_year + 1, 1, 1, tzinfo=UTC) + timedelta(days=2)
    changes = [_ns(start)]
    offsets = [_offset_seconds(start, tz)]
    hour = start
    previous = offsets[0]
    while hour < end:
        following = hour + _HOUR
        current = _offset_seconds(following, tz)
        if current != previous:
            instant = _bisect_change(hour, following, previous, tz)
            changes.append(_ns(instant))
            offsets.append(current)
            previous = current
        hour = following
    return np.asarray(changes, dtype=np.int64), np.asarray(offsets, dtype=np.int64) * NS_PER_SECOND


def _ns(moment: datetime) -> int:
    return ((moment - _EPOCH) // timedelta(microseconds=1)) * 1000


def _offset_seconds(moment: datetime, tz: ZoneInfo) -> int:
    offset = moment.astimezone(tz).utcoffset()
    assert offset is not None
    return int(offset.total_seconds())


def _bisect_change(low: datetime, high: datetime, before: int, tz: ZoneInfo) -> datetime:
    """The first whole second in (low, high] whose offset differs from ``before``."""
    lo, hi = 0, int((high - low).total_seconds())
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _offset_seconds(low + timedelta(seconds=mid), tz) == before:
            lo = mid
        else:
            hi = mid
    return low + timedelta(seconds=hi)
