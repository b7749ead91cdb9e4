"""`make test-matrix`: each SDK's test suites against the oldest version we declare and the latest one.

Every SDK gets two throw-away virtual environments under `.venv-matrix/` (the project installed editable with the
`dev` extra, plus that one SDK pinned to its oldest supported release, or unpinned for the latest). Only that
SDK's suites run there, minus tests marked for features the oldest release lacks (see pyproject's markers).
Usage: `python scripts/test_matrix.py [SDK ...] [--only oldest|latest]`; exits non-zero if any run failed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENVS = ROOT / ".venv-matrix"

# httpx 0.28 removed the `proxies` argument that SDK releases of 2024 still pass.
OLD_HTTPX = "httpx==0.27.2"

# Packages a suite needs beside its SDK, at both ends (AnthropicBedrock is tested through botocore; the LiteLLM
# suites instrument the OpenAI and Anthropic SDKs beside it).
EXTRA_PACKAGES: dict[str, list[str]] = {"anthropic": ["botocore"], "litellm": ["openai", "anthropic"]}

# An extra pinned exactly (`litellm==X`, for supply-chain safety) has no ">=" floor to read: its oldest supported
# release is the adapter's `instruments` floor, named here, and its "latest" is the pin, never the newest release.
PINNED_FLOORS: dict[str, str] = {"litellm": "1.78.0"}
# Suites deselected by pyproject's addopts (their SDK cannot share the main venv) are selected by marker.
SELECTED_BY_MARKER: dict[str, str] = {"litellm": "litellm"}

# extra name -> (test files, pip extras pinned for old releases, pytest marker expression for the oldest run)
SUITES: dict[str, tuple[list[str], list[str], str]] = {
    "openai": (
        ["tests/test_openai_*.py", "tests/test_fake_provider.py"],
        ["httpx==0.27.2"],
        "not responses_api and not httpx2",
    ),
    "anthropic": (["tests/test_anthropic_*.py"], [OLD_HTTPX], ""),  # AnthropicBedrock tests need botocore
    "bedrock": (["tests/test_bedrock_*.py"], [], "not bedrock_modern"),
    "cohere": (["tests/test_cohere_*.py"], [OLD_HTTPX], ""),
    "google-genai": (["tests/test_google_genai_*.py"], [], "not google_genai_modern"),
    "groq": (["tests/test_groq_*.py"], [OLD_HTTPX], "not groq_modern"),
    "mistral": (["tests/test_mistral_*.py"], [OLD_HTTPX], "not mistral_modern"),
    "ollama": (["tests/test_ollama_*.py"], [OLD_HTTPX], "not ollama_modern"),
    "litellm": (["tests/test_litellm_*.py"], [], ""),
}


def oldest_requirements() -> dict[str, str]:
    """extra -> its declared requirement, e.g. "openai>=1.40.0" (the single source of truth is pyproject)."""
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    return {name: extras[name][0] for name in SUITES}


def run(extra: str, which: str) -> bool:
    requirement = oldest_requirements()[extra]
    if extra in PINNED_FLOORS:
        package = requirement.partition("==")[0]
        pinned = f"{package}=={PINNED_FLOORS[extra]}" if which == "oldest" else requirement
    else:
        package, _, version = requirement.partition(">=")
        pinned = f"{package}=={version}" if which == "oldest" else package
    tests, old_pins, marker = SUITES[extra]
    venv = VENVS / f"{extra}-{which}"
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "uv"], check=True)
    install = [str(python), "-m", "uv", "pip", "install", "--python", str(python), "-q", "-e", f"{ROOT}[dev]", pinned]
    install += EXTRA_PACKAGES.get(extra, [])
    if which == "oldest":
        install += old_pins
    if subprocess.run(install).returncode != 0:
        print(f"== {extra} {which}: could not install {pinned}")
        return False
    version_line = subprocess.run([str(python), "-m", "pip", "show", package], capture_output=True, text=True).stdout
    installed = next((line.split()[-1] for line in version_line.splitlines() if line.startswith("Version:")), "?")
    files = sorted(str(path.relative_to(ROOT)) for pattern in tests for path in ROOT.glob(pattern))
    command = [str(python), "-m", "pytest", "-q", *files]
    markers = [m for m in (SELECTED_BY_MARKER.get(extra), marker if which == "oldest" else "") if m]
    if markers:
        command += ["-m", " and ".join(f"({m})" for m in markers)]
    print(f"== {extra} {which} ({package} {installed}): {' '.join(files)}", flush=True)
    return subprocess.run(command, cwd=ROOT).returncode == 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("extras", nargs="*", default=list(SUITES), help="SDK extras to test (default: all)")
    parser.add_argument("--only", choices=("oldest", "latest"), help="run one end only")
    args = parser.parse_args()
    results = {}
    for extra in args.extras:
        for which in ("oldest", "latest"):
            if args.only in (None, which):
                results[(extra, which)] = run(extra, which)
    print("\ntest matrix:")
    for (extra, which), ok in results.items():
        print(f"  {extra:<13} {which:<7} {'passed' if ok else 'FAILED'}")
    return 0 if all(results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
