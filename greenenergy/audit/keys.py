"""Keys of C2SP signed notes: key ids, verifier keys (vkeys) and private keys, Ed25519.

A key is named (a schema-less URL: no spaces, no '+') and typed by a signature type byte:
0x01 signs a note's text with Ed25519 (c2sp.org/signed-note), 0x04 signs timestamped
Ed25519 cosignatures (c2sp.org/tlog-cosignature). Its key id is
SHA-256(name ‖ "\n" ‖ type ‖ 32-byte public key)[:4], so one key bytes under two types
has two ids. Encodings are golang.org/x/mod/sumdb/note's: a vkey
``<name>+<8 hex key id>+<base64(type ‖ public key)>`` and a private key
``PRIVATE+KEY+<name>+<8 hex key id>+<base64(type ‖ 32-byte seed)>``.

Invariants: a parsed key's id always matches its name, type and key (else ``NoteError``
with code ``invalid_key``); base64 in keys must be the one canonical encoding; a private
key's seed never appears in its repr.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import secrets
from dataclasses import dataclass, field

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

_HEX_KEY_ID = re.compile(r"[0-9a-f]{8}\Z", re.ASCII)


def key_id(name: str, algorithm: int, public_key: bytes) -> bytes:
    """SHA-256(name ‖ "\\n" ‖ algorithm ‖ public key)[:4]: names a key in signature lines."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([algorithm]) + public_key).digest()[:KEY_ID_SIZE_BYTES]


def is_valid_name(name: str) -> bool:
    """A key name: non-empty, no space of any kind, no plus, no control character."""
    return (
        isinstance(name, str)
        and name != ""
        and "+" not in name
        and not any(ch.isspace() or ord(ch) < 0x20 for ch in name)
        and is_utf8(name)
    )


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
            raise NoteError(
                f"signature type 0x{self.algorithm:02x} is not supported (0x01 Ed25519, 0x04 Ed25519 cosignature/v1)",
                code="invalid_key",
            )
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
            text = cosignature_v1_message(text, timestamp_s)
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
    raw = decode_base64(encoded, canonical=True)
    if (
        not is_valid_name(name)
        or not _HEX_KEY_ID.match(hex_id)
        or raw is None
        or len(raw) != 1 + ED25519_KEY_SIZE_BYTES
    ):
        raise NoteError(
            f"a {what} reads <name>+<8 lowercase hex key id>+<base64(type ‖ 32-byte key)>", code="invalid_key"
        )
    algorithm, material = raw[0], raw[1:]
    if what == "private key":
        if algorithm not in ALGORITHMS:
            raise NoteError(f"signature type 0x{algorithm:02x} is not supported", code="invalid_key")
        public = SignerKey(name, algorithm, material).public_key
    else:
        public = material
    verifier = VerifierKey(name, algorithm, public)
    if verifier.key_id.hex() != hex_id:
        raise NoteError(
            f"the key id {hex_id} does not match the {what} (expected {verifier.key_id.hex()})", code="invalid_key"
        )
    return verifier, material


def cosignature_v1_message(body: bytes, timestamp_s: int) -> bytes:
    """``cosignature/v1\\ntime <seconds>\\n`` then the cosigned text: what a 0x04 key signs."""
    return b"cosignature/v1\ntime %d\n" % timestamp_s + body


def is_utf8(text: str) -> bool:
    """Whether the text can be written as UTF-8 (a ``str`` with lone surrogates cannot)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def decode_base64(text: str, *, canonical: bool = False) -> bytes | None:
    """Standard base64 (RFC 4648 §4, padded); ``None`` if not; with ``canonical``, also the one encoding."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    if canonical and base64.b64encode(raw).decode() != text:
        return None
    return raw
