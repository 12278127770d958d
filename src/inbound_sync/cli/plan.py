"""`plan` and `drift`: compare git with the account, print the result, save it for apply."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from inbound_sync.apply import ClientAccount
from inbound_sync.cli.common import (
    STDOUT,
    Connection,
    append_step_summary,
    load_config,
    open_client,
    run_async,
    settings_for,
    write_out,
)
from inbound_sync.config import DesiredState
from inbound_sync.errors import EXIT_CHANGES, EXIT_OK, PlanRefused
from inbound_sync.output import color_enabled, write
from inbound_sync.plan import Plan, Policy, Snapshot, make_plan
from inbound_sync.plan.saved import dumps, plan_document
from inbound_sync.render import github, markdown, text
from inbound_sync.render.documents import drift_document


def read_snapshot(conn: Connection) -> tuple[Snapshot, str]:
    """One list call; returns the snapshot and the base URL it came from."""
    settings = settings_for(conn)

    async def read() -> Snapshot:
        async with open_client(conn, settings) as client:
            return await ClientAccount(client).snapshot()

    return run_async(read()), settings.base_url


def compute(
    paths: Sequence[str], conn: Connection, allow_destructive: bool
) -> tuple[DesiredState, Plan, Policy, str]:
    """Load the config (before any network), read the account, plan."""
    desired = load_config(paths)
    snapshot, base_url = read_snapshot(conn)
    policy = Policy(desired.safety, allow_destructive)
    return desired, make_plan(desired, snapshot, policy), policy, base_url


def render_plan(plan: Plan, document: dict[str, Any], fmt: str) -> str:
    if fmt == "json":
        return dumps(document)
    if fmt == "markdown":
        return markdown.format_plan(plan)
    if fmt == "github":
        append_step_summary(markdown.format_plan(plan))
        return github.format_plan(plan)
    return text.format_plan(plan, color=color_enabled(sys.stdout))


def run_plan(
    paths: Sequence[str],
    conn: Connection,
    *,
    fmt: str,
    out: str | None,
    detailed_exitcode: bool,
    allow_destructive: bool,
) -> int:
    desired, plan, policy, base_url = compute(paths, conn, allow_destructive)
    document = plan_document(plan, desired, policy, base_url)
    # With --out -, standard output carries the saved plan, and the review goes to stderr.
    write(render_plan(plan, document, fmt), nl=False, err=out == STDOUT)
    if plan.refused:
        write(text.format_refusals(plan, color=color_enabled(sys.stderr)), err=True, nl=False)
        raise PlanRefused(
            "the plan was refused by the safety guards"
            + (f"; {out} was not written" if out and out != STDOUT else "")
        )
    if out:
        write_out(out, dumps(document), private=True)
    if out and out != STDOUT:
        write(f"Saved the plan to {out}; apply it with: inbound-sync apply --plan {out}", err=True)
    return EXIT_CHANGES if detailed_exitcode and plan.changes else EXIT_OK


def run_drift(paths: Sequence[str], conn: Connection, *, fmt: str) -> int:
    _, plan, _, _ = compute(paths, conn, allow_destructive=True)
    if fmt == "json":
        output = dumps(drift_document(plan))
    elif fmt == "markdown":
        output = markdown.format_drift(plan)
    elif fmt == "github":
        append_step_summary(markdown.format_drift(plan))
        output = github.format_drift(plan)
    else:
        output = text.format_drift(plan, color=color_enabled(sys.stdout))
    write(output, nl=False)
    return EXIT_CHANGES if plan.changes else EXIT_OK
