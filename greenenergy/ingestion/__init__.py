"""Ingestion's pure core: check, score and place a batch of green events (see ``decide``).

Imports nothing of the shells: the API, the CLI and the stream workers load what
``Prepared.needs`` names, call ``decide`` and store the ``Decision``.
"""

from greenenergy.ingestion.decide import decide, prepare
from greenenergy.ingestion.model import (
    Candidate,
    Decision,
    EventResult,
    IncomingEvent,
    Loaded,
    Needs,
    Prepared,
    StoredResult,
)
from greenenergy.ingestion.records import FORMAT, EventRecord, data_text
from greenenergy.ingestion.userstate import UserIngestState

__all__ = [
    "FORMAT",
    "Candidate",
    "Decision",
    "EventRecord",
    "EventResult",
    "IncomingEvent",
    "Loaded",
    "Needs",
    "Prepared",
    "StoredResult",
    "UserIngestState",
    "data_text",
    "decide",
    "prepare",
]
