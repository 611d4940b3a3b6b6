"""Choosing the plot place that a redemption reserves.

Occupancy is what the caller has counted for each ``(plot_id, species_id)``: places
reserved by open orders plus trees planted (a dead tree's replacement reuses its place, so
replanting never adds occupancy). Capacity is the plot's total for the species (see
``model``); the planting season never blocks a redemption, it only moves the deadline.

Invariant (with the caller counting and reserving in one serialised commit): occupancy +
quantity <= capacity after every successful choice, so a plot never takes more trees
than its capacity.

A tree is redeemed one at a time (``quantity`` 1: one virtual tree, one real tree); a
conservation share may be redeemed for several square metres at once.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from greenenergy.planting.catalog import PlantingCatalog
from greenenergy.planting.errors import InvalidQuantity, PlotFull, SpeciesNotInPlot
from greenenergy.planting.model import Plot, Species

Occupancy = Mapping[tuple[str, str], int]


def free_places(plot: Plot, species_id: str, occupancy: Occupancy) -> int:
    """Places left for ``species_id`` in ``plot`` (never negative)."""
    return max(0, plot.capacity_of(species_id) - int(occupancy.get((plot.plot_id, species_id), 0)))


def check_quantity(species: Species, quantity: int) -> int:
    """``quantity`` if it is a valid number of units of ``species``."""
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        raise InvalidQuantity(f"quantity must be a whole number of at least 1, got {quantity!r}")
    if species.unit == "tree" and quantity != 1:
        raise InvalidQuantity(f"{species.species_id} is redeemed one tree at a time, not {quantity}")
    return quantity


def redemption_price_g(species: Species, quantity: int = 1) -> int:
    """Energy a redemption debits: the unit price times the number of units."""
    return int(species.energy_g) * check_quantity(species, quantity)


def plots_with_room(catalog: PlantingCatalog, species_id: str, occupancy: Occupancy, quantity: int = 1) -> list[Plot]:
    """The plots offering ``species_id`` with room for ``quantity`` more: most free places
    first, ties broken by the smallest plot id (the order a redemption without a plot tries)."""
    room = [plot for plot in catalog.plots_offering(species_id) if free_places(plot, species_id, occupancy) >= quantity]
    return sorted(room, key=lambda plot: (-free_places(plot, species_id, occupancy), plot.plot_id))


def choose_plot(
    catalog: PlantingCatalog,
    species_id: str,
    occupancy: Occupancy,
    requested_plot_id: str | None = None,
    *,
    quantity: int = 1,
    held: Collection[str] | None = None,
) -> Plot:
    """The plot a redemption of ``quantity`` units of ``species_id`` goes to.

    With ``requested_plot_id``: that plot, or ``PlotNotFound`` (unknown),
    ``SpeciesNotInPlot`` (not offered there), ``PlotFull`` (fewer free places than
    ``quantity``). Without: the offering plot with the most free places, ties broken by
    the smallest plot id; ``SpeciesNotInPlot`` if no plot offers the species, ``PlotFull``
    if every one that does is full.

    ``held``: the plots whose places the caller holds (under a lock) and may take; None, all
    of them. A plot with room that is not held is passed over -- a concurrent redemption is
    taking a place there -- for the freest held one (occupancy never goes down, so a plot
    seen full stays full and needs no lock to be refused).
    """
    species = catalog.get_species(species_id)  # SpeciesNotFound for an unknown id
    check_quantity(species, quantity)
    if requested_plot_id is not None:
        plot = catalog.get_plot(requested_plot_id)
        if not plot.offers(species_id):
            raise SpeciesNotInPlot(
                f"plot {plot.plot_id} does not offer {species_id}; it offers {', '.join(plot.species_ids)}",
                plot_id=plot.plot_id,
                species_id=species_id,
            )
        free = free_places(plot, species_id, occupancy)
        if free < quantity or (held is not None and plot.plot_id not in held):
            raise PlotFull(
                f"plot {plot.plot_id} has {free} free places for {species_id}; choose another plot or none",
                plot_id=plot.plot_id,
                species_id=species_id,
            )
        return plot
    if not catalog.plots_offering(species_id):
        raise SpeciesNotInPlot(f"no plot offers {species_id} at present", species_id=species_id)
    room = plots_with_room(catalog, species_id, occupancy, quantity)
    if not room:
        raise PlotFull(f"every plot offering {species_id} is full", species_id=species_id)
    for plot in room:
        if held is None or plot.plot_id in held:
            return plot
    raise PlotFull(f"the plots offering {species_id} filled up while this request ran", species_id=species_id)
