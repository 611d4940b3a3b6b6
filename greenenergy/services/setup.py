"""Bringing a deployment up: migrate, check catalogs, load the demo forest; and refusing,
with what to run, a database that a command cannot use."""

from __future__ import annotations

from pathlib import Path

from greenenergy.db.migrate import current_revision, head_revision, is_known_revision, upgrade
from greenenergy.errors import CatalogError, DatabaseNotReady
from greenenergy.services import demo
from greenenergy.services.catalogs import problems as rule_problems
from greenenergy.services.planting import catalog as planting_catalog
from greenenergy.services.runtime import Runtime
from greenenergy.services.tokens import create_token


def require_database(runtime: Runtime, *, schema: bool = True) -> None:
    """Raise ``DatabaseNotReady`` unless the database can be opened and (``schema``) holds
    this version's schema. Without ``schema`` (``init``), only that it can be opened."""
    url = runtime.engine.url
    where = url.render_as_string(hide_password=True)
    if schema and _missing_sqlite_file(runtime):  # connecting would create an empty file
        raise DatabaseNotReady(
            f"the database at {where} has no greenenergy schema (the file does not exist); run `greenenergy init`"
        )
    current = current_revision(runtime.engine)  # DatabaseNotReady if it cannot be opened
    if not schema:
        return
    head = head_revision()
    if current is None:
        raise DatabaseNotReady(f"the database at {where} has no greenenergy schema; run `greenenergy init`")
    if current != head:
        if is_known_revision(current):
            raise DatabaseNotReady(
                f"the database at {where} is at schema revision {current}, this version needs "
                f"{head}; run `greenenergy init` to migrate it"
            )
        raise DatabaseNotReady(
            f"the database at {where} is at schema revision {current}, which this version of "
            f"greenenergy does not know (a newer one migrated it); upgrade greenenergy"
        )


def _missing_sqlite_file(runtime: Runtime) -> bool:
    url = runtime.engine.url
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:") or url.query.get("uri"):
        return False
    return not Path(url.database).exists()


def initialise(runtime: Runtime) -> list[str]:
    """Create or migrate the schema (a second run is a no-op) and check the catalogs."""
    require_database(runtime, schema=False)
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
    lines.append(
        f"catalogs in {runtime.settings.catalog_dir}: rules valid; {len(catalog.species)} species, "
        f"{len(catalog.partners)} partners, {len(catalog.plots)} plots"
    )
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


def load_demo(runtime: Runtime, *, base_url: str, serving: bool = True) -> list[str]:
    """Replay seed_data/ (once) and print one fresh token per demo role."""
    summary = demo.load(runtime)
    lines = []
    if summary.loaded:
        lines.append(
            f"demo forest loaded: {summary.users} users, {summary.events} events over four weeks, "
            f"{summary.trees} trees redeemed, {summary.confirmed} confirmed by partners"
        )
    else:
        lines.append("demo forest already loaded (seed_data/ is replayed once per database)")
    if serving:
        lines += [f"greenenergy is serving on {base_url}", f"  API docs:  {base_url}/docs"]
    else:
        lines.append("the demo database is ready; `greenenergy serve` serves it")
    lines.append("  demo tokens:")
    for role, subject, purpose in DEMO_TOKENS:
        token, _ = create_token(runtime, role=role, subject=subject)
        lines.append(f"    {role:8} {subject:12} {token}   # {purpose}")
    lines.append(f"  try:  curl -H 'Authorization: Bearer <user token>' {base_url}/v1/users/u-alice/energy")
    return lines
