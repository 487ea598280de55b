"""Transparency (docs/semantics.md §15) and the overcrowding watch in the console: the field
page's gaps and benefits, /gaps, /notice and /overcrowding. SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections import defaultdict
from html import escape, unescape

from web_helpers import Browser, signed_in

from catalog import notice
from catalog.services import audit, checks, decision_log, policy, transparency
from catalog.services.auth import SYSTEM, Principal, create_token
from catalog.services.transparency import _leaves, _purpose_label, build_notice
from catalog.web.views import transparency as gaps_view

CHURN = "ml.scores.churn_risk"  # marketing.direct by email, no benefit stated: a gap
GAP_ITEM = re.compile(r'<li class="gap" data-purpose="([^"]+)" data-intensity="([^"]+)">')
GAP_ROW = re.compile(r'<tr class="gap-row">\s*<td><a class="mono" href="/fields/([^"#]+)#gaps">'
                     r'[^<]*</a></td>\s*<td><span class="grant">([^<]+)</span></td>\s*'
                     r'<td><span class="tag \w+">(\w+)</span></td>\s*<td>([^<]*)</td>')


def page_gaps(html: str) -> list[tuple[str, str]]:
    return GAP_ITEM.findall(html)


def listed_gaps(b: Browser) -> list[tuple[str, str, str, str]]:
    """Every row of /gaps, following the pages."""
    rows, address = [], "/gaps"
    while address:
        r = b.get(address)
        assert r.status_code == 200
        rows += GAP_ROW.findall(r.text)
        nxt = re.search(r'href="(/gaps\?after=[^"]+)"', r.text)
        address = unescape(nxt.group(1)) if nxt else None
    return rows


def test_field_page_shows_its_gaps_and_they_go_once_a_benefit_is_stated(demo_catalog, tokens):
    cat = demo_catalog
    ml_owner = create_token(cat, SYSTEM, role="owner", scope="ml.", name="ml-team")[1]
    b = Browser(cat, {**tokens, "ml": ml_owner})
    b.sign_in("ml")
    html = b.get(f"/fields/{CHURN}").text
    expected = transparency.field_gaps(cat.index, CHURN)
    assert expected and page_gaps(html) == [(g.purpose, g.intensity) for g in expected]
    assert "no customer benefit stated" in html and 'name="customer_benefit"' in html
    # Each grant shows its intensity and benefit.
    analytics = re.search(r'<span class="grant">analytics</span></td>\s*<td><span class="tag '
                          r'(\w+)">', html)
    assert analytics and analytics.group(1) == "surveillance"
    assert "Lets our support team notice when something went wrong" in html
    # The same gaps on /gaps, and nowhere a gap the service does not list.
    everything = [(g.field, g.purpose, g.intensity) for g in transparency.find_gaps(cat.index)]
    assert [r[:3] for r in listed_gaps(b)] == everything
    # A reviewer sees the gaps but no form to state a benefit.
    reviewer = signed_in(cat, tokens, "reviewer").get(f"/fields/{CHURN}").text
    assert page_gaps(reviewer) == page_gaps(html) and 'name="customer_benefit"' not in reviewer
    # Stating the benefit through the gap's own form keeps the grant's channels and consent.
    before = cat.index.get(CHURN).grant_for("marketing.direct")
    form = re.search(r'<form method="post" action="([^"]+)" class="benefit-form">(.*?)</form>',
                     html, re.S)
    fields = dict(re.findall(r'type="hidden" name="(purpose|requires_consent)" value="([^"]*)"',
                             form.group(2)))
    channels = re.findall(r'name="channels" value="([^"]+)"', form.group(2))
    r = b.post(form.group(1), {**fields, "channels": channels,
                               "customer_benefit": " Tells you when you may want to come back. "})
    assert r.status_code == 303 and "rev=" in r.headers["location"]
    after = cat.index.get(CHURN).grant_for("marketing.direct")
    assert after.customer_benefit == "Tells you when you may want to come back."
    assert (after.channels, after.requires_consent) == (before.channels, before.requires_consent)
    html = b.get(r.headers["location"]).text
    assert page_gaps(html) == [] and 'id="gaps"' not in html
    assert "Tells you when you may want to come back." in html
    assert (CHURN, "marketing.direct") not in {r[:2] for r in listed_gaps(b)}


def test_grant_form_states_a_benefit_and_refuses_a_long_one(demo_catalog, tokens):
    b = signed_in(demo_catalog, tokens, "owner")
    field = "crm.customers.email"
    r = b.post(f"/fields/{field}/grant", {"purpose": "personalization.recommendations",
                                          "channels": ["web"], "customer_benefit": "x" * 501})
    assert r.status_code == 400 and "at most 500" in r.text and 'value="' + "x" * 501 in r.text
    assert demo_catalog.index.get(field).grant_for("personalization.recommendations") is None
    r = b.post(f"/fields/{field}/grant", {"purpose": "personalization.recommendations",
                                          "channels": ["web"], "customer_benefit": ""})
    assert r.status_code == 303
    html = b.get(f"/fields/{field}").text
    assert ("personalization.recommendations", "relationship") in page_gaps(html)
    r = b.post(f"/fields/{field}/grant", {"purpose": "personalization.recommendations",
                                          "channels": ["web"],
                                          "customer_benefit": "Suggests things <you> like."})
    html = b.get(f"/fields/{field}").text
    assert page_gaps(html) == [] and "Suggests things &lt;you&gt; like." in html


def test_gaps_page_is_paged_links_each_field_and_names_owners(demo_catalog, tokens,
                                                              monkeypatch):
    monkeypatch.setattr(gaps_view, "PAGE_SIZE", 6)
    b = signed_in(demo_catalog, tokens, "owner")
    first = b.get("/gaps")
    assert 'href="/gaps" class="on"' in first.text and "Transparency gaps" in first.text
    assert len(GAP_ROW.findall(first.text)) == 6
    rows = listed_gaps(b)
    index = demo_catalog.index
    assert [r[:3] for r in rows] == [(g.field, g.purpose, g.intensity)
                                     for g in transparency.find_gaps(index)]
    assert all(owner == index.get(name).owner for name, _, _, owner in rows)
    assert b.get("/gaps?after=nonsense").status_code == 400


def test_gaps_page_says_when_there_is_none(demo_catalog, tokens):
    for g in transparency.find_gaps(demo_catalog.index):
        from catalog.services import fields
        old = demo_catalog.index.get(g.field).grant_for(g.purpose)
        fields.grant_purpose(demo_catalog, SYSTEM, g.field, fields.normalize_grant(
            g.purpose, old.channels, old.requires_consent, "Stated for the test."))
    html = signed_in(demo_catalog, tokens, "reviewer").get("/gaps").text
    assert GAP_ROW.findall(html) == [] and "No gap" in html


def allowed_purposes(cat) -> set[str]:
    """Leaf purposes some field may be used for in some leaf channel, by check itself."""
    tax = cat.index.taxonomy
    cells = [(f, p, c) for f in cat.index.fields for p in _leaves(tax.purposes)
             for c in _leaves(tax.channels)]
    return {p for (_, p, _), d in zip(cells, checks.check_many(cat, SYSTEM, cells), strict=True)
            if d.allowed}


def shown_purposes(cat, html: str) -> set[str]:
    index = cat.index
    return {p for p in _leaves(index.taxonomy.purposes)
            if f"<strong>{escape(_purpose_label(index, p))}</strong>" in html}


def test_notice_is_a_console_page_listing_only_allowed_uses(demo_catalog, tokens):
    cat = demo_catalog
    r = Browser(cat, tokens).get("/notice")
    assert r.status_code == 303 and r.headers["location"] == "/signin?next=%2Fnotice"
    b = signed_in(cat, tokens, "owner")
    r = b.get("/notice")
    assert r.status_code == 200 and "How we use your data" in r.text
    assert r.headers["content-security-policy"].startswith("default-src 'self'")
    assert r.text == notice.render(build_notice(cat, SYSTEM), "html", console=True)
    assert 'class="console-bar"' in r.text and "crm.customers" not in r.text
    assert shown_purposes(cat, r.text) == allowed_purposes(cat)
    assert "No benefit stated." in r.text  # marketing.direct on the churn score, for one
    # The mandate denies marketing without a stated benefit: those uses leave the notice.
    policy.upsert_rule(cat, SYSTEM, "transparency-mandate", {
        "effect": "DENY", "unstated_benefit": True, "purposes": ["marketing"]})
    after = b.get("/notice").text
    assert after == notice.render(build_notice(cat, SYSTEM), "html", console=True)
    assert shown_purposes(cat, after) == allowed_purposes(cat)
    assert after != r.text
    # A machine fetches it with its token, without the console's bar.
    machine = Browser(cat, tokens).client.get(
        "/notice", headers={"Authorization": f"Bearer {tokens['reviewer']}"})
    assert machine.status_code == 200 and 'class="console-bar"' not in machine.text
    assert machine.text == notice.render(build_notice(cat, SYSTEM), "html")


CALLERS = {"mail-team": [("crm.customers.email", "marketing.direct", "email")] * 3,
           "loyalty-team": [("crm.customers.email", "marketing.direct", "email"),
                            ("dwh.marts.audiences.baby_club_member", "marketing.direct",
                             "email")],
           "ads-team": [("crm.customers.email", "marketing.direct", "email"),
                        ("shop.web.tracking.ad_pixel_id", "marketing.advertising", "ads"),
                        ("crm.customers.email", "service.delivery", "email")],
           "web-team": [("shop.web.tracking.ad_pixel_id", "marketing.advertising", "ads")]}


def test_overcrowding_counts_what_was_checked_and_flags_crowded_channels(demo_catalog, tokens):
    recorder = decision_log.enable(demo_catalog)
    expected: dict[tuple[str, str], list] = defaultdict(lambda: [set(), 0, 0])
    for caller, cells in CALLERS.items():
        decisions = checks.check_many(demo_catalog, Principal("pipeline", name=caller), cells)
        for (_, purpose, channel), d in zip(cells, decisions, strict=True):
            if purpose.startswith("marketing"):
                row = expected[(channel, purpose)]
                row[0].add(caller)
                row[1] += 1
                row[2] += d.allowed
    recorder.flush()
    b = signed_in(demo_catalog, tokens, "reviewer")
    r = b.get("/overcrowding")
    assert r.status_code == 200 and 'href="/overcrowding" class="on"' in r.text
    since = re.search(r'name="since" value="(\d{4}-\d\d-\d\d)"', r.text)
    assert since, "the period defaults to the last 30 days"
    shown = {(m[0], m[1]): (int(m[2]), int(m[3]), int(m[4]), m[5])
             for m in re.findall(r'<tr class="(?:crowded)?" data-channel="([^"]+)" '
                                 r'data-purpose="([^"]+)">.*?class="right n-callers">(\d+)<.*?'
                                 r'class="right n-decisions">(\d+)<.*?class="right n-allowed">'
                                 r'(\d+)<.*?<td>(.*?)</td>\s*</tr>', r.text, re.S)}
    assert shown == {key: (len(who), n, ok, '<span class="tag amber">crowded</span>'
                           if len(who) >= audit.CROWDED_CALLERS else "")
                     for key, (who, n, ok) in expected.items()}
    assert ("email", "marketing.direct") in shown and shown[("email", "marketing.direct")][3]
    lower = b.get("/overcrowding?crowded=2").text
    assert lower.count('<tr class="crowded"') == sum(1 for w, _, _ in expected.values()
                                                     if len(w) >= 2)
    assert "No marketing decision" in b.get("/overcrowding?since=2999-01-01").text
    bad = b.get("/overcrowding?since=last+week")
    assert bad.status_code == 400 and "ISO 8601" in bad.text and 'name="since"' in bad.text
    assert b.get("/overcrowding?crowded=0").status_code == 400
    owner = signed_in(demo_catalog, tokens, "owner").get("/overcrowding")
    assert owner.status_code == 403 and "may not read the decision log" in owner.text


def test_console_checks_stay_out_of_the_decision_log(demo_catalog, tokens):
    """A reviewer looking at a decision is not a use of the data (semantics §10: decisions
    answered over the API): the /check page and the matrix cells count nothing."""
    recorder = decision_log.enable(demo_catalog)
    b = signed_in(demo_catalog, tokens, "reviewer")
    cell = {"field": CHURN, "purpose": "marketing.direct", "channel": "email"}
    assert b.get("/check", params=cell).status_code == 200
    assert b.get(f"/fields/{CHURN}/reasons", params={k: cell[k] for k in
                                                     ("purpose", "channel")}).status_code == 200
    checks.check(demo_catalog, Principal("pipeline", name="crm-campaigns"), *cell.values())
    recorder.flush()
    page = b.get("/overcrowding").text
    assert re.search(r'data-channel="email" data-purpose="marketing.direct">.*?'
                     r'n-callers">1<.*?n-decisions">1<', page, re.S), page
