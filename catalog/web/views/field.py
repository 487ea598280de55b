"""/fields/{name}: one field — attributes, effective categories and where they come from,
grants with their intensity and customer benefit (owners grant and revoke here), its
transparency gaps (docs/semantics.md §15), the purpose x channel matrix, history, lineage."""

from __future__ import annotations

from starlette.responses import RedirectResponse, Response

from catalog.domain.decision import CODE_ORDER
from catalog.errors import BadInput, CatalogError, NotFound
from catalog.services import browse, checks, fields, inspect, lineage, transparency
from catalog.web.console import STATUS, Console, Page
from catalog.web.lineage import picture
from catalog.web.present import field_url, summary

DEFAULT_DEPTH, MAX_DEPTH = 3, 10
PRIVACY_ORDER = {"private": 0, "shared": 1, "public": 2}


def parse_depth(text: str) -> int:
    if not text:
        return DEFAULT_DEPTH
    if not text.isdigit() or not 1 <= int(text) <= MAX_DEPTH:
        raise BadInput(f"depth must be a whole number from 1 to {MAX_DEPTH}, not {text[:20]!r}")
    return int(text)


def lineage_picture(web: Console, page: Page, name: str, direction: str, depth: int,
                    purpose: str, channel: str, failing_paths=()):
    cat, who = web.catalog, page.principal
    result = lineage.lineage(cat, who, name, direction, depth)
    cats = inspect.field_categories(cat, who, result.nodes)
    states = inspect.statuses(cat, who, result.nodes, purpose, channel) \
        if purpose and channel else None
    return picture(result, cats, states, failing_paths=failing_paths)


def matrix(web: Console, page: Page, name: str):
    """Rows of (purpose, [(channel, status, summary)]), channels private to public."""
    tax = web.catalog.index.taxonomy
    channels = sorted(tax.channels, key=lambda c: (PRIVACY_ORDER.get(tax.channels[c], 9), c))
    decisions = {(d.purpose, d.channel): d
                 for d in checks.usage_matrix(web.catalog, page.principal, name)}
    rows = []
    for p in sorted(tax.purposes):
        cells = []
        for c in channels:
            d = decisions[(p, c)]
            # Distinct codes and rules only: a deep field can have hundreds of reasons.
            kinds = sorted({(CODE_ORDER[r.code], r.code, r.rule or "") for r in d.reasons})
            codes = ", ".join(f"{c} {rule}".rstrip() for _, c, rule in kinds)
            cells.append((c, inspect.status_of(d), codes or ", ".join(d.obligations)))
        rows.append((p, cells))
    return [(c, tax.channels[c]) for c in channels], rows


def field_page(web: Console, page: Page, *, status: int = 200, form_error: str | None = None,
               typed: dict | None = None) -> Response:
    cat, who = web.catalog, page.principal
    name = page.request.path_params["name"]
    rev = page.arg("rev")
    if rev.isdigit():
        inspect.at_least(cat, who, int(rev))
    rec = checks.get_field(cat, who, name)
    if rec is None:
        raise NotFound(f"field {name!r} is not in the catalog: search for it on /fields")
    purpose, channel = page.arg("purpose"), page.arg("channel")
    keys = inspect.taxonomy_keys(cat, who)
    lineage_error = None
    try:
        depth = parse_depth(page.arg("depth"))
        for kind, key in (("purpose", purpose), ("channel", channel)):
            if key:
                cat.index.taxonomy.require(kind, key)
    except BadInput as exc:
        lineage_error, depth, purpose, channel = exc.message, DEFAULT_DEPTH, "", ""
        status = 400
    channels, rows = matrix(web, page, name)
    history, _, more_history = browse.history_page(cat, who, name, first=10)
    intensities, gaps = transparency.field_transparency(cat, who, name)
    return web.render(
        page, "field.html", status, rec=rec, keys=keys, depth=depth,
        purpose=purpose, channel=channel, lineage_error=lineage_error,
        origins=inspect.category_origins(cat, who, name),
        upstream=cat.index.upstream(name), downstream=cat.index.downstream(name),
        channels=channels, rows=rows, intensities=intensities, gaps=gaps, history=history,
        more_history=more_history,
        pic=lineage_picture(web, page, name, "BOTH", depth, purpose, channel),
        can_write=inspect.may_write(who, name), form_error=form_error, typed=typed or {},
        field_url=field_url, summary=summary)


def show(web: Console, page: Page) -> Response:
    return field_page(web, page)


def grant(web: Console, page: Page) -> Response:
    name = page.request.path_params["name"]
    typed = {"purpose": page.value("purpose"), "channels": page.values("channels"),
             "consent": bool(page.value("requires_consent")),
             "benefit": page.value("customer_benefit")}
    try:
        if not typed["purpose"]:
            raise BadInput("choose the purpose to grant")
        g = fields.normalize_grant(typed["purpose"], typed["channels"] or None,
                                   typed["consent"], typed["benefit"] or None)
        rec = fields.grant_purpose(web.catalog, page.principal, name, g)
    except CatalogError as exc:
        return form_failed(web, page, exc, typed)
    return RedirectResponse(field_url(name, rev=rec.revision) + "#grants", 303)


def revoke(web: Console, page: Page) -> Response:
    name = page.request.path_params["name"]
    try:
        rec = fields.revoke_purpose(web.catalog, page.principal, name, page.value("purpose"))
    except CatalogError as exc:
        return form_failed(web, page, exc, {})
    return RedirectResponse(field_url(name, rev=rec.revision) + "#grants", 303)


def form_failed(web: Console, page: Page, exc: CatalogError, typed: dict) -> Response:
    """The field page again, the message next to the grants, what was typed kept."""
    if web.catalog.index.get(page.request.path_params["name"]) is None:
        raise exc  # no page to show it on
    return field_page(web, page, status=STATUS.get(exc.code, 400), form_error=exc.message,
                      typed=typed)


def reasons(web: Console, page: Page) -> Response:
    """One matrix cell's decision, as a fragment the page's script shows on demand."""
    name = page.request.path_params["name"]
    d = checks.check(web.catalog, page.principal, name, page.arg("purpose"), page.arg("channel"),
                     logged=False)
    return web.render(page, "_reasons.html", d=d, verdict=inspect.status_of(d))


ROUTES = [
    ("/fields/{name}", show, ["GET"], False),
    ("/fields/{name}/reasons", reasons, ["GET"], False),
    ("/fields/{name}/grant", grant, ["POST"], False),
    ("/fields/{name}/revoke", revoke, ["POST"], False),
]
