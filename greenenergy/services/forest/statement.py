"""The yearly green statement: load one user's rows of a local year and call ``forest.build_statement``.

Rows read (all for the local calendar ``year`` of the configured zone, with a margin the
core trims precisely): the user's events (energy by behaviour and month), own balls
(collected / expired), thefts by or from the user, trees and certificates
(``planting_queries``), and the local dates of the user's collects (best streak).

Percentile: among "all users" = every user with at least one accepted event before the end
of that year; a user without events in the year counts with 0. The yearly totals come from
one ``GROUP BY user_id`` over the events up to the end of the year: fine for a request on
thousands of users; at millions it belongs in a yearly job (noted in the report).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import case, func, or_, select

from greenenergy.db import balls_repo, forest_repo
from greenenergy.db.engine import read_tx
from greenenergy.db.tables_events import EventRow as EventTableRow
from greenenergy.errors import InvalidInput
from greenenergy.forest import EventRow, Statement, build_statement
from greenenergy.periods import local_date, local_midnight_utc
from greenenergy.services.planting import queries as planting_queries
from greenenergy.services.runtime import Runtime

EVENTS = EventTableRow.__table__
BALLS = balls_repo.BALLS
THEFTS = forest_repo.THEFTS
FIRST_YEAR, LAST_YEAR = 2000, 2999


def statement(runtime: Runtime, user_id: str, year: int) -> Statement:
    if isinstance(year, bool) or not isinstance(year, int) or not FIRST_YEAR <= year <= LAST_YEAR:
        raise InvalidInput(f"year must be between {FIRST_YEAR} and {LAST_YEAR}, got {year!r}", code="invalid_year")
    tz = runtime.settings.zone
    start = local_midnight_utc(date(year, 1, 1), tz)
    end = local_midnight_utc(date(year + 1, 1, 1), tz)
    with read_tx(runtime.engine) as connection:
        events = [
            EventRow(r.event_type, int(r.energy_g), r.occurred_at)
            for r in connection.execute(
                select(EVENTS.c.event_type, EVENTS.c.energy_g, EVENTS.c.occurred_at).where(
                    EVENTS.c.user_id == user_id, EVENTS.c.occurred_at >= start, EVENTS.c.occurred_at < end
                )
            )
        ]
        # Collected in the year => visible before its end and expiring after its start.
        balls = [
            balls_repo.to_ball(r)
            for r in connection.execute(
                select(BALLS).where(BALLS.c.user_id == user_id, BALLS.c.expires_at >= start, BALLS.c.visible_at < end)
            )
        ]
        thefts = [
            forest_repo.to_theft(r)
            for r in connection.execute(
                select(THEFTS).where(
                    or_(THEFTS.c.victim_id == user_id, THEFTS.c.thief_id == user_id),
                    THEFTS.c.stolen_at >= start,
                    THEFTS.c.stolen_at < end,
                    THEFTS.c.stolen_g > 0,
                )
            )
        ]
        collect_dates = [local_date(b.collected_at, tz) for b in balls if b.collected_at is not None]
        in_year = case(((EVENTS.c.occurred_at >= start), EVENTS.c.energy_g), else_=0)
        totals = {
            r.user_id: int(r.total)
            for r in connection.execute(
                select(EVENTS.c.user_id, func.sum(in_year).label("total"))
                .where(EVENTS.c.occurred_at < end)
                .group_by(EVENTS.c.user_id)
            )
        }
        totals.setdefault(user_id, 0)
        trees = planting_queries.trees_for_statement(connection, user_id, year, runtime.settings.tz)
        certificates = planting_queries.certificates_for_statement(connection, user_id, year, runtime.settings.tz)
    return build_statement(
        user_id=user_id,
        year=year,
        tz=tz,
        now=runtime.clock.now(),
        events=events,
        balls=balls,
        thefts=thefts,
        trees=trees,
        certificates=certificates,
        collect_dates=collect_dates,
        yearly_totals_g=totals.values(),
    )
