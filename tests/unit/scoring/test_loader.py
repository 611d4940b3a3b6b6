"""Loading rule files: every problem of every file, as ``file:line: rule-id: message``."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from greenenergy.errors import CatalogError
from greenenergy.scoring import check_rules, load_rules

TZ = ZoneInfo("Asia/Shanghai")
METHOD = 'methodology: {source: "test", verified: true}'


def problems_of(tmp_path: Path, **files: str) -> list[str]:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return check_rules(tmp_path, TZ)


def test_a_good_file_loads(tmp_path: Path) -> None:
    (tmp_path / "box.yaml").write_text(f"""
rules:
  - id: recycling.box
    version: 1
    event_type: recycling.box
    effective_from: 2017-03-01
    fields: {{boxes: int}}
    when: boxes >= 1
    energy_g: 37 * boxes
    {METHOD}
""")
    book = load_rules(tmp_path, TZ)
    assert book.event_types == {"recycling.box"}
    assert [v.ref for v in book.versions()] == ["recycling.box@1"]


def test_problems_name_file_line_and_rule(tmp_path: Path) -> None:
    problems = problems_of(
        tmp_path,
        **{
            "a.yaml": f"""rules:
  - id: pay
    version: 1
    event_type: pay
    effective_from: 2017-01-01
    fields: {{amount_fen: int}}
    when: amount_fen >= 100
    energy_g: amount_fen.bit_length
    colour: red
    {METHOD}
"""
        },
    )
    path = tmp_path / "a.yaml"
    # schema problems stop a rule before its expressions are compiled
    assert problems == [f"{path}:9: pay: unknown key 'colour'; see rules/README.md for the keys of a rule"]
    (tmp_path / "a.yaml").write_text((tmp_path / "a.yaml").read_text().replace("    colour: red\n", ""))
    assert check_rules(tmp_path, TZ) == [
        f'{path}:8: pay: energy_g: "amount_fen.bit_length": attribute access is not allowed; use a declared field name',
    ]


def test_every_problem_of_every_file_is_listed(tmp_path: Path) -> None:
    problems = problems_of(
        tmp_path,
        **{
            "a.yaml": f"""rules:
  - id: one
    version: 0
    event_type: one
    effective_from: someday
    energy_g: 5
    {METHOD}
  - id: two
    version: 1
    event_type: two
    effective_from: 2020-01-01
    fields: {{n: int}}
    when: n + 1
    energy_g: n ** 2
    {METHOD}
""",
            "b.yaml": """rules:
  - id: three
    version: 1
    event_type: three
    effective_from: 2020-01-01
    energy_g: 5
    caps:
      - {per: hour, max_count: 1}
    methodology: {source: s}
""",
        },
    )
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    assert problems == [
        f"{a}:3: one: version: Input should be greater than or equal to 1 (got 0)",
        f"{a}:5: one: effective_from: expected a date like 2026-09-01 or a date-time like "
        "2026-09-01T08:00:00+08:00 (got 'someday')",
        f"{a}:13: two: when must be a condition (True/False), but 'n + 1' is a number; e.g. write 'n + 1 > 0'",
        f"{a}:14: two: energy_g: \"n ** 2\": '**' is not allowed; write the multiplication out",
        f"{b}:8: three: caps[0].per: Input should be 'day', 'week' or 'month' (got 'hour')",
        f"{b}:9: three: methodology: missing required key 'verified'",
    ]


def test_load_raises_catalog_error_with_all_problems(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("rules:\n  - id: x\n")
    with pytest.raises(CatalogError) as caught:
        load_rules(tmp_path, TZ)
    assert caught.value.problems == [
        f"{tmp_path / 'a.yaml'}:2: x: missing required key '{key}'"
        for key in ("version", "event_type", "effective_from", "energy_g", "methodology")
    ]


def test_a_non_rule_yaml_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "species.yaml").write_text("species:\n  - saxaul\n")
    (tmp_path / "notes.md").write_text("not yaml, ignored")
    assert check_rules(tmp_path, TZ) == [
        f"{tmp_path / 'species.yaml'}:1: -: not a rule file; it must be a mapping with a `rules:` list "
        "(keep rules/ for rule files only)"
    ]


def test_yaml_syntax_errors_and_empty_folders(tmp_path: Path) -> None:
    assert check_rules(tmp_path, TZ) == [f"{tmp_path}:1: -: no rule files (*.yaml) found"]
    (tmp_path / "bad.yml").write_text("rules:\n  - id: [unclosed\n")
    [problem] = check_rules(tmp_path, TZ)
    assert problem.startswith(f"{tmp_path / 'bad.yml'}:3: -: YAML syntax error")


def test_duplicate_keys_and_versions_and_overlaps(tmp_path: Path) -> None:
    rule = """  - id: box
    version: {version}
    event_type: box
    effective_from: {start}
    energy_g: 37
    methodology: {{source: s, verified: true}}
"""
    text = "rules:\n" + rule.format(version=1, start="2017-01-01") + rule.format(version=1, start="2018-01-01")
    text += rule.format(version=2, start="2019-01-01")
    text += (
        "  - id: box2\n    id: box3\n    version: 1\n    event_type: box\n    effective_from: 2017-01-01\n"
        "    energy_g: 1\n    methodology: {source: s, verified: true}\n"
    )
    problems = problems_of(tmp_path, **{"r.yaml": text})
    path = tmp_path / "r.yaml"
    assert problems == [
        f"{path}:9: box: version 1 is defined twice (also at {path}:2); give it a new version number",
        f"{path}:17: box: version 2 overlaps version 1 ({path}:8); "
        "end version 1 with effective_to: 2019-01-01 or earlier",
        f"{path}:21: box3: key 'id' appears twice; keep one",
        f"{path}:23: box3: event type 'box' is already scored by rule box; "
        "one rule id per event type (add a version instead)",
    ]


def test_cross_field_checks(tmp_path: Path) -> None:
    problems = problems_of(
        tmp_path,
        **{
            "r.yaml": f"""rules:
  - id: bill
    version: 1
    event_type: bill
    effective_from: 2017-01-01
    effective_to: 2016-01-01
    fields: {{amount_fen: int}}
    energy_g: 262
    caps:
      - {{per: month, key: account_no, max_count: 1}}
    multipliers:
      - {{from: 2017-02-01, to: 2017-03-01, factor: 2}}
      - {{from: 2017-02-15, to: 2017-02-20, factor: 3}}
    {METHOD}
  - id: walk
    version: 1
    event_type: walk
    effective_from: 2017-01-01
    fields: {{steps: int, km: float}}
    energy_g: steps // 50
    aggregate: running_total
    {METHOD}
"""
        },
    )
    path = tmp_path / "r.yaml"
    assert problems == [
        f"{path}:6: bill: effective_to must be later than effective_from (it is exclusive)",
        f"{path}:10: bill: cap key 'account_no' must be a declared str or int field (declared: amount_fen)",
        f"{path}:11: bill: multiplier windows 2017-02-01..2017-03-01 and 2017-02-15..2017-02-20 overlap; "
        "at most one multiplier applies to an event",
        f"{path}:21: walk: aggregate: running_total needs exactly one field, an int holding the day's total "
        "so far (e.g. fields: {steps: int})",
    ]


def test_a_cap_key_must_exist_in_every_version(tmp_path: Path) -> None:
    problems = problems_of(
        tmp_path,
        **{
            "r.yaml": f"""rules:
  - id: bill
    version: 1
    event_type: bill
    effective_from: 2017-01-01
    effective_to: 2020-01-01
    fields: {{amount_fen: int}}
    energy_g: 262
    {METHOD}
  - id: bill
    version: 2
    event_type: bill
    effective_from: 2020-01-01
    fields: {{amount_fen: int, account_no: str}}
    energy_g: 262
    caps: [{{per: month, key: account_no, max_count: 1}}]
    {METHOD}
"""
        },
    )
    assert problems == [
        f"{tmp_path / 'r.yaml'}:7: bill: another version of bill caps per 'account_no'; caps carry across "
        "versions, so every version must declare field 'account_no' (str or int)"
    ]


def test_the_shipped_rules_load() -> None:
    assert check_rules(Path(__file__).resolve().parents[3] / "rules", TZ) == []


def test_a_field_may_declare_bounds(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text(f"""
rules:
  - id: recycling.box
    version: 1
    event_type: recycling.box
    effective_from: 2017-03-01
    fields:
      boxes: {{type: int, min: 1}}
      weight_kg: {{type: float, min: 0.5, max: 40}}
      share: {{type: float, max: 1.0}}
      depot: str
      same: {{type: int, min: 3, max: 3}}
      plain: {{type: int}}
    energy_g: 37 * boxes
    {METHOD}
""")
    (version,) = load_rules(tmp_path, TZ).versions()
    assert version.fields == {
        "boxes": "int",
        "weight_kg": "float",
        "share": "float",
        "depot": "str",
        "same": "int",
        "plain": "int",
    }
    assert version.bounds == {"boxes": (1, None), "weight_kg": (0.5, 40), "share": (None, 1.0), "same": (3, 3)}


def test_bad_bounds_are_refused_at_their_line(tmp_path: Path) -> None:
    problems = problems_of(
        tmp_path,
        **{
            "r.yaml": f"""rules:
  - id: box
    version: 1
    event_type: box
    effective_from: 2017-01-01
    fields:
      label: {{type: str, min: 1}}
      flag:
        type: bool
        max: 1
      low_high:
        type: int
        min: 5
        max: 1
      half: {{type: int, min: 1.5}}
      huge:
        type: float
        max: 1.0e+13
      count: {{type: int, max: -1000000000001}}
    energy_g: 1
    {METHOD}
  - id: other
    version: 1
    event_type: other
    effective_from: 2017-01-01
    fields:
      word: {{type: int, min: one}}
      truth: {{type: int, min: true}}
      endless: {{type: float, max: .inf}}
      typo: {{type: int, minimum: 1}}
      untyped: {{min: 1}}
      wrong: integer
    energy_g: 1
    {METHOD}
"""
        },
    )
    path = tmp_path / "r.yaml"
    limit = "a bound must lie between -1,000,000,000,000 and 1,000,000,000,000 (the values a field can hold)"
    kinds = "a field is declared as int, float, str or bool, or as {type: int, min: 1, max: 100}"
    assert problems == [
        f"{path}:7: box: fields.label: min and max apply to int and float fields only, not to a str field; remove them",
        f"{path}:10: box: fields.flag: min and max apply to int and float fields only, not to a bool field; "
        "remove them",
        f"{path}:13: box: fields.low_high: min 5 is greater than max 1; no value could pass",
        f"{path}:15: box: fields.half.min: an int field's bound must be a whole number: write min: 2 (got 1.5)",
        f"{path}:18: box: fields.huge.max: {limit}, got 10000000000000.0",
        f"{path}:19: box: fields.count.max: {limit}, got -1000000000001",
        f"{path}:27: other: fields.word.min: a bound must be a finite number (got 'one')",
        f"{path}:28: other: fields.truth.min: a bound must be a finite number (got True)",
        f"{path}:29: other: fields.endless.max: a bound must be a finite number (got inf)",
        f"{path}:30: other: fields.typo: unknown key 'minimum'; a field takes type, min and max",
        f"{path}:31: other: fields.untyped: missing required key 'type'",
        f"{path}:32: other: fields.wrong: {kinds} (got 'integer')",
    ]
