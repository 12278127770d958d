"""`inbound-sync matrix`: one CI job per target, the ends of every move in one job."""

from __future__ import annotations

import json

import pytest

from fleet_support import fleet_target
from inbound_sync.errors import UsageError
from inbound_sync.fleet import Move
from inbound_sync.fleet.matrix import KEY_SLOTS, jobs, matrix
from test_fleet_file import EXAMPLE

T = {name: fleet_target(name) for name in ("a", "b", "c", "d", "e", "f")}


def names(found) -> list[str]:
    return [job.name for job in found]


def test_without_moves_each_target_is_a_job():
    assert names(jobs([T["b"], T["a"]])) == ["a", "b"]


def test_targets_linked_by_moves_share_one_job_even_through_a_chain():
    moves = [Move("1", "a", "c"), Move("2", "c", "e"), Move("3", "d", "b")]
    assert names(jobs(list(T.values()), moves)) == ["a+c+e", "b+d", "f"]


def test_a_move_to_a_target_outside_the_selection_links_nothing():
    assert names(jobs([T["a"], T["b"]], [Move("1", "a", "z")])) == ["a", "b"]


def test_each_entry_names_its_secrets_in_fixed_slots():
    (entry,) = matrix(jobs([T["a"], T["b"]], [Move("1", "a", "b")]))["include"]
    assert entry == {
        "name": "a+b",
        "targets": "a b",
        "key_1": "KEY_A",
        "key_2": "KEY_B",
        **{f"key_{i}": "" for i in range(3, KEY_SLOTS + 1)},
    }


def test_a_group_larger_than_the_key_slots_is_refused():
    chain = [Move(str(i), a, b) for i, (a, b) in enumerate(zip("abcde", "bcdef", strict=True))]
    with pytest.raises(UsageError, match=r"moves link 6 targets \(a, b, c, d, e, f\)"):
        jobs(list(T.values()), chain)


def test_the_command_prints_one_line_of_json(run_cli):
    result = run_cli("matrix", "--fleet", str(EXAMPLE))
    assert result.code == 0, result.err
    assert result.out.count("\n") == 1
    document = json.loads(result.out)
    assert [e["name"] for e in document["include"]] == ["brand-a", "brand-b", "staging"]
    assert document["include"][0]["key_1"] == "INBOUND_SYNC_KEY_BRAND_A"
