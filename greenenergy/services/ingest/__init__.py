"""Ingestion use cases: a batch of events from a business unit, event files, back-tests."""

from greenenergy.ingestion import EventResult, IncomingEvent
from greenenergy.services.ingest.batch import MAX_BATCH, IngestSummary, event_result, ingest

__all__ = ["MAX_BATCH", "EventResult", "IncomingEvent", "IngestSummary", "event_result", "ingest"]
