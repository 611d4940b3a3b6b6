"""A witness's decision: cosign a log's new checkpoint, or refuse it with a reason.

A witness (an NGO, a regulator) trusts one log: its origin and its verifier key. It
remembers the last checkpoint it cosigned, ``WitnessState`` (origin, tree size, root), or
nothing before its first one. Given the log's new signed checkpoint and a consistency
proof *from the remembered size* to the new one, it either cosigns (C2SP
tlog-cosignature ``cosignature/v1``) and moves its state forward, or refuses:

- ``bad_signature``: the note is malformed, or the log's key did not sign it (validly);
- ``malformed_checkpoint``: the log signed a text that is not a C2SP checkpoint;
- ``wrong_origin``: the checkpoint is for another log;
- ``rollback``: the tree is smaller than the one already cosigned;
- ``bad_proof``: the proof cannot be one between these sizes (wrong number of hashes,
  a hash that is not 32 bytes, any hash where none is needed);
- ``fork``: the proof does not link the remembered root to the new one, the same size
  comes with another root, or a size-0 tree has a root other than the empty tree's:
  the log has shown two histories, which is what a witness exists to catch.

Invariants: the state only moves forward (a larger or equal size, consistent with the
old root); nothing is cosigned that a check refused; the decision is a pure function of
its arguments, so the same inputs give the same answer. The caller supplies the time
and stores the new state atomically with posting the line (C2SP tlog-witness).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from greenenergy.audit.merkle import (
    EMPTY_ROOT,
    HASH_SIZE_BYTES,
    consistency_proof_length,
    verify_consistency,
)
from greenenergy.audit.notes import (
    Checkpoint,
    SignerKey,
    VerifierKey,
    cosign,
    open_note,
    parse_checkpoint,
    parse_vkey,
)
from greenenergy.errors import NoteError

REASONS = ("bad_signature", "malformed_checkpoint", "wrong_origin", "rollback", "bad_proof", "fork")


@dataclass(frozen=True)
class WitnessState:
    """The last checkpoint this witness cosigned for one log."""

    origin: str
    tree_size: int
    root_hash: bytes


@dataclass(frozen=True)
class Cosigned:
    """Post ``line`` to the log and store ``state``."""

    line: str
    state: WitnessState
    checkpoint: Checkpoint
    timestamp_s: int


@dataclass(frozen=True)
class Refused:
    """Do not cosign; ``reason`` is one of ``REASONS``, ``message`` says what was seen."""

    reason: str
    message: str


def witness_checkpoint(
    *,
    origin: str,
    log_vkey: VerifierKey | str,
    state: WitnessState | None,
    note_text: str,
    proof: Sequence[bytes],
    witness_key: SignerKey,
    timestamp_s: int,
) -> Cosigned | Refused:
    """Check the log's signed checkpoint against what this witness saw before; cosign or refuse.

    ``proof`` is the consistency proof from ``state.tree_size`` (0 on first use, when it
    must be empty) to the new checkpoint's size. ``timestamp_s`` is now, in Unix seconds.
    """
    log_key = parse_vkey(log_vkey) if isinstance(log_vkey, str) else log_vkey
    if state is not None and state.origin != origin:
        raise ValueError(f"the witness state is for {state.origin!r}, not for {origin!r}")
    if type(timestamp_s) is not int or timestamp_s <= 0:
        raise ValueError(f"a cosignature needs the time in Unix seconds (> 0), got {timestamp_s!r}")
    try:
        opened = open_note(note_text, [log_key])
    except NoteError as error:
        return Refused("bad_signature", f"the checkpoint is not signed by {log_key.vkey}: {error.message}")
    try:
        checkpoint = parse_checkpoint(opened.body)
    except NoteError as error:
        return Refused("malformed_checkpoint", error.message)
    if checkpoint.origin != origin:
        return Refused("wrong_origin", f"the checkpoint is for {checkpoint.origin!r}, this witness follows {origin!r}")

    old_size = 0 if state is None else state.tree_size
    old_root = EMPTY_ROOT if state is None else state.root_hash
    new_size, new_root = checkpoint.tree_size, checkpoint.root_hash
    if new_size < old_size:
        return Refused("rollback", f"the checkpoint has {new_size} leaves, {old_size} were already cosigned")
    expected_length = consistency_proof_length(old_size, new_size)
    if len(proof) != expected_length or any(not isinstance(h, bytes) or len(h) != HASH_SIZE_BYTES for h in proof):
        return Refused(
            "bad_proof",
            f"a consistency proof from {old_size} to {new_size} leaves is "
            f"{expected_length} hashes of {HASH_SIZE_BYTES} bytes, got {len(proof)}",
        )
    if not verify_consistency(old_size, new_size, old_root, new_root, list(proof)):
        if new_size == 0:
            what = "a tree of 0 leaves can only have the empty tree's root"
        elif new_size == old_size:
            what = "the root differs from the one cosigned at the same size"
        else:
            what = "the proof does not link the cosigned root to the new one"
        return Refused("fork", f"{what} ({old_size} -> {new_size} leaves)")

    line = cosign(opened.body, witness_key, timestamp_s)
    return Cosigned(line, WitnessState(origin, new_size, new_root), checkpoint, timestamp_s)
