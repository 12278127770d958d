"""Planning: compare the desired state with the account, pure; and the saved plan file format.

model.py    Binding, RemoteRow, Snapshot, Change, Plan, Policy (immutable records)
planner.py  make_plan(desired, snapshot, policy) -> Plan, and the safety guards
saved.py    the JSON document of a plan, which `plan --out` writes and `apply --plan` reads
saved_format.py  the models that check a plan file's shape as it is read back
"""

from inbound_sync.plan.model import (
    ACTIONS,
    DESTRUCTIVE,
    Action,
    Binding,
    Change,
    Plan,
    Policy,
    RemoteRow,
    Snapshot,
)
from inbound_sync.plan.planner import make_plan

__all__ = [
    "ACTIONS",
    "DESTRUCTIVE",
    "Action",
    "Binding",
    "Change",
    "Plan",
    "Policy",
    "RemoteRow",
    "Snapshot",
    "make_plan",
]
