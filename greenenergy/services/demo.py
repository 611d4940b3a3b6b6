"""The living forest of `make demo`: seed_data/ replayed through the real services.

seed_data/ holds users, friendships and four weeks of events whose times are anchored at
``anchor_today`` (seed_data/seed.json). The loader shifts every time by whole days so the
last day of activity is yesterday, then replays the weeks day by day on a simulated clock,
through the same services the API uses:

- evenings: each business unit's events of the day are ingested (balls ripen next 07:00);
- mornings: most users collect their ripe balls (some forget, so balls expire), friends
  steal from each other, now and then water each other; one user uses a protection cover;
- a user whose available energy covers a saxaul redeems one; partners confirm orders two
  days later with a point inside the plot, and report survival a week after planting;
- every day the scheduled jobs run (expiry, overdue orders).

Deterministic (a fixed seed). Loading twice is a no-op: the first seed event marks it.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd
from shapely.geometry import Point

from greenenergy.clock import ManualClock
from greenenergy.db import events_repo
from greenenergy.db.engine import read_tx
from greenenergy.errors import GreenEnergyError
from greenenergy.planting import PlantingReport, Plot, SurvivalReport
from greenenergy.scheduler.jobs import run_all
from greenenergy.services.catalogs import rulebook
from greenenergy.services.forest import achievements as forest_achievements
from greenenergy.services.forest import balls as forest_balls
from greenenergy.services.forest import friends as forest_friends
from greenenergy.services.forest import items as forest_items
from greenenergy.services.forest import steal as forest_steal
from greenenergy.services.forest import water as forest_water
from greenenergy.services.ingest import ingest
from greenenergy.services.ingest.files import FRAME_IGNORED, rows_from_frame
from greenenergy.services.planting import catalog as planting_catalog
from greenenergy.services.planting import partner as planting_partner
from greenenergy.services.planting import redeem as planting_redeem
from greenenergy.services.runtime import Runtime

SEED = 20261123
TREE_SPECIES = "saxaul"
WATER_AMOUNTS = (10, 18, 33, 66)
T = TypeVar("T")


@dataclass
class DemoSummary:
    loaded: bool
    users: int = 0
    events: int = 0
    trees: int = 0
    confirmed: int = 0


def seed_dir(runtime: Runtime) -> Path:
    return runtime.settings.catalog_dir / "seed_data"


def already_loaded(runtime: Runtime, events: pd.DataFrame) -> bool:
    first = events.iloc[0]
    with read_tx(runtime.engine) as connection:
        return events_repo.get_event(connection, str(first["source"]), str(first["event_id"])) is not None


def load(runtime: Runtime) -> DemoSummary:
    """Replay seed_data/ up to now (see the module docstring)."""
    folder = seed_dir(runtime)
    manifest = json.loads((folder / "seed.json").read_text())
    users = pd.read_csv(folder / "users.csv", dtype=str)
    friendships = pd.read_csv(folder / "friendships.csv", dtype=str)
    events = pd.read_csv(folder / "events.csv", dtype=str, keep_default_na=False)
    if already_loaded(runtime, events):
        return DemoSummary(loaded=False)
    tz = runtime.settings.zone
    today = runtime.clock.now().astimezone(tz).date()
    shift = today - date.fromisoformat(manifest["anchor_today"])
    occurred = pd.to_datetime(events["occurred_at"], utc=False).map(lambda t: t + shift)
    events["occurred_at"] = occurred.map(lambda t: t.isoformat())
    events["local_day"] = occurred.map(lambda t: t.astimezone(tz).date())
    first_day = min(events["local_day"])

    clock = ManualClock(datetime.combine(first_day, time(6), tzinfo=tz))
    sim = Runtime(settings=runtime.settings, engine=runtime.engine, clock=clock, cache=runtime.cache)
    world = _World(sim, users, rng=random.Random(SEED))
    for row in friendships.itertuples(index=False):
        forest_friends.request(sim, row.user_id, row.friend_id)
        forest_friends.request(sim, row.friend_id, row.user_id)
    day = first_day
    while day < today:
        world.morning(day)
        world.partners(day)
        todays = events[events["local_day"] == day]
        clock.set(datetime.combine(day, time(23, 30), tzinfo=tz))
        world.ingest_day(todays)
        run_all(sim)
        day += timedelta(days=1)
    clock.set(runtime.clock.now())
    run_all(sim)
    for user_id in users["user_id"]:
        forest_achievements.evaluate_quietly(sim, user_id)
    return DemoSummary(loaded=True, users=len(users), events=len(events), trees=world.trees, confirmed=world.confirmed)


class _World:
    """The demo's actors and their habits, acting through the services."""

    def __init__(self, runtime: Runtime, users: pd.DataFrame, rng: random.Random) -> None:
        self.runtime = runtime
        self.rng = rng
        self.activity = {row.user_id: float(row.activity) for row in users.itertuples(index=False)}
        self.friends: dict[str, list[str]] = defaultdict(list)
        self.trees = 0
        self.confirmed = 0
        self.planted_on: dict[str, tuple[str, date]] = {}  # tree_id -> (partner_id, planted day)
        self.covered = False

    def at(self, day: date, hour: int, minute: int = 0) -> None:
        self.runtime.clock.set(datetime.combine(day, time(hour, minute), tzinfo=self.runtime.settings.zone))

    def morning(self, day: date) -> None:
        users = sorted(self.activity)
        self.at(day, 7, 30)
        for user_id in users:
            if self.rng.random() < 0.45 + 0.5 * self.activity[user_id]:
                self._quietly(forest_balls.collect_all, self.runtime, user_id)
        self.at(day, 8, 15)
        if not self.covered and day.weekday() == 5:
            item = forest_items.grant(self.runtime, user_id="u-bob", kind="protection_cover", granted_by="demo")
            forest_items.use(self.runtime, user_id="u-bob", item_id=item.item_id)
            self.covered = True
        for thief in users:
            if self.rng.random() < 0.5 * self.activity[thief]:
                self._steal_round(thief)
        self.at(day, 12, 0)
        for giver in users:
            if self.rng.random() < 0.15:
                self._water(giver)
        self.at(day, 19, 0)
        for user_id in users:
            self._maybe_plant(user_id)

    def _friends_of(self, user_id: str) -> list[str]:
        return [f.friend_id for f in forest_friends.list_friends(self.runtime, user_id) if f.status == "friends"]

    def _steal_round(self, thief: str) -> None:
        for victim in self._friends_of(thief):
            for ball in forest_balls.list_balls(self.runtime, victim):
                if ball.status == "ripe" and self.rng.random() < 0.35:
                    self._quietly(
                        forest_steal.steal, self.runtime, thief_id=thief, victim_id=victim, ball_id=ball.ball_id
                    )

    def _water(self, giver: str) -> None:
        friends = self._friends_of(giver)
        if friends:
            self._quietly(
                forest_water.water,
                self.runtime,
                giver_id=giver,
                friend_id=self.rng.choice(friends),
                energy_g=self.rng.choice(WATER_AMOUNTS),
            )

    def _maybe_plant(self, user_id: str) -> None:
        price = planting_catalog.catalog(self.runtime).get_species(TREE_SPECIES).energy_g
        affordable = forest_balls.energy(self.runtime, user_id).available_g >= price
        if affordable and self._quietly(planting_redeem.redeem, self.runtime, user_id, TREE_SPECIES) is not None:
            self.trees += 1

    def partners(self, day: date) -> None:
        """Partners confirm orders two days old, and check survival a week after planting."""
        self.at(day, 10, 0)
        catalog = planting_catalog.catalog(self.runtime)
        for partner in catalog.partners.values():
            for order in planting_partner.list_orders(self.runtime, partner.partner_id, status="pending"):
                if self.runtime.clock.now() - order.redeemed_at < timedelta(days=2):
                    continue
                plot = catalog.get_plot(order.plot_id)
                latitude, longitude = self._point_in(plot, order.tree_id)
                report = PlantingReport(
                    tree_id=order.tree_id,
                    partner_id=partner.partner_id,
                    species_id=order.species_id,
                    planted_at=self.runtime.clock.now() - timedelta(hours=2),
                    latitude=latitude,
                    longitude=longitude,
                    photo_sha256=hashlib.sha256(f"demo-photo-{order.tree_id}".encode()).hexdigest(),
                    tag=f"TAG-{order.tree_id[:10].upper()}",
                )
                if self._quietly(planting_partner.confirm_planting, self.runtime, report) is not None:
                    self.confirmed += 1
                    self.planted_on[order.tree_id] = (partner.partner_id, day)
        for tree_id, (partner_id, planted) in list(self.planted_on.items()):
            if day - planted >= timedelta(days=7):
                self._quietly(
                    planting_partner.report_survival,
                    self.runtime,
                    SurvivalReport(
                        tree_id=tree_id,
                        partner_id=partner_id,
                        checked_at=self.runtime.clock.now() - timedelta(hours=1),
                        alive=True,
                        photo_sha256=hashlib.sha256(f"demo-survival-{tree_id}".encode()).hexdigest(),
                    ),
                )
                del self.planted_on[tree_id]

    def _point_in(self, plot: Plot, tree_id: str) -> tuple[float, float]:
        """A point inside the plot, different for every tree (a tree's own spot)."""
        polygon = plot.polygon
        minx, miny, maxx, maxy = polygon.bounds
        rng = random.Random(tree_id)
        for _ in range(1000):
            point = Point(rng.uniform(minx, maxx), rng.uniform(miny, maxy))
            if polygon.contains(point):
                return round(point.y, 6), round(point.x, 6)
        centre = polygon.representative_point()
        return round(centre.y, 6), round(centre.x, 6)

    def ingest_day(self, todays: pd.DataFrame) -> None:
        rules = rulebook(self.runtime)
        for source, frame in todays.groupby("source", sort=True):
            rows = [
                r.event
                for r in rows_from_frame(frame.drop(columns=list(FRAME_IGNORED)), rules, source="csv")
                if r.event is not None
            ]
            for start in range(0, len(rows), 1000):
                ingest(self.runtime, source_id=str(source), events=rows[start : start + 1000])

    @staticmethod
    def _quietly(action: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
        """Demo actors try things real users try; a refusal (not ripe, limits) is part of the game."""
        try:
            return action(*args, **kwargs)
        except GreenEnergyError:
            return None
