"""The wire format of the Inbound API's answers, frozen and validated by pydantic.

Strict where identity is (inbound_id, phone_number_normalized: required, non-empty strings),
lenient where the vendor's document is (names, timestamps, config: nullable or missing).
Unknown fields are ignored so that additions on the vendor's side do not break the tool.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints

T = TypeVar("T")

_WIRE = ConfigDict(frozen=True, extra="ignore", strict=True)


def _addressable(value: str) -> str:
    # An id goes into a URL path: "." and ".." would address another endpoint, not a mapping.
    if value in (".", ".."):
        raise ValueError("not an id a request can address")
    return value


Identifier = Annotated[str, StringConstraints(min_length=1), AfterValidator(_addressable)]


# A mapping is a frozen dataclass that pydantic validates, not a BaseModel: a list answer holds
# one per number, and building 100,000 model instances took 2.6 times as long as validating the
# same JSON into dataclasses (measured on the 45 MB list of 100,000 mappings).
@dataclass(frozen=True, slots=True)
class InboundConfig:
    """The provider config stored with a mapping; only the keys the tool manages are kept."""

    # How pydantic reads a dataclass's settings in every 2.x release (with_config came later).
    __pydantic_config__ = _WIRE

    type: str | None = None
    phone_number: str | None = None


@dataclass(frozen=True, slots=True)
class RemoteMapping:
    """One active mapping as /inbound/list (or /inbound/assign) reports it."""

    __pydantic_config__ = _WIRE

    inbound_id: Identifier
    phone_number_normalized: Identifier
    phone_number: str | None = None
    inbound_config: InboundConfig | None = None
    assistant_id: str | None = None
    assistant_name: str | None = None
    inbound_context_strategy_id: str | None = None
    inbound_context_strategy_name: str | None = None
    service: str | None = None
    # Kept as text: the tool only shows them, and a format change must not break a plan.
    created_at: str | None = None
    updated_at: str | None = None


class _Attachment(BaseModel):
    model_config = _WIRE
    inbound_id: Identifier
    assistant_id: str | None = None
    inbound_context_strategy_id: str | None = None


class UpdateResult(_Attachment):
    """What PATCH /inbound/update/{id} reports: the mapping's assistant and strategy now."""


class DetachResult(_Attachment):
    """What POST /inbound/detach/{id} reports; both ids are null on success."""


class DeleteResult(BaseModel):
    """What DELETE /inbound/delete/{id} reports."""

    model_config = _WIRE
    inbound_id: Identifier


class Envelope(BaseModel, Generic[T]):
    """The wrapper of every answer: {"success", "message", "data"}."""

    model_config = _WIRE
    # The document always sends success; a missing one is tolerated, a false one is handled
    # before this model is used.
    success: bool | None = None
    data: T


# The document describes no pagination; if the server ever pages, a partial list must not
# be mistaken for the whole account.
PAGE_HINTS = ("has_more", "next", "next_cursor", "next_page", "next_page_token")


class ListEnvelope(Envelope[T], Generic[T]):
    """The list answer, keeping the pagination hints (any of them set means a partial list)."""

    has_more: Any = None
    next: Any = None
    next_cursor: Any = None
    next_page: Any = None
    next_page_token: Any = None
