"""Applying a plan through the API, concurrently and safely, then proving convergence.

account.py   the API client seen as an Account: snapshot() and write(change)
executor.py  phases, bounded concurrency, unknown outcomes resolved by re-reading, verify
undo.py      the saved plan that restores every changed number
"""

from inbound_sync.apply.account import ClientAccount, to_row
from inbound_sync.apply.executor import Account, ApplyReport, Outcome, Settings, apply_plan

__all__ = ["Account", "ApplyReport", "ClientAccount", "Outcome", "Settings", "apply_plan", "to_row"]
