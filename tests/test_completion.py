"""Shell completion, as click provides it through the installed `inbound-sync` command.

The README tells users to `eval "$(_INBOUND_SYNC_COMPLETE=bash_source inbound-sync)"` (or the zsh
and fish equivalents); these tests source that script in a real bash and ask it to complete.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from workflow_support import BIN

TOOL = shutil.which("inbound-sync", path=str(BIN))


def generate(shell: str) -> subprocess.CompletedProcess[str]:
    assert TOOL is not None, "inbound-sync is not installed in this environment"
    env = {**os.environ, "_INBOUND_SYNC_COMPLETE": f"{shell}_source"}
    return subprocess.run([TOOL], env=env, capture_output=True, text=True, check=False)


def complete_in_bash(line: str) -> list[str]:
    """What bash offers after `line`, through the sourced completion function."""
    words = line.split() + ([""] if line.endswith(" ") else [])
    script = (
        'eval "$(_INBOUND_SYNC_COMPLETE=bash_source inbound-sync)"\n'
        f"COMP_WORDS=({' '.join(repr(w) for w in words)})\n"
        f"COMP_CWORD={len(words) - 1}\n"
        "_inbound_sync_completion inbound-sync\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(
        ["bash", "-c", script], env=env, capture_output=True, text=True, check=True
    )
    return [word for word in done.stdout.splitlines() if word]


@pytest.mark.parametrize(
    ("shell", "registers"),
    [
        ("bash", "complete -o nosort -F _inbound_sync_completion inbound-sync"),
        ("zsh", "#compdef inbound-sync"),
        ("fish", "complete --no-files --command inbound-sync"),
    ],
)
def test_click_generates_the_completion_script_for_each_shell(shell, registers):
    result = generate(shell)
    assert result.returncode == 0, result.stderr
    assert registers in result.stdout


def test_bash_completes_command_names():
    assert complete_in_bash("inbound-sync pl") == ["plan"]
    assert complete_in_bash("inbound-sync d") == ["drift"]
    assert {"validate", "plan", "apply", "drift", "import", "list", "sandbox"} <= set(
        complete_in_bash("inbound-sync ")
    )


def test_bash_completes_options_and_their_choices():
    assert complete_in_bash("inbound-sync plan --format ") == ["text", "json", "markdown", "github"]
    assert "--detailed-exitcode" in complete_in_bash("inbound-sync plan --d")
    assert complete_in_bash("inbound-sync apply --undo") == ["--undo-out"]
    assert complete_in_bash("inbound-sync sandbox ") == ["serve"]
