"""AWS Bedrock through boto3's `bedrock-runtime` client: Converse, ConverseStream, InvokeModel(+WithResponseStream)."""

from __future__ import annotations

from otel_tokenomics.instrumentation.bedrock.adapter import BedrockAdapter
from otel_tokenomics.instrumentation.core import GenAIInstrumentor

__all__ = ["BedrockInstrumentor"]


class BedrockInstrumentor(GenAIInstrumentor):
    """Spans, metrics and cost for boto3/botocore `bedrock-runtime` clients (sync only: boto3 has no async API).

    See `GenAIInstrumentor` for the `instrument()` options.
    """

    adapter = BedrockAdapter()
