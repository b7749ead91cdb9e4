"""Budgets acting on real SDK calls: observe, enforce (before sending), degrade, scopes, streams, concurrency."""

from __future__ import annotations

import asyncio
import importlib
from typing import Any

import openai
import pytest
from opentelemetry import baggage
from opentelemetry import context as otel_context

from otel_tokenomics.budgets import (
    Budget,
    BudgetExceededError,
    InProcessLedger,
    Window,
    budget_scope,
)
from otel_tokenomics.budgets.estimate import estimate_usage
from otel_tokenomics.budgets.guard import BudgetGuard

MESSAGES = [{"role": "user", "content": "Summarize the invoice policy in one line."}]
# What the guard estimates the prompt at (the documented ~4 characters a token heuristic).
PROMPT_ESTIMATE = estimate_usage({"messages": MESSAGES}, "chat", None, 0).input_tokens


def _sdk_httpx() -> Any:
    return importlib.import_module(openai.DefaultHttpxClient.__mro__[1].__module__.split(".")[0])


def client_for(fake: Any) -> openai.OpenAI:
    return openai.OpenAI(base_url=fake.openai_base_url, api_key="sk-test", max_retries=0)


def budget(**fields: Any) -> Budget:
    defaults: dict[str, Any] = {"name": "b", "limit": 1.0, "unit": "cost", "window": Window.parse("day")}
    return Budget(**{**defaults, **fields})


@pytest.fixture
def guarded(instrument_openai: Any, price_book: Any) -> Any:
    """Instrument with a guard over the given budgets and a fresh in-process ledger; returns the guard."""

    def make(*budgets: Budget) -> BudgetGuard:
        guard = BudgetGuard(budgets, ledger=InProcessLedger(), price_book=price_book)
        instrument_openai(budgets=guard)
        return guard

    return make


def genai_spans(pipeline: Any) -> list[dict[str, Any]]:
    return [dict(span.attributes or {}) for span in pipeline.genai_spans()]


# --- enforce ----------------------------------------------------------------------------------------------
def test_enforce_refuses_before_the_request_leaves_the_process(fake: Any, pipeline: Any, guarded: Any) -> None:
    guarded(budget(name="tiny", limit=0.000001, mode="enforce"))
    fake.reset()
    with pytest.raises(BudgetExceededError) as refused:
        client_for(fake).chat.completions.create(model="gpt-4o", messages=MESSAGES, max_tokens=100)
    assert fake.requests == [], "the provider must never see a refused request"
    error = refused.value
    assert (error.budget, error.limit, error.unit) == ("tiny", 0.000001, "cost")
    assert error.estimate > error.limit and error.spent == 0
    message = str(error)
    for part in ("tiny", "day", "USD"):
        assert part in message
    [span] = pipeline.genai_spans()
    attributes = dict(span.attributes)
    assert span.status.status_code.name == "ERROR"
    assert attributes["error.type"] == "BudgetExceededError"
    assert attributes["tokenomics.budget.refused_by"] == "tiny"
    assert "gen_ai.usage.cost.amount" not in attributes
    [point] = pipeline.metric_points("tokenomics.budget.refusals")
    assert point.value == 1 and point.attributes["tokenomics.budget.name"] == "tiny"


def test_enforce_lets_calls_through_until_the_limit(fake: Any, pipeline: Any, guarded: Any) -> None:
    # Tokens are predictable: every call is estimated at (prompt / 4 + 4) + max_tokens.
    guard = guarded(budget(name="tokens", limit=700, unit="tokens", mode="enforce"))
    client = client_for(fake)
    outcomes = []
    for _ in range(20):
        try:
            client.chat.completions.create(model="gpt-4o", messages=MESSAGES, max_tokens=150)
            outcomes.append("sent")
        except BudgetExceededError:
            outcomes.append("refused")
    assert "sent" in outcomes and outcomes[-1] == "refused"
    assert outcomes == sorted(outcomes, key=lambda o: o == "refused"), "once refused, later calls stay refused"
    spent = guard.ledger.spent("tokens", Window.parse("day"), now=guard.clock())
    actual = sum(
        a["gen_ai.usage.input_tokens"] + a["gen_ai.usage.output_tokens"]
        for a in genai_spans(pipeline)
        if "gen_ai.usage.input_tokens" in a
    )
    assert spent == pytest.approx(actual), "reservations are settled with the real usage"
    assert spent <= 700


def test_a_failed_call_spends_nothing(fake: Any, pipeline: Any, guarded: Any) -> None:
    guard = guarded(budget(name="b", limit=1.0, mode="enforce"))
    with pytest.raises(openai.InternalServerError):
        client_for(fake).chat.completions.create(
            model="gpt-4o", messages=MESSAGES, extra_headers={"x-fake-status": "500"}
        )
    assert guard.ledger.spent("b", Window.parse("day"), now=guard.clock()) == 0


# --- degrade ----------------------------------------------------------------------------------------------
def test_degrade_swaps_to_the_cheaper_model_past_the_threshold(fake: Any, pipeline: Any, guarded: Any) -> None:
    guarded(budget(name="soft", limit=0.0002, mode="degrade", thresholds=(0.5,), fallbacks={"gpt-4o": "gpt-4o-mini"}))
    client = client_for(fake)
    fake.reset()
    client.chat.completions.create(model="gpt-4o", messages=MESSAGES)  # spends more than half of the limit
    client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert [request.json["model"] for request in fake.requests] == ["gpt-4o", "gpt-4o-mini"]
    first, second = genai_spans(pipeline)
    assert "tokenomics.budget.requested_model" not in first
    assert second["gen_ai.request.model"] == "gpt-4o-mini"
    assert second["tokenomics.budget.requested_model"] == "gpt-4o"
    assert second["tokenomics.budget.degraded_by"] == "soft"
    assert second["gen_ai.response.model"].startswith("gpt-4o-mini")
    [point] = pipeline.metric_points("tokenomics.budget.degradations")
    assert point.value == 1


# --- observe ----------------------------------------------------------------------------------------------
def test_observe_reports_each_threshold_once(fake: Any, pipeline: Any, guarded: Any) -> None:
    events: list[Any] = []
    guarded(budget(name="watch", limit=0.0004, thresholds=(0.25, 0.5, 1.0), on_threshold=events.append))
    client = client_for(fake)
    for _ in range(4):
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    crossed = [event.threshold for event in events]
    assert crossed == sorted(set(crossed)), "each threshold is reported once, in order"
    assert 0.25 in crossed
    assert all(event.budget == "watch" and event.limit == 0.0004 for event in events)
    span_events = [e for s in pipeline.genai_spans() for e in s.events if e.name == "tokenomics.budget.threshold"]
    assert [e.attributes["tokenomics.budget.threshold"] for e in span_events] == crossed
    points = pipeline.metric_points("tokenomics.budget.threshold_crossings")
    assert sum(p.value for p in points) == len(crossed)
    # Observe never blocks: every call went out.
    assert len(pipeline.genai_spans()) == 4


def test_a_raising_threshold_callback_does_not_break_the_call(fake: Any, pipeline: Any, guarded: Any) -> None:
    def explode(event: Any) -> None:
        raise RuntimeError("user callback bug")

    guarded(budget(name="watch", limit=0.000001, on_threshold=explode))
    response = client_for(fake).chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert response.choices


# --- scopes -----------------------------------------------------------------------------------------------
def test_per_tenant_budgets_from_the_context_manager(fake: Any, pipeline: Any, guarded: Any) -> None:
    guard = guarded(budget(name="per-tenant", limit=0.0001, mode="enforce", scope=("tenant",)))
    client = client_for(fake)
    with budget_scope(tenant="acme"):
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, max_tokens=50)
    with budget_scope(tenant="globex"):
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, max_tokens=50)
    now = guard.clock()
    window = Window.parse("day")
    acme = guard.ledger.spent("per-tenant|tenant=acme", window, now=now)
    globex = guard.ledger.spent("per-tenant|tenant=globex", window, now=now)
    assert acme > 0 and globex > 0
    # A call without a tenant is outside this budget's scope: not counted, not refused.
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert guard.ledger.spent("per-tenant|tenant=acme", window, now=guard.clock()) == acme


def test_scope_from_otel_baggage(fake: Any, pipeline: Any, guarded: Any) -> None:
    guard = guarded(budget(name="per-user", limit=1.0, scope=("user",)))
    token = otel_context.attach(baggage.set_baggage("user", "u-42"))
    try:
        client_for(fake).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    finally:
        otel_context.detach(token)
    assert guard.ledger.spent("per-user|user=u-42", Window.parse("day"), now=guard.clock()) > 0


# --- streams ----------------------------------------------------------------------------------------------
def test_a_stream_ended_early_is_reconciled_with_what_was_received(fake: Any, pipeline: Any, guarded: Any) -> None:
    guard = guarded(budget(name="tokens", limit=100_000, unit="tokens", mode="enforce"))
    stream = client_for(fake).chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True, max_tokens=500)
    received = [next(stream) for _ in range(5)]
    stream.close()
    spent = guard.ledger.spent("tokens", Window.parse("day"), now=guard.clock())
    assert spent == PROMPT_ESTIMATE + len(received), "not the reserved 500-token estimate, but what was used"


# --- concurrency ------------------------------------------------------------------------------------------
def test_concurrent_async_calls_never_overspend_by_more_than_one_estimate(pipeline: Any, guarded: Any) -> None:
    from otel_tokenomics.fake_provider import mock_transport

    httpx_module = _sdk_httpx()
    limit = 0.01
    guard = guarded(budget(name="shared", limit=limit, mode="enforce"))
    client = openai.AsyncOpenAI(
        api_key="sk-test",
        base_url="https://api.openai.com/v1",
        max_retries=0,
        http_client=httpx_module.AsyncClient(transport=mock_transport(httpx_module)),
    )

    async def one() -> str:
        try:
            await client.chat.completions.create(model="gpt-4o", messages=MESSAGES, max_tokens=100)
            return "sent"
        except BudgetExceededError:
            return "refused"

    async def run_all() -> list[str]:
        return await asyncio.gather(*(one() for _ in range(1000)))

    outcomes = asyncio.run(run_all())
    spent = guard.ledger.spent("shared", Window.parse("day"), now=guard.clock())
    one_estimate = (100 * 10 + PROMPT_ESTIMATE * 2.5) / 1e6  # gpt-4o: $2.50 in / $10 out per million
    assert outcomes.count("sent") > 0 and outcomes.count("refused") > 0
    assert spent <= limit + one_estimate
    sent_costs = [a["gen_ai.usage.cost.amount"] for a in genai_spans(pipeline) if "gen_ai.usage.cost.amount" in a]
    assert len(sent_costs) == outcomes.count("sent")
    assert sum(sent_costs) == pytest.approx(spent)


# --- safety and configuration -----------------------------------------------------------------------------
def test_a_broken_ledger_never_breaks_the_call(fake: Any, pipeline: Any, guarded: Any, monkeypatch: Any) -> None:
    guard = guarded(budget(name="b", limit=1.0, mode="enforce"))

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("ledger bug")

    monkeypatch.setattr(guard.ledger, "reserve", broken)
    response = client_for(fake).chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert response.choices
    assert len(pipeline.genai_spans()) == 1


def test_budgets_from_the_environment(
    fake: Any, pipeline: Any, instrument_openai: Any, tmp_path: Any, monkeypatch: Any
) -> None:
    import otel_tokenomics.budgets.guard as guard_module

    path = tmp_path / "budgets.toml"
    path.write_text(
        '[[budgets]]\nname = "env-cap"\nlimit = 0.000001\nunit = "cost"\nwindow = "day"\nmode = "enforce"\n'
    )
    monkeypatch.setenv("OTEL_TOKENOMICS_BUDGETS", str(path))
    monkeypatch.setattr(guard_module, "_env_guard", None)
    instrument_openai()
    with pytest.raises(BudgetExceededError, match="env-cap"):
        client_for(fake).chat.completions.create(model="gpt-4o", messages=MESSAGES)


def test_the_estimate_counts_all_prompt_text_and_the_output_cap() -> None:
    kwargs = {
        "model": "gpt-4o-with-a-very-long-model-name-that-is-not-prompt",
        "messages": [
            {"role": "system", "content": "x" * 400},
            {"role": "user", "content": [{"type": "text", "text": "y" * 400}]},
        ],
        "tools": [{"type": "function", "function": {"name": "lookup", "description": "z" * 80}}],
        "extra_headers": {"Authorization": "Bearer " + "k" * 400},
    }
    usage = estimate_usage(kwargs, "chat", 300, 1024)
    chars = len("system") + 400 + len("user") + len("text") + 400 + len("function") + len("lookup") + 80
    assert usage.input_tokens == -(-chars // 4) + 2 * 4  # two messages, ~4 characters a token
    assert usage.output_tokens == 300
    assert estimate_usage(kwargs, "chat", None, 1024).output_tokens == 1024
    assert estimate_usage(kwargs, "embeddings", None, 1024).output_tokens == 0


# --- the shared (Redis) ledger through the SDK -------------------------------------------------------------
def _dead_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # closed again on exit: nothing listens there


@pytest.mark.parametrize("fail_open", [True, False])
def test_unreachable_redis_fails_open_or_closed(
    fake: Any, pipeline: Any, instrument_openai: Any, price_book: Any, fail_open: bool
) -> None:
    from otel_tokenomics.budgets import LedgerUnavailable, RedisLedger

    ledger = RedisLedger(url=f"redis://127.0.0.1:{_dead_port()}/0", timeout=0.2, fail_open=fail_open)
    guard = BudgetGuard([budget(name="shared", limit=1.0, mode="enforce")], ledger=ledger, price_book=price_book)
    instrument_openai(budgets=guard)
    fake.reset()
    if fail_open:
        response = client_for(fake).chat.completions.create(model="gpt-4o", messages=MESSAGES)
        assert response.choices and len(fake.requests) == 1
    else:
        with pytest.raises(LedgerUnavailable):
            client_for(fake).chat.completions.create(model="gpt-4o", messages=MESSAGES)
        assert fake.requests == [], "fail-closed refuses before sending"
        [span] = pipeline.genai_spans()
        assert span.attributes["error.type"] == "LedgerUnavailable"
    assert ledger.unavailable_count >= 1
    [point] = pipeline.metric_points("tokenomics.budget.ledger_unavailable")
    assert point.value == ledger.unavailable_count


def test_a_redis_ledger_enforces_through_the_sdk(
    fake: Any, pipeline: Any, instrument_openai: Any, price_book: Any
) -> None:
    import shutil
    import socket
    import subprocess
    import time

    from otel_tokenomics.budgets import RedisLedger

    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed on this machine (make test installs it)")
    port = _dead_port()
    server = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)
        ledger = RedisLedger(url=f"redis://127.0.0.1:{port}/0")
        guard = BudgetGuard(
            [budget(name="tokens", limit=400, unit="tokens", mode="enforce")], ledger=ledger, price_book=price_book
        )
        instrument_openai(budgets=guard)
        outcomes = []
        for _ in range(10):
            try:
                client_for(fake).chat.completions.create(model="gpt-4o", messages=MESSAGES, max_tokens=100)
                outcomes.append("sent")
            except BudgetExceededError:
                outcomes.append("refused")
        spent = ledger.spent("tokens", Window.parse("day"), now=time.time())
        used = sum(
            a["gen_ai.usage.input_tokens"] + a["gen_ai.usage.output_tokens"]
            for a in genai_spans(pipeline)
            if "gen_ai.usage.input_tokens" in a
        )
        assert "sent" in outcomes and "refused" in outcomes
        assert spent == pytest.approx(used) and spent <= 400
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_a_per_trace_budget_is_kept_per_trace(fake: Any, pipeline: Any, guarded: Any) -> None:
    guarded(budget(name="per-request", limit=300, unit="tokens", mode="enforce", window=Window.parse("trace")))
    tracer = pipeline.tracer_provider.get_tracer("app")
    client = client_for(fake)

    def request() -> list[str]:
        outcomes = []
        with tracer.start_as_current_span("POST /agent"):
            for _ in range(5):  # each call reserves ~16 + 100 tokens against this trace's 300
                try:
                    client.chat.completions.create(model="gpt-4o", messages=MESSAGES, max_tokens=100)
                    outcomes.append("sent")
                except BudgetExceededError:
                    outcomes.append("refused")
        return outcomes

    first, second = request(), request()
    assert "refused" in first
    assert first == second, "a new trace starts with a fresh budget"


def test_a_per_call_budget_refuses_only_oversized_calls(fake: Any, pipeline: Any, guarded: Any) -> None:
    guarded(budget(name="max-call", limit=1000, unit="tokens", mode="enforce", window=Window.parse("call")))
    client = client_for(fake)
    for _ in range(3):  # small calls never add up under a per-call window
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES, max_tokens=200)
    with pytest.raises(BudgetExceededError, match="max-call"):
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES, max_tokens=5000)
