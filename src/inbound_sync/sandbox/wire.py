"""The sandbox's HTTP edge: reading request bodies and writing the API's answers.

Every error answer is {"success": false, "message": "..."} with its status (ApiFailure, or a
store error mapped to 404/409/400); every success is {"success": true, "message", "data"}.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from inbound_sync.phone import PhoneError, normalize
from inbound_sync.sandbox.store import (
    REGION,
    SERVICE,
    Conflict,
    InboundMapping,
    NewMapping,
    NotFound,
)

_STORE_STATUS: dict[type[Exception], int] = {NotFound: 404, Conflict: 409}


class ApiFailure(Exception):
    """An error answer: the status and the message of the JSON error body."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


async def json_object(request: Request, *, allow_empty: bool = False) -> dict[str, Any]:
    raw = await request.body()
    if allow_empty and not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        raise ApiFailure(400, "Request body must be valid JSON") from None
    if not isinstance(data, dict):
        raise ApiFailure(400, "Request body must be a JSON object")
    return data


def new_mapping(body: dict[str, Any]) -> NewMapping:
    """Validate an assign request; the stored config gets its type injected from the service."""
    service = required_text(body, "service")
    if service != SERVICE:
        raise ApiFailure(400, f"Unsupported service: {service} (supported: {SERVICE})")
    assistant_id = required_text(body, "assistant_id")
    strategy_id = nullable_text(body, "inbound_context_strategy_id")
    config = body.get("inbound_config")
    if not isinstance(config, dict):
        raise ApiFailure(400, "inbound_config is required and must be an object")
    # The contract injects the type only when it is omitted; an explicit null is not omitted.
    if "type" in config and config["type"] != service:
        raise ApiFailure(400, "inbound_config.type must match service")
    number = required_text(config, "phone_number", prefix="inbound_config.")
    try:
        normalized = normalize(number, REGION, allow_unverified=True).normalized
    except PhoneError as exc:
        raise ApiFailure(400, f"Invalid inbound phone number: {exc}") from None
    stored = {"type": service, **{k: v for k, v in config.items() if k != "type"}}
    return NewMapping(number, normalized, stored, assistant_id, strategy_id)


def required_text(body: dict[str, Any], name: str, *, prefix: str = "") -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip():
        raise ApiFailure(400, f"{prefix}{name} is required and must be a non-empty string")
    return value


def nullable_text(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise ApiFailure(400, f"{name} must be a non-empty string or null")
    return value


def ok(message: str, data: object) -> JSONResponse:
    return JSONResponse({"success": True, "message": message, "data": data})


async def on_failure(request: Request, exc: Exception) -> Response:
    """Every error, ours or Starlette's (404, 405), as the API's JSON error body."""
    headers = None
    if isinstance(exc, ApiFailure):
        status, message = exc.status, exc.message
    elif isinstance(exc, HTTPException):
        status, message, headers = exc.status_code, exc.detail, exc.headers
    else:
        status, message = _STORE_STATUS.get(type(exc), 400), str(exc)
    return JSONResponse({"success": False, "message": message}, status_code=status, headers=headers)


def assigned(m: InboundMapping) -> dict[str, Any]:
    return {
        "inbound_id": m.inbound_id,
        "phone_number": m.phone_number,
        "phone_number_normalized": m.phone_number_normalized,
        "assistant_id": m.assistant_id,
        "inbound_context_strategy_id": m.inbound_context_strategy_id,
        "inbound_context_strategy_name": m.inbound_context_strategy_name,
        "service": m.service,
        "inbound_config": m.inbound_config,
    }


def references(m: InboundMapping) -> dict[str, Any]:
    return {
        "inbound_id": m.inbound_id,
        "assistant_id": m.assistant_id,
        "inbound_context_strategy_id": m.inbound_context_strategy_id,
    }


def listed(m: InboundMapping) -> dict[str, Any]:
    return {
        "inbound_id": m.inbound_id,
        "phone_number": m.phone_number,
        "phone_number_normalized": m.phone_number_normalized,
        "inbound_config": m.inbound_config,
        "assistant_id": m.assistant_id,
        "assistant_name": m.assistant_name,
        "inbound_context_strategy_id": m.inbound_context_strategy_id,
        "inbound_context_strategy_name": m.inbound_context_strategy_name,
        "service": m.service,
        "created_at": m.created_at,
        "updated_at": m.updated_at,
    }


def admin_view(m: InboundMapping) -> dict[str, Any]:
    return {**listed(m), "tenant": m.tenant, "active": m.active}
