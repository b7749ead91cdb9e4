"""`otel-tokenomics prices MODEL`: show the price a model resolves to, and what given token counts cost.

Why: before trusting cost attributes on spans, a user wants to see which price entry a model name matches
(catalog or sheet, which provider, which dates) and check a cost by hand. It uses the same `PriceBook` as the
instrumentation, so what it prints is what spans get.

Token options follow the OTel convention: `--input` is *all* input tokens, cache reads and writes included;
`--cache-write-1h` is the part of `--cache-write` with 1-hour retention; `--reasoning` is part of `--output`.
Sheets come from `--sheet` (repeatable), else from `OTEL_TOKENOMICS_PRICE_SHEET`.

Exit status: 0 priced (or free), 1 unpriced (unknown model/provider), 2 usage error or malformed sheet.
`prices compare MODEL... --input N --output M` ranks models by the cost of that usage, cheapest first.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from datetime import UTC, date, datetime
from typing import Any

from otel_tokenomics.cli import CommandError

__all__ = ["register"]

_COMPARE = "compare"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "prices",
        help="show a model's prices and the cost of given token counts",
        description="Show the price record a model resolves to (sheets, then the genai-prices catalog) and, "
        "with token counts, the cost and its breakdown. --input counts all input tokens including cache "
        "reads/writes; --reasoning is part of --output.",
    )
    parser.add_argument(
        "words",
        nargs="+",
        metavar="MODEL",
        help="model id as the provider reports it (response model); or 'compare MODEL...' to rank models by cost",
    )
    parser.add_argument("--provider", help="OTel gen_ai.provider.name (openai, aws.bedrock, ...) or a catalog id")
    parser.add_argument("--request-model", help="the requested model / deployment name, tried after MODEL")
    parser.add_argument("--server-address", help="server.address of the call (host or host:port)")
    parser.add_argument("--self-hosted", action="store_true", help="the call went to a private host: sheets only")
    for flag, text in (
        ("--input", "input tokens, cache reads and writes included"),
        ("--output", "output tokens, reasoning included"),
        ("--cache-read", "cache-read input tokens"),
        ("--cache-write", "cache-write input tokens (all retentions)"),
        ("--cache-write-1h", "the cache-write tokens with 1-hour retention"),
        ("--reasoning", "reasoning tokens (part of --output)"),
    ):
        aliases = ("--cached",) if flag == "--cache-read" else ()
        parser.add_argument(flag, *aliases, type=_count, metavar="N", help=text)
    parser.add_argument("--at", metavar="ISO-DATETIME", help="request time (default: now; naive = UTC)")
    parser.add_argument("--service-tier", metavar="T", help="flex, priority, default, batch, ...")
    parser.add_argument(
        "--sheet", action="append", metavar="FILE", help="price sheet (.toml/.yaml); repeat for several"
    )
    parser.add_argument("--currency", metavar="C", help="report currency (needs a rate in a sheet)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=handle)


def _count(text: str) -> int:
    try:
        value = int(text.replace("_", "").replace(",", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a token count, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a token count >= 0, got {text!r}")
    return value


def _when(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        try:
            day = date.fromisoformat(text.strip())
        except ValueError:
            raise CommandError(f"--at: expected an ISO date or date-time, got {text!r}") from None
        moment = datetime(day.year, day.month, day.day)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _book(args: argparse.Namespace) -> Any:
    from otel_tokenomics.semconv.prices import ENV_PRICE_SHEET, PriceBook, PriceSheetError

    sheets = args.sheet
    if sheets is None:
        sheets = [p.strip() for p in os.environ.get(ENV_PRICE_SHEET, "").split(os.pathsep) if p.strip()]
    try:
        return PriceBook(sheets, currency=args.currency)
    except PriceSheetError as error:
        raise CommandError(str(error)) from None


def _compare(args: argparse.Namespace) -> int:
    """`prices compare MODEL...`: the cost of one expected usage on each model, cheapest first."""
    from otel_tokenomics.semconv.prices import rank_by_cost
    from otel_tokenomics.semconv.usage import Usage

    models = args.words[1:]
    if not models:
        raise CommandError("compare needs at least one MODEL")
    if args.input is None and args.output is None:
        raise CommandError("compare needs the expected usage: --input N and/or --output M")
    usage = Usage.from_inclusive(
        args.input or 0,
        args.output or 0,
        cache_read_tokens=args.cache_read or 0,
        cache_write_tokens=max(args.cache_write or 0, args.cache_write_1h or 0),
        cache_write_1h_tokens=args.cache_write_1h or 0,
        reasoning_tokens=args.reasoning or 0,
    )
    ranked = rank_by_cost(
        models, usage, book=_book(args), provider=args.provider, when=_when(args.at), service_tier=args.service_tier
    )
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "model": quote.model,
                        "status": quote.cost.status,
                        "amount": quote.cost.amount,
                        "currency": quote.cost.currency,
                        "unpriced_reason": quote.cost.unpriced_reason,
                        "catalog_provider": quote.cost.catalog_provider,
                        "catalog_model": quote.cost.catalog_model,
                        "source": quote.cost.source,
                    }
                    for quote in ranked
                ],
                indent=2,
            )
        )
        return 0
    width = max(len(quote.model) for quote in ranked)
    print(f"{'RANK':<5} {'MODEL':<{width}}  {'COST':>14}  MATCHED")
    for rank, quote in enumerate(ranked, 1):
        cost = quote.cost
        if cost.amount is None:
            shown, matched = "unpriced", cost.unpriced_reason or ""
        else:
            shown = f"{cost.amount:.6f} {cost.currency}"
            matched = f"{cost.catalog_provider}/{cost.catalog_model} ({cost.source})"
        print(f"{rank if cost.amount is not None else '-':<5} {quote.model:<{width}}  {shown:>14}  {matched}")
    return 0


def handle(args: argparse.Namespace) -> int:
    if args.words[0] == _COMPARE:
        return _compare(args)
    if len(args.words) > 1:
        raise CommandError(f"expected one MODEL, got {len(args.words)}: {' '.join(args.words)}")
    args.model = args.words[0]
    from otel_tokenomics.semconv.usage import Usage

    when = _when(args.at)
    book = _book(args)

    call: dict[str, Any] = {
        "provider": args.provider,
        "model": args.model,
        "request_model": args.request_model,
        "server_address": args.server_address,
        "service_tier": args.service_tier,
        "self_hosted": args.self_hosted,
    }
    record = book.resolve(
        args.provider,
        args.model,
        server_address=args.server_address,
        service_tier=args.service_tier,
        when=when,
        self_hosted=args.self_hosted,
        request_model=args.request_model,
    )
    counts = [args.input, args.output, args.cache_read, args.cache_write, args.cache_write_1h, args.reasoning]
    has_tokens = any(value is not None for value in counts)
    cache_write = max(args.cache_write or 0, args.cache_write_1h or 0)
    usage = Usage.from_inclusive(
        args.input or 0,
        args.output or 0,
        cache_read_tokens=args.cache_read or 0,
        cache_write_tokens=cache_write,
        cache_write_1h_tokens=args.cache_write_1h or 0,
        reasoning_tokens=args.reasoning or 0,
    )
    shown_cost = book.cost(usage, when=when, **call) if has_tokens else None
    # Without a record, price one token to learn why (the reason a span would carry).
    probe = book.cost(Usage(input_tokens=1), when=when, **call) if record is None else shown_cost

    if args.json:
        print(json.dumps(_as_json(call, when, record, shown_cost, usage, probe), indent=2))
    elif record is None:
        print(_describe_unpriced(args, probe.unpriced_reason if probe else None), file=sys.stderr)
    else:
        print(_describe(record, shown_cost, usage))
    if record is None or (shown_cost is not None and shown_cost.amount is None):
        return 1
    return 0


# --- output ---------------------------------------------------------------------------------------------


def _iso(epoch: float) -> str | None:
    if not math.isfinite(epoch):
        return None
    return datetime.fromtimestamp(epoch, tz=UTC).isoformat().replace("+00:00", "Z")


def _money(value: float | None) -> str:
    return "-" if value is None else f"{value:.8f}".rstrip("0").rstrip(".") if value else "0"


def _rate(value: Any) -> str:
    return format(value.normalize(), "f") if value is not None else "-"


def _describe_unpriced(args: argparse.Namespace, reason: str | None) -> str:
    who = f"{args.provider}/{args.model}" if args.provider else args.model
    hints = {
        "unknown_model": "not in the price sheets or the genai-prices catalog for this provider",
        "unknown_provider": "no catalog provider could be determined; pass --provider or add a sheet entry",
        "self_hosted": "self-hosted calls are priced only by sheet entries",
    }
    return f"no price for {who}: {reason} ({hints.get(reason or '', 'see the log')})"


def _describe(record: Any, cost: Any, usage: Any) -> str:
    from otel_tokenomics.semconv.prices import RATE_FIELDS

    lines = [f"{record.provider or '-'}/{record.model or '-'}"]
    lines.append(f"  source    {record.source} {record.source_version}")
    start, stop = _iso(record.valid_from), _iso(record.valid_until)
    if start or stop:
        lines.append(f"  valid     {start or '…'} → {stop or '…'}")
    if record.free:
        lines.append("  price     free (explicit zero price)")
    else:
        lines.append(f"  per 1M tokens ({record.currency}):")
        for name in RATE_FIELDS:
            value = getattr(record, name)
            if value is not None:
                lines.append(f"    {name:<16} {_rate(value)}")
        for tier in record.tiers:
            changed = ", ".join(f"{k} {_rate(v)}" for k, v in tier.rates.items())
            lines.append(f"    above {tier.start:,} input tokens: {changed}")
        if record.per_request is not None:
            lines.append(f"    per request      {_rate(record.per_request)}")
    if cost is not None and usage is not None:
        lines.append(
            f"  usage     {usage.input_tokens:,} input ({usage.cache_read_tokens:,} cache read, "
            f"{usage.cache_write_tokens:,} cache write, {usage.cache_write_1h_tokens:,} of them 1h), "
            f"{usage.output_tokens:,} output ({usage.reasoning_tokens:,} reasoning)"
        )
        if cost.amount is None:
            lines.append(f"  cost      unpriced: {cost.unpriced_reason}")
        else:
            lines.append(f"  cost      {_money(cost.amount)} {cost.currency} ({cost.status})")
            for name in ("input", "cache_read", "cache_write", "output"):
                lines.append(f"    {name:<16} {_money(getattr(cost, name))}")
    return "\n".join(lines)


def _as_json(
    call: dict[str, Any], when: float | None, record: Any, cost: Any, usage: Any, probe_cost: Any
) -> dict[str, Any]:
    from otel_tokenomics.semconv.prices import RATE_FIELDS

    result: dict[str, Any] = {"query": {**call, "at": _iso(when) if when is not None else None}}
    if record is None:
        result["record"] = None
        result["status"] = probe_cost.status
        result["unpriced_reason"] = probe_cost.unpriced_reason
        return result
    result["status"] = "free" if record.free else "priced"
    result["record"] = {
        "provider": record.provider,
        "model": record.model,
        "source": record.source,
        "source_version": record.source_version,
        "currency": record.currency,
        "free": record.free,
        "rates_per_million": {
            name: float(value) for name in RATE_FIELDS if (value := getattr(record, name)) is not None
        },
        "tiers": [
            {
                "above_input_tokens": tier.start,
                "rates_per_million": {k: float(v) for k, v in tier.rates.items()},
            }
            for tier in record.tiers
        ],
        "per_request": float(record.per_request) if record.per_request is not None else None,
        "valid_from": _iso(record.valid_from),
        "valid_until": _iso(record.valid_until),
    }
    if cost is not None:
        result["usage"] = {
            "input_tokens": usage.input_tokens,
            "output_tokens": usage.output_tokens,
            "cache_read_tokens": usage.cache_read_tokens,
            "cache_write_tokens": usage.cache_write_tokens,
            "cache_write_1h_tokens": usage.cache_write_1h_tokens,
            "reasoning_tokens": usage.reasoning_tokens,
        }
        result["cost"] = cost._asdict()
        result["status"] = cost.status
    return result
