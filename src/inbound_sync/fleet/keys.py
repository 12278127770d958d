"""Each target's connection: its URL checked and its key read, from a variable or a file.

Only the targets of a run are resolved, and all of them before any request, so that a run
names every missing key at once and never stops half way for one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from inbound_sync.api import ApiKey, ConnectionSettings
from inbound_sync.api.settings import check_base_url, read_key_file
from inbound_sync.errors import UsageError
from inbound_sync.fleet.file import Target


def connections(
    targets: Iterable[Target], *, allow_insecure_http: bool, environ: Mapping[str, str]
) -> dict[str, ConnectionSettings]:
    """Settings by target name; one UsageError lists every target that cannot connect."""
    found: dict[str, ConnectionSettings] = {}
    problems: list[str] = []
    for target in targets:
        try:
            found[target.name] = _settings(target, allow_insecure_http, environ)
        except UsageError as exc:
            problems.append(f"target {target.name}: {exc}")
    if problems:
        raise UsageError("\n".join(["cannot connect to every target of the run:", *problems]))
    return found


def _settings(
    target: Target, allow_insecure_http: bool, environ: Mapping[str, str]
) -> ConnectionSettings:
    base_url = check_base_url(target.api_url, allow_insecure_http=allow_insecure_http)
    return ConnectionSettings(base_url=base_url, api_key=ApiKey(_key(target, environ)))


def _key(target: Target, environ: Mapping[str, str]) -> str:
    if target.key_file is not None:
        return read_key_file(target.key_file)
    variable = str(target.key_env)
    value = environ.get(variable, "").strip()
    if not value:
        raise UsageError(f"the key variable {variable} is not set ({target.source})")
    return value
