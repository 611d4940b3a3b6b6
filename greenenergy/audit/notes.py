"""C2SP signed notes, checkpoints and cosignatures, with Ed25519 from ``cryptography``.

A signed note (c2sp.org/signed-note) is a UTF-8 text ending in a newline, a blank line,
then one line ``— <key name> <base64(key id ‖ signature)>`` per signature. The key id is
the first 4 bytes of SHA-256(name ‖ "\\n" ‖ signature type ‖ public key): type 0x01 signs
the note text with Ed25519, type 0x04 is a timestamped Ed25519 cosignature
(c2sp.org/tlog-cosignature) over ``cosignature/v1\\ntime <unix seconds>\\n<note text>``
whose signature bytes are the 8-byte big-endian timestamp then the Ed25519 signature.

Keys are written as golang.org/x/mod/sumdb/note writes them: a verifier key (vkey)
``<name>+<8 hex key id>+<base64(type ‖ 32-byte public key)>``, a private key
``PRIVATE+KEY+<name>+<8 hex key id>+<base64(type ‖ 32-byte Ed25519 seed)>``.

A checkpoint (c2sp.org/tlog-checkpoint) is a note whose text is ``<origin>\\n<tree
size>\\n<base64 root hash>\\n`` and then optional, non-empty extension lines.

Invariants: a note is only read through ``open_note``, which refuses malformed text and
returns the text only if a trusted key's signature verified; a signature from a trusted
key that fails makes the whole note refused; signatures from unknown keys are ignored
(returned as ``unknown_lines``). Times are integer Unix seconds passed in by the caller.
Every refusal is a ``NoteError`` whose ``code`` says which rule was broken.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from greenenergy.errors import NoteError

ALG_ED25519 = 0x01  # note signature over the text
ALG_COSIGNATURE_V1 = 0x04  # timestamped Ed25519 checkpoint cosignature
ALGORITHMS = (ALG_ED25519, ALG_COSIGNATURE_V1)
KEY_ID_SIZE_BYTES = 4
TIMESTAMP_SIZE_BYTES = 8
ED25519_KEY_SIZE_BYTES = 32
ED25519_SIGNATURE_SIZE_BYTES = 64
MAX_TIMESTAMP_S = 2**63 - 1
MAX_SIGNATURES = 100  # the spec asks to accept at least 16; golang's note package stops at 100
MAX_TREE_SIZE = 2**63 - 1
ROOT_HASH_SIZE_BYTES = 32
SIGNATURE_PREFIX = "\u2014 "  # em dash, space

_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")  # every ASCII control character but newline
_DECIMAL = re.compile(r"(?:0|[1-9][0-9]*)\Z", re.ASCII)
_HEX_KEY_ID = re.compile(r"[0-9a-f]{8}\Z", re.ASCII)


def key_id(name: str, algorithm: int, public_key: bytes) -> bytes:
    """SHA-256(name ‖ "\\n" ‖ algorithm ‖ public key)[:4]: names a key in signature lines."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([algorithm]) + public_key).digest()[:KEY_ID_SIZE_BYTES]


def is_valid_name(name: str) -> bool:
    """A key name: non-empty, no space of any kind, no plus, no control character."""
    return (isinstance(name, str) and name != "" and "+" not in name
            and not any(ch.isspace() or ord(ch) < 0x20 for ch in name) and _encodable(name))


# -- keys -----------------------------------------------------------------------------


@dataclass(frozen=True)
class VerifierKey:
    """A public key that checks one signer's signatures: name, signature type, 32-byte key."""

    name: str
    algorithm: int
    public_key: bytes

    def __post_init__(self) -> None:
        if not is_valid_name(self.name):
            raise NoteError(f"key name {self.name!r} must be non-empty, without spaces or '+'", code="invalid_key")
        if self.algorithm not in ALGORITHMS:
            raise NoteError(f"signature type 0x{self.algorithm:02x} is not supported (0x01 Ed25519, "
                            "0x04 Ed25519 cosignature/v1)", code="invalid_key")
        if not isinstance(self.public_key, bytes) or len(self.public_key) != ED25519_KEY_SIZE_BYTES:
            raise NoteError(f"an Ed25519 public key is {ED25519_KEY_SIZE_BYTES} bytes", code="invalid_key")

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.algorithm, self.public_key)

    @property
    def vkey(self) -> str:
        """``<name>+<hex key id>+<base64(type ‖ key)>``."""
        encoded = base64.b64encode(bytes([self.algorithm]) + self.public_key).decode()
        return f"{self.name}+{self.key_id.hex()}+{encoded}"

    def verify(self, text: bytes, signature: bytes) -> bool:
        """Whether ``signature`` (a signature line's bytes after the key id) signs ``text``."""
        if self.algorithm == ALG_COSIGNATURE_V1:
            if len(signature) != TIMESTAMP_SIZE_BYTES + ED25519_SIGNATURE_SIZE_BYTES:
                return False
            timestamp_s = int.from_bytes(signature[:TIMESTAMP_SIZE_BYTES], "big")
            if timestamp_s > MAX_TIMESTAMP_S:
                return False
            text = _cosignature_message(text, timestamp_s)
            signature = signature[TIMESTAMP_SIZE_BYTES:]
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, text)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True)
class SignerKey:
    """A private key: name, signature type and the 32-byte Ed25519 seed (never shown by repr)."""

    name: str
    algorithm: int
    seed: bytes = field(repr=False)
    public_key: bytes = field(init=False)

    def __post_init__(self) -> None:
        if not isinstance(self.seed, bytes) or len(self.seed) != ED25519_KEY_SIZE_BYTES:
            raise NoteError(f"an Ed25519 seed is {ED25519_KEY_SIZE_BYTES} bytes", code="invalid_key")
        public = Ed25519PrivateKey.from_private_bytes(self.seed).public_key()
        object.__setattr__(self, "public_key", public.public_bytes(Encoding.Raw, PublicFormat.Raw))
        VerifierKey(self.name, self.algorithm, self.public_key)  # checks name and algorithm

    @property
    def verifier(self) -> VerifierKey:
        return VerifierKey(self.name, self.algorithm, self.public_key)

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.algorithm, self.public_key)

    @property
    def private_key(self) -> str:
        """``PRIVATE+KEY+<name>+<hex key id>+<base64(type ‖ seed)>``: keep it secret."""
        encoded = base64.b64encode(bytes([self.algorithm]) + self.seed).decode()
        return f"PRIVATE+KEY+{self.name}+{self.key_id.hex()}+{encoded}"

    def sign(self, message: bytes) -> bytes:
        """The raw 64-byte Ed25519 signature of ``message``."""
        return Ed25519PrivateKey.from_private_bytes(self.seed).sign(message)


def generate_signer_key(name: str, algorithm: int = ALG_ED25519) -> SignerKey:
    """A new private key from the operating system's randomness."""
    return SignerKey(name, algorithm, secrets.token_bytes(ED25519_KEY_SIZE_BYTES))


def parse_vkey(text: str) -> VerifierKey:
    """A verifier key from ``<name>+<hex key id>+<base64(type ‖ key)>``; the key id must match."""
    name, _, rest = text.partition("+") if isinstance(text, str) else ("", "", "")
    hex_id, _, encoded = rest.partition("+")
    return _parse_key(name, hex_id, encoded, "verifier key")[0]


def parse_signer_key(text: str) -> SignerKey:
    """A private key from ``PRIVATE+KEY+<name>+<hex key id>+<base64(type ‖ seed)>``."""
    parts = text.split("+", 4) if isinstance(text, str) else []
    if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
        raise NoteError("a private key reads PRIVATE+KEY+<name>+<hex key id>+<base64 key>", code="invalid_key")
    verifier, seed = _parse_key(parts[2], parts[3], parts[4], "private key")
    return SignerKey(verifier.name, verifier.algorithm, seed)


def _parse_key(name: str, hex_id: str, encoded: str, what: str) -> tuple[VerifierKey, bytes]:
    raw = _b64decode(encoded, canonical=True)
    if not is_valid_name(name) or not _HEX_KEY_ID.match(hex_id) or raw is None or len(raw) != 33:
        raise NoteError(f"a {what} reads <name>+<8 lowercase hex key id>+<base64(type ‖ 32-byte key)>",
                        code="invalid_key")
    algorithm, material = raw[0], raw[1:]
    if what == "private key":
        if algorithm not in ALGORITHMS:
            raise NoteError(f"signature type 0x{algorithm:02x} is not supported", code="invalid_key")
        public = SignerKey(name, algorithm, material).public_key
    else:
        public = material
    verifier = VerifierKey(name, algorithm, public)
    if verifier.key_id.hex() != hex_id:
        raise NoteError(f"the key id {hex_id} does not match the {what} (expected {verifier.key_id.hex()})",
                        code="invalid_key")
    return verifier, material


# -- notes ----------------------------------------------------------------------------


class NoteSignature(NamedTuple):
    """A verified signature line: who signed, and for a cosignature when (Unix seconds)."""

    name: str
    key_id: bytes
    line: str
    timestamp_s: int | None


class OpenedNote(NamedTuple):
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
    if not isinstance(text, str) or not _encodable(text) or _CONTROL.search(text):
        raise NoteError("a signed note is UTF-8 text without control characters other than newline")
    split = text.rfind("\n\n")
    if split < 0:
        raise NoteError("a signed note needs a blank line between its text and its signatures")
    body, block = text[:split + 1], text[split + 2:]
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
        timestamp_s = (int.from_bytes(raw[4:12], "big") if keys[0].algorithm == ALG_COSIGNATURE_V1 else None)
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
    root_hash = _b64decode(root_text, canonical=True)
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
    return _cosignature_message(checkpoint_body.encode(), timestamp_s)


def cosign(checkpoint_body: str, witness_key: SignerKey, timestamp_s: int) -> str:
    """The cosignature line ``— <name> <base64(key id ‖ timestamp ‖ signature)>`` (no newline)."""
    if witness_key.algorithm != ALG_COSIGNATURE_V1:
        raise NoteError("a cosignature needs a cosigner key (signature type 0x04)", code="invalid_key")
    signature = witness_key.sign(cosignature_message(checkpoint_body, timestamp_s))
    return _line(witness_key.name, witness_key.key_id + timestamp_s.to_bytes(8, "big") + signature)


def verify_cosignature(line: str, checkpoint_body: str, witness_vkey: VerifierKey | str) -> int:
    """The timestamp (Unix seconds) of a valid cosignature by ``witness_vkey``; ``NoteError`` otherwise."""
    witness = parse_vkey(witness_vkey) if isinstance(witness_vkey, str) else witness_vkey
    if witness.algorithm != ALG_COSIGNATURE_V1:
        raise NoteError("a cosignature is checked with a cosigner key (signature type 0x04)", code="invalid_key")
    parse_checkpoint(checkpoint_body)
    name, raw = _parse_signature_line(line.removesuffix("\n") if isinstance(line, str) else line)
    if name != witness.name or raw[:KEY_ID_SIZE_BYTES] != witness.key_id:
        raise NoteError(f"the line is signed by {name}+{raw[:4].hex()}, not by {witness.name}+"
                        f"{witness.key_id.hex()}", code="unknown_key")
    if not witness.verify(checkpoint_body.encode(), raw[KEY_ID_SIZE_BYTES:]):
        raise NoteError(f"the cosignature of {name} does not verify", code="invalid_signature")
    return int.from_bytes(raw[KEY_ID_SIZE_BYTES:KEY_ID_SIZE_BYTES + TIMESTAMP_SIZE_BYTES], "big")


# -- helpers --------------------------------------------------------------------------


def _cosignature_message(body: bytes, timestamp_s: int) -> bytes:
    return b"cosignature/v1\ntime %d\n" % timestamp_s + body


def _check_timestamp(timestamp_s: int) -> None:
    if type(timestamp_s) is not int or not 0 <= timestamp_s <= MAX_TIMESTAMP_S:
        raise NoteError(f"a cosignature time is Unix seconds from 0 to {MAX_TIMESTAMP_S}, got {timestamp_s!r}")


def _check_body(body: str) -> None:
    if not isinstance(body, str) or not body.endswith("\n"):
        raise NoteError("a note text must end with a newline")
    if not _encodable(body) or _CONTROL.search(body):
        raise NoteError("a note text is UTF-8 without control characters other than newline")


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _b64decode(text: str, *, canonical: bool = False) -> bytes | None:
    """Standard base64 (RFC 4648 §4, padded); ``None`` if not; with ``canonical``, also the one encoding."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    if canonical and base64.b64encode(raw).decode() != text:
        return None
    return raw


def _line(name: str, raw: bytes) -> str:
    return f"{SIGNATURE_PREFIX}{name} {base64.b64encode(raw).decode()}"


def _parse_signature_line(line: str) -> tuple[str, bytes]:
    """Name and decoded bytes (key id first) of ``— <name> <base64>``."""
    if not isinstance(line, str) or not line.startswith(SIGNATURE_PREFIX):
        raise NoteError(f"a signature line starts with an em dash and a space, got {line!r}")
    name, _, encoded = line[len(SIGNATURE_PREFIX):].partition(" ")
    raw = _b64decode(encoded)
    if not is_valid_name(name) or raw is None or len(raw) <= KEY_ID_SIZE_BYTES:
        raise NoteError(f"a signature line reads '— <name> <base64(key id ‖ signature)>', got {line!r}")
    return name, raw


def _index_verifiers(verifiers: Iterable[VerifierKey | str]) -> dict[tuple[str, bytes], list[VerifierKey]]:
    index: dict[tuple[str, bytes], list[VerifierKey]] = {}
    for verifier in verifiers:
        key = parse_vkey(verifier) if isinstance(verifier, str) else verifier
        if not isinstance(key, VerifierKey):
            raise NoteError(f"a trusted key is a VerifierKey or a vkey string, got {type(verifier).__name__}",
                            code="invalid_key")
        same = index.setdefault((key.name, key.key_id), [])
        if key not in same:  # the same key listed twice is one key, not an ambiguity
            same.append(key)
    return index
