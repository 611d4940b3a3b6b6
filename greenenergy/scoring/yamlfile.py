"""Read a rule file with line numbers: compose YAML once, keep each rule's node.

``read_rule_file`` returns the Python value of every rule together with its YAML node, so
that a problem found later (by pydantic or by the expression checker) can be reported at
``file:line`` of the offending key. Problems of the file itself are returned as values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

MAX_NODES = 100_000  # a rule file is small; refuse alias bombs and generated junk


@dataclass(frozen=True)
class RawRule:
    file: str
    index: int
    value: Any
    node: Node

    @property
    def line(self) -> int:
        return self.node.start_mark.line + 1

    @property
    def label(self) -> str:
        rule_id = self.value.get("id") if isinstance(self.value, dict) else None
        return rule_id if isinstance(rule_id, str) and rule_id else f"<rule #{self.index + 1}>"

    def line_of(self, path: Sequence[str | int]) -> int:
        """Line of the deepest key or item of ``path`` present in this rule (1-based)."""
        return line_of(self.node, path)

    def duplicate_keys(self) -> list[tuple[str, int]]:
        return _duplicate_keys(self.node)


def read_rule_file(name: str, text: str) -> tuple[list[RawRule], list[str]]:
    """The rules of one file and the problems of the file itself."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return [], [f"{name}:1: -: empty file; a rule file holds `rules:` and a list of rules"]
        if _too_big(node):
            return [], [f"{name}:1: -: file has more than {MAX_NODES} YAML nodes; split it"]
        value = loader.construct_document(node)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else 1
        return [], [f"{name}:{line}: -: YAML syntax error: {error.problem or error}"]
    except yaml.YAMLError as error:
        return [], [f"{name}:1: -: YAML error: {error}"]
    finally:
        loader.dispose()
    if not isinstance(node, MappingNode) or not isinstance(value, dict) or "rules" not in value:
        return [], [
            f"{name}:1: -: not a rule file; it must be a mapping with a `rules:` list (keep rules/ for rule files only)"
        ]
    problems = [
        f"{name}:{key.start_mark.line + 1}: -: unknown top-level key '{key.value}'; only `rules:` is allowed"
        for key, _ in node.value
        if key.value != "rules"
    ]
    rules_node = _value_node(node, "rules")
    if not isinstance(rules_node, SequenceNode) or not isinstance(value["rules"], list):
        line = (rules_node or node).start_mark.line + 1
        return [], [*problems, f"{name}:{line}: -: `rules:` must be a list of rules"]
    items = zip(value["rules"], rules_node.value, strict=True)
    raws = [RawRule(name, index, item, item_node) for index, (item, item_node) in enumerate(items)]
    return raws, problems


def line_of(node: Node, path: Sequence[str | int]) -> int:
    line = node.start_mark.line
    for part in path:
        if isinstance(node, MappingNode):
            for key, child in node.value:
                if isinstance(key, ScalarNode) and key.value == str(part):
                    line, node = key.start_mark.line, child
                    break
            else:
                break
        elif isinstance(node, SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line
        else:
            break
    return line + 1


def _value_node(node: MappingNode, name: str) -> Node | None:
    for key, child in node.value:
        if isinstance(key, ScalarNode) and key.value == name:
            return child
    return None


def _duplicate_keys(node: Node) -> list[tuple[str, int]]:
    found: list[tuple[str, int]] = []
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, MappingNode):
            seen: set[str] = set()
            for key, child in current.value:
                if isinstance(key, ScalarNode):
                    if key.value in seen:
                        found.append((key.value, key.start_mark.line + 1))
                    seen.add(key.value)
                stack.append(child)
        elif isinstance(current, SequenceNode):
            stack.extend(current.value)
    return sorted(found, key=lambda item: item[1])


def _too_big(node: Node) -> bool:
    count = 0
    stack = [node]
    while stack:
        count += 1
        if count > MAX_NODES:
            return True
        current = stack.pop()
        if isinstance(current, MappingNode):
            for key, child in current.value:
                stack.extend((key, child))
        elif isinstance(current, SequenceNode):
            stack.extend(current.value)
    return False
