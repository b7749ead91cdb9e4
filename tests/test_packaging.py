"""The distribution installs and imports the same way editable and as a wheel, with or without SDKs."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _package_of(folder: Path, package_dir: dict[str, str]) -> str | None:
    relative = folder.relative_to(ROOT).as_posix()
    for package, source in sorted(package_dir.items(), key=lambda item: -len(item[1])):
        if relative == source or relative.startswith(source + "/"):
            rest = relative[len(source) :].strip("/")
            return package + ("." + rest.replace("/", ".") if rest else "")
    return None


def test_every_package_folder_is_listed_in_pyproject() -> None:
    setuptools = _pyproject()["tool"]["setuptools"]
    package_dir, listed = setuptools["package-dir"], set(setuptools["packages"])
    found = set()
    for source in package_dir.values():
        for init in (ROOT / source).rglob("__init__.py"):
            package = _package_of(init.parent, package_dir)
            if package:
                found.add(package)
    assert found - listed == set(), "add these packages to [tool.setuptools] packages"
    assert listed - found == set(), "these listed packages have no folder"


def test_editable_install_maps_top_level_folders() -> None:
    import otel_tokenomics.analysis
    import otel_tokenomics.instrumentation.openai
    import otel_tokenomics.semconv

    assert Path(otel_tokenomics.semconv.__file__).parent == ROOT / "semconv"
    assert Path(otel_tokenomics.instrumentation.openai.__file__).parent == ROOT / "instrumentation" / "openai"
    assert Path(otel_tokenomics.analysis.__file__).parent == ROOT / "analysis"


def test_wheel_contains_and_imports_every_subpackage(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    [wheel] = tmp_path.glob("otel_tokenomics-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for expected in (
        "otel_tokenomics/semconv/usage.py",
        "otel_tokenomics/instrumentation/core/telemetry.py",
        "otel_tokenomics/instrumentation/openai/adapter.py",
        "otel_tokenomics/analysis/report.py",
        "otel_tokenomics/cli/__init__.py",
    ):
        assert expected in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "[opentelemetry_instrumentor]" in text and "OpenAIInstrumentor" in text
    assert "otel-tokenomics = otel_tokenomics.cli:main" in text
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site), str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    probe = (
        "import otel_tokenomics, otel_tokenomics.semconv, otel_tokenomics.instrumentation.openai;"
        "print(otel_tokenomics.__file__); print(otel_tokenomics.semconv.__file__);"
        "print(otel_tokenomics.instrumentation.openai.__file__)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        env={"PYTHONPATH": str(site)},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout.split()
    assert all(path.startswith(str(site)) for path in out), out


def test_importing_without_any_provider_sdk_works() -> None:
    """No SDK installed: importing and instrument() work and instrument nothing."""
    probe = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if blocked(name):
            raise ModuleNotFoundError(name)
sys.meta_path.insert(0, Block())
import importlib.util
importlib.util.find_spec = lambda name, *a: None if blocked(name) else _find(name, *a)
import otel_tokenomics
from otel_tokenomics.instrumentation.openai import OpenAIInstrumentor
handle = otel_tokenomics.instrument()
OpenAIInstrumentor().instrument()
print("SDKS", handle.sdks, "OPENAI-LOADED", any(blocked(name) for name in sys.modules))
"""
    sdks = (
        "SDKS = ('openai', 'anthropic', 'google.genai', 'boto3', 'botocore', 'mistralai', 'cohere', 'groq', 'ollama')\n"
        "def blocked(name):\n    return any(name == sdk or name.startswith(sdk + '.') for sdk in SDKS)\n"
    )
    probe = f"import importlib.util as _u; _find = _u.find_spec\n{sdks}" + probe
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "SDKS [] OPENAI-LOADED False" in result.stdout
