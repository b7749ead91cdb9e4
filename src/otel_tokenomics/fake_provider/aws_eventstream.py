"""An encoder for the AWS event-stream binary framing (``application/vnd.amazon.eventstream``).

Bedrock's streaming operations (``ConverseStream``, ``InvokeModelWithResponseStream``) do not use SSE: each event
is one binary *message*, and botocore's ``EventStreamBuffer`` checks both CRCs and every length before it hands
an event to the SDK. A fake that gets one byte wrong makes the real SDK fail, so the framing lives here, once,
for every protocol that needs it (Bedrock's own API, Anthropic-on-Bedrock, ...). Only encoding is offered: the
SDKs under test are the decoders.

One message is laid out as (all integers big-endian)::

    total length (uint32) | headers length (uint32) | prelude CRC32 (of the 8 bytes before it)
    headers: name length (uint8) | name (UTF-8) | value type (uint8) | value (type-dependent)
    payload
    message CRC32 (of everything before it)

Typical use::

    frame = event_message("contentBlockDelta", {"delta": {"text": "Hi"}, "contentBlockIndex": 0})
    frame = exception_message("throttlingException", "Too many requests.")
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Mapping
from typing import Any

__all__ = [
    "CONTENT_TYPE",
    "HeaderValue",
    "encode_headers",
    "encode_message",
    "event_message",
    "exception_message",
]

#: The HTTP ``content-type`` of an event-stream response body.
CONTENT_TYPE = "application/vnd.amazon.eventstream"

#: Header values this encoder writes: ``bool`` (types 0/1), ``int`` (type 4, int32, or 5, int64 when it does
#: not fit), ``bytes`` (type 6, byte array) and ``str`` (type 7, UTF-8 string).
HeaderValue = bool | int | bytes | str

_PRELUDE = struct.Struct(">II")
_CRC = struct.Struct(">I")
_MAX_HEADER_NAME = 255
_MAX_HEADER_VALUE = 32767  # value lengths are int16 on the wire


def _crc32(data: bytes, seed: int = 0) -> int:
    return zlib.crc32(data, seed) & 0xFFFFFFFF


def _encode_value(value: HeaderValue) -> bytes:
    if isinstance(value, bool):  # before int: bool is an int subclass
        return bytes([0 if value else 1])
    if isinstance(value, int):
        if -(2**31) <= value < 2**31:
            return b"\x04" + struct.pack(">i", value)
        return b"\x05" + struct.pack(">q", value)
    if isinstance(value, bytes | bytearray):
        raw, kind = bytes(value), 6
    elif isinstance(value, str):
        raw, kind = value.encode(), 7
    else:
        raise TypeError(f"unsupported event-stream header value {value!r}")
    if len(raw) > _MAX_HEADER_VALUE:
        raise ValueError(f"event-stream header value too long ({len(raw)} bytes)")
    return bytes([kind]) + struct.pack(">H", len(raw)) + raw


def encode_headers(headers: Mapping[str, HeaderValue]) -> bytes:
    """The headers section of a message, in the given order."""
    parts: list[bytes] = []
    for name, value in headers.items():
        raw_name = name.encode()
        if not 0 < len(raw_name) <= _MAX_HEADER_NAME:
            raise ValueError(f"event-stream header name must be 1-255 bytes, got {name!r}")
        parts.append(bytes([len(raw_name)]) + raw_name + _encode_value(value))
    return b"".join(parts)


def encode_message(headers: Mapping[str, HeaderValue], payload: bytes = b"") -> bytes:
    """One complete event-stream message: prelude, prelude CRC, headers, payload, message CRC."""
    encoded_headers = encode_headers(headers)
    total = _PRELUDE.size + _CRC.size + len(encoded_headers) + len(payload) + _CRC.size
    prelude = _PRELUDE.pack(total, len(encoded_headers))
    prelude_crc = _CRC.pack(_crc32(prelude))
    body = prelude + prelude_crc + encoded_headers + payload
    return body + _CRC.pack(_crc32(body))


def _payload_bytes(payload: Any) -> bytes:
    if isinstance(payload, bytes | bytearray):
        return bytes(payload)
    return json.dumps(payload, separators=(",", ":")).encode()


def event_message(event_type: str, payload: Any, content_type: str = "application/json") -> bytes:
    """An ``event`` message; ``payload`` is sent as is when it is bytes, else JSON-encoded."""
    headers = {":event-type": event_type, ":content-type": content_type, ":message-type": "event"}
    return encode_message(headers, _payload_bytes(payload))


def exception_message(exception_type: str, message: str, content_type: str = "application/json") -> bytes:
    """An ``exception`` message (a modeled error raised mid-stream, e.g. ``throttlingException``).

    AWS sends the error body ``{"message": ...}``; botocore raises it as ``EventStreamError`` while iterating.
    """
    headers = {":exception-type": exception_type, ":content-type": content_type, ":message-type": "exception"}
    return encode_message(headers, _payload_bytes({"message": message}))
