"""Phone number normalization: the identity of a mapping is its E.164 digits without '+'.

Parsing is the costliest step of loading a large config or account, so each number is parsed once
per process: a key that normalize() has produced is remembered with its parsed form, and its E.164
text ("+" + key, as the API reports numbers) is recognised without a second parse. That is sound
because E.164 is canonical: parsing "+<key>" of a parsed number gives the same number again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
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


# Every number parsed so far, by key; keys of numbers that are possible but not valid are also in
# _UNVERIFIED. Extensions are left out: E.164 drops them, so "+<key>" would not re-parse to them.
# None marks a number parsed in another process (see adopt); display() parses it when asked.
_PARSED: dict[str, phonenumbers.PhoneNumber | None] = {}
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
    if text.startswith("+") and text[1:] in _PARSED:
        return _known(text, region, allow_unverified)
    if any(ch.isalpha() for ch in text):
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


def normalize_many(
    requests: Sequence[Request],
) -> tuple[list[PhoneNumber | PhoneError], set[str]]:
    """normalize() of each request, each error returned in its place; also the keys among them
    that are possible but not valid. Runs as well in a worker process: see adopt()."""
    results: list[PhoneNumber | PhoneError] = []
    for text, region, allow_unverified in requests:
        try:
            results.append(normalize(text, region, allow_unverified=allow_unverified))
        except PhoneError as exc:
            results.append(exc)
    keys = {result.normalized for result in results if isinstance(result, PhoneNumber)}
    return results, keys & _UNVERIFIED


def adopt(results: Iterable[PhoneNumber | PhoneError], unverified: Iterable[str]) -> None:
    """Know the numbers normalize_many parsed in another process as if parsed here, so that
    their E.164 text is recognised without a second parse."""
    _UNVERIFIED.update(unverified)  # first, as in normalize()
    for result in results:
        if isinstance(result, PhoneNumber):
            _PARSED.setdefault(result.normalized, None)


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
    try:
        key = normalize("+" + normalized, DEFAULT_REGION, allow_unverified=True).normalized
    except PhoneError:
        return "+" + normalized
    parsed = _PARSED[key]
    if parsed is None:  # adopted from another process
        parsed = _PARSED[key] = phonenumbers.parse("+" + key)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
