"""Phone numbers: why each one is refused, how unverified numbers show, and numbers met before."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from inbound_sync import phone
from inbound_sync.phone import PhoneError, PhoneNumber, adopt, display, is_region, normalize

SUPPORT = "550e8400-e29b-41d4-a716-446655440000"
VALID_HINT = "(set allow_unverified: true if the numbering plan is newer than this tool)"


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A process that has parsed no number yet."""
    monkeypatch.setattr(phone, "_PARSED", {})
    monkeypatch.setattr(phone, "_UNVERIFIED", set())
    phone.normalize.cache_clear()
    phone.display.cache_clear()
    yield
    phone.normalize.cache_clear()
    phone.display.cache_clear()


def forbid_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*_: object) -> None:
        raise AssertionError("parsed a second time")

    monkeypatch.setattr(phone.phonenumbers, "parse", forbidden)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("+999 1234 5678", "unknown country code"),
        ("---", "not a number"),
        ("00 1", "too short"),
        ("+91 1", "too short"),
        ("9" * 300, "too long"),
    ],
)
def test_each_parse_failure_says_why(text, reason):
    with pytest.raises(PhoneError) as caught:
        normalize(text, "IN")
    assert str(caught.value) == f"{text!r} is not a phone number ({reason})"


@pytest.mark.usefixtures("fresh")
def test_a_parse_failure_of_a_kind_phonenumbers_may_add_later_is_still_explained(monkeypatch):
    def fails(*_: object) -> None:
        raise phone.phonenumbers.NumberParseException(99, "something new")

    monkeypatch.setattr(phone.phonenumbers, "parse", fails)
    with pytest.raises(PhoneError) as caught:
        normalize("+91 80 4431 9299", "IN")
    assert str(caught.value) == "'+91 80 4431 9299' is not a phone number (cannot be parsed)"


def test_a_number_impossible_even_unverified_names_its_region():
    with pytest.raises(PhoneError) as caught:
        normalize("+91 123", "IN", allow_unverified=True)
    assert str(caught.value) == "'+91 123' is not a possible number in region IN"


def test_an_invalid_number_names_the_text_and_region_and_the_way_out():
    with pytest.raises(PhoneError) as caught:
        normalize("10 0000 0002", "IN")
    assert str(caught.value) == f"'10 0000 0002' is not a valid number in region IN {VALID_HINT}"


@pytest.mark.usefixtures("fresh")
def test_a_known_unverified_number_is_refused_naming_the_callers_region():
    normalize("+91 10 0000 0003", "IN", allow_unverified=True)
    with pytest.raises(PhoneError) as caught:
        normalize("+911000000003", "US")
    assert str(caught.value) == f"'+911000000003' is not a valid number in region US {VALID_HINT}"


def test_display_of_a_possible_but_unassigned_number_is_still_formatted():
    assert display("911000000004") == "+91 1000000004"


def test_display_of_digits_that_do_not_parse_is_plus_digits():
    assert display("999123") == "+999123"


@pytest.mark.usefixtures("fresh")
def test_the_e164_text_of_a_number_met_before_is_not_parsed_again(monkeypatch):
    first = normalize("080 4431 9250", "IN")
    forbid_parsing(monkeypatch)
    assert normalize("+918044319250", "GB") == first
    assert normalize("+918044319250", "US", allow_unverified=True) == first


def test_regions_are_the_ones_phonenumbers_knows():
    assert is_region("IT")
    assert not is_region("XX")


# Two or more leading zeros in the national number: phonenumbers records the count apart.
LEADING_ZEROS = [
    ("+39 0012345678", "390012345678", "+39 0012345678"),
    ("+225 0012345678", "2250012345678", "+225 00 12 34 5678"),
    ("+39 06 1234 5678", "390612345678", "+39 06 1234 5678"),
]


@pytest.mark.usefixtures("fresh")
def test_numbers_parsed_in_a_batch_are_known_and_displayed_after_adoption(monkeypatch):
    requests = [(text, "IN", True) for text, _, _ in LEADING_ZEROS]
    batch = phone.normalize_many([*requests, ("nope", "IN", False)])
    keys = [r.normalized for r in batch.results if isinstance(r, PhoneNumber)]
    assert keys == [key for _, key, _ in LEADING_ZEROS]
    assert isinstance(batch.results[-1], PhoneError)
    assert batch.unverified == {"390012345678", "2250012345678"}
    # Another process that has parsed nothing learns the batch, and may not parse again.
    monkeypatch.setattr(phone, "_PARSED", {})
    monkeypatch.setattr(phone, "_UNVERIFIED", set())
    phone.normalize.cache_clear()
    phone.display.cache_clear()
    adopt(batch)
    forbid_parsing(monkeypatch)
    assert [display(key) for _, key, _ in LEADING_ZEROS] == [shown for *_, shown in LEADING_ZEROS]
    with pytest.raises(PhoneError, match="not a valid number"):
        normalize("+390012345678", "IT")
    assert normalize("+390612345678", "IT").normalized == "390612345678"


@pytest.mark.usefixtures("fresh")
def test_a_batch_reports_only_its_own_unverified_numbers():
    normalize("+91 10 0000 0005", "IN", allow_unverified=True)
    batch = phone.normalize_many([("+91 10 0000 0006", "IN", True), ("+918044319240", "IN", False)])
    assert batch.unverified == {"911000000006"}
    assert [r.e164 for r in batch.results if isinstance(r, PhoneNumber)] == [
        "+911000000006",
        "+918044319240",
    ]


@pytest.mark.usefixtures("fresh")
def test_a_batch_keeps_each_requests_region_and_verdict():
    batch = phone.normalize_many(
        [
            ("020 7946 0958", "GB", False),
            ("10 0000 0007", "IN", False),
            ("(415) 555-0132", "US", False),
        ]
    )
    assert [getattr(r, "normalized", None) for r in batch.results] == [
        "442079460958",
        None,
        "14155550132",
    ]
    assert "not a valid number in region IN" in str(batch.results[1])


CHILD = """
import json, os, sys
import phonenumbers
from inbound_sync import config, phone

parses = []
parse = phonenumbers.parse

def counted(*args, **kwargs):
    parses.append(os.getpid())
    return parse(*args, **kwargs)

phonenumbers.parse = counted
state = config.load(sys.argv[1:], workers=2)
shown = [[n.normalized, phone.display(n.normalized)] for n in state.numbers]
print(json.dumps({"parsed_here": parses.count(os.getpid()), "shown": shown}))
"""


def test_leading_zeros_survive_the_worker_processes(tmp_path: Path):
    common = tmp_path / "common.yaml"
    common.write_text(
        f"version: 1\ndefaults:\n  region: IT\nassistants:\n  support: {SUPPORT}\n"
        'numbers:\n  - number: "+39 0012345678"\n    assistant: support\n'
        "    allow_unverified: true\n"
    )
    more = tmp_path / "more.yaml"
    more.write_text(
        'version: 1\nnumbers:\n  - number: "+225 0012345678"\n    assistant: support\n'
        '    allow_unverified: true\n  - number: "+39 06 1234 5678"\n    assistant: support\n'
    )
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(common), str(more)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "PYTHONHASHSEED": "0"},
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    # Every number was parsed in a worker: this process only adopted what they found.
    assert result["parsed_here"] == 0
    assert result["shown"] == [
        ["2250012345678", "+225 00 12 34 5678"],
        ["390012345678", "+39 0012345678"],
        ["390612345678", "+39 06 1234 5678"],
    ]


def test_letters_outside_ascii_are_an_error_too():
    with pytest.raises(PhoneError, match="contains letters"):
        normalize("+91 80 ЗВОНИ", "IN")
    with pytest.raises(PhoneError, match="contains letters"):
        normalize("٠٨٠٤٤٣١٩٢٤٠ é", "IN")
    # Digits of other scripts are not letters.
    assert normalize("٠٨٠٤٤٣١٩٢٤٠", "IN").normalized == "918044319240"


def test_normalize_each_gives_each_result_or_error_in_its_place():
    results = phone.normalize_each(
        [("080 4431 9240", "IN", False), ("+91 10 0000 0009", "IN", False), ("---", "IN", False)]
    )
    assert results[0] == normalize("080 4431 9240", "IN")
    assert [str(r) for r in results[1:]] == [
        f"'+91 10 0000 0009' is not a valid number in region IN {VALID_HINT}",
        "'---' is not a phone number (not a number)",
    ]
