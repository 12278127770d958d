"""README's "Several accounts" walkthrough runs as written, against a sandbox on a free port."""

from __future__ import annotations

import shutil

import pytest

from test_readme_commands import ROOT, clean_env, free_port, run_bash, sh_blocks

pytestmark = pytest.mark.socket


def test_several_accounts_runs_as_written(tmp_path):
    [block] = sh_blocks("Several accounts")
    port = str(free_port())
    shutil.copytree(ROOT / "examples" / "fleet", tmp_path / "examples" / "fleet")
    fleet = tmp_path / "examples" / "fleet" / "fleet.yaml"
    fleet.write_text(fleet.read_text().replace("8787", port))
    url = f"http://127.0.0.1:{port}"
    wait = f'for _ in $(seq 300); do curl -s -o /dev/null "{url}/" && break; sleep 0.1; done'
    assert block.count("sleep 2") == 1
    script = block.replace("8787", port).replace("sleep 2", wait)
    result = run_bash(script, tmp_path, clean_env())

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "3 targets on 1 system" in result.stdout
    assert result.stdout.count("move +91 80 4431 9242 from brand-a to brand-b") == 2
    assert "Fleet: 5 done, 0 failed, 0 skipped; 3 of 3 targets converged." in result.stdout
    assert result.stdout.rstrip().endswith(
        "total    0 to assign, 0 to update, 0 to detach, 0 to delete; 5 unchanged, 0 unmanaged"
    )
