"""Error isolation: our bugs are logged, never raised into the host application.

Every piece of our code that runs around a user's SDK call goes through `report_internal_error` inside an
`except Exception`. Logging is rate-limited per call site so a bug hit on every request cannot flood the
application's logs, yet it is never silent: the first occurrence is logged with its traceback and a counter
keeps the total for tests and diagnostics.
"""

from __future__ import annotations

import logging
from collections import Counter

__all__ = ["internal_error_counts", "logger", "report_internal_error"]

logger = logging.getLogger("otel_tokenomics")

internal_error_counts: Counter[str] = Counter()


def report_internal_error(where: str) -> None:
    """Record the exception being handled; call only from an `except` block."""
    try:
        internal_error_counts[where] += 1
        if internal_error_counts[where] == 1:
            logger.warning(
                "otel-tokenomics internal error in %s (the application call is unaffected)",
                where,
                exc_info=True,
            )
        else:
            logger.debug("otel-tokenomics internal error in %s", where, exc_info=True)
    except Exception:  # pragma: no cover - logging itself failed; nothing left to do safely
        pass
