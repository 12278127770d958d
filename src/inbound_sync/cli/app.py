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
from inbound_sync.errors import UsageError

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
PATHS = click.argument("paths", nargs=-1, type=click.Path())
FLEET = click.option(
    "--fleet", metavar="FILE", help="Run on every target of a fleet file instead of PATHS."
)
TARGETS = click.option(
    "--target",
    "targets",
    metavar="NAME",
    multiple=True,
    help="With --fleet: only this target (repeatable).",
)


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
@FLEET
@TARGETS
def validate(paths: tuple[str, ...], fleet: str | None, targets: tuple[str, ...]) -> int:
    """Check config files offline (default PATHS: inbound.yaml)."""
    if fleet is not None or targets:
        from inbound_sync.cli.fleet import run_validate

        return run_validate(fleet, targets, paths)
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
@click.option("--fleet", "fleet", is_flag=True, help="The schema of the fleet file instead.")
def schema(out: str, fleet: bool) -> int:
    """Print the JSON Schema of the config file."""
    if fleet:
        from inbound_sync.cli.fleet import print_schema as print_fleet_schema

        return print_fleet_schema(out)
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
@FLEET
@TARGETS
@api_options
def plan(paths: tuple[str, ...], **kwargs: Any) -> int:
    """Show what apply would change, and optionally save it."""
    from inbound_sync.cli.plan import run_plan

    conn = connection(kwargs)
    fleet, targets = kwargs.pop("fleet"), kwargs.pop("targets")
    if fleet is not None or targets:
        from inbound_sync.cli.fleet import run_plan as run_fleet_plan

        return run_fleet_plan(fleet, targets, paths, conn, **kwargs)
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
@click.option(
    "--baseline",
    metavar="FILE",
    help="A previous drift report (--format json or --out): mark each drift new or already "
    "reported.",
)
@click.option(
    "--out",
    metavar="FILE",
    help="Also save this report as JSON (- for standard output), the next run's --baseline.",
)
@FLEET
@TARGETS
@api_options
def drift(paths: tuple[str, ...], **kwargs: Any) -> int:
    """Report what the account has that git does not, who changed it last; exit 2 on drift."""
    from inbound_sync.cli.plan import run_drift

    conn = connection(kwargs)
    fleet, targets = kwargs.pop("fleet"), kwargs.pop("targets")
    if fleet is not None or targets:
        from inbound_sync.cli.fleet import run_drift as run_fleet_drift

        if kwargs["baseline"] or kwargs["out"]:
            raise UsageError("--baseline and --out work on one account; drop --fleet/--target")
        return run_fleet_drift(fleet, targets, paths, conn, fmt=kwargs["fmt"])
    return run_drift(paths, conn, fmt=kwargs["fmt"], baseline=kwargs["baseline"], out=kwargs["out"])


@cli.command()
@click.argument("number")
@PATHS
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output format.",
)
@click.option(
    "--log-file",
    "log_files",
    metavar="FILE|DIR",
    multiple=True,
    help="An audit log written by `apply --log-file`, or a directory of them; repeatable.",
)
@api_options
def history(number: str, paths: tuple[str, ...], **kwargs: Any) -> int:
    """Tell a number's story, newest first: git commits, apply's audit logs, the account."""
    from inbound_sync.cli.history import run_history

    conn = connection(kwargs)
    return run_history(number, paths, conn, fmt=kwargs["fmt"], log_files=kwargs["log_files"])


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
@FLEET
@TARGETS
@api_options
def apply(paths: tuple[str, ...], **kwargs: Any) -> int:
    """Make the account match git: deletes, detaches, updates, then assigns; then verify."""
    from inbound_sync.cli.apply import Options, run_apply

    conn = connection(kwargs)
    fleet, targets = kwargs.pop("fleet"), kwargs.pop("targets")
    if fleet is not None or targets:
        from inbound_sync.cli.fleet_apply import run_apply as run_fleet_apply

        return run_fleet_apply(fleet, targets, paths, conn, Options(**kwargs))
    return run_apply(paths, conn, Options(**kwargs))


@cli.command(name="list")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@FLEET
@TARGETS
@api_options
def list_(**kwargs: Any) -> int:
    """Show the account's mappings."""
    from inbound_sync.cli.listing import run_list

    conn = connection(kwargs)
    fleet, targets = kwargs.pop("fleet"), kwargs.pop("targets")
    if fleet is not None or targets:
        from inbound_sync.cli.fleet import run_list as run_fleet_list

        return run_fleet_list(fleet, targets, conn, fmt=kwargs["fmt"])
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
@FLEET
@TARGETS
@api_options
def import_(**kwargs: Any) -> int:
    """Write a config (version 1) that reproduces the account."""
    from inbound_sync.cli.listing import run_import

    conn = connection(kwargs)
    fleet, targets = kwargs.pop("fleet"), kwargs.pop("targets")
    if fleet is not None or targets:
        from inbound_sync.cli.fleet import run_import as run_fleet_import

        return run_fleet_import(fleet, targets, conn, **kwargs)
    return run_import(conn, out=kwargs["out"], region=kwargs["region"], schema=kwargs["schema"])


@cli.command()
@click.option("--fleet", metavar="FILE", required=True, help="The fleet file.")
@TARGETS
@click.option(
    "--plan",
    "plan_file",
    metavar="FILE",
    help="A fleet plan saved by `plan --fleet --out`: the ends of each move share a job.",
)
def matrix(fleet: str, targets: tuple[str, ...], plan_file: str | None) -> int:
    """Print a fleet's CI jobs as a GitHub Actions matrix (JSON, for fromJSON)."""
    from inbound_sync.cli.fleet import run_matrix

    return run_matrix(fleet, targets, plan_file)


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
