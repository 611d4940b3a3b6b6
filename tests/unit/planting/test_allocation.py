"""choose_plot: the requested plot or the one with most free places; never over capacity.

Catalog (conftest): a-01 offers saxaul 3 and fir 1; a-02 offers saxaul 3; c-01 offers
5,000 m2 of conservation ``share``.
"""

from __future__ import annotations

import pytest

from greenenergy.errors import Conflict, InvalidInput, NotFound
from greenenergy.planting import (
    InvalidQuantity,
    PlotFull,
    PlotNotFound,
    SpeciesNotFound,
    SpeciesNotInPlot,
    choose_plot,
    free_places,
    redemption_price_g,
)


def test_requested_plot_is_used_while_it_has_room(catalog):
    assert choose_plot(catalog, "saxaul", {("a-01", "saxaul"): 2}, "a-01").plot_id == "a-01"


def test_requested_full_plot_is_plot_full(catalog):
    with pytest.raises(PlotFull) as raised:
        choose_plot(catalog, "saxaul", {("a-01", "saxaul"): 3}, "a-01")
    assert raised.value.code == "plot_full" and isinstance(raised.value, Conflict)


def test_requested_unknown_plot_is_not_found(catalog):
    with pytest.raises(PlotNotFound) as raised:
        choose_plot(catalog, "saxaul", {}, "z-99")
    assert raised.value.code == "plot_not_found" and isinstance(raised.value, NotFound)


def test_requested_plot_without_the_species(catalog):
    with pytest.raises(SpeciesNotInPlot) as raised:
        choose_plot(catalog, "fir", {}, "a-02")
    assert raised.value.code == "species_not_in_plot" and isinstance(raised.value, Conflict)
    assert "it offers saxaul" in raised.value.message


def test_unknown_species_is_not_found(catalog):
    with pytest.raises(SpeciesNotFound):
        choose_plot(catalog, "oak", {}, None)


def test_most_free_places_wins(catalog):
    occupancy = {("a-01", "saxaul"): 2, ("a-02", "saxaul"): 1}
    assert choose_plot(catalog, "saxaul", occupancy, None).plot_id == "a-02"


def test_tie_goes_to_the_smallest_plot_id(catalog):
    assert choose_plot(catalog, "saxaul", {}, None).plot_id == "a-01"
    assert choose_plot(catalog, "saxaul", {("a-01", "saxaul"): 1, ("a-02", "saxaul"): 1}, None).plot_id == "a-01"


def test_occupancy_of_another_species_does_not_count(catalog):
    # fir places in a-01 are counted separately from its saxaul places.
    assert choose_plot(catalog, "saxaul", {("a-01", "fir"): 1, ("a-02", "saxaul"): 1}, None).plot_id == "a-01"


def test_all_full_is_plot_full(catalog):
    with pytest.raises(PlotFull):
        choose_plot(catalog, "saxaul", {("a-01", "saxaul"): 3, ("a-02", "saxaul"): 3}, None)


def test_species_offered_nowhere(tmp_path):
    from greenenergy.planting import load_planting_catalog
    from tests.unit.planting.conftest import NORTH, SOUTH, write_catalog

    north = NORTH.replace("      - {species_id: fir, capacity: 1}\n", "")
    catalog = load_planting_catalog(write_catalog(tmp_path, partners={"north": north, "south": SOUTH}))
    with pytest.raises(SpeciesNotInPlot, match="no plot offers fir"):
        choose_plot(catalog, "fir", {}, None)


def test_conservation_shares_take_several_m2(catalog):
    assert choose_plot(catalog, "share", {("c-01", "share"): 4990}, None, quantity=10).plot_id == "c-01"
    with pytest.raises(PlotFull):
        choose_plot(catalog, "share", {("c-01", "share"): 4991}, None, quantity=10)
    assert redemption_price_g(catalog.get_species("share"), 10) == 10_000


def test_trees_are_redeemed_one_at_a_time(catalog):
    with pytest.raises(InvalidQuantity) as raised:
        choose_plot(catalog, "saxaul", {}, None, quantity=2)
    assert isinstance(raised.value, InvalidInput)
    with pytest.raises(InvalidQuantity):
        redemption_price_g(catalog.get_species("share"), 0)


def test_free_places_never_negative(catalog):
    assert free_places(catalog.get_plot("a-01"), "saxaul", {("a-01", "saxaul"): 7}) == 0
    assert free_places(catalog.get_plot("a-01"), "fir", {}) == 1
