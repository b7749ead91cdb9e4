"""Names, units, the canonical `Usage` and the price book: everything the rest of the project agrees on."""

from otel_tokenomics.semconv.usage import Usage

__all__ = ["Usage"]
