"""`history NUMBER`: the number's story from git, the apply audit logs and the account."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from inbound_sync.cli.common import Connection, load_config
from inbound_sync.cli.plan import read_snapshot
from inbound_sync.config import DEFAULT_PATH, DesiredNumber, DesiredState
from inbound_sync.errors import EXIT_OK, UsageError
from inbound_sync.output import write
from inbound_sync.phone import PhoneError, display, normalize
from inbound_sync.plan import RemoteRow
from inbound_sync.plan.saved import dumps
from inbound_sync.provenance.audit import AuditLines, apply_events, read_audit
from inbound_sync.provenance.history import History, account_events, story
from inbound_sync.provenance.log import declaration_history
from inbound_sync.render import history as render


def run_history(
    number: str,
    paths: Sequence[str],
    conn: Connection,
    *,
    fmt: str,
    log_files: Sequence[str],
) -> int:
    # Every local input is read before the account is: a typo never costs a network call.
    desired = load_config(paths)
    normalized = _normalized(number, desired.region)
    audit = read_audit(log_files) if log_files else AuditLines((), ())
    snapshot, _ = read_snapshot(conn)
    row = next((r for r in snapshot.rows if r.normalized == normalized), None)
    git = declaration_history(list(paths) or [DEFAULT_PATH], normalized, desired.region)
    declared = desired.by_number().get(normalized)
    if not git.events and declared is None and row is None:
        where = " ".join(paths) or DEFAULT_PATH
        raise UsageError(
            f"{display(normalized)} was never declared in git under {where} "
            "and is not in the account"
        )
    events = story(
        list(reversed(git.events)),
        apply_events(audit, normalized),
        account_events(row, _account_binding(row) if row else ""),
    )
    found = History(
        normalized,
        _declared(declared, desired) if declared else None,
        _account_binding(row) if row else None,
        row,
        tuple(events),
        (*git.notes, *audit.notes),
    )
    write(dumps(render.document(found)) if fmt == "json" else render.format_text(found), nl=False)
    return EXIT_OK


def _normalized(number: str, region: str) -> str:
    try:
        return normalize(number, region).normalized
    except PhoneError as exc:
        raise UsageError(f"{number!r} is not a number the config accepts: {exc}") from None


def _declared(declared: DesiredNumber, desired: DesiredState) -> str:
    """'inbound.yaml:8: assistant support + strategy crm', by alias as the config names them."""
    where = declared.source or "the config"
    if declared.ensure == "absent":
        return f"{where}: ensure: absent (to be released)"
    aliases = _names(desired.assistants)
    if declared.assistant_id is None:
        return f"{where}: assistant null (detached)"
    text = f"{where}: assistant {aliases.get(declared.assistant_id, declared.assistant_id)}"
    if declared.strategy_id:
        strategies = _names(desired.strategies)
        text += f" + strategy {strategies.get(declared.strategy_id, declared.strategy_id)}"
    return text


def _names(aliases: Mapping[str, str]) -> dict[str, str]:
    """Id -> the first alias naming it."""
    names: dict[str, str] = {}
    for alias, ident in aliases.items():
        names.setdefault(ident, alias)
    return names


def _account_binding(row: RemoteRow) -> str:
    """'assistant Sales Assistant + strategy CRM lookup', by the account's names, else ids."""
    if row.assistant_id is None and row.strategy_id is None:
        return "detached"
    text = f"assistant {row.assistant_name or row.assistant_id or 'none'}"
    if row.strategy_id:
        text += f" + strategy {row.strategy_name or row.strategy_id}"
    return text
