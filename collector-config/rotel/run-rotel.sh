#!/usr/bin/env sh
# Runs rotel-agent in the foreground with the otel-tokenomics pricing processor and the settings in
# rotel.env — the same agent `otel-tokenomics collector --no-rollup` starts, without the roll-up relay.
#   PYTHON=/path/to/venv/bin/python collector-config/rotel/run-rotel.sh
# Needs otel-tokenomics[collector] installed in that Python's environment.
set -eu
PYTHON=${PYTHON:-python3}
here=$(cd "$(dirname "$0")" && pwd)

set -a
. "$here/rotel.env"
set +a

# What the launcher computes: the agent binary, our processor file, the site directories the embedded
# interpreter must add, and the directory holding this Python's libpython3.11.so.1.0.
eval "$("$PYTHON" - <<'PY'
import importlib.util, os, shlex, site, sysconfig
agent = os.path.join(next(iter(importlib.util.find_spec("rotel").submodule_search_locations)), "rotel-agent")
processor = importlib.util.find_spec("otel_tokenomics.processor.rotel_processor").origin
sites = os.pathsep.join(d for d in [*site.getsitepackages(), site.getusersitepackages()] if os.path.isdir(d))
libdir = sysconfig.get_config_var("LIBDIR") or ""
for name, value in (("ROTEL_AGENT", agent), ("ROTEL_OTLP_WITH_TRACE_PROCESSOR", processor),
                    ("OTEL_TOKENOMICS_ROTEL_SITE", sites), ("PY_LIBDIR", libdir)):
    print(f"export {name}={shlex.quote(value)}")
PY
)"
if [ -e "$PY_LIBDIR/libpython3.11.so.1.0" ]; then
  export LD_LIBRARY_PATH="$PY_LIBDIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
exec "$ROTEL_AGENT" start
