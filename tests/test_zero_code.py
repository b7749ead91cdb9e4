"""`opentelemetry-instrument python app.py`: cost on spans with zero code changes, through our entry point."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

APP = """
import os, openai
client = openai.OpenAI(base_url=os.environ["FAKE_URL"], api_key="sk-test", max_retries=0)
reply = client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
print("APP-RESULT", reply.usage.prompt_tokens, reply.usage.completion_tokens)
"""


def _console_spans(stdout: str) -> list[dict[str, Any]]:
    """The console exporter prints one pretty-printed JSON object per span."""
    spans, depth, buffer = [], 0, []
    for line in stdout.splitlines():
        if depth == 0 and line.startswith("{"):
            buffer = []
        if depth or line.startswith("{"):
            buffer.append(line)
            depth += line.count("{") - line.count("}")
            if depth == 0:
                spans.append(json.loads("\n".join(buffer)))
    return spans


def test_opentelemetry_instrument_loads_our_entry_point(fake: Any, tmp_path: Path) -> None:
    app = tmp_path / "app.py"
    app.write_text(APP)
    env = {
        **os.environ,
        "FAKE_URL": fake.openai_base_url,
        "OTEL_SERVICE_NAME": "zero-code-app",
        "OTEL_TRACES_EXPORTER": "console",
        "OTEL_METRICS_EXPORTER": "none",
        "OTEL_LOGS_EXPORTER": "none",
        # Other OpenAI instrumentations may be installed beside ours (the benchmark extra); keep them out.
        "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "openai",
        "OTEL_TOKENOMICS_PROVIDER_HOSTS": "127.0.0.1=openai",
    }
    launcher = Path(sys.executable).with_name("opentelemetry-instrument")
    result = subprocess.run(
        [str(launcher), sys.executable, str(app)], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    prompt_tokens, completion_tokens = (int(n) for n in result.stdout.split("APP-RESULT")[1].split()[:2])
    spans = [span for span in _console_spans(result.stdout) if span["name"] == "chat gpt-4o"]
    assert len(spans) == 1
    attributes = spans[0]["attributes"]
    assert attributes["gen_ai.usage.input_tokens"] == prompt_tokens
    assert attributes["gen_ai.usage.output_tokens"] == completion_tokens
    assert attributes["tokenomics.cost.status"] == "priced"
    assert attributes["gen_ai.usage.cost.amount"] > 0
    assert spans[0]["resource"]["attributes"]["service.name"] == "zero-code-app"
