"""The shape of one rule in a rule file (pydantic v2), before its expressions are compiled.

This checks what can be checked of one rule alone: keys (unknown keys are refused),
types, patterns and ranges. Semantics that need the declared fields or the other rules
(expressions, cap keys, field bounds against their type, overlapping versions) are
checked by ``draft`` and ``loader``. See CONTRACT.md "Rule files" and rules/README.md.

A data field is declared as its type (``boxes: int``) or as a mapping with bounds
(``boxes: {type: int, min: 1}``); both read as a ``FieldSpec``.
"""

from __future__ import annotations

import keyword
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    field_validator,
    model_validator,
)

from greenenergy.scoring.expr.checker import FUNCTIONS
from greenenergy.scoring.limits import MAX_FACTOR

FieldType = Literal["int", "float", "str", "bool"]
Period = Literal["day", "week", "month"]
Moment = datetime | date

ID_PATTERN = r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$"
FIELD_PATTERN = r"^[a-z_][a-z0-9_]*$"


def _expression_text(value: Any) -> Any:
    """YAML reads ``energy_g: 5`` as a number and ``when: true`` as a bool; keep them as text."""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, (int, float)):
        return repr(value)
    return value


ExpressionText = Annotated[str, BeforeValidator(_expression_text), Field(min_length=1)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _field_shorthand(value: Any) -> Any:
    """``boxes: int`` is short for ``boxes: {type: int}``."""
    return {"type": value} if isinstance(value, str) else value


# a bound is a finite number (YAML may read it as int or float; not a bool, not text)
Bound = StrictInt | Annotated[StrictFloat, Field(allow_inf_nan=False)]


class FieldSpec(Strict):
    """One data field: its type and, for int and float fields, optional inclusive bounds
    (checked against the type and the field magnitude limit by ``draft``)."""

    type: FieldType
    min: Bound | None = None
    max: Bound | None = None


FieldDeclaration = Annotated[FieldSpec, BeforeValidator(_field_shorthand)]


class CapSpec(Strict):
    per: Period
    key: str | None = None
    max_count: Annotated[StrictInt, Field(ge=1)] | None = None
    max_energy_g: Annotated[StrictInt, Field(ge=1)] | None = None

    @model_validator(mode="after")
    def _some_limit(self) -> CapSpec:
        if self.max_count is None and self.max_energy_g is None:
            raise ValueError("a cap needs max_count, max_energy_g or both")
        return self


class MultiplierSpec(Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    start: Moment = Field(alias="from")
    to: Moment
    factor: (
        Annotated[StrictInt, Field(gt=0, le=MAX_FACTOR)]
        | Annotated[StrictFloat, Field(gt=0, le=MAX_FACTOR, allow_inf_nan=False)]
    )


class Methodology(Strict):
    source: Annotated[str, Field(min_length=1)]
    note: str | None = None
    verified: StrictBool


class RuleSpec(Strict):
    id: Annotated[str, Field(pattern=ID_PATTERN, max_length=100)]
    version: Annotated[StrictInt, Field(ge=1)]
    event_type: Annotated[str, Field(pattern=ID_PATTERN, max_length=100)]
    effective_from: Moment
    effective_to: Moment | None = None
    fields: dict[Annotated[str, Field(pattern=FIELD_PATTERN, max_length=64)], FieldDeclaration] = {}
    when: ExpressionText | None = None
    energy_g: ExpressionText
    caps: list[CapSpec] = []
    multipliers: list[MultiplierSpec] = []
    aggregate: Literal["running_total"] | None = None
    methodology: Methodology

    @field_validator("fields")
    @classmethod
    def _usable_names(cls, fields: dict[str, FieldSpec]) -> dict[str, FieldSpec]:
        for name in fields:
            if keyword.iskeyword(name) or name in FUNCTIONS:
                raise ValueError(f"'{name}' cannot be a field name (it is a keyword or a function)")
        return fields

    @property
    def types(self) -> dict[str, str]:
        """The declared type of each field, in declaration order."""
        return {name: spec.type for name, spec in self.fields.items()}


RULE_KEYS = tuple(RuleSpec.model_fields)
