"""The customer notice (semantics §15) over random catalogs: it lists exactly the uses a check
allows (never one a rule or the lineage blocks), each under the intensity the check gives it,
with the governing grant's benefit. And it renders as Markdown and HTML."""

from __future__ import annotations

from dataclasses import replace

from engine_strategies import TAXONOMY, worlds
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog import notice as render
from catalog.domain.index import CatalogIndex, governing_grant
from catalog.domain.rules import rule_from_spec
from catalog.services.auth import Principal
from catalog.services.transparency import NO_BENEFIT, _leaves, build_notice

READER = Principal("reviewer")
BENEFITS = [None, "Shows you your size first.", "Finds your order again <fast> & easily."]
MANDATE = {"effect": "DENY", "unstated_benefit": True, "purposes": ["marketing"]}


def notice_of(index: CatalogIndex):
    """build_notice on a snapshot alone (no database: the catalog is never asked)."""
    return build_notice(None, READER, index=index)


@st.composite
def catalogs(draw):
    world = draw(worlds(max_nodes=6))
    for name, rec in list(world.fields.items()):
        grants = tuple(replace(g, customer_benefit=draw(st.sampled_from(BENEFITS)))
                       for g in rec.grants)
        world.fields[name] = replace(rec, grants=grants)
    if draw(st.booleans()):
        world.rules = {**world.rules, "transparency-mandate": MANDATE}
    return world


def listed(notice) -> set[tuple[str, str, str, str]]:
    return {(tier, cat_key, use.purpose, channel)
            for tier, entries in notice.tiers.items()
            for cat_key, entry in entries.items()
            for use in entry.uses.values() for channel in use.channels}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(world=catalogs())
def test_the_notice_lists_exactly_the_allowed_uses(world):
    notice = notice_of(world.index())
    fresh = world.index()  # checks from another index: no shared cache
    expected: set[tuple[str, str, str, str]] = set()
    benefits: dict[tuple[str, str, str], set[str]] = {}
    for name, rec in world.fields.items():
        for p in _leaves(TAXONOMY.purposes):
            for c in _leaves(TAXONOMY.channels):
                d = fresh.check(name, p, c)
                if not d.allowed:
                    continue
                g = governing_grant(rec.grants, p)
                for cat_key in d.effective_categories:
                    expected.add((d.intensity, cat_key, p, c))
                    benefits.setdefault((d.intensity, cat_key, p), set()).add(
                        g.customer_benefit or NO_BENEFIT)
    assert listed(notice) == expected
    for tier, entries in notice.tiers.items():
        for cat_key, entry in entries.items():
            for use in entry.uses.values():
                assert use.benefits == benefits[(tier, cat_key, use.purpose)]
    # Nothing denied leaks into the rendered text either: a field name never appears, and
    # each benefit shown belongs to an allowed use.
    html = render.render(notice, "html")
    markdown = render.render(notice, "markdown")
    shown = {b for bs in benefits.values() for b in bs}
    for benefit in BENEFITS[1:]:
        assert (benefit in markdown) == (benefit in shown)
        escaped = benefit.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        assert (escaped in html) == (benefit in shown)
    assert "<fast>" not in html


def test_the_mandate_takes_unstated_uses_out_of_the_notice():
    rule = rule_from_spec("transparency-mandate", MANDATE, TAXONOMY)
    from catalog.domain.model import FieldRecord, Grant
    fields = [FieldRecord("crm.c.size", "internal.preferences", "zero_party", "crm", grants=(
        Grant("marketing.advertising", ("email",)),
        Grant("personalization", ("web",), customer_benefit="Shows your size first.")))]
    without = notice_of(CatalogIndex.build(TAXONOMY, [], fields, []))
    with_rule = notice_of(CatalogIndex.build(TAXONOMY, [rule], fields, []))
    purposes = lambda n: {p for *_, p, _c in listed(n)}  # noqa: E731
    assert {"marketing.advertising", "personalization.recommendations"} <= purposes(without)
    assert "marketing.advertising" not in purposes(with_rule)
    assert "personalization.recommendations" in purposes(with_rule)
    text = render.render(without, "markdown")
    assert "No benefit stated." in text and "Shows your size first." in text
