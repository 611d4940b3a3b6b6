"""The typed tree an expression is checked into, and from which both evaluators compile.

One ``Node`` class with a ``kind`` keeps the two compilers (``scalar``, ``vector``) as two
readable ``if kind == ...`` walks over the same tree, so they cannot cover different
language features. Invariants established by ``checker``:

* ``type`` is one of ``int``, ``float``, ``bool``, ``str``; ``str`` nodes appear only as
  operands of ``==`` / ``!=``.
* ``bound`` is an upper bound of ``|value|`` for numbers (0 for bool/str), and no node that
  is evaluated has ``bound > VALUE_LIMIT``: where the bound could be larger, the node is
  wrapped in a ``clamp`` node. Hence every int-typed value is an exact double, and no
  infinity or NaN survives past the node that produced it.
* Constant sub-trees are folded into ``const`` nodes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

ValueType = Literal["int", "float", "bool", "str"]
NUMERIC = ("int", "float")

# kinds: const, field, neg, not, arith, compare, and, or, if, call, clamp
Kind = Literal["const", "field", "neg", "not", "arith", "compare", "and", "or", "if", "call", "clamp"]


@dataclass(frozen=True, slots=True)
class Node:
    kind: Kind
    type: ValueType
    bound: float
    value: Any = None  # const: the value; field: its name
    op: str = ""  # arith / compare: operator text; call: function name
    args: tuple[Node, ...] = ()

    def fields(self) -> frozenset[str]:
        """Names of the event fields this tree reads."""
        if self.kind == "field":
            return frozenset((self.value,))
        names: frozenset[str] = frozenset()
        for arg in self.args:
            names |= arg.fields()
        return names
