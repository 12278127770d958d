"""Shared fixtures: run the CLI in-process and capture what it prints; a seeded sandbox app."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import NamedTuple

import pytest
from starlette.applications import Starlette

from inbound_sync.cli import main
from inbound_sync.sandbox import Sandbox
from sandbox_fixtures import sandbox_app


class Run(NamedTuple):
    code: int
    out: str
    err: str


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., Run]:
    """Call `main(argv)` and return (exit code, stdout, stderr)."""

    def _run(*argv: str) -> Run:
        capsys.readouterr()
        code = main(list(argv))
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return _run


@pytest.fixture
def write_yaml(tmp_path: Path) -> Callable[[str, str], Path]:
    """Write a YAML file under tmp_path and return its path."""

    def _write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    return _write


def argv(*parts: str | Path) -> Sequence[str]:
    return [str(p) for p in parts]


@pytest.fixture
def app() -> Iterator[Starlette]:
    """The sandbox app seeded from examples/sandbox-seed.yaml, in memory, closed afterwards."""
    with sandbox_app() as application:
        yield application


@pytest.fixture
def live_sandbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    """The seeded sandbox on a loopback socket, with the CLI's URL and key pointing at it."""
    from reliability_support import ACME_KEY, served

    with served() as (sandbox, url):
        monkeypatch.setenv("INBOUND_SYNC_API_URL", url)
        monkeypatch.setenv("INBOUND_SYNC_API_KEY", ACME_KEY)
        yield sandbox
