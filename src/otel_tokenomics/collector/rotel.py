"""Runs the Rotel agent (PyPI `rotel`, an OpenTelemetry collector in Rust) with our pricing processor.

Why this is more than `subprocess.Popen`: the `rotel-agent` binary embeds whatever `libpython3.11.so.1.0`
the dynamic loader finds, with that interpreter's own `sys.path`, so it neither sees our virtualenv nor
necessarily the same Python; and it fails quietly (a missing processor file logs an error and exits 0, a
processor that raises takes the whole agent down). So the launcher

* points the loader at the running interpreter's shared library (`LD_LIBRARY_PATH` = sysconfig LIBDIR),
* hands the processor our site-packages through `OTEL_TOKENOMICS_ROTEL_SITE` (the editable install's import
  hook lives in a `.pth` file, which only `site.addsitedir` processes, not `PYTHONPATH`),
* owns the agent as a foreground child (stopped by its own PID, never by name), its output in a log file,
* and calls it started only when both OTLP ports accept connections AND the processor has logged that it
  loaded; otherwise it raises `RotelStartError` naming the cause and the log file.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import sysconfig
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "PROCESSOR_FAILED_MARK",
    "PROCESSOR_READY_MARK",
    "SITE_ENV",
    "RotelAgent",
    "RotelSettings",
    "RotelStartError",
    "agent_binary",
    "port_in_use",
    "processor_file",
]

#: Environment variable through which the processor learns which site directories to add.
SITE_ENV = "OTEL_TOKENOMICS_ROTEL_SITE"
#: Lines the processor prints at import; the launcher waits for one of them (see processor/rotel_processor.py).
PROCESSOR_READY_MARK = "otel-tokenomics rotel processor: ready"
PROCESSOR_FAILED_MARK = "otel-tokenomics rotel processor: FAILED"

_LIBPYTHON = f"libpython{sys.version_info.major}.{sys.version_info.minor}.so.1.0"
_LOG_TAIL_LINES = 12


class RotelStartError(RuntimeError):
    """Rotel did not come up; the message names the cause and where its log is."""


@dataclass
class RotelSettings:
    """What the agent is started with. `exporter` is "otlp" (OTLP/HTTP to `export_endpoint`) or "blackhole"."""

    host: str = "127.0.0.1"
    grpc_port: int = 4317
    http_port: int = 4318
    export_endpoint: str | None = None
    exporter: str = "otlp"
    processor: Path | None = None  # None = no processor (passthrough)
    log_file: Path = Path("rotel-agent.log")
    price_sheets: tuple[str, ...] = ()
    stats_interval_seconds: float | None = None
    export_compression: str = "gzip"
    extra_environment: Mapping[str, str] = field(default_factory=dict)

    @property
    def grpc_endpoint(self) -> str:
        return f"{self.host}:{self.grpc_port}"

    @property
    def http_endpoint(self) -> str:
        return f"{self.host}:{self.http_port}"


def agent_binary() -> Path:
    """The `rotel-agent` binary shipped in the `rotel` wheel; RotelStartError when it is not installed."""
    spec = importlib.util.find_spec("rotel")
    if spec is None or not spec.submodule_search_locations:
        raise RotelStartError(
            "Rotel is not installed: pip install 'otel-tokenomics[collector]' (rotel==0.0.1a15, rotel-sdk==0.0.1a9)"
        )
    binary = Path(next(iter(spec.submodule_search_locations))) / "rotel-agent"
    if not binary.is_file() or not os.access(binary, os.X_OK):
        raise RotelStartError(f"the rotel package has no executable agent at {binary}; reinstall rotel==0.0.1a15")
    return binary


def processor_file() -> Path:
    """Our processor module, as the file Rotel loads."""
    spec = importlib.util.find_spec("otel_tokenomics.processor.rotel_processor")
    if spec is None or spec.origin is None:
        raise RotelStartError("otel_tokenomics.processor.rotel_processor is missing from this installation")
    return Path(spec.origin)


def port_in_use(host: str, port: int) -> bool:
    """True when something already listens on host:port (binding would fail)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.2)
        return probe.connect_ex((host, port)) == 0


def _site_directories() -> list[str]:
    import site

    directories = [*site.getsitepackages(), site.getusersitepackages()]
    return [d for d in directories if os.path.isdir(d)]


def _library_path(environ: Mapping[str, str]) -> str | None:
    """LD_LIBRARY_PATH with this interpreter's LIBDIR first, when that directory holds its shared libpython."""
    libdir = sysconfig.get_config_var("LIBDIR")
    current = environ.get("LD_LIBRARY_PATH", "")
    if libdir and os.path.exists(os.path.join(libdir, _LIBPYTHON)):
        return os.pathsep.join(p for p in (libdir, current) if p)
    return current or None


def agent_environment(settings: RotelSettings, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The agent's environment: ROTEL_* settings (the same names collector-config/rotel/rotel.env uses)."""
    base = dict(os.environ if environ is None else environ)
    for name in list(base):
        if name.startswith("ROTEL_"):  # a stray setting in the caller's shell must not change our agent
            del base[name]
    env = {
        **base,
        "ROTEL_OTLP_GRPC_ENDPOINT": settings.grpc_endpoint,
        "ROTEL_OTLP_HTTP_ENDPOINT": settings.http_endpoint,
        "ROTEL_EXPORTER": settings.exporter,
        "PYTHONUNBUFFERED": "1",
        SITE_ENV: os.pathsep.join(_site_directories()),
    }
    if settings.exporter == "otlp":
        if not settings.export_endpoint:
            raise RotelStartError("an OTLP exporter needs an endpoint to export to")
        env["ROTEL_OTLP_EXPORTER_ENDPOINT"] = settings.export_endpoint
        env["ROTEL_OTLP_EXPORTER_PROTOCOL"] = "http"
        env["ROTEL_OTLP_EXPORTER_COMPRESSION"] = settings.export_compression
    if settings.processor is not None:
        env["ROTEL_OTLP_WITH_TRACE_PROCESSOR"] = str(settings.processor)
    if settings.price_sheets:
        env["OTEL_TOKENOMICS_PRICE_SHEET"] = os.pathsep.join(settings.price_sheets)
    if settings.stats_interval_seconds is not None:
        env["OTEL_TOKENOMICS_ROTEL_STATS_INTERVAL"] = str(settings.stats_interval_seconds)
    library_path = _library_path(base)
    if library_path:
        env["LD_LIBRARY_PATH"] = library_path
    env.update(settings.extra_environment)
    return env


def _is_ours(processor: Path) -> bool:
    try:
        return processor.resolve() == processor_file().resolve()
    except (OSError, RotelStartError):
        return False


def _explain(log_text: str, settings: RotelSettings, returncode: int | None) -> str:
    """The most likely cause of a failed start, from the agent's own log."""
    lowered = log_text.lower()
    if "libpython" in lowered and ("cannot open shared object" in lowered or "error while loading" in lowered):
        return (
            f"the agent cannot load {_LIBPYTHON}: install Debian's libpython3.11 (apt-get install libpython3.11) "
            "or run with a Python built with --enable-shared"
        )
    if "address already in use" in lowered or "addrinuse" in lowered:
        return f"a port is already in use (gRPC {settings.grpc_endpoint}, HTTP {settings.http_endpoint})"
    if PROCESSOR_FAILED_MARK.lower() in lowered:
        line = next(x for x in log_text.splitlines() if PROCESSOR_FAILED_MARK.lower() in x.lower())
        return "the pricing processor failed to load: " + line.split(PROCESSOR_FAILED_MARK, 1)[-1].strip(" :")
    if settings.processor is not None and not settings.processor.is_file():
        return f"the processor file {settings.processor} does not exist"
    if "no such file or directory" in lowered and settings.processor is not None:
        return f"the agent could not read the processor file {settings.processor}"
    if "syntaxerror" in lowered:
        return f"the processor file {settings.processor} has a syntax error"
    if returncode is not None:
        return f"the agent exited early (exit status {returncode})"
    return "the agent did not open its ports in time"


class RotelAgent:
    """One `rotel-agent start` child process, started healthy or not at all (see the module docstring)."""

    def __init__(self, settings: RotelSettings) -> None:
        self.settings = settings
        self.process: subprocess.Popen[bytes] | None = None
        self._log_start = 0

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    @property
    def log_file(self) -> Path:
        return self.settings.log_file

    def start(self, timeout: float = 20.0) -> RotelAgent:
        settings = self.settings
        binary = agent_binary()
        if settings.processor is not None and not settings.processor.is_file():
            raise RotelStartError(f"the processor file {settings.processor} does not exist")
        for kind, port in (("gRPC", settings.grpc_port), ("HTTP", settings.http_port)):
            if port_in_use(settings.host, port):
                raise RotelStartError(
                    f"OTLP {kind} port {settings.host}:{port} is already in use; pick another with "
                    f"--{kind.lower()}-port"
                )
        env = agent_environment(settings)
        settings.log_file.parent.mkdir(parents=True, exist_ok=True)
        with open(settings.log_file, "ab") as log:
            self._log_start = log.tell()  # an appended log: only this run's lines count
            self.process = subprocess.Popen(
                [str(binary), "start"], env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        try:
            self._wait_healthy(timeout)
        except RotelStartError:
            self.stop()
            raise
        return self

    def _log_text(self) -> str:
        try:
            with open(self.settings.log_file, "rb") as log:
                log.seek(self._log_start)
                return log.read().decode(errors="replace")
        except OSError:
            return ""

    def _wait_healthy(self, timeout: float) -> None:
        settings = self.settings
        deadline = time.monotonic() + timeout
        # Our processor announces itself; a processor of the user's own is judged by the agent staying up.
        want_processor = settings.processor is not None and _is_ours(settings.processor)
        while True:
            assert self.process is not None
            returncode = self.process.poll()
            text = self._log_text()
            if returncode is not None or PROCESSOR_FAILED_MARK in text:
                self._fail(text, returncode)
            ports_open = port_in_use(settings.host, settings.grpc_port) and port_in_use(
                settings.host, settings.http_port
            )
            if ports_open and (not want_processor or PROCESSOR_READY_MARK in text):
                # The agent logs pipeline errors (bad processor) just after binding; give it a moment to do so.
                time.sleep(0.3)
                returncode = self.process.poll()
                if returncode is not None:
                    self._fail(self._log_text(), returncode)
                return
            if time.monotonic() > deadline:
                self._fail(text, None)
            time.sleep(0.05)

    def _fail(self, text: str, returncode: int | None) -> None:
        tail = "\n".join("    " + line for line in text.splitlines()[-_LOG_TAIL_LINES:])
        cause = _explain(text, self.settings, returncode)
        raise RotelStartError(f"Rotel failed to start: {cause}. Log: {self.settings.log_file}\n{tail}")

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM to our child (it flushes its batches), SIGKILL if it does not exit in time; the exit status."""
        process = self.process
        if process is None:
            return None
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGKILL)
                process.wait()
        return process.returncode

    def __enter__(self) -> RotelAgent:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
