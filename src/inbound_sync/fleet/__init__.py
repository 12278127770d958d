"""Several accounts planned and applied as one: a layer above `plan` and `apply`.

file.py     the fleet file (strict YAML, like config) -> Fleet of Targets; model.py its schema
keys.py     each target's URL and key, from a variable or a file, before any request
desired.py  every target's config, and the rule across targets: one account per number
moves.py    pure: a plan per target, then moves paired across targets of one system
saved.py    the fleet plan document (format_version 2), saved and read back
execute.py  apply across targets: every delete of a move before its assign, one shared limit
undo.py     the fleet plan that puts every changed number back
"""

from inbound_sync.fleet.desired import TargetState, load_states
from inbound_sync.fleet.file import Fleet, Target, load_fleet, system_of
from inbound_sync.fleet.model import json_schema
from inbound_sync.fleet.moves import (
    FleetPlan,
    Move,
    TargetFailure,
    TargetInput,
    TargetPlan,
    make_fleet_plan,
)

__all__ = [
    "Fleet",
    "FleetPlan",
    "Move",
    "Target",
    "TargetFailure",
    "TargetInput",
    "TargetPlan",
    "TargetState",
    "json_schema",
    "load_fleet",
    "load_states",
    "make_fleet_plan",
    "system_of",
]
