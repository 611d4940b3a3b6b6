"""One row of state per user, written in the same commit as what it counts.

* ``lifetime_g``, ``scoring`` and ``tallies`` belong to ingestion (greenenergy.ingestion.
  userstate documents their content): a batch locks the rows of its users, so one user's caps
  are scored serially while batches of other users run side by side.
* the other columns are the achievement counters of the forest and planting use cases
  (collects, steals, waterings, trees, the collecting streak), each updated by the commit
  that changes what it counts, and the ids of the achievements the user holds (a copy of
  ``achievement_awards`` written in the same commit), so a write use case reads what it
  needs to award achievements in the same statement as the counters; a read of a user's
  achievements is one row, whatever the length of the user's history.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Date, Integer, SmallInteger, Text
from sqlmodel import Field, SQLModel


class UserStateRow(SQLModel, table=True):
    __tablename__ = "user_states"

    user_id: str = Field(primary_key=True, max_length=64)
    shard: int = Field(sa_type=SmallInteger, nullable=False)
    lifetime_g: int = Field(default=0, sa_type=BigInteger, nullable=False)
    scoring: str = Field(default="{}", sa_type=Text, nullable=False)
    tallies: str = Field(default="{}", sa_type=Text, nullable=False)
    balls_collected: int = Field(default=0, sa_type=Integer, nullable=False)
    steals: int = Field(default=0, sa_type=Integer, nullable=False)
    waterings_given: int = Field(default=0, sa_type=Integer, nullable=False)
    trees: int = Field(default=0, sa_type=Integer, nullable=False)
    last_collect_day: date | None = Field(default=None, sa_type=Date)
    collect_run_days: int = Field(default=0, sa_type=Integer, nullable=False)
    collect_best_days: int = Field(default=0, sa_type=Integer, nullable=False)
    awards: str = Field(default="", sa_type=Text, nullable=False)  # achievement ids held, comma-separated
