"""Run a command with the keys of some fleet targets, each in the variable its target names.

    python fleet_keys.py "INBOUND_SYNC_KEY_PROD INBOUND_SYNC_KEY_EU" -- inbound-sync apply ...
    python fleet_keys.py "*" -- inbound-sync plan --fleet fleet.yaml     # every key given

A job of the fleet workflows gets keys from its GitHub environment under fixed names, since a
workflow cannot name a secret it computes without receiving all of them:
    INBOUND_SYNC_API_KEY     the key of the job's one target
    INBOUND_SYNC_FLEET_KEYS  one VARIABLE=key line per target (blank lines and # comments skipped)
The fleet file names the variable of each target (api_key_env). This sets exactly the variables
asked for, takes both fixed names out of the command's environment, and never prints a key.

Exit: the command's, or 1 when a key asked for is not given (nothing is run then).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping, Sequence

BUNDLE = "INBOUND_SYNC_FLEET_KEYS"
SINGLE = "INBOUND_SYNC_API_KEY"
VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class KeysError(Exception):
    """A key asked for is missing, or the bundle is malformed; the message holds no key."""


def bundle(text: str) -> dict[str, str]:
    """VARIABLE=key lines; a line that is neither is named by its number, never shown."""
    found: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        if not sep or not VARIABLE.fullmatch(name.strip()) or not value.strip():
            raise KeysError(f"line {number} of {BUNDLE} is not VARIABLE=key")
        found[name.strip()] = value.strip()
    return found


def keyed_env(names: Sequence[str], env: Mapping[str, str]) -> dict[str, str]:
    """`env` without the fixed names, with each variable of `names` set to its key."""
    given = bundle(env.get(BUNDLE, ""))
    single = env.get(SINGLE, "").strip()
    wanted = list(given) if list(names) == ["*"] else list(names)
    keys: dict[str, str] = {}
    for name in wanted:
        if name in given:
            keys[name] = given[name]
        elif single and len(wanted) == 1:
            keys[name] = single
    missing = [name for name in wanted if name not in keys]
    if missing:
        raise KeysError(
            f"no key for {', '.join(missing)}: set {SINGLE} in the target's environment, or a "
            f"{'VARIABLE=key'} line for it in {BUNDLE} in the fleet environment"
        )
    rest = {k: v for k, v in env.items() if k not in (BUNDLE, SINGLE)}
    return {**rest, **keys}


def main(argv: Sequence[str], env: Mapping[str, str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        print("usage: fleet_keys.py 'VARIABLE ...' -- COMMAND [ARG...]", file=sys.stderr)
        return 1
    try:
        child = keyed_env(argv[0].split(), env)
    except KeysError as exc:
        print(f"::error title=inbound-sync keys::{exc}", file=sys.stderr)
        return 1
    sys.stdout.flush()
    os.execvpe(argv[2], list(argv[2:]), child)
    return 1  # not reached: execvpe replaces this process


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:], os.environ))
