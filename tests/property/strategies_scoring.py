"""Hypothesis strategies for the scoring properties: rule sets, events, expressions."""

from __future__ import annotations

from datetime import datetime, timedelta

import yaml
from hypothesis import strategies as st

START = datetime(2026, 2, 20)  # naive: the rule book's zone; spans a month end and US DST
SPAN_MINUTES = 40 * 24 * 60
USERS = ("u0", "u1", "u2")
ACCOUNTS = ("a", "b", "c")

PERIODS = ("day", "week", "month")
PAY_FORMULAS = (
    "5",
    "amount // 100",
    "floor(amount * 3 / 7)",
    "min(amount, 50) - 10",
    "amount % 7 + 1",
    "2.5 if acct == 'a' else amount / 40",
)
WALK_FORMULAS = ("steps // 50", "floor(steps * 200 / 10000)", "min(steps, 12000) / 100")


def _moment(minutes: int) -> str:
    return (START + timedelta(minutes=minutes)).isoformat()


# bounds a version may declare for a field (None: that bound is not declared); the events
# below fall on both sides of each, so some rows are out of bounds
BOUND_CHOICES = {
    "amount": ((None, 0, 20, -10), (None, 400)),
    "ratio": ((None, 0, 0.25, -1), (None, 1.5, 1)),
    "steps": ((None, 0, 100), (None, 25_000)),
    "boxes": ((None, 0, 1), (None, 4)),
}


@st.composite
def declared_fields(draw, fields: dict[str, str], bounded: bool | None) -> dict:
    """``fields`` as a rule declares them: a field with bounds as ``{type, min, max}``
    (``bounded`` None: sometimes; True: every number field has a bound), else its type."""
    out: dict = {}
    for name, kind in fields.items():
        if name not in BOUND_CHOICES or bounded is False or (bounded is None and not draw(st.booleans())):
            out[name] = kind
            continue
        mins, maxes = BOUND_CHOICES[name]
        low, high = draw(st.sampled_from(mins)), draw(st.sampled_from(maxes))
        if bounded and low is None and high is None:
            low = mins[-1]
        declaration = {
            "type": kind,
            **({"min": low} if low is not None else {}),
            **({"max": high} if high is not None else {}),
        }
        # the shorthand and the mapping without bounds mean the same
        out[name] = declaration if len(declaration) > 1 or draw(st.booleans()) else kind
    return out


@st.composite
def caps(draw, key_field: str | None) -> list[dict]:
    chosen = []
    for _ in range(draw(st.integers(0, 3))):
        cap: dict = {"per": draw(st.sampled_from(PERIODS))}
        if key_field and draw(st.booleans()):
            cap["key"] = key_field
        kind = draw(st.sampled_from(("count", "energy", "both")))
        if kind in ("count", "both"):
            cap["max_count"] = draw(st.integers(1, 4))
        if kind in ("energy", "both"):
            cap["max_energy_g"] = draw(st.integers(1, 120))
        chosen.append(cap)
    return chosen


@st.composite
def slot_caps(draw, per: str, key: str | None) -> list[dict]:
    """Count and energy caps all on one usage slot (one period, one key or none); often a
    single count cap, the commonest cap of the shipped rules."""
    chosen = []
    kinds = st.one_of(st.just(["count"]), st.lists(st.sampled_from(("count", "energy", "both")), max_size=2))
    for kind in draw(kinds):
        cap: dict = {"per": per, **({"key": key} if key else {})}
        if kind in ("count", "both"):
            cap["max_count"] = draw(st.integers(1, 4))
        if kind in ("energy", "both"):
            cap["max_energy_g"] = draw(st.integers(1, 120))
        chosen.append(cap)
    return chosen


@st.composite
def multipliers(draw) -> list[dict]:
    if not draw(st.booleans()):
        return []
    start = draw(st.integers(0, SPAN_MINUTES))
    length = draw(st.integers(60, 10 * 24 * 60))
    factor = draw(st.sampled_from((2, 3, 1.5, 0.5, 0.7)))
    return [{"from": _moment(start), "to": _moment(start + length), "factor": factor}]


@st.composite
def family(
    draw,
    rule_id: str,
    fields: dict,
    formulas: tuple,
    when: str | None,
    key_field: str | None,
    running: bool,
    one_slot: bool = False,
    bounded: bool | None = None,
) -> list[dict]:
    """One or two versions of a rule; a second version starts at a random minute.
    ``one_slot``: every cap of every version on one usage slot, a multiplier seldom (the
    shapes the online scorers specialise). Each version declares its own field bounds
    (``declared_fields``), so the version in force decides which rows are out of bounds."""
    versions = draw(st.integers(1, 2))
    boundary = _moment(draw(st.integers(0, SPAN_MINUTES)))
    if one_slot:
        slot = (draw(st.sampled_from(PERIODS)), key_field if key_field and draw(st.booleans()) else None)
        version_caps = slot_caps(*slot)
    else:
        version_caps = caps(key_field)
    first_caps = draw(version_caps)
    out = []
    for number in range(1, versions + 1):
        rule = {
            "id": rule_id,
            "version": number,
            "event_type": rule_id,
            "effective_from": "2026-01-01" if number == 1 else boundary,
            "effective_to": boundary if number < versions else None,
            "fields": draw(declared_fields(fields, bounded)),
            "energy_g": draw(st.sampled_from(formulas)),
            "caps": first_caps if number == 1 or draw(st.booleans()) else draw(version_caps),
            "multipliers": [] if one_slot and draw(st.integers(0, 3)) else draw(multipliers()),
            "methodology": {"source": "generated", "verified": False},
        }
        if when:
            rule["when"] = when
        if running:
            rule["aggregate"] = "running_total"
        out.append(rule)
    return out


PAY_FIELDS = {"amount": "int", "acct": "str", "ratio": "float"}


@st.composite
def rule_set_yaml(draw, bounded: bool | None = None) -> str:
    rules = draw(family("pay", PAY_FIELDS, PAY_FORMULAS, "amount >= 20", "acct", False, bounded=bounded))
    walk_when = draw(st.sampled_from((None, "steps >= 100")))
    rules += draw(family("walk", {"steps": "int"}, WALK_FORMULAS, walk_when, None, True, bounded=bounded))
    rules += draw(
        family("box", {"boxes": "int"}, ("37 * boxes", "40 * boxes - 3"), "boxes >= 1", "boxes", False, bounded=bounded)
    )
    return yaml.safe_dump({"rules": rules}, sort_keys=False)


@st.composite
def one_slot_rule_set_yaml(draw) -> str:
    """Like ``rule_set_yaml``, with one usage slot per rule and constant formulas often."""
    pay_formulas = ("5", "12", *PAY_FORMULAS)
    rules = draw(family("pay", PAY_FIELDS, pay_formulas, "amount >= 20", "acct", False, True))
    walk_when = draw(st.sampled_from((None, "steps >= 100")))
    rules += draw(family("walk", {"steps": "int"}, WALK_FORMULAS, walk_when, None, True, True))
    rules += draw(
        family("box", {"boxes": "int"}, ("37", "37 * boxes", "40 * boxes - 3"), "boxes >= 1", "boxes", False, True)
    )
    return yaml.safe_dump({"rules": rules}, sort_keys=False)


@st.composite
def generated_events(draw, max_size: int = 60) -> list[tuple[str, str, int, dict]]:
    """(user, type, minute offset, data) in generation order (not time order)."""
    event = st.one_of(
        st.tuples(
            st.sampled_from(USERS),
            st.just("pay"),
            st.integers(0, SPAN_MINUTES),
            st.fixed_dictionaries(
                {
                    "amount": st.integers(-50, 500),
                    "acct": st.sampled_from(ACCOUNTS),
                    "ratio": st.one_of(st.sampled_from((-1, 0, 0.25, 1, 1.5, 2)), st.floats(-2, 3, allow_nan=False)),
                }
            ),
        ),
        st.tuples(
            st.sampled_from(USERS),
            st.just("walk"),
            st.integers(0, SPAN_MINUTES),
            st.fixed_dictionaries({"steps": st.integers(0, 30_000)}),
        ),
        st.tuples(
            st.sampled_from(USERS),
            st.just("box"),
            st.integers(0, SPAN_MINUTES),
            st.fixed_dictionaries({"boxes": st.integers(-1, 5)}),
        ),
    )
    # cluster times so that caps, ties and period boundaries are hit often: a month end
    # inside an ISO week (Sunday 1 March 2026), a local midnight, any minute
    boundary = st.sampled_from((9 * 24 * 60, 10 * 24 * 60, 38 * 24 * 60, 16 * 24 * 60 + 7 * 60))
    centers = draw(st.lists(st.one_of(boundary, st.integers(0, SPAN_MINUTES)), min_size=1, max_size=4))
    spread = draw(st.sampled_from((30, 180, 3 * 24 * 60)))
    size = draw(st.integers(0, max_size))  # lists() alone would mostly draw a handful
    events = draw(st.lists(event, min_size=size, max_size=size))
    timed = []
    for i, (user, kind, minute, data) in enumerate(events):
        if i % 3:
            minute = centers[i % len(centers)] + minute % (2 * spread) - spread
        timed.append((user, kind, min(max(minute, 0), SPAN_MINUTES), data))
    return timed


SHIPPED_DATA = {
    "walking.steps": st.fixed_dictionaries({"steps": st.integers(0, 25_000)}),
    "payment.offline": st.fixed_dictionaries({"amount_fen": st.integers(-5, 300)}),
    "bill.utility": st.fixed_dictionaries(
        {"amount_fen": st.integers(-5, 300), "account_no": st.sampled_from(ACCOUNTS)}
    ),
    "toll.etc": st.fixed_dictionaries({"amount_fen": st.integers(-5, 300)}),
    "recycling.box": st.fixed_dictionaries({"boxes": st.integers(-1, 12)}),  # below 1: out of bounds
    "recycling.clothes": st.fixed_dictionaries({"weight_g": st.integers(0, 8_000)}),
    "office.paperless": st.fixed_dictionaries({"pages": st.integers(0, 30)}),
}
SHIPPED_TYPES = (
    *SHIPPED_DATA,
    "ticket.show",
    "ticket.train",
    "hospital.appointment",
    "transit.metro",
    "transit.bus",
    "invoice.electronic",
    "food.no_cutlery",
    "retail.no_bag",
    "logistics.e_waybill",
)


@st.composite
def shipped_events(draw, max_size: int = 80) -> list[tuple[str, str, datetime, dict]]:
    """Events of the shipped types around the recycling.box version change and campaign."""
    start = datetime(2026, 8, 25)
    out = []
    for _ in range(draw(st.integers(0, max_size))):  # many events: caps must bite
        kind = draw(st.sampled_from(SHIPPED_TYPES))
        data = draw(SHIPPED_DATA.get(kind, st.just({})))
        minute = draw(st.integers(0, 25 * 24 * 60))
        out.append((draw(st.sampled_from(USERS)), kind, start + timedelta(minutes=minute), data))
    return out


# expressions over these fields; generated as text so that the parser is exercised too
EXPR_FIELDS = {"a": "int", "b": "int", "x": "float", "y": "float", "flag": "bool", "s": "str"}
INT_VALUES = st.one_of(
    st.integers(-10, 10), st.integers(-(10**12), 10**12), st.sampled_from((0, 1, -1, 10**12, -(10**12)))
)
FLOAT_VALUES = st.one_of(
    st.floats(-1e12, 1e12, allow_nan=False, allow_infinity=False),
    st.sampled_from((0.0, -0.0, 0.5, -0.5, 1e-300, -1e-300, 5e-324, 1e12, 0.1, 1 / 3)),
)


def _binary(parts: tuple[str, str, str]) -> str:
    return f"({parts[0]} {parts[1]} {parts[2]})"


def _numbers() -> st.SearchStrategy[str]:
    leaves = st.one_of(
        st.sampled_from(("a", "b", "x", "y")),
        st.integers(-1000, 1000).map(str),
        st.sampled_from(("0", "0.5", "2.5", "1e-9", "1e12", "-3", "7")),
    )

    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.one_of(
            st.tuples(inner, st.sampled_from(("+", "-", "*", "/", "//", "%")), inner).map(_binary),
            inner.map(lambda e: f"(-{e})"),
            st.tuples(st.sampled_from(("min", "max")), inner, inner).map(lambda t: f"{t[0]}({t[1]}, {t[2]})"),
            st.tuples(st.sampled_from(("floor", "abs")), inner).map(lambda t: f"{t[0]}({t[1]})"),
            st.tuples(inner, _conditions(inner), inner).map(lambda t: f"({t[0]} if {t[1]} else {t[2]})"),
        )

    return st.recursive(leaves, extend, max_leaves=12)


def _conditions(numbers: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(numbers, st.sampled_from(("<", "<=", ">", ">=", "==", "!=")), numbers).map(_binary),
        st.sampled_from(("flag", "(not flag)", "(s == 'k')", "(s != 'k')", "(flag == True)")),
    )


NUMBER_EXPRESSIONS = _numbers()
CONDITION_EXPRESSIONS = st.tuples(
    _conditions(NUMBER_EXPRESSIONS), st.sampled_from(("and", "or")), _conditions(NUMBER_EXPRESSIONS)
).map(_binary)
ROWS = st.fixed_dictionaries(
    {
        "a": INT_VALUES,
        "b": INT_VALUES,
        "x": FLOAT_VALUES,
        "y": FLOAT_VALUES,
        "flag": st.booleans(),
        "s": st.sampled_from(("k", "j")),
    }
)
