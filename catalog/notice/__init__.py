"""The customer notice (docs/semantics.md §15) as Markdown or HTML, from services.transparency's
Notice. Shared by `catalog notice` and the /notice page; the templates only lay out what the
service decided."""

from __future__ import annotations

from functools import cache

import jinja2

from catalog.errors import BadInput
from catalog.services.transparency import NO_BENEFIT, Notice, NoticeCategory, NoticeUse

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

# The default channels in a customer's words; other channels by their key and description.
CHANNEL_WORDS = {
    "email": "e-mail", "in_app": "our app", "web": "our website",
    "call_center": "calls with our service team", "internal": "our internal systems",
    "sms": "text messages", "push": "app notifications", "direct_mail": "letters",
    "in_store": "our stores", "ads": "advertisements",
}


@cache
def _env(autoescape: bool) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("catalog.notice", "templates"),
        autoescape=autoescape, trim_blocks=True, lstrip_blocks=True,
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True)


def render(notice: Notice, fmt: str = "markdown", *, console: bool = False) -> str:
    """The notice as text; `console` adds, above the HTML page, a thin bar back to the
    reviewer console (the /notice page for a signed-in reviewer), nothing else changes."""
    if fmt not in FORMATS:
        raise BadInput(f"unknown notice format {fmt!r}: use markdown or html")
    html = fmt == "html"
    template = _env(html).get_template("notice.html" if html else "notice.md")
    tiers = [{"key": key, "title": TIERS[key][0], "intro": TIERS[key][1],
              "categories": [_category(e, notice.channels) for e in entries.values()]}
             for key, entries in notice.tiers.items() if entries]
    return template.render(tiers=tiers, revision=notice.revision, console=console)


def _category(entry: NoticeCategory, channels: dict[str, str]) -> dict:
    return {"label": entry.label, "description": entry.description,
            "uses": [_use(entry.uses[p], channels) for p in sorted(entry.uses)]}


def _use(use: NoticeUse, channels: dict[str, str]) -> dict:
    """What the templates print for one use: words, not keys."""
    def named(keys) -> str:
        return ", ".join(CHANNEL_WORDS.get(c) or channels[c] for c in sorted(keys))

    where = "everywhere" if use.channels == set(channels) else named(use.channels)
    consent = None
    if use.consent_channels:
        consent = "only with your consent" if use.consent_channels == use.channels else \
            "only with your consent for " + named(use.consent_channels)
    stated = sorted(b for b in use.benefits if b != NO_BENEFIT)
    return {"label": use.label, "where": where, "consent": consent, "benefits": stated,
            "unstated": NO_BENEFIT in use.benefits}
