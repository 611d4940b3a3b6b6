"""Leaderboards among friends and among everyone, by energy this week and lifetime.

Score (``forest.leaderboard``'s suggestion): the grams that entered the user's
``available`` account by collecting (own balls and waterings received) or stealing, in the
period. Each such ledger movement adds its grams to ``forest_scores`` rows ``lifetime`` and
``week:<local Monday>`` in the same commit, so a read is one indexed lookup, never a scan of
the ledger. Ranks follow ``forest.leaderboard`` exactly: rank = 1 + the number of members
with a strictly greater score; listing by score descending, then user id (code points).

Members:

* ``friends``: the user and their mutual friends (score 0 for those without a row); one
  statement: the user's ``friendships`` range drives primary-key probes into the scores (a
  user with 5,000 friends: 5,000 probes, whatever the number of users; the key carries the
  score, so each probe is one index descent), counted and ordered in SQL.
* ``global``: every user with a lifetime score row (anyone who has ever collected or stolen),
  plus the user. Rank is ``1 + the number of scores above mine``, added up from the score
  buckets kept in the same commit as the scores (``db.score_buckets``: a few hundred bucket
  rows and one bucket's index range, never a count over every score above); the total is
  kept per shard in ``forest_board_members``. The ``top`` listing shows members with a row
  for the period; members at 0 without one (who did not score this week) are counted in
  ``total`` but not listed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from greenenergy.db import forest_repo
from greenenergy.db.engine import read_tx
from greenenergy.forest import RankedEntry, rank_entries
from greenenergy.services.runtime import Runtime

Scope = Literal["friends", "global"]
BoardPeriod = Literal["week", "lifetime"]
MAX_LIMIT = 100


@dataclass(frozen=True)
class Board:
    scope: str
    period: str
    period_key: str  # lifetime | week:<local Monday>
    total: int
    me: RankedEntry
    top: list[RankedEntry]


def leaderboard(runtime: Runtime, user_id: str, *, scope: Scope, period: BoardPeriod, limit: int = 10) -> Board:
    key = (
        forest_repo.week_period(runtime.clock.now(), runtime.settings.zone)
        if period == "week"
        else forest_repo.LIFETIME
    )
    board = forest_repo.friends_board if scope == "friends" else forest_repo.global_board
    with read_tx(runtime.engine) as connection:
        mine, rank, total, top_rows = board(connection, user_id, key, limit)
    # The top rows are the head of the board's listing, so ranking the head alone gives
    # every listed member the rank it has on the whole board.
    return Board(
        scope=scope,
        period=period,
        period_key=key,
        total=total,
        me=RankedEntry(rank, user_id, mine),
        top=rank_entries(top_rows),
    )
