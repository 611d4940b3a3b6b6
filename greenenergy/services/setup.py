"""Bringing a deployment up: migrate, check catalogs, load the demo forest."""

from __future__ import annotations

from greenenergy.db.migrate import upgrade
from greenenergy.errors import CatalogError
from greenenergy.services import demo, planting_catalog
from greenenergy.services.catalogs import problems as rule_problems
from greenenergy.services.runtime import Runtime
from greenenergy.services.tokens import create_token


def initialise(runtime: Runtime) -> list[str]:
    """Create or migrate the schema (a second run is a no-op) and check the catalogs."""
    before, after = upgrade(runtime.engine)
    where = runtime.engine.url.render_as_string(hide_password=True)
    if before == after:
        lines = [f"database {where} is up to date (revision {after})"]
    else:
        lines = [f"database {where} migrated from {before or 'empty'} to revision {after}"]
    problems = rule_problems(runtime) + planting_catalog.problems(runtime)
    if problems:
        raise CatalogError(problems)
    catalog = planting_catalog.catalog(runtime)
    lines.append(f"catalogs in {runtime.settings.catalog_dir}: rules valid; {len(catalog.species)} species, "
                 f"{len(catalog.partners)} partners, {len(catalog.plots)} plots")
    return lines


# (role, subject, what the token is for) printed by the demo
DEMO_TOKENS = [
    ("user", "u-alice", "the most active user: collect, plant, see certificates"),
    ("user", "u-bob", "alice's friend: steal from alice, water her"),
    ("source", "cainiao", "a business unit: POST /v1/events"),
    ("partner", "alxa-see", "a planting partner: confirm orders"),
    ("partner", "china-green", "another planting partner"),
    ("auditor", "auditor-1", "read everything"),
    ("admin", "ops", "operator"),
]


def load_demo(runtime: Runtime, *, base_url: str) -> list[str]:
    """Replay seed_data/ (once) and print one fresh token per demo role."""
    summary = demo.load(runtime)
    lines = []
    if summary.loaded:
        lines.append(f"demo forest loaded: {summary.users} users, {summary.events} events over four weeks, "
                     f"{summary.trees} trees redeemed, {summary.confirmed} confirmed by partners")
    else:
        lines.append("demo forest already loaded (seed_data/ is replayed once per database)")
    lines += [f"greenenergy is serving on {base_url}", f"  API docs:  {base_url}/docs", "  demo tokens:"]
    for role, subject, purpose in DEMO_TOKENS:
        token, _ = create_token(runtime, role=role, subject=subject)
        lines.append(f"    {role:8} {subject:12} {token}   # {purpose}")
    lines.append(f"  try:  curl -H 'Authorization: Bearer <user token>' {base_url}/v1/users/u-alice/energy")
    return lines
