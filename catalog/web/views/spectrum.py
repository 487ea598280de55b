"""/spectrum: the personalization spectrum (semantics §15) as a bar chart drawn on the server
(SVG in the page, nothing fetched from elsewhere): allowed decisions per intensity tier, and
per requested purpose within each tier."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from starlette.responses import Response

from catalog.errors import CatalogError
from catalog.services import spectrum
from catalog.web.console import Console, Page
from catalog.web.present import parse_time

BAR_W, ROW_H, LABEL_W = 420.0, 26.0, 280.0  # labels fit purposes of ~32 characters
COLOURS = {"utility": "#2e7d32", "relationship": "#f9a825", "surveillance": "#c62828"}


@dataclass(frozen=True)
class Bar:
    label: str
    intensity: str
    count: int
    y: float
    width: float


def bars(rows: list[spectrum.SpectrumRow]) -> tuple[list[Bar], float]:
    """One bar per tier (its total), then one per purpose in it; widths relative to the
    largest. Returns the bars and the chart's height."""
    totals = spectrum.totals(rows)
    top = max([*totals.values(), *(r.allowed for r in rows), 1])
    out: list[Bar] = []
    y = 0.0
    for tier, total in totals.items():
        out.append(Bar(tier, tier, total, y, BAR_W * total / top))
        y += ROW_H
        for r in (r for r in rows if r.intensity == tier):
            out.append(Bar("  " + r.purpose, tier, r.allowed, y, BAR_W * r.allowed / top))
            y += ROW_H
    return out, y


def _time(page: Page, name: str) -> datetime | None:
    return parse_time(page.arg(name), name)


def spectrum_page(web: Console, page: Page) -> Response:
    chosen = {k: page.arg(k) for k in ("since", "until")}
    error, rows = None, []
    try:
        rows = spectrum.spectrum(web.catalog, page.principal, _time(page, "since"),
                                 _time(page, "until"))
    except CatalogError as exc:
        if exc.code != "BAD_INPUT":
            raise
        error = exc.message
    chart, height = bars(rows)
    return web.render(page, "spectrum.html", 400 if error else 200, chosen=chosen,
                      error=error, bars=chart, height=height, colours=COLOURS,
                      bar_w=BAR_W, row_h=ROW_H, label_w=LABEL_W,
                      totals=spectrum.totals(rows))


ROUTES = [("/spectrum", spectrum_page, ["GET"], False)]
