"""`make demo`'s forest: seed_data/ replayed through the services gives a living forest."""

from __future__ import annotations

from collections import Counter

from greenenergy.services import demo
from greenenergy.services.audit.verify import verify
from greenenergy.services.forest import balls as forest_balls
from greenenergy.services.planting import queries as planting_queries
from greenenergy.services.runtime import Runtime


def test_the_demo_forest_is_alive_consistent_and_loaded_once(runtime: Runtime) -> None:
    summary = demo.load(runtime)
    assert summary.loaded and summary.users == 12 and summary.events > 2000
    assert summary.trees >= 1 and summary.confirmed >= 1
    statuses: Counter[str] = Counter()
    for user in ("u-alice", "u-bob", "u-chen", "u-emma"):
        statuses.update(b.status for b in forest_balls.list_balls(runtime, user, statuses=forest_balls.STATUSES))
    assert statuses["collected"] > 0 and statuses["ripe"] + statuses["waiting"] > 0
    trees = [t for user in ("u-alice", "u-chen", "u-gao") for t in planting_queries.list_trees(runtime, user)]
    assert any(t.certificate_no for t in trees)
    report = verify(runtime)
    assert report.ok, report.findings[:3]
    assert demo.load(runtime).loaded is False
    assert verify(runtime).transactions == report.transactions
