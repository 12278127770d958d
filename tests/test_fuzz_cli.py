"""Fuzzing the command line: random arguments and bad config files against a live sandbox.

Every run ends with exit 0 or 1, never a traceback; exit 1 always comes with an error message;
and no run writes to the account. A bad config file stops `plan`, `drift` and `apply` before any
write (the account may be read while the config is parsed).
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from reliability_support import ACME_KEY, fuzz, run_main, served, show

pytestmark = pytest.mark.socket

COMMANDS = ["validate", "schema", "list", "plan", "drift", "apply", "import", "--version", "-h", ""]
OPTIONS = [
    "--format",
    "--out",
    "--detailed-exitcode",
    "--allow-destructive",
    "--plan",
    "--auto-approve",
    "--concurrency",
    "--log-file",
    "--undo-out",
    "--api-url",
    "--api-key-file",
    "--allow-insecure-http",
    "-v",
    "--verbose",
    "--region",
    "-h",
]
BAD_FILES = {
    "empty.yaml": b"",
    "bom.yaml": b"\xef\xbb\xbf",
    "utf16.yaml": "version: 1\n".encode("utf-16"),
    "tabs.yaml": b"version: 1\nnumbers:\n\t- number: x\n",
    "letters.yaml": b"version: 1\nnumbers: [{number: '+91 80 CALL NOW', assistant: null}]\n",
    "wrongtype.yaml": b"version: 1\nnumbers: {number: 1}\n",
    "huge.yaml": b"version: 1\nsafety: {max_destructive: 1e999}\n",
    "digits.yaml": "version: 1\nnumbers: [{number: '+९१ ८० ४४३१ ९२४०', assistant: nobody}]\n".encode(),
    "plan.json": b'{"format_version": 1, "api_url": 5}',
    "garbage.json": b"\x00\xff[[[[",
    "key.txt": b"two words\n",
    "notes.txt": b"nothing here",
}
URLS = [
    "http://example.com",
    "http://10.0.0.1",
    "http://[::ffff:10.0.0.1]",
    "http://localhost.evil.example",
    "https://xn--a.com",
    "http://[::1",
    "ftp://example.com",
    "https://user:pass@example.com",
    "https://example.com:99999",
    "https://example.com/?key=x",
    "",
]
VALUES = [
    *BAD_FILES,
    "emptydir",
    "missing.yaml",
    ".",
    "-1",
    "0",
    "65",
    "text",
    "json",
    "github",
    "nope",
    "IN",
    "ZZ",
    *URLS,
]


@contextlib.contextmanager
def inside(directory: Path) -> Iterator[None]:
    before = Path.cwd()
    os.chdir(directory)
    try:
        yield
    finally:
        os.chdir(before)


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    """A directory of bad inputs, and a sandbox on a socket that counts every request."""
    for name, data in BAD_FILES.items():
        (tmp_path / name).write_bytes(data)
    (tmp_path / "emptydir").mkdir()
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    with served() as (sandbox, url):
        monkeypatch.setenv("INBOUND_SYNC_API_URL", url)
        monkeypatch.setenv("INBOUND_SYNC_API_KEY", ACME_KEY)
        with inside(tmp_path):
            yield sandbox, tmp_path


@st.composite
def argvs(draw: st.DrawFn) -> list[str]:
    argv = [draw(st.sampled_from(COMMANDS))]
    for _ in range(draw(st.integers(0, 5))):
        argv.append(draw(st.sampled_from(OPTIONS) | st.sampled_from(VALUES) | st.text(max_size=12)))
    return [a for a in argv if a]


def test_random_arguments_end_in_exit_0_or_1_with_a_message_and_never_write(workspace, capsys):
    sandbox, _root = workspace
    seen = Counter[str]()

    @fuzz(200)
    @given(argv=argvs())
    @example(argv=["list", "--api-url", "https://xn--a.com"])
    @example(argv=["plan", "--api-url", "https://xn--a.com/"])
    @example(argv=["plan", "--api-url", "http://example.com"])
    @example(argv=["apply", "--plan", "garbage.json", "--auto-approve"])
    @example(argv=["apply", "--plan", "plan.json"])
    @example(argv=["apply", "--concurrency", "0"])
    @example(argv=["list", "--api-key-file", "key.txt"])
    @example(argv=["list", "--api-key-file", "emptydir"])
    @example(argv=["list", "--api-key-file", "utf16.yaml"])
    @example(argv=["validate", "emptydir", "missing.yaml", "huge.yaml"])
    def check(argv: list[str]) -> None:
        if "sandbox" in argv:
            return  # `sandbox serve` runs until Ctrl-C: not a case for this fuzz
        result = run_main(*argv)
        seen["runs"] += 1
        seen[f"exit {result.code}"] += 1
        assert result.code in (0, 1), (argv, result)
        assert "Traceback" not in result.err
        if result.code == 1:
            # An error, or (for a bare `inbound-sync`) the usage.
            assert any(word in result.err for word in ("Error", "Usage:")), (argv, result.err)

    check()
    stats = sandbox.stats()
    show(
        capsys,
        "CLI fuzz, random arguments",
        {**dict(sorted(seen.items())), "writes": stats["writes"]},
    )
    assert stats["writes"] == 0
    assert seen["exit 0"] > 0
    assert seen["exit 1"] > 0


def test_bad_config_files_stop_every_command_before_any_write(workspace, capsys):
    sandbox, root = workspace
    seen = Counter[str]()

    @fuzz(150)
    @given(
        data=st.binary(max_size=200)
        | st.text(max_size=200).map(str.encode)
        | st.sampled_from(sorted(BAD_FILES.values())),
        bom=st.sampled_from([b"", b"\xef\xbb\xbf"]),
    )
    def check(data: bytes, bom: bytes) -> None:
        path = root / "fuzzed.yaml"
        path.write_bytes(bom + data)
        validated = run_main("validate", str(path))
        seen["cases"] += 1
        if validated.code == 0:
            seen["valid after all"] += 1
            return
        assert validated.code == 1
        assert validated.err.startswith("Error: ")
        assert str(path) in validated.err
        before = writes_sent(sandbox)
        for command in (["plan"], ["drift"], ["apply", "--auto-approve"]):
            result = run_main(*command, str(path))
            assert result.code == 1, (command, result)
            assert str(path) in result.err
            assert "Traceback" not in result.err
        assert writes_sent(sandbox) == before
        seen["refused before any write"] += 1

    check()
    show(capsys, "CLI fuzz, bad config files", dict(seen))
    assert seen["refused before any write"] > 0


def writes_sent(sandbox) -> int:
    """Requests other than reads that reached the API, refused ones included."""
    return sum(
        n for route, n in sandbox.stats()["requests"].items() if not route.startswith("GET ")
    )


# -- inputs checked before the first request -----------------------------------------------------

PLAN = """{{"format_version": 1, "api_url": "{url}", "changes": [], "options": {{"allow_destructive": false}},
 "desired": {{"region": "IN", "service": "exotel", "unmanaged": "ignore", "safety": {safety},
  "assistants": {{}}, "strategies": {{}}, "files": [], "numbers": []}}}}"""


SAFETY = '{"max_destructive": 10, "max_destructive_percent": 30}'


def requests(sandbox) -> int:
    return sum(sandbox.stats()["requests"].values())


@pytest.mark.parametrize(
    "name", ["garbage.json", "plan.json", "utf16.yaml", "emptydir", "missing.json"]
)
def test_a_bad_saved_plan_is_refused_before_any_request(workspace, name):
    sandbox, _root = workspace
    result = run_main("apply", "--plan", name)
    assert result.code == 1
    assert result.err.startswith("Error: ")
    assert name in result.err
    assert requests(sandbox) == 0


def test_a_saved_plan_for_another_api_is_refused_before_any_request(workspace):
    sandbox, root = workspace
    (root / "other.json").write_text(
        PLAN.format(url="https://api.example.com", safety=SAFETY), encoding="utf-8"
    )
    result = run_main("apply", "--plan", "other.json")
    assert result.code == 1
    assert "other.json was made against https://api.example.com" in result.err
    assert requests(sandbox) == 0


@pytest.mark.parametrize("where", ["no-such-dir/undo.json", "emptydir"])
def test_an_undo_plan_that_cannot_be_saved_is_found_before_any_change(workspace, where):
    sandbox, root = workspace
    (root / "inbound.yaml").write_text(
        "version: 1\nnumbers: [{number: '+918044319240', assistant: "
        "550e8400-e29b-41d4-a716-446655440000}]\n",
        encoding="utf-8",
    )
    result = run_main("apply", "--auto-approve", "--undo-out", where)
    assert result.code == 1
    assert f"cannot write {where}" in result.err
    assert sandbox.stats()["writes"] == 0
    assert requests(sandbox) == 0


@pytest.mark.parametrize(
    "safety",
    [
        '{"max_destructive": 1e999, "max_destructive_percent": 30}',
        '{"max_destructive": 10, "max_destructive_percent": NaN}',
        '{"max_destructive": 10, "max_destructive_percent": Infinity}',
        '{"max_destructive": -1, "max_destructive_percent": 30}',
    ],
)
def test_a_saved_plan_with_a_non_finite_threshold_is_refused_clearly(workspace, safety):
    sandbox, root = workspace
    url = os.environ["INBOUND_SYNC_API_URL"]
    (root / "inf.json").write_text(PLAN.format(url=url, safety=safety), encoding="utf-8")
    result = run_main("apply", "--plan", "inf.json")
    assert result.code == 1
    assert "inf.json is not a plan file written by `inbound-sync plan --out`" in result.err
    assert requests(sandbox) == 0
