"""`--upstream file:PATH`: the collector writes OTLP JSON lines instead of POSTing to a backend.

Why: a user trying the collector on one machine (and `make demo`) needs no backend at all, and the file is
exactly what the OpenTelemetry Collector's `file` exporter writes — one OTLP/JSON export request per line, ids
in hex, enums as numbers — so `otel-tokenomics report` and `focus` read it as they read any other OTLP file.
Traces go to PATH; metrics (Rotel's and the per-trace cost histogram) and logs go beside it as
`<PATH stem>.metrics.jsonl` and `<PATH stem>.logs.jsonl`. The relay hands it the same bodies it would POST.
"""

from __future__ import annotations

import base64
import gzip
import json
import logging
import threading
import zlib
from pathlib import Path
from typing import IO, Any

from google.protobuf.json_format import MessageToDict
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from otel_tokenomics.collector.relay import RelayStats

__all__ = ["FILE_SCHEME", "FileUpstream", "is_file_upstream"]

FILE_SCHEME = "file:"
_logger = logging.getLogger("otel_tokenomics.collector")
_REQUESTS = {
    "/v1/traces": ("", ExportTraceServiceRequest),
    "/v1/metrics": (".metrics", ExportMetricsServiceRequest),
    "/v1/logs": (".logs", ExportLogsServiceRequest),
}
_ID_KEYS = frozenset({"traceId", "spanId", "parentSpanId"})


def is_file_upstream(upstream: str) -> bool:
    return upstream.strip().startswith(FILE_SCHEME)


def _hex_ids(node: Any) -> Any:
    """OTLP/JSON wants trace and span ids as hex; protobuf's JSON mapping writes bytes as base64."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _ID_KEYS and isinstance(value, str):
                node[key] = base64.b64decode(value).hex()
            else:
                _hex_ids(value)
    elif isinstance(node, list):
        for item in node:
            _hex_ids(item)
    return node


class FileUpstream:
    """Same interface as `UpstreamClient` (`submit`, `close`, `stats`, `base_url`), writing files instead."""

    def __init__(self, upstream: str) -> None:
        path = Path(upstream.strip()[len(FILE_SCHEME) :]).expanduser()
        if not path.name:
            raise ValueError(f"upstream {upstream!r}: expected file:PATH naming a file to write OTLP JSON lines to")
        if path.is_dir():
            raise ValueError(f"upstream {upstream!r}: {path} is a directory; name a file")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.base_url = f"{FILE_SCHEME}{path}"
        self.stats = RelayStats()
        self._lock = threading.Lock()
        self._files: dict[str, IO[str]] = {}

    def destination(self, signal_path: str) -> Path:
        suffix = _REQUESTS[signal_path][0]
        return self.path if not suffix else self.path.with_name(f"{self.path.stem}{suffix}.jsonl")

    def submit(self, path: str, body: bytes, *, encoding: str | None = None, spans: int = 0) -> bool:
        """Appends one request as a JSON line; a body that cannot be decoded is counted and logged, not written."""
        try:
            if encoding == "gzip":
                body = gzip.decompress(body)
            message = _REQUESTS[path][1].FromString(body)
            line = json.dumps(_hex_ids(MessageToDict(message, use_integers_for_enums=True)), separators=(",", ":"))
        except (KeyError, OSError, EOFError, zlib.error, DecodeError, ValueError) as error:
            with self._lock:
                self.stats.dropped_requests += 1
                self.stats.dropped_spans += spans
                self.stats.rejected_reasons["undecodable"] = self.stats.rejected_reasons.get("undecodable", 0) + 1
            _logger.error("otel-tokenomics collector: could not write %s to %s: %s", path, self.path, error)
            return False
        with self._lock:
            handle = self._files.get(path)
            if handle is None:
                handle = self._files[path] = self.destination(path).open("a", encoding="utf-8")
            handle.write(line + "\n")
            handle.flush()
            self.stats.forwarded_requests += 1
            self.stats.forwarded_spans += spans
        return True

    def close(self, timeout: float = 30.0) -> None:
        with self._lock:
            for handle in self._files.values():
                handle.close()
            self._files.clear()
