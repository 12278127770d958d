"""The click group; each command's work lives in its own module, imported when it runs."""

from __future__ import annotations

import click

from inbound_sync import __version__

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
PATHS = click.argument("paths", nargs=-1, type=click.Path())


@click.group(context_settings=CONTEXT)
@click.version_option(__version__, prog_name="inbound-sync")
def cli() -> None:
    """Keep the inbound number routing of a voice-AI account in git.

    Declare mappings in YAML, review a plan, apply it, and detect drift.
    Exit codes: 0 ok / no changes, 1 error, 2 changes pending, 3 refused by a
    safety guard, 4 saved plan is stale.
    """


@cli.command()
@PATHS
def validate(paths: tuple[str, ...]) -> int:
    """Check config files offline (default PATHS: inbound.yaml)."""
    from inbound_sync.cli.validate import run

    return run(paths)


@cli.command()
def schema() -> int:
    """Print the JSON Schema of the config file."""
    from inbound_sync.cli.validate import print_schema

    return print_schema()
