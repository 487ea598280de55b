"""The customer notice (CONTRACT §15) as Markdown or HTML, from services.transparency's
Notice. Shared by `catalog notice` and the /notice page; the templates only lay out what the
service decided."""

from __future__ import annotations

from functools import cache

import jinja2

from catalog.services.transparency import Notice

FORMATS = ("markdown", "html")

TIERS = {
    "utility": ("Making the service work",
                "We use this data to provide what you asked for and to make our site and app "
                "work for you while you use them."),
    "relationship": ("Building on our relationship",
                     "We use your history with us to remember what you like and to tell you "
                     "about things you may want."),
    "surveillance": ("Uses that go further",
                     "These uses build a profile of you, predict things about you or share "
                     "data with others. We list them plainly so you can see them."),
}


@cache
def _env(autoescape: bool) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("catalog.notice", "templates"),
        autoescape=autoescape, trim_blocks=True, lstrip_blocks=True,
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True)


def render(notice: Notice, fmt: str = "markdown") -> str:
    if fmt not in FORMATS:
        from catalog.errors import BadInput
        raise BadInput(f"unknown notice format {fmt!r}: use markdown or html")
    html = fmt == "html"
    template = _env(html).get_template("notice.html" if html else "notice.md")
    tiers = [(key, *TIERS[key], entries) for key, entries in notice.tiers.items() if entries]
    return template.render(tiers=tiers, revision=notice.revision)
