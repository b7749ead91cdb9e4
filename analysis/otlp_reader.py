"""Streaming reader of OTLP trace JSON files: the Collector `file` exporter's output and its relatives.

Inputs accepted, so that a user can point the report at whatever they have on disk:

* JSON lines, one `ExportTraceServiceRequest` per line (our `JsonLinesSpanExporter`, the Collector `file`
  exporter). Read line by line: a multi-gigabyte file never sits in memory.
* A file holding one OTLP/JSON document, possibly pretty-printed over many lines (an OTLP/HTTP JSON request
  body, `jq .` output). Such a document has to be parsed whole.
* Either of the above gzip-compressed (detected by the magic bytes, not by the file name).
* Directories: every non-hidden file below them, recursively, in sorted path order.

Producers disagree on details, so decoding is lenient where the spec is ambiguous or commonly violated: ids
in lowercase/uppercase hex or base64 (normalised to lowercase hex), 64-bit integers as strings or numbers,
enums as numbers or names, proto field names in snake_case, and the pre-1.0 `instrumentationLibrarySpans`.

Speed: when msgspec is installed (the `report` extra), canonical JSON lines go through a typed decoder
(`analysis.otlp_fast`, about 5x faster); anything unusual falls back to the lenient decoder below, so both
give the same records. `llm_attributes_only=True` skips decoding the attributes of non-GenAI spans.

Bad input never aborts a read: a corrupt or truncated line, or a malformed span, is recorded as a
`ReadProblem` with its file path and line number, logged as a warning (unless disabled), skipped, and reading
goes on. `ReadStats` carries the counts a caller prints ("3 lines skipped").
"""

from __future__ import annotations

import base64
import binascii
import gzip
import io
import json
import logging
import os
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

__all__ = [
    "OtlpReader",
    "ReadProblem",
    "ReadStats",
    "SpanRecord",
    "decode_any_value",
    "decode_attribute_list",
    "read_spans",
]

_logger = logging.getLogger(__name__)

_GZIP_MAGIC = b"\x1f\x8b"
_KIND_NAMES = {
    "SPAN_KIND_UNSPECIFIED": 0,
    "SPAN_KIND_INTERNAL": 1,
    "SPAN_KIND_SERVER": 2,
    "SPAN_KIND_CLIENT": 3,
    "SPAN_KIND_PRODUCER": 4,
    "SPAN_KIND_CONSUMER": 5,
}
_STATUS_NAMES = {"STATUS_CODE_UNSET": 0, "STATUS_CODE_OK": 1, "STATUS_CODE_ERROR": 2}
_SPECIAL_DOUBLES = {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}
_HEXDIGITS = frozenset("0123456789abcdefABCDEF")
_LLM_KEY = "gen_ai.operation.name"  # the attribute `llm_attributes_only` keeps spans' attributes for
_READ_BUFFER = 4 << 20
# Problems kept in memory (and logged) per reader; counting goes on past it. A file of garbage must not
# flood the terminal or memory.
_DEFAULT_MAX_PROBLEMS = 100


@dataclass(slots=True)
class SpanRecord:
    """One span, flattened out of its resource/scope nesting.

    `attributes` hold decoded Python values (str, bool, int, float, bytes, None, tuples for arrays, dicts
    for kvlists). `resource` is shared by all spans of the same `resourceSpans` entry: treat it as
    read-only. `kind` and `status_code` are the OTLP enum numbers (kind 1 = internal ... 5 = consumer;
    status 0 = unset, 1 = ok, 2 = error). `source`/`line` say where the span was read, for messages.
    """

    trace_id: str
    span_id: str
    parent_span_id: str | None
    name: str
    kind: int
    start_ns: int
    end_ns: int
    status_code: int
    attributes: dict[str, Any]
    resource: dict[str, Any]
    scope_name: str
    status_message: str = ""
    scope_version: str = ""
    source: str = ""
    line: int = 0


@dataclass(frozen=True, slots=True)
class ReadProblem:
    """Something skipped while reading: where (file, 1-based line; 0 = whole file) and what was wrong."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}" if self.line else f"{self.path}: {self.message}"


@dataclass(slots=True)
class ReadStats:
    """Counters for the caller's summary line.

    A "line" is one JSON-lines record; a whole-file (pretty-printed) document counts as one line. Blank
    lines are not counted.
    """

    files_read: int = 0
    lines_read: int = 0
    lines_skipped: int = 0
    spans_read: int = 0
    spans_skipped: int = 0
    problems_total: int = 0


class _BadSpan(ValueError):
    """A span whose required fields cannot be decoded; the span is skipped, its line is kept."""


def _field(obj: dict[str, Any], camel: str, snake: str) -> Any:
    """Proto3 JSON parsers accept the original field name as well as the lowerCamelCase one."""
    value = obj.get(camel)
    return obj.get(snake) if value is None else value


def _to_int(value: Any, default: int = 0) -> int:
    if value is None:
        return default
    if isinstance(value, bool):
        raise ValueError(f"expected an integer, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise ValueError(f"expected an integer, got {value!r}")


def _to_float(value: Any) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        special = _SPECIAL_DOUBLES.get(value)
        return special if special is not None else float(value)
    raise ValueError(f"expected a number, got {value!r}")


def _to_enum(value: Any, names: dict[str, int]) -> int:
    if isinstance(value, str) and value in names:
        return names[value]
    return _to_int(value)


def _b64decode(text: str) -> bytes:
    """Proto3 JSON accepts standard and URL-safe base64, with or without padding."""
    return base64.b64decode(text.replace("-", "+").replace("_", "/") + "=" * (-len(text) % 4), validate=True)


def _decode_id(value: Any, size: int, what: str, *, required: bool) -> str | None:
    """Return a lowercase hex id of `size` bytes from hex or base64 text.

    Hex is tried first when the length fits (2 * size characters); a base64 id of the same byte size has a
    different length (24 characters for 16 bytes, 12 for 8), so the two cannot be confused.
    """
    if value is None or value == "":
        if required:
            raise _BadSpan(f"missing {what}")
        return None
    if not isinstance(value, str):
        raise _BadSpan(f"{what} is not a string: {value!r}")
    if len(value) == 2 * size and _HEXDIGITS.issuperset(value):
        return value.lower()
    try:
        raw = _b64decode(value)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != size:
        raise _BadSpan(f"{what} {value!r} is neither {2 * size} hex digits nor base64 of {size} bytes")
    return raw.hex()


def decode_any_value(value: Any) -> Any:
    """Decode an OTLP `AnyValue` JSON object into a plain Python value (`{}` -> None, arrays -> tuples)."""
    if not isinstance(value, dict):
        raise ValueError(f"AnyValue is not an object: {value!r}")
    for key, raw in value.items():
        if key in ("stringValue", "string_value"):
            return raw
        if key in ("intValue", "int_value"):
            return _to_int(raw)
        if key in ("boolValue", "bool_value"):
            return bool(raw)
        if key in ("doubleValue", "double_value"):
            return _to_float(raw)
        if key in ("arrayValue", "array_value"):
            return tuple(decode_any_value(item) for item in (raw or {}).get("values") or ())
        if key in ("kvlistValue", "kvlist_value"):
            return _decode_attributes((raw or {}).get("values"))
        if key in ("bytesValue", "bytes_value"):
            return _b64decode(raw)
    return None


def decode_attribute_list(items: Any) -> dict[str, Any]:
    """Decode an OTLP `attributes` list (`[{"key": ..., "value": AnyValue}]`) into a dict."""
    if not items:
        return {}
    out: dict[str, Any] = {}
    for item in items:
        out[item["key"]] = decode_any_value(item.get("value") or {})
    return out


_decode_attributes = decode_attribute_list


class OtlpReader:
    """Iterate over the spans of OTLP/JSON trace files, streaming and skipping bad input.

    Every path is checked when the reader is created, so a typo fails fast with `FileNotFoundError` naming
    the path, before any output is produced. Iterating yields `SpanRecord`s; afterwards `stats` and
    `problems` describe what was read and what was skipped. The reader can be iterated once.

    `log_problems=False` stops the per-problem warnings on this module's logger, for callers (like the CLI)
    that print `problems` themselves. At most `max_problems` problems are kept and logged; all are counted
    in `stats.problems_total`.

    `llm_attributes_only=True` leaves `attributes` empty on spans that are not GenAI operations (a cost
    report never reads them). `progress`, if given, is called now and then with the number of input bytes
    (as stored on disk, so compressed for gzip) consumed so far; `total_bytes()` is the figure it runs to.
    `fast=False` forces the pure-Python decoder (for comparison and tests).
    """

    def __init__(
        self,
        paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
        *,
        log_problems: bool = True,
        max_problems: int = _DEFAULT_MAX_PROBLEMS,
        llm_attributes_only: bool = False,
        progress: Callable[[int], None] | None = None,
        fast: bool = True,
    ) -> None:
        if isinstance(paths, str | os.PathLike):
            paths = [paths]
        self._paths = [Path(path) for path in paths]
        for path in self._paths:
            if not path.exists():
                raise FileNotFoundError(2, "No such file or directory", str(path))
        self._log_problems = log_problems
        self._max_problems = max_problems
        self.stats = ReadStats()
        self.problems: list[ReadProblem] = []
        self._line = 0  # line being read, for problems raised outside the line loop (gzip errors)
        self._llm_only = llm_attributes_only
        self._fast = _fast_decoder(llm_attributes_only) if fast else None
        self._progress = progress
        self._bytes_before = 0  # on-disk bytes of the files already read, for `progress`
        self._llm_spans_only = False  # set by `batches()`

    # --- public ----------------------------------------------------------------------------------------
    def files(self) -> Iterator[Path]:
        """The files that will be read, directories expanded (recursive, sorted, hidden entries skipped)."""
        for path in self._paths:
            if path.is_dir():
                yield from sorted(
                    p
                    for p in path.rglob("*")
                    if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts)
                )
            else:
                yield path

    def total_bytes(self) -> int:
        """On-disk size of all the input files (what `progress` counts towards)."""
        return sum(_size(path) for path in self.files())

    def __iter__(self) -> Iterator[SpanRecord]:
        for batch in self.batches():
            yield from batch

    def batches(self, *, llm_spans_only: bool = False) -> Iterator[list[SpanRecord]]:
        """The records one input line (or document) at a time: what `__iter__` flattens.

        For hot loops (`build_trace_report`, `aggregate`): a `for` over each list costs less than a generator
        step per span, which was a tenth of a report's run time. `llm_spans_only=True` leaves out spans without
        `gen_ai.operation.name` (not built at all on the fast path), for consumers that read nothing else;
        `stats.spans_read` still counts every span.
        """
        self._llm_spans_only = llm_spans_only
        for path in self.files():
            yield from self._read_file(path)
            if self._progress is not None:
                self._bytes_before += _size(path)
                self._progress(self._bytes_before)

    # --- problems --------------------------------------------------------------------------------------
    def _problem(self, path: str, line: int, message: str) -> None:
        self.stats.problems_total += 1
        if len(self.problems) >= self._max_problems:
            return
        problem = ReadProblem(path, line, message)
        self.problems.append(problem)
        if self._log_problems:
            _logger.warning("%s", problem)

    def _skip_line(self, path: str, line: int, message: str) -> None:
        self.stats.lines_skipped += 1
        self._problem(path, line, message)

    # --- files -----------------------------------------------------------------------------------------
    def _read_file(self, path: Path) -> Iterator[list[SpanRecord]]:
        name = str(path)
        self._line = 0
        try:
            # A large buffer: lines of the Collector's file exporter are 100 kB and more, and reading them
            # through the default 8 kB buffer took twice as long.
            with open(path, "rb", buffering=_READ_BUFFER) as raw:
                compressed = raw.read(2) == _GZIP_MAGIC
                raw.seek(0)
                stream: IO[bytes] = gzip.GzipFile(fileobj=raw) if compressed else raw
                self.stats.files_read += 1
                self._raw = raw
                yield from self._read_stream(stream, name)
        except OSError as error:  # unreadable file, or a corrupt gzip stream (BadGzipFile is an OSError)
            self._problem(name, self._line, f"cannot read{self._after()}: {error.strerror or error}")
        except (EOFError, zlib.error) as error:  # gzip stream cut short
            self._problem(name, self._line, f"corrupt or truncated gzip data{self._after()}: {error}")

    def _report_progress(self) -> None:
        try:
            position = self._raw.tell()
        except (OSError, ValueError):
            return
        self._progress(self._bytes_before + position)  # type: ignore[misc]

    def _after(self) -> str:
        return f" after line {self._line}" if self._line else ""

    def _read_stream(
        self, stream: IO[bytes], name: str, *, start: int = 1, allow_document: bool = True
    ) -> Iterator[list[SpanRecord]]:
        """Read JSON lines; switch to whole-document mode if the first record opens a multi-line document."""
        first = allow_document
        fast = self._fast
        progress = self._progress
        for line_no, raw_line in enumerate(stream, start):
            self._line = line_no
            if progress is not None and line_no % 16 == 0:
                self._report_progress()
            if fast is not None and raw_line[:1] == b"{":
                decoded = fast.decode_line(raw_line, name, line_no, llm_spans_only=self._llm_spans_only)
                if decoded is not None:
                    first = False
                    self.stats.lines_read += 1
                    self.stats.spans_read += decoded[1]
                    yield decoded[0]
                    continue
            stripped = raw_line.strip()
            if not stripped:
                continue
            try:
                document = json.loads(raw_line)
            except ValueError as error:
                if first and stripped[:1] in (b"{", b"[") and stripped[-1:] in (b"{", b"[", b","):
                    # Looks like the opening of a pretty-printed document: parse the rest as a whole.
                    yield from self._read_document(raw_line + stream.read(), name, line_no)
                    return
                first = False
                self.stats.lines_read += 1
                self._skip_line(name, line_no, _describe_json_error(raw_line, error))
                continue
            first = False
            self.stats.lines_read += 1
            yield self._lenient_batch(document, name, line_no)

    def _read_document(self, data: bytes, name: str, first_line: int) -> Iterator[list[SpanRecord]]:
        """Parse one or more concatenated (pretty-printed) JSON documents held in `data`.

        If the very first document does not parse and the following line is a JSON object on its own, the
        guess "pretty-printed" was wrong (a JSON-lines file whose first line was cut after a `{`): fall back
        to reading `data` line by line, so one bad line never costs the whole file. Otherwise it is a broken
        document, reported once rather than as dozens of bad lines.
        """
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            yield from self._read_stream(io.BytesIO(data), name, start=first_line, allow_document=False)
            return
        decoder = json.JSONDecoder()
        position = 0
        parsed_any = False
        while True:
            while position < len(text) and text[position].isspace():
                position += 1
            if position >= len(text):
                return
            line = first_line + text.count("\n", 0, position)
            try:
                document, position = decoder.raw_decode(text, position)
            except json.JSONDecodeError as error:
                if not parsed_any and _looks_like_json_lines(data):
                    lines = io.BytesIO(data)
                    yield from self._read_stream(lines, name, start=first_line, allow_document=False)
                    return
                self.stats.lines_read += 1
                what = "truncated" if error.pos >= len(text.rstrip()) else "invalid"
                self._skip_line(
                    name,
                    line,
                    f"{what} JSON document (at line {first_line + error.lineno - 1}, column {error.colno}): "
                    f"{error.msg}; rest of file skipped",
                )
                return
            parsed_any = True
            self.stats.lines_read += 1
            yield self._lenient_batch(document, name, line)

    # --- OTLP structure --------------------------------------------------------------------------------
    def _lenient_batch(self, document: Any, name: str, line: int) -> list[SpanRecord]:
        records = list(self._read_request(document, name, line))
        if self._llm_spans_only:
            return [record for record in records if _LLM_KEY in record.attributes]
        return records

    def _read_request(self, document: Any, name: str, line: int) -> Iterator[SpanRecord]:
        if isinstance(document, list):  # a JSON array of requests: lenient, some tools dump that
            for item in document:
                yield from self._read_request(item, name, line)
            return
        if not isinstance(document, dict):
            self._skip_line(name, line, f"expected a JSON object, got {type(document).__name__}")
            return
        resource_spans = _field(document, "resourceSpans", "resource_spans")
        if resource_spans is None:
            kinds = [key for key in ("resourceLogs", "resourceMetrics", "resourceProfiles") if key in document]
            what = f"{kinds[0]} (not traces)" if kinds else "no resourceSpans"
            self._skip_line(name, line, f"not an OTLP trace export: {what}")
            return
        try:
            yield from self._read_resource_spans(resource_spans, name, line)
        except (AttributeError, KeyError, TypeError, ValueError) as error:
            # The envelope itself is malformed (e.g. a list where an object belongs). Spans already yielded
            # from this line stay; the rest of the line is dropped.
            self._skip_line(name, line, f"malformed OTLP structure: {_error_text(error)}")

    def _read_resource_spans(self, resource_spans: Any, name: str, line: int) -> Iterator[SpanRecord]:
        stats = self.stats
        for entry in resource_spans:
            resource = _decode_attributes((entry.get("resource") or {}).get("attributes"))
            scope_spans = (
                _field(entry, "scopeSpans", "scope_spans")
                or _field(entry, "instrumentationLibrarySpans", "instrumentation_library_spans")
                or ()
            )
            for scope_entry in scope_spans:
                scope = scope_entry.get("scope") or scope_entry.get("instrumentationLibrary") or {}
                scope_name = scope.get("name") or ""
                scope_version = scope.get("version") or ""
                for index, span in enumerate(scope_entry.get("spans") or ()):
                    try:
                        record = _decode_span(span, resource, scope_name, scope_version, self._llm_only)
                    except (_BadSpan, AttributeError, KeyError, TypeError, ValueError) as error:
                        stats.spans_skipped += 1
                        label = span.get("name") if isinstance(span, dict) else None
                        where = f"span #{index + 1}" + (f" {label!r}" if label else "")
                        self._problem(name, line, f"{where} skipped: {_error_text(error)}")
                        continue
                    record.source = name
                    record.line = line
                    stats.spans_read += 1
                    yield record


def _decode_span(
    span: dict[str, Any], resource: dict[str, Any], scope_name: str, scope_version: str, llm_only: bool = False
) -> SpanRecord:
    status = span.get("status") or {}
    attributes = span.get("attributes")
    if llm_only and attributes and not any(item.get("key") == _LLM_KEY for item in attributes):
        attributes = None
    return SpanRecord(
        trace_id=_decode_id(_field(span, "traceId", "trace_id"), 16, "traceId", required=True),  # type: ignore[arg-type]
        span_id=_decode_id(_field(span, "spanId", "span_id"), 8, "spanId", required=True),  # type: ignore[arg-type]
        parent_span_id=_decode_id(_field(span, "parentSpanId", "parent_span_id"), 8, "parentSpanId", required=False),
        name=span.get("name") or "",
        kind=_to_enum(span.get("kind"), _KIND_NAMES),
        start_ns=_to_int(_field(span, "startTimeUnixNano", "start_time_unix_nano")),
        end_ns=_to_int(_field(span, "endTimeUnixNano", "end_time_unix_nano")),
        status_code=_to_enum(status.get("code"), _STATUS_NAMES),
        status_message=status.get("message") or "",
        attributes=_decode_attributes(attributes),
        resource=resource,
        scope_name=scope_name,
        scope_version=scope_version,
    )


def _looks_like_json_lines(data: bytes) -> bool:
    """True if the second non-blank line of `data` is a complete JSON object by itself."""
    seen = 0
    for raw_line in io.BytesIO(data):
        if not raw_line.strip():
            continue
        seen += 1
        if seen == 2:
            try:
                return isinstance(json.loads(raw_line), dict)
            except ValueError:
                return False
    return False


def _error_text(error: Exception) -> str:
    if isinstance(error, KeyError):
        return f"missing field {error}"
    return str(error) or type(error).__name__


def _describe_json_error(raw_line: bytes, error: ValueError) -> str:
    """Say whether a bad line looks cut short (the usual crash/partial-write case) or is simply invalid."""
    if isinstance(error, UnicodeDecodeError):
        return f"not UTF-8 text: {error}"
    if isinstance(error, json.JSONDecodeError):
        text = raw_line.decode("utf-8", "replace").rstrip()
        cut_short = error.pos >= len(text) or error.msg.startswith("Unterminated string")
        message = error.msg if error.msg.endswith(" at") else f"{error.msg} at"
        where = f"{message} end of line" if error.pos >= len(text) else f"{message} column {error.pos + 1}"
        if cut_short or not raw_line.endswith(b"\n"):
            return f"truncated JSON record ({len(text)} chars): {where}"
        return f"invalid JSON: {where}"
    return f"invalid JSON: {error}"


def read_spans(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]], *, log_problems: bool = True
) -> Iterator[SpanRecord]:
    """Convenience: iterate over the spans of `paths` (see `OtlpReader`; problems go to the log)."""
    return iter(OtlpReader(paths, log_problems=log_problems))


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:  # vanished or unreadable: its read reports the problem
        return 0


def _fast_decoder(llm_attributes_only: bool) -> Any:
    """The msgspec decoder when msgspec is installed, else None (the pure-Python path is used)."""
    try:
        from otel_tokenomics.analysis.otlp_fast import FastDecoder
    except ImportError:
        return None
    return FastDecoder(llm_attributes_only=llm_attributes_only)
