"""The Redis ledger against a real redis-server on loopback: the same semantics as the in-process ledger, two
processes sharing one budget, keys that expire by themselves, and Redis stopped mid-run (fail-open and
fail-closed) or unreachable without hanging.

The tests start their own `redis-server` (Debian's in CI) on a free loopback port, without persistence, and
stop it by its PID. Without `redis-server` on PATH they are skipped, saying so.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from otel_tokenomics.budgets import InProcessLedger, Ledger, LedgerUnavailable, RedisLedger, Window

redis = pytest.importorskip("redis", reason="the redis client is not installed: pip install 'otel-tokenomics[redis]'")

REDIS_SERVER = shutil.which("redis-server") or (
    "/usr/bin/redis-server" if os.path.exists("/usr/bin/redis-server") else None
)
DAY = Window("day")
NOW = 1_800_000_000.0  # 2027-01-15T08:00:00Z; a fixed clock where the test controls time
LOGGER = "otel_tokenomics.budgets"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RedisServer:
    """A throw-away redis-server on 127.0.0.1: no RDB, no AOF, its own directory; stopped by its PID."""

    def __init__(self, directory: Path, port: int | None = None) -> None:
        self.directory = directory
        self.port = port or _free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        if REDIS_SERVER is None:
            pytest.skip("redis-server is not installed (apt-get install redis-server); CI installs it")
        log = self.directory / f"redis-{self.port}.log"
        command = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        command += ["--dir", str(self.directory), "--logfile", str(log)]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=1, socket_connect_timeout=1)
        try:
            deadline = time.monotonic() + 15
            while True:
                if self.process.poll() is not None:
                    output = log.read_text() if log.exists() else ""
                    raise RuntimeError(f"redis-server exited with {self.process.returncode}:\n{output}")
                try:
                    if client.ping():
                        return self
                except redis.exceptions.ConnectionError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
        finally:
            client.close()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # SIGTERM to this server's own PID
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.process = None


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> Iterator[str]:
    client = redis.Redis.from_url(redis_server.url)
    client.flushdb()
    yield redis_server.url
    client.close()


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[object]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture(params=["in-process", "redis"])
def ledger(request: pytest.FixtureRequest) -> Iterator[Ledger]:
    """Both ledgers: the semantics tests below must pass identically on each."""
    if request.param == "in-process":
        yield InProcessLedger()
        return
    shared = RedisLedger(request.getfixturevalue("redis_url"), timeout=2.0, fail_open=False)
    yield shared
    shared.close()


# --- same semantics as the in-process ledger ---------------------------------------------------------------


def test_redis_ledger_is_a_ledger(redis_url: str) -> None:
    assert isinstance(RedisLedger(redis_url), Ledger)


def test_reserve_adds_when_it_fits_and_refuses_without_adding(ledger: Ledger) -> None:
    first = ledger.reserve("b", DAY, 3.0, 5.0, now=NOW)
    second = ledger.reserve("b", DAY, 3.0, 5.0, now=NOW)
    third = ledger.reserve("b", DAY, 2.0, 5.0, now=NOW)
    unlimited = ledger.reserve("b", DAY, 7.0, None, now=NOW)

    assert [(r.allowed, r.spent_before) for r in (first, second, third, unlimited)] == [
        (True, 0.0),
        (False, 3.0),
        (True, 3.0),
        (True, 5.0),
    ]
    assert ledger.spent("b", DAY, now=NOW) == 12.0


def test_binary_rounding_does_not_refuse_a_call_that_fits_exactly(ledger: Ledger) -> None:
    assert [ledger.reserve("b", DAY, 0.1, 1.0, now=NOW).allowed for _ in range(11)] == [True] * 10 + [False]


def test_settle_with_negative_and_positive_deltas(ledger: Ledger) -> None:
    cheaper = ledger.reserve("b", DAY, 2.0, 10.0, now=NOW)
    dearer = ledger.reserve("b", DAY, 1.0, 10.0, now=NOW)
    refused = ledger.reserve("b", DAY, 9.0, 10.0, now=NOW)

    assert ledger.settle(cheaper, 0.5, now=NOW + 1) == 1.5
    assert ledger.settle(dearer, 1.25, now=NOW + 2) == 1.75
    assert ledger.settle(refused, 9.0, now=NOW + 3) == 3.0  # refused: nothing changes (spent_before returned)
    assert ledger.spent("b", DAY, now=NOW + 3) == 1.75


def test_call_window_stores_nothing(ledger: Ledger) -> None:
    window = Window("call")
    assert ledger.reserve("c", window, 0.4, 0.5, now=NOW).allowed
    assert not ledger.reserve("c", window, 0.6, 0.5, now=NOW).allowed
    assert ledger.spent("c", window, now=NOW) == 0.0


def test_trace_series_are_isolated(ledger: Ledger) -> None:
    trace = Window("trace")
    assert ledger.reserve("r", trace, 0.5, 0.5, now=NOW, trace_id="t1").allowed
    assert not ledger.reserve("r", trace, 0.01, 0.5, now=NOW, trace_id="t1").allowed
    second = ledger.reserve("r", trace, 0.25, 0.5, now=NOW, trace_id="t2")
    assert second.allowed and second.spent_before == 0.0
    assert ledger.settle(second, 0.125, now=NOW + 1) == 0.125
    assert ledger.spent("r", trace, now=NOW, trace_id="t1") == 0.5


def test_rolling_window_forgets_at_the_bucket_boundary(ledger: Ledger) -> None:
    window = Window.parse("rolling 30m")  # buckets of 30 s; NOW is a multiple of 30
    ledger.reserve("f", window, 1.0, None, now=NOW + 5)
    ledger.reserve("f", window, 2.0, None, now=NOW + 29.5)
    ledger.reserve("f", window, 4.0, None, now=NOW + 900)

    assert ledger.spent("f", window, now=NOW + 1829.9) == 7.0
    assert ledger.spent("f", window, now=NOW + 1830) == 4.0
    late = ledger.reserve("f", window, 8.0, 12.0, now=NOW + 1830)
    assert (late.allowed, late.spent_before) == (True, 4.0)


def test_day_rolls_over_at_local_midnight(ledger: Ledger) -> None:
    window = Window("day", timezone="America/New_York")
    from datetime import datetime
    from zoneinfo import ZoneInfo

    zone = ZoneInfo("America/New_York")
    before = datetime(2026, 3, 8, 23, 59, 59, tzinfo=zone).timestamp()
    early = ledger.reserve("t", window, 4.0, 5.0, now=before - 3600)
    assert not ledger.reserve("t", window, 2.0, 5.0, now=before).allowed
    assert ledger.reserve("t", window, 2.0, 5.0, now=before + 1).allowed
    assert ledger.settle(early, 1.0, now=before + 2) == 2.0  # settling yesterday's call leaves today alone


def test_settling_a_rolling_reservation_after_its_bucket_left_changes_nothing(ledger: Ledger) -> None:
    window = Window.parse("rolling 1m")  # buckets of 1 s
    old = ledger.reserve("f", window, 1.0, None, now=NOW)
    ledger.reserve("f", window, 2.0, None, now=NOW + 30)
    assert ledger.settle(old, 5.0, now=NOW + 62) == 2.0


async def test_a_thousand_concurrent_calls_from_a_thread_pool_never_overspend(ledger: Ledger) -> None:
    """The same budget hit by 1,000 tasks whose ledger calls run in threads (real parallelism for Redis)."""
    limit, estimate = 10.0, 0.03

    async def call(i: int) -> bool:
        reservation = await asyncio.to_thread(ledger.reserve, "shared", DAY, estimate, limit, now=NOW)
        if reservation.allowed:
            await asyncio.sleep(0.001 * (i % 5))
            await asyncio.to_thread(ledger.settle, reservation, estimate * (0.5 + (i % 2) / 2), now=NOW)
        return reservation.allowed

    allowed = await asyncio.gather(*(call(i) for i in range(1000)))

    assert 333 <= sum(allowed) < 1000  # every call fits on its estimate until 333 are in flight
    assert ledger.spent("shared", DAY, now=NOW) <= limit + estimate


# --- Redis specifics ---------------------------------------------------------------------------------------


def test_keys_share_a_hash_tag_and_windows_expire_by_themselves(redis_url: str, redis_client) -> None:  # type: ignore[no-untyped-def]
    ledger = RedisLedger(redis_url, timeout=2.0)
    window = Window("rolling", 1.0)  # one bucket of 1 s: the key lives 1-2 s after the last reservation
    reservation = ledger.reserve("per-tenant|tenant=acme", window, 1.0, None, now=time.time())
    assert reservation.key == "otel-tokenomics:budget:{per-tenant|tenant=acme}:rolling:1"
    ttl = redis_client.pttl(reservation.key)
    assert 0 < ttl <= 2000

    time.sleep(ttl / 1000 + 0.05)

    assert redis_client.exists(reservation.key) == 0
    assert ledger.spent("per-tenant|tenant=acme", window, now=time.time()) == 0.0


def test_calendar_keys_expire_at_the_period_end(redis_url: str, redis_client) -> None:  # type: ignore[no-untyped-def]
    ledger = RedisLedger(redis_url, timeout=2.0)
    window = Window("day", timezone="Europe/Paris")
    now = time.time()
    reservation = ledger.reserve("g", window, 1.0, None, now=now)
    _, end, label = window.period(now)
    assert reservation.key.endswith(f"day:Europe/Paris:{label}")
    assert abs(redis_client.pttl(reservation.key) / 1000 - (end - now)) < 5


def test_rolling_series_keep_at_most_one_window_of_buckets(redis_url: str, redis_client) -> None:  # type: ignore[no-untyped-def]
    ledger = RedisLedger(redis_url, timeout=2.0)
    window = Window.parse("rolling 1m")
    for second in range(200):
        ledger.reserve("busy", window, 0.5, None, now=NOW + second)
    key = ledger.reserve("busy", window, 0.5, None, now=NOW + 200).key
    assert redis_client.hlen(key) <= window.buckets + 1
    assert ledger.spent("busy", window, now=NOW + 200) == pytest.approx(30.5)


CHILD = textwrap.dedent(
    """
    import sys
    from otel_tokenomics.budgets import RedisLedger, Window

    url, attempts, now = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    ledger = RedisLedger(url, timeout=5.0, fail_open=False)
    window = Window.parse("day")
    print("ready", flush=True)
    sys.stdin.readline()  # wait until both processes are ready
    allowed = 0
    for _ in range(attempts):
        reservation = ledger.reserve("shared|tenant=acme", window, 0.25, 500.0, now=now)
        if reservation.allowed:
            allowed += 1
            ledger.settle(reservation, 0.25, now=now)
    print(allowed, flush=True)
    """
)


def test_two_processes_sharing_one_budget_never_exceed_it_together(redis_url: str) -> None:
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, redis_url, "1500", repr(NOW)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        for process in processes:
            assert process.stdout is not None
            assert process.stdout.readline().strip() == "ready", process.stderr.read() if process.stderr else ""
        for process in processes:
            assert process.stdin is not None
            process.stdin.write("go\n")
            process.stdin.flush()
        outputs = [process.communicate(timeout=120) for process in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
    for process, (_, err) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, err
    allowed = [int(out.strip()) for out, _ in outputs]

    assert sum(allowed) == 2000  # 3,000 attempts of 0.25 against 500: exactly 2,000 fit
    assert min(allowed) >= 500  # each process got its share (one alone could take at most 1,500)
    assert RedisLedger(redis_url).spent("shared|tenant=acme", DAY, now=NOW) == 500.0


# --- Redis unavailable ---------------------------------------------------------------------------------------


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A server of this test's own, which the test stops mid-run."""
    server = RedisServer(tmp_path).start()
    yield server
    server.stop()


def test_redis_stopped_mid_run_fail_open(own_server: RedisServer, caplog: pytest.LogCaptureFixture) -> None:
    ledger = RedisLedger(own_server.url, timeout=0.5)
    before = ledger.reserve("b", DAY, 1.0, 5.0, now=NOW)
    assert before.allowed and before.recorded

    own_server.stop()
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        during = [ledger.reserve("b", DAY, 1.0, 5.0, now=NOW) for _ in range(10)]
        settled = ledger.settle(before, 2.0, now=NOW)  # the call was made: settle must not raise
        spent = ledger.spent("b", DAY, now=NOW)

    assert all(r.allowed for r in during)  # fail-open: calls proceed (10 x 1.0 against 5.0)
    assert not any(r.recorded for r in during)
    assert ledger.settle(during[0], 1.0, now=NOW) == 1.0  # unrecorded: no Redis call, nothing counted
    assert settled == 2.0
    assert spent == 0.0
    assert ledger.unavailable_count == 12  # 10 reserves, 1 settle, 1 spent
    warnings = [r for r in caplog.records if r.name == LOGGER and r.levelno == logging.WARNING]
    assert len(warnings) == 1  # once per warn_interval, not once per call
    assert "unavailable" in warnings[0].getMessage()
    assert "fail-open" in warnings[0].getMessage()


def test_redis_stopped_mid_run_fail_closed(own_server: RedisServer, caplog: pytest.LogCaptureFixture) -> None:
    ledger = RedisLedger(own_server.url, timeout=0.5, fail_open=False)
    before = ledger.reserve("b", DAY, 1.0, 5.0, now=NOW)

    own_server.stop()
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        for _ in range(3):
            with pytest.raises(LedgerUnavailable, match="unavailable"):
                ledger.reserve("b", DAY, 1.0, 5.0, now=NOW)
        with pytest.raises(LedgerUnavailable):
            ledger.spent("b", DAY, now=NOW)
        assert ledger.settle(before, 1.0, now=NOW) == 1.0  # never raises

    assert ledger.unavailable_count == 5
    assert len([r for r in caplog.records if r.name == LOGGER]) == 1


def test_the_ledger_recovers_when_redis_comes_back(own_server: RedisServer) -> None:
    ledger = RedisLedger(own_server.url, timeout=0.5, retry_interval=0.0)
    own_server.stop()
    assert not ledger.reserve("b", DAY, 1.0, 5.0, now=NOW).recorded
    own_server.start()  # same port, empty data
    back = ledger.reserve("b", DAY, 1.0, 5.0, now=NOW)
    assert back.allowed and back.recorded
    assert ledger.spent("b", DAY, now=NOW) == 1.0


def _silent_listener() -> tuple[socket.socket, str]:
    """A port that accepts TCP connections but never answers: a hung Redis."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    return listener, f"redis://127.0.0.1:{listener.getsockname()[1]}/0"


@pytest.mark.parametrize("kind", ["refused", "hung"])
def test_an_unreachable_redis_never_blocks_beyond_the_timeout(kind: str) -> None:
    listener = None
    if kind == "hung":
        listener, url = _silent_listener()
    else:
        url = f"redis://127.0.0.1:{_free_port()}/0"  # nobody listens there
    try:
        open_ledger = RedisLedger(url, timeout=0.2)
        closed_ledger = RedisLedger(url, timeout=0.2, fail_open=False)
        started = time.monotonic()
        reservation = open_ledger.reserve("b", DAY, 1.0, 5.0, now=NOW)
        with pytest.raises(LedgerUnavailable):
            closed_ledger.reserve("b", DAY, 1.0, 5.0, now=NOW)
        elapsed = time.monotonic() - started
    finally:
        if listener is not None:
            listener.close()

    assert reservation.allowed and not reservation.recorded
    assert open_ledger.unavailable_count == 1
    assert elapsed < 5  # returned: bounded by the 0.2 s socket timeouts, not by a TCP or retry default
