"""The function wrappers installed on SDK methods, and the rule for nested calls.

Nested calls: when an instrumented method is called while another instrumented call is in progress in the same
context (a helper such as `parse()` delegating to `create()`, or LiteLLM calling the OpenAI SDK), both describe
the same request. The **outermost** call owns the one GenAI span; inner calls pass straight through. Without
this, tokens and cost are counted twice (a frequent complaint against peers). OpenTelemetry's own
"suppress instrumentation" context key is honoured as well.

Absorbed calls (`Target.absorb_usage`): some SDKs send several requests inside one public call (Gemini's
automatic function calling), and the public call's final response reports only the last one. The SDK's private
per-request method is then wrapped to *absorb*: it never owns a span, and when it runs inside an instrumented
non-stream call its response's usage is added to that call (`Invocation.absorb`), which reports the sum of its
round trips (`tokenomics.usage.requests`). The context variable holds the outer invocation itself, so the inner
wrapper finds it with one lookup and nothing else; outside an instrumented call (no public method around it,
instrumentation suppressed) the private method passes straight through without a span, because the public
method is the one seam where a user's operation is known. A streamed outer call is left to its stream reader,
which already sees every round trip's chunks. A round trip inside another one (a private method delegating to
another wrapped one) is counted once, by the outermost, like spans.

A wrapper stays callable after `uninstrument()` where the SDK captured a bound method earlier (its
`with_raw_response` objects do), so it checks `telemetry.enabled` and then passes straight through.

The order of work inside a wrapper is what keeps the app safe: everything of ours before the SDK call is
contained (a failure means the call runs uninstrumented); the SDK call itself is the only thing whose
exception propagates; everything after it is contained and returns the SDK's own result.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.instrumentation.utils import is_instrumentation_enabled

from otel_tokenomics.instrumentation.core.guard import report_internal_error
from otel_tokenomics.instrumentation.core.invocation import Invocation
from otel_tokenomics.instrumentation.core.responses import handle_result
from otel_tokenomics.instrumentation.core.spec import Endpoint, ProviderAdapter, Target
from otel_tokenomics.instrumentation.core.telemetry import Telemetry

__all__ = ["inside_instrumented_call", "make_wrapper"]

_ACTIVE: ContextVar[Invocation | None] = ContextVar("otel_tokenomics_active_call", default=None)
_IN_ROUND_TRIP: ContextVar[bool] = ContextVar("otel_tokenomics_round_trip", default=False)

Wrapper = Callable[[Callable[..., Any], Any, tuple[Any, ...], dict[str, Any]], Any]


def inside_instrumented_call() -> bool:
    """True while an instrumented GenAI call is in progress in this context."""
    return _ACTIVE.get() is not None


def _enter(telemetry: Telemetry, endpoint: Endpoint, instance: Any, kwargs: dict[str, Any]) -> Any:
    if not telemetry.enabled or _ACTIVE.get() is not None or not is_instrumentation_enabled():
        return None
    invocation = telemetry.begin(endpoint, instance, kwargs)
    if invocation is None:
        return None
    try:
        tokens = (_ACTIVE.set(invocation), otel_context.attach(trace.set_span_in_context(invocation.span)))
    except Exception:
        report_internal_error("context attach")
        invocation.finish()
        return None
    return invocation, tokens


def _exit(tokens: tuple[Any, Any]) -> None:
    try:
        _ACTIVE.reset(tokens[0])
        otel_context.detach(tokens[1])
    except Exception:
        report_internal_error("context detach")


def _absorbing_outer() -> Invocation | None:
    """The instrumented non-stream call a round trip belongs to; None inside another round trip (counted once)."""
    outer = _ACTIVE.get()
    if outer is None or outer.stream or outer.finished or _IN_ROUND_TRIP.get():
        return None
    return outer


def _absorb(outer: Invocation, read_usage: Callable[[Any], Any], response: Any) -> None:
    try:
        usage = read_usage(response)
    except Exception:
        report_internal_error("nested usage reader")
        usage = None  # the round trip still happened: count it, without the usage we could not read
    try:
        outer.absorb(usage)
    except Exception:
        report_internal_error("nested usage")


def make_absorbing_wrapper(target: Target) -> Wrapper:
    """The wrapper of a `Target.absorb_usage` method: no span; its usage goes to the outer call, if there is one."""
    read_usage: Callable[[Any], Any] = target.absorb_usage  # type: ignore[assignment]

    if target.is_async:

        async def async_absorbing(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
            outer = _absorbing_outer()
            if outer is None:
                return await wrapped(*args, **kwargs)
            token = _IN_ROUND_TRIP.set(True)
            try:
                response = await wrapped(*args, **kwargs)
            finally:
                _IN_ROUND_TRIP.reset(token)
            _absorb(outer, read_usage, response)
            return response

        return async_absorbing

    def sync_absorbing(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
        outer = _absorbing_outer()
        if outer is None:
            return wrapped(*args, **kwargs)
        token = _IN_ROUND_TRIP.set(True)
        try:
            response = wrapped(*args, **kwargs)
        finally:
            _IN_ROUND_TRIP.reset(token)
        _absorb(outer, read_usage, response)
        return response

    return sync_absorbing


def make_wrapper(telemetry: Telemetry, adapter: ProviderAdapter, target: Target) -> Wrapper:
    if target.absorb_usage is not None:
        return make_absorbing_wrapper(target)
    endpoint = target.endpoint
    select = target.select

    def enter(instance: Any, args: Any, kwargs: Any) -> Any:
        if select is None:
            return _enter(telemetry, endpoint, instance, kwargs)  # type: ignore[arg-type]
        try:
            chosen, params = select(instance, args, kwargs)
        except Exception:
            report_internal_error("endpoint selection")
            return None
        return None if chosen is None else _enter(telemetry, chosen, instance, params)

    if target.is_async:

        async def async_wrapper(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
            entered = enter(instance, args, kwargs)
            if entered is None:
                return await wrapped(*args, **kwargs)
            invocation, tokens = entered
            try:
                result = await wrapped(*args, **kwargs)
            except BaseException as error:
                invocation.fail(error)
                raise
            finally:
                _exit(tokens)
            return handle_result(adapter, invocation, result)

        return async_wrapper

    def sync_wrapper(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
        entered = enter(instance, args, kwargs)
        if entered is None:
            return wrapped(*args, **kwargs)
        invocation, tokens = entered
        try:
            result = wrapped(*args, **kwargs)
        except BaseException as error:
            invocation.fail(error)
            raise
        finally:
            _exit(tokens)
        return handle_result(adapter, invocation, result)

    return sync_wrapper
