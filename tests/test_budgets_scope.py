"""Scopes: `budget_scope` nesting, across `await`, tasks and threads (contextvars semantics), values from OTel
baggage, and `budget_scope` winning over baggage."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Iterator

import pytest
from opentelemetry import baggage, context

from otel_tokenomics.budgets import Budget, Window, budget_scope, current_scope


@pytest.fixture
def with_baggage() -> Iterator[object]:
    """Attaches baggage like an upstream service's propagated context would; detached afterwards."""
    tokens: list[object] = []

    def attach(**entries: str) -> None:
        ctx = context.get_current()
        for key, value in entries.items():
            ctx = baggage.set_baggage(key, value, context=ctx)
        tokens.append(context.attach(ctx))

    yield attach
    for token in reversed(tokens):
        context.detach(token)  # type: ignore[arg-type]


def test_no_scope_is_an_empty_shared_dict() -> None:
    assert current_scope() == {}
    assert current_scope() is current_scope()  # cached: nothing allocated on the hot path


def test_scopes_nest_and_are_restored() -> None:
    with budget_scope(tenant="acme"):
        assert current_scope() == {"tenant": "acme"}
        with budget_scope(user="u1", tenant="globex"):
            assert current_scope() == {"tenant": "globex", "user": "u1"}
        assert current_scope() == {"tenant": "acme"}
    assert current_scope() == {}


def test_scope_is_restored_when_the_block_raises() -> None:
    with pytest.raises(RuntimeError), budget_scope(tenant="acme"):
        raise RuntimeError("boom")
    assert current_scope() == {}


def test_values_are_text() -> None:
    with budget_scope(user=42):  # type: ignore[arg-type]
        assert current_scope() == {"user": "42"}
    with pytest.raises(TypeError, match="user=None"), budget_scope(user=None):  # type: ignore[arg-type]
        pass


def test_budget_scope_decorates_functions() -> None:
    @budget_scope(feature="summarize")
    def work() -> dict[str, str]:
        return dict(current_scope())

    assert work() == {"feature": "summarize"}
    assert current_scope() == {}


async def test_scope_survives_await_and_concurrent_tasks_do_not_mix() -> None:
    async def call(tenant: str) -> list[dict[str, str]]:
        seen = []
        with budget_scope(tenant=tenant):
            for _ in range(3):
                await asyncio.sleep(0)
                seen.append(dict(current_scope()))
        return seen

    results = await asyncio.gather(*(call(f"t{i}") for i in range(20)))
    for i, seen in enumerate(results):
        assert seen == [{"tenant": f"t{i}"}] * 3
    assert current_scope() == {}


async def test_tasks_and_to_thread_inherit_the_scope() -> None:
    with budget_scope(tenant="acme"):
        in_task = await asyncio.create_task(_scope_later())
        in_thread = await asyncio.to_thread(lambda: dict(current_scope()))
    assert in_task == in_thread == {"tenant": "acme"}


async def _scope_later() -> dict[str, str]:
    await asyncio.sleep(0)
    return dict(current_scope())


def test_a_new_thread_starts_without_the_scope_unless_the_context_is_copied() -> None:
    seen: dict[str, dict[str, str]] = {}
    with budget_scope(tenant="acme"):
        plain = threading.Thread(target=lambda: seen.setdefault("plain", dict(current_scope())))
        copied_context = contextvars.copy_context()
        copied = threading.Thread(
            target=lambda: copied_context.run(lambda: seen.setdefault("copied", dict(current_scope())))
        )
        plain.start()
        copied.start()
        plain.join()
        copied.join()
    assert seen == {"plain": {}, "copied": {"tenant": "acme"}}


def test_scope_in_one_thread_does_not_leak_into_another() -> None:
    entered = threading.Event()
    done = threading.Event()
    seen: list[dict[str, str]] = []

    def holder() -> None:
        with budget_scope(tenant="acme"):
            entered.set()
            done.wait(5)

    thread = threading.Thread(target=holder)
    thread.start()
    entered.wait(5)
    seen.append(dict(current_scope()))
    done.set()
    thread.join()
    assert seen == [{}]


def test_baggage_entries_are_scope_attributes(with_baggage) -> None:  # type: ignore[no-untyped-def]
    with_baggage(tenant="acme", user="u7")
    assert current_scope() == {"tenant": "acme", "user": "u7"}


def test_budget_scope_wins_over_baggage(with_baggage) -> None:  # type: ignore[no-untyped-def]
    with_baggage(tenant="from-baggage", user="u7")
    with budget_scope(tenant="from-code", feature="search"):
        assert current_scope() == {"tenant": "from-code", "user": "u7", "feature": "search"}
    assert current_scope() == {"tenant": "from-baggage", "user": "u7"}


def test_detached_baggage_is_gone() -> None:
    token = context.attach(baggage.set_baggage("tenant", "acme"))
    assert current_scope() == {"tenant": "acme"}
    context.detach(token)
    assert current_scope() == {}


def test_a_per_tenant_budget_applies_to_the_tenant_in_baggage(with_baggage) -> None:  # type: ignore[no-untyped-def]
    budget = Budget("per-tenant", 5, "cost", Window("day"), scope=("tenant",))
    assert not budget.applies_to(current_scope())
    with_baggage(tenant="acme")
    scope = current_scope()
    assert budget.applies_to(scope)
    assert budget.series(scope) == "per-tenant|tenant=acme"
