"""Loading ``trees/`` and ``partners/`` into one validated, read-only planting catalog.

``trees/*.yaml`` hold ``species:`` lists; ``partners/*.yaml`` hold one partner each with its
``plots:``. Loading checks, beyond each record's own schema (see ``model``):

- ids are unique across files: species ids in trees/, partner ids and plot ids in partners/;
- a plot's species exist in trees/, appear once in the plot, and are of the plot's kind
  (trees in a ``planting`` plot, m2 shares in a ``conservation`` plot);
- the polygon is closed, in range, valid (no self-intersection), of plausible area, and
  large enough for its capacity at the densest accepted planting (``MIN_M2_PER_TREE``
  m2 per tree; one m2 per conservation share).

Every problem is collected -- one run shows everything to fix -- and formatted
``file:line: id: message``. The loaders raise ``CatalogError(problems)``;
``check_planting_catalog`` returns the list instead.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from pydantic import BaseModel, ValidationError

from greenenergy.errors import CatalogError, NotFound
from greenenergy.planting import geometry
from greenenergy.planting.errors import PlotNotFound, SpeciesNotFound
from greenenergy.planting.model import (
    M2_PER_SHARE,
    MAX_PLOT_AREA_M2,
    MIN_M2_PER_TREE,
    MIN_PLOT_AREA_M2,
    Partner,
    PartnerHeader,
    Plot,
    PlotDoc,
    PlotSpecies,
    PolygonGeometry,
    Species,
)
from greenenergy.planting.yamlsource import Loc, YamlFile, catalog_files, read_yaml

TREES_DIR = "trees"
PARTNERS_DIR = "partners"


@dataclass(frozen=True)
class SpeciesCatalog:
    species: Mapping[str, Species] = field(default_factory=dict)

    def get(self, species_id: str) -> Species:
        try:
            return self.species[species_id]
        except KeyError:
            raise SpeciesNotFound(f"unknown species {species_id!r}; GET /v1/species lists them") from None

    def __contains__(self, species_id: object) -> bool:
        return species_id in self.species

    def __iter__(self) -> Iterator[Species]:
        """Species cheapest first, then by id: the order a catalog page shows them."""
        return iter(sorted(self.species.values(), key=lambda s: (s.energy_g, s.species_id)))

    def __len__(self) -> int:
        return len(self.species)


@dataclass(frozen=True)
class PartnerCatalog:
    partners: Mapping[str, Partner] = field(default_factory=dict)
    plots: Mapping[str, Plot] = field(default_factory=dict)


@dataclass(frozen=True)
class PlantingCatalog:
    species_catalog: SpeciesCatalog
    partner_catalog: PartnerCatalog

    @property
    def species(self) -> Mapping[str, Species]:
        return self.species_catalog.species

    @property
    def partners(self) -> Mapping[str, Partner]:
        return self.partner_catalog.partners

    @property
    def plots(self) -> Mapping[str, Plot]:
        return self.partner_catalog.plots

    def get_species(self, species_id: str) -> Species:
        return self.species_catalog.get(species_id)

    def get_plot(self, plot_id: str) -> Plot:
        try:
            return self.plots[plot_id]
        except KeyError:
            raise PlotNotFound(f"unknown plot {plot_id!r}; GET /v1/plots lists them") from None

    def get_partner(self, partner_id: str) -> Partner:
        try:
            return self.partners[partner_id]
        except KeyError:
            raise NotFound(f"unknown partner {partner_id!r}", code="partner_not_found") from None

    def plots_offering(self, species_id: str) -> list[Plot]:
        """Plots offering ``species_id``, by plot id."""
        return [plot for _, plot in sorted(self.plots.items()) if plot.offers(species_id)]


def _describe(error: Mapping[str, Any]) -> str:
    """One pydantic error as a sentence that says what to change."""
    loc = error["loc"]
    where = ".".join(str(part) for part in loc)
    kind = error["type"]
    if kind == "extra_forbidden":
        return f"unknown key {loc[-1]!r}: remove it or fix its spelling"
    if kind == "missing":
        return f"{where} is required"
    message = str(error["msg"]).removeprefix("Value error, ")
    value = error.get("input")
    if not isinstance(value, (dict, list, tuple)):  # a whole record says nothing useful
        shown = repr(value)
        message += f" (got {shown if len(shown) <= 60 else shown[:57] + '...'})"
    return f"{where}: {message}" if where else message


def _inside(outer: tuple[Any, ...], inner: tuple[Any, ...]) -> bool:
    return len(inner) > len(outer) and inner[: len(outer)] == outer


def _validate(model: type[BaseModel], source: YamlFile, loc: Loc, data: Any) -> tuple[Any, list[str]]:
    """The validated record (None if invalid) and its problems at their lines."""
    try:
        return model.model_validate(data), []
    except ValidationError as errors:
        found = errors.errors()
        # pydantic also calls a list "too short" when some of its items failed: only the items matter.
        item_locs = [e["loc"] for e in found if e["type"] != "too_short"]
        kept = [e for e in found if not (e["type"] == "too_short" and any(_inside(e["loc"], d) for d in item_locs))]
        return None, [source.problem((*loc, *e["loc"]), _describe(e)) for e in kept]


def _missing_dir(directory: Path, what: str) -> list[str]:
    if not directory.is_dir():
        return [f"{directory}:1: -: no such directory; it should hold the {what} files (*.yaml)"]
    if not catalog_files(directory):
        return [f"{directory}:1: -: no *.yaml files; at least one {what} file is needed"]
    return []


def _entries(source: YamlFile, key: str, allowed: frozenset[str]) -> tuple[list[Any], list[str]]:
    """The non-empty list under top-level ``key``, and problems of the file's top level."""
    data = source.data
    if not isinstance(data, dict):
        return [], [source.problem((), f"the file must be a mapping with a {key!r} list")]
    problems = [
        source.problem((extra,), f"unknown key {extra!r}: remove it or fix its spelling")
        for extra in data
        if extra not in allowed
    ]
    entries = data.get(key)
    if not isinstance(entries, list) or not entries:
        problems.append(source.problem((key,), f"{key!r} must be a non-empty list"))
        return [], problems
    return entries, problems


def _first_definition(source: YamlFile, loc: Loc, what: str, value: Any, defined_at: dict[str, str]) -> list[str]:
    """Record where an id is defined; a problem if it already was (here or in another file)."""
    if not isinstance(value, str):
        return []
    if value in defined_at:
        return [source.problem(loc, f"{what} {value!r} is already defined at {defined_at[value]}")]
    defined_at[value] = f"{source.path}:{source.line_of(loc)}"
    return []


def _read_species(directory: Path) -> tuple[dict[str, Species], set[str] | None, list[str]]:
    """Valid species by id, every id defined (valid or not), and the problems.

    The ids are ``None`` when a file could not be read at all: then nobody knows which ids
    exist, and plots are not told that their species are unknown (that would only be noise).
    """
    problems = _missing_dir(directory, "species")
    if problems:
        return {}, None, problems
    species: dict[str, Species] = {}
    defined_at: dict[str, str] = {}
    unreadable = False
    for path in catalog_files(directory):
        source, file_problems = read_yaml(path)
        problems += file_problems
        if source is None:
            unreadable = True
            continue
        entries, top_problems = _entries(source, "species", frozenset({"species"}))
        problems += top_problems
        for index, entry in enumerate(entries):
            loc: Loc = ("species", index)
            species_id = entry.get("species_id") if isinstance(entry, dict) else None
            duplicate = _first_definition(source, (*loc, "species_id"), "species_id", species_id, defined_at)
            record, entry_problems = _validate(Species, source, loc, entry)
            problems += duplicate + entry_problems
            if record is not None and not duplicate:
                species[record.species_id] = record
    return species, None if unreadable else set(defined_at), problems


def _plot_problems(
    source: YamlFile, loc: Loc, raw: Mapping[str, Any], species: Mapping[str, Species], mentioned: set[str] | None
) -> list[str]:
    """Cross-reference and geometry problems of one plot, on whatever parts of it are valid."""
    problems: list[str] = []
    kind = raw.get("kind") if raw.get("kind") in ("planting", "conservation") else None
    wanted_kind = {"planting": "tree", "conservation": "conservation", None: None}[kind]
    raw_species = raw.get("species") if isinstance(raw.get("species"), list) else []
    listed: set[str] = set()
    total: int | None = 0
    for index, raw_entry in enumerate(raw_species):
        entry, _ = _validate(PlotSpecies, source, (), raw_entry)  # its errors come with the plot's
        if entry is None:
            total = None
            continue
        total = None if total is None else total + entry.capacity
        here = (*loc, "species", index, "species_id")
        if entry.species_id in listed:
            problems.append(source.problem(here, f"species {entry.species_id!r} is listed twice in this plot"))
        listed.add(entry.species_id)
        known = species.get(entry.species_id)
        if known is None:
            # An invalid species entry is reported where it is written, not again here.
            if mentioned is not None and entry.species_id not in mentioned:
                problems.append(
                    source.problem(here, f"unknown species {entry.species_id!r}: add it to trees/ or fix the id")
                )
        elif wanted_kind is not None and known.kind != wanted_kind:
            problems.append(
                source.problem(
                    here,
                    f"species {entry.species_id!r} is a {known.kind} entry; a {kind} plot offers only {wanted_kind} entries",
                )
            )
    shape, _ = _validate(PolygonGeometry, source, (), raw.get("geometry"))
    if shape is None:
        return problems
    rings = shape.coordinates
    shape_problems = geometry.polygon_problems(rings, min_area_m2=MIN_PLOT_AREA_M2, max_area_m2=MAX_PLOT_AREA_M2)
    problems += [source.problem((*loc, "geometry"), message) for message in shape_problems]
    if not shape_problems and kind is not None and total:
        area = geometry.area_m2(rings)
        per_unit, unit = (MIN_M2_PER_TREE, "trees") if kind == "planting" else (M2_PER_SHARE, "m2 shares")
        if area < total * per_unit:
            problems.append(
                source.problem(
                    (*loc, "species"),
                    f"capacity of {total:,} {unit} needs at least {total * per_unit:,.0f} m2 "
                    f"({per_unit:g} m2 each) but the polygon has {area:,.0f} m2: enlarge it or lower the capacity",
                )
            )
    return problems


def _read_partners(
    directory: Path, species: Mapping[str, Species], mentioned: set[str] | None
) -> tuple[PartnerCatalog, list[str]]:
    problems = _missing_dir(directory, "partner")
    if problems:
        return PartnerCatalog(), problems
    partners: dict[str, Partner] = {}
    plots: dict[str, Plot] = {}
    partner_at: dict[str, str] = {}
    plot_at: dict[str, str] = {}
    header_keys = frozenset(PartnerHeader.model_fields) | {"plots"}
    for path in catalog_files(directory):
        source, file_problems = read_yaml(path)
        problems += file_problems
        if source is None:
            continue
        entries, top_problems = _entries(source, "plots", header_keys)
        data = source.data if isinstance(source.data, dict) else {}
        header_data = {key: value for key, value in data.items() if key in header_keys and key != "plots"}
        header, header_problems = _validate(PartnerHeader, source, (), header_data)
        problems += top_problems + header_problems
        problems += _first_definition(source, ("partner_id",), "partner_id", data.get("partner_id"), partner_at)
        file_problem_count = len(problems)
        file_plots: list[Plot] = []
        for index, raw in enumerate(entries):
            loc: Loc = ("plots", index)
            plot_id = raw.get("plot_id") if isinstance(raw, dict) else None
            problems += _first_definition(source, (*loc, "plot_id"), "plot_id", plot_id, plot_at)
            doc, doc_problems = _validate(PlotDoc, source, loc, raw)
            problems += doc_problems
            if isinstance(raw, dict):
                problems += _plot_problems(source, loc, raw, species, mentioned)
            if doc is not None and header is not None:
                file_plots.append(Plot.model_validate({**doc.model_dump(), "partner_id": header.partner_id}))
        if header is not None and not top_problems and not header_problems and len(problems) == file_problem_count:
            partners[header.partner_id] = Partner(
                partner_id=header.partner_id,
                name=header.name,
                website=header.website,
                description=header.description,
                plot_ids=tuple(plot.plot_id for plot in file_plots),
            )
            plots.update((plot.plot_id, plot) for plot in file_plots)
    return PartnerCatalog(partners=MappingProxyType(partners), plots=MappingProxyType(plots)), problems


def load_species(directory: Path) -> SpeciesCatalog:
    """Load ``trees/``; raise ``CatalogError`` listing every problem."""
    species, _, problems = _read_species(Path(directory))
    if problems:
        raise CatalogError(problems)
    return SpeciesCatalog(MappingProxyType(species))


def load_partners(directory: Path, species: SpeciesCatalog) -> PartnerCatalog:
    """Load ``partners/`` against a loaded species catalog; raise ``CatalogError`` on problems."""
    catalog, problems = _read_partners(Path(directory), species.species, set(species.species))
    if problems:
        raise CatalogError(problems)
    return catalog


def _read_all(catalog_root: Path) -> tuple[PlantingCatalog, list[str]]:
    root = Path(catalog_root)
    species, mentioned, problems = _read_species(root / TREES_DIR)
    partners, partner_problems = _read_partners(root / PARTNERS_DIR, species, mentioned)
    catalog = PlantingCatalog(SpeciesCatalog(MappingProxyType(species)), partners)
    return catalog, problems + partner_problems


def check_planting_catalog(catalog_root: Path) -> list[str]:
    """Every problem of ``<root>/trees`` and ``<root>/partners`` (empty when both are fine)."""
    return _read_all(catalog_root)[1]


def load_planting_catalog(catalog_root: Path) -> PlantingCatalog:
    """Load ``<root>/trees`` and ``<root>/partners``; raise ``CatalogError`` listing every problem."""
    catalog, problems = _read_all(catalog_root)
    if problems:
        raise CatalogError(problems)
    return catalog
