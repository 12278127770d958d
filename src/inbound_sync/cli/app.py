"""The click group; each command's work lives in its own module, imported when it runs."""

from __future__ import annotations

from typing import Any

import click

from inbound_sync import __version__
from inbound_sync.cli.common import (
    DEFAULT_TIMEOUT_TOTAL,
    api_options,
    connection,
    format_option,
    positive,
)

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
@click.option(
    "--out",
    metavar="FILE",
    default="-",
    help="Write the schema to FILE (e.g. inbound-sync.schema.json, where `import` points "
    "editors); default: standard output.",
)
def schema(out: str) -> int:
    """Print the JSON Schema of the config file."""
    from inbound_sync.cli.validate import print_schema

    return print_schema(out)


@cli.command()
@PATHS
@format_option()
@click.option(
    "--out", metavar="FILE", help="Save the plan for `apply --plan FILE` (- for standard output)."
)
@click.option(
    "--detailed-exitcode", is_flag=True, help="Exit 2 when there are changes (0 when none)."
)
@click.option("--allow-destructive", is_flag=True, help="Override the max_destructive thresholds.")
@api_options
def plan(paths: tuple[str, ...], **kwargs: Any) -> int:
    """Show what apply would change, and optionally save it."""
    from inbound_sync.cli.plan import run_plan

    conn = connection(kwargs)
    return run_plan(
        paths,
        conn,
        fmt=kwargs["fmt"],
        out=kwargs["out"],
        detailed_exitcode=kwargs["detailed_exitcode"],
        allow_destructive=kwargs["allow_destructive"],
    )


@cli.command()
@PATHS
@format_option()
@api_options
def drift(paths: tuple[str, ...], **kwargs: Any) -> int:
    """Report what the account has that git does not; exit 2 on drift."""
    from inbound_sync.cli.plan import run_drift

    conn = connection(kwargs)
    return run_drift(paths, conn, fmt=kwargs["fmt"])


@cli.command()
@PATHS
@click.option("--plan", "plan_file", metavar="FILE", help="Apply a plan saved by `plan --out`.")
@click.option("--auto-approve", is_flag=True, help="Do not ask for a typed 'yes'.")
@click.option("--allow-destructive", is_flag=True, help="Override the max_destructive thresholds.")
@click.option(
    "--concurrency",
    default=8,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Changes in flight at once, within a phase.",
)
@click.option(
    "--max-rate",
    callback=positive("requests per second"),
    metavar="N",
    help="Requests per second at most, reads included; fractions allowed (default:"
    " $INBOUND_SYNC_MAX_RATE, else the config's apply: max_rate, else the API's 429s"
    " set the pace).",
)
@click.option(
    "--timeout-total",
    callback=positive("seconds"),
    default=f"{DEFAULT_TIMEOUT_TOTAL:g}",
    show_default=True,
    metavar="SECONDS",
    help="Stop starting changes after this long; the rest are reported as not applied.",
)
@format_option()
@click.option("--log-file", metavar="FILE", help="Write one JSON line per API call.")
@click.option("--undo-out", metavar="FILE", help="Save a plan that restores every changed number.")
@api_options
def apply(paths: tuple[str, ...], **kwargs: Any) -> int:
    """Make the account match git: deletes, detaches, updates, then assigns; then verify."""
    from inbound_sync.cli.apply import Options, run_apply

    conn = connection(kwargs)
    return run_apply(paths, conn, Options(**kwargs))


@cli.command(name="list")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@api_options
def list_(**kwargs: Any) -> int:
    """Show the account's mappings."""
    from inbound_sync.cli.listing import run_list

    conn = connection(kwargs)
    return run_list(conn, fmt=kwargs["fmt"])


@cli.command(name="import")
@click.option(
    "--out",
    metavar="FILE",
    help="Write the config here (missing directories are made); default or -: stdout.",
)
@click.option(
    "--region", default="IN", show_default=True, help="Default region written into the config."
)
@click.option(
    "--schema",
    metavar="URL|PATH",
    help="Schema for the file's yaml-language-server comment (default: inbound-sync.schema.json "
    "in the working directory, as `inbound-sync schema --out` writes it; '' for none).",
)
@api_options
def import_(**kwargs: Any) -> int:
    """Write a config (version 1) that reproduces the account."""
    from inbound_sync.cli.listing import run_import

    conn = connection(kwargs)
    return run_import(conn, out=kwargs["out"], region=kwargs["region"], schema=kwargs["schema"])


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
    "--rate-limit",
    callback=positive("requests per second"),
    metavar="N",
    help="Answer 429 with Retry-After beyond N requests per second per API key (burst: N).",
)
@click.option(
    "--admin-token",
    envvar="INBOUND_SYNC_SANDBOX_ADMIN_TOKEN",
    help="Token for the /_sandbox/ admin endpoints (default: from the seed, else generated).",
)
def serve(
    host: str,
    port: int,
    db: str,
    seed: str | None,
    latency_ms: int,
    rate_limit: float | None,
    admin_token: str | None,
) -> int:
    """Serve the sandbox until Ctrl-C; binds loopback by default and logs its URL."""
    from inbound_sync.cli.sandbox import run_serve

    return run_serve(
        host=host,
        port=port,
        db=db,
        seed=seed,
        latency_ms=latency_ms,
        admin_token=admin_token,
        rate_limit=rate_limit,
    )
