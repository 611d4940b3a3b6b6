"""Compile a checked ``Node`` tree into a numpy evaluator over columns.

The evaluator takes a mapping of field name -> 1-d numpy array (numbers as float64, bools
as bool, text as object arrays) and the row count, and returns an array of that length.
Every number is a float64 here. That gives the same bits as the scalar closures because
the checker keeps every int-typed value within +-2**53, where doubles hold integers
exactly, and IEEE-754 ``+ - * /`` are correctly rounded in both Python and numpy; numpy's
``floor_divide`` / ``remainder`` on doubles use CPython's own divmod algorithm.

Division by zero yields 0 as in the scalar path (computed with ``where=``, so no warning
is raised and nothing is divided). Intermediate infinities can only arise inside a node
that the checker wrapped in a clamp, and are clamped right there, so no NaN is produced.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from greenenergy.scoring.expr.nodes import Node
from greenenergy.scoring.limits import VALUE_LIMIT

Columns = Mapping[str, np.ndarray]
Vector = Callable[[Columns, int], np.ndarray]

_ARITH = {
    "+": np.add,
    "-": np.subtract,
    "*": np.multiply,
    "/": np.divide,
    "//": np.floor_divide,
    "%": np.remainder,
}
_COMPARE = {
    "==": np.equal,
    "!=": np.not_equal,
    "<": np.less,
    "<=": np.less_equal,
    ">": np.greater,
    ">=": np.greater_equal,
}


def compile_vector(node: Node) -> Vector:
    """An evaluator ``f(columns, n) -> ndarray`` of ``node`` over ``n`` rows."""
    inner = _compile(node)
    dtype = _dtype(node)

    def evaluate(columns: Columns, n: int) -> np.ndarray:
        # Overflow to inf happens only inside clamp nodes and is clamped there.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            result = inner(columns)
        return np.broadcast_to(np.asarray(result, dtype=dtype), (n,))

    return evaluate


def _dtype(node: Node) -> type:
    if node.type == "bool":
        return np.bool_
    if node.type == "str":
        return np.object_
    return np.float64


def _compile(node: Node) -> Callable[[Columns], np.ndarray]:
    kind = node.kind
    if kind == "const":
        value = node.value if node.type in ("bool", "str") else np.float64(node.value)
        return lambda cols: value
    if kind == "field":
        name = node.value
        return lambda cols: cols[name]
    args = [_compile(arg) for arg in node.args]
    if kind == "arith":
        return _arith(node, args)
    if kind == "compare":
        ufunc = _COMPARE[node.op]
        a, b = args
        return lambda cols: ufunc(a(cols), b(cols))
    if kind == "neg":
        (a,) = args
        return lambda cols: np.negative(a(cols))
    if kind == "not":
        (a,) = args
        return lambda cols: np.logical_not(a(cols))
    if kind in ("and", "or"):
        ufunc = np.logical_and if kind == "and" else np.logical_or

        def combine(cols: Columns) -> np.ndarray:
            result = args[0](cols)
            for f in args[1:]:
                result = ufunc(result, f(cols))
            return result

        return combine
    if kind == "if":
        test, then, other = args
        return lambda cols: np.where(test(cols), then(cols), other(cols))
    if kind == "call":
        if node.op == "floor":
            (a,) = args
            return lambda cols: np.floor(a(cols))
        if node.op == "abs":
            (a,) = args
            return lambda cols: np.abs(a(cols))
        ufunc = np.minimum if node.op == "min" else np.maximum
        a, b = args
        return lambda cols: ufunc(a(cols), b(cols))
    if kind == "clamp":
        (a,) = args
        limit = float(VALUE_LIMIT)
        return lambda cols: np.clip(a(cols), -limit, limit)
    raise AssertionError(f"unknown node kind {kind!r}")


def _arith(node: Node, args: list) -> Callable[[Columns], np.ndarray]:
    ufunc = _ARITH[node.op]
    a, b = args
    right = node.args[1]
    if node.op in ("+", "-", "*") or right.kind == "const":
        # a constant divisor is never 0 (refused by the checker)
        return lambda cols: ufunc(a(cols), b(cols))

    def guarded(cols: Columns) -> np.ndarray:
        x, y = np.broadcast_arrays(np.asarray(a(cols), dtype=np.float64), np.asarray(b(cols), dtype=np.float64))
        out = np.zeros(x.shape, dtype=np.float64)
        ufunc(x, y, out=out, where=y != 0)
        return out

    return guarded
