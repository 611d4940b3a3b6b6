"""YAML catalog files read with the line of every value, for ``file:line: id: message``.

A file is composed into YAML nodes first (``yaml.SafeLoader``: no tags that build Python
objects), then constructed into plain data. While walking the nodes we remember the line of
every mapping key and sequence item by its path (``("plots", 0, "geometry")``), so a
problem found later -- by pydantic or by a cross-reference check -- can name the line of
the nearest thing it is about. Duplicate mapping keys, which PyYAML silently overwrites,
are reported here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

Loc = tuple[Any, ...]

# Keys that name the thing a problem is about, innermost first wins.
ID_KEYS = ("plot_id", "species_id", "partner_id")


@dataclass(frozen=True)
class YamlFile:
    path: Path
    data: Any
    lines: dict[Loc, int] = field(default_factory=dict)

    def line_of(self, loc: Sequence[Any]) -> int:
        """1-based line of the longest known prefix of ``loc`` (the file's first line if none)."""
        key = tuple(str(part) if isinstance(part, str) else part for part in loc)
        while key:
            if key in self.lines:
                return self.lines[key]
            key = key[:-1]
        return self.lines.get((), 1)

    def id_at(self, loc: Sequence[Any]) -> str:
        """The innermost ``*_id`` value on the way down ``loc`` ("-" when there is none)."""
        found, in_plot = "-", False
        node = self.data
        for part in (None, *loc):
            if part is not None:
                try:
                    node = node[part]
                except (KeyError, IndexError, TypeError):
                    break
            if isinstance(node, dict):
                for id_key in ID_KEYS:
                    value = node.get(id_key)
                    # Inside a plot, the plot names the problem, not the species entry listed in it.
                    if isinstance(value, str) and value and not (in_plot and id_key == "species_id"):
                        found = value
                        in_plot = in_plot or id_key == "plot_id"
                        break
        return found

    def problem(self, loc: Sequence[Any], message: str) -> str:
        """A problem formatted ``file:line: id: message``."""
        return f"{self.path}:{self.line_of(loc)}: {self.id_at(loc)}: {message}"


def _index(node: yaml.Node, loc: Loc, lines: dict[Loc, int], problems: list[tuple[Loc, int, str]]) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node.start_mark)
            line = key_node.start_mark.line + 1
            if key in seen:
                problems.append((loc, line, f"duplicate key {key!r}: each key may appear once"))
            seen.add(key)
            lines.setdefault((*loc, key), line)
            _index(value_node, (*loc, key), lines, problems)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[(*loc, index)] = item.start_mark.line + 1
            _index(item, (*loc, index), lines, problems)


def read_yaml(path: Path) -> tuple[YamlFile | None, list[str]]:
    """Parse one file. Returns the file (None if it cannot be parsed) and its problems."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return None, [f"{path}:1: -: cannot read the file: {error}"]
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else 1
        return None, [f"{path}:{line}: -: not valid YAML: {error.problem or error}"]
    except yaml.YAMLError as error:
        return None, [f"{path}:1: -: not valid YAML: {error}"]
    finally:
        loader.dispose()
    lines: dict[Loc, int] = {(): (node.start_mark.line + 1) if node is not None else 1}
    duplicates: list[tuple[Loc, int, str]] = []
    if node is not None:
        _index(node, (), lines, duplicates)
    source = YamlFile(path=path, data=data, lines=lines)
    problems = [f"{path}:{line}: {source.id_at(loc)}: {message}" for loc, line, message in duplicates]
    return source, problems


def catalog_files(directory: Path) -> list[Path]:
    """The YAML files of a catalog folder, in a stable order."""
    return sorted(p for p in directory.iterdir() if p.is_file() and p.suffix in (".yaml", ".yml"))
