"""Each target's connection: its URL checked and its key read, from a variable or a file.

Only the targets of a run are resolved, and all of them before any request, so that a run
names every missing key at once and never stops half way for one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from inbound_sync.api import ENV_KEY, ConnectionSettings
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
    """As for one account (URL checks, answer size limit, deadline), with the target's key."""
    if target.key_file is not None:
        return ConnectionSettings.from_sources(
            api_url=target.api_url,
            api_key_file=target.key_file,
            allow_insecure_http=allow_insecure_http,
            environ=environ,
        )
    variable = str(target.key_env)
    value = environ.get(variable, "").strip()
    if not value:
        raise UsageError(f"the key variable {variable} is not set ({target.source})")
    # The target's key where one account's key is read from; no other setting is per target.
    return ConnectionSettings.from_sources(
        api_url=target.api_url,
        api_key_file=None,
        allow_insecure_http=allow_insecure_http,
        environ={**environ, ENV_KEY: value},
    )
