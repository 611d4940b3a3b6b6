"""One root exception and the specific ones a caller can act on.

Every error carries a stable snake_case ``code`` (what scripts match on) and a human
``message`` (what a person reads, saying what to change). Extra keyword details are kept
in ``details`` for the API to return. HTTP status codes are chosen in ``api/`` only, from
the *category* classes below (``NotFound``, ``Conflict``, ...), never here.
"""

from __future__ import annotations

import json
from typing import Any


class GreenEnergyError(Exception):
    """Root of every error greenenergy raises on purpose."""

    code: str = "error"

    def __init__(self, message: str, *, code: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details

    def __str__(self) -> str:
        return self.message


# Categories: a request may raise these; api/ maps each category to one status.
class InvalidInput(GreenEnergyError):
    """The request is well formed but a value is not acceptable (422)."""

    code = "invalid_input"


class Unauthorized(GreenEnergyError):
    """No credential, or one we do not know (401)."""

    code = "unauthorized"


class Forbidden(GreenEnergyError):
    """A known credential that may not do this (403)."""

    code = "forbidden"


class NotFound(GreenEnergyError):
    """The named resource does not exist (404)."""

    code = "not_found"


class Conflict(GreenEnergyError):
    """The request contradicts the current state (409)."""

    code = "conflict"


class TooLarge(GreenEnergyError):
    """The request is larger than we accept (413)."""

    code = "too_large"


# Specific errors.
class InvalidJson(InvalidInput):
    """A body that is not JSON text: says what is wrong and where (line and column)."""

    code = "invalid_json"

    @classmethod
    def from_error(cls, error: json.JSONDecodeError | UnicodeDecodeError) -> InvalidJson:
        """From what ``json.loads`` raised (a ``UnicodeDecodeError`` for bytes that are not UTF-8)."""
        if isinstance(error, UnicodeDecodeError):
            raw = bytes(error.object)
            line = raw.count(b"\n", 0, error.start) + 1
            column = error.start - (raw.rfind(b"\n", 0, error.start) + 1) + 1
            encoding = "UTF-8" if error.encoding.replace("-", "").lower() == "utf8" else error.encoding
            what = f"invalid {encoding} (byte 0x{raw[error.start]:02x})"
            position = error.start
        else:
            line, column, position = error.lineno, error.colno, error.pos
            what = error.msg[:1].lower() + error.msg[1:]
        return cls(
            f"the body is not valid JSON: {what} at line {line}, column {column}",
            line=line,
            column=column,
            position=position,
        )


class InsufficientEnergy(Conflict):
    """A debit would take a user balance below zero."""

    code = "insufficient_energy"


class Busy(Conflict):
    """A write lost a race to concurrent writers several times in a row; sending the request
    again is safe."""

    code = "busy"


class UnbalancedTransaction(GreenEnergyError):
    """Postings that do not sum to zero: a programming error, never a user error."""

    code = "unbalanced_transaction"


class ConfigError(GreenEnergyError):
    """A setting is missing or unacceptable; the message names the variable."""

    code = "config_error"


class DatabaseNotReady(GreenEnergyError):
    """The configured database cannot be used yet: unreachable, never initialised, or at
    another schema revision. The message names the database and what to run."""

    code = "database_not_ready"


class CatalogError(GreenEnergyError):
    """A catalog file (rules/, trees/, partners/) is invalid.

    ``problems`` lists every problem found, each already formatted as
    ``file:line: id: message`` so that one run shows everything to fix.
    """

    code = "catalog_error"

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems) or "invalid catalog")


class ProofError(InvalidInput, ValueError):
    """A Merkle tree size, leaf index or stored node that no proof can be built or checked
    for: a negative size, an index past the end, a node hash that is not 32 bytes, a node
    the caller did not load. The message names the value and what to pass instead."""

    code = "invalid_proof_request"


class NoteError(InvalidInput, ValueError):
    """A signed note, key, checkpoint or cosignature that is malformed or does not verify.

    ``code`` says which: ``malformed_note`` (the text breaks the C2SP format),
    ``invalid_key`` (a vkey or private key that does not parse or whose key id is wrong),
    ``unknown_key`` (no trusted key has that name and key id), ``invalid_signature`` (a
    trusted key's signature fails), ``unverified_note`` (no trusted key signed it)."""

    code = "malformed_note"
