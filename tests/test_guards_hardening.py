"""Ways found to change the account against the user's guards, each closed.

- A change that leaves a routed number without an assistant is destructive, whatever its action.
- A config directory that cannot be read is an error before any write, not a silent skip.
- YAML files match `.yaml`/`.yml` in any case; hidden files and directories are not config.
- Ids are compared in canonical form, so an upper-case or braced UUID plans no spurious update.
"""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from inbound_sync import config
from inbound_sync.api import RemoteMapping
from inbound_sync.apply.account import to_row
from inbound_sync.config import DesiredState, SafetyPolicy
from inbound_sync.errors import ConfigError
from inbound_sync.plan import Binding, Change, Policy, make_plan
from inbound_sync.plan.saved import dumps, plan_document
from planning import A1, A2, S1, S2, row, snapshot, state, want
from reliability_support import account, bindings, run_main
from sandbox_fixtures import CRM, SUPPORT

MAPPING = TypeAdapter(RemoteMapping)


def listed(data: object) -> RemoteMapping:
    """A mapping as the client reads one off the wire (strict JSON validation)."""
    return MAPPING.validate_json(json.dumps(data))


ROUTED = [f"9180443192{i:02d}" for i in range(40, 52)]  # twelve numbers


def loses_its_assistant(change: Change) -> bool:
    """The oracle, written independently of Change.destructive."""
    had = change.before is not None and change.before.assistant_id is not None
    return had and (change.after is None or change.after.assistant_id is None)


def counted(changes: tuple[Change, ...]) -> list[Change]:
    return [c for c in changes if c.action in ("delete", "detach") or loses_its_assistant(c)]


# --- 1. unrouting is destructive --------------------------------------------------------------


def test_an_update_that_clears_the_assistant_is_refused_for_a_protected_number():
    desired = state(*(want(n, None, S1, protect=True) for n in ROUTED))
    plan = make_plan(desired, snapshot(*(row(n, A1, S1) for n in ROUTED)), Policy(desired.safety))

    assert {c.action for c in plan.changes} == {"update"}
    assert plan.refused
    protected = [r for r in plan.refusals if "is protected" in r]
    assert len(protected) == 12
    assert (
        "the plan would update it to no assistant, so that its calls stop routing" in (protected[0])
    )


def test_an_unrouting_update_counts_toward_max_destructive_like_a_detach():
    unroute = state(*(want(n, None, S1) for n in ROUTED[:5]), max_destructive=4)
    detach = state(*(want(n, None, None) for n in ROUTED[:5]), max_destructive=4)
    snap = snapshot(*(row(n, A1, S1) for n in ROUTED[:5]))

    by_update = make_plan(unroute, snap, Policy(unroute.safety))
    by_detach = make_plan(detach, snap, Policy(detach.safety))

    assert [c.action for c in by_update.changes] == ["update"] * 5
    assert [c.action for c in by_detach.changes] == ["detach"] * 5
    assert by_update.refusals == by_detach.refusals
    assert (
        "5 destructive changes (deletes, detaches and unroutings) exceed" in (by_update.refusals[0])
    )


def test_changing_the_strategy_of_an_unrouted_number_is_not_destructive():
    desired = state(want(ROUTED[0], None, S2, protect=True), max_destructive=0)
    plan = make_plan(desired, snapshot(row(ROUTED[0], None, S1)), Policy(desired.safety))

    assert [c.action for c in plan.changes] == ["update"]
    assert not plan.refused


numbers = st.sampled_from(ROUTED[:8])
assistants = st.sampled_from([A1, A2, None])
strategies = st.sampled_from([S1, S2, None])


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[DesiredState, object, int, bool]:
    declared = draw(st.lists(numbers, unique=True))
    remote = draw(st.lists(numbers, unique=True))
    protect = draw(st.booleans())
    entries = [
        want(
            n,
            draw(assistants),
            draw(strategies),
            ensure=draw(st.sampled_from(["present", "absent"])),
            protect=protect,
        )
        for n in declared
    ]
    limit = draw(st.integers(0, 4))
    desired = state(*entries, unmanaged=draw(st.sampled_from(["ignore", "detach", "delete"])))
    desired = desired._replace(safety=SafetyPolicy(limit, 100.0))
    rows = [row(n, draw(assistants), draw(strategies)) for n in remote]
    # New numbers need an assistant to be assigned; keep scenarios plannable.
    routable = tuple(
        n
        for n in desired.numbers
        if n.assistant_id is not None or n.ensure == "absent" or n.normalized in remote
    )
    return desired._replace(numbers=routable), snapshot(*rows), limit, protect


@settings(max_examples=300, deadline=None)
@given(scenarios())
def test_every_change_that_leaves_a_routed_number_without_assistant_is_guarded(scenario):
    desired, snap, limit, protect = scenario
    plan = make_plan(desired, snap, Policy(desired.safety))
    harmful = counted(plan.changes)
    declared_harm = [c for c in harmful if c.source is not None]

    assert [c.destructive for c in plan.changes] == [c in harmful for c in plan.changes]
    refused_by_count = any("exceed safety.max_destructive" in r for r in plan.refusals)
    assert refused_by_count == (len(harmful) > limit)
    if refused_by_count:
        assert f"{len(harmful)} destructive changes" in " ".join(plan.refusals)
    protected = [r for r in plan.refusals if "is protected" in r]
    assert len(protected) == (len(declared_harm) if protect else 0)


def test_validate_rejects_a_strategy_without_an_assistant(write_yaml):
    path = write_yaml(
        "inbound.yaml",
        f'version: 1\nnumbers:\n  - number: "+918044319240"\n    assistant: null\n'
        f"    strategy: {CRM}\n",
    )
    with pytest.raises(ConfigError) as info:
        config.load([str(path)])
    (issue,) = info.value.issues
    assert issue.line == 5
    assert issue.field == "numbers[0].strategy"
    assert "assistant is null" in issue.message
    assert "drop the strategy to keep the number detached" in issue.message


@pytest.mark.socket
def test_unrouting_protected_numbers_end_to_end_is_refused_with_no_write(tmp_path, live_sandbox):
    sandbox = live_sandbox
    routed = "".join(
        f'  - number: "+{n}"\n    assistant: {SUPPORT}\n    strategy: {CRM}\n    protect: true\n'
        for n in ROUTED
    )
    (tmp_path / "inbound.yaml").write_text(f"version: 1\nnumbers:\n{routed}")
    assert run_main("apply", str(tmp_path / "inbound.yaml"), "--auto-approve").code == 0
    writes = sandbox.stats()["writes"]

    # The config language refuses the unrouting outright ...
    unrouted = routed.replace(f"assistant: {SUPPORT}", "assistant: null")
    (tmp_path / "inbound.yaml").write_text(f"version: 1\nnumbers:\n{unrouted}")
    refused = run_main("apply", str(tmp_path / "inbound.yaml"), "--auto-approve")
    assert refused.code == 1
    assert "numbers[11].strategy: is set but assistant is null" in refused.err

    # ... and a saved plan edited by hand to unroute them is refused by the guards.
    desired = _unrouted_state(ROUTED)
    document = plan_document(
        make_plan(desired, account(sandbox), Policy(desired.safety)),
        desired,
        Policy(desired.safety),
        os.environ["INBOUND_SYNC_API_URL"],
    )
    (tmp_path / "edited.json").write_text(dumps(document))
    saved = run_main("apply", "--plan", str(tmp_path / "edited.json"))
    assert saved.code == 3, saved.err
    assert saved.err.count("is protected") == 12
    assert sandbox.stats()["writes"] == writes
    assert set(bindings(account(sandbox)).values()) == {(SUPPORT, CRM)}


def _unrouted_state(numbers: list[str]) -> DesiredState:
    return state(*(want(n, None, CRM, protect=True) for n in numbers))


# --- 2 and 4. every config file is read, or the run stops -----------------------------------


def _deny(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """Make `folder` unreadable to os.walk, as chmod 000 does for anyone but root."""
    real = os.scandir

    def scandir(path: object = ".") -> object:
        if Path(os.fsdecode(path)).resolve() == folder.resolve():  # type: ignore[arg-type]
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real(path)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "scandir", scandir)


def test_an_unreadable_subdirectory_is_an_error(tmp_path, monkeypatch):
    (tmp_path / "top.yaml").write_text("version: 1\nunmanaged: delete\n")
    (tmp_path / "team").mkdir()
    (tmp_path / "team" / "numbers.yaml").write_text("version: 1\n")
    _deny(monkeypatch, tmp_path / "team")

    with pytest.raises(ConfigError) as info:
        config.load([str(tmp_path)])
    (issue,) = info.value.issues
    assert issue.path == str(tmp_path / "team")
    assert issue.message == "cannot read directory: Permission denied"


@pytest.mark.socket
def test_a_protected_number_in_an_unreadable_directory_is_never_deleted(
    tmp_path, monkeypatch, live_sandbox
):
    sandbox = live_sandbox
    (tmp_path / "top.yaml").write_text("version: 1\nunmanaged: delete\n")
    (tmp_path / "team").mkdir()
    (tmp_path / "team" / "numbers.yaml").write_text(
        f'version: 1\nnumbers:\n  - number: "+{ROUTED[0]}"\n    assistant: {SUPPORT}\n'
        "    protect: true\n"
    )
    assert run_main("apply", str(tmp_path), "--auto-approve").code == 0
    before = sandbox.stats()

    _deny(monkeypatch, tmp_path / "team")
    for command in (["validate"], ["plan"], ["apply", "--auto-approve"]):
        result = run_main(*command[:1], str(tmp_path), *command[1:])
        assert result.code == 1, (command, result.err)
        assert f"{tmp_path / 'team'}: cannot read directory: Permission denied" in result.err

    # The account may have been read while the config was parsed; nothing was written.
    after = sandbox.stats()["requests"]
    assert {r: n for r, n in after.items() if not r.startswith("GET ")} == {
        r: n for r, n in before["requests"].items() if not r.startswith("GET ")
    }
    assert ROUTED[0] in bindings(account(sandbox))


def test_yaml_extensions_match_in_any_case(tmp_path):
    (tmp_path / "team.YAML").write_text(
        f'version: 1\nnumbers:\n  - number: "+{ROUTED[0]}"\n    assistant: {SUPPORT}\n'
    )
    (tmp_path / "more.Yml").write_text(
        f'version: 1\nnumbers:\n  - number: "+{ROUTED[1]}"\n    assistant: {SUPPORT}\n'
    )
    (tmp_path / "notes.txt").write_text("not config")

    desired = config.load([str(tmp_path)])
    assert [n.normalized for n in desired.numbers] == ROUTED[:2]


REPO = Path(__file__).resolve().parents[1]


def test_hidden_files_and_directories_are_not_config(tmp_path):
    # A repository that holds the project's own workflow and pre-commit files beside its config.
    (tmp_path / ".github").mkdir()
    for workflow in (REPO / ".github" / "workflows").glob("*.yml"):
        (tmp_path / ".github" / workflow.name).write_bytes(workflow.read_bytes())
    (tmp_path / ".pre-commit-config.yaml").write_text("repos: []\n")
    (tmp_path / "inbound").mkdir()
    (tmp_path / "inbound" / ".draft.yaml").write_text("not: [valid")
    (tmp_path / "inbound" / "numbers.yaml").write_text(
        f'version: 1\nnumbers:\n  - number: "+{ROUTED[0]}"\n    assistant: {SUPPORT}\n'
    )

    desired = config.load([str(tmp_path)])
    assert desired.files == (str(tmp_path / "inbound" / "numbers.yaml"),)


def test_validate_dot_in_a_repository_with_workflows(tmp_path, monkeypatch):
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    for workflow in (REPO / ".github" / "workflows").glob("*.yml"):
        (tmp_path / ".github" / "workflows" / workflow.name).write_bytes(workflow.read_bytes())
    (tmp_path / "inbound.yaml").write_text(
        f'version: 1\nnumbers:\n  - number: "+{ROUTED[0]}"\n    assistant: {SUPPORT}\n'
    )
    monkeypatch.chdir(tmp_path)

    result = run_main("validate", ".")
    assert result.code == 0, result.err


def test_a_hidden_file_named_explicitly_is_read(tmp_path):
    hidden = tmp_path / ".inbound.yaml"
    hidden.write_text(
        f'version: 1\nnumbers:\n  - number: "+{ROUTED[0]}"\n    assistant: {SUPPORT}\n'
    )
    assert [n.normalized for n in config.load([str(hidden)]).numbers] == [ROUTED[0]]


# --- 5. ids in canonical form -----------------------------------------------------------------

SPELLINGS = [
    SUPPORT.upper(),
    "{" + SUPPORT + "}",
    "urn:uuid:" + SUPPORT,
    SUPPORT.replace("-", ""),
]


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_ids_are_canonicalized_when_read(write_yaml, spelling):
    path = write_yaml(
        "inbound.yaml",
        f"version: 1\nassistants:\n  support: '{spelling}'\nnumbers:\n"
        f'  - number: "+{ROUTED[0]}"\n    assistant: support\n'
        f'  - number: "+{ROUTED[1]}"\n    assistant: "{spelling}"\n'
        f'    strategy: "{CRM.upper()}"\n',
    )
    desired = config.load([str(path)])
    assert [(n.assistant_id, n.strategy_id) for n in desired.numbers] == [
        (SUPPORT, None),
        (SUPPORT, CRM),
    ]
    assert desired.assistants == {"support": SUPPORT}


def test_two_spellings_of_one_id_do_not_conflict(write_yaml):
    first = write_yaml("a.yaml", f"version: 1\nassistants:\n  support: '{SUPPORT}'\n")
    second = write_yaml("b.yaml", f"version: 1\nassistants:\n  support: '{SUPPORT.upper()}'\n")
    assert config.load([str(first), str(second)]).assistants == {"support": SUPPORT}


def test_listed_ids_are_compared_in_canonical_form():
    mapping = listed(
        {
            "inbound_id": "9c2ad915-7d8a-4949-b8df-5fd0da91b4e6",
            "phone_number_normalized": ROUTED[0],
            "assistant_id": SUPPORT.upper(),
            "inbound_context_strategy_id": "not-a-uuid",
        }
    )
    assert to_row(mapping).binding == Binding(SUPPORT, "not-a-uuid")


@pytest.mark.socket
def test_non_canonical_ids_plan_no_spurious_update(tmp_path, live_sandbox):
    sandbox = live_sandbox
    entries = "".join(
        f'  - number: "+{n}"\n    assistant: "{spelling}"\n    strategy: "{{{CRM.upper()}}}"\n'
        for n, spelling in zip(ROUTED[:4], SPELLINGS, strict=True)
    )
    (tmp_path / "inbound.yaml").write_text(f"version: 1\nnumbers:\n{entries}")
    applied = run_main("apply", str(tmp_path / "inbound.yaml"), "--auto-approve")
    assert applied.code == 0, applied.err

    again = run_main("plan", str(tmp_path / "inbound.yaml"), "--format", "json")
    assert again.code == 0, again.err
    assert json.loads(again.out)["changes"] == []
    assert set(bindings(account(sandbox)).values()) == {(SUPPORT, CRM)}


# --- first hour: contradictions are errors ------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ("protect: true", "protect"),
        (f"assistant: {SUPPORT}", "assistant"),
        (f"strategy: {CRM}", "strategy"),
    ],
)
def test_ensure_absent_contradicts_settings_that_keep_the_number(write_yaml, extra, field):
    path = write_yaml(
        "inbound.yaml",
        f'version: 1\nnumbers:\n  - number: "+{ROUTED[0]}"\n    ensure: absent\n    {extra}\n',
    )
    with pytest.raises(ConfigError) as info:
        config.load([str(path)])
    (issue,) = info.value.issues
    assert (issue.line, issue.field) == (5, f"numbers[0].{field}")
    assert issue.message == (
        "contradicts ensure: absent, which deletes the number; remove one of the two"
    )


def test_ensure_absent_with_null_or_false_settings_is_fine(write_yaml):
    path = write_yaml(
        "inbound.yaml",
        f'version: 1\nnumbers:\n  - number: "+{ROUTED[0]}"\n    ensure: absent\n'
        "    assistant: null\n    strategy: null\n    protect: false\n",
    )
    (number,) = config.load([str(path)]).numbers
    assert number.ensure == "absent"
