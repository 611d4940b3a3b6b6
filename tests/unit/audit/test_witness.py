"""A witness cosigns a log that only grows, and refuses every other story with a reason.

Each test builds the log it needs from leaf hashes, signs checkpoints with the log's key
and hands the witness the note, the consistency proof and the time.
"""

from __future__ import annotations

import dataclasses

import pytest

from greenenergy.audit.merkle import CompactRange, consistency_proof, leaf_hash
from greenenergy.audit.notes import (
    ALG_COSIGNATURE_V1,
    SignerKey,
    format_checkpoint,
    generate_signer_key,
    open_note,
    sign_note,
    verify_cosignature,
)
from greenenergy.audit.witness import (
    REASONS,
    Cosigned,
    Refused,
    WitnessState,
    witness_checkpoint,
)

ORIGIN = "greenenergy.example/log"
NOW_S = 1_796_684_400  # 2026-12-07T23:00:00Z
LOG = SignerKey(ORIGIN, 0x01, bytes(range(32)))
WITNESS = SignerKey("ngo.example/witness", ALG_COSIGNATURE_V1, bytes(range(32, 64)))


class Log:
    """A log of ``n`` leaves (a ``history`` tag gives another log with other leaves)."""

    def __init__(self, n: int, history: bytes = b"main") -> None:
        leaves = [leaf_hash(history + i.to_bytes(4, "big")) for i in range(n)]
        compact, nodes = CompactRange.empty().append(leaves)
        self.size, self.root = n, compact.root()
        self.store = {(node.level, node.index): node.hash for node in nodes}

    def note(self, *, key: SignerKey = LOG, origin: str = ORIGIN) -> str:
        return sign_note(format_checkpoint(origin, self.size, self.root), key)

    def proof(self, old_size: int) -> list[bytes]:
        return consistency_proof(old_size, self.size, self.store)


def decide(state: WitnessState | None, note: str, proof: list[bytes], **changes: object) -> Cosigned | Refused:
    arguments = {
        "origin": ORIGIN,
        "log_vkey": LOG.verifier.vkey,
        "state": state,
        "note_text": note,
        "proof": proof,
        "witness_key": WITNESS,
        "timestamp_s": NOW_S,
        **changes,
    }
    return witness_checkpoint(**arguments)  # type: ignore[arg-type]


def cosigned(result: Cosigned | Refused) -> Cosigned:
    assert isinstance(result, Cosigned), result
    return result


def refused(result: Cosigned | Refused) -> str:
    assert isinstance(result, Refused), result
    assert result.reason in REASONS and result.message
    return result.reason


def test_first_use_trusts_the_checkpoint_and_cosigns_it() -> None:
    log = Log(10)
    note = log.note()
    result = cosigned(decide(None, note, []))
    assert result.state == WitnessState(ORIGIN, 10, log.root)
    body = open_note(note, [LOG.verifier]).body
    assert verify_cosignature(result.line, body, WITNESS.verifier) == NOW_S
    # A client that trusts both keys opens the cosigned note in one call.
    both = open_note(note + result.line + "\n", [LOG.verifier, WITNESS.verifier])
    assert [s.name for s in both.signatures] == [ORIGIN, "ngo.example/witness"]


def test_consistent_growth_is_cosigned_step_after_step() -> None:
    state = None
    for size in (1, 2, 3, 7, 8, 9, 31, 64, 100):
        log = Log(size)
        result = cosigned(decide(state, log.note(), log.proof(0 if state is None else state.tree_size)))
        assert result.state.tree_size == size
        state = result.state


def test_the_same_checkpoint_again_is_cosigned_again() -> None:
    log = Log(12)
    state = WitnessState(ORIGIN, 12, log.root)
    assert cosigned(decide(state, log.note(), [], timestamp_s=NOW_S + 60)).state == state


def test_a_fork_is_refused() -> None:
    state = WitnessState(ORIGIN, 12, Log(12).root)
    other = Log(12, history=b"other")
    assert refused(decide(state, other.note(), [])) == "fork"  # same size, another root

    # Another history grown further, with a proof of its own: the old root is not in it.
    forked = Log(20, history=b"other")
    assert refused(decide(state, forked.note(), forked.proof(12))) == "fork"
    # The real log's proof with the forked root, and the forked proof with the real root.
    real = Log(20)
    assert refused(decide(state, forked.note(), real.proof(12))) == "fork"
    assert refused(decide(state, real.note(), forked.proof(12))) == "fork"
    assert cosigned(decide(state, real.note(), real.proof(12))).state.root_hash == real.root


def test_a_smaller_tree_is_a_rollback() -> None:
    state = WitnessState(ORIGIN, 12, Log(12).root)
    assert refused(decide(state, Log(11).note(), [])) == "rollback"
    assert refused(decide(state, Log(0).note(), [])) == "rollback"


def test_a_proof_of_the_wrong_shape_is_a_bad_proof() -> None:
    state = WitnessState(ORIGIN, 12, Log(12).root)
    log = Log(20)
    proof = log.proof(12)
    assert refused(decide(state, log.note(), proof[:-1])) == "bad_proof"
    assert refused(decide(state, log.note(), [*proof, proof[0]])) == "bad_proof"
    assert refused(decide(state, log.note(), [proof[0][:31], *proof[1:]])) == "bad_proof"
    assert refused(decide(None, log.note(), proof)) == "bad_proof"  # first use needs no proof
    assert refused(decide(WitnessState(ORIGIN, 20, log.root), log.note(), proof)) == "bad_proof"


def test_a_note_the_log_did_not_sign_is_refused() -> None:
    log = Log(10)
    stranger = generate_signer_key(ORIGIN)  # the log's name, another key
    assert refused(decide(None, log.note(key=stranger), [])) == "bad_signature"
    body = format_checkpoint(ORIGIN, 10, log.root)
    assert refused(decide(None, body, [])) == "bad_signature"  # not signed at all
    tampered = log.note().replace("\n10\n", "\n11\n")
    assert refused(decide(None, tampered, [])) == "bad_signature"


def test_another_logs_checkpoint_is_the_wrong_origin() -> None:
    log = Log(10)
    assert refused(decide(None, log.note(origin="someone.example/log"), [])) == "wrong_origin"


def test_a_signed_text_that_is_not_a_checkpoint_is_refused() -> None:
    assert refused(decide(None, sign_note("hello\n", LOG), [])) == "malformed_checkpoint"


def test_an_empty_tree_has_only_the_empty_root() -> None:
    assert cosigned(decide(None, Log(0).note(), [])).state.tree_size == 0
    lying = sign_note(format_checkpoint(ORIGIN, 0, Log(3).root), LOG)
    assert refused(decide(None, lying, [])) == "fork"


def test_caller_mistakes_raise() -> None:
    log = Log(3)
    with pytest.raises(ValueError, match="Unix seconds"):
        decide(None, log.note(), [], timestamp_s=0)
    with pytest.raises(ValueError, match="not for"):
        decide(dataclasses.replace(WitnessState(ORIGIN, 3, log.root), origin="x"), log.note(), [])
