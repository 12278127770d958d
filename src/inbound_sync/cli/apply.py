"""`apply`: plan (or read a saved plan), get approval, run the changes, verify, report."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple, TextIO

import click

from inbound_sync.api import (
    ConnectionSettings,
    Pacer,
    Pacers,
    PaceSettings,
    PauseEvent,
    RequestRecord,
    WaitNotice,
    format_wait,
)
from inbound_sync.api.client import utc_now
from inbound_sync.api.records import iso_time
from inbound_sync.apply import ApplyReport, ClientAccount, Outcome, Settings, apply_plan
from inbound_sync.apply.undo import undo_state
from inbound_sync.cli.common import (
    ENV_MAX_RATE,
    Connection,
    append_step_summary,
    load_config,
    open_client,
    positive_number,
    private_file,
    settings_for,
    write_private,
)
from inbound_sync.cli.overlap import Reader, load_while_reading
from inbound_sync.config import DesiredState
from inbound_sync.errors import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    ApiError,
    InboundSyncError,
    PlanRefused,
    StalePlan,
    UsageError,
    exit_code_for_signal,
)
from inbound_sync.output import color_enabled, write
from inbound_sync.plan import Plan, Policy, Snapshot, make_plan
from inbound_sync.plan.saved import (
    SavedPlan,
    dumps,
    plan_document,
    read_saved,
    stale_differences,
)
from inbound_sync.render import escape, text
from inbound_sync.render import report as render_report


class Options(NamedTuple):
    plan_file: str | None
    auto_approve: bool
    allow_destructive: bool
    concurrency: int
    fmt: str
    log_file: str | None
    undo_out: str | None
    max_rate: float | None = None
    timeout_total: float = 5 * 3600.0


class Prepared(NamedTuple):
    desired: DesiredState
    policy: Policy
    plan: Plan


def run_apply(paths: Sequence[str], conn: Connection, options: Options) -> int:
    if options.plan_file and paths:
        raise UsageError("give config PATHS or --plan FILE, not both")
    if options.plan_file and options.allow_destructive:
        raise UsageError(
            "--allow-destructive is recorded in the saved plan; make the plan again with it"
        )
    deadline = time.monotonic() + options.timeout_total
    # A 429 is no attempt here: the client waits as long as the API asks, within the deadline.
    settings = _patient(settings_for(conn))
    rate = options.max_rate or _env_rate()
    # Every input is checked before the first write: a bad file never costs one, and an undo
    # plan that cannot be saved is found before the changes it would undo. A saved plan is read
    # before any request; the account is read while a config is parsed.
    source: DesiredState | SavedPlan
    first: First | None = None
    if options.plan_file:
        source = _read_plan_file(options.plan_file, settings)
        pace = PaceSettings(rate or source.desired.max_rate, options.concurrency)
        pacer = Pacers(pace).for_url(settings.base_url)
    else:
        pacer = Pacers(PaceSettings(rate, options.concurrency)).for_url(settings.base_url)
        source, first = _load_and_read(paths, Run(conn, settings, pacer, deadline, None), options)
        if rate is None and source.max_rate is not None:
            pacer.cap(source.max_rate)
    if options.undo_out:
        _check_writable(options.undo_out)
    with _log(options.log_file) as log:
        run = Run(conn, settings, pacer, deadline, log)
        if first is None:
            snapshot = asyncio.run(_read_account(run, options, log))
        else:
            snapshot = first.replay(log)
        prepared = _prepare(source, snapshot, options)
        if not _review(prepared, options):
            return 0
        result, signalled = asyncio.run(_execute(run, prepared, options))
        _log_totals(log, result)
    return _finish(result, prepared, options, settings, signalled)


class Run(NamedTuple):
    """What both halves of an apply share: the API, its host's pacer, the deadline, the log."""

    conn: Connection
    settings: ConnectionSettings
    pacer: Pacer
    deadline: float
    log: AuditLog | None


def _patient(settings: ConnectionSettings) -> ConnectionSettings:
    return settings._replace(retry=settings.retry._replace(patient=True))


def _env_rate() -> float | None:
    text = os.environ.get(ENV_MAX_RATE, "").strip()
    if not text:
        return None
    rate = positive_number(text)
    if rate is None:
        # The value is not echoed, as no value read from the environment is.
        raise UsageError(
            f"{ENV_MAX_RATE} must be a number of requests per second greater than 0"
            " (such as 2 or 0.5)"
        )
    return rate


def _read_plan_file(path: str, settings: ConnectionSettings) -> SavedPlan:
    saved = read_saved(path)
    if saved.api_url != settings.base_url:
        raise UsageError(f"{path} was made against {saved.api_url}, not {settings.base_url}")
    return saved


def _check_writable(path: str) -> None:
    """UsageError unless `path` can be created or overwritten."""
    target = Path(path)
    parent = target.parent
    if target.is_dir():
        raise UsageError(f"cannot write {path}: it is a directory")
    if not parent.is_dir():
        raise UsageError(f"cannot write {path}: no directory {parent}")
    # The file is written beside its path and renamed over it (see private_file).
    if not os.access(parent, os.W_OK):
        raise UsageError(f"cannot write {path}: permission denied")


def _can_write(*paths: str | None) -> bool:
    """True when _check_writable finds nothing against any of `paths` given."""
    try:
        for path in paths:
            if path:
                _check_writable(path)
    except UsageError:
        return False
    return True


def _review(prepared: Prepared, options: Options) -> bool:
    """Show the plan and get approval; False when there is nothing to do."""
    preview = sys.stdout if options.fmt == "text" else sys.stderr
    color = color_enabled(preview)
    write(text.format_plan(prepared.plan, color=color), err=preview is sys.stderr, nl=False)
    if prepared.plan.refused:
        write(
            text.format_refusals(prepared.plan, color=color_enabled(sys.stderr)), err=True, nl=False
        )
        raise PlanRefused("the plan was refused by the safety guards; nothing was written")
    if not prepared.plan.changes:
        return False
    if not options.plan_file:
        _approve(options.auto_approve)
    return True


class First:
    """The account as read while the config was parsed, and the requests that read made, for
    the audit log, which is opened only once the config is known to be good."""

    def __init__(self, reader: Reader[Snapshot], requests: list[RequestRecord]) -> None:
        self.reader = reader
        self.requests = requests

    def replay(self, log: AuditLog | None) -> Snapshot:
        """The snapshot, or the read's error, once its requests are in the audit log."""
        if log is not None:
            for record in self.requests:
                log(record)
        return self.reader.result()


def _load_and_read(
    paths: Sequence[str], run: Run, options: Options
) -> tuple[DesiredState, First | None]:
    """The config, and the account read while it is parsed; the config's errors come first.

    No read starts when the undo plan or the audit log cannot be written: their errors are found
    after the config's, and before any request, as they always were.
    """
    if not _can_write(options.undo_out, options.log_file):
        return load_config(paths), None
    requests: list[RequestRecord] = []
    desired, reader = load_while_reading(
        lambda ready: load_config(paths, ready),
        lambda: _read_account(run, options, requests.append),
    )
    return desired, First(reader, requests)


async def _read_account(
    run: Run, options: Options, on_request: Callable[[RequestRecord], None] | None
) -> Snapshot:
    with _deadline(run.deadline) as expired:
        async with open_client(
            run.conn, run.settings, on_request=on_request, pacer=run.pacer, stop=expired
        ) as client:
            try:
                return await ClientAccount(client).snapshot()
            except ApiError as exc:
                if not expired.is_set():
                    raise
                raise InboundSyncError(
                    f"the run's deadline (--timeout-total {options.timeout_total:g} s) passed"
                    f" before the account could be read; nothing was written: {exc}"
                ) from None


def _prepare(source: DesiredState | SavedPlan, snapshot: Snapshot, options: Options) -> Prepared:
    if isinstance(source, SavedPlan):
        return _from_saved(str(options.plan_file), source, snapshot)
    policy = Policy(source.safety, options.allow_destructive)
    return Prepared(source, policy, make_plan(source, snapshot, policy))


def _from_saved(path: str, saved: SavedPlan, snapshot: Snapshot) -> Prepared:
    plan = make_plan(saved.desired, snapshot, saved.policy)
    now = plan_document(plan, saved.desired, saved.policy, saved.api_url)["changes"]
    if now != saved.changes:
        differences = "".join(f"\n  {line}" for line in stale_differences(saved.changes, now))
        raise StalePlan(
            f"the account changed since {path} was made; plan again "
            f"({len(saved.changes)} change(s) saved, {len(now)} needed now):{differences}"
        )
    return Prepared(saved.desired, saved.policy, plan)


def _approve(auto_approve: bool) -> None:
    if auto_approve:
        return
    if not sys.stdin.isatty():
        raise UsageError(
            "refusing to apply without approval: no terminal to ask on; "
            "pass --auto-approve or apply a saved plan with --plan FILE"
        )
    answer = click.prompt(
        "Apply these changes? Only 'yes' is accepted", default="", show_default=False
    )
    if answer.strip() != "yes":
        raise UsageError("apply cancelled; nothing was written")


@contextlib.contextmanager
def _log(path: str | None) -> Iterator[AuditLog | None]:
    """The audit log in an owner-only file; None without --log-file."""
    if path is None:
        yield None
        return
    with private_file(path) as handle:
        yield AuditLog(handle)


class AuditLog:
    """JSON lines: one per API call (the log is called with each RequestRecord), one per pause
    of every request for the API's rate limit, and a closing summary of the run."""

    def __init__(self, handle: TextIO) -> None:
        self.handle = handle

    def __call__(self, record: RequestRecord) -> None:
        tag = dict(record.tag or {})
        self.write(
            time=record.time,
            action=tag.get("action", "list"),
            number=tag.get("number"),
            inbound_id=tag.get("inbound_id") or None,
            method=record.method,
            path=record.path,
            status=record.status,
            attempt=record.attempt,
            duration=round(record.duration_s, 4),
            outcome=record.outcome,
            error=record.error,
            # A fleet's apply says which account each call went to.
            **({"target": tag["target"]} if "target" in tag else {}),
        )

    def pause(self, event: PauseEvent) -> None:
        if event.kind == "begin":
            self.write(action="pause", duration=round(event.seconds, 4), retry_after=event.asked)

    def totals(self, report: ApplyReport) -> None:
        self.write(
            action="summary",
            **render_report.counts(report),
            rate_limited=report.rate_limited,
            paused=round(report.paused_s, 4),
            deadline_passed=report.expired,
        )

    def write(self, **fields: object) -> None:
        # Every line has the keys of an API call's line, so that readers may index any of them.
        entry = {**dict.fromkeys(_CALL_KEYS), "time": iso_time(utc_now()), **fields}
        self.handle.write(json.dumps(entry, sort_keys=True) + "\n")
        self.handle.flush()


_CALL_KEYS = (
    *("number", "inbound_id", "method", "path", "status"),
    *("attempt", "duration", "outcome", "error"),
)


def _log_totals(log: AuditLog | None, report: ApplyReport) -> None:
    if log is not None:
        log.totals(report)


async def _execute(
    run: Run, prepared: Prepared, options: Options
) -> tuple[ApplyReport, int | None]:
    """The report, and the exit code of the signal that interrupted it, if one did."""
    # `halt` ends the client's waits: a signal sets it, and so does the deadline.
    halt = asyncio.Event()
    interruption = Interruption(asyncio.get_running_loop(), halt)
    with _progress(len(prepared.plan.changes), run) as progress:
        # Whatever else the run says on stderr comes after the progress lines before it.
        interruption.say = progress.say
        with interruption.handling(), _deadline(run.deadline, halt) as expired:
            async with open_client(
                run.conn,
                run.settings,
                on_request=run.log,
                on_wait=_unless_shared(progress.say),
                pacer=run.pacer,
                stop=halt,
            ) as client:
                account = ClientAccount(client, prepared.desired.service)
                report = await apply_plan(
                    account,
                    prepared.plan,
                    prepared.desired,
                    Settings(concurrency=options.concurrency, attempts=run.settings.retry.attempts),
                    progress.outcome,
                    interruption.stop,
                    interruption.abandon,
                    expired,
                )
    totals = run.pacer.state
    report = report._replace(rate_limited=totals.rate_limited, paused_s=totals.paused_s)
    return report, interruption.exit_code


def _unless_shared(say: Callable[[str], None]) -> Callable[[WaitNotice], None]:
    """Waits announced on stderr, but for the pauses of every request, which the progress
    shows instead."""

    def announce(notice: WaitNotice) -> None:
        if not notice.shared:
            say(format_wait(notice))

    return announce


def _to_stderr(text: str) -> None:
    write(text, err=True)


@contextlib.contextmanager
def _deadline(at: float, *also: asyncio.Event) -> Iterator[asyncio.Event]:
    """An event set when time.monotonic() reaches `at` (the run's deadline), with `also`."""
    expired = asyncio.Event()

    def expire() -> None:
        expired.set()
        for event in also:
            event.set()

    timer = asyncio.get_running_loop().call_later(max(0.0, at - time.monotonic()), expire)
    try:
        yield expired
    finally:
        timer.cancel()


GRACE_S = 10.0
"""After the first signal, how long the changes in flight may take before they are abandoned."""

_SIGNALS: dict[int, str] = {
    signal.SIGINT: "Interrupted",
    signal.SIGTERM: "Terminated (SIGTERM)",
    **({signal.SIGHUP: "Hung up (SIGHUP)"} if hasattr(signal, "SIGHUP") else {}),
}


class Interruption:
    """SIGINT, SIGTERM and SIGHUP while apply writes.

    The first signal starts no new change and lets those in flight finish; a second signal, or
    GRACE_S seconds, abandons them (their outcome is then unknown). Either way the report, the
    audit log and the undo plan are still written, and the exit code is 128 + the first signal.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, halt: asyncio.Event | None = None) -> None:
        self.loop = loop
        self.stop = asyncio.Event()
        self.abandon = asyncio.Event()
        self.first: int | None = None
        # Set with `stop`: the client's waits end on it, and on the run's deadline too.
        self.halt = halt
        # Where its messages go: stderr, after any progress lines still waiting.
        self.say: Callable[[str], None] = _to_stderr

    @property
    def exit_code(self) -> int | None:
        return exit_code_for_signal(self.first) if self.first is not None else None

    @contextlib.contextmanager
    def handling(self) -> Iterator[None]:
        previous = {signum: signal.getsignal(signum) for signum in _SIGNALS}
        installed = []
        for signum in _SIGNALS:
            with contextlib.suppress(NotImplementedError, RuntimeError):
                self.loop.add_signal_handler(signum, self.received, signum)
                installed.append(signum)
        try:
            yield
        finally:
            for signum in installed:
                self.loop.remove_signal_handler(signum)
                # remove_signal_handler leaves SIG_DFL; put back what the process had.
                with contextlib.suppress(TypeError, ValueError):
                    signal.signal(signum, previous[signum])

    def received(self, signum: int) -> None:
        if self.first is None:
            self.first = signum
            self.say(
                f"{_SIGNALS[signum]}: finishing the changes in flight, starting no new ones. "
                f"(Again, or {GRACE_S:g} s, abandons them.)"
            )
            self.stop.set()
            if self.halt is not None:
                self.halt.set()
            self.loop.call_later(GRACE_S, self._give_up, "they took too long")
        else:
            self._give_up(f"a second signal, {_SIGNALS[signum].split(' (')[0].lower()}")

    def _give_up(self, why: str) -> None:
        if self.abandon.is_set():
            return
        self.say(
            f"Abandoning the changes still in flight ({why}); their outcome is unknown "
            "until the account is read again."
        )
        self.abandon.set()


@contextlib.contextmanager
def _progress(total: int, run: Run) -> Iterator[_Bar | _Lines]:
    """A progress bar on a terminal, else one line per finished change (both on stderr); both
    say when every request pauses for the API's rate limit, and the audit log records it.

    Lines are gathered for a moment unless --verbose, whose line per request would otherwise
    come before the progress lines of the changes it shows."""
    progress: _Bar | _Lines
    if sys.stderr.isatty():
        progress = _Bar(total)
    else:
        progress = _Lines(total, every=0.0 if run.conn.verbose else LINES_EVERY_S)
    log = run.log

    def paused(event: PauseEvent) -> None:
        progress.pause(event)
        if log is not None:
            log.pause(event)

    run.pacer.on_pause = paused
    try:
        with progress:
            yield progress
    finally:
        run.pacer.on_pause = None


LINES_EVERY_S = 0.5
"""How long finished changes' lines may wait to be written together, off a terminal."""


class _Lines:
    """One line per finished change, and a line where a pause begins and where it ends.

    A bulk apply finishes hundreds of changes a second, and a write per line cost more than the
    line itself: lines of changes done wait up to `every` seconds and go out together. The first
    line, the last, a change not done, a pause, and any other message (`say`) go at once, after
    the lines waiting before them, so the log keeps its order.
    """

    def __init__(
        self, total: int, clock: Callable[[], float] = time.monotonic, every: float = 0.0
    ) -> None:
        self.total = total
        self.done = 0
        self.clock = clock
        self.every = every
        self.held: list[str] = []
        self.written_at = -math.inf

    def __enter__(self) -> _Lines:
        return self

    def __exit__(self, *exc: object) -> None:
        self.flush()

    def outcome(self, outcome: Outcome) -> None:
        self.done += 1
        self.held.append(render_report.progress_line(outcome, self.done, self.total))
        now = self.clock()
        plain = outcome.status == "done" and self.done < self.total
        if not plain or now - self.written_at >= self.every:
            self.flush(now)

    def pause(self, event: PauseEvent) -> None:
        self.say(render_report.pause_line(event.kind, event.seconds, event.asked))

    def say(self, text: str) -> None:
        self.held.append(text)
        self.flush()

    def flush(self, now: float | None = None) -> None:
        if self.held:
            write("\n".join(self.held), err=True)
            self.held.clear()
            self.written_at = self.clock() if now is None else now


class _Bar:
    """click's progress bar, followed by the pace and the time left, or by the pause."""

    def __init__(self, total: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.total = total
        self.clock = clock
        self.started = clock()
        self.done = 0
        self.bar = click.progressbar(
            length=total,
            label="Applying",
            file=sys.stderr,
            show_eta=False,
            item_show_func=lambda status: status,
        )

    def __enter__(self) -> _Bar:
        self.bar.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.bar.__exit__(*exc)

    def status(self) -> str:
        return render_report.progress_status(self.done, self.total, self.clock() - self.started)

    def outcome(self, _outcome: Outcome) -> None:
        self.done += 1
        self.bar.update(1, self.status())

    def pause(self, event: PauseEvent) -> None:
        if event.kind == "begin":
            shown = render_report.waiting_for_rate_limit(event.seconds, event.asked)
        else:
            shown = self.status()
        self.bar.current_item = shown
        self.bar.render_progress()

    def say(self, text: str) -> None:
        write(text, err=True)


def _finish(
    result: ApplyReport,
    prepared: Prepared,
    options: Options,
    settings: ConnectionSettings,
    signalled: int | None = None,
) -> int:
    write(_render(result, options.fmt), nl=False)
    if options.undo_out:
        _write_undo(options.undo_out, result, prepared, settings.base_url)
    if signalled is not None:
        return signalled
    if result.interrupted:
        return EXIT_INTERRUPTED
    return 0 if result.ok else EXIT_ERROR


def _render(result: ApplyReport, fmt: str) -> str:
    renderers: dict[str, Callable[[ApplyReport], str]] = {
        "json": render_report.format_json,
        "markdown": render_report.format_markdown,
        "github": render_report.format_github,
    }
    if fmt == "github":
        append_step_summary(render_report.format_markdown(result))
    if fmt in renderers:
        return renderers[fmt](result)
    return render_report.format_text(result, color=color_enabled(sys.stdout))


def _write_undo(path: str, result: ApplyReport, prepared: Prepared, base_url: str) -> None:
    if result.final is None:
        # The undo plan's changes are computed against the account after apply; unread, a plan
        # saved now would only go stale, or worse, be wrong.
        write(
            f"Warning: the undo plan was not saved to {path}: the account could not be read"
            " after the changes; run `inbound-sync plan` to see where it stands",
            err=True,
        )
        return
    desired, warnings = undo_state(prepared.plan, prepared.desired)
    # Undo is itself a reviewed recovery step: it may release what this apply created.
    policy = Policy(desired.safety, allow_destructive=True)
    plan = make_plan(desired, result.final, policy)
    # The file carries what it leaves out, so that whoever applies it later reads it too.
    plan = plan._replace(warnings=(*plan.warnings, *warnings))
    document: dict[str, Any] = plan_document(plan, desired, policy, base_url)
    write_private(path, dumps(document))
    for warning in warnings:
        write(f"Warning: {escape.text(warning)}", err=True)
    write(
        f"Saved the undo plan to {path}; run it with: inbound-sync apply --plan {path}",
        err=True,
    )
