"""The ``greenenergy`` command line (typer).

Every command builds one ``Runtime`` from the environment, calls services, and prints. A
user error (bad option, unknown id, bad file) prints ``error: <message>`` on stderr and
exits 2 -- never a traceback.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from greenenergy.cli.files import ingest_file, print_backtest
from greenenergy.cli.serve import serve_forever
from greenenergy.clock import Clock, ManualClock
from greenenergy.config import load_settings
from greenenergy.errors import GreenEnergyError, InvalidInput
from greenenergy.scheduler.jobs import describe, run_all
from greenenergy.scheduler.runner import run_dedicated
from greenenergy.scoring import check_rules
from greenenergy.services import moderation
from greenenergy.services.audit.verify import verify
from greenenergy.services.ingest.backtest import backtest
from greenenergy.services.runtime import Runtime
from greenenergy.services.setup import initialise, load_demo, require_database
from greenenergy.services.tokens import create_token, list_tokens, revoke_token

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="greenenergy: a personal carbon account engine.",
)
token_app = typer.Typer(no_args_is_help=True, help="Create, list and revoke bearer tokens.")
audit_app = typer.Typer(no_args_is_help=True, help="Verify that the record was not altered.")
rules_app = typer.Typer(no_args_is_help=True, help="Check rule files and back-test rule changes.")
user_app = typer.Typer(no_args_is_help=True, help="Operator actions on users.")
app.add_typer(token_app, name="token")
app.add_typer(audit_app, name="audit")
app.add_typer(rules_app, name="rules")
app.add_typer(user_app, name="user")

F = TypeVar("F", bound=Callable[..., Any])
USER_ERROR_EXIT = 2


def friendly(func: F) -> F:
    """Turn GreenEnergyError into `error: ...` on stderr and exit 2."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except GreenEnergyError as error:
            typer.echo(f"error: {error.message}", err=True)
            raise typer.Exit(USER_ERROR_EXIT) from None

    return wrapper  # type: ignore[return-value]


@contextmanager
def runtime(clock: Clock | None = None, *, schema: bool = True) -> Iterator[Runtime]:
    """The command's runtime; its connections are closed when the command ends.

    With ``schema`` (every command that reads or writes the database) a database that was
    never initialised, is at another revision or cannot be opened is refused first, with
    what to run; ``init``, ``demo`` (which initialise it) and ``rules backtest`` (which
    writes nothing) pass ``schema=False``.
    """
    rt = Runtime.from_settings(load_settings(), clock=clock)
    try:
        if schema:
            require_database(rt)
        yield rt
    finally:
        rt.close()


@app.command()
@friendly
def init() -> None:
    """Create or migrate the database and load the catalogs."""

    with runtime(schema=False) as rt:
        for line in initialise(rt):
            typer.echo(line)


@app.command()
@friendly
def serve(
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port", min=1, max=65535)] = 8000,
) -> None:
    """Run the API (and, by default, the in-process scheduler)."""

    with runtime() as rt:
        serve_forever(rt, host=host, port=port)


@app.command()
@friendly
def demo(
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port", min=1, max=65535)] = 8000,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="load and print tokens, then exit")] = False,
) -> None:
    """init, load seed_data/, print one demo token per role, serve."""

    with runtime(schema=False) as rt:
        for line in initialise(rt):
            typer.echo(line)
        for line in load_demo(rt, base_url=f"http://{host}:{port}", serving=not no_serve):
            typer.echo(line)
        if not no_serve:
            serve_forever(rt, host=host, port=port)


@token_app.command("create")
@friendly
def token_create(
    role: Annotated[str, typer.Option(help="user, source, partner, auditor or admin")],
    subject: Annotated[str, typer.Option(help="user id, source id, partner id, or a name for auditors/admins")],
    allow: Annotated[list[str] | None, typer.Option(help="source only: an allowed event type (repeatable)")] = None,
) -> None:
    """Print a new bearer token, and nothing else."""

    with runtime() as rt:
        token, _info = create_token(rt, role=role, subject=subject, allow=allow)
    typer.echo(token)


@token_app.command("list")
@friendly
def token_list() -> None:
    """List tokens (never their secrets)."""

    with runtime() as rt:
        tokens = list_tokens(rt)
    typer.echo("id\trole\tsubject\tcreated\tstatus\tallowed types")
    for info in tokens:
        status = "revoked" if info.revoked_at else "active"
        allowed = ",".join(info.allowed_types) if info.allowed_types else "-"
        typer.echo(f"{info.id}\t{info.role}\t{info.subject}\t{info.created_at.isoformat()}\t{status}\t{allowed}")


@token_app.command("revoke")
@friendly
def token_revoke(token_id: Annotated[str, typer.Argument(help="the id shown by `token list`")]) -> None:
    """Revoke a token: it stops working at once."""

    with runtime() as rt:
        info = revoke_token(rt, token_id)
    typer.echo(f"revoked {info.id} ({info.role} {info.subject})")


@audit_app.command("verify")
@friendly
def audit_verify() -> None:
    """Verify the hash chain of every shard and the cached balances. Exit 1 if tampered."""

    with runtime() as rt:
        report = verify(rt)
    if report.ok:
        typer.echo(
            f"intact: {report.transactions} transactions in {report.shards} shards, "
            f"{report.events} events and {report.confirmations} planting confirmations verified"
        )
        return
    first = report.findings[0]
    typer.echo(f"TAMPERED: {first.message}", err=False)
    for finding in report.findings[1:]:
        typer.echo(f"  also: {finding.message}")
    raise typer.Exit(1)


@app.command()
@friendly
def tick(
    now: Annotated[str | None, typer.Option(help="run the jobs as of this ISO 8601 time (default: now)")] = None,
) -> None:
    """Run the scheduled jobs once (ripen, expire balls, overdue orders) as of a time."""
    moment = _parse_instant(now) if now else None
    with runtime(clock=ManualClock(moment) if moment else None) as rt:
        results = run_all(rt, moment)
    stamp = moment.isoformat() if moment else "now"
    for name, result in results:
        typer.echo(f"{name} (as of {stamp}): {describe(result)}")


@app.command()
@friendly
def scheduler() -> None:
    """Run the scheduled jobs in this process only (one active at a time on PostgreSQL)."""
    with runtime() as rt:
        run_dedicated(rt)


def _parse_instant(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"--now {text!r} is not an ISO 8601 time", code="invalid_time") from None
    if moment.tzinfo is None:
        raise InvalidInput(f"--now {text!r} needs an offset, e.g. 2026-11-20T07:00:00+08:00", code="invalid_time")
    return moment


@app.command("ingest")
@friendly
def ingest_command(
    file: Annotated[Path, typer.Argument(help="events as .csv, .jsonl or .parquet")],
    source: Annotated[str, typer.Option("--source", help="the business unit the events come from")],
) -> None:
    """Ingest an event file in batches; exit 1 if any event is rejected."""
    with runtime() as rt:
        rejected = ingest_file(rt, file, source, Console(stderr=False))
    if rejected:
        raise typer.Exit(1)


@rules_app.command("check")
@friendly
def rules_check(
    directory: Annotated[Path | None, typer.Argument(help="rules folder (default: the catalog's rules/)")] = None,
) -> None:
    """Validate rule files; print every error as file:line: rule-id: message."""
    settings = load_settings()
    folder = directory or settings.catalog_dir / "rules"
    if not folder.is_dir():
        typer.echo(f"error: {folder} is not a folder of rule files", err=True)
        raise typer.Exit(USER_ERROR_EXIT)
    problems = check_rules(folder, settings.zone)
    for problem in problems:
        typer.echo(problem)
    if problems:
        raise typer.Exit(1)
    typer.echo(f"{folder}: all rules valid")


@rules_app.command("backtest")
@friendly
def rules_backtest(
    events_file: Annotated[
        Path, typer.Argument(help="events as .csv, .jsonl or .parquet; a file of stored or exported events as it is")
    ],
    rules: Annotated[Path | None, typer.Option("--rules", help="candidate rules folder")] = None,
    top: Annotated[int, typer.Option(help="users shown, most changed first")] = 20,
) -> None:
    """Score a file with candidate rules and with the rules in force; write nothing.

    Columns an export carries beside the event (source, stored result, chain position) are
    ignored and named in the summary."""
    with runtime(schema=False) as rt:
        report = backtest(rt, events_file, rules)
    print_backtest(report, Console(), top)


@user_app.command("block")
@friendly
def user_block(
    user_id: Annotated[str, typer.Argument(help="the user to block")],
    reason: Annotated[str, typer.Option(help="why (kept with the block)")],
) -> None:
    """Block a user: their new events are rejected as user_blocked."""
    with runtime() as rt:
        changed = moderation.block(rt, user_id, reason=reason, by="cli")
    typer.echo(f"blocked {user_id}" if changed else f"{user_id} was already blocked")


@user_app.command("unblock")
@friendly
def user_unblock(user_id: Annotated[str, typer.Argument(help="the user to unblock")]) -> None:
    """Unblock a user."""
    with runtime() as rt:
        changed = moderation.unblock(rt, user_id)
    typer.echo(f"unblocked {user_id}" if changed else f"{user_id} was not blocked")


def main() -> None:  # pragma: no cover - console entry
    sys.exit(app())
