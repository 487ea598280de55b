"""Section `engine` (issue 3): the in-process decision engine against a plain dict lookup of
precomputed answers for the same requests, and the cost of one write + index update.

- build: CatalogIndex.build over the synthetic catalog (what a server does at start-up).
- check, cold: every request is one the index has never been asked (distinct random
  field/purpose/channel), so nothing is cached; warm: the same requests asked again.
- check_many: the same, in batches of 1,000.
- dict lookup: `answers[f, p, c]` over the same requests in the same loop shape; the engine's
  rate divided by it is the ratio the target (>= 0.25) is about.
- writes: index.apply of one changed field's grants, and of one new edge (validated for
  cycles first, as the service does), p50/p99.
- notice (issue 14): the customer notice (services.transparency.build_notice: only the cells
  a field's grants cover, `allowed` first, a full decision only where allowed) on a fresh
  index of `notice_fields` fields, CPU seconds, against the way it was first built: every
  leaf purpose a field's grants govern times every leaf channel, each a full check, on
  another fresh index. Both produce the same notice (the run says if not).
- deep (issue 8): the deep shape's edges added to an index of its fields in batches of 5,000
  (validate + apply, as addLineages does), total and slowest batch; then single new edges
  from an earlier field to a later one on the loaded graph, p50/p99.
"""

from __future__ import annotations

import gc
import random
import time
from dataclasses import replace

from bench import synth
from bench.report import Row, at_least, percentile
from catalog.domain.index import CatalogIndex, governing_grant
from catalog.domain.intensity import INTENSITIES
from catalog.domain.model import Edge, Grant
from catalog.services import transparency
from catalog.services.auth import Principal

SECTION = "engine"
TARGET_RATIO = 0.25
TARGET_WRITE_MS = 20.0


def timed_rate(fn, count: int, repeat: int = 1) -> float:
    """Best of `repeat` runs of fn(), each doing `count` decisions: decisions per second."""
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return count / best


def run(cfg) -> list[Row]:
    n_fields, n_edges = cfg.engine_size
    rng = random.Random(cfg.seed)
    t0 = time.perf_counter()
    cat = synth.generate(n_fields, n_edges, seed=cfg.seed)
    gen_s = time.perf_counter() - t0
    tax = synth.seed_taxonomy()
    rules = synth.seed_rules(tax)
    size = f"{len(cat.fields):,} fields / {len(cat.edges):,} edges"
    cfg.log(f"engine: generated {size} in {gen_s:.1f} s; building the index")

    gc.collect()
    t0 = time.perf_counter()
    index = CatalogIndex.build(tax, rules, cat.fields, cat.edges, revision=1)
    build_s = time.perf_counter() - t0
    rows = [Row(SECTION, f"index build ({size})", build_s, "s")]

    names = cat.names
    n_single, n_batches = cfg.engine_requests, cfg.engine_batches
    total = n_single + n_batches * 1000
    reqs = synth.random_requests(rng, names, cat.purposes, cat.channels, total, distinct=True)
    single, batched = reqs[:n_single], reqs[n_single:]
    batches = [batched[i:i + 1000] for i in range(0, len(batched), 1000)]
    check, check_many = index.check, index.check_many

    def ask_single():
        for f, p, c in single:
            check(f, p, c)

    def ask_batches():
        for b in batches:
            check_many(b)

    cfg.log(f"engine: {n_single:,} cold checks, {len(batches)} cold batches of 1,000")
    cold_single = timed_rate(ask_single, len(single))  # first time asked: nothing cached
    cold_batch = timed_rate(ask_batches, len(batched))
    warm_single = timed_rate(ask_single, len(single), repeat=3)
    warm_batch = timed_rate(ask_batches, len(batched), repeat=3)

    answers = {(f, p, c): d for (f, p, c), d in zip(reqs, check_many(reqs), strict=True)}
    allowed = sum(d.allowed for d in answers.values()) / len(answers)
    reasons = sum(len(d.reasons) for d in answers.values()) / len(answers)

    def dict_single():
        for f, p, c in single:
            answers[f, p, c]

    def dict_batches():
        for b in batches:
            [answers[f, p, c] for f, p, c in b]

    ref_single = timed_rate(dict_single, len(single), repeat=3)
    ref_batch = timed_rate(dict_batches, len(batched), repeat=3)
    for label, value, ref in (("check, warm cache", warm_single, ref_single),
                              ("check, cold cache", cold_single, ref_single),
                              ("check_many x1000, warm cache", warm_batch, ref_batch),
                              ("check_many x1000, cold cache", cold_batch, ref_batch)):
        ratio, holds = at_least(value, ref, TARGET_RATIO)
        kind = "loop" if label.startswith("check,") else "batch"
        rows.append(Row(SECTION, label, value, "dec/s", f"dict lookup ({kind}) {ref:,.0f}/s",
                        ratio, f">= {TARGET_RATIO}", holds))
    rows[-4].note = (f"requests are distinct random (field, purpose, channel) over the whole "
                     f"catalog; {allowed:.0%} allowed, {reasons:.1f} reasons per decision on "
                     "average")

    rows.append(intensity_row(index, single, cold_single))

    cfg.log(f"engine: {cfg.writes} grant writes and {cfg.writes} edge writes")
    rows += write_rows(cfg, index, cat, rng, size)
    del index, cat
    cfg.log(f"engine: the customer notice at {cfg.notice_fields:,} fields")
    rows.append(notice_row(cfg, tax, rules))
    cfg.log("engine: deep shape, edges in batches of 5,000")
    rows += deep_rows(cfg, tax, rules, rng)
    return rows


def every_governed_cell(index: CatalogIndex) -> tuple[set, int]:
    """The notice's uses as first built: each leaf purpose a grant governs x every leaf
    channel. The uses listed, and the checks it took."""
    tax = index.taxonomy
    purposes, channels = transparency._leaves(tax.purposes), transparency._leaves(tax.channels)
    tiers: dict = {i: {} for i in INTENSITIES}
    checks = 0
    for name in sorted(index.fields):
        rec = index.fields[name]
        if rec.deprecated or not rec.grants:
            continue
        for p in purposes:
            grant = governing_grant(rec.grants, p)
            if grant is None:
                continue
            for c in channels:
                checks += 1
                d = index.check(name, p, c)
                if d.allowed:
                    transparency._add(index, tiers[d.intensity], d,
                                      grant.customer_benefit or transparency.NO_BENEFIT)
    return _uses(tiers), checks


def _uses(tiers) -> set:
    return {(t, k, u.purpose, c, b) for t, cats in tiers.items() for k, e in cats.items()
            for u in e.uses.values() for c in u.channels for b in u.benefits}


def notice_row(cfg, tax, rules) -> Row:
    cat = synth.generate(cfg.notice_fields, cfg.notice_fields * 3, seed=cfg.seed)

    def fresh() -> CatalogIndex:  # nothing cached: the notice's first build after a change
        return CatalogIndex.build(tax, rules, cat.fields, cat.edges, revision=1)

    index = fresh()
    gc.collect()
    t0 = time.process_time()
    notice = transparency.build_notice(None, Principal("reviewer"), index=index)
    new_s = time.process_time() - t0
    tx = index.taxonomy
    purposes = transparency._leaves(tx.purposes)
    channels = transparency._leaves(tx.channels)
    cells = [(rec.name, p, c) for rec in index.fields.values() if not rec.deprecated
             for p, c, _ in transparency.granted_cells(rec.grants, purposes, channels)]
    full = sum(index.allowed(*cell) for cell in cells)
    index = fresh()
    gc.collect()
    t0 = time.process_time()
    before, before_checks = every_governed_cell(index)
    old_s = time.process_time() - t0
    same = before == _uses(notice.tiers)
    return Row(SECTION, f"customer notice ({len(cat.fields):,} fields)", new_s, "s CPU",
               f"every governed cell {old_s:.2f} s", new_s / old_s if old_s else None,
               "", None, f"{len(cells):,} granted cells looked at, {full:,} allowed and "
               f"decided in full, instead of {before_checks:,} full checks; "
               + ("same notice" if same else "NOT THE SAME NOTICE"))


def deep_rows(cfg, tax, rules, rng: random.Random) -> list[Row]:
    n_fields, n_edges = cfg.engine_size
    cat = synth.generate_deep(n_fields, n_edges, seed=cfg.seed)
    size = f"deep: {len(cat.fields):,} fields / {len(cat.edges):,} edges"
    index = CatalogIndex.build(tax, rules, cat.fields, [], revision=1)
    worst = total = 0.0
    for i in range(0, len(cat.edges), 5_000):
        batch = cat.edges[i:i + 5_000]
        t0 = time.perf_counter()
        index.validate_new_edges(batch)
        index = index.apply(add_edges=batch, revision=index.revision + 1)
        spent = time.perf_counter() - t0
        total, worst = total + spent, max(worst, spent)
    rows = [Row(SECTION, f"add edges in batches of 5,000 ({size})", total, "s",
                note=f"validate + apply, in process; slowest batch {worst:.2f} s")]
    names, edge_ms = cat.names, []
    while len(edge_ms) < cfg.writes:
        i, j = sorted(rng.sample(range(len(names)), 2))
        if index.graph.has_edge(names[i], names[j]):
            continue
        edge = Edge(names[i], names[j], "bench")
        t0 = time.perf_counter()
        index.validate_new_edges([edge])
        index = index.apply(add_edges=[edge], revision=index.revision + 1)
        edge_ms.append((time.perf_counter() - t0) * 1000)
    for q in (50, 99):
        v = percentile(edge_ms, q)
        rows.append(Row(SECTION, f"write: one new edge p{q} ({size})", v, "ms", "", None,
                        f"<= {TARGET_WRITE_MS:g} ms" if q == 50 else "",
                        v <= TARGET_WRITE_MS if q == 50 else None))
    return rows


def intensity_row(index: CatalogIndex, single: list, cold_rate: float) -> Row:
    """What Decision.intensity (docs/semantics.md §15) adds to an uncached decision: the spectrum
    lookup the engine makes, timed alone over the same requests, as a share of a cold check.
    A cached decision carries its intensity: nothing is added there."""
    spectrum = index.taxonomy.spectrum
    asks = [(p, frozenset(index.effective_categories(f))) for f, p, _ in single]
    of_decision = spectrum.of_decision

    def lookups():
        for p, cats in asks:
            of_decision(p, cats)

    rate = timed_rate(lookups, len(asks), repeat=3)
    return Row(SECTION, "intensity, per uncached decision", 1e9 / rate, "ns",
               f"cold check {1e9 / cold_rate:,.0f} ns", cold_rate / rate, "", None,
               "the share of a cold check's time (ratio column); zero on warm checks")


def write_rows(cfg, index: CatalogIndex, cat: synth.SynthCatalog, rng: random.Random,
               size: str) -> list[Row]:
    revision = index.revision
    grant_ms = []
    for _ in range(cfg.writes):
        rec = index.get(rng.choice(cat.names))
        g = Grant(rng.choice(cat.purposes), None if rng.random() < 0.5 else
                  tuple(sorted(rng.sample(cat.channels, 3))), rng.random() < 0.1)
        others = [x for x in rec.grants if x.purpose != g.purpose]
        revision += 1
        new = replace(rec, grants=tuple(sorted([*others, g], key=lambda x: x.purpose)),
                      revision=revision)
        t0 = time.perf_counter()
        index = index.apply(fields=[new], revision=revision)
        grant_ms.append((time.perf_counter() - t0) * 1000)

    edge_ms = []
    by_level = {lv: cat.at_level(lv) for lv in range(len(synth.LEVEL_SHARE))}
    while len(edge_ms) < cfg.writes:
        lv = rng.randrange(1, len(by_level))
        up, down = rng.choice(by_level[rng.randrange(lv)]), rng.choice(by_level[lv])
        if index.graph.has_edge(up, down):
            continue
        edge = Edge(up, down, "bench")
        revision += 1
        t0 = time.perf_counter()
        index.validate_new_edges([edge])
        index = index.apply(add_edges=[edge], revision=revision)
        edge_ms.append((time.perf_counter() - t0) * 1000)

    rows = []
    for label, samples in (("write: one field's grants", grant_ms),
                           ("write: one new edge", edge_ms)):
        for q in (50, 99):  # the target is on the median; p99 shows the tail
            v = percentile(samples, q)
            rows.append(Row(SECTION, f"{label} p{q} ({size})", v, "ms", "", None,
                            f"<= {TARGET_WRITE_MS:g} ms" if q == 50 else "",
                            v <= TARGET_WRITE_MS if q == 50 else None))
    rows[0].note = (f"index.apply only (no database), {len(grant_ms)} writes each on random "
                    "fields; the edge write includes the cycle check")
    return rows
