from __future__ import annotations

import pytest

from inbound_sync.phone import PhoneError, display, normalize


@pytest.mark.parametrize(
    ("text", "region", "expected"),
    [
        ("+91 80 4431 9240", "IN", "918044319240"),
        ("+918044319240", "IN", "918044319240"),
        ("080-4431-9240", "IN", "918044319240"),
        ("080 4431 9240", "IN", "918044319240"),
        ("(080) 4431 9240", "IN", "918044319240"),
        ("0091 80 4431 9240", "IN", "918044319240"),
        ("(415) 555-0132", "US", "14155550132"),
        ("+1 415 555 0132", "IN", "14155550132"),
        ("020 7946 0958", "GB", "442079460958"),
        ("٠٨٠٤٤٣١٩٢٤٠", "IN", "918044319240"),
    ],
)
def test_normalize_gives_e164_digits_across_formats_and_regions(text, region, expected):
    assert normalize(text, region).normalized == expected


def test_normalize_never_strips_to_digits():
    # Stripping non-digits would give 08044319240, which is not the routing key.
    assert normalize("080-4431-9240", "IN").normalized != "08044319240"


def test_same_national_digits_differ_by_region():
    assert (
        normalize("020 7946 0958", "GB").normalized != normalize("020 7946 0958", "IN").normalized
    )


@pytest.mark.parametrize("text", ["1-800-FLOWERS", "+91 80 4431 924O", "080 4431 9240 ext 12"])
def test_letters_are_an_error(text):
    with pytest.raises(PhoneError, match="letters"):
        normalize(text, "IN")


@pytest.mark.parametrize("text", ["", "+", "12", "+999 1234"])
def test_unparseable_numbers_are_errors(text):
    with pytest.raises(PhoneError):
        normalize(text, "IN")


def test_invalid_number_needs_allow_unverified():
    # Possible by length in India, but in no assigned range.
    text = "+91 10 0000 0000"
    with pytest.raises(PhoneError, match="allow_unverified"):
        normalize(text, "IN")
    assert normalize(text, "IN", allow_unverified=True).normalized == "911000000000"


def test_display_is_international_format():
    assert display("918044319240") == "+91 80 4431 9240"
    assert display("0") == "+0"


@pytest.mark.parametrize(
    "text", ["+1 415 555 0132 #123", "+1 415 555 0132;12", "+1 415 555 0132,123"]
)
def test_extensions_are_an_error_not_silently_dropped(text):
    with pytest.raises(PhoneError, match="extension"):
        normalize(text, "US")
