"""Reading a fleet file with the strict YAML of `config` (lines kept, duplicate keys refused)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import pydantic

from inbound_sync.config.resolve import did_you_mean
from inbound_sync.config.source import YamlDocument, line_of, read_yaml
from inbound_sync.errors import ConfigError, ConfigIssue, UsageError
from inbound_sync.fleet.model import FleetFile, TargetSettings

_DEFAULT_PORTS = {"http": 80, "https": 443}
# Keys a user may write when pasting the key itself into the file.
_SECRET_WORDS = ("key", "token", "secret", "password")


class Target(NamedTuple):
    """One account of the fleet, with every path resolved against the fleet file's directory."""

    name: str
    api_url: str
    system: str
    """scheme://host:port: targets with the same system share one number space."""
    key_env: str | None
    key_file: str | None
    config: tuple[str, ...]
    source: str
    """fleet file:line where the target is named."""


class Fleet(NamedTuple):
    """A fleet file read and checked; targets are sorted by name."""

    path: str
    targets: tuple[Target, ...]

    def names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.targets)

    def select(self, names: Sequence[str]) -> tuple[Target, ...]:
        """The targets named (all of them for none); UsageError for a name not in the file."""
        if not names:
            return self.targets
        known = {t.name: t for t in self.targets}
        unknown = [n for n in dict.fromkeys(names) if n not in known]
        if unknown:
            raise UsageError("; ".join(self._unknown(n) for n in unknown))
        wanted = set(names)
        return tuple(t for t in self.targets if t.name in wanted)

    def _unknown(self, name: str) -> str:
        hint = did_you_mean(name, self.names())
        advice = f"; did you mean {hint!r}?" if hint else f" (targets: {', '.join(self.names())})"
        return f"no target {name!r} in {self.path}{advice}"


def system_of(api_url: str) -> str:
    """The number space an API URL belongs to: its scheme, host and port, path ignored."""
    parts = urlsplit(api_url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    port = parts.port or _DEFAULT_PORTS.get(scheme, 0)
    shown = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown}:{port}"


def load_fleet(path: str) -> Fleet:
    """Read and check a fleet file; raises ConfigError naming every problem at file:line."""
    if not Path(path).is_file():
        raise UsageError(f"no fleet file {path}")
    document = read_yaml(Path(path))
    model, issues = _validated(document)
    if model is None or issues:
        raise ConfigError(issues)
    targets = tuple(
        _target(path, document.data, name, settings)
        for name, settings in sorted(model.targets.items())
    )
    issues = _shared_sources(targets)
    if issues:
        raise ConfigError(issues)
    return Fleet(path, targets)


def _validated(document: YamlDocument) -> tuple[FleetFile | None, list[ConfigIssue]]:
    issues = list(document.issues)
    data = document.data
    if data is None:
        if not issues:
            issues.append(ConfigIssue(document.path, None, "", "is empty; expected version: 1"))
        return None, issues
    if not isinstance(data, dict):
        line = getattr(data, "line", 1)
        message = "must be a mapping with version: 1 and targets: at the top"
        return None, [*issues, ConfigIssue(document.path, line, "", message)]
    try:
        return FleetFile.model_validate(data), issues
    except pydantic.ValidationError as exc:
        issues += [_issue(document, error) for error in exc.errors()]
        return None, issues


def _issue(document: YamlDocument, error: Any) -> ConfigIssue:
    loc: tuple[int | str, ...] = tuple(error["loc"])
    if loc and loc[-1] == "[key]":
        return ConfigIssue(
            document.path,
            line_of(document.data, loc[:-1]),
            "targets",
            f"target name {loc[-2]!r} must be lower case letters, digits and -, "
            "starting with a letter or digit",
        )
    line = line_of(document.data, loc)
    field = ".".join(str(part) for part in loc)
    if error["type"] == "extra_forbidden":
        return ConfigIssue(document.path, line, field, _unknown_key(loc))
    if error["type"] == "missing":
        return ConfigIssue(document.path, line, field, "is required")
    if error["type"] == "too_short":
        return ConfigIssue(document.path, line, field, "must not be empty")
    message = str(error["msg"]).removeprefix("Value error, ")
    return ConfigIssue(document.path, line, field, message)


def _unknown_key(loc: tuple[int | str, ...]) -> str:
    key = str(loc[-1])
    if any(word in key.lower() for word in _SECRET_WORDS):
        # The value is never echoed, whatever the key: it may be the secret itself.
        return (
            "a fleet file never holds a key: put it in an environment variable named by "
            "api_key_env, or in a file named by api_key_file"
        )
    allowed = list(TargetSettings.model_fields if len(loc) > 1 else FleetFile.model_fields)
    hint = did_you_mean(key, allowed)
    return (
        f"unknown key; did you mean {hint!r}?"
        if hint
        else f"unknown key (allowed: {', '.join(allowed)})"
    )


def _target(path: str, data: Any, name: str, settings: TargetSettings) -> Target:
    base = os.path.dirname(path)
    key_file = settings.api_key_file
    return Target(
        name=name,
        api_url=settings.api_url,
        system=system_of(settings.api_url),
        key_env=settings.api_key_env,
        key_file=_beside(base, key_file) if key_file is not None else None,
        config=tuple(_beside(base, entry) for entry in settings.config),
        source=f"{path}:{line_of(data, ('targets', name))}",
    )


def _beside(base: str, entry: str) -> str:
    """`entry` relative to the fleet file's directory, as short as the user wrote it."""
    return os.path.normpath(os.path.join(base, entry))


def _shared_sources(targets: Iterable[Target]) -> list[ConfigIssue]:
    """Two targets of one system reading the same key are one account named twice."""
    seen: dict[tuple[str, str], Target] = {}
    issues = []
    for target in targets:
        source = f"variable {target.key_env}" if target.key_env else f"file {target.key_file}"
        first = seen.setdefault((target.system, source), target)
        if first is not target:
            path, _, line = target.source.rpartition(":")
            issues.append(
                ConfigIssue(
                    path,
                    int(line) if line.isdigit() else None,
                    f"targets.{target.name}",
                    f"reads its key from the same {source} as target {first.name} "
                    f"({first.source}) on the same system: one account cannot be two targets",
                )
            )
    return issues
