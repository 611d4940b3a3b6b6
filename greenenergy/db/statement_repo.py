"""Reading what a user's yearly statement is made of (``forest.build_statement`` decides).

``statement_rows`` loads, for one user and one window ``[start, end)`` (the local year, as
UTC instants): the user's events, own balls that could have been collected or expired in it,
thefts by or from the user that moved grams, and every user's energy total of the window
(users with events before ``end`` but none in the window count with 0), for the percentile.
The yearly totals are one ``GROUP BY user_id`` over the events up to ``end``: fine for a
request on thousands of users; at millions it belongs in a yearly job.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, case, func, or_, select

from greenenergy.db import balls_repo, forest_repo
from greenenergy.db.tables_events import EventRow as EventTableRow
from greenenergy.forest import Ball, EventRow, Theft

EVENTS = EventTableRow.__table__
BALLS = balls_repo.BALLS
THEFTS = forest_repo.THEFTS


@dataclass(frozen=True)
class StatementRows:
    events: list[EventRow]
    balls: list[Ball]
    thefts: list[Theft]
    totals_g: dict[str, int]  # user -> energy of the window, for every user with events before its end


def statement_rows(connection: Connection, user_id: str, start: datetime, end: datetime) -> StatementRows:
    events = [
        EventRow(r.event_type, int(r.energy_g), r.occurred_at)
        for r in connection.execute(
            select(EVENTS.c.event_type, EVENTS.c.energy_g, EVENTS.c.occurred_at).where(
                EVENTS.c.user_id == user_id, EVENTS.c.occurred_at >= start, EVENTS.c.occurred_at < end
            )
        )
    ]
    # Collected or expired in the window => visible before its end and expiring after its start.
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
    in_window = case(((EVENTS.c.occurred_at >= start), EVENTS.c.energy_g), else_=0)
    totals = {
        r.user_id: int(r.total)
        for r in connection.execute(
            select(EVENTS.c.user_id, func.sum(in_window).label("total"))
            .where(EVENTS.c.occurred_at < end)
            .group_by(EVENTS.c.user_id)
        )
    }
    return StatementRows(events=events, balls=balls, thefts=thefts, totals_g=totals)
