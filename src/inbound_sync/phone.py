"""Phone number normalization: the identity of a mapping is its E.164 digits without '+'.

Parsing is the costliest step of loading a large config or account, so each number is parsed once
per process: a key that normalize() has produced is remembered with its parsed form, and its E.164
text ("+" + key, as the API reports numbers) is recognised without a second parse. That is sound
because E.164 is canonical: parsing "+<key>" of a parsed number gives the same number again.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache, lru_cache
from typing import NamedTuple

import phonenumbers

DEFAULT_REGION = "IN"


class PhoneError(ValueError):
    """A number that cannot be used; the message says why."""


class PhoneNumber(NamedTuple):
    """A parsed number: `normalized` is the key both sides agree on."""

    normalized: str
    e164: str

    @property
    def international(self) -> str:
        """The number as people read it, formatted on demand (it costs as much as validating)."""
        return display(self.normalized)


Fields = tuple[int | None, int | None, bool | None, int | None]
"""What a parse found, compactly: country code, national number and the leading zeros."""

# Every number parsed so far, by key; keys of numbers that are possible but not valid are also in
# _UNVERIFIED. Extensions are left out: E.164 drops them, so "+<key>" would not re-parse to them.
# A number parsed in another process (see adopt) is held as its Fields until display() needs it.
_PARSED: dict[str, phonenumbers.PhoneNumber | Fields] = {}
_UNVERIFIED: set[str] = set()

Request = tuple[str, str, bool]
"""What normalize_many takes for one number: its text, default region and allow_unverified."""


def is_region(code: str) -> bool:
    """True for a region phonenumbers knows, such as 'IN' or 'US'."""
    return code in phonenumbers.SUPPORTED_REGIONS


# Bounded: a large config's numbers are all distinct, so an unbounded cache would only hold memory.
@lru_cache(maxsize=4096)
def normalize(text: str, region: str, *, allow_unverified: bool = False) -> PhoneNumber:
    """Parse `text` with an explicit default region; never by stripping non-digits."""
    return _normalize(text, region, allow_unverified)


# The logic sits outside the cached wrappers so that mutation testing, which skips decorated
# functions, reaches it.
def _normalize(text: str, region: str, allow_unverified: bool) -> PhoneNumber:
    if text.startswith("+") and text[1:] in _PARSED:
        return _known(text, region, allow_unverified)
    if _has_letters(text):
        raise PhoneError(f"{text!r} contains letters; write the number with digits only")
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise PhoneError(f"{text!r} is not a phone number ({_parse_reason(exc)})") from None
    if parsed.extension:
        # E.164 has no extensions: routing would silently drop it.
        raise PhoneError(f"{text!r} has an extension; inbound numbers are routed without one")
    valid = phonenumbers.is_valid_number(parsed)
    if not valid:
        if not allow_unverified:
            raise _not_valid(text, region)
        if not phonenumbers.is_possible_number(parsed):
            raise PhoneError(f"{text!r} is not a possible number in region {region}")
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    key = e164[1:]
    if not parsed.extension and key not in _PARSED:
        if not valid:  # first, so that no thread sees the key known but not yet unverified
            _UNVERIFIED.add(key)
        _PARSED[key] = parsed
    return PhoneNumber(normalized=key, e164=e164)


_ASCII_LETTER = re.compile("[A-Za-z]")


def _has_letters(text: str) -> bool:
    # Written numbers are nearly always ASCII, where one regular expression search replaces a
    # loop over the characters in Python (a tenth of the time it takes to parse a number).
    if text.isascii():
        return _ASCII_LETTER.search(text) is not None
    return any(ch.isalpha() for ch in text)


def normalize_each(requests: Sequence[Request]) -> list[PhoneNumber | PhoneError]:
    """normalize() of each request, each error returned in its place.

    Meant for many distinct numbers: it skips normalize()'s cache, which they would only churn.
    """
    results: list[PhoneNumber | PhoneError] = []
    for text, region, allow_unverified in requests:
        try:
            results.append(_normalize(text, region, allow_unverified))
        except PhoneError as exc:
            results.append(exc)
    return results


class Batch(NamedTuple):
    """What normalize_many found: a result per request, in order, and what adopt() needs."""

    results: list[PhoneNumber | PhoneError]
    unverified: set[str]
    parsed: dict[str, Fields]


def normalize_many(requests: Sequence[Request]) -> Batch:
    """normalize_each(), in a worker process: it also returns what was parsed, for adopt() to
    make known in the process that receives the batch."""
    results = normalize_each(requests)
    keys = {result.normalized for result in results if isinstance(result, PhoneNumber)}
    parsed = {key: _fields(_PARSED[key]) for key in keys if key in _PARSED}
    return Batch(results, keys & _UNVERIFIED, parsed)


def adopt(batch: Batch) -> None:
    """Know the numbers normalize_many parsed in another process as if parsed here, so that
    their E.164 text is recognised, and displayed, without a second parse."""
    _UNVERIFIED.update(batch.unverified)  # first, as in normalize()
    for key, fields in batch.parsed.items():
        _PARSED.setdefault(key, fields)


def _fields(parsed: phonenumbers.PhoneNumber | Fields) -> Fields:
    if isinstance(parsed, tuple):
        return parsed
    zeros = parsed.number_of_leading_zeros
    return (parsed.country_code, parsed.national_number, parsed.italian_leading_zero, zeros)


def _number(parsed: phonenumbers.PhoneNumber | Fields) -> phonenumbers.PhoneNumber:
    if not isinstance(parsed, tuple):
        return parsed
    country_code, national_number, leading_zero, zeros = parsed
    return phonenumbers.PhoneNumber(
        country_code=country_code,
        national_number=national_number,
        italian_leading_zero=leading_zero,
        number_of_leading_zeros=zeros,
    )


def _known(e164: str, region: str, allow_unverified: bool) -> PhoneNumber:
    """The E.164 text of a number parsed before: the same verdict, without parsing it again."""
    key = e164[1:]
    if key in _UNVERIFIED and not allow_unverified:
        raise _not_valid(e164, region)
    return PhoneNumber(normalized=key, e164=e164)


def _not_valid(text: str, region: str) -> PhoneError:
    return PhoneError(
        f"{text!r} is not a valid number in region {region} "
        "(set allow_unverified: true if the numbering plan is newer than this tool)"
    )


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
    return _display(normalized)


def _display(normalized: str) -> str:
    try:
        key = normalize("+" + normalized, DEFAULT_REGION, allow_unverified=True).normalized
    except PhoneError:
        return "+" + normalized
    return phonenumbers.format_number(
        _number(_PARSED[key]), phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
