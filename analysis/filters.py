"""Which LLM calls a report counts: time range, service, provider, model and attribute=value filters.

One `SpanFilter` serves every consumer of span records (`report`, `focus`), so `--since 24h --model gpt-4o`
means the same thing everywhere. Filters apply to LLM calls, not to the spans around them: a trace's root
name and duration still come from all of its spans, but only the calls that match are summed.

Matching rules, chosen so a filter never silently drops what a user meant to keep:

* `--since`/`--until` compare the call's start time (UTC): `since <= start < until`. They accept an ISO date
  (`2025-11-23`, midnight UTC), an ISO date-time (`2025-11-23T14:00`, `...Z`, `...+02:00`; naive = UTC), or a
  duration back from now (`90s`, `30m`, `24h`, `7d`, `2w`).
* `--service` matches the resource's `service.name`; `--provider` matches `gen_ai.provider.name` (or the
  deprecated `gen_ai.system`); `--model` matches the response model or the request model. Each may be given
  several times (any of them matches); comparisons are exact but case-insensitive, and `*` globs are allowed.
* `--where KEY=VALUE` (repeatable; all must match) compares the span attribute KEY, or else the resource
  attribute KEY, as text: `--where user.id=alice --where deployment.environment.name=prod`.

Usage from a subcommand::

    add_filter_arguments(parser)            # in register()
    span_filter = SpanFilter.from_args(args)  # in run(); raises ValueError with a message naming the option
    if span_filter.matches(record): ...
"""

from __future__ import annotations

import argparse
import fnmatch
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from otel_tokenomics.analysis.otlp_reader import SpanRecord
from otel_tokenomics.semconv.attributes import (
    GEN_AI_PROVIDER_NAME,
    GEN_AI_REQUEST_MODEL,
    GEN_AI_RESPONSE_MODEL,
    GEN_AI_SYSTEM,
)

__all__ = ["SpanFilter", "add_filter_arguments", "parse_time", "parse_where"]

_SERVICE_NAME = "service.name"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_time(text: str, *, now: float | None = None) -> int:
    """Nanoseconds since the epoch for `text` (ISO date, ISO date-time, or a duration back from `now`).

    Raises ValueError with the accepted forms, so the CLI can print it as is.
    """
    relative = _DURATION.match(text)
    if relative:
        seconds = float(relative.group(1)) * _UNIT_SECONDS[relative.group(2).lower()]
        base = time.time() if now is None else now
        return int((base - seconds) * 1e9)
    cleaned = text.strip()
    try:
        if len(cleaned) == 10:
            moment = datetime.combine(date.fromisoformat(cleaned), datetime.min.time(), UTC)
        else:
            moment = datetime.fromisoformat(cleaned.replace("z", "Z").replace("Z", "+00:00"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
    except ValueError:
        raise ValueError(
            f"cannot read {text!r} as a time: expected an ISO date (2025-11-23), an ISO date-time "
            "(2025-11-23T14:00:00Z) or a duration back from now (30m, 24h, 7d)"
        ) from None
    # Integer arithmetic keeps microseconds exact (a float of ~1.7e18 ns cannot).
    whole = int(moment.replace(microsecond=0).timestamp())
    return whole * 1_000_000_000 + moment.microsecond * 1000


def _matcher(patterns: Sequence[str]) -> tuple[frozenset[str], tuple[re.Pattern[str], ...]]:
    """Split patterns into exact (lowercased) names and compiled globs."""
    exact = frozenset(p.lower() for p in patterns if not any(ch in p for ch in "*?["))
    globs = tuple(re.compile(fnmatch.translate(p.lower())) for p in patterns if any(ch in p for ch in "*?["))
    return exact, globs


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass(frozen=True)
class SpanFilter:
    """Conditions on one LLM call; an empty filter matches everything (`bool(SpanFilter())` is False).

    Times are nanoseconds since the epoch (`until` exclusive). Name lists match any of their entries; all
    `where` pairs must match.
    """

    since_ns: int | None = None
    until_ns: int | None = None
    services: tuple[str, ...] = ()
    providers: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    where: tuple[tuple[str, str], ...] = ()
    _compiled: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Compile once: `matches` runs for every LLM call of a multi-gigabyte file.
        for name in ("services", "providers", "models"):
            self._compiled[name] = _matcher(getattr(self, name))

    def __bool__(self) -> bool:
        return bool(
            self.since_ns is not None
            or self.until_ns is not None
            or self.services
            or self.providers
            or self.models
            or self.where
        )

    @classmethod
    def from_args(cls, args: argparse.Namespace, *, now: float | None = None) -> SpanFilter:
        """Build from the options `add_filter_arguments` defines; ValueError names the bad option."""
        since = until = None
        if getattr(args, "since", None):
            since = _option_time("--since", args.since, now)
        if getattr(args, "until", None):
            until = _option_time("--until", args.until, now)
        if since is not None and until is not None and since >= until:
            raise ValueError(f"--since {args.since} is not before --until {args.until}")
        return cls(
            since_ns=since,
            until_ns=until,
            services=tuple(getattr(args, "service", None) or ()),
            providers=tuple(getattr(args, "provider", None) or ()),
            models=tuple(getattr(args, "model", None) or ()),
            where=tuple(parse_where(item) for item in getattr(args, "where", None) or ()),
        )

    # --- matching ---------------------------------------------------------------------------------------
    def _names_match(self, name: str, values: Iterable[Any]) -> bool:
        exact, globs = self._compiled[name]
        for value in values:
            text = _text(value)
            if text is None:
                continue
            lowered = text.lower()
            if lowered in exact or any(glob.match(lowered) for glob in globs):
                return True
        return False

    def matches(self, record: SpanRecord) -> bool:
        """True when the call `record` passes every condition."""
        if self.since_ns is not None and record.start_ns < self.since_ns:
            return False
        if self.until_ns is not None and record.start_ns >= self.until_ns:
            return False
        attributes = record.attributes
        if self.services and not self._names_match("services", (record.resource.get(_SERVICE_NAME),)):
            return False
        if self.providers and not self._names_match(
            "providers", (attributes.get(GEN_AI_PROVIDER_NAME), attributes.get(GEN_AI_SYSTEM))
        ):
            return False
        if self.models and not self._names_match(
            "models", (attributes.get(GEN_AI_RESPONSE_MODEL), attributes.get(GEN_AI_REQUEST_MODEL))
        ):
            return False
        for key, expected in self.where:
            value = attributes.get(key)
            if value is None:
                value = record.resource.get(key)
            if _text(value) != expected:
                return False
        return True

    __call__ = matches

    def describe(self) -> str:
        """One line for report headers, e.g. `model=gpt-4o, since 2025-11-23T00:00:00Z`."""
        parts = []
        for label, values in (("service", self.services), ("provider", self.providers), ("model", self.models)):
            if values:
                parts.append(f"{label}={'|'.join(values)}")
        parts.extend(f"{key}={value}" for key, value in self.where)
        for label, value in (("since", self.since_ns), ("until", self.until_ns)):
            if value is not None:
                moment = datetime.fromtimestamp(value // 1_000_000_000, UTC)
                parts.append(f"{label} {moment.isoformat().replace('+00:00', 'Z')}")
        return ", ".join(parts)


def parse_where(text: str) -> tuple[str, str]:
    """`KEY=VALUE` → (KEY, VALUE); the value may contain `=`; ValueError when there is no key."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ValueError(f"--where expects KEY=VALUE, got {text!r}")
    return key.strip(), value


def _option_time(option: str, text: str, now: float | None) -> int:
    try:
        return parse_time(text, now=now)
    except ValueError as error:
        raise ValueError(f"{option}: {error}") from None


def add_filter_arguments(parser: argparse.ArgumentParser) -> None:
    """Add `--since/--until/--service/--provider/--model/--where` to a subcommand's parser."""
    group = parser.add_argument_group("filters (applied to LLM calls)")
    group.add_argument("--since", metavar="TIME", help="calls starting at or after TIME (2025-11-23, ISO time, 24h)")
    group.add_argument("--until", metavar="TIME", help="calls starting before TIME (same forms as --since)")
    group.add_argument("--service", action="append", metavar="NAME", help="service.name (repeatable, globs)")
    group.add_argument("--provider", action="append", metavar="NAME", help="gen_ai.provider.name (repeatable)")
    group.add_argument("--model", action="append", metavar="NAME", help="response or request model (repeatable)")
    group.add_argument(
        "--where",
        action="append",
        metavar="KEY=VALUE",
        help="span (or resource) attribute KEY equals VALUE (repeatable; all must match)",
    )
