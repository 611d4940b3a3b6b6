"""Achievements: evaluate a user's metrics against the catalog and award each one once.

The catalog is ``<catalog_dir>/achievements/achievements.yaml``, loaded and validated once
per process (cached in ``runtime.cache``); a missing file means no achievements, an invalid
one raises the ``CatalogError`` naming ``file:line``.

``evaluate`` is called after the changes that move a metric, limited to the metrics that
change can move (a collect: ``balls_collected`` and ``collect_streak_days``; a steal:
``steals``; a watering: ``waterings_given``; a new friendship: ``friends``; the planting
service may call it with ``trees_planted``), and in full on every read of the user's
achievements or items, so an award is never missed even where no hook runs (ingestion). It is
idempotent and safe to run concurrently: the metrics are read in one transaction, and the
awards are written with ``INSERT ... ON CONFLICT DO NOTHING`` on (user, achievement), so a
second evaluation, or one racing it, stores nothing twice and grants a reward item only
with the award row it actually inserted. ``awarded_at`` is the time of that evaluation.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, func, select

from greenenergy.db import forest_repo
from greenenergy.db.engine import read_tx, write_tx
from greenenergy.db.tables_events import EventRow
from greenenergy.db.tables_forest import BallRow
from greenenergy.errors import GreenEnergyError
from greenenergy.forest import Achievement, Award, UserStats, grant_item, load_achievements, metric_value, streak_days
from greenenergy.forest import evaluate as evaluate_awards
from greenenergy.periods import local_date, local_midnight_utc
from greenenergy.services.planting import queries as planting_queries
from greenenergy.services.runtime import Runtime

CACHE_KEY = "forest.achievements"
AFTER_COLLECT = ("balls_collected", "collect_streak_days")
AFTER_STEAL = ("steals",)
AFTER_WATER = ("waterings_given",)
AFTER_FRIENDSHIP = ("friends",)
EVENTS = EventRow.__table__
BALLS = BallRow.__table__
log = logging.getLogger("greenenergy.forest")


@dataclass(frozen=True)
class AchievementView:
    achievement_id: str
    name: dict[str, str]
    description: dict[str, str] | None
    metric: str
    threshold: int
    value: int
    reward_item: str | None
    awarded: bool
    awarded_at: datetime | None


def catalog(runtime: Runtime) -> tuple[Achievement, ...]:
    """The achievements catalog, loaded once per process."""
    if CACHE_KEY not in runtime.cache:
        path = runtime.settings.catalog_dir / "achievements" / "achievements.yaml"
        runtime.cache[CACHE_KEY] = load_achievements(path) if path.is_file() else ()
    return runtime.cache[CACHE_KEY]


def user_stats(
    connection: Connection,
    user_id: str,
    achievements: Sequence[Achievement],
    tz: ZoneInfo,
    *,
    collects_since: datetime | None = None,
) -> UserStats:
    """The metrics ``achievements`` read, counted from the user's rows (others stay 0).

    ``collects_since`` limits the collecting streak to collects from that instant on (see
    ``evaluate``); None reads them all.
    """
    metrics = {a.metric for a in achievements}
    fields: dict[str, object] = {}
    if "trees_planted" in metrics:
        fields["trees_planted"] = planting_queries.count_trees(connection, user_id)
    if "lifetime_energy_g" in metrics:
        fields["lifetime_energy_g"] = forest_repo.lifetime_minted_g(connection, user_id)
    if "collect_streak_days" in metrics:
        conditions = [BALLS.c.user_id == user_id, BALLS.c.collected_g > 0]
        if collects_since is not None:
            conditions.append(BALLS.c.collected_at >= collects_since)
        times = connection.execute(select(BALLS.c.collected_at).where(*conditions)).scalars()
        fields["best_collect_streak_days"] = streak_days(local_date(t, tz) for t in times)[1]
    if "balls_collected" in metrics:
        fields["balls_collected"] = _count(connection, BALLS, BALLS.c.user_id == user_id, BALLS.c.collected_g > 0)
    if "friends" in metrics:
        fields["friends"] = forest_repo.count_friends(connection, user_id)
    if "waterings_given" in metrics:
        fields["waterings_given"] = _count(
            connection, forest_repo.WATERINGS, forest_repo.WATERINGS.c.giver_id == user_id
        )
    if "steals" in metrics:
        thefts = forest_repo.THEFTS
        fields["steals"] = _count(connection, thefts, thefts.c.thief_id == user_id, thefts.c.stolen_g > 0)
    if any(m.startswith("events_of_type:") for m in metrics):
        fields["event_counts"] = {
            row.event_type: int(row.n)
            for row in connection.execute(
                select(EVENTS.c.event_type, func.count().label("n"))
                .where(EVENTS.c.user_id == user_id)
                .group_by(EVENTS.c.event_type)
            )
        }
    totals = sorted(m.removeprefix("data_total:") for m in metrics if m.startswith("data_total:"))
    if totals:
        fields["data_totals"] = {key: _data_total(connection, user_id, *key.split(":")) for key in totals}
    return UserStats(**fields)  # type: ignore[arg-type]


def _count(connection: Connection, table, *conditions) -> int:
    return int(connection.execute(select(func.count()).select_from(table).where(*conditions)).scalar_one())


def _data_total(connection: Connection, user_id: str, event_type: str, field: str) -> int:
    """Sum of an integer ``data`` field over the user's events of ``event_type``."""
    total = 0
    rows = connection.execute(
        select(EVENTS.c.data).where(EVENTS.c.user_id == user_id, EVENTS.c.event_type == event_type)
    )
    for text in rows.scalars():
        value = json.loads(text).get(field)
        if isinstance(value, int) and not isinstance(value, bool):
            total += value
    return total


def _store(runtime: Runtime, user_id: str, awards: Sequence[Award]) -> list[Award]:
    now = runtime.clock.now()
    stored: list[Award] = []
    with write_tx(runtime.engine) as connection:
        for award in awards:
            item_id = uuid.uuid4().hex if award.reward_item else None
            if not forest_repo.insert_award(
                connection,
                user_id=user_id,
                achievement_id=award.achievement_id,
                value=award.value,
                threshold=award.threshold,
                now=now,
                item_id=item_id,
            ):
                continue  # a concurrent evaluation awarded it first (and granted its item)
            if award.reward_item and item_id:
                item = grant_item(item_id=item_id, user_id=user_id, kind=award.reward_item, now=now)
                forest_repo.insert_item(connection, item, granted_by=f"achievement:{award.achievement_id}")
            stored.append(award)
    return stored


def evaluate(
    runtime: Runtime, user_id: str, metrics: Collection[str] | None = None, *, just_collected: bool = False
) -> list[Award]:
    """Award what ``user_id`` newly reached; returns the awards this call stored.

    ``metrics`` limits the check to achievements on those metrics (None: all of them).
    ``just_collected`` says the user collected now and this call follows it: the only
    streak that can be new then is the run ending today, so the streak reads only the
    collects of the last N local days (N the largest threshold still pending) instead of
    the user's whole history. A longer run that ended earlier was checked by the call after
    its own last collect, and a full evaluation (every read of the user's achievements)
    catches anything a failed call missed.
    """
    achievements = [a for a in catalog(runtime) if metrics is None or a.metric in metrics]
    if not achievements:
        return []
    with read_tx(runtime.engine) as connection:
        held = {row.achievement_id for row in forest_repo.award_rows(connection, user_id)}
        pending = [a for a in achievements if a.id not in held]
        if not pending:
            return []
        stats = user_stats(
            connection,
            user_id,
            pending,
            runtime.settings.zone,
            collects_since=_streak_window_start(runtime, pending) if just_collected else None,
        )
    awards = evaluate_awards(pending, stats, held)
    return _store(runtime, user_id, awards) if awards else []


def _streak_window_start(runtime: Runtime, pending: Sequence[Achievement]) -> datetime | None:
    """Local midnight, as UTC, of the first day of the longest pending streak ending today."""
    thresholds = [a.threshold for a in pending if a.metric == "collect_streak_days"]
    if not thresholds:
        return None
    tz = runtime.settings.zone
    first_day = local_date(runtime.clock.now(), tz) - timedelta(days=max(thresholds) - 1)
    return local_midnight_utc(first_day, tz)


def evaluate_quietly(
    runtime: Runtime, user_id: str, metrics: Collection[str] | None = None, *, just_collected: bool = False
) -> None:
    """``evaluate`` after a committed change: a broken catalog must not turn the change's
    answer into an error (the change is already stored); it is logged, and the next read of
    the user's achievements reports it."""
    try:
        evaluate(runtime, user_id, metrics, just_collected=just_collected)
    except GreenEnergyError as error:
        log.warning("achievements not evaluated for %s: %s", user_id, error)


def list_achievements(runtime: Runtime, user_id: str) -> list[AchievementView]:
    """Every achievement of the catalog with the user's progress; awards what is due first."""
    evaluate(runtime, user_id)
    achievements = catalog(runtime)
    with read_tx(runtime.engine) as connection:
        awarded = {row.achievement_id: row for row in forest_repo.award_rows(connection, user_id)}
        stats = user_stats(connection, user_id, achievements, runtime.settings.zone)
    views = []
    for a in achievements:
        row = awarded.get(a.id)
        views.append(
            AchievementView(
                achievement_id=a.id,
                name=a.name.model_dump(),
                description=a.description.model_dump() if a.description else None,
                metric=a.metric,
                threshold=a.threshold,
                value=metric_value(a.metric, stats),
                reward_item=a.reward_item,
                awarded=row is not None,
                awarded_at=row.awarded_at if row is not None else None,
            )
        )
    return views
