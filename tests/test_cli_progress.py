"""apply's progress off a terminal: one line per finished change, written a moment's worth at a
time, in the order things happened."""

from __future__ import annotations

import asyncio
import io
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from inbound_sync.api import PauseEvent
from inbound_sync.apply import Outcome
from inbound_sync.cli.apply import LINES_EVERY_S, Interruption, _Lines
from inbound_sync.plan import Binding, Change
from inbound_sync.sandbox import create_app
from inbound_sync.sandbox.server import running_server
from sandbox_fixtures import ACME, SEED_PATH, SUPPORT, controller


class Stderr(io.StringIO):
    """Counts the writes made to it, as each is a system call on a real stream."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)

    def isatty(self) -> bool:
        return False


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _captured(monkeypatch: pytest.MonkeyPatch) -> Stderr:
    # Set in the test itself: pytest puts its own capture in place after the fixtures run.
    stream = Stderr()
    monkeypatch.setattr("sys.stderr", stream)
    monkeypatch.setenv("NO_COLOR", "1")
    return stream


def _done(i: int, status: str = "done", message: str = "done") -> Outcome:
    digits = f"91804431{9200 + i}"
    change = Change("assign", digits, "+" + digits, None, None, Binding("a1", None))
    return Outcome(change, status, message)  # type: ignore[arg-type]


def _lines(stderr: Stderr) -> list[str]:
    return stderr.getvalue().splitlines()


def test_the_first_line_goes_out_at_once_and_the_next_wait_for_the_window(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stderr = _captured(monkeypatch)
    clock = Clock()
    lines = _Lines(10, clock, every=0.5)
    lines.outcome(_done(0))
    assert _lines(stderr) == ["[1/10] done    assign +91 80 4431 9200"]
    clock.now += 0.2
    lines.outcome(_done(1))
    lines.outcome(_done(2))
    assert len(_lines(stderr)) == 1


def test_lines_held_go_out_together_in_order_once_the_window_has_passed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stderr = _captured(monkeypatch)
    clock = Clock()
    lines = _Lines(10, clock, every=0.5)
    for i in range(4):
        lines.outcome(_done(i))
        clock.now += 0.2
    # 0.0 written; 0.2 and 0.4 held; at 0.6 the window has passed: three lines in one write.
    assert _lines(stderr) == [
        f"[{i}/10] done    assign +91 80 4431 920{i - 1}" for i in (1, 2, 3, 4)
    ]
    assert stderr.writes == 2


def test_a_thousand_changes_a_second_make_a_few_writes_and_every_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stderr = _captured(monkeypatch)
    clock = Clock()
    with _Lines(1000, clock, every=LINES_EVERY_S) as lines:
        for i in range(1000):
            lines.outcome(_done(i))
            clock.now += 0.001
    shown = _lines(stderr)
    assert [int(line.split("/")[0][1:]) for line in shown] == list(range(1, 1001))
    assert stderr.writes == 3  # the first line, the next half second's, then the rest


def test_a_change_not_done_goes_out_at_once_after_the_lines_held_before_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stderr = _captured(monkeypatch)
    clock = Clock()
    lines = _Lines(10, clock, every=0.5)
    lines.outcome(_done(0))
    lines.outcome(_done(1))
    lines.outcome(_done(2, "failed", "conflict: taken"))
    assert _lines(stderr)[1:] == [
        "[2/10] done    assign +91 80 4431 9201",
        "[3/10] failed  assign +91 80 4431 9202: conflict: taken",
    ]
    lines.outcome(_done(3, "skipped", "not started: interrupted"))
    assert _lines(stderr)[-1] == "[4/10] skipped assign +91 80 4431 9203: not started: interrupted"


def test_a_pause_goes_out_at_once_after_the_lines_held_before_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stderr = _captured(monkeypatch)
    clock = Clock()
    lines = _Lines(10, clock, every=0.5)
    lines.outcome(_done(0))
    lines.outcome(_done(1))
    lines.pause(PauseEvent("begin", 1.0, asked=True))
    assert _lines(stderr)[1:] == [
        "[2/10] done    assign +91 80 4431 9201",
        "Paused: waiting for the API's rate limit (Retry-After 1 s); every request waits.",
    ]
    lines.outcome(_done(2))
    lines.pause(PauseEvent("end", 1.0))
    assert _lines(stderr)[3:] == [
        "[3/10] done    assign +91 80 4431 9202",
        "Resumed after a pause of 1 s for the API's rate limit.",
    ]


def test_the_last_change_and_the_end_of_the_run_write_what_is_held(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stderr = _captured(monkeypatch)
    clock = Clock()
    with _Lines(3, clock, every=0.5) as lines:
        for i in range(3):
            lines.outcome(_done(i))
        assert [line[:5] for line in _lines(stderr)] == ["[1/3]", "[2/3]", "[3/3]"]
    with _Lines(5, clock, every=0.5) as lines:
        lines.outcome(_done(0))
        lines.outcome(_done(1))  # the run stops here: interrupted, or the deadline passed
    assert [line[:5] for line in _lines(stderr)][3:] == ["[1/5]", "[2/5]"]


def test_without_a_window_every_line_is_written_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    stderr = _captured(monkeypatch)
    # --verbose: each request's line comes right after the progress lines before it.
    lines = _Lines(10, Clock())
    for i in range(3):
        lines.outcome(_done(i))
        assert len(_lines(stderr)) == i + 1


def test_the_interruption_message_comes_after_the_changes_finished_before_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stderr = _captured(monkeypatch)
    lines = _Lines(10, Clock(), every=0.5)

    async def run() -> None:
        interruption = Interruption(asyncio.get_running_loop())
        interruption.say = lines.say
        lines.outcome(_done(0))
        lines.outcome(_done(1))
        interruption.received(signal.SIGINT)
        lines.outcome(_done(2, "skipped", "not started: interrupted"))

    asyncio.run(run())
    assert _lines(stderr) == [
        "[1/10] done    assign +91 80 4431 9200",
        "[2/10] done    assign +91 80 4431 9201",
        "Interrupted: finishing the changes in flight, starting no new ones."
        " (Again, or 10 s, abandons them.)",
        "[3/10] skipped assign +91 80 4431 9202: not started: interrupted",
    ]


# Through the CLI, over a socket


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    numbers = "".join(
        f'  - number: "+91 80 4431 92{70 + i}"\n    assistant: {SUPPORT}\n' for i in range(3)
    )
    config = tmp_path / "inbound.yaml"
    config.write_text(f"version: 1\nnumbers:\n{numbers}", encoding="utf-8")
    app = create_app(seed=SEED_PATH)
    with running_server(app) as url:
        monkeypatch.setenv("INBOUND_SYNC_API_URL", url)
        monkeypatch.setenv("INBOUND_SYNC_API_KEY", ACME)
        monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
        yield config
    controller(app).close()


@pytest.mark.socket
def test_apply_prints_every_change_once_in_order(
    sandbox: Path, run_cli: Callable[..., Any]
) -> None:
    result = run_cli("apply", str(sandbox), "--auto-approve")
    assert result.code == 0, result.err
    progress = [line for line in result.err.splitlines() if line.startswith("[")]
    assert [line[:5] for line in progress] == ["[1/3]", "[2/3]", "[3/3]"]
    assert all(" done    assign +91 80 4431 927" in line for line in progress)


@pytest.mark.socket
def test_with_verbose_each_change_follows_its_request(
    sandbox: Path, run_cli: Callable[..., Any]
) -> None:
    result = run_cli("apply", str(sandbox), "--auto-approve", "--verbose", "--concurrency", "1")
    assert result.code == 0, result.err
    lines = [line for line in result.err.splitlines() if line.startswith(("[", "POST"))]
    assert [line[:5] for line in lines] == ["POST ", "[1/3]", "POST ", "[2/3]", "POST ", "[3/3]"]
