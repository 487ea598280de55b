"""Documentation tests (datasette-style): README.md documents every command, every option of
it, and every setting. Adding one without documenting it fails here."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from cli_tree import commands, options

from catalog.settings import Settings

README = Path(__file__).resolve().parents[2] / "README.md"


def section(text: str, heading: str) -> str:
    """The text under a markdown heading, up to the next heading of any level."""
    match = re.search(rf"^#+ {re.escape(heading)}\n(.*?)(?=^#+ |\Z)", text, re.M | re.S)
    assert match, f"README.md has no heading {heading!r}"
    return match.group(1)


@pytest.mark.parametrize(("path", "command"), list(commands()), ids=lambda c: c
                         if isinstance(c, str) else "")
def test_every_command_and_option_is_documented(path, command):
    body = section(README.read_text(), f"`catalog {path}`")
    missing = [opt for opt in options(command) if f"`{opt}" not in body]
    assert not missing, f"README.md's `catalog {path}` section lacks {missing}"


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_every_setting_is_documented(name):
    assert f"`CATALOG_{name.upper()}`" in section(README.read_text(), "Configuration")


def test_quick_start_is_two_commands():
    body = section(README.read_text(), "Quick start")
    block = re.search(r"```sh\n(.*?)```", body, re.S)
    assert block and block.group(1).split("\n")[:-1] == ["./dev demo", "./dev test"]


def schema_operations() -> list[str]:
    """Every Query and Mutation field in graphql/schema.graphql."""
    text = (README.parent / "graphql" / "schema.graphql").read_text()
    names = []
    for kind in ("Query", "Mutation"):
        body = re.search(rf"^type {kind} \{{\n(.*?)^\}}", text, re.M | re.S)
        assert body, f"schema.graphql has no type {kind}"
        names += re.findall(r"^  ([a-zA-Z]+)[(:]", body.group(1), re.M)
    return names


def test_every_query_and_mutation_is_named():
    body = section(README.read_text(), "GraphQL API")
    operations = schema_operations()
    assert "check" in operations and "registerField" in operations
    missing = [name for name in operations if f"`{name}`" not in body]
    assert not missing, f"README.md's GraphQL API section lacks {missing}"
