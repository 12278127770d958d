"""Facts about the vendor's API that the CLI shows before any heavy module is imported."""

from __future__ import annotations

PRODUCTION_URL = "https://api-livekit-vyom.indusnettechnologies.com"
"""The API's base URL when neither --api-url nor INBOUND_SYNC_API_URL says otherwise."""
