"""load_while_reading: the config is loaded here while the account is read in a thread.

The read starts only when the loader says it may (after forking its workers); the loader's
errors, and Ctrl-C, cancel the read and come first, whatever the read found; the read's own
error is raised when its result is asked for. No test measures time: each waits on events.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

import pytest

from inbound_sync.cli.overlap import load_while_reading
from inbound_sync.errors import ApiError, ConfigError, ConfigIssue

WAIT = 20.0  # seconds; a bound on every wait, never reached when things work

BAD = ConfigError([ConfigIssue("inbound.yaml", 3, "numbers[0]", "unknown assistant alias")])


class Probe:
    """Events a read sets as it goes, for the loader to wait on."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.ended = threading.Event()
        self.cancelled = threading.Event()

    async def read(self, result: str = "snapshot", error: Exception | None = None) -> str:
        self.started.set()
        try:
            await asyncio.sleep(0)
            if error is not None:
                raise error
            return result
        finally:
            self.ended.set()

    async def forever(self) -> str:
        self.started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled.set()
            raise
        return "never"


def loader(probe: Probe, *, wait_for: threading.Event, then: Callable[[], str]) -> Callable:
    def load(ready: Callable[[], None]) -> str:
        assert not probe.started.is_set(), "the read started before the loader was ready"
        ready()
        assert wait_for.wait(WAIT)
        return then()

    return load


def fail() -> str:
    raise BAD


def test_both_results_come_back_and_the_read_ran_while_loading() -> None:
    probe = Probe()
    load = loader(probe, wait_for=probe.ended, then=lambda: "config")
    loaded, reader = load_while_reading(load, probe.read)
    assert (loaded, reader.result()) == ("config", "snapshot")


def test_the_read_waits_until_the_loader_is_ready() -> None:
    probe = Probe()

    def load(ready: Callable[[], None]) -> str:
        # Nothing to wait on: the read cannot have started, since ready() was not called.
        assert not probe.started.is_set()
        ready()
        return "config"

    loaded, reader = load_while_reading(load, probe.read)
    assert (loaded, reader.result()) == ("config", "snapshot")


def test_a_loader_that_never_says_ready_still_gets_the_read() -> None:
    probe = Probe()
    loaded, reader = load_while_reading(lambda _ready: "config", probe.read)
    assert (loaded, reader.result()) == ("config", "snapshot")
    assert probe.started.is_set()


def test_the_config_error_wins_over_a_failed_read() -> None:
    probe = Probe()
    load = loader(probe, wait_for=probe.ended, then=fail)
    with pytest.raises(ConfigError) as info:
        load_while_reading(
            load, lambda: probe.read(error=ApiError("the API key was refused", operation="list"))
        )
    assert info.value is BAD


def test_the_read_error_is_raised_when_its_result_is_asked_for() -> None:
    probe = Probe()
    load = loader(probe, wait_for=probe.ended, then=lambda: "config")
    loaded, reader = load_while_reading(
        load, lambda: probe.read(error=ApiError("the API key was refused", operation="list"))
    )
    assert loaded == "config"
    with pytest.raises(ApiError, match="the API key was refused"):
        reader.result()


def test_a_config_error_cancels_a_read_still_in_flight() -> None:
    probe = Probe()
    load = loader(probe, wait_for=probe.started, then=fail)
    with pytest.raises(ConfigError):
        load_while_reading(load, probe.forever)
    assert probe.cancelled.is_set()
    assert not [t for t in threading.enumerate() if t.name == "inbound-sync-read"]


def test_ctrl_c_while_loading_cancels_the_read_and_is_raised() -> None:
    probe = Probe()

    def interrupted() -> str:
        raise KeyboardInterrupt

    load = loader(probe, wait_for=probe.started, then=interrupted)
    with pytest.raises(KeyboardInterrupt):
        load_while_reading(load, probe.forever)
    assert probe.cancelled.is_set()
    assert not [t for t in threading.enumerate() if t.name == "inbound-sync-read"]


def test_a_loader_failing_before_it_is_ready_starts_no_read() -> None:
    probe = Probe()

    def load(_ready: Callable[[], None]) -> str:
        raise BAD

    with pytest.raises(ConfigError):
        load_while_reading(load, probe.forever)
    assert not probe.started.is_set()
