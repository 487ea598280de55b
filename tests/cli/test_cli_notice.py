"""`catalog notice`: the demo's customer notice as Markdown and HTML; only allowed uses."""

from __future__ import annotations

import re

from cli_helpers import assert_one_line_error


def test_markdown_notice_of_the_demo(invoke, demo_url):
    result = invoke("notice", "--database-url", demo_url)
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert text.startswith("# How we use your data\n")
    tiers = re.findall(r"^## .*\((\w+)\)$", text, re.M)
    assert tiers == ["utility", "relationship", "surveillance"]
    assert "Shows you the products you recently looked at, so you can find them again." in text
    # The precise app location may only be used for marketing with consent, in the app.
    assert "### Tracking: location: precise" in text
    # Denied uses never appear: pricing is blocked for every demo field that grants it,
    # and the bought interests may not personalize.
    assert "Pricing" not in text and "Sharing" not in text
    # Field names never appear: the notice speaks of categories of data.
    assert "crm.customers" not in text and "ml.scores" not in text


def test_html_notice_and_bad_format(invoke, demo_url):
    result = invoke("notice", "--format", "html", "--database-url", demo_url)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("<!doctype html>")
    assert 'id="surveillance"' in result.stdout
    assert "Counted together with other customers&#39; data" in result.stdout
    bad = invoke("notice", "--format", "pdf", "--database-url", demo_url)
    assert_one_line_error(bad, "unknown format 'pdf'", "markdown or html")


def test_an_empty_catalog_says_so(invoke, initialized):
    result = invoke("notice", "--database-url", initialized)
    assert result.exit_code == 0, result.output
    assert "We do not use data about you for any purpose at the moment." in result.stdout


def test_check_prints_the_intensity(invoke, demo_url):
    result = invoke("check", "crm.customers.email", "marketing.direct", "email",
                    "--database-url", demo_url)
    assert "intensity: relationship" in result.stdout.splitlines()
