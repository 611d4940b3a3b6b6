"""Compile a checked ``Node`` tree into a Python closure over one event's data.

The closure takes the validated ``data`` mapping (field name -> Python value) and returns
a Python number or bool. Int-typed nodes compute with Python ints, float-typed nodes with
Python floats; because the checker keeps every value within +-2**53 (clamp nodes), these
are exactly the values numpy's float64 computes in ``vector`` (see rules/README.md).

Division semantics (both paths): ``a / 0``, ``a // 0`` and ``a % 0`` are 0; ``//`` floors
and ``%`` takes the divisor's sign, as in Python.

Closures are specialised for the common shapes (field op constant, constant op field) so
that the online path pays one Python call per operator, not three. No ``eval``/``exec``.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from operator import itemgetter
from typing import Any

from greenenergy.scoring.expr.nodes import Node
from greenenergy.scoring.limits import VALUE_LIMIT

Scalar = Callable[[Mapping[str, Any]], Any]


def compile_scalar(node: Node) -> Scalar:
    """A closure ``f(data) -> value`` computing ``node`` for one event."""
    kind = node.kind
    if kind == "const":
        value = node.value
        return lambda d: value
    if kind == "field":
        return itemgetter(node.value)
    if kind == "arith":
        return _arith(node)
    if kind == "compare":
        return _compare(node)
    if kind == "neg":
        f = compile_scalar(node.args[0])
        return lambda d: -f(d)
    if kind == "not":
        f = compile_scalar(node.args[0])
        return lambda d: not f(d)
    if kind in ("and", "or"):
        return _boolean(kind, [compile_scalar(arg) for arg in node.args])
    if kind == "if":
        test, then, other = (compile_scalar(arg) for arg in node.args)
        return lambda d: then(d) if test(d) else other(d)
    if kind == "call":
        return _call(node)
    if kind == "clamp":
        return _clamp(node)
    raise AssertionError(f"unknown node kind {kind!r}")


def _boolean(kind: str, fs: list[Scalar]) -> Scalar:
    if len(fs) == 2:
        a, b = fs
        if kind == "and":
            return lambda d: a(d) and b(d)
        return lambda d: a(d) or b(d)
    if kind == "and":
        return lambda d: all(f(d) for f in fs)
    return lambda d: any(f(d) for f in fs)


def _clamp(node: Node) -> Scalar:
    f = compile_scalar(node.args[0])
    high = VALUE_LIMIT if node.type == "int" else float(VALUE_LIMIT)
    low = -high

    def clamp(d: Mapping[str, Any]) -> Any:
        v = f(d)
        return high if v > high else low if v < low else v

    return clamp


def _call(node: Node) -> Scalar:
    name = node.op
    if name == "floor":
        floor = math.floor
        chain = _chain(node.args[0])
        if chain is not None:
            return _chained(*chain, floor)
        f = compile_scalar(node.args[0])
        return lambda d: floor(f(d))
    if name == "abs":
        f = compile_scalar(node.args[0])
        return lambda d: abs(f(d))
    a, b = (compile_scalar(arg) for arg in node.args)
    if name == "min":
        return lambda d: min(a(d), b(d))
    return lambda d: max(a(d), b(d))


def _compare(node: Node) -> Scalar:
    left, right = node.args
    op = node.op
    if right.kind == "const" and left.kind == "field":
        name, c = left.value, right.value
        if op == "==":
            return lambda d: d[name] == c
        if op == "!=":
            return lambda d: d[name] != c
        if op == "<":
            return lambda d: d[name] < c
        if op == "<=":
            return lambda d: d[name] <= c
        if op == ">":
            return lambda d: d[name] > c
        return lambda d: d[name] >= c
    a, b = compile_scalar(left), compile_scalar(right)
    if op == "==":
        return lambda d: a(d) == b(d)
    if op == "!=":
        return lambda d: a(d) != b(d)
    if op == "<":
        return lambda d: a(d) < b(d)
    if op == "<=":
        return lambda d: a(d) <= b(d)
    if op == ">":
        return lambda d: a(d) > b(d)
    return lambda d: a(d) >= b(d)


# A chain of operators with constant right operands applied to one field, e.g.
# ``steps * 200 / 10000``, is common in rules; it compiles to one closure calling C-level
# operator functions instead of one Python closure per operator. Same operations, same
# order, same results; the divisors are constants, never 0.
_OPERATORS = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "//": operator.floordiv,
    "%": operator.mod,
}


def _chain(node: Node) -> tuple[str, list[tuple[Callable, Any]]] | None:
    steps = []
    while node.kind == "arith" and node.args[1].kind == "const":
        steps.append((_OPERATORS[node.op], node.args[1].value))
        node = node.args[0]
    if node.kind != "field" or not 2 <= len(steps) <= 3:
        return None
    return node.value, steps[::-1]


def _chained(name: str, steps: list[tuple[Callable, Any]], floor: Callable | None) -> Scalar:
    if len(steps) == 2:
        (f1, c1), (f2, c2) = steps
        if floor is not None:
            return lambda d: floor(f2(f1(d[name], c1), c2))
        return lambda d: f2(f1(d[name], c1), c2)
    (f1, c1), (f2, c2), (f3, c3) = steps
    if floor is not None:
        return lambda d: floor(f3(f2(f1(d[name], c1), c2), c3))
    return lambda d: f3(f2(f1(d[name], c1), c2), c3)


def _arith(node: Node) -> Scalar:
    chain = _chain(node)
    if chain is not None:
        return _chained(*chain, None)
    left, right = node.args
    op = node.op
    zero = 0.0 if node.type == "float" else 0
    if left.kind == "const" and right.kind == "field" and op in ("+", "-", "*"):
        c, name = left.value, right.value
        if op == "+":
            return lambda d: c + d[name]
        if op == "-":
            return lambda d: c - d[name]
        return lambda d: c * d[name]
    # A constant divisor is never 0 (the checker refuses it), so it needs no guard.
    if right.kind == "const":
        c = right.value
        if left.kind == "field":
            name = left.value
            return _field_const(op, name, c)
        a = compile_scalar(left)
        if op == "+":
            return lambda d: a(d) + c
        if op == "-":
            return lambda d: a(d) - c
        if op == "*":
            return lambda d: a(d) * c
        if op == "/":
            return lambda d: a(d) / c
        if op == "//":
            return lambda d: a(d) // c
        return lambda d: a(d) % c
    b = compile_scalar(right)
    if left.kind == "const":
        c = left.value
        if op == "+":
            return lambda d: c + b(d)
        if op == "-":
            return lambda d: c - b(d)
        if op == "*":
            return lambda d: c * b(d)
        if op == "/":
            return lambda d: c / v if (v := b(d)) else zero
        if op == "//":
            return lambda d: c // v if (v := b(d)) else zero
        return lambda d: c % v if (v := b(d)) else zero
    a = compile_scalar(left)
    if op == "+":
        return lambda d: a(d) + b(d)
    if op == "-":
        return lambda d: a(d) - b(d)
    if op == "*":
        return lambda d: a(d) * b(d)
    if op == "/":
        return lambda d: a(d) / v if (v := b(d)) else zero
    if op == "//":
        return lambda d: a(d) // v if (v := b(d)) else zero
    return lambda d: a(d) % v if (v := b(d)) else zero


def _field_const(op: str, name: str, c: Any) -> Scalar:
    if op == "+":
        return lambda d: d[name] + c
    if op == "-":
        return lambda d: d[name] - c
    if op == "*":
        return lambda d: d[name] * c
    if op == "/":
        return lambda d: d[name] / c
    if op == "//":
        return lambda d: d[name] // c
    return lambda d: d[name] % c
