"""The desired state: what every config file, merged and resolved, asks the account to be."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, NamedTuple

Ensure = Literal["present", "absent"]
Unmanaged = Literal["ignore", "detach", "delete"]
Purpose = Literal["config", "undo"]


class SafetyPolicy(NamedTuple):
    """Thresholds above which destructive plans need --allow-destructive."""

    max_destructive: int = 10
    max_destructive_percent: float = 30.0


class DesiredNumber(NamedTuple):
    """One declared number, resolved: aliases replaced by ids, the number normalized."""

    normalized: str
    e164: str
    ensure: Ensure
    assistant_id: str | None
    strategy_id: str | None
    protect: bool = False
    source: str | None = None
    description: str | None = None


class DesiredState(NamedTuple):
    """Everything a plan needs from git; `numbers` is sorted by normalized number."""

    numbers: tuple[DesiredNumber, ...]
    unmanaged: Unmanaged = "ignore"
    safety: SafetyPolicy = SafetyPolicy()
    region: str = "IN"
    service: str = "exotel"
    assistants: Mapping[str, str] = {}
    strategies: Mapping[str, str] = {}
    files: tuple[str, ...] = ()
    purpose: Purpose = "config"
    """"undo" for the state an undo plan restores: it covers only the numbers an apply changed."""
    max_rate: float | None = None
    """The config's `apply: max_rate`: requests per second at most, when set."""

    def by_number(self) -> dict[str, DesiredNumber]:
        """Declared numbers keyed by normalized number."""
        return {n.normalized: n for n in self.numbers}
