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


@cli.group()
def sandbox() -> None:
    """A local server of the Inbound API over SQLite, for trying configs safely."""


@sandbox.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8787, show_default=True, type=click.IntRange(0, 65535))
@click.option("--db", default=":memory:", show_default=True, help="SQLite file, or :memory:.")
@click.option("--seed", type=click.Path(exists=True, dir_okay=False), help="Seed YAML file.")
@click.option("--latency-ms", default=0, show_default=True, type=click.IntRange(0, 60_000))
@click.option(
    "--admin-token",
    envvar="INBOUND_SYNC_SANDBOX_ADMIN_TOKEN",
    help="Token for the /_sandbox/ admin endpoints (default: from the seed, else generated).",
)
def serve(
    host: str, port: int, db: str, seed: str | None, latency_ms: int, admin_token: str | None
) -> int:
    """Serve the sandbox until Ctrl-C; binds loopback by default and logs its URL."""
    from inbound_sync.cli.sandbox import run_serve

    return run_serve(
        host=host, port=port, db=db, seed=seed, latency_ms=latency_ms, admin_token=admin_token
    )
