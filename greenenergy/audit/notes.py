"""C2SP signed notes, checkpoints and cosignatures.

A signed note (c2sp.org/signed-note) is a UTF-8 text ending in a newline, a blank line,
then one line ``— <key name> <base64(key id ‖ signature)>`` per signature (keys and key
ids: ``greenenergy.audit.keys``, re-exported here). A checkpoint
(c2sp.org/tlog-checkpoint) is a note whose text is ``<origin>\\n<tree size>\\n<base64
root hash>\\n`` then optional, non-empty extension lines. A cosignature
(c2sp.org/tlog-cosignature, ``cosignature/v1``) is a signature line by a type-0x04 key
over ``cosignature/v1\\ntime <unix seconds>\\n<checkpoint text>``, its bytes being key id
‖ 8-byte big-endian time ‖ Ed25519 signature.

Invariants: a note is only read through ``open_note``, which refuses malformed text and
returns the text only if a trusted key's signature verified; a signature from a trusted
key that fails makes the whole note refused; signatures from unknown keys are ignored
(returned as ``unknown_lines``). Times are integer Unix seconds passed in by the caller.
Every refusal is a ``NoteError`` whose ``code`` says which rule was broken.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from greenenergy.audit.keys import (
    ALG_COSIGNATURE_V1,
    ALG_ED25519,
    KEY_ID_SIZE_BYTES,
    MAX_TIMESTAMP_S,
    TIMESTAMP_SIZE_BYTES,
    SignerKey,
    VerifierKey,
    cosignature_v1_message,
    decode_base64,
    generate_signer_key,
    is_utf8,
    is_valid_name,
    key_id,
    parse_signer_key,
    parse_vkey,
)
from greenenergy.errors import NoteError

__all__ = [
    "ALG_COSIGNATURE_V1",
    "ALG_ED25519",
    "Checkpoint",
    "NoteSignature",
    "OpenedNote",
    "SignerKey",
    "VerifierKey",
    "cosign",
    "cosignature_message",
    "format_checkpoint",
    "generate_signer_key",
    "is_valid_name",
    "key_id",
    "open_note",
    "parse_checkpoint",
    "parse_signer_key",
    "parse_vkey",
    "sign_note",
    "signature_line",
    "verify_cosignature",
]

MAX_SIGNATURES = 100  # the spec asks to accept at least 16; golang's note package stops at 100
MAX_TREE_SIZE = 2**63 - 1
ROOT_HASH_SIZE_BYTES = 32
SIGNATURE_PREFIX = "\u2014 "  # em dash, space

_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")  # every ASCII control character but newline
_DECIMAL = re.compile(r"(?:0|[1-9][0-9]*)\Z", re.ASCII)


# -- notes ----------------------------------------------------------------------------


class NoteSignature(NamedTuple):
    """A verified signature line: who signed, and for a cosignature when (Unix seconds)."""

    name: str
    key_id: bytes
    line: str
    timestamp_s: int | None


class OpenedNote(NamedTuple):
    """What ``open_note`` returns: the text, its verified signatures, the lines it ignored."""

    body: str
    signatures: tuple[NoteSignature, ...]
    unknown_lines: tuple[str, ...]


def signature_line(body: str, signer: SignerKey) -> str:
    """The line ``— <name> <base64(key id ‖ signature)>`` (no newline) of an Ed25519 note signature."""
    _check_body(body)
    if signer.algorithm != ALG_ED25519:
        raise NoteError("a cosigner key signs with cosign(), which adds the timestamp", code="invalid_key")
    return _line(signer.name, signer.key_id + signer.sign(body.encode()))


def sign_note(body: str, *signers: SignerKey) -> str:
    """The signed note: ``body``, a blank line, one signature line per signer."""
    if not signers:
        raise NoteError("a signed note needs at least one signer")
    return body + "\n" + "".join(signature_line(body, signer) + "\n" for signer in signers)


def open_note(text: str | bytes, verifiers: Iterable[VerifierKey | str]) -> OpenedNote:
    """The note's text and signatures, if at least one trusted key signed it.

    Follows golang.org/x/mod/sumdb/note ``Open``: the note is UTF-8 without control
    characters but newline, its text ends at the last blank line, every later line is a
    signature line. A line whose (name, key id) matches a trusted key must verify (else
    ``invalid_signature``); other lines are ``unknown_lines``; with no verified line the
    note is ``unverified_note``. Repeated lines are kept once.
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as error:
            raise NoteError("a signed note must be UTF-8") from error
    if not isinstance(text, str) or not is_utf8(text) or _CONTROL.search(text):
        raise NoteError("a signed note is UTF-8 text without control characters other than newline")
    split = text.rfind("\n\n")
    if split < 0:
        raise NoteError("a signed note needs a blank line between its text and its signatures")
    body, block = text[: split + 1], text[split + 2 :]
    if not block or not block.endswith("\n"):
        raise NoteError("a signed note ends with signature lines, each ending in a newline")
    trusted = _index_verifiers(verifiers)
    verified: dict[tuple[str, bytes], NoteSignature] = {}
    unknown: dict[str, None] = {}
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError(f"a signed note has at most {MAX_SIGNATURES} signatures")
    for line in lines:
        name, raw = _parse_signature_line(line)
        keys = trusted.get((name, raw[:KEY_ID_SIZE_BYTES]), [])
        if not keys:
            unknown.setdefault(line)
            continue
        if len(keys) > 1:
            raise NoteError(f"two trusted keys share the name {name} and key id {raw[:4].hex()}", code="invalid_key")
        if (name, keys[0].key_id) in verified:
            continue
        if not keys[0].verify(body.encode(), raw[KEY_ID_SIZE_BYTES:]):
            raise NoteError(f"the signature of {name}+{raw[:4].hex()} does not verify", code="invalid_signature")
        timestamp_s = _timestamp(raw) if keys[0].algorithm == ALG_COSIGNATURE_V1 else None
        verified[name, keys[0].key_id] = NoteSignature(name, keys[0].key_id, line, timestamp_s)
    if not verified:
        raise NoteError("no trusted key signed this note", code="unverified_note")
    return OpenedNote(body, tuple(verified.values()), tuple(unknown))


# -- checkpoints ----------------------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    """The tree head a log signs: origin, tree size, RFC 6962 root, optional extension lines."""

    origin: str
    tree_size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    @property
    def body(self) -> str:
        return format_checkpoint(self.origin, self.tree_size, self.root_hash, self.extensions)


def format_checkpoint(origin: str, tree_size: int, root_hash: bytes, extensions: Sequence[str] = ()) -> str:
    """``<origin>\\n<tree size>\\n<base64 root>\\n`` then one line per extension."""
    if not isinstance(origin, str) or not origin or "\n" in origin or _CONTROL.search(origin):
        raise NoteError(f"a checkpoint origin is one non-empty line, got {origin!r}")
    if type(tree_size) is not int or not 0 <= tree_size <= MAX_TREE_SIZE:
        raise NoteError(f"a tree size is an int from 0 to {MAX_TREE_SIZE}, got {tree_size!r}")
    if not isinstance(root_hash, bytes) or len(root_hash) != ROOT_HASH_SIZE_BYTES:
        raise NoteError(f"a root hash is {ROOT_HASH_SIZE_BYTES} bytes")
    for line in extensions:
        if not isinstance(line, str) or not line or "\n" in line or _CONTROL.search(line):
            raise NoteError(f"an extension line is one non-empty line, got {line!r}")
    lines = [origin, str(tree_size), base64.b64encode(root_hash).decode(), *extensions]
    body = "\n".join(lines) + "\n"
    _check_body(body)
    return body


def parse_checkpoint(body: str) -> Checkpoint:
    """The checkpoint a note text holds; ``NoteError`` unless it is exactly that format."""
    _check_body(body)
    lines = body[:-1].split("\n")
    if len(lines) < 3:
        raise NoteError("a checkpoint has an origin, a tree size and a root hash line")
    origin, size_text, root_text, *extensions = lines
    if not origin:
        raise NoteError("a checkpoint's origin line is empty")
    if not _DECIMAL.match(size_text) or int(size_text) > MAX_TREE_SIZE:
        raise NoteError(f"a checkpoint's tree size is a decimal without leading zeros, got {size_text!r}")
    root_hash = decode_base64(root_text, canonical=True)
    if root_hash is None or len(root_hash) != ROOT_HASH_SIZE_BYTES:
        raise NoteError(f"a checkpoint's root hash is base64 of {ROOT_HASH_SIZE_BYTES} bytes, got {root_text!r}")
    if any(not line for line in extensions):
        raise NoteError("a checkpoint's extension lines must not be empty")
    return Checkpoint(origin, int(size_text), root_hash, tuple(extensions))


# -- cosignatures ---------------------------------------------------------------------


def cosignature_message(checkpoint_body: str, timestamp_s: int) -> bytes:
    """What a cosigner signs: ``cosignature/v1\\ntime <seconds>\\n`` then the whole checkpoint text."""
    parse_checkpoint(checkpoint_body)
    _check_timestamp(timestamp_s)
    return cosignature_v1_message(checkpoint_body.encode(), timestamp_s)


def cosign(checkpoint_body: str, witness_key: SignerKey, timestamp_s: int) -> str:
    """The cosignature line ``— <name> <base64(key id ‖ timestamp ‖ signature)>`` (no newline)."""
    if witness_key.algorithm != ALG_COSIGNATURE_V1:
        raise NoteError("a cosignature needs a cosigner key (signature type 0x04)", code="invalid_key")
    signature = witness_key.sign(cosignature_message(checkpoint_body, timestamp_s))
    return _line(witness_key.name, witness_key.key_id + timestamp_s.to_bytes(TIMESTAMP_SIZE_BYTES, "big") + signature)


def verify_cosignature(line: str, checkpoint_body: str, witness_vkey: VerifierKey | str) -> int:
    """The timestamp (Unix seconds) of a valid cosignature by ``witness_vkey``; ``NoteError`` otherwise."""
    witness = parse_vkey(witness_vkey) if isinstance(witness_vkey, str) else witness_vkey
    if witness.algorithm != ALG_COSIGNATURE_V1:
        raise NoteError("a cosignature is checked with a cosigner key (signature type 0x04)", code="invalid_key")
    parse_checkpoint(checkpoint_body)
    name, raw = _parse_signature_line(line.removesuffix("\n") if isinstance(line, str) else line)
    if name != witness.name or raw[:KEY_ID_SIZE_BYTES] != witness.key_id:
        raise NoteError(
            f"the line is signed by {name}+{raw[:4].hex()}, not by {witness.name}+{witness.key_id.hex()}",
            code="unknown_key",
        )
    if not witness.verify(checkpoint_body.encode(), raw[KEY_ID_SIZE_BYTES:]):
        raise NoteError(f"the cosignature of {name} does not verify", code="invalid_signature")
    return _timestamp(raw)


# -- helpers --------------------------------------------------------------------------


def _check_timestamp(timestamp_s: int) -> None:
    if type(timestamp_s) is not int or not 0 <= timestamp_s <= MAX_TIMESTAMP_S:
        raise NoteError(f"a cosignature time is Unix seconds from 0 to {MAX_TIMESTAMP_S}, got {timestamp_s!r}")


def _check_body(body: str) -> None:
    if not isinstance(body, str) or not body.endswith("\n"):
        raise NoteError("a note text must end with a newline")
    if not is_utf8(body) or _CONTROL.search(body):
        raise NoteError("a note text is UTF-8 without control characters other than newline")


def _timestamp(raw: bytes) -> int:
    """The Unix seconds of a cosignature's bytes (key id ‖ timestamp ‖ signature)."""
    return int.from_bytes(raw[KEY_ID_SIZE_BYTES : KEY_ID_SIZE_BYTES + TIMESTAMP_SIZE_BYTES], "big")


def _line(name: str, raw: bytes) -> str:
    return f"{SIGNATURE_PREFIX}{name} {base64.b64encode(raw).decode()}"


def _parse_signature_line(line: str) -> tuple[str, bytes]:
    """Name and decoded bytes (key id first) of ``— <name> <base64>``."""
    if not isinstance(line, str) or not line.startswith(SIGNATURE_PREFIX):
        raise NoteError(f"a signature line starts with an em dash and a space, got {line!r}")
    name, _, encoded = line[len(SIGNATURE_PREFIX) :].partition(" ")
    raw = decode_base64(encoded)
    if not is_valid_name(name) or raw is None or len(raw) <= KEY_ID_SIZE_BYTES:
        raise NoteError(f"a signature line reads '— <name> <base64(key id ‖ signature)>', got {line!r}")
    return name, raw


def _index_verifiers(verifiers: Iterable[VerifierKey | str]) -> dict[tuple[str, bytes], list[VerifierKey]]:
    index: dict[tuple[str, bytes], list[VerifierKey]] = {}
    for verifier in verifiers:
        key = parse_vkey(verifier) if isinstance(verifier, str) else verifier
        if not isinstance(key, VerifierKey):
            raise NoteError(
                f"a trusted key is a VerifierKey or a vkey string, got {type(verifier).__name__}", code="invalid_key"
            )
        same = index.setdefault((key.name, key.key_id), [])
        if key not in same:  # the same key listed twice is one key, not an ambiguity
            same.append(key)
    return index
