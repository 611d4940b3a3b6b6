"""Partner use cases: planting orders, confirmations (one or in bulk), survival checks.

A partner sees and reports on the trees of its own plots only (the API checks the token's
subject is the path's partner; the core refuses a tree of another partner's plot with
``not_your_tree``). Each single confirmation or survival check is one commit.

Bulk confirmation (``POST /v1/partners/{id}/plantings:bulk``): CSV (``text/csv``, header
``tree_id,planted_at,latitude,longitude,species_id,photo_sha256[,tag]``) or a JSON list of
the same objects, at most ``BULK_MAX_ROWS`` rows. Rows are committed in chunks of
``BULK_CHUNK_ROWS`` rows, one commit per chunk: each row is checked on its own and a bad row
is reported with its code while every valid row of the chunk is written (in one
executemany per table; one SAVEPOINT per row when a concurrent commit races for the same
keys, see ``services.planting.confirm``). A chunk that committed stays committed if a later one
fails; sending the file again is safe: rows already confirmed answer ``already_planted``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from greenenergy.db import planting_views_repo
from greenenergy.db.engine import Tx, in_write_tx, read_tx
from greenenergy.errors import GreenEnergyError, InvalidInput, InvalidJson, NotFound, TooLarge
from greenenergy.planting import (
    InvalidCoordinates,
    InvalidTimestamp,
    PlantingCatalog,
    PlantingReport,
    SurvivalReport,
    order_status,
)
from greenenergy.planting.records import OrderState, TreeState
from greenenergy.services.planting import catalog as planting_catalog
from greenenergy.services.planting.confirm import Outcome, SurvivalOutcome, confirm_chunk, confirm_one, record_survival
from greenenergy.services.runtime import Runtime

BULK_MAX_ROWS = 10_000
BULK_CHUNK_ROWS = 500
MAX_ORDERS_PAGE = 1000
REQUIRED_FIELDS = ("tree_id", "planted_at", "latitude", "longitude", "species_id", "photo_sha256")
FIELDS = (*REQUIRED_FIELDS, "tag")
ORDER_STATES = ("pending", "overdue", "planted")


@dataclass(frozen=True)
class OrderView:
    order_id: str
    tree_id: str
    plot_id: str
    species_id: str
    quantity: int
    redeemed_at: datetime
    ordered_at: datetime
    deadline: datetime
    status: str
    kind: str  # planting | replanting
    planting_no: int
    overdue_at: datetime | None
    planted_at: datetime | None


@dataclass(frozen=True)
class Confirmation:
    tree_id: str | None
    status: str | None
    confirmation_id: str | None
    certificate_no: str | None
    certificate_nos: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class BulkRow(Confirmation):
    row: int = 0
    result: Literal["confirmed", "rejected"] = "confirmed"
    code: str | None = None
    message: str | None = None


@dataclass(frozen=True)
class BulkResult:
    confirmed: int
    rejected: int
    results: list[BulkRow]


def _partner(runtime: Runtime, partner_id: str) -> None:
    planting_catalog.catalog(runtime).get_partner(partner_id)  # 404 partner_not_found


# --- orders ---------------------------------------------------------------------------


def list_orders(
    runtime: Runtime, partner_id: str, *, status: str | None = None, limit: int = 100, after: str | None = None
) -> list[OrderView]:
    """The partner's orders, oldest first; ``status`` None lists every open (pending or overdue) one."""
    _partner(runtime, partner_id)
    if status is not None and status not in ORDER_STATES:
        raise InvalidInput(f"status must be one of {', '.join(ORDER_STATES)}", code="invalid_status")
    if not 1 <= limit <= MAX_ORDERS_PAGE:
        raise InvalidInput(f"limit must be between 1 and {MAX_ORDERS_PAGE}", code="invalid_limit")
    now = runtime.clock.now()
    with read_tx(runtime.engine) as connection:
        cursor = None
        if after is not None:
            cursor = planting_views_repo.get_order(connection, after)
            if cursor is None or cursor.partner_id != partner_id:
                raise NotFound(f"no order {after!r} of partner {partner_id} to continue after", code="order_not_found")
        orders = planting_views_repo.partner_orders(
            connection, partner_id, state=status, now=now, limit=limit, after=cursor
        )
    return [order_view(order, tree, now) for order, tree in orders]


def order_view(order: OrderState, tree: TreeState, now: datetime) -> OrderView:
    return OrderView(
        order_id=order.order_id,
        tree_id=order.tree_id,
        plot_id=order.plot_id,
        species_id=order.species_id,
        quantity=tree.quantity,
        redeemed_at=tree.redeemed_at,
        ordered_at=order.ordered_at,
        deadline=order.deadline,
        status=order_status(
            planted=order.status == "planted",
            deadline_at=order.deadline,
            now=now,
            marked_overdue_at=order.overdue_at if order.status == "overdue" else None,
        ),
        kind="planting" if order.planting_no == 1 else "replanting",
        planting_no=order.planting_no,
        overdue_at=order.overdue_at,
        planted_at=order.planted_at,
    )


# --- confirmations --------------------------------------------------------------------


def confirmation_view(outcome: Outcome) -> Confirmation:
    numbers = list(outcome.certificate_nos)
    return Confirmation(outcome.tree_id, outcome.status, outcome.confirmation_id, numbers[0] if numbers else None,
                        numbers)  # fmt: skip


def confirm_planting(runtime: Runtime, report: PlantingReport) -> Confirmation:
    """Record one planting confirmation; raises the specific error of a refused one."""
    _partner(runtime, report.partner_id)
    current = planting_catalog.catalog(runtime)

    def work(connection: Tx) -> Outcome:
        return confirm_one(connection, current, tz=runtime.settings.zone, now=runtime.clock.now(), report=report)

    return confirmation_view(in_write_tx(runtime.engine, work))


BulkFormat = Literal["csv", "json"]


def confirm_bulk(runtime: Runtime, partner_id: str, body: bytes, *, body_format: BulkFormat) -> BulkResult:
    """Confirm many plantings from a CSV or JSON body; per-row results, valid rows kept (see
    the module docstring). The API maps the request's media type to ``body_format``."""
    _partner(runtime, partner_id)
    rows = parse_bulk(body, body_format, partner_id)
    current = planting_catalog.catalog(runtime)
    results: list[BulkRow] = []
    for start in range(0, len(rows), BULK_CHUNK_ROWS):
        chunk = rows[start : start + BULK_CHUNK_ROWS]
        reports = [item for _, item in chunk if isinstance(item, PlantingReport)]
        outcomes = iter(_confirm_chunk(runtime, current, reports) if reports else [])
        for row_no, item in chunk:
            if isinstance(item, PlantingReport):
                results.append(_bulk_row(row_no, next(outcomes)))
            else:
                tree_id, error = item
                results.append(BulkRow(tree_id, None, None, None, row=row_no, result="rejected", code=error.code,
                                       message=error.message))  # fmt: skip
    confirmed = sum(1 for r in results if r.result == "confirmed")
    return BulkResult(confirmed, len(results) - confirmed, results)


def _confirm_chunk(runtime: Runtime, catalog: PlantingCatalog, reports: list[PlantingReport]) -> list[Outcome]:
    """One commit for the reports of one chunk."""

    def work(connection: Tx) -> list[Outcome]:
        return confirm_chunk(connection, catalog, tz=runtime.settings.zone, now=runtime.clock.now(), reports=reports)

    return in_write_tx(runtime.engine, work)


def _bulk_row(row_no: int, outcome: Outcome) -> BulkRow:
    if outcome.error is not None:
        return BulkRow(outcome.tree_id, None, None, None, row=row_no, result="rejected", code=outcome.error.code,
                       message=outcome.error.message)  # fmt: skip
    view = confirmation_view(outcome)
    return BulkRow(view.tree_id, view.status, view.confirmation_id, view.certificate_no, view.certificate_nos,
                   row=row_no, result="confirmed")  # fmt: skip


def parse_bulk(body: bytes, body_format: BulkFormat, partner_id: str) -> list[tuple[int, PlantingReport | tuple]]:
    """Rows numbered from 1, each a report or ``(tree_id, error)`` for a row that cannot be read."""
    items = _csv_items(body) if body_format == "csv" else _json_items(body)
    out: list[tuple[int, PlantingReport | tuple]] = []
    from_text = body_format == "csv"
    for row_no, fields in enumerate(items, start=1):
        if isinstance(fields, GreenEnergyError):
            tree_id = fields.details.get("tree_id")
            out.append((row_no, (tree_id if isinstance(tree_id, str) else None, fields)))
            continue
        try:
            out.append((row_no, report_from_fields(fields, partner_id, from_text=from_text)))
        except GreenEnergyError as error:
            tree_id = fields.get("tree_id") if isinstance(fields, Mapping) else None
            out.append((row_no, (tree_id if isinstance(tree_id, str) else None, error)))
    return out


def _csv_items(body: bytes) -> list[object]:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput("the CSV must be UTF-8 text", code="invalid_csv") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [name.strip() for name in reader.fieldnames or []]
    missing = [name for name in REQUIRED_FIELDS if name not in header]
    unknown = [name for name in header if name not in FIELDS]
    if missing or unknown:
        problems = ([f"missing columns {', '.join(missing)}"] if missing else []) + (
            [f"unknown columns {', '.join(unknown)}"] if unknown else []
        )
        raise InvalidInput(f"CSV header: {'; '.join(problems)}; expected {','.join(FIELDS)}", code="invalid_csv")
    reader.fieldnames = header
    items: list[object] = []
    try:
        for row in reader:
            if len(items) >= BULK_MAX_ROWS:
                raise TooLarge(f"at most {BULK_MAX_ROWS} rows per request", code="too_many_rows")
            if None in row:  # more cells than columns
                items.append(
                    InvalidInput(
                        f"CSV line {reader.line_num} has more cells than the header",
                        code="invalid_row",
                        tree_id=row.get("tree_id"),
                    )
                )
            else:
                items.append(dict(row))
    except csv.Error as error:
        raise InvalidInput(f"CSV line {reader.line_num}: {error}", code="invalid_csv") from None
    return items


def _json_items(body: bytes) -> list[object]:
    try:
        value = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InvalidJson.from_error(error) from None
    if isinstance(value, dict) and isinstance(value.get("plantings"), list):
        value = value["plantings"]
    if not isinstance(value, list):
        raise InvalidInput('send a JSON list of plantings (or {"plantings": [...]})', code="invalid_json")
    if len(value) > BULK_MAX_ROWS:
        raise TooLarge(f"at most {BULK_MAX_ROWS} rows per request, got {len(value)}", code="too_many_rows")
    return value


def report_from_fields(fields: object, partner_id: str, *, from_text: bool = True) -> PlantingReport:
    """A planting report from one row's raw values: CSV cells (``from_text``: numbers are
    parsed from text) or JSON values (coordinates must be JSON numbers, as for one planting)."""
    if not isinstance(fields, Mapping):
        raise InvalidInput("each row must be an object with the planting's fields", code="invalid_row")
    unknown = sorted(str(k) for k in fields if k not in FIELDS)
    if unknown:
        raise InvalidInput(f"unknown fields {', '.join(unknown)}; expected {', '.join(FIELDS)}", code="invalid_row")
    missing = [name for name in REQUIRED_FIELDS if fields.get(name) in (None, "")]
    if missing:
        raise InvalidInput(f"missing {', '.join(missing)}", code="missing_field", fields=missing)
    tag = fields.get("tag")
    return PlantingReport(
        tree_id=_text(fields["tree_id"], "tree_id"),
        partner_id=partner_id,
        species_id=_text(fields["species_id"], "species_id"),
        planted_at=_instant(fields["planted_at"], "planted_at"),
        latitude=_degrees(fields["latitude"], "latitude", from_text),
        longitude=_degrees(fields["longitude"], "longitude", from_text),
        photo_sha256=_text(fields["photo_sha256"], "photo_sha256"),
        tag=None if tag in (None, "") else _text(tag, "tag"),
    )


def _text(value: object, name: str) -> str:
    if not isinstance(value, str) or len(value) > 200:
        raise InvalidInput(f"{name} must be text of at most 200 characters", code="invalid_row", field=name)
    return value.strip()


def _instant(value: object, name: str) -> datetime:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.strip())
        except ValueError:
            pass
    raise InvalidTimestamp(f"{name} must be an ISO 8601 time with a zone offset, got {value!r}")


def _degrees(value: object, name: str, from_text: bool) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if from_text and isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            pass
    kind = "a number of degrees" if from_text else "a JSON number of degrees"
    raise InvalidCoordinates(f"{name} must be {kind}, got {value!r}", field=name)


# --- survival -------------------------------------------------------------------------


def report_survival(runtime: Runtime, report: SurvivalReport) -> SurvivalOutcome:
    """Record a survival check: alive keeps the tree; dead orders a free replacement."""
    _partner(runtime, report.partner_id)
    current = planting_catalog.catalog(runtime)

    def work(connection: Tx) -> SurvivalOutcome:
        return record_survival(connection, current, tz=runtime.settings.zone, now=runtime.clock.now(), report=report)

    return in_write_tx(runtime.engine, work)
