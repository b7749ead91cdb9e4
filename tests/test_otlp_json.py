"""OTLP/JSON exporter: the JSON follows the OTLP/JSON rules and round-trips through our reader."""

from __future__ import annotations

import base64
import io
import json
import math
import re
import threading
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans as encode_spans_protobuf
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, NonRecordingSpan, SpanContext, SpanKind, Status, StatusCode, TraceFlags
from opentelemetry.trace.span import TraceState

from otel_tokenomics.analysis.otlp_reader import OtlpReader
from otel_tokenomics.exporters import JsonLinesSpanExporter, encode_spans, encode_spans_json
from otel_tokenomics.semconv.attributes import (
    GEN_AI_OPERATION_NAME,
    GEN_AI_REQUEST_MODEL,
    GEN_AI_REQUEST_STOP_SEQUENCES,
    GEN_AI_REQUEST_TEMPERATURE,
    GEN_AI_RESPONSE_FINISH_REASONS,
    GEN_AI_USAGE_COST_AMOUNT,
    GEN_AI_USAGE_INPUT_TOKENS,
)

HEX32 = re.compile(r"^[0-9a-f]{32}$")
HEX16 = re.compile(r"^[0-9a-f]{16}$")
REMOTE_PARENT = SpanContext(
    trace_id=0x0AF7651916CD43DD8448EB211C80319C,
    span_id=0x00F067AA0BA902B7,
    is_remote=True,
    trace_flags=TraceFlags(TraceFlags.SAMPLED),
    trace_state=TraceState([("vendor", "x")]),
)
RESOURCE = Resource.create({"service.name": "checkout", "service.version": "1.2.3"})


def _make_spans(limits: SpanLimits | None = None) -> list[ReadableSpan]:
    """A small trace covering every attribute type, events, links, status, kinds and a remote parent."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=RESOURCE, span_limits=limits)
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("test.scope", "9.9.9")
    parent_ctx = trace.set_span_in_context(NonRecordingSpan(REMOTE_PARENT))
    with tracer.start_as_current_span("POST /chat", context=parent_ctx, kind=SpanKind.SERVER) as root:
        root.set_attribute("http.response.status_code", 200)
        with tracer.start_as_current_span(
            "chat gpt-4o",
            kind=SpanKind.CLIENT,
            links=[Link(REMOTE_PARENT, {"link.reason": "retry-of"})],
        ) as span:
            span.set_attributes(
                {
                    GEN_AI_OPERATION_NAME: "chat",
                    GEN_AI_REQUEST_MODEL: "gpt-4o",
                    GEN_AI_USAGE_INPUT_TOKENS: 1234,
                    "big.int": 2**62 + 1,
                    "negative.int": -7,
                    GEN_AI_REQUEST_TEMPERATURE: 0.25,
                    GEN_AI_USAGE_COST_AMOUNT: 0.000123,
                    "gen_ai.request.stream": False,
                    GEN_AI_RESPONSE_FINISH_REASONS: ["stop", "length"],
                    GEN_AI_REQUEST_STOP_SEQUENCES: [],
                    "int.array": [1, 2, 3],
                    "float.array": [0.5, 1.5],
                    "bool.array": [True, False],
                }
            )
            span.add_event("gen_ai.choice", {"index": 0, "finish_reason": "stop"})
            span.set_status(Status(StatusCode.ERROR, "rate limited"))
    provider.shutdown()
    return list(memory.get_finished_spans())


def _attr(span_json: dict[str, Any], key: str) -> dict[str, Any]:
    return next(item["value"] for item in span_json.get("attributes", ()) if item["key"] == key)


def _spans_of(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        span
        for resource_spans in document["resourceSpans"]
        for scope_spans in resource_spans["scopeSpans"]
        for span in scope_spans["spans"]
    ]


@pytest.fixture(scope="module")
def spans() -> list[ReadableSpan]:
    return _make_spans()


@pytest.fixture(scope="module")
def document(spans: list[ReadableSpan]) -> dict[str, Any]:
    return json.loads(encode_spans_json(spans))


# --- OTLP/JSON rules ------------------------------------------------------------------------------------
def test_envelope_is_export_trace_service_request_grouped_by_resource_and_scope(
    document: dict[str, Any],
) -> None:
    assert list(document) == ["resourceSpans"]
    [resource_spans] = document["resourceSpans"]
    resource = {kv["key"]: kv["value"] for kv in resource_spans["resource"]["attributes"]}
    assert resource["service.name"] == {"stringValue": "checkout"}
    [scope_spans] = resource_spans["scopeSpans"]
    assert scope_spans["scope"] == {"name": "test.scope", "version": "9.9.9"}
    assert [span["name"] for span in scope_spans["spans"]] == ["chat gpt-4o", "POST /chat"]


def test_ids_are_lowercase_hex_and_times_are_strings(document: dict[str, Any]) -> None:
    child, root = _spans_of(document)
    for span in (child, root):
        assert HEX32.match(span["traceId"])
        assert HEX16.match(span["spanId"])
        assert isinstance(span["startTimeUnixNano"], str) and span["startTimeUnixNano"].isdigit()
        assert int(span["endTimeUnixNano"]) >= int(span["startTimeUnixNano"])
    assert child["parentSpanId"] == root["spanId"]
    assert root["parentSpanId"] == "00f067aa0ba902b7"
    assert root["traceId"] == "0af7651916cd43dd8448eb211c80319c"


def test_enums_are_integers_and_status_carries_message(document: dict[str, Any]) -> None:
    child, root = _spans_of(document)
    assert child["kind"] == 3  # SPAN_KIND_CLIENT
    assert root["kind"] == 2  # SPAN_KIND_SERVER
    assert child["status"] == {"message": "rate limited", "code": 2}
    assert root["status"] == {}  # unset status: written empty, like the Collector does


def test_typed_attribute_values(document: dict[str, Any]) -> None:
    child, _ = _spans_of(document)
    assert _attr(child, GEN_AI_USAGE_INPUT_TOKENS) == {"intValue": "1234"}
    assert _attr(child, "big.int") == {"intValue": str(2**62 + 1)}
    assert _attr(child, "negative.int") == {"intValue": "-7"}
    assert _attr(child, GEN_AI_REQUEST_TEMPERATURE) == {"doubleValue": 0.25}
    assert _attr(child, GEN_AI_USAGE_COST_AMOUNT) == {"doubleValue": 0.000123}
    assert _attr(child, "gen_ai.request.stream") == {"boolValue": False}
    assert _attr(child, GEN_AI_RESPONSE_FINISH_REASONS) == {
        "arrayValue": {"values": [{"stringValue": "stop"}, {"stringValue": "length"}]}
    }
    assert _attr(child, GEN_AI_REQUEST_STOP_SEQUENCES) == {"arrayValue": {"values": []}}
    assert _attr(child, "int.array") == {"arrayValue": {"values": [{"intValue": str(i)} for i in (1, 2, 3)]}}
    assert _attr(child, "bool.array") == {
        "arrayValue": {"values": [{"boolValue": True}, {"boolValue": False}]}
    }


def test_events_links_and_flags(document: dict[str, Any]) -> None:
    child, root = _spans_of(document)
    [event] = child["events"]
    assert event["name"] == "gen_ai.choice"
    assert event["timeUnixNano"].isdigit()
    assert {kv["key"]: kv["value"] for kv in event["attributes"]}["index"] == {"intValue": "0"}
    [link] = child["links"]
    assert link["traceId"] == "0af7651916cd43dd8448eb211c80319c"
    assert link["spanId"] == "00f067aa0ba902b7"
    assert link["traceState"] == "vendor=x"
    assert link["attributes"] == [{"key": "link.reason", "value": {"stringValue": "retry-of"}}]
    # Bit 8: "is remote" is known; bit 9: the parent is remote; low byte: W3C trace flags (sampled).
    assert root["flags"] & 0x300 == 0x300
    assert child["flags"] & 0x300 == 0x100
    assert child["flags"] & 0x01 == 0x01
    assert root["traceState"] == "vendor=x"


def test_zero_counts_and_empty_fields_are_omitted(document: dict[str, Any]) -> None:
    child, root = _spans_of(document)
    for span in (child, root):
        assert "droppedAttributesCount" not in span
        assert "droppedEventsCount" not in span
        assert "droppedLinksCount" not in span
    assert "events" not in root and "links" not in root


def test_dropped_attributes_are_counted() -> None:
    spans = _make_spans(SpanLimits(max_span_attributes=2))
    child = next(span for span in _spans_of(encode_spans(spans)) if span["name"] == "chat gpt-4o")
    assert len(child["attributes"]) == 2
    assert child["droppedAttributesCount"] == 11


def test_bytes_kvlist_none_and_non_finite_values() -> None:
    from otel_tokenomics.exporters import encode_any_value

    assert encode_any_value(b"\x00\x01\xff") == {"bytesValue": "AAH/"}
    assert encode_any_value({"a": 1, "b": ["x"]}) == {
        "kvlistValue": {
            "values": [
                {"key": "a", "value": {"intValue": "1"}},
                {"key": "b", "value": {"arrayValue": {"values": [{"stringValue": "x"}]}}},
            ]
        }
    }
    assert encode_any_value(None) == {}
    # Bare NaN is not JSON; proto3 JSON spells non-finite doubles as strings.
    assert encode_any_value(float("nan")) == {"doubleValue": "NaN"}
    assert encode_any_value(float("-inf")) == {"doubleValue": "-Infinity"}


def _hex_ids_to_base64(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            key: base64.b64encode(bytes.fromhex(value)).decode()
            if key in ("traceId", "spanId", "parentSpanId")
            else _hex_ids_to_base64(value)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_hex_ids_to_base64(item) for item in node]
    return node


def test_same_content_as_the_official_protobuf_encoder(spans: list[ReadableSpan]) -> None:
    """Our JSON, read back by protobuf (which wants base64 ids), equals the SDK's own OTLP protobuf encoding.

    Intended differences, both towards the proto's documented meaning: we carry the W3C trace flags in the
    low byte of `flags` (the Python exporter leaves it 0) and we keep a link's `traceState` (it drops it).
    """
    ours = json_format.Parse(json.dumps(_hex_ids_to_base64(encode_spans(spans))), ExportTraceServiceRequest())
    official = encode_spans_protobuf(spans)
    for message in (ours, official):
        for resource_spans in message.resource_spans:
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    span.flags = span.flags & 0xFFFFFF00
                    for link in span.links:
                        link.flags = link.flags & 0xFFFFFF00
                        link.trace_state = ""
    assert ours == official


# --- round trip through the reader ----------------------------------------------------------------------
def test_round_trip_through_reader(tmp_path: Path, spans: list[ReadableSpan]) -> None:
    path = tmp_path / "traces.jsonl"
    exporter = JsonLinesSpanExporter(path)
    assert exporter.export(spans) is SpanExportResult.SUCCESS
    exporter.shutdown()

    reader = OtlpReader(path)
    records = {record.span_id: record for record in reader}
    assert reader.stats.spans_read == 2 and reader.stats.lines_skipped == 0
    for span in spans:
        record = records[trace.format_span_id(span.context.span_id)]
        assert record.trace_id == trace.format_trace_id(span.context.trace_id)
        assert record.parent_span_id == trace.format_span_id(span.parent.span_id)
        assert record.name == span.name
        assert record.kind == span.kind.value + 1
        assert (record.start_ns, record.end_ns) == (span.start_time, span.end_time)
        assert record.status_code == span.status.status_code.value
        assert record.attributes == dict(span.attributes)  # arrays come back as tuples, like the SDK's
        assert record.resource == dict(RESOURCE.attributes)
        assert record.scope_name == "test.scope" and record.scope_version == "9.9.9"
    chat = records[trace.format_span_id(spans[0].context.span_id)]
    assert chat.status_message == "rate limited"
    assert isinstance(chat.attributes[GEN_AI_USAGE_INPUT_TOKENS], int)
    assert chat.attributes["big.int"] == 2**62 + 1


def test_non_finite_double_round_trips(tmp_path: Path) -> None:
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    with provider.get_tracer("t").start_as_current_span("s") as span:
        span.set_attribute("x", float("nan"))
        span.set_attribute("y", [float("inf"), 1.0])
    path = tmp_path / "t.jsonl"
    JsonLinesSpanExporter(path).export(memory.get_finished_spans())
    [record] = OtlpReader(path)
    assert math.isnan(record.attributes["x"])
    assert record.attributes["y"] == (float("inf"), 1.0)


# --- exporter behaviour ---------------------------------------------------------------------------------
def test_one_line_per_batch_and_appends(tmp_path: Path, spans: list[ReadableSpan]) -> None:
    path = tmp_path / "traces.jsonl"
    first = JsonLinesSpanExporter(path)
    first.export(spans)
    first.export(spans[:1])
    first.shutdown()
    second = JsonLinesSpanExporter(str(path))  # a new exporter on the same file appends, never truncates
    second.export(spans[1:])
    second.shutdown()
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [len(_spans_of(json.loads(line))) for line in lines] == [2, 1, 1]


def test_with_simple_span_processor_each_span_is_a_line(tmp_path: Path) -> None:
    path = tmp_path / "traces.jsonl"
    provider = TracerProvider(resource=RESOURCE)
    provider.add_span_processor(SimpleSpanProcessor(JsonLinesSpanExporter(path)))
    tracer = provider.get_tracer("t")
    with tracer.start_as_current_span("root"), tracer.start_as_current_span("child"):
        pass
    # Flushed per batch: the file is complete before shutdown.
    assert len(path.read_text(encoding="utf-8").splitlines()) == 2
    provider.shutdown()


def test_text_stream_is_flushed_not_closed(spans: list[ReadableSpan]) -> None:
    stream = io.StringIO()
    exporter = JsonLinesSpanExporter(stream)
    exporter.export(spans)
    exporter.shutdown()
    assert not stream.closed
    assert stream.getvalue().count("\n") == 1


def test_shutdown_closes_file_and_later_exports_fail(tmp_path: Path, spans: list[ReadableSpan]) -> None:
    exporter = JsonLinesSpanExporter(tmp_path / "t.jsonl")
    exporter.export(spans)
    stream = exporter._stream
    exporter.shutdown()
    exporter.shutdown()  # idempotent
    assert stream is not None and stream.closed
    assert exporter.export(spans) is SpanExportResult.FAILURE


def test_io_errors_return_failure_instead_of_raising(tmp_path: Path, spans: list[ReadableSpan]) -> None:
    missing_dir = JsonLinesSpanExporter(tmp_path / "no-such-dir" / "t.jsonl")
    assert missing_dir.export(spans) is SpanExportResult.FAILURE

    class FullDisk(io.StringIO):
        def write(self, text: str) -> int:
            raise OSError(28, "No space left on device")

    assert JsonLinesSpanExporter(FullDisk()).export(spans) is SpanExportResult.FAILURE

    closed = io.StringIO()
    closed.close()
    assert JsonLinesSpanExporter(closed).export(spans) is SpanExportResult.FAILURE


def test_concurrent_exports_never_interleave(tmp_path: Path, spans: list[ReadableSpan]) -> None:
    path = tmp_path / "t.jsonl"
    exporter = JsonLinesSpanExporter(path)

    def worker() -> None:
        for _ in range(50):
            exporter.export(spans)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    exporter.shutdown()
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 400
    assert all(len(_spans_of(json.loads(line))) == 2 for line in lines)
