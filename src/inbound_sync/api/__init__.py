"""The async HTTP client of the Inbound API: auth, retries, error shapes, redaction; no planning.

settings.py  ConnectionSettings.from_sources (flags, env, defaults), ApiKey (never shown),
             Timeouts (connect, read, and a deadline for a whole attempt), the answer size limit
client.py    InboundClient: list / assign / update / detach / delete, each attempt within a
             deadline, waits between attempts announced and ended by `stop`
pacing.py    Pacer, one per API host (Pacers): the rate (--max-rate), the requests in flight,
             a 429 pausing every request; pure logic on an injectable clock
records.py   what the hooks get: RequestRecord per HTTP attempt (tagged by request_tag),
             WaitNotice per wait; format_record, verbose_logger, format_wait
body.py      an answer's body read and decompressed within the size limit, never past it
models.py    the answers, validated by pydantic: RemoteMapping (a frozen dataclass, one per
             listed number), UpdateResult, DetachResult, ... (frozen models)
retry.py     RetryPolicy and the rules: reads retry on 429/5xx/network, writes only when unsent
errors.py    an HTTP answer or failure -> the typed exceptions of `inbound_sync.errors`
redaction.py the key replaced by '***' in any text shown: plain, escaped, or clipped mid-way

Writes are never retried once the server may have acted; they raise OutcomeUnknown instead.
"""

from __future__ import annotations

from inbound_sync.api.client import UNSET, InboundClient, Unset
from inbound_sync.api.models import (
    DeleteResult,
    DetachResult,
    InboundConfig,
    RemoteMapping,
    UpdateResult,
)
from inbound_sync.api.pacing import Pacer, Pacers, PaceSettings, PauseEvent, PauseHook
from inbound_sync.api.records import (
    RequestHook,
    RequestRecord,
    WaitHook,
    WaitNotice,
    format_record,
    format_wait,
    request_tag,
    verbose_logger,
)
from inbound_sync.api.retry import RetryPolicy
from inbound_sync.api.settings import (
    DEFAULT_MAX_RESPONSE_BYTES,
    ENV_DEADLINE,
    ENV_KEY,
    ENV_MAX_RESPONSE,
    ENV_URL,
    ApiKey,
    ConnectionSettings,
    Timeouts,
)
from inbound_sync.vendor import PRODUCTION_URL

__all__ = [
    "DEFAULT_MAX_RESPONSE_BYTES",
    "ENV_DEADLINE",
    "ENV_KEY",
    "ENV_MAX_RESPONSE",
    "ENV_URL",
    "PRODUCTION_URL",
    "UNSET",
    "ApiKey",
    "ConnectionSettings",
    "DeleteResult",
    "DetachResult",
    "InboundClient",
    "InboundConfig",
    "PaceSettings",
    "Pacer",
    "Pacers",
    "PauseEvent",
    "PauseHook",
    "RemoteMapping",
    "RequestHook",
    "RequestRecord",
    "RetryPolicy",
    "Timeouts",
    "Unset",
    "UpdateResult",
    "WaitHook",
    "WaitNotice",
    "format_record",
    "format_wait",
    "request_tag",
    "verbose_logger",
]
