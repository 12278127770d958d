"""Retry-After in the forms servers send it."""

from __future__ import annotations

from datetime import datetime, timezone

from inbound_sync.api.retry import retry_after_seconds

NOW = datetime(2026, 3, 18, 11, 30, tzinfo=timezone.utc)


def test_an_http_date_with_minus_zero_offset_is_read_as_utc():
    # RFC 5322's "-0000" means "no zone information"; an HTTP-date is GMT by definition.
    assert retry_after_seconds("Wed, 18 Mar 2026 11:30:10 -0000", NOW) == 10.0


def test_an_http_date_in_the_past_asks_for_no_wait():
    assert retry_after_seconds("Wed, 18 Mar 2026 11:29:00 -0000", NOW) == 0.0
