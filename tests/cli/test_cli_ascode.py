"""`catalog export`, `catalog apply` and `catalog verify` from the command line: outputs and
exit codes; verify's JUnit report read by a JUnit XML parser."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from cli_helpers import assert_one_line_error
from test_cli_seed import index_of

from catalog.services.setup import SEEDS

USES = SEEDS / "demo" / "uses.yaml"


def test_export_apply_export_through_the_cli(invoke, demo_url, initialized, tmp_path: Path):
    out = tmp_path / "catalog.yaml"
    result = invoke("export", "--output", out, "--database-url", demo_url)
    assert result.exit_code == 0 and out.exists()
    assert invoke("export", "--database-url", demo_url).stdout == out.read_text()

    revision = index_of(initialized).revision
    applied = invoke("apply", out, "--database-url", initialized)
    assert applied.exit_code == 0, applied.output
    assert "+ field crm.customers.email" in applied.stdout
    assert applied.stdout.splitlines()[-1] == f"applied 106 changes: catalog revision " \
                                              f"{revision + 1}"
    assert invoke("export", "--database-url", initialized).stdout == out.read_text()

    again = invoke("apply", out, "--prune", "--database-url", initialized)
    assert again.exit_code == 0
    assert again.stdout == f"nothing to change: the catalog equals the files (revision " \
                           f"{revision + 1})\n"


def test_apply_dry_run_prints_changes_and_flips_and_writes_nothing(invoke, demo_url,
                                                                   tmp_path: Path):
    change = tmp_path / "change.yaml"
    change.write_text("fields:\n  - name: crm.customers.email\n"
                      "    grants: [{purpose: service, channels: [email]}]\n")
    revision = index_of(demo_url).revision
    result = invoke("apply", change, "--dry-run", "--database-url", demo_url)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("~ field crm.customers.email (grants: ")
    assert lines[1].startswith("decisions that would flip: ")
    assert "  crm.customers.email marketing.direct email: ALLOWED -> DENIED " \
           "(now PURPOSE_NOT_GRANTED)" in lines
    assert lines[-1] == f"dry run: 1 change, nothing written (catalog revision {revision})"
    assert index_of(demo_url).revision == revision


def test_apply_errors_are_one_line_naming_file_and_line(invoke, initialized, tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("fields:\n  - {name: a.b.c, category: tracking, source: first_party,"
                   " owner: me}\n  - {name: a.b.c, category: tracking, source: first_party,"
                   " owner: me}\n")
    assert_one_line_error(invoke("apply", bad, "--database-url", initialized),
                          f"{bad}:3: field a.b.c is given twice")
    assert_one_line_error(invoke("apply", tmp_path / "none.yaml", "--database-url",
                                 initialized), "no such file")


def test_verify_exit_codes_and_formats(invoke, demo_url, tmp_path: Path):
    allowed = invoke("verify", USES, "--database-url", demo_url)
    assert allowed.exit_code == 0, allowed.output
    assert allowed.stdout.splitlines()[-1] == "weekly-newsletter: 3 uses, 0 denied"

    uses = tmp_path / "uses.yaml"
    uses.write_text("uses:\n"
                    "  - {field: crm.customers.email, purpose: service.delivery, channel: email}\n"
                    "  - {field: dwh.marts.audiences.baby_club_member, purpose: "
                    "marketing.direct, channel: email}\n"
                    "  - {field: no.such.field, purpose: service, channel: email}\n")
    text = invoke("verify", uses, "--database-url", demo_url)
    assert text.exit_code == 1
    assert "DENIED: dwh.marts.audiences.baby_club_member for marketing.direct in email" \
        in text.stdout
    assert "rule: boudoir-topics" in text.stdout  # the explanation of `catalog check`

    as_json = invoke("verify", uses, "--format", "json", "--database-url", demo_url)
    body = json.loads(as_json.stdout)
    assert as_json.exit_code == 1 and body["allowed"] is False
    assert [d["allowed"] for d in body["decisions"]] == [True, False, False]
    assert body["decisions"][2]["reasons"][0]["code"] == "UNKNOWN_FIELD"

    junit = invoke("verify", uses, "--format", "junit", "--database-url", demo_url)
    assert junit.exit_code == 1
    root = ET.fromstring(junit.stdout.encode())  # nothing but XML on stdout
    suite = root.find("testsuite")
    cases = suite.findall("testcase")
    assert suite.get("name") == "uses" and suite.get("tests") == "3"
    assert suite.get("failures") == "2"
    assert [c.get("name") for c in cases] == [
        "crm.customers.email for service.delivery in email",
        "dwh.marts.audiences.baby_club_member for marketing.direct in email",
        "no.such.field for service in email"]
    assert cases[0].find("failure") is None
    failure = cases[1].find("failure")
    assert "POLICY_DENIED" in failure.get("message") and "UPSTREAM_NOT_PERMITTED" in \
        failure.get("message")
    assert "UNKNOWN_FIELD" in cases[2].find("failure").get("message")


def test_verify_refuses_a_malformed_file(invoke, demo_url, tmp_path: Path):
    uses = tmp_path / "uses.yaml"
    uses.write_text("uses:\n  - {field: crm.customers.email, purpose: service}\n")
    assert_one_line_error(invoke("verify", uses, "--database-url", demo_url),
                          f"{uses}:2: uses[0] must have exactly field, purpose and channel")
    uses.write_text("usage: []\n")
    assert_one_line_error(invoke("verify", uses, "--database-url", demo_url), "expected `uses:")
    assert_one_line_error(invoke("verify", USES, "--url", "http://127.0.0.1:9",
                                 "--database-url", demo_url), "--url needs --token")
