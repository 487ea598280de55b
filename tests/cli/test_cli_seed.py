"""`catalog seed FILE...`: the kind of file is told by its top-level keys."""

from __future__ import annotations

from pathlib import Path

from cli_helpers import assert_one_line_error, index_of

from catalog.services.setup import SEEDS

DEMO = SEEDS / "demo" / "catalog.yaml"


def test_seed_loads_the_demo_catalog(invoke, initialized):
    result = invoke("seed", DEMO, "--database-url", initialized)
    assert result.exit_code == 0, result.output
    assert "catalog, 64 fields and 42 lineage edges loaded" in result.stdout
    assert index_of(initialized).get("crm.customers.email") is not None

    again = invoke("seed", DEMO, "--database-url", initialized)
    assert again.exit_code == 0, again.output


def test_seed_detects_taxonomy_and_rules_and_loads_them_first(invoke, initialized,
                                                                tmp_path: Path):
    catalog = tmp_path / "fields.yaml"
    catalog.write_text("fields:\n  - name: app.events.mood\n    category: internal.mood\n"
                       "    source: first_party\n    owner: app-team\n"
                       "    grants: [{purpose: analytics.sentiment}]\n")
    taxonomy = tmp_path / "taxonomy.yaml"
    taxonomy.write_text("categories:\n  internal.mood: {sensitivity: 4}\n"
                        "purposes:\n  analytics.sentiment: {}\n")
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  no-mood-reading:\n    effect: DENY\n"
                     "    categories: [internal.mood]\n    purposes: [analytics.sentiment]\n")
    result = invoke("seed", catalog, rules, taxonomy, "--database-url", initialized)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "taxonomy, 2 keys added" in lines[0]
    assert "rules, 1 rules added" in lines[1]
    assert "catalog, 1 fields" in lines[2]

    denied = invoke("check", "app.events.mood", "analytics.sentiment", "internal",
                    "--database-url", initialized)
    assert denied.exit_code == 1
    assert "rule: no-mood-reading" in denied.stdout


def test_unknown_kind_of_file(invoke, initialized, tmp_path: Path):
    odd = tmp_path / "odd.yaml"
    odd.write_text("widgets: []\n")
    assert_one_line_error(invoke("seed", odd, "--database-url", initialized),
                          "cannot tell the kind of file")


def test_missing_and_invalid_files(invoke, initialized, tmp_path: Path):
    assert_one_line_error(invoke("seed", tmp_path / "nope.yaml", "--database-url", initialized),
                          "no such file")
    bad = tmp_path / "bad.yaml"
    bad.write_text("fields: [\n")
    assert_one_line_error(invoke("seed", bad, "--database-url", initialized), "not valid YAML")


def test_seed_with_an_unknown_category_changes_nothing(invoke, initialized, tmp_path: Path):
    bad = tmp_path / "fields.yaml"
    bad.write_text("fields:\n  - {name: a.b.c, category: no.such, source: first_party, "
                   "owner: me}\n")
    revision = index_of(initialized).revision
    result = invoke("seed", bad, "--database-url", initialized)
    assert_one_line_error(result)
    assert index_of(initialized).revision == revision


def test_malformed_entries_name_what_to_fix(invoke, initialized, tmp_path: Path):
    no_purpose = tmp_path / "grants.yaml"
    no_purpose.write_text("fields:\n  - {name: a.b.c, category: tracking, source: first_party,"
                          " owner: me, grants: [{channels: [email]}]}\n")
    assert_one_line_error(invoke("seed", no_purpose, "--database-url", initialized),
                          "fields[0].grants[0] needs purpose")
    bad_edge = tmp_path / "lineage.yaml"
    bad_edge.write_text("lineage:\n  - {from: a.b.c, to: d.e.f}\n")
    assert_one_line_error(invoke("seed", bad_edge, "--database-url", initialized),
                          "lineage[0] needs upstream and downstream")
