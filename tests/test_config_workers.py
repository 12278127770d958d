"""A large config is parsed in worker processes; what load() returns or reports must not change.

The comparisons run in a child Python process: forking is only allowed where no other thread
runs, and this test process may have a sandbox thread running.
"""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import pytest

from inbound_sync import config, phone
from inbound_sync.config.workers import MAX_WORKERS, MIN_BYTES, Pool, pool, worker_count
from reliability_support import run_main

SUPPORT = "550e8400-e29b-41d4-a716-446655440000"


# -- how many processes ----------------------------------------------------------------------------


def count(requested: int | None = None, **overrides: Any) -> int:
    facts: dict[str, Any] = {
        "total_bytes": MIN_BYTES,
        "cpus": 2,
        "threads": 1,
        "can_fork": True,
        **overrides,
    }
    return worker_count(requested, **facts)


def test_a_large_config_gets_a_process_per_cpu_up_to_the_cap() -> None:
    assert count() == 2
    assert count(cpus=64) == MAX_WORKERS
    assert count(cpus=1) == 1


def test_a_small_config_stays_in_this_process() -> None:
    assert count(total_bytes=MIN_BYTES - 1) == 1


@pytest.mark.parametrize(
    "unsafe", [{"can_fork": False}, {"threads": 2}], ids=["no fork", "other threads"]
)
def test_no_fork_where_it_is_not_safe_whatever_was_asked(unsafe: dict[str, Any]) -> None:
    assert count(**unsafe) == 1
    assert count(3, **unsafe) == 1


def test_an_explicit_count_wins_over_the_size() -> None:
    assert count(3, total_bytes=10) == 3
    assert count(1) == 1


# -- the pool ------------------------------------------------------------------------------------


class BrokenExecutor:
    def map(self, *_: Any) -> Any:
        raise BrokenProcessPool("a worker died")


def test_a_broken_pool_finishes_the_work_here() -> None:
    pool = Pool(BrokenExecutor(), 2)  # type: ignore[arg-type]
    assert pool.map(str.upper, ["a", "b"]) == ["A", "B"]
    assert pool.map(str.upper, ["c", "d"]) == ["C", "D"]


class DiesAfterOne:
    """An executor whose workers die after the first result."""

    def map(self, function: Any, items: Any) -> Any:
        yield function(items[0])
        raise BrokenProcessPool("a worker died")


def test_files_left_when_the_pool_breaks_are_read_here(tmp_path: Path) -> None:
    files = []
    for k in range(3):
        files.append(tmp_path / f"f{k}.yaml")
        files[-1].write_text(f"version: 1\nnumbers:\n  - number: '+91804431924{k}'\n")
    checked = list(Pool(DiesAfterOne(), 2).read(files))  # type: ignore[arg-type]
    assert [issues for _, issues in checked] == [[], [], []]
    parsed = [p for p, _ in checked if p is not None]
    assert [p.path for p in parsed] == [str(f) for f in files]
    assert [p.entries[0].number for p in parsed] == [f"+91804431924{k}" for k in range(3)]


def test_normalize_all_keeps_the_order_and_the_errors_in_their_places() -> None:
    requests = [
        ("+918044319240", "IN", False),
        ("nope", "IN", False),
        ("080 4431 9241", "IN", False),
    ]
    results = Pool(None, 3).normalize_all(requests)
    assert [getattr(r, "normalized", None) for r in results] == [
        "918044319240",
        None,
        "918044319241",
    ]
    assert isinstance(results[1], phone.PhoneError)


def test_a_pool_without_workers_is_ready_before_it_is_used(tmp_path: Path) -> None:
    calls: list[str] = []
    with pool([], 1, on_ready=lambda: calls.append("ready")) as workers_pool:
        assert calls == ["ready"]
        assert workers_pool.workers == 1
    assert calls == ["ready"]


def test_load_and_load_many_say_ready_once(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(COMMON)
    (tmp_path / "b.yaml").write_text("version: 1\nnumbers: []\n")
    calls: list[str] = []
    config.load([str(tmp_path)], workers=1, on_ready=lambda: calls.append("load"))
    groups = [[str(tmp_path / "a.yaml")], [str(tmp_path / "b.yaml")]]
    config.load_many(groups, workers=1, on_ready=lambda: calls.append("load_many"))
    assert calls == ["load", "load_many"]


@pytest.fixture
def fresh_numbers(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A process that has parsed no number yet."""
    monkeypatch.setattr(phone, "_PARSED", {})
    monkeypatch.setattr(phone, "_UNVERIFIED", set())
    phone.normalize.cache_clear()
    phone.display.cache_clear()
    yield
    phone.normalize.cache_clear()
    phone.display.cache_clear()


# Rome's numbers keep a leading zero after the country code; phonenumbers records it apart.
NUMBERS = ["+918044319240", "+39 06 1234 5678", "+1 650 253 0000", "+44 20 7946 0018"]


@pytest.mark.usefixtures("fresh_numbers")
def test_numbers_parsed_elsewhere_are_known_and_displayed_here_without_parsing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    batch = phone.normalize_many([(text, "IN", False) for text in NUMBERS])
    expected = [
        phone.display(r.normalized) for r in batch.results if isinstance(r, phone.PhoneNumber)
    ]
    assert expected[1] == "+39 06 1234 5678"
    # Another process: nothing parsed yet; it learns the batch, and may not parse again.
    monkeypatch.setattr(phone, "_PARSED", {})
    phone.normalize.cache_clear()
    phone.display.cache_clear()
    phone.adopt(pickle.loads(pickle.dumps(batch)))
    monkeypatch.setattr(phone.phonenumbers, "parse", forbidden)
    shown = [phone.display(r.normalized) for r in batch.results if isinstance(r, phone.PhoneNumber)]
    assert shown == expected
    assert phone.normalize("+918044319240", "IN").normalized == "918044319240"


def forbidden(*_: object) -> None:
    raise AssertionError("parsed a second time")


@pytest.mark.usefixtures("fresh_numbers")
def test_a_number_adopted_as_unverified_keeps_its_verdict() -> None:
    # Possible by length in India, but in no assigned range.
    batch = phone.normalize_many([("+91 10 0000 0000", "IN", True)])
    assert batch.unverified == {"911000000000"}
    phone._PARSED.clear()
    phone._UNVERIFIED.clear()
    phone.normalize.cache_clear()
    phone.adopt(batch)
    with pytest.raises(phone.PhoneError, match="not a valid number"):
        phone.normalize("+911000000000", "IN")
    assert phone.normalize("+911000000000", "IN", allow_unverified=True).e164 == "+911000000000"


# -- the same result, in parallel ------------------------------------------------------------------

COMMON = f"version: 1\ndefaults:\n  region: IN\nassistants:\n  support: {SUPPORT}\n"


def entry(i: int) -> str:
    """Numbers in three styles, with an error every so often of each kind load() reports."""
    digits = 918041000000 + i
    text = [f"+{digits}", f"0{str(digits)[2:]}", f"+91 80 {str(digits)[4:8]} {str(digits)[8:]}"][
        i % 3
    ]
    assistant = "support"
    if i % 97 == 5:
        text = "+91 80 123"  # too short
    elif i % 89 == 7:
        assistant = "nobody"  # unknown alias
    elif i % 83 == 3:
        text = f"+{918041000000 + i - 1}"  # declared twice
    region = "    region: IN\n" if i % 50 == 9 else ""  # its own region, whatever the default
    return f'  - number: "{text}"\n    assistant: {assistant}\n{region}'


def write_config(root: Path, numbers: int, files: int = 3, region: str = "IN") -> Path:
    config = root / "config"
    config.mkdir()
    (config / "common.yaml").write_text(COMMON.replace("region: IN", f"region: {region}"))
    per_file = -(-numbers // files)
    for k in range(files):
        body = "".join(entry(i) for i in range(k * per_file, min(numbers, (k + 1) * per_file)))
        (config / f"numbers-{k}.yaml").write_text("version: 1\nnumbers:\n" + body)
    return config


CHILD = """
import json, os, sys
from inbound_sync import config
from inbound_sync.config import workers
from inbound_sync.errors import ConfigError

def pid(_):
    import time
    time.sleep(0.05)  # long enough that one worker cannot take every task on a busy machine
    return os.getpid()

def on_ctrl_c(_):
    import signal
    return signal.getsignal(signal.SIGINT) == signal.SIG_IGN

path, count = sys.argv[1], int(sys.argv[2])
files, _ = config.expand_paths([path])
with workers.pool(files, count) as pool:
    others = set(pool.map(pid, range(8))) - {os.getpid()}
    ignored = sorted(set(pool.map(on_ctrl_c, range(8))))
try:
    state = config.load([path], workers=count)
    result = {"numbers": [list(n) for n in state.numbers], "files": list(state.files)}
except ConfigError as exc:
    result = {"issues": [list(i) for i in exc.issues]}
print(json.dumps({"processes": len(others), "ignore_ctrl_c": ignored, "result": result}))
"""


def load_in_child(path: Path, count: int) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), str(count)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


# Workers normalize a file's numbers as they read it, under the region that file gives, or the
# tool's default (IN); a default region set in another file (US) makes them guess wrong.
@pytest.mark.parametrize(
    ("numbers", "region"),
    [(4000, "IN"), (4000, "US"), (200, "IN")],
    ids=["large", "large, guessed region wrong", "small"],
)
def test_workers_find_exactly_what_one_process_finds(
    tmp_path: Path, numbers: int, region: str
) -> None:
    config = write_config(tmp_path, numbers, region=region)
    alone, parallel = load_in_child(config, 1), load_in_child(config, 2)
    assert (alone["processes"], parallel["processes"]) == (0, 2)
    # Ctrl-C reaches the whole process group; only the parent acts on it.
    assert parallel["ignore_ctrl_c"] == [True]
    assert parallel["result"] == alone["result"]
    messages = " ".join(issue[3] for issue in alone["result"]["issues"])
    for kind in (
        f"is not a valid number in region {region}",
        "unknown assistant alias",
        "already declared",
    ):
        assert kind in messages


def test_a_valid_large_config_loads_the_same_in_parallel(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "common.yaml").write_text(COMMON)
    for k in range(2):
        body = "".join(
            f'  - number: "+{918041000000 + k * 2000 + i}"\n    assistant: support\n'
            for i in range(2000)
        )
        (config / f"n{k}.yaml").write_text("version: 1\nnumbers:\n" + body)
    alone, parallel = load_in_child(config, 1), load_in_child(config, 2)
    assert len(alone["result"]["numbers"]) == 4000
    assert parallel["result"] == alone["result"]
    assert parallel["processes"] == 2


# -- the command line ----------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["0", "two", "-1", "65", "1.5", "²", "٣"])
def test_a_bad_worker_count_is_refused_without_echoing_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, value: str
) -> None:
    (tmp_path / "inbound.yaml").write_text(COMMON)
    monkeypatch.setenv("INBOUND_SYNC_WORKERS", value)
    result = run_main("validate", str(tmp_path / "inbound.yaml"))
    assert result.code == 1
    assert result.err == "Error: INBOUND_SYNC_WORKERS must be a whole number from 1 to 64\n"


def test_ctrl_c_while_workers_parse_exits_130_and_leaves_no_process(tmp_path: Path) -> None:
    config = write_config(tmp_path, 60_000, files=6)
    env = {**os.environ, "INBOUND_SYNC_WORKERS": "2", "NO_COLOR": "1"}
    command = [sys.executable, "-m", "inbound_sync", "validate", str(config)]
    # Its own process group, which Ctrl-C in a terminal signals as a whole.
    proc = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    children: list[int] = []
    deadline = time.monotonic() + 30
    # Wait until the workers are parsing: each has used some CPU time.
    while not (children and all(cpu_ticks(c) >= 5 for c in children)):
        assert proc.poll() is None, "it ended before the workers started"
        assert time.monotonic() < deadline, "the workers never started"
        children = child_pids(proc.pid)
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGINT)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "Traceback" not in err.decode()
    assert not [pid for pid in children if Path(f"/proc/{pid}").exists()]


def child_pids(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        children = (task / "children").read_text().split() if (task / "children").exists() else []
        found += [int(c) for c in children]
    return found


def cpu_ticks(pid: int) -> int:
    """User and system time of a process, in clock ticks; 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])
