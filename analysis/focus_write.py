"""Writing FOCUS rows: CSV (always) and Parquet (when pyarrow is installed).

CSV follows RFC 4180 (CRLF line ends, fields quoted only when needed), with FOCUS's formats: date-times
as `2026-11-23T00:00:00Z` (UTC, seconds), decimals in plain notation (never `1E-7`, which some billing tools
read as text), null as an empty field. Parquet keeps the types instead of text: decimal128(38, 18) for
FOCUS Decimals, timestamp[us, UTC] for Date/Times, string for strings and JSON, int64 for our counters, and
the FOCUS version and generator in the file's key-value metadata.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from importlib.metadata import PackageNotFoundError, version
from typing import IO, Any

from otel_tokenomics.analysis.focus import FOCUS_VERSION
from otel_tokenomics.analysis.focus_columns import COLUMNS, Column

__all__ = ["ParquetUnavailable", "csv_text", "write_csv", "write_parquet"]


class ParquetUnavailable(RuntimeError):
    """pyarrow is not installed; the message says how to get it."""


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value)


def write_csv(rows: Iterable[dict[str, Any]], stream: IO[str], columns: Sequence[Column] = COLUMNS) -> int:
    """Write a header and `rows` to `stream` (open it with `newline=""`); returns the number of rows."""
    writer = csv.writer(stream, lineterminator="\r\n")
    names = [column.name for column in columns]
    writer.writerow(names)
    count = 0
    for row in rows:
        writer.writerow([_csv_value(row[name]) for name in names])
        count += 1
    return count


def csv_text(rows: Iterable[dict[str, Any]]) -> str:
    """The CSV as one string (small exports, tests)."""
    buffer = io.StringIO(newline="")
    write_csv(rows, buffer)
    return buffer.getvalue()


def _generator_version() -> str:
    try:
        return version("otel-tokenomics")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree without metadata
        return "unknown"


def write_parquet(rows: Sequence[dict[str, Any]], path: str | os.PathLike[str]) -> int:
    """Write `rows` to a Parquet file at `path`; returns the number of rows. Needs pyarrow."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise ParquetUnavailable(
            "Parquet output needs pyarrow: pip install 'otel-tokenomics[parquet]' (or pip install pyarrow), "
            "or use --format csv"
        ) from None
    types = {
        "decimal": pa.decimal128(38, 18),
        "datetime": pa.timestamp("us", tz="UTC"),
        "string": pa.string(),
        "json": pa.string(),
        "integer": pa.int64(),
    }
    fields = [pa.field(column.name, types[column.type], nullable=column.nullable) for column in COLUMNS]
    data = {column.name: [row[column.name] for row in rows] for column in COLUMNS}
    metadata = {
        "FocusVersion": FOCUS_VERSION,
        "DataGenerator": "otel-tokenomics",
        "DataGeneratorVersion": _generator_version(),
        "CreationDate": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    table = pa.table(data, schema=pa.schema(fields, metadata=metadata))
    pq.write_table(table, path)
    return table.num_rows
