"""The async HTTP client of the Inbound API: auth, retries, error shapes, redaction; no planning.

settings.py  ConnectionSettings.from_sources (flags, env, defaults), ApiKey (never shown), Timeouts
client.py    InboundClient: list / assign / update / detach / delete; RequestRecord, request_tag,
             verbose_logger for one log line per HTTP attempt
models.py    the answers as frozen pydantic models: RemoteMapping, UpdateResult, DetachResult, ...
retry.py     RetryPolicy and the rules: reads retry on 429/5xx/network, writes only when unsent
errors.py    an HTTP answer or failure -> the typed exceptions of `inbound_sync.errors`

Writes are never retried once the server may have acted; they raise OutcomeUnknown instead.
"""

from __future__ import annotations

from inbound_sync.api.client import (
    UNSET,
    InboundClient,
    RequestHook,
    RequestRecord,
    Unset,
    format_record,
    request_tag,
    verbose_logger,
)
from inbound_sync.api.models import (
    DeleteResult,
    DetachResult,
    InboundConfig,
    RemoteMapping,
    UpdateResult,
)
from inbound_sync.api.retry import RetryPolicy
from inbound_sync.api.settings import (
    ENV_KEY,
    ENV_URL,
    PRODUCTION_URL,
    ApiKey,
    ConnectionSettings,
    Timeouts,
)

__all__ = [
    "ENV_KEY",
    "ENV_URL",
    "PRODUCTION_URL",
    "UNSET",
    "ApiKey",
    "ConnectionSettings",
    "DeleteResult",
    "DetachResult",
    "InboundClient",
    "InboundConfig",
    "RemoteMapping",
    "RequestHook",
    "RequestRecord",
    "RetryPolicy",
    "Timeouts",
    "Unset",
    "UpdateResult",
    "format_record",
    "request_tag",
    "verbose_logger",
]
