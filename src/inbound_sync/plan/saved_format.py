"""A saved plan's document as `apply --plan` reads it back: the checks of its shape, as models.

Only reading a plan file needs them: saved.py imports this module then, so that the commands
that only write a plan (or none) do not build these models at start-up. The class names are
kept as they were in saved.py, since pydantic's messages name them.
"""

from __future__ import annotations

from typing import Any, Literal

import pydantic


class _Model(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="ignore", frozen=True)


class _Number(_Model):
    normalized: str = pydantic.Field(pattern=r"^[0-9]{4,17}$")
    e164: str
    ensure: Literal["present", "absent"]
    assistant_id: str | None
    strategy_id: str | None
    protect: bool = False
    source: str | None = None
    description: str | None = None


class _Safety(_Model):
    max_destructive: int = pydantic.Field(10, ge=0)
    max_destructive_percent: float = pydantic.Field(30.0, ge=0, le=100, allow_inf_nan=False)


class _Desired(_Model):
    region: str
    service: str
    unmanaged: Literal["ignore", "detach", "delete"]
    safety: _Safety
    assistants: dict[str, str]
    strategies: dict[str, str]
    files: list[str]
    numbers: list[_Number]
    purpose: Literal["config", "undo"] = "config"
    max_rate: float | None = pydantic.Field(None, gt=0, allow_inf_nan=False)


class _Options(_Model):
    allow_destructive: bool


class _Body(_Model):
    """A plan document without its format_version, as a fleet plan holds one per target."""

    api_url: str
    changes: list[dict[str, Any]]
    options: _Options
    desired: _Desired


class _Document(_Body):
    format_version: Literal[1]
