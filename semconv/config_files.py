"""Reading the project's configuration files (price sheets, budgets): TOML or YAML, syntax errors with their line.

Shared so every file format reports a broken file the same way: `<file>: TOML syntax error: ... (at line L,
column C)` or `<file>: YAML syntax error at line L, column C: ...`, raised as the caller's own error type.
"""

from __future__ import annotations

import tomllib
from typing import Any

__all__ = ["parse_toml", "parse_yaml"]


def parse_toml(text: str, label: str, error: type[Exception]) -> Any:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as problem:  # the message ends with "(at line L, column C)"
        raise error(f"{label}: TOML syntax error: {problem}") from problem


def parse_yaml(text: str, label: str, error: type[Exception]) -> Any:
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as problem:
        mark = problem.problem_mark or problem.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        detail = problem.problem or problem.context or "invalid YAML"
        raise error(f"{label}: YAML syntax error{where}: {detail}") from problem
    except yaml.YAMLError as problem:
        raise error(f"{label}: YAML error: {problem}") from problem
