"""The config file format, version 1, as pydantic models: the source of `inbound-sync schema`."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.config import JsonDict

from inbound_sync.config.state import Ensure, Unmanaged
from inbound_sync.phone import DEFAULT_REGION, is_region

_MODEL = ConfigDict(extra="forbid", frozen=True, strict=True)

# What the schema can say of rules that `validate` checks with better messages (resolve.py).
_HEX = "[0-9a-fA-F]"
UUID_PATTERN = (
    f"^(urn:uuid:)?\\{{?{_HEX}{{8}}-?{_HEX}{{4}}-?{_HEX}{{4}}-?{_HEX}{{4}}-?{_HEX}{{12}}\\}}?$"
)
_IDS: JsonDict = {"additionalProperties": {"type": "string", "pattern": UUID_PATTERN}}
# Letters, and the separators phonenumbers reads as an extension (",", ";ext=", "#", "~").
NUMBER_PATTERN = "^[^A-Za-z,;#~]*$"
_ENTRY_RULES: JsonDict = {
    "allOf": [
        {
            "if": {"properties": {"ensure": {"const": "absent"}}, "required": ["ensure"]},
            "then": {
                "properties": {
                    "assistant": {"type": "null"},
                    "strategy": {"type": "null"},
                    "protect": {"const": False},
                }
            },
            "else": {"required": ["assistant"]},
        },
        {
            "if": {"properties": {"assistant": {"type": "null"}}, "required": ["assistant"]},
            "then": {"properties": {"strategy": {"type": "null"}}},
        },
    ]
}


def _check_region(value: str | None) -> str | None:
    if value is not None and not is_region(value):
        raise ValueError(f"unknown region {value!r}; use an ISO 3166 code such as IN or US")
    return value


class Defaults(BaseModel):
    """Settings that apply to every number."""

    model_config = _MODEL
    region: str = Field(
        DEFAULT_REGION, description="Default region for numbers written without +CC."
    )
    service: Literal["exotel"] = Field("exotel", description="The telephony service.")

    _region = field_validator("region")(_check_region)


class Safety(BaseModel):
    """Guards against mass deletion."""

    model_config = _MODEL
    max_destructive: int = Field(
        10, ge=0, description="Deletes plus detaches allowed in one apply without override."
    )
    max_destructive_percent: float = Field(
        30, ge=0, le=100, description="The same, as a share of the account (checked at >= 10)."
    )


class ApplyOptions(BaseModel):
    """How `apply` talks to the API."""

    model_config = _MODEL
    max_rate: float | None = Field(
        None,
        gt=0,
        allow_inf_nan=False,
        description="Requests per second at most, reads included (fractions allowed); "
        "--max-rate and INBOUND_SYNC_MAX_RATE take precedence.",
    )


class NumberEntry(BaseModel):
    """One inbound number and where it routes."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        strict=True,
        json_schema_extra=_ENTRY_RULES,
    )
    number: str = Field(
        description="The number in any format; quote it in YAML.",
        json_schema_extra={"pattern": NUMBER_PATTERN},
    )
    assistant: str | None = Field(
        None, description="Assistant alias or id; null keeps the number routed nowhere."
    )
    strategy: str | None = Field(None, description="Strategy alias or id; null for none.")
    description: str | None = Field(None, description="Free text.")
    ensure: Ensure = Field("present", description="absent releases (deletes) the number.")
    protect: bool = Field(False, description="Refuse any plan that deletes or detaches it.")
    region: str | None = Field(None, description="Region for this number, overriding defaults.")
    allow_unverified: bool = Field(
        False, description="Accept a possible but not (yet) valid number."
    )

    _region = field_validator("region")(_check_region)


class ConfigFile(BaseModel):
    """One inbound-sync config file; several files are merged."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, strict=True, title="inbound-sync configuration"
    )
    version: Literal[1] = Field(description="Config format version.")
    defaults: Defaults | None = None
    assistants: dict[str, str] = Field(
        default_factory=dict, description="Aliases: name to assistant id.", json_schema_extra=_IDS
    )
    strategies: dict[str, str] = Field(
        default_factory=dict,
        description="Aliases: name to inbound context strategy id.",
        json_schema_extra=_IDS,
    )
    unmanaged: Unmanaged | None = Field(
        None, description="What to do with account numbers not declared anywhere."
    )
    safety: Safety | None = None
    apply: ApplyOptions | None = None
    numbers: list[NumberEntry] = Field(default_factory=list)

    @field_validator("version", mode="before")
    @classmethod
    def _integer_version(cls, value: object) -> object:
        # Literal[1] alone takes true and 1.0, which equal 1 in Python: a wrong type, not a version.
        if isinstance(value, (bool, float)):
            raise ValueError(f"must be the integer 1, not {value!r}")
        return value


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a config file, as published in schemas/."""
    schema = ConfigFile.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
