"""Garbage-collector settings for a serving process.

An ingestion batch creates tens of thousands of short-lived objects (events, scores, balls,
dict rows); with CPython's default thresholds (700 allocations) the cyclic collector runs
dozens of times per batch and, in its older generations, walks every long-lived object of the
process each time -- measured here at about 40 % of a batch's decision time. Nothing the
request paths build forms reference cycles that must be freed promptly, so a serving process
collects less often (``THRESHOLDS``) and moves what start-up built (modules, catalogs, compiled
rules) out of the collector's way (``gc.freeze``).
"""

from __future__ import annotations

import gc

THRESHOLDS = (50_000, 20, 100)


def tune_for_serving() -> None:
    """Call once, in a serving process, after the app is built (``serve``, ``api.asgi``)."""
    gc.collect()  # free start-up garbage first: gc.freeze would keep it forever
    gc.set_threshold(*THRESHOLDS)
    gc.freeze()
