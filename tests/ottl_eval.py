"""A small, independent OTTL interpreter for the statement subset `collector-config` generates.

Written from the OTTL grammar and function docs (pkg/ottl LANGUAGE.md, ottlfuncs README), sharing no code with
the generator, so a test that prices spans through it checks the generated text, not the generator's intent.
Strict on purpose: int/float mixing in math, an unknown function or path, an exponent in a float literal or an
unknown string escape raise `OttlError`, where a collector with `error_mode: ignore` would skip the statement.
Regexes run on RE2 (`google-re2`), the engine Go's `regexp` implements.

Supported: editors `set`, `delete_key`, `replace_pattern`; converters `Double`, `Int`, `IsMatch`, `IsString`,
`IsBool`, `ConvertCase`; paths `span.attributes[...]` and `span.cache[...]` (nested `[...]` on maps); literals
(string, int, float, bool, nil, map); `+ - * /` with parentheses; `== != < <= > >=`; `and`, `or`, `not`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import re2

__all__ = ["OttlError", "SpanState", "parse_statement", "run"]


class OttlError(Exception):
    """The statement is not valid OTTL, or it fails at run time."""


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*")
      | (?P<float>\d+\.\d+)
      | (?P<int>\d+)
      | (?P<op>==|!=|<=|>=|[<>+\-*/(),\[\]{}:.])
      | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
    )""",
    re.VERBOSE,
)


def _tokenize(text: str) -> list[tuple[str, Any]]:
    tokens: list[tuple[str, Any]] = []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if not match:
            raise OttlError(f"cannot read {text[position:position + 20]!r}")
        position = match.end()
        kind = match.lastgroup
        value = match.group(kind)
        if kind in ("float", "int") and position < len(text) and text[position] in "eE":
            raise OttlError(f"number with an exponent at {value!r}: OTTL float literals have none")
        if kind == "string":
            value = _unquote(value)
        elif kind == "float":
            value = float(value)
        elif kind == "int":
            value = int(value)
        tokens.append((kind, value))
    tokens.append(("end", None))
    return tokens


def _unquote(literal: str) -> str:
    out, i, body = [], 0, literal[1:-1]
    while i < len(body):
        ch = body[i]
        if ch == "\\":
            nxt = body[i + 1]
            if nxt not in '\\"':
                raise OttlError(f"unknown escape \\{nxt} in {literal}")
            out.append(nxt)
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


# --- syntax tree ------------------------------------------------------------------------------------------------


@dataclass
class Path:
    root: str  # "attributes" | "cache"
    keys: list[str]


@dataclass
class Call:
    name: str
    args: list[Any]


@dataclass
class Literal:
    value: Any


@dataclass
class MapLiteral:
    items: list[tuple[str, Any]]


@dataclass
class BinOp:
    op: str
    left: Any
    right: Any


@dataclass
class Compare:
    op: str
    left: Any
    right: Any


@dataclass
class BoolOp:
    op: str  # and | or | not
    items: list[Any]


@dataclass
class Statement:
    editor: str
    args: list[Any]
    where: Any = None
    text: str = ""


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.i = 0

    def peek(self) -> tuple[str, Any]:
        return self.tokens[self.i]

    def take(self, kind: str | None = None, value: Any = None) -> Any:
        token = self.tokens[self.i]
        if (kind and token[0] != kind) or (value is not None and token[1] != value):
            raise OttlError(f"expected {value or kind}, got {token[1]!r}")
        self.i += 1
        return token[1]

    def at(self, kind: str, value: Any = None) -> bool:
        token = self.peek()
        return token[0] == kind and (value is None or token[1] == value)

    # statement := editor(args) [where bool]
    def statement(self) -> Statement:
        editor = self.take("name")
        if editor[0].isupper():
            raise OttlError(f"{editor} is a converter, not an editor")
        args = self.arguments()
        where = None
        if self.at("name", "where"):
            self.take()
            where = self.boolean()
        self.take("end")
        return Statement(editor, args, where)

    def arguments(self) -> list[Any]:
        self.take("op", "(")
        args: list[Any] = []
        if not self.at("op", ")"):
            args.append(self.value())
            while self.at("op", ","):
                self.take()
                args.append(self.value())
        self.take("op", ")")
        return args

    # math: value := term (+|- term)*; term := factor (*|/ factor)*
    def value(self) -> Any:
        node = self.term()
        while self.at("op", "+") or self.at("op", "-"):
            op = self.take()
            node = BinOp(op, node, self.term())
        return node

    def term(self) -> Any:
        node = self.factor()
        while self.at("op", "*") or self.at("op", "/"):
            op = self.take()
            node = BinOp(op, node, self.factor())
        return node

    def factor(self) -> Any:
        kind, value = self.peek()
        if kind in ("string", "int", "float"):
            self.take()
            return Literal(value)
        if kind == "op" and value == "(":
            self.take()
            node = self.value()
            self.take("op", ")")
            return node
        if kind == "op" and value == "{":
            return self.map_literal()
        if kind == "name":
            if value in ("true", "false"):
                self.take()
                return Literal(value == "true")
            if value == "nil":
                self.take()
                return Literal(None)
            if value == "span":
                return self.path()
            if value[0].isupper():
                self.take()
                return Call(value, self.arguments())
        raise OttlError(f"unexpected {value!r}")

    def map_literal(self) -> MapLiteral:
        self.take("op", "{")
        items: list[tuple[str, Any]] = []
        while not self.at("op", "}"):
            key = self.take("string")
            self.take("op", ":")
            items.append((key, self.value()))
            if self.at("op", ","):
                self.take()
        self.take("op", "}")
        return MapLiteral(items)

    def path(self) -> Path:
        self.take("name", "span")
        self.take("op", ".")
        root = self.take("name")
        if root not in ("attributes", "cache"):
            raise OttlError(f"unsupported path span.{root}")
        keys: list[str] = []
        while self.at("op", "["):
            self.take()
            keys.append(self.take("string"))
            self.take("op", "]")
        return Path(root, keys)

    # boolean := and-term (or and-term)*; and-term := factor (and factor)*
    def boolean(self) -> Any:
        items = [self.conjunction()]
        while self.at("name", "or"):
            self.take()
            items.append(self.conjunction())
        return items[0] if len(items) == 1 else BoolOp("or", items)

    def conjunction(self) -> Any:
        items = [self.bool_factor()]
        while self.at("name", "and"):
            self.take()
            items.append(self.bool_factor())
        return items[0] if len(items) == 1 else BoolOp("and", items)

    def bool_factor(self) -> Any:
        if self.at("name", "not"):
            self.take()
            return BoolOp("not", [self.bool_factor()])
        start = self.i
        try:  # a comparison (whose left side may itself start with "(")
            left = self.value()
            kind, op = self.peek()
            if kind == "op" and op in ("==", "!=", "<", "<=", ">", ">="):
                self.take()
                return Compare(op, left, self.value())
            if isinstance(left, Call | Literal):  # a boolean converter or literal
                return left
            raise OttlError("not a comparison")
        except OttlError:
            self.i = start
        self.take("op", "(")
        node = self.boolean()
        self.take("op", ")")
        return node


def parse_statement(text: str) -> Statement:
    statement = _Parser(text).statement()
    statement.text = text
    return statement


# --- evaluation ---------------------------------------------------------------------------------------------------


@dataclass
class SpanState:
    """One span: its attributes (edited in place) and the per-span cache."""

    attributes: dict[str, Any]
    cache: dict[str, Any] = field(default_factory=dict)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return _is_int(v) or isinstance(v, float)


def _get(state: SpanState, path: Path) -> Any:
    current: Any = state.attributes if path.root == "attributes" else state.cache
    if not path.keys:
        return current
    for key in path.keys:
        if not isinstance(current, dict):
            return None
        current = current.get(key)
    return current


def _container(state: SpanState, path: Path) -> tuple[dict[str, Any], str]:
    current: Any = state.attributes if path.root == "attributes" else state.cache
    for key in path.keys[:-1]:
        current = current.get(key)
        if not isinstance(current, dict):
            raise OttlError(f"cannot set below a non-map at {path.keys}")
    return current, path.keys[-1]


def _evaluate(node: Any, state: SpanState) -> Any:
    if isinstance(node, Literal):
        return node.value
    if isinstance(node, MapLiteral):
        return {key: _evaluate(value, state) for key, value in node.items}
    if isinstance(node, Path):
        value = _get(state, node)
        return dict(value) if isinstance(value, dict) else value
    if isinstance(node, BinOp):
        return _math(node.op, _evaluate(node.left, state), _evaluate(node.right, state))
    if isinstance(node, Call):
        return _call(node, state)
    if isinstance(node, Compare):
        return _compare(node.op, _evaluate(node.left, state), _evaluate(node.right, state))
    if isinstance(node, BoolOp):
        if node.op == "not":
            return not _truth(_evaluate(node.items[0], state))
        values = (_truth(_evaluate(item, state)) for item in node.items)
        return all(values) if node.op == "and" else any(values)
    raise OttlError(f"cannot evaluate {node!r}")


def _truth(value: Any) -> bool:
    if not isinstance(value, bool):
        raise OttlError(f"condition is not a boolean: {value!r}")
    return value


def _math(op: str, left: Any, right: Any) -> Any:
    if not (_is_number(left) and _is_number(right)):
        raise OttlError(f"math on non-numbers: {left!r} {op} {right!r}")
    if _is_int(left) != _is_int(right):
        raise OttlError(f"math expressions that mix int64 and float64 are an error: {left!r} {op} {right!r}")
    if op == "+":
        return left + right
    if op == "-":
        return left - right
    if op == "*":
        return left * right
    if _is_int(left):
        if right == 0:
            raise OttlError("integer division by zero")
        return int(left / right)
    return left / right


def _compare(op: str, left: Any, right: Any) -> bool:
    if op in ("==", "!="):
        if left is None or right is None:
            equal = left is None and right is None
        elif _is_number(left) and _is_number(right):
            equal = left == right
        elif type(left) is not type(right):
            equal = False
        else:
            equal = left == right
        return equal if op == "==" else not equal
    if (_is_number(left) and _is_number(right)) or (isinstance(left, str) and isinstance(right, str)):
        return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[op]
    return False


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _call(node: Call, state: SpanState) -> Any:
    args = [_evaluate(arg, state) for arg in node.args]
    name = node.name
    if name == "Double":
        (value,) = args
        if isinstance(value, bool):
            return 1.0 if value else 0.0
        if _is_number(value):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                return None
        return None
    if name == "Int":
        (value,) = args
        if isinstance(value, bool):
            return 1 if value else 0
        if _is_int(value):
            return value
        if isinstance(value, float):
            return int(value)
        if isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value):
            return int(value)
        return None
    if name == "IsMatch":
        target, pattern = args
        if target is None:
            return False
        return re2.search(pattern, _as_text(target)) is not None
    if name == "IsString":
        return isinstance(args[0], str)
    if name == "IsBool":
        return isinstance(args[0], bool)
    if name == "ConvertCase":
        target, case = args
        if not isinstance(target, str):
            raise OttlError(f"ConvertCase on a non-string {target!r}")
        if case == "lower":
            return target.lower()
        if case == "upper":
            return target.upper()
        raise OttlError(f"ConvertCase to {case!r} not supported here")
    raise OttlError(f"unknown converter {name}")


def _execute(statement: Statement, state: SpanState) -> None:
    if statement.where is not None and not _truth(_evaluate(statement.where, state)):
        return
    args = statement.args
    if statement.editor == "set":
        target, value = args
        if not isinstance(target, Path) or not target.keys:
            raise OttlError("set needs a path with a key")
        result = _evaluate(value, state)
        if result is None:
            return  # setting nil is a no-op
        container, key = _container(state, target)
        container[key] = result
    elif statement.editor == "delete_key":
        target, key = args
        mapping = _get(state, target)
        if isinstance(mapping, dict):
            mapping.pop(_evaluate(key, state), None)
    elif statement.editor == "replace_pattern":
        target, pattern, replacement = args
        value = _get(state, target)
        if isinstance(value, str):
            new = re2.sub(_evaluate(pattern, state), _evaluate(replacement, state), value)
            container, key = _container(state, target)
            container[key] = new
    else:
        raise OttlError(f"unknown editor {statement.editor}")


def run(statements: list[Statement], attributes: dict[str, Any]) -> dict[str, Any]:
    """Runs the parsed statements on one span (a fresh cache), returning its attributes after the run."""
    state = SpanState(dict(attributes))
    for statement in statements:
        try:
            _execute(statement, state)
        except OttlError as error:
            raise OttlError(f"{error} in: {statement.text}") from error
        except (TypeError, ValueError, KeyError, re2.error) as error:
            raise OttlError(f"{type(error).__name__}: {error} in: {statement.text}") from error
    return state.attributes
