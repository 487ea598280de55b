"""`catalog changes`, `catalog simulate FILE`, `catalog log`, `catalog check --as-of`."""

from __future__ import annotations

import pytest
from cli_helpers import assert_one_line_error

from catalog.cli.common import open_catalog
from catalog.services import checks, decision_log
from catalog.services.auth import Principal

SIZE = "crm.customers.clothing_size"


def test_check_as_of_a_revision_and_a_time(invoke, initialized, tmp_path):
    catalog = tmp_path / "c.yaml"
    catalog.write_text(f"fields:\n  - {{name: {SIZE}, category: internal.preferences, "
                       "source: zero_party, owner: crm, grants: [{purpose: service}]}\n")
    assert invoke("seed", catalog, "--database-url", initialized).exit_code == 0
    args = ("check", SIZE, "service", "web", "--database-url", initialized)
    now = invoke(*args)
    assert now.exit_code == 0 and "revision: 2" in now.stdout
    before = invoke(*args, "--as-of", "1")  # init: taxonomy and rules, no fields yet
    assert before.exit_code == 1 and "UNKNOWN_FIELD" in before.stdout
    assert "revision: 1" in before.stdout
    assert invoke(*args, "--as-of", "2000-01-01").stdout.rstrip().endswith("revision: 0")
    assert_one_line_error(invoke(*args, "--as-of", "99"), "not reached")
    assert_one_line_error(invoke(*args, "--as-of", "-1"), "0 or more")
    assert_one_line_error(invoke(*args, "--as-of", "yesterday"), "ISO 8601")
    assert_one_line_error(invoke(*args, "--as-of", "1", "--at-least-revision", "1"),
                          "atLeastRevision")


def test_changes_lists_every_commit(invoke, demo_url):
    out = invoke("changes", "--first", "1", "--database-url", demo_url)
    assert out.exit_code == 0, out.output
    lines = out.stdout.splitlines()
    assert lines[0].startswith("revision 1 ") and "add_taxonomy_key taxonomy" in lines[0]
    assert all(not line.startswith("revision 2 ") for line in lines)  # first 1: revision 1
    assert '"key":"historical"' in out.stdout.replace(" ", "")
    later = invoke("changes", "--after-revision", "1", "--json", "--database-url", demo_url)
    assert later.exit_code == 0 and '"entity":"field"' in later.stdout
    assert_one_line_error(invoke("changes", "--first", "0", "--database-url", demo_url),
                          "first")


def test_simulate_prints_the_flips_and_writes_nothing(invoke, demo_url, tmp_path):
    rev = invoke("check", SIZE, "service", "web", "--database-url", demo_url).stdout
    plan = tmp_path / "plan.yaml"
    plan.write_text(f"changes:\n  - revokePurpose: {{field: {SIZE}, purpose: service}}\n"
                    f"checks:\n  - {{field: {SIZE}, purpose: service, channel: web}}\n")
    out = invoke("simulate", plan, "--database-url", demo_url)
    assert out.exit_code == 0, out.output
    assert out.stdout.splitlines()[0] == f"{SIZE} service web: ALLOWED -> DENIED"
    assert "1 decisions flip, of 1 compared" in out.stdout
    assert invoke("check", SIZE, "service", "web", "--database-url", demo_url).stdout == rev
    bad = tmp_path / "bad.yaml"
    bad.write_text("changes:\n  - deprecateField: crm.no.such\n")
    assert_one_line_error(invoke("simulate", bad, "--database-url", demo_url), "crm.no.such")
    bad.write_text("changes: nope\n")
    assert_one_line_error(invoke("simulate", bad, "--database-url", demo_url), "changes")


def test_log_shows_what_the_server_counted(invoke, demo_url):
    with open_catalog(demo_url) as cat:
        recorder = decision_log.enable(cat)
        checks.check_many(cat, Principal("pipeline", name="mailer"),
                          [(SIZE, "marketing.direct", "email")] * 4)
        recorder.flush()
    out = invoke("log", "--field", "crm.customers", "--since", "2020-01-01",
                 "--database-url", demo_url)
    assert out.exit_code == 0, out.output
    [line] = out.stdout.splitlines()
    assert f"mailer  {SIZE} marketing.direct email  " in line and line.endswith("  4")
    none = invoke("log", "--caller", "nobody", "--database-url", demo_url)
    assert none.stdout.strip() == "no decisions logged for these filters"
    assert_one_line_error(invoke("log", "--since", "2026-02-01", "--until", "2026-01-01",
                                 "--database-url", demo_url), "after until")


@pytest.mark.parametrize("args", [["log", "--since", "soon"], ["simulate", "missing.yaml"]])
def test_errors_are_one_line(invoke, demo_url, args):
    assert_one_line_error(invoke(*args, "--database-url", demo_url))
