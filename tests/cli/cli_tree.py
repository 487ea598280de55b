"""The command tree as the CLI defines it, for tests that must cover every command."""

from __future__ import annotations

from collections.abc import Iterator

import typer.main

from catalog.cli import app


def commands() -> Iterator[tuple[str, object]]:
    """(path, command) for every runnable command, e.g. ('token create', <command>)."""

    def walk(prefix: str, group) -> Iterator[tuple[str, object]]:
        for name, command in sorted(group.commands.items()):
            path = f"{prefix} {name}".strip()
            if hasattr(command, "commands"):
                yield from walk(path, command)
            else:
                yield path, command

    yield from walk("", typer.main.get_command(app))


def options(command) -> list[str]:
    """The long option names of a command (--help aside)."""
    return sorted(opt for param in command.params if param.param_type_name == "option"
                  for opt in param.opts if opt.startswith("--") and opt != "--help")
