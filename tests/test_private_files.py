"""Files the tool writes (--out, --log-file, --undo-out) replace a symlink, never follow it."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from inbound_sync.cli.common import write_private
from inbound_sync.errors import UsageError
from reliability_support import ACME_KEY, run_main, served
from sandbox_fixtures import SUPPORT

CONFIG = f'version: 1\nnumbers:\n  - number: "+918044319240"\n    assistant: {SUPPORT}\n'


def victim(tmp_path: Path) -> Path:
    target = tmp_path / "victim.txt"
    target.write_text("precious\n")
    target.chmod(0o644)
    return target


def assert_link_replaced(link: Path, target: Path) -> None:
    assert not link.is_symlink()
    assert stat.S_IMODE(link.stat().st_mode) == 0o600
    assert target.read_text() == "precious\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644


def test_write_private_replaces_a_symlink_instead_of_writing_through_it(tmp_path):
    target = victim(tmp_path)
    link = tmp_path / "plan.json"
    link.symlink_to(target)

    write_private(str(link), "new\n")

    assert link.read_text() == "new\n"
    assert_link_replaced(link, target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.json", "victim.txt"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(tmp_path, monkeypatch):
    old = tmp_path / "plan.json"
    old.write_text("old\n")

    def full_disk(_src: str, _dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(UsageError, match=r"cannot write .*: No space left on device"):
        write_private(str(old), "new\n")
    assert old.read_text() == "old\n"
    assert list(tmp_path.iterdir()) == [old]


def test_a_directory_that_does_not_exist_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match=r"cannot write .*: No such file or directory"):
        write_private(str(tmp_path / "missing" / "plan.json"), "x")


@pytest.mark.socket
def test_plan_out_log_file_and_undo_out_replace_symlinks(tmp_path, monkeypatch):
    target = victim(tmp_path)
    links = {name: tmp_path / name for name in ("plan.json", "audit.jsonl", "undo.json")}
    for link in links.values():
        link.symlink_to(target)
    (tmp_path / "inbound.yaml").write_text(CONFIG)
    with served() as (_sandbox, url):
        monkeypatch.setenv("INBOUND_SYNC_API_URL", url)
        monkeypatch.setenv("INBOUND_SYNC_API_KEY", ACME_KEY)
        monkeypatch.chdir(tmp_path)
        planned = run_main("plan", "inbound.yaml", "--out", "plan.json")
        assert planned.code == 0, planned.err
        applied = run_main(
            "apply", "--plan", "plan.json", "--log-file", "audit.jsonl", "--undo-out", "undo.json"
        )
        assert applied.code == 0, applied.err

    for link in links.values():
        assert_link_replaced(link, target)
    assert '"method": "POST"' in links["audit.jsonl"].read_text()
    assert os.path.getsize(links["undo.json"]) > 0
