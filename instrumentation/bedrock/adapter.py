"""What to wrap for AWS Bedrock (`boto3.client("bedrock-runtime")`), and how to hand back its results.

**The seam.** boto3 clients are classes generated at run time from the service model, one per `client()` call,
so there is no `BedrockRuntime.converse` to wrap. Every generated method (`converse`, `invoke_model`, ...) is a
thin `_api_call` that delegates to `botocore.client.BaseClient._make_api_call(operation_name, api_params)`; that
one method is wrapped, with a `select` that picks the endpoint from the client's service name and the operation.
Everything else passes straight through after two dictionary/attribute look-ups, which matters because this
method runs for *every* AWS call the application makes (S3, DynamoDB, SQS, ...). Wrapping there also means:

* retries (botocore's retry handler runs inside `_make_api_call`) give one span per logical call;
* `api_params` is the very dict that is serialised, so a budget guard's swap of `modelId` reaches Bedrock;
* modeled errors (`client.exceptions.ThrottlingException`, ...) and connection errors propagate unchanged.

**Results.** `converse`/`invoke_model` return a dict. `converse_stream` returns `{"stream": EventStream, ...}` and
`invoke_model_with_response_stream` returns `{"body": EventStream, ...}`: both are `EMBEDDED_STREAM`s, handed back
as a copy of the dict whose stream is the core's proxy (still an `EventStream` for `isinstance`, with `close()`
and `get_initial_response()` passing through). `invoke_model`'s `body` is a one-shot `StreamingBody` holding the
usage: the response reader reads it and puts a new `StreamingBody` over the same bytes back into the dict (see
`readers.read_invoke_response`), so the app still reads it normally.

boto3 is synchronous only; there are no async targets (aiobotocore's `AioBaseClient` is a different class and
is not instrumented by this adapter).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import wrapt

from otel_tokenomics.instrumentation.bedrock import readers
from otel_tokenomics.instrumentation.core import Endpoint, Invocation, ResultKind, Target
from otel_tokenomics.semconv.attributes import Operation

__all__ = ["BedrockAdapter", "select_endpoint"]

SERVICE_NAME = "bedrock-runtime"
MODEL_PARAM = "modelId"

CONVERSE = Endpoint(
    Operation.CHAT, readers.read_converse_request, readers.read_converse_response, model_param=MODEL_PARAM
)
CONVERSE_STREAM = Endpoint(
    Operation.CHAT,
    readers.read_converse_stream_request,
    readers.read_converse_response,
    readers.ConverseStreamReader,
    model_param=MODEL_PARAM,
)
INVOKE = Endpoint(Operation.CHAT, readers.read_invoke_request, readers.read_invoke_response, model_param=MODEL_PARAM)
INVOKE_EMBEDDINGS = Endpoint(
    Operation.EMBEDDINGS, readers.read_invoke_request, readers.read_invoke_response, model_param=MODEL_PARAM
)
INVOKE_STREAM = Endpoint(
    Operation.CHAT,
    readers.read_invoke_stream_request,
    readers.read_invoke_response,
    readers.InvokeStreamReader,
    model_param=MODEL_PARAM,
)

_ENDPOINTS: dict[str, Endpoint] = {
    "Converse": CONVERSE,
    "ConverseStream": CONVERSE_STREAM,
    "InvokeModel": INVOKE,
    "InvokeModelWithResponseStream": INVOKE_STREAM,
}
_STREAM_KEYS = ("stream", "body")  # ConverseStream's and InvokeModelWithResponseStream's event stream
_PASS: tuple[None, dict[str, Any]] = (None, {})


def select_endpoint(
    client: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[Endpoint | None, dict[str, Any]]:
    """`_make_api_call(operation_name, api_params)` → (endpoint, api_params) for Bedrock runtime calls, else pass.

    Cheapest test first: the operation name is a dict look-up that rejects nearly every non-Bedrock call.
    """
    operation = args[0] if args else kwargs.get("operation_name")
    endpoint = _ENDPOINTS.get(operation) if isinstance(operation, str) else None
    if endpoint is None or client.meta.service_model.service_name != SERVICE_NAME:
        return _PASS
    params = args[1] if len(args) > 1 else kwargs.get("api_params")
    if not isinstance(params, dict):
        return _PASS
    if endpoint is INVOKE and _is_embedding_model(params.get(MODEL_PARAM)):
        return INVOKE_EMBEDDINGS, params
    return endpoint, params


def _is_embedding_model(model_id: Any) -> bool:
    """Titan/Cohere/Nova embedding models are invoked like the others; their ids say what they are."""
    return isinstance(model_id, str) and "embed" in model_id.rsplit("/", 1)[-1]


class _EventIterator(wrapt.ObjectProxy):  # type: ignore[misc]
    """Makes an `EventStream` an iterator for the core's stream proxy, which calls `__next__` on what it wraps.

    `EventStream.__iter__` is a generator function over one shared event generator, so iterating it again
    resumes where the last loop stopped; one persistent iterator behaves the same. `isinstance` still sees an
    `EventStream` and every other attribute passes through.
    """

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._self_events: Any = None

    def __iter__(self) -> _EventIterator:
        return self

    def __next__(self) -> Any:
        events = self._self_events
        if events is None:
            events = self._self_events = iter(self.__wrapped__)
        return next(events)

    def __enter__(self) -> Any:
        """The core's proxy offers `with`; an `EventStream` does not, so fail exactly as it would uninstrumented."""
        raise TypeError(f"{type(self.__wrapped__).__name__!r} object does not support the context manager protocol")


class BedrockAdapter:
    name = "bedrock"
    instruments = ("botocore >= 1.31.57",)
    targets = (Target("botocore.client", "BaseClient._make_api_call", select=select_endpoint),)

    def __init__(self) -> None:
        self._event_stream: type | None = None

    def _event_stream_type(self) -> type:
        if self._event_stream is None:
            from botocore.eventstream import EventStream

            self._event_stream = EventStream
        return self._event_stream

    def classify(self, result: Any, invocation: Invocation) -> ResultKind:
        if invocation.stream and isinstance(result, dict):
            event_stream = self._event_stream_type()
            if any(isinstance(result.get(key), event_stream) for key in _STREAM_KEYS):
                return ResultKind.EMBEDDED_STREAM
        return ResultKind.RESPONSE

    def embed_stream(self, result: dict[str, Any], wrap: Callable[[Any], Any]) -> dict[str, Any]:
        """A copy of the response dict whose event stream is the core's proxy (the original dict is not the app's)."""
        event_stream = self._event_stream_type()
        key = next(key for key in _STREAM_KEYS if isinstance(result.get(key), event_stream))
        return {**result, key: wrap(_EventIterator(result[key]))}
