"""Property, against the real database (SQLite and PostgreSQL): no sequence of redemptions,
confirmations (single and bulk), survival checks and replantings lets one photo, tag, or
point+date back two trees, puts a plot over capacity, spends a user's energy twice, or
leaves a tree whose history is not a path of the status graph, or a user whose ``trees``
counter differs from the trees they hold.

Each example gets a fresh database copied from the migrated template. A small in-memory
model predicts each outcome (it knows the prices, the places, the keys used and each tree's
status); the services must agree with it, and after every step the database is checked
directly: unique keys, occupancy, balances, histories replayed with ``planting.next_status``,
and the confirmations hash chain.
"""

from __future__ import annotations

import json
import os
import shutil
import textwrap
import uuid
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from greenenergy.clock import ManualClock
from greenenergy.config import load_settings
from greenenergy.db import users_repo
from greenenergy.db.chains import read_heads
from greenenergy.db.engine import make_engine, read_tx
from greenenergy.db.planting_repo import (
    CONFIRMATIONS,
    CONFIRMATIONS_CHAIN,
    EVENTS,
    HOLDERS,
    OCCUPANCY,
    TREES,
    confirmation_chain_records,
)
from greenenergy.errors import GreenEnergyError
from greenenergy.ledger import transfer, user_account, verify_shard
from greenenergy.planting import PlantingReport, SurvivalReport, next_status, report_location_key
from greenenergy.services import ledger
from greenenergy.services.planting import partner as planting_partner
from greenenergy.services.planting import redeem as planting_redeem
from greenenergy.services.runtime import Runtime
from greenenergy.units import shard_of
from tests.api.planting.conftest import TREES as TREES_YAML
from tests.conftest import START

pytestmark = pytest.mark.db

PG_URL = os.environ.get("GREENENERGY_TEST_DATABASE_URL")
PRICES = {"saxaul": 17_900, "fir": 330_759}
CAPACITY = {("p-1", "saxaul"): 2, ("p-1", "fir"): 1, ("p-2", "saxaul"): 2}
USERS = {"u-1": 40_000, "u-2": 40_000, "u-rich": 400_000}
# Two points per plot (latitude, longitude), inside their 0.01-degree squares.
POINTS = {"p-1": [(38.7011, 105.2011), (38.7022, 105.2022)], "p-2": [(38.7011, 105.3011), (38.7022, 105.3022)]}
PHOTOS = [f"{n:064x}" for n in range(1, 13)]
TAGS = [None, None, "T-1", "T-2", "t-1"]  # t-1 and T-1 are one tag
IN_THE_GROUND = {"planted", "alive", "replanted"}
AWAITING = {"awaiting_planting", "dead"}

PARTNER = """
partner_id: north
name: {zh: 北, en: North}
plots:
  - plot_id: p-1
    name: {zh: 一, en: P 1}
    kind: planting
    region: {province: Inner Mongolia, county: Alxa Left Banner}
    geometry: {type: Polygon, coordinates: [[[105.20, 38.70], [105.21, 38.70], [105.21, 38.71], [105.20, 38.71], [105.20, 38.70]]]}
    species: [{species_id: saxaul, capacity: 2}, {species_id: fir, capacity: 1}]
    season: {start: 2026-01-01, end: 2026-12-31}
    planting_deadline_days: 30
  - plot_id: p-2
    name: {zh: 二, en: P 2}
    kind: planting
    region: {province: Inner Mongolia, county: Alxa Left Banner}
    geometry: {type: Polygon, coordinates: [[[105.30, 38.70], [105.31, 38.70], [105.31, 38.71], [105.30, 38.71], [105.30, 38.70]]]}
    species: [{species_id: saxaul, capacity: 2}]
    season: {start: 2026-01-01, end: 2026-12-31}
    planting_deadline_days: 30
"""


class Databases:
    """Fresh databases copied from the session's migrated template."""

    def __init__(self, template: str, scratch: Path) -> None:
        self.template, self.scratch = template, scratch

    def create(self) -> str:
        if PG_URL is None:
            target = self.scratch / f"{uuid.uuid4().hex}.db"
            shutil.copyfile(self.template, target)
            return f"sqlite:///{target}"
        name = f"ge_prop_{uuid.uuid4().hex[:12]}"
        self._admin(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        return make_url(PG_URL).set(database=name).render_as_string(hide_password=False)

    def drop(self, url: str) -> None:
        if PG_URL is None:
            Path(make_url(url).database or "").unlink(missing_ok=True)
            return
        self._admin(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')

    @staticmethod
    def _admin(statement: str) -> None:
        admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")  # type: ignore[arg-type]
        with admin.connect() as connection:
            connection.execute(text(statement))
        admin.dispose()


def catalog_dir(root: Path) -> Path:
    (root / "trees").mkdir(parents=True, exist_ok=True)
    (root / "partners").mkdir(parents=True, exist_ok=True)
    (root / "trees" / "species.yaml").write_text(textwrap.dedent(TREES_YAML), encoding="utf-8")
    (root / "partners" / "north.yaml").write_text(textwrap.dedent(PARTNER), encoding="utf-8")
    return root


class PlantingMachine(RuleBasedStateMachine):
    databases: Databases
    catalog_root: Path

    trees = Bundle("trees")

    def __init__(self) -> None:
        super().__init__()
        self.url = self.databases.create()
        self.clock = ManualClock(START)
        config = load_settings(database_url=self.url, catalog_dir=self.catalog_root)
        self.runtime = Runtime(settings=config, engine=make_engine(config.sqlalchemy_url), clock=self.clock)
        for user, grams in USERS.items():
            ledger.post_one(
                self.runtime,
                transfer(
                    "mint",
                    debit="mint:test",
                    credit=user_account(user, "available"),
                    energy_g=grams,
                    shard=shard_of(user),
                ),
            )
        self.balance = dict(USERS)
        self.status: dict[str, str] = {}
        self.tree_plot: dict[str, str] = {}
        self.occupied: Counter[tuple[str, str]] = Counter()
        self.photos: set[str] = set()
        self.tags: set[str] = set()
        self.locations: set[str] = set()

    def teardown(self) -> None:
        self.runtime.close()
        self.databases.drop(self.url)

    # --- steps ---------------------------------------------------------------------

    @rule(
        target=trees,
        user=st.sampled_from(sorted(USERS)),
        species=st.sampled_from(sorted(PRICES)),
        plot=st.sampled_from([None, "p-1", "p-2"]),
    )
    def redeem(self, user: str, species: str, plot: str | None) -> object:
        offering = [p for p in ("p-1", "p-2") if (p, species) in CAPACITY]
        candidates = [plot] if plot is not None else offering
        free = {p: CAPACITY.get((p, species), 0) - self.occupied[(p, species)] for p in candidates}
        try:
            tree = planting_redeem.redeem(self.runtime, user, species, plot)
        except GreenEnergyError as error:
            if error.code == "species_not_in_plot":
                assert plot is not None and (plot, species) not in CAPACITY
            elif error.code == "plot_full":
                assert all(places <= 0 for places in free.values())
            else:
                assert error.code == "insufficient_energy" and self.balance[user] < PRICES[species], error.code
            return "no tree"
        assert free[tree.plot_id] == max(free.values()) > 0  # the requested or the freest plot
        assert self.balance[user] >= PRICES[species]
        self.balance[user] -= PRICES[species]
        self.occupied[(tree.plot_id, species)] += 1
        self.status[tree.tree_id] = "awaiting_planting"
        self.tree_plot[tree.tree_id] = tree.plot_id
        return tree.tree_id

    def _report(self, tree_id: str, point: int, photo: str, tag: str | None, wrong_species: bool) -> PlantingReport:
        latitude, longitude = POINTS[self.tree_plot.get(tree_id, "p-1")][point]
        species = self._species(tree_id) or "saxaul"
        if wrong_species:
            species = "fir" if species == "saxaul" else "saxaul"
        return PlantingReport(
            tree_id=tree_id,
            partner_id="north",
            species_id=species,
            planted_at=self.clock.now(),
            latitude=latitude,
            longitude=longitude,
            photo_sha256=photo,
            tag=tag,
        )

    def _species(self, tree_id: str) -> str | None:
        with read_tx(self.runtime.engine) as connection:
            return connection.execute(select(TREES.c.species_id).where(TREES.c.tree_id == tree_id)).scalar()

    def _predict(self, report: PlantingReport) -> set[str]:
        """Why the confirmation must be refused (empty: it must be accepted)."""
        if report.tree_id not in self.status:
            return {"tree_not_found"}
        reasons = set()
        if self.status[report.tree_id] not in AWAITING:
            reasons.add("already_planted")
        if report.species_id != self._species(report.tree_id):
            reasons.add("species_mismatch")
        if report.photo_sha256 in self.photos:
            reasons.add("duplicate_photo")
        if report.tag is not None and report.tag.upper() in self.tags:
            reasons.add("duplicate_tag")
        if report_location_key(report, tz=self.runtime.settings.zone) in self.locations:
            reasons.add("duplicate_location")
        return reasons

    def _accept(self, report: PlantingReport) -> None:
        current = self.status[report.tree_id]
        self.status[report.tree_id] = "planted" if current == "awaiting_planting" else "replanted"
        self.photos.add(report.photo_sha256)
        if report.tag is not None:
            self.tags.add(report.tag.upper())
        self.locations.add(report_location_key(report, tz=self.runtime.settings.zone))

    @rule(
        tree=trees,
        point=st.integers(0, 1),
        photo=st.sampled_from(PHOTOS),
        tag=st.sampled_from(TAGS),
        wrong_species=st.sampled_from([False, False, False, True]),
    )
    def confirm(self, tree: str, point: int, photo: str, tag: str | None, wrong_species: bool) -> None:
        tree_id = tree if tree != "no tree" else "0" * 32
        report = self._report(tree_id, point, photo, tag, wrong_species)
        expected = self._predict(report)
        try:
            planting_partner.confirm_planting(self.runtime, report)
        except GreenEnergyError as error:
            assert error.code in expected, (error.code, expected)
            return
        assert not expected, expected
        self._accept(report)

    @rule(
        first=trees,
        second=trees,
        points=st.tuples(st.integers(0, 1), st.integers(0, 1)),
        photos=st.tuples(st.sampled_from(PHOTOS), st.sampled_from(PHOTOS)),
        tags=st.tuples(st.sampled_from(TAGS), st.sampled_from(TAGS)),
    )
    def confirm_bulk(
        self,
        first: str,
        second: str,
        points: tuple[int, int],
        photos: tuple[str, str],
        tags: tuple[str | None, str | None],
    ) -> None:
        reports = [
            self._report(tree if tree != "no tree" else "0" * 32, point, photo, tag, False)
            for tree, point, photo, tag in zip((first, second), points, photos, tags, strict=True)
        ]
        rows = [
            {
                "tree_id": r.tree_id,
                "planted_at": r.planted_at.isoformat(),
                "latitude": r.latitude,
                "longitude": r.longitude,
                "species_id": r.species_id,
                "photo_sha256": r.photo_sha256,
                **({"tag": r.tag} if r.tag is not None else {}),
            }
            for r in reports
        ]
        answer = planting_partner.confirm_bulk(self.runtime, "north", json.dumps(rows).encode(), body_format="json")
        for report, result in zip(reports, answer.results, strict=True):
            expected = self._predict(report)  # rows are applied in order: row 2 sees row 1
            if result.result == "rejected":
                assert result.code in expected, (result.code, expected)
            else:
                assert not expected, expected
                self._accept(report)

    @rule(tree=trees, alive=st.booleans(), photo=st.sampled_from(PHOTOS))
    def survival(self, tree: str, alive: bool, photo: str) -> None:
        tree_id = tree if tree != "no tree" else "0" * 32
        report = SurvivalReport(
            tree_id=tree_id, partner_id="north", checked_at=self.clock.now(), alive=alive, photo_sha256=photo
        )
        try:
            planting_partner.report_survival(self.runtime, report)
        except GreenEnergyError as error:
            allowed = {"tree_not_found", "invalid_transition", "duplicate_photo"}
            assert error.code in allowed, error.code
            assert tree_id not in self.status or self.status[tree_id] not in IN_THE_GROUND or photo in self.photos, (
                error.code
            )
            return
        assert self.status[tree_id] in IN_THE_GROUND and photo not in self.photos
        self.status[tree_id] = "alive" if alive else "dead"
        self.photos.add(photo)

    @rule(hours=st.integers(1, 60))
    def wait(self, hours: int) -> None:
        self.clock.advance(hours=hours)

    # --- what the database must show after every step ---------------------------------

    @invariant()
    def database_agrees(self) -> None:
        with read_tx(self.runtime.engine) as connection:
            confirmations = list(
                connection.execute(
                    select(
                        CONFIRMATIONS.c.tree_id,
                        CONFIRMATIONS.c.kind,
                        CONFIRMATIONS.c.photo_sha256,
                        CONFIRMATIONS.c.tag,
                        CONFIRMATIONS.c.location_key,
                    )
                )
            )
            trees = {row.tree_id: row for row in connection.execute(select(TREES))}
            history = {}
            for row in connection.execute(select(EVENTS).order_by(EVENTS.c.tree_id, EVENTS.c.seq)):
                history.setdefault(row.tree_id, []).append(row)
            occupancy = {(r.plot_id, r.species_id): r.occupied for r in connection.execute(select(OCCUPANCY))}
            balances = {user: ledger_total(connection, user) for user in USERS}
            sink = connection.execute(
                text("SELECT COALESCE(SUM(energy_g), 0) FROM ledger_postings WHERE account = 'sink:trees'")
            ).scalar_one()
            heads = read_heads(connection, CONFIRMATIONS_CHAIN)
            chain_findings = [
                f
                for s in {r.shard for r in trees.values()}
                for f in verify_shard(s, list(confirmation_chain_records(connection, s)), heads[s], noun="confirmation")
            ]
            planted_rows = connection.execute(
                select(func.count()).select_from(CONFIRMATIONS).where(CONFIRMATIONS.c.kind == "planting")
            ).scalar_one()
            held = Counter(h for (h,) in connection.execute(select(HOLDERS.c.holder_id)))
            trees_counters = {u: c.trees for u, c in users_repo.counters(connection, list(USERS)).items()}
        # One photo, tag or point+date backs one confirmation, hence one tree.
        for position in (2, 3, 4):
            keys = [row[position] for row in confirmations if row[position] is not None]
            assert len(keys) == len(set(keys))
        assert {row.photo_sha256 for row in confirmations} == self.photos
        # No plot over capacity; occupancy counts exactly the trees redeemed there.
        per_plot = Counter((t.plot_id, t.species_id) for t in trees.values())
        assert occupancy == dict(per_plot.items())
        assert all(n <= CAPACITY[key] for key, n in per_plot.items())
        # Energy spent once per tree, never more.
        assert balances == self.balance
        assert sink == sum(t.energy_g for t in trees.values())
        # Every history replays through the status graph to the stored status.
        assert {t: row.status for t, row in trees.items()} == self.status
        for tree_id, tree in trees.items():
            events = history[tree_id]
            assert [e.seq for e in events] == list(range(len(events))) and events[0].event == "redeemed"
            status = "awaiting_planting"
            for event in events[1:]:
                status = next_status(status, event.event).value
                assert event.status == status
            assert status == tree.status and tree.version == len(events)
            assert tree.plantings == sum(1 for e in events if e.event in ("planted", "replanted"))
        assert planted_rows == sum(t.plantings for t in trees.values())
        # Each user's trees counter is written with every tree they hold.
        assert trees_counters == {user: held[user] for user in USERS}
        assert chain_findings == []


def ledger_total(connection, user: str) -> int:
    return int(
        connection.execute(
            text("SELECT COALESCE(SUM(balance_g), 0) FROM ledger_balances WHERE account = :a"),
            {"a": user_account(user, "available")},
        ).scalar_one()
    )


def test_redeem_confirm_survival_replant_keep_invariant_5_in_the_database(
    _template: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    PlantingMachine.databases = Databases(_template, tmp_path_factory.mktemp("property-dbs"))
    PlantingMachine.catalog_root = catalog_dir(tmp_path_factory.mktemp("property-catalog"))
    run_state_machine_as_test(
        PlantingMachine,
        settings=settings(max_examples=20 if PG_URL else 40, stateful_step_count=25, deadline=None),
    )
