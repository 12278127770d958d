"""Phone number normalization: the identity of a mapping is its E.164 digits without '+'."""

from __future__ import annotations

from functools import cache
from typing import NamedTuple

import phonenumbers

DEFAULT_REGION = "IN"


class PhoneError(ValueError):
    """A number that cannot be used; the message says why."""


class PhoneNumber(NamedTuple):
    """A parsed number: `normalized` is the key both sides agree on."""

    normalized: str
    e164: str
    international: str


def is_region(code: str) -> bool:
    """True for a region phonenumbers knows, such as 'IN' or 'US'."""
    return code in phonenumbers.SUPPORTED_REGIONS


@cache
def normalize(text: str, region: str, *, allow_unverified: bool = False) -> PhoneNumber:
    """Parse `text` with an explicit default region; never by stripping non-digits."""
    if any(ch.isalpha() for ch in text):
        raise PhoneError(f"{text!r} contains letters; write the number with digits only")
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise PhoneError(f"{text!r} is not a phone number ({_parse_reason(exc)})") from None
    if not phonenumbers.is_valid_number(parsed):
        if not allow_unverified:
            raise PhoneError(
                f"{text!r} is not a valid number in region {region} "
                "(set allow_unverified: true if the numbering plan is newer than this tool)"
            )
        if not phonenumbers.is_possible_number(parsed):
            raise PhoneError(f"{text!r} is not a possible number in region {region}")
    return _record(parsed)


def _record(parsed: phonenumbers.PhoneNumber) -> PhoneNumber:
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    international = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return PhoneNumber(normalized=e164.lstrip("+"), e164=e164, international=international)


def _parse_reason(exc: phonenumbers.NumberParseException) -> str:
    reasons = {
        phonenumbers.NumberParseException.INVALID_COUNTRY_CODE: "unknown country code",
        phonenumbers.NumberParseException.NOT_A_NUMBER: "not a number",
        phonenumbers.NumberParseException.TOO_SHORT_AFTER_IDD: "too short",
        phonenumbers.NumberParseException.TOO_SHORT_NSN: "too short",
        phonenumbers.NumberParseException.TOO_LONG: "too long",
    }
    return reasons.get(exc.error_type, "cannot be parsed")


@cache
def display(normalized: str) -> str:
    """International format of a normalized key, or '+digits' when it does not parse."""
    try:
        return normalize("+" + normalized, DEFAULT_REGION, allow_unverified=True).international
    except PhoneError:
        return "+" + normalized
