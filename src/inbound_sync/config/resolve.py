"""Merge parsed config files and resolve them into a DesiredState, collecting every issue."""

from __future__ import annotations

import difflib
import uuid
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple, TypeVar

import pydantic

from inbound_sync.config.model import ApplyOptions, ConfigFile, Defaults, NumberEntry, Safety
from inbound_sync.config.source import LocatedDict, YamlDocument, line_of
from inbound_sync.config.state import (
    DesiredNumber,
    DesiredState,
    Ensure,
    SafetyPolicy,
    Unmanaged,
)
from inbound_sync.errors import ConfigIssue
from inbound_sync.phone import PhoneError, PhoneNumber, Request, normalize_each


class Entry(NamedTuple):
    """A number entry that passed validation: its settings, and the lines to report them at.

    Only what resolving needs is kept, in a plain record rather than the pydantic model: a
    large config holds one per number, and a worker process sends them all back.
    """

    position: int
    """Where the entry is in the file's `numbers` list."""
    line: int | None
    key_lines: dict[Any, int]
    """The line of each key the entry gives; a key it leaves out is reported at `line`."""
    number: str
    assistant: str | None
    strategy: str | None
    description: str | None
    ensure: Ensure
    protect: bool
    region: str | None
    allow_unverified: bool

    def line_of(self, field: str) -> int | None:
        """The line of `field`, or of the entry when the entry leaves the field out."""
        return self.key_lines.get(field, self.line)


class ParsedFile(NamedTuple):
    """A validated file: its settings, its valid entries, and its settings as read, for lines.

    A file with structural errors is still parsed as far as it goes, so that the semantic errors
    of its sound entries are reported in the same run; `aliases_read` is False when its alias
    tables could not be read, since other files' references to them cannot then be judged. The
    YAML tree of its entries is not kept: once they are validated, each entry carries its lines.
    """

    path: str
    model: ConfigFile
    entries: tuple[Entry, ...]
    raw: Any
    aliases_read: bool = True


_ALIAS_TABLES = ("assistants", "strategies")


def validate_document(doc: YamlDocument) -> tuple[ParsedFile | None, list[ConfigIssue]]:
    """Check one file's structure against the model."""
    if doc.data is None and doc.issues:
        return None, doc.issues
    if doc.data is None:
        return None, [
            ConfigIssue(doc.path, None, "", "is empty; expected a mapping with version: 1")
        ]
    if not isinstance(doc.data, dict):
        line = getattr(doc.data, "line", 1)
        return None, [
            *doc.issues,
            ConfigIssue(doc.path, line, "", "must be a mapping with version: 1 at the top"),
        ]
    # Duplicate keys keep their first value; the rest of the file is still checked.
    issues: list[ConfigIssue] = list(doc.issues)
    settings = _settings(doc.data)
    model = _validated(doc, ConfigFile, settings, (), issues)
    broken: set[str] = set()
    if model is None:
        model, broken = _salvaged(settings)
    # Entries are checked one by one, so that one bad entry does not hide the others' problems.
    raw_numbers = doc.data.get("numbers", [])
    entries: list[Entry] = []
    if not isinstance(raw_numbers, list):
        line = line_of(doc.data, ("numbers",))
        issues.append(ConfigIssue(doc.path, line, "numbers", "must be a list of entries"))
    else:
        lines = getattr(raw_numbers, "item_lines", None)
        for index, item in enumerate(raw_numbers):
            entry = _validated(doc, NumberEntry, item, ("numbers", index), issues)
            if entry is not None:
                line = lines[index] if lines else None
                entries.append(_entry(index, line, getattr(item, "key_lines", {}), entry))
    aliases_read = not broken.intersection(_ALIAS_TABLES)
    return ParsedFile(doc.path, model, tuple(entries), settings, aliases_read), issues


def _settings(data: dict[Any, Any]) -> dict[Any, Any]:
    """The top level of a file without its numbers, with the lines of its keys."""
    if isinstance(data, LocatedDict):
        return data.without("numbers")
    return {key: value for key, value in data.items() if key != "numbers"}


def _entry(index: int, line: int | None, key_lines: dict[Any, int], entry: NumberEntry) -> Entry:
    return Entry(
        index,
        line,
        key_lines,
        entry.number,
        entry.assistant,
        entry.strategy,
        entry.description,
        entry.ensure,
        entry.protect,
        entry.region,
        entry.allow_unverified,
    )


def _salvaged(settings: dict[Any, Any]) -> tuple[ConfigFile, set[str]]:
    """The settings that are valid on their own, and the names of those that are not.

    Their errors were reported already; what is kept lets the file's entries be resolved.
    """
    kept: dict[Any, Any] = {}
    broken: set[str] = set()
    for key, value in settings.items():
        if key == "version":
            continue
        try:
            ConfigFile.model_validate({"version": 1, key: value})
        except pydantic.ValidationError:
            broken.add(str(key))
        else:
            kept[key] = value
    return ConfigFile.model_validate({"version": 1, **kept}), broken


M = TypeVar("M", bound=pydantic.BaseModel)


def _validated(
    doc: YamlDocument,
    model: type[M],
    data: Any,
    at: tuple[int | str, ...],
    issues: list[ConfigIssue],
) -> M | None:
    """`model` validated from `data`, or None with its problems added to `issues`."""
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        issues.extend(_pydantic_issue(doc, err, at) for err in exc.errors())
        return None


def _pydantic_issue(doc: YamlDocument, err: Any, at: tuple[int | str, ...] = ()) -> ConfigIssue:
    loc: tuple[int | str, ...] = at + tuple(err["loc"])
    field = _field_name(loc)
    if err["type"] == "extra_forbidden":
        return ConfigIssue(doc.path, line_of(doc.data, loc), field, _unknown_key(loc))
    if err["type"] == "missing":
        return ConfigIssue(doc.path, line_of(doc.data, loc), field, "is required")
    message = str(err["msg"]).removeprefix("Value error, ")
    if loc and loc[-1] == "number" and err["type"] == "string_type":
        message = "must be a quoted string (YAML reads unquoted +91... as an integer)"
    return ConfigIssue(doc.path, line_of(doc.data, loc), field, message)


def _field_name(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _unknown_key(loc: tuple[int | str, ...]) -> str:
    allowed = _allowed_keys(loc[:-1])
    hint = did_you_mean(str(loc[-1]), allowed)
    suggestion = f"; did you mean {hint!r}?" if hint else f" (allowed: {', '.join(allowed)})"
    return f"unknown key{suggestion}"


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """The choice `word` most likely meant: the same name in another case, else the closest."""
    choices = list(choices)
    folded = [c for c in choices if c.casefold() == word.casefold()]
    if folded:
        return folded[0]
    by_fold = {c.casefold(): c for c in choices}
    close = difflib.get_close_matches(word.casefold(), list(by_fold), n=1)
    return by_fold[close[0]] if close else None


def _allowed_keys(parent: tuple[int | str, ...]) -> list[str]:
    if not parent:
        return list(ConfigFile.model_fields)
    models: dict[str, type[pydantic.BaseModel]] = {
        "defaults": Defaults,
        "safety": Safety,
        "apply": ApplyOptions,
        "numbers": NumberEntry,
    }
    model = models.get(str(parent[0]))
    return list(model.model_fields) if model is not None else []


NormalizeAll = Callable[[list[Request]], list[PhoneNumber | PhoneError]]
"""Normalizes every declared number at once, in order (config.workers may spread the work)."""


def resolve(
    files: Iterable[ParsedFile],
    normalize_all: NormalizeAll = normalize_each,
    *,
    all_read: bool = True,
) -> tuple[DesiredState | None, list[ConfigIssue]]:
    """Merge files and resolve aliases and numbers; returns the state or every issue found.

    `all_read` is False when some file could not be parsed at all: its aliases are unknown, and
    a reference to an undefined alias says it may be defined there.
    """
    files = list(files)
    aliases_known = all_read and all(f.aliases_read for f in files)
    issues: list[ConfigIssue] = []
    defaults = _single(files, "defaults", issues) or Defaults()
    unmanaged: Unmanaged = _single(files, "unmanaged", issues) or "ignore"
    safety = _single(files, "safety", issues) or Safety()
    options = _single(files, "apply", issues) or ApplyOptions()
    assistants = _merge_aliases(files, "assistants", issues)
    strategies = _merge_aliases(files, "strategies", issues)
    phones = iter(
        normalize_all(
            [
                (entry.number, entry.region or defaults.region, entry.allow_unverified)
                for parsed in files
                for entry in parsed.entries
            ]
        )
    )
    numbers: dict[str, DesiredNumber] = {}
    for parsed in files:
        for entry in parsed.entries:
            resolved = _resolve_entry(
                parsed.path, entry, next(phones), (assistants, strategies, aliases_known), issues
            )
            if resolved is None:
                continue
            _add_number(numbers, resolved, parsed.path, entry, issues)
    if issues:
        return None, issues
    state = DesiredState(
        numbers=tuple(sorted(numbers.values(), key=lambda n: n.normalized)),
        unmanaged=unmanaged,
        safety=SafetyPolicy(safety.max_destructive, float(safety.max_destructive_percent)),
        region=defaults.region,
        service=defaults.service,
        assistants=dict(sorted(assistants.items())),
        strategies=dict(sorted(strategies.items())),
        files=tuple(f.path for f in files),
        max_rate=options.max_rate,
    )
    return state, []


def _where(parsed: ParsedFile, loc: tuple[int | str, ...]) -> str:
    line = line_of(parsed.raw, loc)
    return f"{parsed.path}:{line}" if line is not None else parsed.path


def _single(files: list[ParsedFile], key: str, issues: list[ConfigIssue]) -> Any:
    """A top-level setting that may be set in several files only if they agree."""
    value: Any = None
    first: ParsedFile | None = None
    for parsed in files:
        mine = getattr(parsed.model, key)
        if mine is None:
            continue
        if first is None:
            value, first = mine, parsed
        elif mine != value:
            message = f"conflicts with the value set at {_where(first, (key,))}"
            issues.append(ConfigIssue(parsed.path, line_of(parsed.raw, (key,)), key, message))
    return value


def _merge_aliases(files: list[ParsedFile], key: str, issues: list[ConfigIssue]) -> dict[str, str]:
    merged: dict[str, str] = {}
    origin: dict[str, ParsedFile] = {}
    for parsed in files:
        for name, ident in getattr(parsed.model, key).items():
            loc = (key, name)
            canonical = canonical_id(ident)
            if canonical is None:
                message = f"{ident!r} is not an id (ids are UUIDs)"
                issues.append(
                    ConfigIssue(parsed.path, line_of(parsed.raw, loc), f"{key}.{name}", message)
                )
            elif name in merged and merged[name] != canonical:
                message = (
                    f"alias {name!r} is {ident}, but {merged[name]} at {_where(origin[name], loc)}"
                )
                issues.append(
                    ConfigIssue(parsed.path, line_of(parsed.raw, loc), f"{key}.{name}", message)
                )
            else:
                merged.setdefault(name, canonical)
                origin.setdefault(name, parsed)
    return merged


def canonical_id(value: str) -> str | None:
    """The canonical form of an id (lower case, dashed), or None if it is not a UUID.

    uuid.UUID also reads upper case, braces, `urn:uuid:` and the form without dashes; the API
    knows only the canonical one, and ids are compared in it on both sides.
    """
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


def _resolve_ref(value: str | None, aliases: dict[str, str]) -> str | None:
    """An alias or a literal id; raises ValueError for anything else."""
    if value is None:
        return None
    if value in aliases:
        return aliases[value]
    ident = canonical_id(value)
    if ident is None:
        raise ValueError(value)
    return ident


def _resolve_entry(
    path: str,
    entry: Entry,
    phone: PhoneNumber | PhoneError,
    aliases: tuple[dict[str, str], dict[str, str], bool],
    issues: list[ConfigIssue],
) -> DesiredNumber | None:
    assistants, strategies, aliases_known = aliases
    before = len(issues)

    def problem(field: str, message: str) -> None:
        issues.append(
            ConfigIssue(path, entry.line_of(field), f"numbers[{entry.position}].{field}", message)
        )

    if isinstance(phone, PhoneError):
        problem("number", str(phone))
    if entry.ensure == "present" and "assistant" not in entry.key_lines:
        problem(
            "assistant",
            "is required when ensure is present (write null to keep the number detached)",
        )
    _check_contradictions(entry, problem)
    ids: dict[str, str | None] = {}
    for field, table, section in (
        ("assistant", assistants, "assistants"),
        ("strategy", strategies, "strategies"),
    ):
        try:
            ids[field] = _resolve_ref(getattr(entry, field), table)
        except ValueError as exc:
            hint = did_you_mean(exc.args[0], table)
            if hint is not None:
                advice = f"; did you mean {hint!r}?"
            elif not aliases_known:
                advice = " (unless a file whose aliases could not be read defines it)"
            else:
                advice = ""
            problem(
                field,
                f"unknown {field} alias {exc.args[0]!r}: not under {section} and not a UUID"
                + advice,
            )
    if isinstance(phone, PhoneError) or len(issues) > before:
        return None
    return DesiredNumber(
        normalized=phone.normalized,
        e164=phone.e164,
        ensure=entry.ensure,
        assistant_id=ids["assistant"],
        strategy_id=ids["strategy"],
        protect=entry.protect,
        source=f"{path}:{entry.line}" if entry.line is not None else path,
        description=entry.description,
    )


def _check_contradictions(entry: Entry, problem: Callable[[str, str], None]) -> None:
    """Settings that cannot all hold: each is reported on the line of the one to change."""
    if entry.ensure == "absent":
        for field in ("assistant", "strategy", "protect"):
            if field in entry.key_lines and getattr(entry, field) not in (None, False):
                problem(field, f"contradicts ensure: absent, which deletes the number; {_DROP}")
        return
    if entry.assistant is None and entry.strategy is not None:
        problem(
            "strategy",
            "is set but assistant is null: a number without an assistant routes no calls, so "
            "its strategy would never run; name an assistant, or drop the strategy to keep "
            "the number detached",
        )


_DROP = "remove one of the two"


def _add_number(
    numbers: dict[str, DesiredNumber],
    number: DesiredNumber,
    path: str,
    entry: Entry,
    issues: list[ConfigIssue],
) -> None:
    if number.normalized in numbers:
        first = numbers[number.normalized]
        message = f"+{number.normalized} is already declared at {first.source}"
        issues.append(
            ConfigIssue(path, entry.line_of("number"), f"numbers[{entry.position}].number", message)
        )
        return
    numbers[number.normalized] = number
