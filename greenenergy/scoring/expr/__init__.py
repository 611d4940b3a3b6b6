"""The rules expression language: one parse tree, two evaluators.

``compile_expression(text, fields)`` checks ``text`` against the declared field types and
returns an ``Expression`` holding the typed tree, a scalar closure for one event's data
and a numpy evaluator over columns. Both are compiled from the same tree, so they accept
the same language and (by the bounds in ``limits``) compute the same bits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from greenenergy.scoring.errors import ExpressionError
from greenenergy.scoring.expr.checker import check_expression
from greenenergy.scoring.expr.nodes import Node, ValueType
from greenenergy.scoring.expr.scalar import Scalar, compile_scalar
from greenenergy.scoring.expr.vector import Vector, compile_vector


@dataclass(frozen=True)
class Expression:
    text: str
    tree: Node
    scalar: Scalar
    vector: Vector

    @property
    def type(self) -> ValueType:
        return self.tree.type

    @property
    def constant(self) -> object | None:
        """The value when the whole expression folded to a constant, else None."""
        return self.tree.value if self.tree.kind == "const" else None


def compile_expression(text: str, fields: Mapping[str, ValueType]) -> Expression:
    """Check and compile ``text``; raises ``ExpressionError`` saying what to change."""
    tree = check_expression(text, fields)
    return Expression(text=text, tree=tree, scalar=compile_scalar(tree), vector=compile_vector(tree))


__all__ = ["Expression", "ExpressionError", "Node", "compile_expression", "compile_scalar", "compile_vector"]
