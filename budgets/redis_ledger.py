"""A ledger shared by several processes or replicas, in Redis.

Why Redis and Lua: a budget shared by N replicas needs one counter and an atomic check-and-add; a Lua
script runs atomically on the server, so `reserve` is one round trip (EVALSHA) that sums the window, compares
with the limit and adds the amount, with no lock and no race between replicas.

Storage, per series and window instance (see `windows.py`):

* `day`, `month`, `trace` windows: a string key holding the total (INCRBYFLOAT), with PEXPIRE at the
  period's end (trace: one hour after the last reservation), so old windows expire by themselves;
* `rolling` windows: one hash per series, field = bucket index, value = the bucket's total. The script
  sums the buckets still in the window, deletes older ones (HDEL) and PEXPIREs the hash to when its
  newest bucket leaves the window — memory stays at most `buckets + 1` fields per series, and an idle
  series disappears entirely.

Keys are `<key_prefix>{<series>}:<window instance>`; the braces are a Redis Cluster hash tag, so all keys of a
series (e.g. yesterday's and today's) live in one slot and `settle` may touch two of them in one script.
Expiry uses Redis's clock, relative to the caller's `now` (PEXPIRE, not PEXPIREAT), so clocks that
disagree by a little shift expiry by that little, never make keys vanish at once.

Unavailability: every network step (connect, read) is bounded by `timeout`; redis-py's retries are
switched off. When Redis cannot be reached (or answers with an error), the ledger is *fail-open* by default:
`reserve` returns an allowed, unrecorded reservation, `unavailable_count` is incremented (the core exports
it as a metric) and a warning is logged at most once per `warn_interval`. With `fail_open=False`,
`reserve` and `spent` raise `LedgerUnavailable` instead (the core refuses the call). `settle` never
raises: the call it settles has already been made. After a failure, Redis is not tried again for
`retry_interval` seconds, so an outage costs each call nothing rather than a timeout each.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from otel_tokenomics.budgets.errors import LedgerUnavailable
from otel_tokenomics.budgets.ledger import TOLERANCE, Reservation, check_amount, unrecorded
from otel_tokenomics.budgets.windows import Slot, Window

__all__ = ["DEFAULT_KEY_PREFIX", "DEFAULT_URL", "RedisLedger"]

DEFAULT_URL = "redis://127.0.0.1:6379/0"
DEFAULT_KEY_PREFIX = "otel-tokenomics:budget:"

logger = logging.getLogger("otel_tokenomics.budgets")

# Sum of a window instance. `first` == '' → a plain total (string key); else the oldest rolling bucket still
# counted: older buckets are deleted on the way. Replies go back as strings (Lua numbers become integers).
_TOTAL = """
local function total(key, first)
  if first == '' then
    return tonumber(redis.call('GET', key) or '0') or 0
  end
  local cutoff = tonumber(first)
  local sum = 0
  local flat = redis.call('HGETALL', key)
  for i = 1, #flat, 2 do
    if tonumber(flat[i]) >= cutoff then
      sum = sum + tonumber(flat[i + 1])
    else
      redis.call('HDEL', key, flat[i])
    end
  end
  return sum
end
"""

# KEYS[1] window key. ARGV: amount, limit ('' = none; tolerance applied), ttl ms, bucket ('' = plain), first.
_RESERVE = (
    _TOTAL
    + """
local spent = total(KEYS[1], ARGV[5])
if ARGV[2] ~= '' and spent + tonumber(ARGV[1]) > tonumber(ARGV[2]) then
  return {0, string.format('%.17g', spent)}
end
if ARGV[4] == '' then
  redis.call('INCRBYFLOAT', KEYS[1], ARGV[1])
else
  redis.call('HINCRBYFLOAT', KEYS[1], ARGV[4], ARGV[1])
end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {1, string.format('%.17g', spent)}
"""
)

# KEYS[1] the reservation's window key, KEYS[2] the current one (same series). ARGV: delta, the reservation's
# bucket ('' = plain), first bucket counted now ('' = plain), '1' if the reservation's window is still
# counted, ttl ms for a key that has to be recreated (e.g. after a Redis restart). Returns spent after.
_SETTLE = (
    _TOTAL
    + """
local delta = tonumber(ARGV[1])
if ARGV[4] == '1' and delta ~= 0 then
  local exists = redis.call('EXISTS', KEYS[1]) == 1
  if exists or delta > 0 then
    if ARGV[2] == '' then
      redis.call('INCRBYFLOAT', KEYS[1], ARGV[1])
    else
      redis.call('HINCRBYFLOAT', KEYS[1], ARGV[2], ARGV[1])
    end
    if not exists then
      redis.call('PEXPIRE', KEYS[1], ARGV[5])
    end
  end
end
return string.format('%.17g', total(KEYS[2], ARGV[3]))
"""
)

_SPENT = _TOTAL + "\nreturn string.format('%.17g', total(KEYS[1], ARGV[1]))\n"


class RedisLedger:
    """A `Ledger` in Redis: `RedisLedger("redis://host:6379/0")` or `RedisLedger(client=redis.Redis(...))`.

    With `client=`, the client's own socket timeouts and retry policy apply (set `socket_timeout`,
    `socket_connect_timeout` and `retry=Retry(NoBackoff(), 0)` to keep the no-hang guarantee). `key_prefix`
    must not contain `{`. Needs the `redis` package (`pip install 'otel-tokenomics[redis]'`).
    """

    def __init__(
        self,
        url: str | None = DEFAULT_URL,
        *,
        client: Any = None,
        timeout: float = 0.25,
        fail_open: bool = True,
        key_prefix: str = DEFAULT_KEY_PREFIX,
        warn_interval: float = 60.0,
        retry_interval: float = 1.0,
    ) -> None:
        try:
            import redis
            from redis.backoff import NoBackoff
            from redis.retry import Retry
        except ImportError as error:  # pragma: no cover - depends on the environment
            raise ImportError("RedisLedger needs the redis package: pip install 'otel-tokenomics[redis]'") from error
        if "{" in key_prefix or "}" in key_prefix:
            raise ValueError(f"key_prefix must not contain braces (they make the Redis hash tag): {key_prefix!r}")
        if not timeout > 0:
            raise ValueError(f"timeout must be > 0 seconds, got {timeout!r}")
        if client is None:
            if not url:
                raise ValueError("RedisLedger needs a url or a client")
            client = redis.Redis.from_url(
                url,
                socket_timeout=timeout,
                socket_connect_timeout=timeout,
                retry=Retry(NoBackoff(), 0),
                retry_on_timeout=False,
            )
            self._owns_client = True
        else:
            self._owns_client = False
        self.client = client
        self.timeout = timeout
        self.fail_open = fail_open
        self.key_prefix = key_prefix
        self.warn_interval = warn_interval
        self.retry_interval = retry_interval
        #: Operations that could not reach Redis (or got an error from it); exported by the core as a metric.
        self.unavailable_count = 0
        self._where = _redact(url) if self._owns_client and url else repr(client)
        self._errors: tuple[type[BaseException], ...] = (redis.exceptions.RedisError, OSError)
        self._reserve = client.register_script(_RESERVE)
        self._settle = client.register_script(_SETTLE)
        self._spent = client.register_script(_SPENT)
        self._lock = threading.Lock()
        self._down_until = -math.inf
        self._next_warning = -math.inf
        self._suppressed = 0

    def __repr__(self) -> str:
        mode = "fail-open" if self.fail_open else "fail-closed"
        return f"RedisLedger({self._where}, timeout={self.timeout}, {mode})"

    def close(self) -> None:
        """Closes the connection pool if this ledger created it."""
        if self._owns_client:
            self.client.close()

    # --- the Ledger protocol ---

    def reserve(
        self,
        series: str,
        window: Window,
        amount: float,
        limit: float | None,
        *,
        now: float,
        trace_id: str | None = None,
    ) -> Reservation:
        amount = check_amount(amount)
        slot = window.slot(now, trace_id)
        if slot is None:
            return unrecorded(series, window, amount, limit)
        key = self.key(series, slot)
        args = [
            repr(amount),
            "" if limit is None else repr(limit * (1 + TOLERANCE)),
            _ttl_ms(slot.expires_at - now),
            "" if slot.bucket is None else str(slot.bucket),
            "" if slot.first is None else str(slot.first),
        ]
        reply = self._call(self._reserve, [key], args, "reserve")
        if reply is None:  # unreachable, fail-open: let the call through, remember nothing
            return Reservation(series, window, amount, key, slot.expires_at, True, 0.0, slot.bucket, False)
        allowed, spent = int(reply[0]) == 1, max(0.0, float(reply[1]))
        return Reservation(series, window, amount, key, slot.expires_at, allowed, spent, slot.bucket)

    def settle(self, reservation: Reservation, actual: float, *, now: float) -> float:
        actual = check_amount(actual, "actual")
        if not reservation.allowed:
            return reservation.spent_before
        if not reservation.recorded:
            return reservation.spent_before + actual
        window = reservation.window
        current = window.slot(now, _trace_of(reservation))
        if current is None:  # pragma: no cover - recorded reservations always have a slot
            return reservation.spent_before + actual
        expires_at = reservation.expires_at if reservation.expires_at is not None else now
        counted = expires_at > now and (
            reservation.bucket is None or (current.first is not None and reservation.bucket >= current.first)
        )
        args = [
            repr(actual - reservation.amount),
            "" if reservation.bucket is None else str(reservation.bucket),
            "" if current.first is None else str(current.first),
            "1" if counted else "0",
            _ttl_ms(expires_at - now),
        ]
        keys = [reservation.key, self.key(reservation.series, current)]
        reply = self._call(self._settle, keys, args, "settle", may_raise=False)
        if reply is None:
            return reservation.spent_before + actual
        return max(0.0, float(reply))

    def spent(self, series: str, window: Window, *, now: float, trace_id: str | None = None) -> float:
        slot = window.slot(now, trace_id)
        if slot is None:
            return 0.0
        args = ["" if slot.first is None else str(slot.first)]
        reply = self._call(self._spent, [self.key(series, slot)], args, "spent")
        return 0.0 if reply is None else max(0.0, float(reply))

    # --- helpers ---

    def key(self, series: str, slot: Slot) -> str:
        """The Redis key of a series' window instance."""
        return f"{self.key_prefix}{{{series}}}:{slot.key}"

    def _call(self, script: Any, keys: list[str], args: list[str], what: str, *, may_raise: bool = True) -> Any:
        """Runs a script; on failure returns None (fail-open, or `may_raise` False) or raises `LedgerUnavailable`."""
        error: BaseException | None = None
        if time.monotonic() >= self._down_until:
            try:
                return script(keys=keys, args=args)
            except self._errors as caught:
                error = caught
                self._down_until = time.monotonic() + self.retry_interval
        self._unavailable(what, error)
        if may_raise and not self.fail_open:
            reason = f": {error}" if error is not None else f" (not retried for {self.retry_interval:g} s)"
            raise LedgerUnavailable(f"budget ledger {self._where} unavailable{reason}") from error
        return None

    def _unavailable(self, what: str, error: BaseException | None) -> None:
        now = time.monotonic()
        with self._lock:
            self.unavailable_count += 1
            if now < self._next_warning:
                self._suppressed += 1
                return
            self._next_warning = now + self.warn_interval
            suppressed, self._suppressed = self._suppressed, 0
        consequence = (
            "calls proceed without budget checks (fail-open)" if self.fail_open else "calls are refused (fail-closed)"
        )
        cause = f"{type(error).__name__}: {error}" if error is not None else "still down"
        more = f"; {suppressed} more failures since the last warning" if suppressed else ""
        logger.warning(
            "budget ledger %s unavailable during %s (%s); %s%s; next warning in %g s at the earliest",
            self._where,
            what,
            cause,
            consequence,
            more,
            self.warn_interval,
        )


def _ttl_ms(seconds: float) -> str:
    return str(max(1, math.ceil(seconds * 1000)))


def _trace_of(reservation: Reservation) -> str | None:
    """The trace id of a trace-window reservation (its key ends in `:trace:<id>`)."""
    if reservation.window.kind != "trace":
        return None
    _, found, trace_id = reservation.key.rpartition("}:trace:")
    return trace_id if found else None


def _redact(url: str) -> str:
    """The URL without its password, for log messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return urlunsplit((parts.scheme, user + host, parts.path, parts.query, parts.fragment))
