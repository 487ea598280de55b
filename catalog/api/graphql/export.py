"""Print the schema as SDL: `python -m catalog.api.graphql.export > graphql/schema.graphql`.
A test fails when the checked-in file differs from the code."""

from __future__ import annotations

from strawberry.printer import print_schema

from catalog.api.graphql.schema import build_schema


def sdl() -> str:
    return print_schema(build_schema()) + "\n"


if __name__ == "__main__":
    print(sdl(), end="")
