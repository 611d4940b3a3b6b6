"""The expression language: what it refuses (with what message) and what it computes.

Every accepted expression is evaluated by both compiled forms (the scalar closure and the
numpy evaluator) and the two must agree exactly.
"""

from __future__ import annotations

import numpy as np
import pytest

from greenenergy.scoring.errors import ExpressionError
from greenenergy.scoring.expr import compile_expression
from greenenergy.scoring.limits import VALUE_LIMIT

FIELDS = {"n": "int", "x": "float", "flag": "bool", "channel": "str", "m": "int"}


def both(text: str, **values):
    """(scalar result, vector result) of ``text`` for one row of ``values``."""
    expression = compile_expression(text, FIELDS)
    scalar = expression.scalar(values)

    def dtype(value):
        return object if isinstance(value, str) else bool if isinstance(value, bool) else np.float64

    columns = {name: np.array([value], dtype=dtype(value)) for name, value in values.items()}
    vector = expression.vector(columns, 1)[0]
    return scalar, vector


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("n.real", "attribute access is not allowed"),
        ("n[0]", "indexing is not allowed"),
        ("n ** 2", "'**' is not allowed; write the multiplication out"),
        ("pow(n, 2)", "calling 'pow' is not allowed; the functions are abs, floor, max, min"),
        ("__import__('os')", "calling '__import__' is not allowed"),
        ("n.bit_length()", "only the functions abs, floor, max, min may be called"),
        ("min(n)", "min() takes exactly 2 arguments; nest calls for more"),
        ("floor(n, 2)", "floor() takes exactly 1 argument"),
        ("max(n, m, key=abs)", "max() takes no keyword arguments"),
        ("min(*n)", "min() takes exactly 2 arguments"),
        ("steps * 2", "unknown name 'steps'; declare it under fields (declared: channel, flag, m, n, x)"),
        ("true", "unknown name 'true'; write True or False"),
        ("min", "'min' is a function; call it"),
        ("lambda: 1", "lambda is not allowed"),
        ("[n for n in (1, 2)]", "comprehensions are not allowed"),
        ("[1, 2]", "lists are not allowed"),
        ("{'a': 1}", "dicts are not allowed"),
        ("f'{n}'", "f-strings are not allowed"),
        ("(y := 1)", "assignment (:=) is not allowed"),
        ("n in (1, 2)", "only == != < <= > >= comparisons are allowed (not in / is)"),
        ("n is None", "only == != < <= > >= comparisons are allowed"),
        ("+n", "unary '+' is not allowed"),
        ("~n", "unary '~' is not allowed"),
        ("n << 2", "operator is not allowed; use + - * / // %"),
        ("'app' + 1", "'+' needs a number, but \"'app'\" is text"),
        ("channel * 2", "'*' needs a number, but \"channel\" is text"),
        ("flag + 1", "'+' needs a number, but \"flag\" is a condition (True/False)"),
        ("n and flag", "'and' needs a condition, but \"n\" is a number; compare it, e.g. n > 0"),
        ("not n", "'not' needs a condition, but \"n\" is a number"),
        ("1 if n else 2", "the condition of 'a if c else b' needs a condition"),
        ("n if flag else flag", "both branches of 'a if c else b' must be numbers, or both conditions"),
        ("n < 'a'", "\"n < 'a'\": cannot compare a number with text"),
        ("channel < 'a'", "text can only be compared with == or !="),
        ("flag < True", "True/False can only be compared with == or !="),
        ("n / 0", "division by a constant zero"),
        ("n % (2 - 2)", "division by a constant zero"),
        ("1e13 * n", "constant 10000000000000.0 is too large; |constant| <= 1e+12"),
        ("10000000000001", "constant 10000000000001 is too large"),
        ("None", "constant None is not allowed"),
        ("n +", "syntax error"),
        ("", "expression is empty"),
        ("n + " * 130 + "n", "characters long; at most 500 are allowed"),
        ("-" * 40 + "n", "nested more than 32 levels deep"),
    ],
)
def test_refused_with_a_message_that_says_what_to_do(text: str, message: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        compile_expression(text, FIELDS)
    assert message in caught.value.message


def test_division_by_zero_is_zero_in_both_paths() -> None:
    assert both("n / m", n=7, m=0) == (0.0, 0.0)
    assert both("n // m", n=7, m=0) == (0, 0.0)
    assert both("n % m", n=7, m=0) == (0, 0.0)
    assert both("x / (x - x)", x=2.5) == (0.0, 0.0)


def test_floor_division_and_modulo_follow_python_for_negatives() -> None:
    assert both("n // m", n=-7, m=2) == (-4, -4.0)
    assert both("n % m", n=-7, m=2) == (1, 1.0)
    assert both("n % m", n=7, m=-2) == (-1, -1.0)
    assert both("x // 2", x=-7.5) == (-4.0, -4.0)
    assert both("floor(x)", x=-0.5) == (-1, -1.0)


def test_overflow_is_clamped_to_two_to_the_53() -> None:
    scalar, vector = both("n * n * n", n=10**12)
    assert scalar == VALUE_LIMIT and vector == float(VALUE_LIMIT)
    # a float divisor close to 0: the quotient overflows to inf and is clamped at once
    scalar, vector = both("n / x", n=10**12, x=1e-300)
    assert scalar == float(VALUE_LIMIT) == vector
    scalar, vector = both("-n / x + 1", n=10**12, x=1e-300)
    assert scalar == 1 - float(VALUE_LIMIT) == vector


def test_text_compares_with_a_str_field() -> None:
    assert both("channel == 'app' and n >= 2", channel="app", n=2) == (True, True)
    assert both('channel != "app"', channel="app") == (False, False)


def test_comparison_chains_and_conditionals() -> None:
    assert both("0 < n <= 10", n=10) == (True, True)
    assert both("0 < n <= 10", n=11) == (False, False)
    assert both("5 if flag else 2.5", flag=True) == (5, 5.0)
    assert both("min(n, 296) + max(x, 0) + abs(-n)", n=300, x=-1.5) == (596, 596.0)


def test_constants_fold_at_load() -> None:
    assert compile_expression("2 * 3 + 1", FIELDS).constant == 7
    assert compile_expression("floor(37 * 1.5)", FIELDS).constant == 55
    assert compile_expression("5 > 3", FIELDS).constant is True
    assert compile_expression("n + 1", FIELDS).constant is None


def test_floor_returns_an_int_in_the_scalar_path() -> None:
    scalar, vector = both("floor(n * 200 / 10000)", n=12345)
    assert scalar == 246 and isinstance(scalar, int) and vector == 246.0
