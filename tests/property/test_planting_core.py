"""Property: redeem / confirm / survival / replant in any order keep DESIGN invariant 5.

An in-memory model plays the database: it counts plot occupancy, remembers the photos,
tags and point+date keys already used, and each tree's status and history. Only the pure
planting functions decide; after every step we check, against our own records, that

- no photo hash, tag, or point+date ever confirmed two plantings;
- no plot holds more trees of a species than its capacity, and occupancy equals the
  trees actually redeemed there (replanting reuses the dead tree's place);
- every tree's history is a path of the documented status graph (written out here, not
  imported) ending in its current status, with one confirmation per (re)planting.

Every refusal must be deserved: before each step the model works out on its own which
refusals the inputs justify (``redeem_refusals``, ``planting_refusals``,
``survival_refusals``: the rules written out here); the core must raise one of those when
there are any and must accept the step when there are none -- so a core that refused
everything would fail.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from zoneinfo import ZoneInfo

from hypothesis import event as hypothesis_event
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from greenenergy.errors import GreenEnergyError
from greenenergy.planting import (
    OrderFacts,
    PlantingReport,
    PlotFull,
    SurvivalReport,
    TreeEvent,
    TreeStatus,
    check_planting,
    check_survival,
    choose_plot,
    next_status,
    report_location_key,
)
from greenenergy.planting.catalog import PartnerCatalog, PlantingCatalog, SpeciesCatalog
from greenenergy.planting.confirmation import normalize_tag
from greenenergy.planting.model import Plot, Species

TZ = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 4, 1, 2, 0, tzinfo=UTC)

ALLOWED = {
    ("awaiting_planting", "planted"): "planted",
    ("planted", "survival_alive"): "alive",
    ("planted", "survival_dead"): "dead",
    ("alive", "survival_alive"): "alive",
    ("alive", "survival_dead"): "dead",
    ("replanted", "survival_alive"): "alive",
    ("replanted", "survival_dead"): "dead",
    ("dead", "replanted"): "replanted",
}


def _species(species_id: str, energy_g: int) -> Species:
    return Species.model_validate(
        {
            "species_id": species_id,
            "kind": "tree",
            "unit": "tree",
            "names": {"zh": species_id, "en": species_id},
            "scientific_name": species_id,
            "energy_g": energy_g,
            "verified": True,
            "price_source": "test",
            "typical_regions": ["test"],
            "co2_absorbed_kg_lifetime": 1.0,
            "co2_source": "test",
            "co2_verified": False,
        }
    )


def _plot(plot_id: str, lon0: float, capacities: dict[str, int]) -> Plot:
    ring = [[lon0, 38.70], [lon0 + 0.01, 38.70], [lon0 + 0.01, 38.71], [lon0, 38.71], [lon0, 38.70]]
    return Plot.model_validate(
        {
            "plot_id": plot_id,
            "partner_id": "north",
            "name": {"zh": plot_id, "en": plot_id},
            "kind": "planting",
            "region": {"province": "Inner Mongolia", "county": "Alxa Left Banner"},
            "geometry": {"type": "Polygon", "coordinates": [ring]},
            "species": [{"species_id": s, "capacity": c} for s, c in capacities.items()],
            "season": {"start": datetime(2026, 3, 15).date(), "end": datetime(2026, 5, 31).date()},
            "planting_deadline_days": 90,
        }
    )


PLOTS = {"a-01": _plot("a-01", 105.20, {"saxaul": 3, "fir": 1}), "a-02": _plot("a-02", 105.30, {"saxaul": 2})}
CATALOG = PlantingCatalog(
    SpeciesCatalog(MappingProxyType({"saxaul": _species("saxaul", 17_900), "fir": _species("fir", 330_759)})),
    PartnerCatalog(plots=MappingProxyType(PLOTS)),
)
# Points inside a-01 (3), inside a-02 (2), outside both, and one within a metre of the first.
POINTS = [
    (38.705, 105.205),
    (38.702, 105.202),
    (38.708, 105.207),
    (38.705, 105.305),
    (38.703, 105.303),
    (38.72, 105.205),
    (38.705001, 105.205002),
]
# The plots as the model knows them: places per (plot, species), and the squares' corners.
CAPACITY = {("a-01", "saxaul"): 3, ("a-01", "fir"): 1, ("a-02", "saxaul"): 2}
SQUARES = {"a-01": (38.70, 105.20), "a-02": (38.70, 105.30)}  # (south, west), 0.01 degree a side
IN_TREE = ("awaiting_planting", "dead")  # a planting confirmation is due
IN_GROUND = ("planted", "alive", "replanted")  # a survival check applies
CLOCK_SKEW = timedelta(minutes=5)
PHOTOS = [f"{i:064x}" for i in range(4)]
TAGS = [None, None, "T-1", "t-1", "T-2"]  # "t-1" is "T-1" in another case
# Mostly well-formed reports, so that many confirmations succeed and evidence gets reused.
MINUTES = st.one_of(st.integers(0, 5), st.integers(-3_000, 10))
WRONG_SPECIES = st.integers(0, 4).map(lambda n: n == 0)


def inside(plot_id: str, latitude: float, longitude: float) -> bool:
    south, west = SQUARES[plot_id]
    return south <= latitude <= south + 0.01 and west <= longitude <= west + 0.01


def point_key(latitude: float, longitude: float, planted_at: datetime) -> tuple[str, str, str]:
    """A point (5 decimals) and its local date: one planting each."""
    return f"{latitude:.5f}", f"{longitude:.5f}", planted_at.astimezone(TZ).date().isoformat()


class PlantingModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = START
        self.occupancy: Counter[tuple[str, str]] = Counter()
        self.trees: dict[str, dict] = {}
        self.confirmations: list[tuple[str, str, str | None, str]] = []  # tree, photo, tag, location key
        self.points: set[tuple[str, str, str]] = set()  # point_key of every confirmation

    def free(self, plot_id: str, species_id: str) -> int:
        return CAPACITY.get((plot_id, species_id), 0) - self.occupancy[(plot_id, species_id)]

    def redeem_refusals(self, species_id: str, requested: str | None) -> set[str]:
        """The refusal a redemption deserves (``planting.allocation``'s rules, written out)."""
        if requested is not None and requested not in SQUARES:
            return {"plot_not_found"}
        if requested is not None and (requested, species_id) not in CAPACITY:
            return {"species_not_in_plot"}
        offering = [p for p, s in CAPACITY if s == species_id and requested in (None, p)]
        return {"plot_full"} if all(self.free(p, species_id) < 1 for p in offering) else set()

    @rule(species_id=st.sampled_from(["saxaul", "fir"]), requested=st.sampled_from([None, "a-01", "a-02", "z-9"]))
    def redeem(self, species_id: str, requested: str | None) -> None:
        deserved = self.redeem_refusals(species_id, requested)
        try:
            plot = choose_plot(CATALOG, species_id, self.occupancy, requested)
        except PlotFull as error:
            hypothesis_event("redeem refused: plot_full")
            offering = [p for p in PLOTS.values() if p.offers(species_id) and requested in (None, p.plot_id)]
            assert all(self.occupancy[(p.plot_id, species_id)] >= p.capacity_of(species_id) for p in offering)
            assert error.code in deserved, (error.code, deserved)
            return
        except GreenEnergyError as error:
            assert error.code in deserved, (error.code, deserved)
            hypothesis_event(f"redeem refused: {error.code}")
            return
        assert not deserved, f"redeemed though it deserved {sorted(deserved)}"
        # The requested plot, else the one with the most free places (ties: the smallest id).
        offering = sorted(p for p, s in CAPACITY if s == species_id)
        expected = requested or min(offering, key=lambda p: (-self.free(p, species_id), p))
        assert plot.plot_id == expected
        assert self.occupancy[(plot.plot_id, species_id)] < plot.capacity_of(species_id)
        self.occupancy[(plot.plot_id, species_id)] += 1
        tree_id = f"t-{len(self.trees)}"
        self.trees[tree_id] = {
            "plot_id": plot.plot_id,
            "species_id": species_id,
            "status": TreeStatus.AWAITING_PLANTING,
            "ordered_at": self.now,
            "planted_at": None,
            "history": [],
        }

    @precondition(lambda self: self.trees)
    @rule(
        pick=st.integers(0, 10_000),
        photo=st.sampled_from(PHOTOS),
        tag=st.sampled_from(TAGS),
        point=st.sampled_from(POINTS),
        minutes=MINUTES,
        wrong_species=WRONG_SPECIES,
    )
    def confirm(
        self, pick: int, photo: str, tag: str | None, point: tuple[float, float], minutes: int, wrong_species: bool
    ) -> None:
        tree_id = sorted(self.trees)[pick % len(self.trees)]
        tree = self.trees[tree_id]
        plot = PLOTS[tree["plot_id"]]
        species_id = ("fir" if tree["species_id"] == "saxaul" else "saxaul") if wrong_species else tree["species_id"]
        report = PlantingReport(
            tree_id=tree_id,
            partner_id="north",
            species_id=species_id,
            planted_at=self.now + timedelta(minutes=minutes),
            latitude=point[0],
            longitude=point[1],
            photo_sha256=photo,
            tag=tag,
        )
        key = report_location_key(report, tz=TZ)
        order = OrderFacts(
            order_id=f"o-{tree_id}",
            tree_id=tree_id,
            plot_id=plot.plot_id,
            species_id=tree["species_id"],
            ordered_at=tree["ordered_at"],
            tree_status=tree["status"],
        )
        used_tags = {t for _, _, t, _ in self.confirmations if t is not None}
        deserved = self.planting_refusals(tree, report)
        try:
            event = check_planting(
                order,
                report,
                plot,
                self.now,
                seen_photo=photo in {p for _, p, _, _ in self.confirmations},
                seen_tag=tag is not None and normalize_tag(tag) in used_tags,
                seen_point_and_date=key in {k for _, _, _, k in self.confirmations},
            )
        except GreenEnergyError as error:
            assert error.code in deserved, (error.code, deserved)
            hypothesis_event(f"planting refused: {error.code}")
            return
        assert not deserved, f"confirmed though it deserved {sorted(deserved)}"
        assert event.value == ("planted" if tree["status"] == "awaiting_planting" else "replanted")
        hypothesis_event(f"confirmed: {event.value}")
        assert plot.contains(latitude=point[0], longitude=point[1])
        tree["status"] = next_status(tree["status"], event)
        tree["history"].append(event.value)
        tree["planted_at"] = report.planted_at
        self.confirmations.append((tree_id, photo, normalize_tag(tag) if tag else None, key))
        self.points.add(point_key(report.latitude, report.longitude, report.planted_at))

    def planting_refusals(self, tree: dict, report: PlantingReport) -> set[str]:
        """The refusals a planting confirmation deserves (``planting.confirmation``'s checks,
        written out; the reports generated here are always well formed)."""
        deserved = set()
        if tree["status"] not in IN_TREE:
            deserved.add("already_planted")
        if report.species_id != tree["species_id"]:
            deserved.add("species_mismatch")
        if report.planted_at > self.now + CLOCK_SKEW:
            deserved.add("in_future")
        if report.planted_at < tree["ordered_at"]:
            deserved.add("planted_before_redeemed")
        if not inside(tree["plot_id"], report.latitude, report.longitude):
            deserved.add("outside_plot")
        if report.photo_sha256 in {p for _, p, _, _ in self.confirmations}:
            deserved.add("duplicate_photo")
        if report.tag is not None and report.tag.strip().upper() in {t for _, _, t, _ in self.confirmations}:
            deserved.add("duplicate_tag")
        if point_key(report.latitude, report.longitude, report.planted_at) in self.points:
            deserved.add("duplicate_location")
        return deserved

    @precondition(lambda self: self.trees)
    @rule(pick=st.integers(0, 10_000), alive=st.booleans())
    def survival(self, pick: int, alive: bool) -> None:
        tree_id = sorted(self.trees)[pick % len(self.trees)]
        tree = self.trees[tree_id]
        report = SurvivalReport(
            tree_id=tree_id, partner_id="north", checked_at=self.now, alive=alive, photo_sha256=PHOTOS[0]
        )
        planted_at = tree["planted_at"] or self.now
        deserved = set()
        if tree["status"] not in IN_GROUND:
            deserved.add("invalid_transition")
        if self.now < planted_at:
            deserved.add("checked_before_planted")
        try:
            event = check_survival(tree["status"], planted_at, PLOTS[tree["plot_id"]], report, self.now)
        except GreenEnergyError as error:
            assert error.code in deserved, (error.code, deserved)
            hypothesis_event(f"survival refused: {error.code}")
            return
        assert not deserved, f"survival check accepted though it deserved {sorted(deserved)}"
        assert event.value == ("survival_alive" if alive else "survival_dead")
        tree["status"] = next_status(tree["status"], event)
        tree["history"].append(event.value)
        if event is TreeEvent.SURVIVAL_DEAD:
            tree["ordered_at"] = self.now  # the replanting order is placed when the death is reported

    @rule(hours=st.integers(1, 48))
    def advance(self, hours: int) -> None:
        self.now += timedelta(hours=hours)

    @invariant()
    def evidence_is_never_reused(self) -> None:
        for column in (1, 2, 3):
            values = [row[column] for row in self.confirmations if row[column] is not None]
            assert len(values) == len(set(values)), f"column {column} reused: {values}"

    @invariant()
    def plots_never_overfill(self) -> None:
        redeemed = Counter((t["plot_id"], t["species_id"]) for t in self.trees.values())
        assert redeemed == +self.occupancy
        for (plot_id, species_id), count in redeemed.items():
            assert count <= PLOTS[plot_id].capacity_of(species_id)

    @invariant()
    def histories_follow_the_graph(self) -> None:
        confirmed = Counter(tree_id for tree_id, *_ in self.confirmations)
        for tree_id, tree in self.trees.items():
            status = "awaiting_planting"
            for event in tree["history"]:
                status = ALLOWED[(status, event)]
            assert status == tree["status"]
            plantings = sum(event in ("planted", "replanted") for event in tree["history"])
            assert confirmed[tree_id] == plantings


TestPlantingModel = PlantingModel.TestCase
TestPlantingModel.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)
