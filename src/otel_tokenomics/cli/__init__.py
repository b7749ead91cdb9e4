"""The `otel-tokenomics` console script.

Each subcommand is one module in this package exposing `register(subparsers)`; it keeps heavy imports inside
its handler so `otel-tokenomics --help` stays instant. Add a subcommand by adding a module and its name to
`_SUBCOMMANDS`.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

__all__ = ["CommandError", "main"]

_SUBCOMMANDS = ("prices", "report", "focus", "fake_provider", "collector", "collector_config")


class CommandError(Exception):
    """A user-facing failure: printed as one clear line, exit status 2, no traceback."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="otel-tokenomics",
        description="LLM token usage and cost for OpenTelemetry.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in _SUBCOMMANDS:
        importlib.import_module(f"{__name__}.{name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except CommandError as error:
        print(f"otel-tokenomics {args.command}: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
