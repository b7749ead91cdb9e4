"""``otel-tokenomics fake-provider``: serve the fake LLM provider in the foreground.

Meant for the demo and for scripts: ``--port 0 --port-file PATH`` lets a script start it on a free port and
learn which one without parsing output (the file appears atomically, once the server accepts connections).
SIGINT and SIGTERM both stop it cleanly with exit status 0, so ``kill PID`` is the normal way to end it.

``python -m otel_tokenomics.cli.fake_provider [options]`` runs just this subcommand, for environments that
only need the fake (it does not import the other subcommands).
"""

from __future__ import annotations

import argparse
import errno
import os
import signal
import sys
import tempfile
import threading
from pathlib import Path
from types import FrameType

__all__ = ["main", "register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "fake-provider",
        help="serve a deterministic fake LLM provider (OpenAI wire format) for offline tests and demos",
        description="Serve a deterministic fake LLM provider on a local port until interrupted.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: %(default)s)")
    parser.add_argument(
        "--port", type=int, default=8787, help="port to bind; 0 picks a free one (default: %(default)s)"
    )
    parser.add_argument("--port-file", type=Path, help="write the bound port to this file once serving")
    parser.add_argument("--quiet", action="store_true", help="do not print a line per request")
    parser.set_defaults(handler=run)


def _write_atomically(path: Path, text: str) -> None:
    """Write via a temporary file and rename, so a polling script never reads a half-written port."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(handle, "w") as stream:
        stream.write(text)
    os.replace(temporary, path)


def run(args: argparse.Namespace) -> int:
    from otel_tokenomics.cli import CommandError
    from otel_tokenomics.fake_provider import FakeProvider

    if not 0 <= args.port <= 65535:
        raise CommandError(f"--port must be between 0 and 65535, got {args.port}")

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    fake = FakeProvider(args.host, args.port, log=None if args.quiet else log)
    try:
        fake.start()
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise CommandError(f"port {args.port} on {args.host} is already in use") from None
        raise CommandError(f"cannot listen on {args.host}:{args.port}: {error.strerror or error}") from None

    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        if args.port_file is not None:
            _write_atomically(args.port_file, f"{fake.port}\n")
        print(f"fake provider listening on {fake.base_url} (OpenAI: {fake.openai_base_url})", flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        fake.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("fake provider stopped", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run only this subcommand, with the same error handling as the full ``otel-tokenomics`` CLI."""
    from otel_tokenomics.cli import CommandError

    parser = argparse.ArgumentParser(prog="otel-tokenomics")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["fake-provider", *(sys.argv[1:] if argv is None else argv)])
    try:
        return run(args)
    except CommandError as error:
        print(f"otel-tokenomics fake-provider: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
