"""Compiles a `PriceBook` (genai-prices catalog + price sheets) and the dialect table into OTTL statements for
the OpenTelemetry Collector's transform processor (contrib >= 0.120: `span.`-prefixed paths, `span.cache`).

Why generate instead of hand-writing: the catalog has thousands of models, each with its own match rules,
fallback providers, tiers and price history; a hand-kept OTTL file is stale the day a price changes. The
generated statements replay, per span and without Python in the pipeline, the decisions `SpanEnricher` makes:

1. detect the dialect from marker keys (`processor/dialects.py`, compiled as data), read provider, models,
   operation, token counts and any upstream cost into `span.cache`; only inference/embedding spans go on;
2. normalize the usage as `Usage` does (exclusive-input dialects get cache reads/writes added in, a subset
   larger than its total raises the total) and the provider name as `canonical_provider` does;
3. never touch a span that carries `tokenomics.cost.status`; keep an upstream cost (`provider_cost`);
4. resolve the catalog provider (OTel name → catalog id, or by model name when no provider is known), then the
   model: one statement per (provider, model) in the catalog's own order, first match wins, response model
   before request model; then price sheets, which win over the catalog, as in `PriceBook`;
5. price with the record's per-token rates (plain decimal literals, `Double()` around the int counts, cliff
   tiers by comparing the input total) and write the same attributes `Cost.span_attributes` does; a call that
   cannot be priced gets `tokenomics.cost.status = "unpriced"` and a reason, never a 0.

What OTTL cannot do is listed (`OttlProgram.unexpressible`, `OttlProgram.notes`) instead of dropped: prices
are fixed at generation time (`when`), so time-of-day prices, price changes before or after `when`, and
exchange rates are taken at `when`; service-tier/batch variants are not compiled (standard prices);
regexes RE2 cannot run (lookarounds other than a leading `^(?!...)`/`^(?=...)`, backreferences) leave the model
out; sheet entries selected by server address are left out.
"""

from __future__ import annotations

import fnmatch
import math
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from otel_tokenomics.processor import dialects as dialect_table
from otel_tokenomics.semconv import attributes as attr
from otel_tokenomics.semconv.attributes import CostSource, CostStatus, UnpricedReason
from otel_tokenomics.semconv.prices import PriceBook
from otel_tokenomics.semconv.prices.catalog import SOURCE as CATALOG_SOURCE
from otel_tokenomics.semconv.prices.catalog import CatalogMatch, NotTokenPriced
from otel_tokenomics.semconv.prices.providers import OTEL_TO_CATALOG, catalog_provider_id
from otel_tokenomics.semconv.prices.record import PriceRecord

try:  # Python 3.11+: the regex parser is importable under this name
    import re._parser as _sre_parse  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - older layouts
    import sre_parse as _sre_parse  # type: ignore[no-redef]

__all__ = [
    "MODEL_NOT_IN_CONFIG",
    "PROVIDER_NOT_IN_CONFIG",
    "OttlProgram",
    "Unexpressible",
    "compile_price_book",
]

#: Unpriced reasons only the generated config produces: the catalog knows the call, the config was restricted.
MODEL_NOT_IN_CONFIG = "model_not_in_config"
PROVIDER_NOT_IN_CONFIG = "provider_not_in_config"

_MAX_TOKENS = dialect_table.MAX_TOKENS
_RE2_MAX_REPEAT = 1000


@dataclass(frozen=True, slots=True)
class Unexpressible:
    """A catalog or sheet entry the statements do not reproduce exactly, and what happens instead."""

    provider: str
    model: str
    reason: str  # regex_unsupported | time_of_day_price | price_window | price_variants | sheet_server_address
    detail: str

    def line(self) -> str:
        return f"{self.provider}/{self.model}: {self.reason}: {self.detail}"


@dataclass(frozen=True, slots=True)
class OttlProgram:
    """The statements (in order, one flat `trace_statements` list so they share `span.cache`) and what they
    leave out."""

    statements: tuple[str, ...]
    unexpressible: tuple[Unexpressible, ...]
    notes: tuple[str, ...]
    compiled_models: int
    providers: tuple[str, ...]
    when: float
    currency: str
    catalog_version: str | None


# --- OTTL text helpers ---------------------------------------------------------------------------------------


def _q(text: str) -> str:
    """An OTTL string literal."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _a(key: str) -> str:
    return f"span.attributes[{_q(key)}]"


def _c(key: str) -> str:
    return f"span.cache[{_q(key)}]"


def _ci(key: str, item: str) -> str:
    return f"span.cache[{_q(key)}][{_q(item)}]"


def _float(value: Decimal) -> str:
    """A float literal OTTL accepts: plain digits with a dot, never an exponent."""
    text = format(value.normalize(), "f")
    if "." not in text:
        text += ".0"
    return text


def _any(conditions: Iterable[str]) -> str:
    parts = list(dict.fromkeys(conditions))
    return parts[0] if len(parts) == 1 else "(" + " or ".join(parts) + ")"


def _all(*conditions: str) -> str:
    return " and ".join(c for c in conditions if c)


def _one_of(path: str, values: Iterable[str]) -> str:
    return _any(f"{path} == {_q(v)}" for v in values)


def _map(items: dict[str, Any]) -> str:
    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return _q(v)
        if isinstance(v, Decimal):
            return _float(v)
        if isinstance(v, int):
            return str(v)
        if isinstance(v, dict):
            return _map(v)
        raise TypeError(type(v).__name__)

    return "{" + ", ".join(f"{_q(k)}: {value(v)}" for k, v in items.items()) + "}"


# --- regexes: Python (catalog, sheets) → RE2 (Go regexp) -------------------------------------------------------


class _NotRe2(Exception):
    """A pattern Go's regexp cannot run."""


_RE2_META = set("\\.+*?()|[]{}^$")


def _escape(text: str) -> str:
    return "".join("\\" + ch if ch in _RE2_META else ch for ch in text)


def _check_re2(pattern: str) -> None:
    """Raises _NotRe2 for constructs RE2 lacks (found with Python's own regex parser)."""
    try:
        tree = _sre_parse.parse(pattern)
    except re.error as error:
        raise _NotRe2(f"invalid regex: {error}") from error

    def walk(items: Any) -> None:
        for op, av in items:
            name = str(op)
            if name in ("ASSERT", "ASSERT_NOT"):
                raise _NotRe2("lookaround")
            if name in ("GROUPREF", "GROUPREF_EXISTS"):
                raise _NotRe2("backreference")
            if name in ("ATOMIC_GROUP", "POSSESSIVE_REPEAT"):
                raise _NotRe2("atomic group / possessive quantifier")
            if name in ("MAX_REPEAT", "MIN_REPEAT"):
                low, high, sub = av
                if (high != _sre_parse.MAXREPEAT and high > _RE2_MAX_REPEAT) or low > _RE2_MAX_REPEAT:
                    raise _NotRe2("repeat count above 1000")
                walk(sub)
            elif name == "SUBPATTERN":
                walk(av[-1])
            elif name == "BRANCH":
                for branch in av[1]:
                    walk(branch)
            elif name == "AT" and str(av) in ("AT_END_STRING",):
                raise _NotRe2(r"\Z")

    walk(tree)


def _leading_lookahead(pattern: str) -> tuple[str, str, str] | None:
    """`^(?!X)Y` / `^(?=X)Y` split into (`!` or `=`, X, Y); None for any other shape."""
    if not (pattern.startswith("^(?!") or pattern.startswith("^(?=")):
        return None
    depth, i, in_class = 1, 4, False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
            if pattern[i + 1 : i + 2] == "]":
                i += 1
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return pattern[3], pattern[4:i], pattern[i + 1 :]
        i += 1
    return None


def _regex_condition(target: str, pattern: str, flags: str = "") -> str:
    """`IsMatch` for a Python regex searched in `target`. A pattern starting with one lookahead at the anchor
    (`^(?!X)Y`, as genai-prices uses to exclude TTS variants) is rewritten exactly as
    `not IsMatch(target, "^(?:X)") and IsMatch(target, "^(?:Y)")`."""
    lead = _leading_lookahead(pattern)
    if lead is not None:
        tree = list(_sre_parse.parse(pattern))
        if len(tree) == 1 and str(tree[0][0]) == "BRANCH":  # `^(?!X)a|b`: the lookahead guards one branch only
            raise _NotRe2("lookaround inside an alternation")
        kind, inner, rest = lead
        _check_re2(inner)
        condition = f"IsMatch({target}, {_q(flags + '^(?:' + inner + ')')})"
        condition = condition if kind == "=" else f"not {condition}"
        if rest:
            _check_re2(rest)
            condition = f"({condition} and IsMatch({target}, {_q(flags + '^(?:' + rest + ')')}))"
        return condition
    if "\\Z" in pattern:
        pattern = pattern.replace("\\Z", "$")  # glob translations end in \Z; `$` without (?m) is the same in RE2
    _check_re2(pattern)
    return f"IsMatch({target}, {_q(flags + pattern)})"


def _clause_condition(clause: Any, target: str) -> str:
    """A genai-prices `MatchLogic` clause as an OTTL condition on an already lower-cased `target`."""
    kind = type(clause).__name__
    if kind == "ClauseEquals":
        return f"{target} == {_q(clause.equals.lower())}"
    if kind == "ClauseStartsWith":
        return f"IsMatch({target}, {_q('^' + _escape(clause.starts_with.lower()))})"
    if kind == "ClauseEndsWith":
        return f"IsMatch({target}, {_q(_escape(clause.ends_with.lower()) + '$')})"
    if kind == "ClauseContains":
        return f"IsMatch({target}, {_q(_escape(clause.contains.lower()))})"
    if kind == "ClauseRegex":
        return _regex_condition(target, clause.regex)
    if kind == "ClauseOr":
        return "(" + " or ".join(_clause_condition(c, target) for c in clause.or_) + ")"
    if kind == "ClauseAnd":
        return "(" + " and ".join(_clause_condition(c, target) for c in clause.and_) + ")"
    raise _NotRe2(f"unknown match clause {kind}")


# --- cache keys (one short name each: they are repeated in thousands of statements) --------------------------

_DIALECT, _CALL, _OUTCOME, _WHY = "d", "call", "o", "why"
_PROVIDER_RAW, _PROVIDER_LOWER, _PROVIDER, _PROVIDER_HEAD = "prov", "pl", "pn", "ph"
_REQ, _RESP, _OP = "req", "resp", "op"
_IN, _OUT, _CR, _CW, _RS, _UNC = "in", "out", "cr", "cw", "rs", "unc"
_COUNTS = (_IN, _OUT, _CR, _CW, _RS)
_BAD, _USAGE = "bad", "usage"
_COST, _COST_KEY, _COST_CUR, _REPORTED = "cost", "costkey", "cur", "rc"
_M1, _M2, _M1_TEXT, _M2_TEXT = "m1", "m2", "m1o", "m2o"
_CATALOG_PROVIDER, _RECORD, _SHEET, _RATES = "cp", "r", "s", "rt"
_COST_PROVIDER, _COST_MODEL, _SOURCE, _VERSION = "cprov", "cmodel", "src", "ver"
_C_IN, _C_CR, _C_CW, _C_OUT = "ci", "ccr", "ccw", "co"

_PRICE = "price"  # outcome while the call is being priced
_TEXT_FIELDS = ("provider", "request_model", "response_model", "operation")
_FIELD_KEYS = {
    "provider": _PROVIDER_RAW,
    "request_model": _REQ,
    "response_model": _RESP,
    "operation": _OP,
    "input_tokens": _IN,
    "output_tokens": _OUT,
    "cache_read": _CR,
    "cache_write": _CW,
    "reasoning": _RS,
    "cost_currency": _COST_CUR,
}


# --- the compiler ---------------------------------------------------------------------------------------------


@dataclass
class _Target:
    """One (asked provider, catalog model) the statements match, with its record or marker."""

    provider: str
    owner: str
    info: Any
    selected: bool
    items: dict[str, Any] | None = None  # the record map (None: not expressible)


@dataclass
class _Compiler:
    book: PriceBook
    when: float
    model_globs: tuple[str, ...]
    provider_filter: frozenset[str] | None
    statements: list[str] = field(default_factory=list)
    unexpressible: list[Unexpressible] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    compiled: int = 0
    compiled_providers: list[str] = field(default_factory=list)
    max_tiers: int = 0

    def emit(self, statement: str, where: str = "") -> None:
        self.statements.append(f"{statement} where {where}" if where else statement)

    def miss(self, provider: str, model: str, reason: str, detail: str) -> None:
        self.unexpressible.append(Unexpressible(provider, model, reason, detail))

    # -- 1. dialects ------------------------------------------------------------------------------------------
    def dialects(self) -> None:
        table = dialect_table.DIALECTS
        for dialect in table:
            markers = list(dialect.markers)
            keys = [k for name in (*_FIELD_KEYS, "cost") for k in getattr(dialect, name)]
            markers += [k for k in keys if dialect.marker_prefixes and k.startswith(dialect.marker_prefixes)]
            if not markers:  # the fallback row: any of its own keys
                markers = keys
            self.emit(
                f"set({_c(_DIALECT)}, {_q(dialect.name)})",
                _all(
                    f"{_a(attr.TOKENOMICS_COST_STATUS)} == nil",
                    f"{_c(_DIALECT)} == nil",
                    _any(f"{_a(k)} != nil" for k in dict.fromkeys(markers)),
                ),
            )
        for name, cache_key in _FIELD_KEYS.items():
            self._extract(name, cache_key, text=name in _TEXT_FIELDS or name == "cost_currency")
        # the upstream cost: remember which key carried it (tokenomics.cost.reported_by)
        for keys, names in _groups(table, "cost"):
            for key in keys:
                self.emit(
                    f"set({_c(_COST_KEY)}, {_q(key)})",
                    _all(_one_of(_c(_DIALECT), names), f"{_c(_COST_KEY)} == nil", f"{_a(key)} != nil"),
                )
                self.emit(f"set({_c(_COST)}, {_a(key)})", _all(f"{_c(_COST_KEY)} == {_q(key)}", f"{_c(_COST)} == nil"))

    def _extract(self, name: str, cache_key: str, *, text: bool) -> None:
        for keys, names in _groups(dialect_table.DIALECTS, name):
            for key in keys:
                present = f"IsString({_a(key)}) and {_a(key)} != \"\"" if text else f"{_a(key)} != nil"
                self.emit(
                    f"set({_c(cache_key)}, {_a(key)})",
                    _all(_one_of(_c(_DIALECT), names), f"{_c(cache_key)} == nil", present),
                )

    # -- 2. call or aggregate, provider name, usage -------------------------------------------------------------
    def normalize(self) -> None:
        for key in (_PROVIDER_RAW, _REQ, _RESP, _OP):
            self.emit(f'replace_pattern({_c(key)}, "^\\\\s+|\\\\s+$", "")', f"{_c(key)} != nil")
            self.emit(f'delete_key(span.cache, {_q(key)})', f'{_c(key)} == ""')
        self.emit(f'set({_c(_OP)}, ConvertCase({_c(_OP)}, "lower"))', f"{_c(_OP)} != nil")
        self.emit(f"set({_c(_CALL)}, true)", _one_of(_c(_OP), sorted(dialect_table.LLM_OPERATIONS)))
        for markers, names in _groups(dialect_table.DIALECTS, "aggregate_markers"):
            no_aggregate = f"not {_any(f'{_a(k)} != nil' for k in markers)}" if markers else ""
            self.emit(f"set({_c(_CALL)}, true)", _all(_one_of(_c(_DIALECT), names), f"{_c(_OP)} == nil", no_aggregate))
        self._provider_name()
        self._usage()

    def _provider_name(self) -> None:
        """`canonical_provider`: aliases, then an unknown `head.rest` name falls back to its head."""
        call = f"{_c(_CALL)} == true"
        self.emit(f'set({_c(_PROVIDER_LOWER)}, ConvertCase({_c(_PROVIDER_RAW)}, "lower"))',
                  _all(call, f"{_c(_PROVIDER_RAW)} != nil"))
        aliases = _inverse(dialect_table.PROVIDER_ALIASES)
        for target, names in aliases.items():
            self.emit(f"set({_c(_PROVIDER)}, {_q(target)})", _all(call, _one_of(_c(_PROVIDER_LOWER), names)))
        self.emit(
            f"set({_c(_PROVIDER)}, {_c(_PROVIDER_LOWER)})",
            _all(f"{_c(_PROVIDER)} == nil", f"{_c(_PROVIDER_LOWER)} != nil",
                 f'(not IsMatch({_c(_PROVIDER_LOWER)}, "\\\\.") or '
                 f'IsMatch({_c(_PROVIDER_LOWER)}, "^(azure|aws|gcp|ibm)\\\\."))'),
        )
        self.emit(f"set({_c(_PROVIDER_HEAD)}, {_c(_PROVIDER_LOWER)})",
                  _all(f"{_c(_PROVIDER)} == nil", f"{_c(_PROVIDER_LOWER)} != nil"))
        self.emit(f'replace_pattern({_c(_PROVIDER_HEAD)}, "\\\\..*$", "")', f"{_c(_PROVIDER_HEAD)} != nil")
        for target, names in aliases.items():
            self.emit(f"set({_c(_PROVIDER)}, {_q(target)})",
                      _all(f"{_c(_PROVIDER)} == nil", _one_of(_c(_PROVIDER_HEAD), names)))
        self.emit(f"set({_c(_PROVIDER)}, {_c(_PROVIDER_HEAD)})",
                  _all(f"{_c(_PROVIDER)} == nil", f"{_c(_PROVIDER_HEAD)} != nil"))

    def _usage(self) -> None:
        call = f"{_c(_CALL)} == true"
        for key in _COUNTS:
            value = _c(key)
            self.emit(
                f"set({_c(_BAD)}, true)",
                _all(call, f"{value} != nil", f"(IsBool({value}) or Int({value}) == nil or Int({value}) < 0 or "
                     f"Int({value}) > {_MAX_TOKENS} or Double({value}) != Double(Int({value})))"),
            )
        self.emit(f"set({_c(_USAGE)}, true)",
                  _all(call, f"{_c(_BAD)} == nil", _any(f"{_c(k)} != nil" for k in _COUNTS)))
        for key in _COUNTS:
            self.emit(f"set({_c(key)}, Int({_c(key)}))", _all(f"{_c(_USAGE)} == true", f"{_c(key)} != nil"))
            self.emit(f"set({_c(key)}, 0)", _all(call, f"{_c(_BAD)} == nil", f"{_c(key)} == nil"))
        usage = f"{_c(_USAGE)} == true"
        for dialect in dialect_table.DIALECTS:  # counts whose input excludes cache reads/writes
            exclusive = "" if not dialect.input_includes_cache else (
                _one_of(_c(_PROVIDER), sorted(dialect.exclusive_input_providers))
                if dialect.exclusive_input_providers else None
            )
            if exclusive is not None:
                self.emit(f"set({_c(_IN)}, {_c(_IN)} + {_c(_CR)} + {_c(_CW)})",
                          _all(usage, f"{_c(_DIALECT)} == {_q(dialect.name)}", exclusive))
            if not dialect.reasoning_in_output:
                self.emit(f"set({_c(_OUT)}, {_c(_OUT)} + {_c(_RS)})",
                          _all(usage, f"{_c(_DIALECT)} == {_q(dialect.name)}"))
        self.emit(f"set({_c(_IN)}, {_c(_CR)} + {_c(_CW)})", _all(usage, f"{_c(_IN)} < {_c(_CR)} + {_c(_CW)}"))
        self.emit(f"set({_c(_OUT)}, {_c(_RS)})", _all(usage, f"{_c(_OUT)} < {_c(_RS)}"))
        self.emit(f"set({_c(_UNC)}, {_c(_IN)} - {_c(_CR)} - {_c(_CW)})", _all(call, f"{_c(_BAD)} == nil"))

    # -- 3. outcome before pricing -----------------------------------------------------------------------------
    def outcome(self) -> None:
        call = f"{_c(_CALL)} == true"
        cost = _c(_COST)
        self.emit(f"set({_c(_REPORTED)}, Double({cost}))", _all(call, f"{cost} != nil", f"not IsBool({cost})"))
        reported = _c(_REPORTED)
        self.emit(f'delete_key(span.cache, "{_REPORTED}")',
                  _all(f"{reported} != nil", f"({reported} < 0.0 or {reported} > 1000000000.0)"))
        zero_miss = [d.name for d in dialect_table.DIALECTS if d.zero_cost_is_miss]
        if zero_miss:
            self.emit(f'delete_key(span.cache, "{_REPORTED}")',
                      _all(f"{reported} == 0.0", _one_of(_c(_DIALECT), zero_miss)))
        self.emit(f'set({_c(_OUTCOME)}, "provider_cost")', f"{reported} != nil")
        self.emit(f"set({_c(_WHY)}, {_q(UnpricedReason.INVALID_USAGE)})",
                  _all(call, f"{_c(_OUTCOME)} == nil", f"{_c(_BAD)} == true"))
        self.emit(f"set({_c(_OUTCOME)}, {_q(CostStatus.UNPRICED)})",
                  _all(call, f"{_c(_OUTCOME)} == nil", f"{_c(_BAD)} == true"))
        self.emit(
            f'set({_c(_OUTCOME)}, "skipped")',
            _all(call, f"{_c(_OUTCOME)} == nil", f"{_c(_USAGE)} == nil",
                 f"({_a(attr.ERROR_TYPE)} != nil or ({_c(_OP)} == nil and {_c(_REQ)} == nil and "
                 f"{_c(_RESP)} == nil))"),
        )
        self.emit(f"set({_c(_OUTCOME)}, {_q(_PRICE)})", _all(call, f"{_c(_OUTCOME)} == nil"))

    # -- 4. model candidates and catalog provider -----------------------------------------------------------------
    def candidates(self) -> None:
        pricing = f"{_c(_OUTCOME)} == {_q(_PRICE)}"
        for text_key, source in ((_M1_TEXT, _RESP), (_M2_TEXT, _REQ)):
            self.emit(f"set({_c(text_key)}, {_c(source)})", _all(pricing, f"{_c(source)} != nil"))
            self.emit(f'replace_pattern({_c(text_key)}, "^(?i:models/)", "")', f"{_c(text_key)} != nil")
            self.emit(f'delete_key(span.cache, {_q(text_key)})', f'{_c(text_key)} == ""')
        for lower, text_key in ((_M1, _M1_TEXT), (_M2, _M2_TEXT)):
            self.emit(f'set({_c(lower)}, ConvertCase({_c(text_key)}, "lower"))', f"{_c(text_key)} != nil")
        self.emit(f'delete_key(span.cache, {_q(_M2_TEXT)})', f"{_c(_M2)} == {_c(_M1)}")
        self.emit(f'delete_key(span.cache, {_q(_M2)})', f"{_c(_M2)} == {_c(_M1)}")
        self.emit(f"set({_c(_WHY)}, {_q(UnpricedReason.NO_MODEL)})",
                  _all(pricing, f"{_c(_M1)} == nil", f"{_c(_M2)} == nil"))

    def catalog_provider(self, providers: list[Any]) -> None:
        pricing = _all(f"{_c(_OUTCOME)} == {_q(_PRICE)}", f"{_c(_WHY)} == nil")
        provider = _c(_PROVIDER)
        for target, names in _inverse({k: v or "" for k, v in OTEL_TO_CATALOG.items()}).items():
            self.emit(f"set({_c(_CATALOG_PROVIDER)}, {_q(target)})", _all(pricing, _one_of(provider, names)))
        ids = [p.id for p in providers if p.id not in OTEL_TO_CATALOG]
        self.emit(f"set({_c(_CATALOG_PROVIDER)}, {provider})",
                  _all(pricing, f"{_c(_CATALOG_PROVIDER)} == nil", _one_of(provider, ids)))
        # No provider, or one nobody knows: the vendor whose model names match (gpt-* → openai, ...).
        for candidate in (_M1, _M2):
            for vendor in providers:
                if vendor.model_match is None:
                    continue
                try:
                    condition = _clause_condition(vendor.model_match, _c(candidate))
                except _NotRe2 as error:
                    if candidate == _M1:
                        self.miss(vendor.id, "*", "regex_unsupported", f"routing by model name ({error})")
                    continue
                self.emit(f"set({_c(_CATALOG_PROVIDER)}, {_q(vendor.id)})",
                          _all(pricing, f"{_c(_CATALOG_PROVIDER)} == nil", condition))

    # -- 5. catalog models --------------------------------------------------------------------------------------
    def catalog_models(self, providers: list[Any]) -> None:
        by_id = {p.id: p for p in providers}
        for asked in providers:
            if self.provider_filter is not None and asked.id not in self.provider_filter:
                continue
            sequence = [(asked, model) for model in asked.models]
            for fallback in asked.fallback_model_providers or ():
                if fallback in by_id:
                    sequence += [(by_id[fallback], model) for model in by_id[fallback].models]
            targets = [
                _Target(asked.id, owner.id, info, self._selected(info.id)) for owner, info in sequence
            ]
            if not any(t.selected for t in targets):
                continue
            self.compiled_providers.append(asked.id)
            for target in targets:
                if target.selected:
                    target.items = self._record_items(asked, target)
            for candidate in (_M1, _M2):
                self._match_block(asked.id, targets, candidate)

    def _selected(self, model_id: str) -> bool:
        if not self.model_globs:
            return True
        lowered = model_id.lower()
        return any(fnmatch.fnmatchcase(lowered, glob.lower()) for glob in self.model_globs)

    def _match_block(self, provider_id: str, targets: list[_Target], candidate: str) -> None:
        base = _all(f"{_c(_OUTCOME)} == {_q(_PRICE)}", f"{_c(_CATALOG_PROVIDER)} == {_q(provider_id)}",
                    f"{_c(_RECORD)} == nil")
        excluded: list[str] = []

        def flush() -> None:
            if excluded:
                self.emit(f"set({_c(_RECORD)}, {_map({'status': 'excluded'})})",
                          _all(base, _any(excluded)))
                excluded.clear()

        for target in targets:
            try:
                condition = _clause_condition(target.info.match, _c(candidate))
            except _NotRe2 as error:
                if target.selected and candidate == _M1:
                    self.miss(provider_id, target.info.id, "regex_unsupported",
                              f"match rule not expressible in RE2 ({error}); such spans are not priced by it")
                continue
            if not target.selected:
                excluded.append(condition)
                continue
            if target.items is None:
                continue
            flush()
            self.emit(f"set({_c(_RECORD)}, {_map(target.items)})", _all(base, condition))
            if candidate == _M1:
                self.compiled += 1
        flush()

    def _record_items(self, asked: Any, target: _Target) -> dict[str, Any] | None:
        catalog = self.book._catalog
        assert catalog is not None
        info = target.info
        found, _window = catalog.record(CatalogMatch(asked, info), self.when, None)
        label = (asked.id, info.id if target.owner == asked.id else f"{target.owner}:{info.id}")
        if isinstance(found, NotTokenPriced):
            return {"model": info.id, "status": CostStatus.UNPRICED, "why": UnpricedReason.UNKNOWN_MODEL}
        self._note_time(label, info, found)
        if info.price_variants and target.owner == asked.id:
            self.miss(*label, "price_variants",
                      "service-tier/batch/fast variants not compiled: every call priced at the standard rates")
        record = self._in_report_currency(found, label)
        if record is None:
            return None
        return _record_map(record, info.id, self)

    def _note_time(self, label: tuple[str, str], info: Any, record: PriceRecord) -> None:
        conditional = info.prices if isinstance(info.prices, list) else []
        if any(type(c.constraint).__name__ == "TimeOfDateConstraint" for c in conditional):
            self.miss(*label, "time_of_day_price",
                      f"daily price windows not compiled: the price in effect at {_iso(self.when)} is used "
                      "at every hour")
        elif math.isfinite(record.valid_from) or math.isfinite(record.valid_until):
            self.miss(*label, "price_window", f"price effective {_span(record.valid_from, record.valid_until)} "
                      "is used for every span (regenerate when it changes)")

    def _in_report_currency(self, record: PriceRecord, label: tuple[str, str]) -> PriceRecord | None:
        currency = self.book.currency
        if record.free or record.currency == currency:
            return record
        factor = self.book._rates.factor(record.currency, currency, self.when)
        if factor is None:
            self.miss(*label, "currency", f"no exchange rate {record.currency}->{currency} at {_iso(self.when)}")
            return None
        note = f"{record.currency} prices converted to {currency} at the rate effective {_iso(self.when)}"
        if note not in self.notes:
            self.notes.append(note)
        return record.scaled(factor).with_provenance(currency=currency)

    # -- 6. price sheets (before the catalog in PriceBook; here after it, because `multiplier` needs it) ------------
    def sheets(self) -> None:
        pricing = _all(f"{_c(_OUTCOME)} == {_q(_PRICE)}", f"{_c(_WHY)} == nil", f"{_c(_SHEET)} == nil")
        for number, candidate in ((1, _M1), (2, _M2)):
            for sheet in self.book.sheets:
                for entry in sheet.entries:
                    label = (sheet.source, f"models[{entry.index}] {entry.pattern}")
                    if entry.server_host is not None:
                        if number == 1:
                            self.miss(*label, "sheet_server_address",
                                      "entries selected by server.address are not compiled")
                        continue
                    if not entry.active(self.when):
                        if number == 1:
                            self.miss(*label, "price_window", f"not in effect at {_iso(self.when)}: left out")
                        continue
                    if number == 1 and (math.isfinite(entry.valid_from) or math.isfinite(entry.valid_until)):
                        self.miss(*label, "price_window",
                                  f"in effect {_span(entry.valid_from, entry.valid_until)}; used for every span")
                    self._sheet_entry(sheet, entry, number, candidate, pricing, label)

    def _sheet_entry(self, sheet: Any, entry: Any, number: int, candidate: str, pricing: str,
                     label: tuple[str, str]) -> None:
        conditions = [pricing, f"{_c(candidate)} != nil"]
        if entry.providers is not None:
            conditions.append(_one_of(_c(_PROVIDER), sorted(entry.providers)))
        if entry.model_patterns:
            try:
                conditions.append(_any(
                    _regex_condition(_c(candidate), p.pattern, "(?i)" if p.flags & re.IGNORECASE else "")
                    for p in entry.model_patterns
                ))
            except _NotRe2 as error:
                if number == 1:
                    self.miss(*label, "regex_unsupported", f"model selector not expressible in RE2 ({error})")
                return
        provenance = {"src": sheet.source, "ver": sheet.version, "cand": number}
        if entry.multiplier is not None:
            items: dict[str, Any] = {"mult": entry.multiplier, **provenance}
            conditions.append(f"({_ci(_RECORD, 'status')} == {_q(CostStatus.PRICED)} or "
                              f"{_ci(_RECORD, 'status')} == \"excluded\")")
        else:
            record = PriceRecord(provider=None, model=None, source=sheet.source, source_version=sheet.version,
                                 currency=self.book.currency if entry.free else entry.currency,
                                 free=entry.free, **({} if entry.free else dict(entry.rates)))
            converted = self._in_report_currency(record, label)
            if converted is None:
                return
            items = {**_record_map(converted, None, self), **provenance}
        self.emit(f"set({_c(_SHEET)}, {_map(items)})", _all(*conditions))

    # -- 7. resolve, price, write ---------------------------------------------------------------------------------
    def resolve(self) -> None:
        pricing = f"{_c(_OUTCOME)} == {_q(_PRICE)}"
        sheet, record = _c(_SHEET), _c(_RECORD)
        absolute = _all(f"{sheet} != nil", f"{_ci(_SHEET, 'mult')} == nil")
        self.emit(f"set({record}, {sheet})", absolute)
        self.emit(f"set({_c(_COST_MODEL)}, {_c(_M1_TEXT)})", _all(absolute, f"{_ci(_SHEET, 'cand')} == 1"))
        self.emit(f"set({_c(_COST_MODEL)}, {_c(_M2_TEXT)})", _all(absolute, f"{_ci(_SHEET, 'cand')} == 2"))
        self.emit(f"set({_c(_COST_PROVIDER)}, {_c(_PROVIDER)})", absolute)
        self.emit(f"set({_c(_SOURCE)}, {_ci(_SHEET, 'src')})", f"{sheet} != nil")
        self.emit(f"set({_c(_VERSION)}, {_ci(_SHEET, 'ver')})", f"{sheet} != nil")
        catalog = _all(pricing, f"{record} != nil", f"{_c(_COST_MODEL)} == nil")
        self.emit(f"set({_c(_COST_PROVIDER)}, {_c(_CATALOG_PROVIDER)})", catalog)
        self.emit(f"set({_c(_COST_MODEL)}, {_ci(_RECORD, 'model')})", catalog)
        self.emit(f"set({_c(_SOURCE)}, {_q(CATALOG_SOURCE)})", _all(pricing, f"{_c(_SOURCE)} == nil"))
        self.emit(f"set({_c(_VERSION)}, {_q(self.book.catalog_version or 'unknown')})",
                  _all(pricing, f"{_c(_VERSION)} == nil"))
        undecided = _all(pricing, f"{_c(_WHY)} == nil")
        self.emit(f"set({_c(_WHY)}, {_ci(_RECORD, 'why')})", _all(undecided, f"{_ci(_RECORD, 'why')} != nil"))
        self.emit(f"set({_c(_WHY)}, {_q(MODEL_NOT_IN_CONFIG)})",
                  _all(undecided, f"{_ci(_RECORD, 'status')} == \"excluded\""))
        no_provider = f"({_c(_CATALOG_PROVIDER)} == nil or {_c(_CATALOG_PROVIDER)} == \"\")"
        self.emit(f"set({_c(_WHY)}, {_q(UnpricedReason.UNKNOWN_PROVIDER)})",
                  _all(undecided, f"{record} == nil", no_provider))
        if self.compiled_providers:
            self.emit(f"set({_c(_WHY)}, {_q(PROVIDER_NOT_IN_CONFIG)})",
                      _all(undecided, f"{record} == nil",
                           f"not {_one_of(_c(_CATALOG_PROVIDER), self.compiled_providers)}"))
        self.emit(f"set({_c(_WHY)}, {_q(UnpricedReason.UNKNOWN_MODEL)})", _all(undecided, f"{record} == nil"))
        self.emit(f"set({_c(_WHY)}, {_q(UnpricedReason.NO_USAGE)})",
                  _all(undecided, f"{_c(_IN)} == 0", f"{_c(_OUT)} == 0"))
        self.emit(f"set({_c(_OUTCOME)}, {_q(CostStatus.UNPRICED)})", _all(pricing, f"{_c(_WHY)} != nil"))

    def price(self) -> None:
        pricing = f"{_c(_OUTCOME)} == {_q(_PRICE)}"
        rates, record = _c(_RATES), _c(_RECORD)
        for tier in range(self.max_tiers, 0, -1):  # highest threshold first: the first one exceeded applies
            start = _ci(_RECORD, f"t{tier}")
            self.emit(f"set({rates}, {_ci(_RECORD, f't{tier}r')})",
                      _all(pricing, f"{rates} == nil", f"{start} != nil", f"{_c(_IN)} > {start}"))
        self.emit(f"set({rates}, {record})", _all(pricing, f"{rates} == nil"))

        def rate(name: str) -> str:
            return _ci(_RATES, name)

        def tokens(expression: str) -> str:
            return f"Double({expression})"

        self.emit(f"set({_c(_C_IN)}, {tokens(_c(_UNC))} * {rate('in')})", pricing)
        self.emit(f"set({_c(_C_IN)}, {_c(_C_IN)} + {rate('fee')})", _all(pricing, f"{rate('fee')} != nil"))
        self.emit(f"set({_c(_C_CR)}, {tokens(_c(_CR))} * {rate('cr')})", pricing)
        self.emit(f"set({_c(_C_CW)}, {tokens(_c(_CW))} * {rate('cw')})", pricing)
        self.emit(f"set({_c(_C_OUT)}, {tokens(f'{_c(_OUT)} - {_c(_RS)}')} * {rate('out')} + "
                  f"{tokens(_c(_RS))} * {rate('or')})", pricing)
        multiplier = _ci(_SHEET, "mult")
        for part in (_C_IN, _C_CR, _C_CW, _C_OUT):
            self.emit(f"set({_c(part)}, {_c(part)} * {multiplier})", _all(pricing, f"{multiplier} != nil"))

    def write(self) -> None:
        outcome = _c(_OUTCOME)
        priced = f"{outcome} == {_q(_PRICE)}"
        reported = f"{outcome} == \"provider_cost\""
        unpriced = f"{outcome} == {_q(CostStatus.UNPRICED)}"
        any_verdict = _any((priced, reported, unpriced))

        def put(key: str, value: str, where: str, only_if_absent: bool = True) -> None:
            self.emit(f"set({_a(key)}, {value})", _all(where, f"{_a(key)} == nil" if only_if_absent else ""))

        usage = _all(any_verdict, f"{_c(_USAGE)} == true")
        put(attr.GEN_AI_USAGE_INPUT_TOKENS, _c(_IN), usage)
        put(attr.GEN_AI_USAGE_OUTPUT_TOKENS, _c(_OUT), usage)
        put(attr.TOKENOMICS_USAGE_INPUT_UNCACHED_TOKENS, _c(_UNC), usage)
        put(attr.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS, _c(_CR), _all(usage, f"{_c(_CR)} > 0"))
        put(attr.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS, _c(_CW), _all(usage, f"{_c(_CW)} > 0"))
        put(attr.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS, _c(_RS), _all(usage, f"{_c(_RS)} > 0"))

        put(attr.TOKENOMICS_COST_STATUS, _ci(_RATES, "status"), priced)
        put(attr.GEN_AI_USAGE_COST_AMOUNT, f"{_c(_C_IN)} + {_c(_C_CR)} + {_c(_C_CW)} + {_c(_C_OUT)}", priced)
        put(attr.GEN_AI_USAGE_COST_CURRENCY, _q(self.book.currency), priced)
        put(attr.GEN_AI_USAGE_COST_SOURCE, _q(CostSource.LOCAL), priced)
        for key, part in ((attr.TOKENOMICS_COST_INPUT, _C_IN), (attr.TOKENOMICS_COST_CACHE_READ, _C_CR),
                          (attr.TOKENOMICS_COST_CACHE_WRITE, _C_CW), (attr.TOKENOMICS_COST_OUTPUT, _C_OUT)):
            put(key, _c(part), priced)
        put(attr.TOKENOMICS_COST_PROVIDER, _c(_COST_PROVIDER), _all(priced, f"{_c(_COST_PROVIDER)} != nil"))
        put(attr.TOKENOMICS_COST_MODEL, _c(_COST_MODEL), _all(priced, f"{_c(_COST_MODEL)} != nil"))
        put(attr.TOKENOMICS_PRICE_SOURCE, _c(_SOURCE), priced)
        put(attr.TOKENOMICS_PRICE_VERSION, _c(_VERSION), priced)

        put(attr.TOKENOMICS_COST_STATUS, _q(CostStatus.PRICED), reported)
        put(attr.GEN_AI_USAGE_COST_AMOUNT, _c(_REPORTED), reported)
        self.emit(f'set({_c(_COST_CUR)}, ConvertCase({_c(_COST_CUR)}, "upper"))',
                  _all(reported, f"{_c(_COST_CUR)} != nil"))
        put(attr.GEN_AI_USAGE_COST_CURRENCY, _c(_COST_CUR), _all(reported, f"{_c(_COST_CUR)} != nil"))
        put(attr.GEN_AI_USAGE_COST_CURRENCY, '"USD"', reported)
        put(attr.GEN_AI_USAGE_COST_SOURCE, _q(CostSource.PROVIDER), reported)
        put(attr.TOKENOMICS_PRICE_SOURCE, _q(CostSource.PROVIDER), reported)
        put(attr.TOKENOMICS_COST_REPORTED_BY, _c(_COST_KEY), reported)

        put(attr.TOKENOMICS_COST_STATUS, _q(CostStatus.UNPRICED), unpriced)
        put(attr.TOKENOMICS_COST_UNPRICED_REASON, _c(_WHY), unpriced)
        put(attr.TOKENOMICS_PROCESSOR_DIALECT, _c(_DIALECT), any_verdict)


def _record_map(record: PriceRecord, model_id: str | None, compiler: _Compiler) -> dict[str, Any]:
    """The per-token rates of a record (fallbacks of `record.py` applied) as an OTTL map literal's items."""
    items: dict[str, Any] = {} if model_id is None else {"model": model_id}
    if record.free:
        return {**items, "status": CostStatus.FREE, **dict.fromkeys(("in", "cr", "cw", "out", "or"), Decimal(0))}
    items["status"] = CostStatus.PRICED
    items.update(_rates(record.rates()))
    if record.per_request is not None and record.per_request != 0:
        items["fee"] = record.per_request
    current = record.rates()
    for number, tier in enumerate(sorted(record.tiers, key=lambda t: t.start), start=1):
        current = {**current, **tier.rates}
        items[f"t{number}"] = tier.start
        tier_items: dict[str, Any] = {"status": CostStatus.PRICED, **_rates(current)}
        if "fee" in items:
            tier_items["fee"] = items["fee"]
        items[f"t{number}r"] = tier_items
        compiler.max_tiers = max(compiler.max_tiers, number)
    return items


def _rates(rates: dict[str, Decimal]) -> dict[str, Decimal]:
    """Per-token rates from per-million rates, with `record.py`'s fallbacks (cache at the input rate, ...)."""
    zero = Decimal(0)
    inp = rates.get("input", zero)
    out = rates.get("output", zero)
    per_token = {
        "in": inp,
        "cr": rates.get("cache_read", inp),
        "cw": rates.get("cache_write", inp),
        "out": out,
        "or": rates.get("output_reasoning", out),
    }
    return {k: v.scaleb(-6) for k, v in per_token.items()}


def _groups(table: Sequence[Any], name: str) -> list[tuple[tuple[str, ...], list[str]]]:
    """Dialects sharing the same key list for field `name`, in table order (one statement set per group)."""
    groups: dict[tuple[str, ...], list[str]] = {}
    for dialect in table:
        groups.setdefault(tuple(getattr(dialect, name)), []).append(dialect.name)
    return list(groups.items())


def _inverse(mapping: Any) -> dict[str, list[str]]:
    result: dict[str, list[str]] = {}
    for key, value in mapping.items():
        result.setdefault(value, []).append(key)
    return result


def _iso(when: float) -> str:
    return datetime.fromtimestamp(when, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _span(start: float, end: float) -> str:
    left = _iso(start) if math.isfinite(start) else "always"
    right = _iso(end) if math.isfinite(end) else "open-ended"
    return f"from {left} until {right}"


_GLOBAL_NOTES = (
    "prices are those in effect at generation time; spans are priced with them whatever their start time",
    "the catalog provider is taken from gen_ai.provider.name (or the model name when absent/unknown), "
    "never from server.address",
    "with no provider, only the provider routed from the first model candidate is searched",
    "compact dated model names (gpt-5.2-20251211) are not retried in dashed form",
    "dialects are detected by their marker keys; prefix-only markers are compiled as the table's own keys",
    "token counts: a float like 12.5 is truncated, a string with spaces is invalid (Python strips it)",
    "service-tier, batch and 1-hour cache-write prices are not compiled: standard rates apply",
)


def compile_price_book(
    book: PriceBook,
    *,
    models: Sequence[str] = (),
    providers: Sequence[str] = (),
    when: float | None = None,
) -> OttlProgram:
    """OTTL statements pricing spans as `book` would at `when` (default now).

    `models`: catalog model ids to compile, as case-insensitive globs (default: every model); `providers`:
    catalog ids or OTel `gen_ai.provider.name` values to compile (default: all). Calls to the others become
    `unpriced` with `model_not_in_config` / `provider_not_in_config`, never a 0 or a wrong model's price.
    """
    if when is None:
        when = time.time()
    provider_filter: frozenset[str] | None = None
    catalog = book._catalog
    catalog_providers = list(catalog.snapshot().providers) if catalog is not None else []
    if providers:
        ids = {p.id for p in catalog_providers}
        chosen = set()
        for name in providers:
            mapped = catalog_provider_id(name, frozenset(ids))
            if not isinstance(mapped, str):
                raise ValueError(f"provider {name!r}: not a catalog provider id or a known OTel provider name")
            chosen.add(mapped)
        provider_filter = frozenset(chosen)
    compiler = _Compiler(book, when, tuple(models), provider_filter)
    compiler.dialects()
    compiler.normalize()
    compiler.outcome()
    compiler.candidates()
    compiler.catalog_provider(catalog_providers)
    compiler.catalog_models(catalog_providers)
    compiler.sheets()
    compiler.resolve()
    compiler.price()
    compiler.write()
    if models and not compiler.compiled and not book.sheets:
        raise ValueError(f"no catalog model matches {', '.join(models)}")
    return OttlProgram(
        statements=tuple(compiler.statements),
        unexpressible=tuple(compiler.unexpressible),
        notes=(*_GLOBAL_NOTES, *compiler.notes),
        compiled_models=compiler.compiled,
        providers=tuple(compiler.compiled_providers),
        when=when,
        currency=book.currency,
        catalog_version=book.catalog_version,
    )
