"""Scoring: declarative rules (rules/*.yaml) turn green events into integer grams.

Pure core: no database, no HTTP, no clock. The caller passes rules, events and state in.

Loading
    ``load_rules(directory, tz) -> RuleBook`` (raises ``CatalogError`` listing every
    ``file:line: rule-id: message``); ``check_rules(directory, tz) -> list[str]``;
    ``rules_from_yaml(text, tz)`` for one file's text.

Validating one event
    ``rulebook.validate(event_type, occurred_at, data) -> dict`` returns the typed data of
    the version in force at ``occurred_at``, or raises ``UnknownEventType`` (code
    ``unknown_type``; ``NoRuleInForce`` when the type exists but no version is in force)
    or ``InvalidEventData`` (code ``invalid_data``, ``details = {field, reason}`` with
    reason ``missing`` | ``unknown_field`` | ``wrong_type`` | ``out_of_bounds`` |
    ``not_a_mapping``).

Scoring online (one event at a time, in ``occurred_at`` order per user)
    ``score(rulebook, EventIn(user_id, event_type, occurred_at, data), state) -> Score``;
    ``score_many(rulebook, events, state) -> list[Score]``.
    ``Score(energy_g: int, rule_id, rule_version, rule_ref "id@version", explanation,
    condition_met, capped, multiplier)`` is immutable.
    ``ScoringState`` holds cap usage ``{UsageKey(user_id, rule_id, per, period_start,
    key_value): Usage(count, energy_g)}`` and running totals ``{RunningKey(user_id,
    rule_id, local_date): highest_total}``: load what ``state.keys_for(rulebook, events)``
    names with ``load_usage`` / ``load_running``, score, then persist ``dirty_usage()`` /
    ``dirty_running()`` (absolute values to upsert) and ``clear_dirty()``.

Scoring a batch (back-tests, re-scoring)
    ``score_frame(rulebook, df, state=None) -> DataFrame`` with the same grams as scoring
    the rows online in ``occurred_at`` order; see ``batch`` for the columns.

Each rule version is compiled once at load: to a closure of the online shape that fits it
(``scorers``) and to numpy evaluators for the batch path (``expr.vector``), from one parse
tree.

Invariants: grams are Python ``int`` (``int64`` in frames), in [0, MAX_EVENT_ENERGY_G];
the online and batch paths agree to the gram; caps are per rule id (they carry across
versions) and per local day / ISO week / month of ``rulebook.tz``. rules/README.md
documents the rule language.
"""

from greenenergy.scoring.batch import score_frame
from greenenergy.scoring.batch_data import InvalidFrame
from greenenergy.scoring.errors import ExpressionError, InvalidEventData, NoRuleInForce, UnknownEventType
from greenenergy.scoring.limits import MAX_EVENT_ENERGY_G
from greenenergy.scoring.loader import check_rules, load_rules, rules_from_yaml
from greenenergy.scoring.online import EventIn, Score, score, score_many
from greenenergy.scoring.rulebook import RuleBook
from greenenergy.scoring.rules import RuleFamily, RuleVersion
from greenenergy.scoring.state import RunningKey, ScoringState, Usage, UsageKey

__all__ = [
    "MAX_EVENT_ENERGY_G",
    "EventIn",
    "ExpressionError",
    "InvalidEventData",
    "InvalidFrame",
    "NoRuleInForce",
    "RuleBook",
    "RuleFamily",
    "RuleVersion",
    "RunningKey",
    "Score",
    "ScoringState",
    "UnknownEventType",
    "Usage",
    "UsageKey",
    "check_rules",
    "load_rules",
    "rules_from_yaml",
    "score",
    "score_frame",
    "score_many",
]
