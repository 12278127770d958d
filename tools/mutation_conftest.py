"""Copied to the root of each mutation run (tools/mutation.py): every test starts afresh.

mutmut runs a mutant's tests in a process forked from one that has already run them all. Numbers
parsed then would be answered from phone's caches, and the mutated code would never run.
"""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _empty_phone_caches() -> None:
    from inbound_sync import phone

    phone.normalize.cache_clear()
    phone.display.cache_clear()
    phone._PARSED.clear()
    phone._UNVERIFIED.clear()
