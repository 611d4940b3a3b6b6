"""Identifiers of users, sources, partners and events.

An id is 1 to 64 characters from letters, digits and ``. _ @ -``, starting with a letter or
digit: safe inside account names, URLs, file names and CSV cells without escaping.
"""

from __future__ import annotations

import re

from greenenergy.errors import InvalidInput

ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
ID_RULE = "1-64 characters of letters, digits, '.', '_', '@' or '-', starting with a letter or digit"


def is_valid_id(value: object) -> bool:
    return isinstance(value, str) and ID_PATTERN.fullmatch(value) is not None


def check_id(value: object, *, what: str) -> str:
    if not is_valid_id(value):
        raise InvalidInput(f"{what} {value!r} is not a valid id: use {ID_RULE}", code="invalid_id", field=what)
    return value  # type: ignore[return-value]
