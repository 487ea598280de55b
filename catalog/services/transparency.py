"""Transparency (docs/semantics.md §15): grants that state no customer benefit although their use is
relationship or surveillance, and the customer notice built from what the catalog allows."""

from __future__ import annotations

import threading
import weakref
from bisect import bisect_right
from dataclasses import dataclass, field

from catalog.domain.index import CatalogIndex, governing_grant
from catalog.domain.intensity import INTENSITIES, RANK
from catalog.domain.names import covers
from catalog.errors import BadInput
from catalog.services.auth import Principal, require
from catalog.services.browse import _page_size, decode_cursor, encode_cursor
from catalog.services.checks import snapshot
from catalog.services.core import Catalog

GAP_FLOOR = RANK["relationship"]


@dataclass(frozen=True, slots=True)
class Gap:
    field: str
    purpose: str
    intensity: str


def grant_intensities(index: CatalogIndex, name: str) -> dict[str, str | None]:
    """Each grant's intensity on one field, by purpose (None: a purpose no longer in the
    taxonomy)."""
    rec = index.fields[name]
    if not rec.grants:
        return {}
    spectrum = index.taxonomy.spectrum
    categories = frozenset(index.effective_categories(name))
    return {g.purpose: spectrum.of_grant(g.purpose, categories) for g in rec.grants}


def field_gaps(index: CatalogIndex, name: str) -> list[Gap]:
    """One field's gaps, by purpose. A blank benefit is stored as none."""
    rec = index.fields[name]
    if all(g.customer_benefit for g in rec.grants):
        return []
    levels = grant_intensities(index, name)
    return [Gap(name, g.purpose, levels[g.purpose]) for g in rec.grants
            if not g.customer_benefit and levels[g.purpose] is not None
            and RANK[levels[g.purpose]] >= GAP_FLOOR]


def find_gaps(index: CatalogIndex) -> list[Gap]:
    """Every gap, by field and purpose."""
    return [gap for name in sorted(index.fields) for gap in field_gaps(index, name)]


def field_transparency(cat: Catalog, principal: Principal, name: str, *,
                       index: CatalogIndex | None = None
                       ) -> tuple[dict[str, str | None], list[Gap]]:
    """For the field page: each grant's intensity and the field's gaps (those
    transparencyGaps lists for it), from one snapshot."""
    require(principal, "read")
    index = snapshot(cat, index)
    if name not in index.fields:
        return {}, []
    return grant_intensities(index, name), field_gaps(index, name)


# The gaps of the latest snapshot asked about, per catalog: paging a reviewer through them
# costs one scan of the catalog per revision, not one per page. Snapshots are immutable, so
# the one the list was made from says whether it still holds.
_gaps: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_gaps_lock = threading.Lock()


def _gaps_of(cat: Catalog, index: CatalogIndex) -> list[Gap]:
    with _gaps_lock:
        hit = _gaps.get(cat)
    if hit is not None and hit[0] is index:
        return hit[1]
    gaps = find_gaps(index)
    with _gaps_lock:
        _gaps[cat] = (index, gaps)
    return gaps


def gaps_page(cat: Catalog, principal: Principal, first: int = 50, after: str | None = None,
              *, index: CatalogIndex | None = None) -> tuple[list[Gap], str | None, bool]:
    require(principal, "read")
    first = _page_size(first)
    raw = decode_cursor(after)
    gaps = _gaps_of(cat, snapshot(cat, index))
    start = 0
    if raw is not None:
        name, space, purpose = raw.partition(" ")  # names and keys hold no spaces
        if not space:
            raise BadInput("invalid cursor: pass the endCursor of the previous page")
        start = bisect_right(gaps, (name, purpose), key=lambda g: (g.field, g.purpose))
    page = gaps[start:start + first]
    cursor = encode_cursor(f"{page[-1].field} {page[-1].purpose}") if page else None
    return page, cursor, start + first < len(gaps)


# -- the customer notice ----------------------------------------------------------------------
NO_BENEFIT = "no benefit stated"


@dataclass
class NoticeUse:
    """One purpose a category of data is used for, within one tier."""

    purpose: str
    label: str
    channels: set[str] = field(default_factory=set)
    benefits: set[str] = field(default_factory=set)
    consent_channels: set[str] = field(default_factory=set)


@dataclass
class NoticeCategory:
    key: str
    label: str
    description: str | None
    uses: dict[str, NoticeUse] = field(default_factory=dict)


@dataclass
class Notice:
    revision: int
    tiers: dict[str, dict[str, NoticeCategory]]  # intensity -> category key -> entry
    channels: dict[str, str]  # every leaf channel -> its name in words


def _leaves(keys) -> list[str]:
    keys = sorted(keys)
    return [k for k in keys if not any(o.startswith(k + ".") for o in keys)]


def _description(index: CatalogIndex, kind: str, key: str) -> str | None:
    """The key's own description, else its nearest ancestor's."""
    desc = index.taxonomy.descriptions
    while key:
        if (kind, key) in desc:
            return desc[(kind, key)]
        key = key.rpartition(".")[0]
    return None


def label(key: str) -> str:
    """personalization.recommendations -> Personalization: recommendations."""
    parts = key.replace("_", " ").split(".")
    return ": ".join([parts[0].capitalize(), *parts[1:]])


def build_notice(cat: Catalog, principal: Principal, *,
                 index: CatalogIndex | None = None) -> Notice:
    """Every allowed (field, leaf purpose, leaf channel) decision, by its intensity and each
    effective category. Only allowed decisions contribute: a use a rule or the lineage
    blocks never appears. One snapshot throughout: one revision.

    Only the cells a field's own grants cover are checked: a decision is allowed only
    without reasons, and step 3 of docs/semantics.md §3 gives one (PURPOSE_NOT_GRANTED or
    CHANNEL_NOT_PERMITTED) to every cell whose governing grant is missing or does not cover
    the channel. A field with two grants checks a handful of cells, not all ~120."""
    require(principal, "read")
    index = snapshot(cat, index)
    tax = index.taxonomy
    purposes, channels = _leaves(tax.purposes), _leaves(tax.channels)
    tiers: dict[str, dict[str, NoticeCategory]] = {i: {} for i in INTENSITIES}
    for name in sorted(index.fields):
        rec = index.fields[name]
        if rec.deprecated:  # FIELD_DEPRECATED: nothing of it can be allowed
            continue
        for purpose, channel, grant in granted_cells(rec.grants, purposes, channels):
            # allowed() answers from the grant and lineage bit masks and the rules, without
            # building reasons (an upstream path search each for a cell the lineage denies);
            # the full decision, for its intensity and obligations, only where it allows.
            if index.allowed(name, purpose, channel):
                d = index.check(name, purpose, channel)
                _add(index, tiers[d.intensity], d, grant.customer_benefit or NO_BENEFIT)
    return Notice(index.revision, {k: dict(sorted(v.items())) for k, v in tiers.items()},
                  {c: _channel_label(index, c) for c in channels})


# The notice of the latest snapshot asked about, per catalog, as for the gaps: a page reload
# costs nothing until the catalog changes (a notice is a pass over the whole catalog).
_notices: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def current_notice(cat: Catalog, principal: Principal) -> Notice:
    require(principal, "read")
    index = snapshot(cat, None)
    with _gaps_lock:
        hit = _notices.get(cat)
    if hit is not None and hit[0] is index:
        return hit[1]
    built = build_notice(cat, principal, index=index)
    with _gaps_lock:
        _notices[cat] = (index, built)
    return built


def granted_cells(grants, purposes: list[str], channels: list[str]):
    """(leaf purpose, leaf channel, governing grant) for every cell a field's grants cover:
    the purpose under the grant with no more specific grant of the field governing it, the
    channel within the grant's channel list (none: every channel)."""
    for grant in grants:
        for purpose in purposes:
            if not covers(grant.purpose, purpose) or governing_grant(grants, purpose) is not grant:
                continue
            for channel in channels:
                if grant.covers_channel(channel):
                    yield purpose, channel, grant


def _add(index: CatalogIndex, tier: dict[str, NoticeCategory], d, benefit: str) -> None:
    for cat_key in d.effective_categories:
        entry = tier.get(cat_key)
        if entry is None:
            entry = tier[cat_key] = NoticeCategory(
                cat_key, label(cat_key), _description(index, "category", cat_key))
        use = entry.uses.get(d.purpose)
        if use is None:
            use = entry.uses[d.purpose] = NoticeUse(d.purpose, _purpose_label(index, d.purpose))
        use.channels.add(d.channel)
        use.benefits.add(benefit)
        if d.obligations:
            use.consent_channels.add(d.channel)


def _channel_label(index: CatalogIndex, channel: str) -> str:
    desc = index.taxonomy.descriptions.get(("channel", channel))
    words = channel.replace("_", " ").replace(".", " ")
    return f"{words} ({desc})" if desc else words


def _purpose_label(index: CatalogIndex, purpose: str) -> str:
    desc = index.taxonomy.descriptions.get(("purpose", purpose))
    return f"{label(purpose)} ({desc})" if desc else label(purpose)
