"""The numeric bounds of the rules language, in one place.

These bounds are what make the scalar path (Python numbers, one event) and the vector path
(numpy float64 columns) agree to the bit: every integer the language can hold is exactly
representable as a double, so the two paths never round differently. See rules/README.md.
"""

from __future__ import annotations

# Largest grams one event can earn; a formula's result is clamped to [0, this].
MAX_EVENT_ENERGY_G = 10_000_000

# |value| of an int or float field of an event's data; larger is invalid_data.
MAX_FIELD_MAGNITUDE = 10**12

# Longest str field value (characters) of an event's data.
MAX_TEXT_FIELD_CHARS = 256

# |constant| written in an expression.
MAX_CONSTANT = 10**12

# Every intermediate value whose magnitude could exceed this is clamped to +-this:
# 2**53 is the largest power of two up to which every integer is a double.
VALUE_LIMIT = 2**53

# Length and nesting of expression text.
MAX_EXPRESSION_CHARS = 500
MAX_EXPRESSION_DEPTH = 32

# A multiplier's factor lies in (0, MAX_FACTOR].
MAX_FACTOR = 100
