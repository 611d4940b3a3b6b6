"""Parse expression text with ``ast`` and check it into a typed ``Node`` tree.

Only a whitelist of syntax is accepted: number and true/false constants, declared field
names, ``+ - * / // %``, unary ``-``, comparisons (chains too), ``and`` / ``or`` / ``not``,
``a if c else b`` and calls of ``min(a, b)``, ``max(a, b)``, ``floor(x)``, ``abs(x)``.
Quoted text is allowed only in ``==`` / ``!=`` against a ``str`` field. Everything else is
refused with a message that says what to write instead. Nothing is ever evaluated by Python
itself: the tree is walked, typed, bounded (see ``nodes``) and constant-folded here.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Mapping

from greenenergy.scoring.errors import ExpressionError
from greenenergy.scoring.expr.nodes import NUMERIC, Node, ValueType
from greenenergy.scoring.limits import (
    MAX_CONSTANT,
    MAX_EXPRESSION_CHARS,
    MAX_EXPRESSION_DEPTH,
    MAX_FIELD_MAGNITUDE,
    VALUE_LIMIT,
)

FUNCTIONS = {"min": 2, "max": 2, "floor": 1, "abs": 1}
ARITH = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%"}
COMPARE = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}

# Refusals of syntax Python has but the language does not, each saying what to do instead.
REFUSED = {
    "Attribute": "attribute access is not allowed; use a declared field name",
    "Subscript": "indexing is not allowed; declare each value as its own field",
    "Lambda": "lambda is not allowed",
    "ListComp": "comprehensions are not allowed",
    "SetComp": "comprehensions are not allowed",
    "DictComp": "comprehensions are not allowed",
    "GeneratorExp": "comprehensions are not allowed",
    "List": "lists are not allowed",
    "Tuple": "tuples are not allowed",
    "Set": "sets are not allowed",
    "Dict": "dicts are not allowed",
    "JoinedStr": "f-strings are not allowed",
    "NamedExpr": "assignment (:=) is not allowed",
    "Starred": "* unpacking is not allowed",
    "Await": "await is not allowed",
    "Yield": "yield is not allowed",
    "YieldFrom": "yield is not allowed",
    "Slice": "slicing is not allowed",
}


def check_expression(text: str, fields: Mapping[str, ValueType]) -> Node:
    """The typed, folded, bounded tree of ``text`` over the declared ``fields``."""
    if not isinstance(text, str):
        raise ExpressionError(f"an expression must be text, got {type(text).__name__}")
    if len(text) > MAX_EXPRESSION_CHARS:
        raise ExpressionError(f"expression is {len(text)} characters long; at most {MAX_EXPRESSION_CHARS} are allowed")
    source = text.strip()
    if not source:
        raise ExpressionError("expression is empty")
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as error:
        where = f" at column {error.offset}" if error.offset else ""
        raise ExpressionError(f"syntax error{where}: {error.msg}") from error
    except (ValueError, RecursionError, MemoryError) as error:
        raise ExpressionError(f"expression cannot be parsed: {error}") from error
    return _Checker(fields).visit(tree.body, 0)


def _snippet(node: ast.AST) -> str:
    text = ast.unparse(node)
    return text if len(text) <= 40 else text[:37] + "..."


def _q(node: ast.AST) -> str:
    """The source of ``node``, quoted for a message."""
    return f'"{_snippet(node)}"'


class _Checker:
    def __init__(self, fields: Mapping[str, ValueType]) -> None:
        self.fields = dict(fields)

    def visit(self, node: ast.AST, depth: int) -> Node:
        if depth > MAX_EXPRESSION_DEPTH:
            raise ExpressionError(f"expression is nested more than {MAX_EXPRESSION_DEPTH} levels deep; simplify it")
        name = type(node).__name__
        method = getattr(self, "visit_" + name, None)
        if method is None:
            reason = REFUSED.get(name, f"{name} is not allowed in a rule expression")
            raise ExpressionError(f"{_q(node)}: {reason}")
        return method(node, depth + 1)

    # leaves

    def visit_Constant(self, node: ast.Constant, depth: int) -> Node:
        value = node.value
        if isinstance(value, bool):
            return Node("const", "bool", 0.0, value)
        if isinstance(value, int):
            if abs(value) > MAX_CONSTANT:
                raise ExpressionError(f"constant {value} is too large; |constant| <= {MAX_CONSTANT:.0e}")
            return Node("const", "int", float(abs(value)), value)
        if isinstance(value, float):
            if not math.isfinite(value) or abs(value) > MAX_CONSTANT:
                raise ExpressionError(f"constant {_snippet(node)} is too large; |constant| <= {MAX_CONSTANT:.0e}")
            return Node("const", "float", abs(value), value)
        if isinstance(value, str):
            return Node("const", "str", 0.0, value)
        raise ExpressionError(
            f"constant {_snippet(node)} is not allowed; use numbers, True/False, or quoted text "
            "compared with a str field"
        )

    def visit_Name(self, node: ast.Name, depth: int) -> Node:
        name = node.id
        if name in self.fields:
            kind = self.fields[name]
            bound = float(MAX_FIELD_MAGNITUDE) if kind in NUMERIC else 0.0
            return Node("field", kind, bound, name)
        if name in FUNCTIONS:
            raise ExpressionError(f"'{name}' is a function; call it, e.g. {name}(...)")
        if name in ("true", "false", "null", "None"):
            raise ExpressionError(f"unknown name '{name}'; write True or False")
        declared = ", ".join(sorted(self.fields)) or "none"
        raise ExpressionError(f"unknown name '{name}'; declare it under fields (declared: {declared})")

    # operators

    def visit_UnaryOp(self, node: ast.UnaryOp, depth: int) -> Node:
        operand = self.visit(node.operand, depth)
        if isinstance(node.op, ast.USub):
            self._number(operand, node.operand, "unary '-'")
            return _fold(Node("neg", operand.type, operand.bound, args=(operand,)))
        if isinstance(node.op, ast.Not):
            self._condition(operand, node.operand, "'not'")
            return _fold(Node("not", "bool", 0.0, args=(operand,)))
        symbol = "+" if isinstance(node.op, ast.UAdd) else "~"
        raise ExpressionError(f"{_q(node)}: unary '{symbol}' is not allowed")

    def visit_BinOp(self, node: ast.BinOp, depth: int) -> Node:
        op = ARITH.get(type(node.op))
        if op is None:
            if isinstance(node.op, ast.Pow):
                raise ExpressionError(f"{_q(node)}: '**' is not allowed; write the multiplication out")
            raise ExpressionError(f"{_q(node)}: operator is not allowed; use + - * / // %")
        left = self.visit(node.left, depth)
        right = self.visit(node.right, depth)
        self._number(left, node.left, f"'{op}'")
        self._number(right, node.right, f"'{op}'")
        if op in ("/", "//", "%") and right.kind == "const" and right.value == 0:
            raise ExpressionError(f"{_q(node)}: division by a constant zero")
        kind: ValueType = "float" if op == "/" or "float" in (left.type, right.type) else "int"
        return _bounded(_fold(Node("arith", kind, _arith_bound(op, left, right), op=op, args=(left, right))))

    def visit_Compare(self, node: ast.Compare, depth: int) -> Node:
        ops = [COMPARE.get(type(op_node)) for op_node in node.ops]
        if None in ops:
            raise ExpressionError(f"{_q(node)}: only == != < <= > >= comparisons are allowed (not in / is)")
        operands = [self.visit(node.left, depth)] + [self.visit(c, depth) for c in node.comparators]
        sources = [node.left, *node.comparators]
        pairs = []
        for index, op in enumerate(ops):
            left, right = operands[index], operands[index + 1]
            self._comparable(left, right, op, sources[index], sources[index + 1])
            pairs.append(_fold(Node("compare", "bool", 0.0, op=op, args=(left, right))))
        if len(pairs) == 1:
            return pairs[0]
        return _fold(Node("and", "bool", 0.0, args=tuple(pairs)))

    def visit_BoolOp(self, node: ast.BoolOp, depth: int) -> Node:
        kind = "and" if isinstance(node.op, ast.And) else "or"
        args = []
        for value in node.values:
            arg = self.visit(value, depth)
            self._condition(arg, value, f"'{kind}'")
            args.append(arg)
        return _fold(Node(kind, "bool", 0.0, args=tuple(args)))

    def visit_IfExp(self, node: ast.IfExp, depth: int) -> Node:
        test = self.visit(node.test, depth)
        self._condition(test, node.test, "the condition of 'a if c else b'")
        then = self.visit(node.body, depth)
        other = self.visit(node.orelse, depth)
        if then.type in NUMERIC and other.type in NUMERIC:
            kind: ValueType = "int" if then.type == other.type == "int" else "float"
        elif then.type == other.type == "bool":
            kind = "bool"
        else:
            raise ExpressionError(f"{_q(node)}: both branches of 'a if c else b' must be numbers, or both conditions")
        return _fold(Node("if", kind, max(then.bound, other.bound), args=(test, then, other)))

    def visit_Call(self, node: ast.Call, depth: int) -> Node:
        allowed = ", ".join(sorted(FUNCTIONS))
        if not isinstance(node.func, ast.Name):
            raise ExpressionError(f"{_q(node)}: only the functions {allowed} may be called")
        name = node.func.id
        if name not in FUNCTIONS:
            raise ExpressionError(f"calling '{name}' is not allowed; the functions are {allowed}")
        if node.keywords:
            raise ExpressionError(f"{_q(node)}: {name}() takes no keyword arguments")
        arity = FUNCTIONS[name]
        if len(node.args) != arity:
            hint = f"; nest calls for more, e.g. {name}(a, {name}(b, c))" if arity == 2 else ""
            plural = "s" if arity > 1 else ""
            raise ExpressionError(f"{_q(node)}: {name}() takes exactly {arity} argument{plural}{hint}")
        args = tuple(self.visit(arg, depth) for arg in node.args)
        for arg, source in zip(args, node.args, strict=True):
            self._number(arg, source, f"{name}()")
        if name == "floor":
            (arg,) = args
            if arg.type == "int":
                return arg  # floor of an integer is itself
            return _bounded(_fold(Node("call", "int", arg.bound + 1.0, op="floor", args=args)))
        if name == "abs":
            return _fold(Node("call", args[0].type, args[0].bound, op="abs", args=args))
        kind: ValueType = "int" if all(a.type == "int" for a in args) else "float"
        return _fold(Node("call", kind, max(a.bound for a in args), op=name, args=args))

    # type rules

    @staticmethod
    def _number(node: Node, source: ast.AST, what: str) -> None:
        if node.type in NUMERIC:
            return
        if node.type == "bool":
            raise ExpressionError(f"{what} needs a number, but {_q(source)} is a condition (True/False)")
        raise ExpressionError(
            f"{what} needs a number, but {_q(source)} is text; "
            "text may only be compared with == or != against a str field"
        )

    @staticmethod
    def _condition(node: Node, source: ast.AST, what: str) -> None:
        if node.type == "bool":
            return
        if node.type == "str":
            raise ExpressionError(f"{what} needs a condition, but {_q(source)} is text")
        raise ExpressionError(
            f"{what} needs a condition, but {_q(source)} is a number; compare it, e.g. {_snippet(source)} > 0"
        )

    @staticmethod
    def _comparable(left: Node, right: Node, op: str, lsrc: ast.AST, rsrc: ast.AST) -> None:
        if left.type in NUMERIC and right.type in NUMERIC:
            return
        pair = f'"{_snippet(lsrc)} {op} {_snippet(rsrc)}"'
        if left.type == right.type and left.type in ("bool", "str"):
            if op in ("==", "!="):
                return
            what = "text" if left.type == "str" else "True/False"
            raise ExpressionError(f"{pair}: {what} can only be compared with == or !=")
        names = {"int": "a number", "float": "a number", "bool": "a condition", "str": "text"}
        raise ExpressionError(f"{pair}: cannot compare {names[left.type]} with {names[right.type]}")


def _arith_bound(op: str, left: Node, right: Node) -> float:
    a, b = left.bound, right.bound
    if op in ("+", "-"):
        return a + b
    if op == "*":
        return a * b
    if op == "%":
        return b  # |a % b| < |b|
    # / and //: a constant divisor divides the bound; a nonzero int divisor has |b| >= 1
    if right.kind == "const":
        quotient = a / abs(right.value)
    elif right.type == "int":
        quotient = a
    else:
        return math.inf  # a float divisor can be arbitrarily close to 0
    return quotient + 1.0 if op == "//" else quotient


def _bounded(node: Node) -> Node:
    """Wrap ``node`` in a clamp to +-VALUE_LIMIT when its bound could exceed it."""
    if node.bound <= VALUE_LIMIT:
        return node
    return Node("clamp", node.type, float(VALUE_LIMIT), args=(node,))


def _fold(node: Node) -> Node:
    """Replace a sub-tree whose operands are all constants by its value."""
    if not node.args or any(arg.kind != "const" for arg in node.args):
        return node
    from greenenergy.scoring.expr.scalar import compile_scalar  # scalar imports nodes only

    value = compile_scalar(node)({})
    if node.type in NUMERIC and abs(value) > VALUE_LIMIT:
        value = VALUE_LIMIT if value > 0 else -VALUE_LIMIT  # as a clamp node would
    if node.type == "float":
        value = float(value)
    elif node.type == "int":
        value = int(value)
    bound = abs(float(value)) if node.type in NUMERIC else 0.0
    return Node("const", node.type, bound, value)
