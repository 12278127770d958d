"""Each number is parsed once: its E.164 text is then recognised, with the same verdict."""

from __future__ import annotations

import phonenumbers
import pytest
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from inbound_sync.phone import PhoneError, display, normalize


def _examples() -> list[tuple[str, str]]:
    """An example number of every type in every region, written nationally."""
    found = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in (PhoneNumberType.FIXED_LINE, PhoneNumberType.MOBILE, PhoneNumberType.TOLL_FREE):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is not None:
                found.append(
                    (phonenumbers.format_number(example, PhoneNumberFormat.NATIONAL), region)
                )
    return found


def test_e164_of_a_parsed_number_parses_to_the_same_number():
    # The reuse rests on this: "+<key>" names the number it came from, in every region.
    for text, region in _examples():
        try:
            first = normalize(text, region, allow_unverified=True)
        except PhoneError:
            continue
        again = phonenumbers.parse(first.e164, "IN")
        assert phonenumbers.format_number(again, PhoneNumberFormat.E164) == first.e164


def test_a_known_number_in_e164_gives_the_record_a_fresh_parse_gives():
    first = normalize("080 4431 9240", "IN")
    assert normalize("+918044319240", "US") == first
    assert first.international == "+91 80 4431 9240"


def test_a_known_unverified_number_is_still_refused_without_allow_unverified():
    assert normalize("+91 10 0000 0001", "IN", allow_unverified=True).normalized == "911000000001"
    with pytest.raises(PhoneError, match="allow_unverified"):
        normalize("+911000000001", "IN")
    assert normalize("+911000000001", "IN", allow_unverified=True).e164 == "+911000000001"


def test_a_refused_extension_leaves_the_number_itself_usable():
    with pytest.raises(PhoneError, match="extension"):
        normalize("+1 415 555 0199 #12", "US")
    assert normalize("+1 415 555 0199", "US").normalized == "14155550199"
    assert display("14155550199") == "+1 415-555-0199"
