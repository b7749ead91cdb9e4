"""The HTML report's stylesheet, inlined into the page so the file works offline and by e-mail.

Kept apart from the markup code so the page structure reads on its own. Layout targets a 1280 px wide
window (content capped at 1200 px) and stays usable narrower: the two-column chart grid collapses.
"""

from __future__ import annotations

__all__ = ["STYLESHEET"]

STYLESHEET = """
:root {
  --ink: #1d2433; --muted: #5b6475; --line: #dfe3ea; --panel: #ffffff; --page: #f4f6f9;
  --accent: #2f6fde; --warn-bg: #fff6e0; --warn-line: #f0b429; --bad: #b42318;
}
* { box-sizing: border-box; }
body {
  margin: 0; background: var(--page); color: var(--ink);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Liberation Sans", "DejaVu Sans", sans-serif;
}
main, header.top { max-width: 1200px; margin: 0 auto; padding: 0 24px; }
header.top { padding-top: 24px; padding-bottom: 8px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 0 0 10px; }
h3 { font-size: 14px; margin: 14px 0 6px; color: var(--muted); font-weight: 600; }
.sub { color: var(--muted); margin: 0; overflow-wrap: anywhere; }
section.panel {
  background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 16px 18px;
  margin: 16px 0; overflow-x: auto;
}
.cards { display: grid; grid-template-columns: repeat(5, minmax(0, 1fr)); gap: 12px; margin: 16px 0; }
.card { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; }
.card .label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.card .value { font-size: 22px; font-weight: 650; font-variant-numeric: tabular-nums; overflow-wrap: anywhere; }
.card .detail { color: var(--muted); font-size: 12px; font-variant-numeric: tabular-nums; }
.card.warn { border-color: var(--warn-line); background: var(--warn-bg); }
.grid2 { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 16px; }
.grid2 > section.panel { margin: 0; }
@media (max-width: 900px) { .grid2, .cards { grid-template-columns: minmax(0, 1fr); } }
.notice {
  background: var(--warn-bg); border: 1px solid var(--warn-line); border-radius: 8px; padding: 10px 14px;
  margin: 12px 0;
}
.notice p { margin: 2px 0; }
svg.chart { display: block; max-width: 100%; height: auto; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { padding: 5px 8px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
th { color: var(--muted); font-weight: 600; font-size: 12px; white-space: nowrap; }
td.num, th.num { text-align: right; white-space: nowrap; }
td.name { overflow-wrap: break-word; }
.mono { font-family: ui-monospace, "DejaVu Sans Mono", "Liberation Mono", monospace; font-size: 12px; }
.muted { color: var(--muted); }
.status-unpriced, .status-failed, .more-unpriced { color: var(--bad); font-weight: 600; }
.more-unpriced { display: block; font-size: 12px; }
.traces .head, .traces summary {
  display: grid; gap: 8px; align-items: baseline;
  grid-template-columns: 2.2rem minmax(0, 1fr) 10.5rem 6rem 3.5rem 7.5rem 9.5rem;
}
.traces .head { color: var(--muted); font-size: 12px; font-weight: 600; padding: 4px 8px;
  border-bottom: 1px solid var(--line); }
.traces summary { list-style: none; cursor: pointer; padding: 7px 8px; border-bottom: 1px solid var(--line); }
.traces summary::-webkit-details-marker { display: none; }
.traces summary:hover { background: #f0f4fb; }
.traces summary:focus-visible { outline: 2px solid var(--accent); outline-offset: -2px; }
.traces .num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.traces summary .num:last-child { white-space: normal; }
.traces .root { overflow-wrap: anywhere; }
.traces .rank::before { content: "▸ "; color: var(--accent); }
.traces details[open] > summary .rank::before { content: "▾ "; }
.traces details[open] > summary { background: #f0f4fb; }
.traces .calls { padding: 6px 8px 14px 2.6rem; border-bottom: 1px solid var(--line); }
.traces .calls table { font-size: 13px; }
footer { max-width: 1200px; margin: 0 auto; padding: 8px 24px 32px; color: var(--muted); font-size: 12px; }
footer ul { margin: 4px 0; padding-left: 18px; overflow-wrap: anywhere; }
"""
