"""The fleet file format, version 1, as pydantic models; `inbound-sync schema --fleet` prints it.

A fleet file names several accounts ("targets"), each with its API, where its key comes from and
its config files. It never holds a key: only the name of a variable or the path of a file.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)
from pydantic.config import JsonDict

from inbound_sync.api.settings import check_base_url
from inbound_sync.errors import UsageError

TARGET_NAME = "^[a-z0-9][a-z0-9-]*$"
ENV_NAME = "^[A-Za-z_][A-Za-z0-9_]*$"

TargetName = Annotated[str, StringConstraints(pattern=TARGET_NAME)]

# Exactly one source of the key; JSON Schema says it as oneOf, the model in _one_key_source.
_ONE_KEY: JsonDict = {
    "oneOf": [
        {"required": ["api_key_env"], "not": {"required": ["api_key_file"]}},
        {"required": ["api_key_file"], "not": {"required": ["api_key_env"]}},
    ]
}
_NAMES: JsonDict = {"propertyNames": {"pattern": TARGET_NAME}, "additionalProperties": False}


class TargetSettings(BaseModel):
    """One account of the fleet: its API, where its key comes from, and its config."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, json_schema_extra=_ONE_KEY)
    api_url: str = Field(
        description="API base URL. Targets with the same scheme, host and port share one "
        "system, and so one number space.",
        json_schema_extra={"pattern": "^https?://"},
    )
    api_key_env: str | None = Field(
        None,
        description="Name of the environment variable that holds this target's key.",
        json_schema_extra={"pattern": ENV_NAME},
    )
    api_key_file: str | None = Field(
        None,
        min_length=1,
        description="Path of a file that holds this target's key, relative to the fleet file.",
    )
    config: list[Annotated[str, StringConstraints(min_length=1)]] = Field(
        min_length=1,
        description="Config files or directories, relative to the fleet file.",
    )

    @field_validator("api_url")
    @classmethod
    def _url(cls, value: str) -> str:
        # Plain http to a remote host is judged when connecting, where --allow-insecure-http is.
        try:
            return check_base_url(value, allow_insecure_http=True)
        except UsageError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("api_key_env")
    @classmethod
    def _variable_name(cls, value: str | None) -> str | None:
        # The value is not echoed: a string that is no variable name may be the key itself.
        if value is not None and not re.fullmatch(ENV_NAME, value):
            raise ValueError(
                "must be the name of an environment variable (letters, digits and _, not "
                "starting with a digit); the key itself never goes in the fleet file"
            )
        return value

    @model_validator(mode="after")
    def _one_key_source(self) -> TargetSettings:
        given = [f for f in ("api_key_env", "api_key_file") if getattr(self, f) is not None]
        if len(given) != 1:
            raise ValueError(
                "needs exactly one of api_key_env (the name of an environment variable) and "
                "api_key_file (the path of a file holding the key)"
            )
        return self


class FleetFile(BaseModel):
    """An inbound-sync fleet: several accounts planned and applied as one."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, title="inbound-sync fleet")
    version: Literal[1] = Field(description="Fleet file format version.")
    targets: dict[TargetName, TargetSettings] = Field(
        min_length=1,
        description="Target name (lower case letters, digits and -) to its settings.",
        json_schema_extra=_NAMES,
    )

    @field_validator("version", mode="before")
    @classmethod
    def _integer_version(cls, value: object) -> object:
        if isinstance(value, (bool, float)):
            raise ValueError(f"must be the integer 1, not {value!r}")
        return value


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a fleet file, as published in schemas/fleet.schema.json."""
    schema = FleetFile.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
