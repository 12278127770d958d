"""`plan` and `drift`: compare git with the account, print the result, save it for apply.

Both attach provenance (who changed each differing number last, in git and in the account):
`drift` always, `plan` when the config is in a git work tree, so that a plan made elsewhere
reads as it always did.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

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
from inbound_sync.cli.overlap import load_while_reading
from inbound_sync.config import DesiredState
from inbound_sync.errors import EXIT_CHANGES, EXIT_OK, PlanRefused, UsageError
from inbound_sync.output import color_enabled, write
from inbound_sync.plan import Plan, Policy, Snapshot, make_plan
from inbound_sync.plan.saved import dumps, plan_document
from inbound_sync.provenance import Provenances, collect, utc_now
from inbound_sync.render import github, markdown, text
from inbound_sync.render.documents import drift_document, with_provenance

if TYPE_CHECKING:
    from inbound_sync.api import ConnectionSettings


def read_snapshot(conn: Connection) -> tuple[Snapshot, str]:
    """One list call; returns the snapshot and the base URL it came from."""
    settings = settings_for(conn)
    return run_async(_snapshot(conn, settings)), settings.base_url


async def _snapshot(conn: Connection, settings: ConnectionSettings) -> Snapshot:
    async with open_client(conn, settings) as client:
        return await ClientAccount(client).snapshot()


class Computed(NamedTuple):
    desired: DesiredState
    plan: Plan
    policy: Policy
    base_url: str
    provenance: Provenances


def compute(
    paths: Sequence[str], conn: Connection, allow_destructive: bool, *, outside_git: bool = True
) -> Computed:
    """Load the config while the account is read, plan, and find provenance (outside a git work
    tree too, unless `outside_git` is False: a plan shows none there)."""
    desired, snapshot, base_url = load_and_read(paths, conn)
    policy = Policy(desired.safety, allow_destructive)
    plan = make_plan(desired, snapshot, policy)
    found = collect(plan, snapshot.rows, desired.files, utc_now(), outside_git=outside_git)
    return Computed(desired, plan, policy, base_url, found)


def load_and_read(paths: Sequence[str], conn: Connection) -> tuple[DesiredState, Snapshot, str]:
    """The config, and the account listed while it is parsed; the config's errors come first,
    then those of the connection settings, then the read's."""
    try:
        settings = settings_for(conn)
    except UsageError:
        load_config(paths)
        raise
    desired, reader = load_while_reading(
        lambda ready: load_config(paths, ready), lambda: _snapshot(conn, settings)
    )
    return desired, reader.result(), settings.base_url


def render_plan(
    plan: Plan, document: dict[str, Any], fmt: str, provenance: Provenances | None = None
) -> str:
    if fmt == "json":
        return dumps(document)
    if fmt == "markdown":
        return markdown.format_plan(plan, provenance=provenance)
    if fmt == "github":
        append_step_summary(markdown.format_plan(plan, provenance=provenance))
        return github.format_plan(plan, provenance=provenance)
    return text.format_plan(plan, color=color_enabled(sys.stdout), provenance=provenance)


def run_plan(
    paths: Sequence[str],
    conn: Connection,
    *,
    fmt: str,
    out: str | None,
    detailed_exitcode: bool,
    allow_destructive: bool,
) -> int:
    desired, plan, policy, base_url, found = compute(
        paths, conn, allow_destructive, outside_git=False
    )
    document = plan_document(plan, desired, policy, base_url)
    provenance = found if found.in_git else None
    if provenance is not None:
        document = with_provenance(document, provenance)
    # With --out -, standard output carries the saved plan, and the review goes to stderr.
    write(render_plan(plan, document, fmt, provenance), nl=False, err=out == STDOUT)
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


def run_drift(
    paths: Sequence[str],
    conn: Connection,
    *,
    fmt: str,
    baseline: str | None = None,
    out: str | None = None,
) -> int:
    from inbound_sync.provenance.baseline import read_baseline, sightings  # only drift reads one

    # The baseline is read before any request: a bad file never costs a network call.
    previous = read_baseline(baseline) if baseline else None
    _, plan, _, _, found = compute(paths, conn, allow_destructive=True)
    every = sightings(plan, previous, found.now)
    # Without a baseline nothing is "new since the last check"; the JSON still records when each
    # drift was first seen, so that it can be the next run's baseline.
    seen = every if previous is not None else None
    document = drift_document(plan, provenance=found, seen=every)
    if fmt == "json":
        output = dumps(document)
    elif fmt == "markdown":
        output = markdown.format_drift(plan, provenance=found, seen=seen)
    elif fmt == "github":
        append_step_summary(markdown.format_drift(plan, provenance=found, seen=seen))
        output = github.format_drift(plan, provenance=found, seen=seen)
    else:
        color = color_enabled(sys.stdout)
        output = text.format_drift(plan, color=color, provenance=found, seen=seen)
    # With --out -, standard output carries the JSON report, and the review goes to stderr.
    write(output, nl=False, err=out == STDOUT)
    if out:
        write_out(out, dumps(document), private=True)
    return EXIT_CHANGES if plan.changes else EXIT_OK
