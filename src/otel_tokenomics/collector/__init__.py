"""`otel-tokenomics collector`: price the spans of any app in an OpenTelemetry collector (Rotel).

* `rotel` — starts the Rotel agent with our pricing processor and checks that it really came up;
* `relay` — the per-trace roll-up stage Rotel exports to, which forwards to the upstream;
* `service` — both, started and stopped in the right order.

Needs the `collector` extra (`rotel`, `rotel-sdk`).
"""

from otel_tokenomics.collector.rotel import RotelAgent, RotelSettings, RotelStartError
from otel_tokenomics.collector.service import Collector, CollectorOptions

__all__ = ["Collector", "CollectorOptions", "RotelAgent", "RotelSettings", "RotelStartError"]
