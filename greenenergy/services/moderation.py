"""Operators block and unblock users: a blocked user's new events are rejected (`user_blocked`)."""

from __future__ import annotations

from greenenergy.db import events_repo
from greenenergy.db.engine import in_write_tx
from greenenergy.errors import InvalidInput
from greenenergy.ids import check_id
from greenenergy.services.runtime import Runtime

MAX_REASON_CHARS = 300


def block(runtime: Runtime, user_id: str, *, reason: str, by: str) -> bool:
    """Block ``user_id``; returns False if already blocked."""
    check_id(user_id, what="user_id")
    # The reason is what an operator later reads to decide on an unblock: an empty one
    # records nothing, so it is refused here, for the CLI and the API alike.
    if not reason.strip():
        raise InvalidInput("a block needs a reason: say why the user is blocked", code="invalid_reason", field="reason")
    if len(reason) > MAX_REASON_CHARS:
        raise InvalidInput(
            f"the reason is {len(reason)} characters; at most {MAX_REASON_CHARS}", code="invalid_reason", field="reason"
        )
    now = runtime.clock.now()
    # Two blocks of one user at once: the loser's insert hits the winner's row, and its
    # second run finds the user blocked (False).
    return in_write_tx(runtime.engine, lambda tx: events_repo.block_user(tx, user_id, reason=reason, by=by, now=now))


def unblock(runtime: Runtime, user_id: str) -> bool:
    """Unblock ``user_id``; returns False if it was not blocked."""
    check_id(user_id, what="user_id")
    return in_write_tx(runtime.engine, lambda tx: events_repo.unblock_user(tx, user_id))
