"""Helpers for the reliability and security tests: served sandboxes, CLI capture, invariants."""

from __future__ import annotations

import contextlib
import io
import random
import traceback
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple

import pytest
import yaml
from hypothesis import HealthCheck, settings
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from inbound_sync.cli import main
from inbound_sync.config import DesiredNumber, DesiredState
from inbound_sync.errors import PlanError
from inbound_sync.plan import Policy, RemoteRow, Snapshot, make_plan
from inbound_sync.sandbox import Sandbox, create_app
from inbound_sync.sandbox.faults import matches
from inbound_sync.sandbox.server import running_server
from planning import state, want
from sandbox_fixtures import SALES, SEED_PATH, SUPPORT

CRM = "f0f6d398-f9d9-4a7b-bc8e-4f24f57ec2de"
ACME_KEY = "sandbox-key-acme"
# A key as distinctive as a real one, so that any trace of it in any output is found.
SWEEP_KEY = "sk-live-SWEEP-7f3a9c2e4b6d8f0a1c3e5b7d9f2a4c6e"
# The part of the key right after its common prefix: a key clipped anywhere past it still shows it.
SWEEP_MARK = "SWEEP-7f3a"
# Valid Indian numbers (Bangalore landlines), as normalized keys.
POOL = tuple(f"9180443192{i:02d}" for i in range(10, 22))


def fuzz(examples: int) -> settings:
    """Hypothesis settings of the fuzz tests: reproducible (derandomized), no deadline."""
    return settings(
        max_examples=examples,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


class Run(NamedTuple):
    code: int
    out: str
    err: str


def run_main(*argv: str) -> Run:
    """Run the CLI in-process, capturing stdout and stderr; `main` itself must never raise."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(argv))
        except BaseException:  # any escape is the failure being tested for
            pytest.fail(f"main{argv!r} raised:\n{traceback.format_exc()}")
    return Run(code, out.getvalue(), err.getvalue())


def seed_with_key(key: str = ACME_KEY) -> dict[str, Any]:
    """The examples seed, with tenant acme's API key replaced."""
    seed: dict[str, Any] = yaml.safe_load(SEED_PATH.read_text(encoding="utf-8"))
    seed["tenants"]["acme"]["api_key"] = key
    return seed


def controller(app: Starlette) -> Sandbox:
    sandbox: Sandbox = app.state.sandbox
    return sandbox


@contextlib.contextmanager
def served(app: Starlette | None = None, *, key: str = ACME_KEY) -> Iterator[tuple[Sandbox, str]]:
    """A sandbox on a loopback socket: (controller, base URL); closed at exit."""
    app = app if app is not None else create_app(seed=seed_with_key(key))
    try:
        with running_server(app) as url:
            yield controller(app), url
    finally:
        controller(app).close()


def account(sandbox: Sandbox, tenant: str = "acme") -> Snapshot:
    """The tenant's active mappings as the store holds them, read behind the API (no faults)."""
    return Snapshot(
        rows=tuple(
            RemoteRow(
                inbound_id=m.inbound_id,
                normalized=m.phone_number_normalized,
                phone_number=m.phone_number,
                assistant_id=m.assistant_id,
                strategy_id=m.inbound_context_strategy_id,
            )
            for m in sandbox.all_mappings()
            if m.active and m.tenant == tenant
        )
    )


def bindings(snapshot: Snapshot) -> dict[str, tuple[str | None, str | None]]:
    return {r.normalized: (r.assistant_id, r.strategy_id) for r in snapshot.rows}


def residual(desired: DesiredState, snapshot: Snapshot) -> int:
    """How many changes the account still needs to match `desired`; -1 when it cannot plan."""
    try:
        plan = make_plan(desired, snapshot, Policy(desired.safety, allow_destructive=True))
    except PlanError:
        return -1
    return len(plan.changes)


def satisfies(desired: DesiredState, snapshot: Snapshot) -> bool:
    return residual(desired, snapshot) == 0


def duplicate_numbers(sandbox: Sandbox) -> list[str]:
    """Normalized numbers held by more than one active mapping, across all tenants."""
    seen: dict[str, int] = {}
    for m in sandbox.all_mappings():
        if m.active:
            seen[m.phone_number_normalized] = seen.get(m.phone_number_normalized, 0) + 1
    return sorted(n for n, count in seen.items() if count > 1)


def random_desired(
    rng: random.Random, current: Snapshot, pool: tuple[str, ...] = POOL
) -> DesiredState:
    """A random desired state over `pool` that can be planned against `current`."""
    present = {r.normalized for r in current.rows}
    numbers: list[DesiredNumber] = []
    for number in rng.sample(pool, rng.randint(0, len(pool))):
        if rng.random() < 0.15:
            numbers.append(want(number, ensure="absent"))
            continue
        assistant = rng.choice([SUPPORT, SALES, SUPPORT, SALES, None])
        strategy = rng.choice([CRM, None])
        if assistant is None and number not in present:
            assistant = SUPPORT  # assign needs an assistant
        numbers.append(want(number, assistant, strategy))
    return state(*numbers, unmanaged=rng.choice(["ignore", "detach", "delete"]))


def keeps(desired: DesiredState, number: str) -> bool:
    """True when `desired` wants the number to stay in the account."""
    declared = desired.by_number().get(number)
    if declared is not None:
        return declared.ensure == "present"
    return desired.unmanaged != "delete"


def routes(desired: DesiredState, number: str) -> bool:
    """True when `desired` forbids detaching the number: it routes it, or leaves it alone."""
    declared = desired.by_number().get(number)
    if declared is not None:
        return declared.ensure == "present" and declared.assistant_id is not None
    return desired.unmanaged == "ignore"


def show(capsys: pytest.CaptureFixture[str], title: str, figures: Mapping[str, object]) -> None:
    """Print figures to the terminal even under pytest's capture (they are read, not asserted)."""
    width = max(len(name) for name in figures)
    lines = [f"\n{title}"] + [f"  {name:<{width}}  {value}" for name, value in figures.items()]
    with capsys.disabled():
        print("\n".join(lines))


class Answer(NamedTuple):
    """A scripted answer: to requests under `match` (as fault rules match), `count` times.

    `{auth}` in the body becomes the request's Authorization header, as a careless server or
    proxy echoes it. With `apply`, the sandbox acts on the request first, and its answer is lost.
    """

    match: str
    status: int
    body: str
    content_type: str = "application/json"
    count: int = 1
    apply: bool = False


class Scripted:
    """The sandbox behind a layer that answers some requests as a test scripted them.

    `on_write(n, action)` runs `action` in the server once, when the n-th API write arrives and
    before the sandbox sees it: a way to change the account while an apply is in flight.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.answers: list[Answer] = []
        self.writes = 0
        self._trigger: tuple[int, Callable[[], None]] | None = None

    def on_write(self, number: int, action: Callable[[], None]) -> None:
        self.writes = 0
        self._trigger = (number, action)

    def script(self, *answers: Answer) -> None:
        self.answers.extend(answers)

    def clear(self) -> None:
        self.answers.clear()
        self._trigger = None

    def _take(self, method: str, path: str) -> Answer | None:
        for index, answer in enumerate(self.answers):
            if matches(answer.match, method, path):
                if answer.count > 1:
                    self.answers[index] = answer._replace(count=answer.count - 1)
                else:
                    del self.answers[index]
                return answer
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith("/inbound/"):
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        if method != "GET":
            self.writes += 1
            if self._trigger is not None and self._trigger[0] == self.writes:
                action = self._trigger[1]
                self._trigger = None
                action()
        answer = self._take(method, path)
        if answer is None:
            await self.app(scope, receive, send)
            return
        if answer.apply:
            await self.app(scope, receive, _discard)
        else:
            await _drain(receive)
        auth = dict(scope["headers"]).get(b"authorization", b"").decode()
        body = answer.body.replace("{auth}", auth)
        await Response(body, answer.status, media_type=answer.content_type)(scope, receive, send)


async def _drain(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            return


async def _discard(_message: Message) -> None:
    """Where the sandbox's own answer goes when a scripted one replaces it."""
