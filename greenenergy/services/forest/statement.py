"""The yearly green statement: load one user's rows of a local year and call ``forest.build_statement``.

Rows read (all for the local calendar ``year`` of the configured zone, with a margin the
core trims precisely; ``db.statement_repo``): the user's events (energy by behaviour and
month), own balls (collected / expired), thefts by or from the user, trees and certificates
(``planting_queries``), and the local dates of the user's collects (best streak).

Percentile: among "all users" = every user with at least one accepted event before the end
of that year; a user without events in the year counts with 0.
"""

from __future__ import annotations

from datetime import date

from greenenergy.db import statement_repo
from greenenergy.db.engine import read_tx
from greenenergy.errors import InvalidInput
from greenenergy.forest import Statement, build_statement
from greenenergy.periods import local_date, local_midnight_utc
from greenenergy.services.planting import queries as planting_queries
from greenenergy.services.runtime import Runtime

FIRST_YEAR, LAST_YEAR = 2000, 2999


def statement(runtime: Runtime, user_id: str, year: int) -> Statement:
    if isinstance(year, bool) or not isinstance(year, int) or not FIRST_YEAR <= year <= LAST_YEAR:
        raise InvalidInput(f"year must be between {FIRST_YEAR} and {LAST_YEAR}, got {year!r}", code="invalid_year")
    tz = runtime.settings.zone
    start = local_midnight_utc(date(year, 1, 1), tz)
    end = local_midnight_utc(date(year + 1, 1, 1), tz)
    with read_tx(runtime.engine) as connection:
        rows = statement_repo.statement_rows(connection, user_id, start, end)
        trees = planting_queries.trees_for_statement(connection, user_id, year, runtime.settings.tz)
        certificates = planting_queries.certificates_for_statement(connection, user_id, year, runtime.settings.tz)
    totals = dict(rows.totals_g)
    totals.setdefault(user_id, 0)
    return build_statement(
        user_id=user_id,
        year=year,
        tz=tz,
        now=runtime.clock.now(),
        events=rows.events,
        balls=rows.balls,
        thefts=rows.thefts,
        trees=trees,
        certificates=certificates,
        collect_dates=[local_date(b.collected_at, tz) for b in rows.balls if b.collected_at is not None],
        yearly_totals_g=totals.values(),
    )
