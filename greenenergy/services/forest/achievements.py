"""Achievements: evaluate a user's metrics against the catalog and award each one once.

The catalog is ``<catalog_dir>/achievements/achievements.yaml``, loaded and validated once
per process (cached in ``runtime.cache``); a missing file means no achievements, an invalid
one raises the ``CatalogError`` naming ``file:line``.

Every metric is a counter of the user's state row, kept in the commit of what it counts
(``forest.counters``), so evaluating reads one row whatever the length of the history. The
forest's write use cases evaluate the metrics they move in their own commit
(``forest.moves``); ``evaluate`` here covers the rest -- a new friendship, trees, events
counted by ingestion -- and runs in full on every read of the user's achievements, so an
award is never missed. It is idempotent and safe to run concurrently: awards are written
with ``INSERT ... ON CONFLICT DO NOTHING`` on (user, achievement), and a reward item is
granted only with the award row actually inserted.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from greenenergy.db import forest_repo, play_repo, users_repo
from greenenergy.db.engine import Tx, in_write_tx, read_tx
from greenenergy.errors import GreenEnergyError
from greenenergy.forest import Achievement, Award, UserStats, grant_item, load_achievements, metric_value
from greenenergy.forest import evaluate as evaluate_awards
from greenenergy.forest.counters import stats
from greenenergy.forest.moves import Granted, Move
from greenenergy.services.runtime import Runtime

CACHE_KEY = "forest.achievements"
AFTER_FRIENDSHIP = ("friends",)
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


def _stats_of(connection: Tx, user_id: str, achievements: Collection[Achievement]) -> UserStats:
    counters = users_repo.counters(connection, [user_id])[user_id]
    friends = forest_repo.count_friends(connection, user_id) if any(a.metric == "friends" for a in achievements) else 0
    return stats(counters, friends=friends)


def evaluate(runtime: Runtime, user_id: str, metrics: Collection[str] | None = None) -> list[Award]:
    """Award what ``user_id`` newly reached; returns the awards this call stored.

    ``metrics`` limits the check to achievements on those metrics (None: all of them).
    """
    achievements = [a for a in catalog(runtime) if metrics is None or a.metric in metrics]
    if not achievements:
        return []
    with read_tx(runtime.engine) as connection:
        held = {row.achievement_id for row in forest_repo.award_rows(connection, user_id)}
        pending = [a for a in achievements if a.id not in held]
        due = evaluate_awards(pending, _stats_of(connection, user_id, pending), held) if pending else []
    if not due:
        return []
    now = runtime.clock.now()

    def work(connection: Tx) -> list[Award]:
        granted = [
            Granted(user_id, award, grant_item(item_id=uuid.uuid4().hex, user_id=user_id, kind=award.reward_item,
                                               now=now) if award.reward_item else None)
            for award in due
        ]  # fmt: skip
        stored = play_repo.store(connection, Move(granted=granted), now=now, tz=runtime.settings.zone)
        return [g.award for g in stored]

    return in_write_tx(runtime.engine, work)


def evaluate_quietly(runtime: Runtime, user_id: str, metrics: Collection[str] | None = None) -> None:
    """``evaluate`` after a committed change: a broken catalog must not turn the change's
    answer into an error (the change is already stored); it is logged, and the next read of
    the user's achievements reports it."""
    try:
        evaluate(runtime, user_id, metrics)
    except GreenEnergyError as error:
        log.warning("achievements not evaluated for %s: %s", user_id, error)


def list_achievements(runtime: Runtime, user_id: str) -> list[AchievementView]:
    """Every achievement of the catalog with the user's progress; awards what is due first."""
    evaluate(runtime, user_id)
    achievements = catalog(runtime)
    with read_tx(runtime.engine) as connection:
        awarded = {row.achievement_id: row for row in forest_repo.award_rows(connection, user_id)}
        stats = _stats_of(connection, user_id, achievements)
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
