"""Loading trees/ and partners/: every problem reported as ``file:line: id: message``."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from greenenergy.errors import CatalogError
from greenenergy.planting import (
    check_planting_catalog,
    load_partners,
    load_planting_catalog,
    load_species,
)
from tests.unit.planting.conftest import NORTH, SOUTH, TREES, write_catalog

REPO = Path(__file__).resolve().parents[3]


def line_of(text: str, needle: str) -> int:
    """1-based line of the first line of (dedented) ``text`` containing ``needle``."""
    for number, line in enumerate(textwrap.dedent(text).splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in text")


def only_problem(problems: list[str]) -> str:
    assert len(problems) == 1, problems
    return problems[0]


# The shipped catalog.


def test_shipped_catalog_loads_without_problems():
    assert check_planting_catalog(REPO) == []
    catalog = load_planting_catalog(REPO)
    assert len(catalog.partners) >= 3
    assert any(plot.kind == "conservation" for plot in catalog.plots.values())


def test_shipped_prices_are_the_reference_figures_with_their_flags():
    catalog = load_planting_catalog(REPO)
    reference = {
        "saxaul": (17_900, True),
        "sand_willow": (19_680, False),
        "red_willow": (22_400, True),
        "mongolian_pine": (146_210, True),
        "desert_poplar": (215_680, False),
        "fir": (330_759, True),
    }
    for species_id, (energy_g, verified) in reference.items():
        species = catalog.get_species(species_id)
        assert (species.energy_g, species.verified) == (energy_g, verified), species_id
        assert type(species.energy_g) is int


def test_shipped_also_planted_species_are_marked_unverified():
    catalog = load_planting_catalog(REPO)
    for species_id in ("huabang", "sea_buckthorn", "yangchai", "caragana", "elm", "spruce"):
        assert catalog.get_species(species_id).verified is False, species_id


def test_every_shipped_species_is_offered_by_some_plot():
    catalog = load_planting_catalog(REPO)
    for species_id in catalog.species:
        assert catalog.plots_offering(species_id), species_id


def test_shipped_plots_lie_in_china_and_hold_their_capacity():
    catalog = load_planting_catalog(REPO)
    for plot in catalog.plots.values():
        centre = plot.polygon.centroid
        assert 73 < centre.x < 135 and 18 < centre.y < 54, plot.plot_id  # lon, lat of China
        assert plot.contains(latitude=centre.y, longitude=centre.x)
        per_unit = 10 if plot.kind == "planting" else 1
        assert plot.area_m2 >= plot.total_capacity * per_unit, plot.plot_id


# A good small catalog.


def test_small_catalog_loads_with_partner_ids_on_plots(tmp_path):
    catalog = load_planting_catalog(write_catalog(tmp_path))
    assert sorted(catalog.plots) == ["a-01", "a-02", "c-01"]
    assert catalog.get_plot("a-02").partner_id == "north"
    assert catalog.partners["north"].plot_ids == ("a-01", "a-02")
    assert catalog.get_plot("a-01").capacity_of("fir") == 1
    assert catalog.get_plot("a-01").capacity_of("share") == 0


def test_load_species_then_partners_separately(tmp_path):
    root = write_catalog(tmp_path)
    species = load_species(root / "trees")
    partners = load_partners(root / "partners", species)
    assert [s.species_id for s in species] == ["share", "saxaul", "fir"]  # cheapest first
    assert set(partners.plots) == {"a-01", "a-02", "c-01"}


# Species problems.


def test_float_energy_is_refused_at_its_line(tmp_path):
    trees = TREES.replace("energy_g: 17900", "energy_g: 17900.5")
    problem = only_problem(check_planting_catalog(write_catalog(tmp_path, trees=trees)))
    path = tmp_path / "trees" / "species.yaml"
    assert problem.startswith(f"{path}:{line_of(trees, '17900.5')}: saxaul: energy_g:")
    assert "valid integer" in problem


def test_unknown_key_is_refused(tmp_path):
    trees = TREES.replace("    energy_g: 330759\n", "    energy_g: 330759\n    colour: green\n")
    problem = only_problem(check_planting_catalog(write_catalog(tmp_path, trees=trees)))
    assert f"species.yaml:{line_of(trees, 'colour')}: fir: unknown key 'colour'" in problem


def test_quoted_date_is_refused_as_not_a_date(tmp_path):
    north = NORTH.replace(
        "season: {start: 2026-03-15, end: 2026-05-31}", "season: {start: '2026-03-15', end: 2026-05-31}", 1
    )
    problem = only_problem(check_planting_catalog(write_catalog(tmp_path, partners={"north": north, "south": SOUTH})))
    assert f"north.yaml:{line_of(north, chr(39) + '2026-03-15')}: a-01: season.start:" in problem


def test_species_sold_in_the_wrong_unit_is_refused(tmp_path):
    trees = TREES.replace(
        "kind: tree\n    unit: tree\n    names: {zh: 冷杉", "kind: tree\n    unit: m2\n    names: {zh: 冷杉"
    )
    problem = only_problem(check_planting_catalog(write_catalog(tmp_path, trees=trees)))
    assert ": fir: a tree entry is sold per tree, not per m2" in problem


def test_duplicate_species_id_across_files_names_the_first_definition(tmp_path):
    root = write_catalog(tmp_path)
    extra = TREES.split("  - species_id: fir")[0]  # saxaul again, in a second file
    (root / "trees" / "more.yaml").write_text(textwrap.dedent(extra), encoding="utf-8")
    problem = only_problem(check_planting_catalog(root))
    first = f"{root / 'trees' / 'more.yaml'}:{line_of(extra, 'species_id: saxaul')}"
    # more.yaml sorts before species.yaml, so the copy in species.yaml is the duplicate.
    assert problem == (
        f"{root / 'trees' / 'species.yaml'}:{line_of(TREES, 'species_id: saxaul')}: saxaul: "
        f"species_id 'saxaul' is already defined at {first}"
    )


def test_duplicate_yaml_key_is_reported(tmp_path):
    trees = TREES.replace("    energy_g: 17900\n", "    energy_g: 17900\n    energy_g: 1790\n")
    problem = only_problem(check_planting_catalog(write_catalog(tmp_path, trees=trees)))
    second = line_of(trees, "energy_g: 17900") + 1
    assert problem.endswith(f"species.yaml:{second}: saxaul: duplicate key 'energy_g': each key may appear once")


def test_yaml_syntax_error_names_its_line(tmp_path):
    trees = TREES.replace("    names: {zh: 冷杉, en: fir}", "    names: {zh: 冷杉, en: fir")
    # Only the syntax error: the partners' species are not called unknown as well.
    problem = only_problem(check_planting_catalog(write_catalog(tmp_path, trees=trees)))
    assert "not valid YAML" in problem
    reported = int(problem.split(":")[1])
    assert abs(reported - line_of(trees, "en: fir")) <= 1


def test_missing_directories_are_problems(tmp_path):
    problems = check_planting_catalog(tmp_path)
    assert len(problems) == 2
    assert "trees:1: -: no such directory" in problems[0]
    assert "partners:1: -: no such directory" in problems[1]


# Partner and plot problems.


def test_unknown_species_in_a_plot_names_the_plot_and_line(tmp_path):
    north = NORTH.replace("{species_id: fir, capacity: 1}", "{species_id: oak, capacity: 1}")
    problem = only_problem(check_planting_catalog(write_catalog(tmp_path, partners={"north": north, "south": SOUTH})))
    assert problem == (
        f"{tmp_path / 'partners' / 'north.yaml'}:{line_of(north, 'oak')}: a-01: "
        "unknown species 'oak': add it to trees/ or fix the id"
    )


def test_conservation_share_in_a_planting_plot_is_refused(tmp_path):
    north = NORTH.replace("{species_id: fir, capacity: 1}", "{species_id: share, capacity: 1}")
    problem = only_problem(check_planting_catalog(write_catalog(tmp_path, partners={"north": north, "south": SOUTH})))
    assert "a-01: species 'share' is a conservation entry; a planting plot offers only tree entries" in problem


def test_species_listed_twice_in_a_plot(tmp_path):
    north = NORTH.replace("{species_id: fir, capacity: 1}", "{species_id: saxaul, capacity: 1}")
    problem = only_problem(check_planting_catalog(write_catalog(tmp_path, partners={"north": north, "south": SOUTH})))
    assert "a-01: species 'saxaul' is listed twice in this plot" in problem


def test_season_must_end_after_it_starts(tmp_path):
    north = NORTH.replace(
        "season: {start: 2026-03-15, end: 2026-05-31}", "season: {start: 2026-05-31, end: 2026-03-15}", 1
    )
    problem = only_problem(check_planting_catalog(write_catalog(tmp_path, partners={"north": north, "south": SOUTH})))
    assert (
        f"north.yaml:{line_of(north, 'start: 2026-05-31')}: a-01: season: season end 2026-03-15 must be after its start"
        in problem
    )


def test_capacity_must_be_positive(tmp_path):
    north = NORTH.replace("{species_id: fir, capacity: 1}", "{species_id: fir, capacity: 0}")
    problem = only_problem(check_planting_catalog(write_catalog(tmp_path, partners={"north": north, "south": SOUTH})))
    assert "a-01: species.1.capacity: Input should be greater than 0" in problem


def test_duplicate_plot_id_across_partner_files(tmp_path):
    south = SOUTH.replace("plot_id: c-01", "plot_id: a-02")
    problem = only_problem(check_planting_catalog(write_catalog(tmp_path, partners={"north": NORTH, "south": south})))
    assert problem == (
        f"{tmp_path / 'partners' / 'south.yaml'}:{line_of(south, 'plot_id: a-02')}: a-02: plot_id 'a-02' is already "
        f"defined at {tmp_path / 'partners' / 'north.yaml'}:{line_of(NORTH, 'plot_id: a-02')}"
    )


def test_duplicate_partner_id_across_files(tmp_path):
    south = SOUTH.replace("partner_id: south", "partner_id: north")
    problem = only_problem(check_planting_catalog(write_catalog(tmp_path, partners={"north": NORTH, "south": south})))
    assert "south.yaml:2: north: partner_id 'north' is already defined at" in problem


def test_loader_raises_with_every_problem_of_every_file(tmp_path):
    trees = TREES.replace("energy_g: 17900", "energy_g: -5")
    north = NORTH.replace("planting_deadline_days: 90", "planting_deadline_days: 0", 1)
    root = write_catalog(tmp_path, trees=trees, partners={"north": north, "south": SOUTH})
    with pytest.raises(CatalogError) as raised:
        load_planting_catalog(root)
    problems = raised.value.problems
    assert len(problems) == 2
    assert "species.yaml" in problems[0] and "saxaul: energy_g" in problems[0]
    assert "north.yaml" in problems[1] and "a-01: planting_deadline_days" in problems[1]
    assert raised.value.code == "catalog_error"
