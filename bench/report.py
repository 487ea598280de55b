"""Rows of figures and the one table they print as. A row carries its absolute value, and
where the figure has one, its reference (measured in the same run), the ratio to it and the
target; `holds` says whether the target is met (None: no target, or not judged here)."""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass
class Row:
    section: str
    figure: str
    value: float | None
    unit: str = ""
    reference: str = ""  # what the ratio divides by, e.g. "dict lookup 9.1M/s"
    ratio: float | None = None
    target: str = ""  # e.g. ">= 0.25", "<= 20 ms"
    holds: bool | None = None
    note: str = ""


def at_least(value: float, ref: float, target: float) -> tuple[float, bool]:
    ratio = value / ref if ref else math.nan
    return ratio, ratio >= target


def percentile(samples: list[float], q: float) -> float:
    """The q-th percentile (0-100), nearest rank: a value that was actually measured."""
    if not samples:
        return math.nan
    ordered = sorted(samples)
    k = max(0, min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1))
    return ordered[k]


def median(samples: list[float]) -> float:
    return statistics.median(samples) if samples else math.nan


def human(value: float | None, unit: str = "") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if unit in ("ms", "s", "µs", "x"):
        return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"
    if abs(value) >= 10_000_000:
        return f"{value / 1e6:,.1f}M"
    if abs(value) >= 100_000:
        return f"{value / 1e3:,.0f}k"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:,.3g}"


def render(rows: list[Row], title: str = "") -> str:
    head = ("section", "figure", "value", "unit", "reference", "ratio", "target", "holds")
    body = []
    for r in rows:
        holds = {True: "yes", False: "NO", None: ""}[r.holds]
        body.append((r.section, r.figure, human(r.value, r.unit), r.unit, r.reference,
                     "" if r.ratio is None else f"{r.ratio:.3g}", r.target, holds))
    widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h)
              for i, h in enumerate(head)]
    right = {2, 5}  # numbers

    def line(cells) -> str:
        return "  ".join(c.rjust(w) if i in right else c.ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip()

    out = [title] if title else []
    out += [line(head), line(["-" * w for w in widths])]
    last = None
    for r, b in zip(rows, body, strict=True):
        if last is not None and r.section != last:
            out.append("")
        last = r.section
        out.append(line(b))
    notes = [f"  [{r.section}] {r.figure}: {r.note}" for r in rows if r.note]
    if notes:
        out += ["", "notes:", *notes]
    return "\n".join(out)


def save(rows: list[Row], meta: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"meta": meta, "rows": [asdict(r) for r in rows]}
    path.write_text(json.dumps(data, indent=2, default=str) + "\n")
