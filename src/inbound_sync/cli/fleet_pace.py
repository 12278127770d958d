"""The pace of `apply --fleet`: one pacer per API host for every target on it, and what the
rate limits cost, as the progress, the report and the audit log tell it.

    host_rates  the rate of each host: the flag or the variable, else the lowest its targets'
                configs ask for
    Pacing      the pacer of each host, the client options that share it, the report's counts
    Calls       the hook of every request: each target's 429s, and the audit log
    progress    the bar or the lines of a run, with each host's pauses
"""

from __future__ import annotations

import contextlib
import sys
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from inbound_sync.api.pacing import Pacer, PaceSettings, PauseEvent, host_of
from inbound_sync.apply import Outcome
from inbound_sync.cli.apply import AuditLog, Options, _Bar, _env_rate
from inbound_sync.fleet.execute import FleetReport
from inbound_sync.output import write
from inbound_sync.render import fleet_report
from inbound_sync.render import report as render_report

if TYPE_CHECKING:
    from inbound_sync.api import ConnectionSettings, RequestRecord


class Pacing(NamedTuple):
    """The pacer of each API host of the run (by host_of), shared by every target on it."""

    by_host: Mapping[str, Pacer]
    urls: Mapping[str, str]
    """Each target's base URL."""

    @classmethod
    def of(
        cls,
        settings: Mapping[str, ConnectionSettings],
        asked: Mapping[str, float | None],
        options: Options,
    ) -> Pacing:
        """One pacer per host, at the rate host_rates gives it; --concurrency bounds the
        requests in flight to each host, whatever the number of targets on it."""
        urls = {name: s.base_url for name, s in settings.items()}
        rates = host_rates(urls, asked, options.max_rate or _env_rate())
        return cls(
            {host: Pacer(PaceSettings(rate, options.concurrency)) for host, rate in rates.items()},
            urls,
        )

    def capped(self, asked: Mapping[str, float | None], options: Options) -> Pacing:
        """The same pacers, each host capped at the rate host_rates gives it from `asked` (the
        configs, read while the accounts were), unless the flag or the variable set it."""
        if options.max_rate or _env_rate():
            return self
        for host, rate in host_rates(dict(self.urls), asked, None).items():
            if rate is not None:
                self.by_host[host].cap(rate)
        return self

    def shared(self) -> dict[str, dict[str, object]]:
        """The client options of each base URL: its host's pacer."""
        return {url: {"pacer": self.by_host[host_of(url)]} for url in self.urls.values()}

    def counted(self, report: FleetReport, limited: Mapping[str, int]) -> FleetReport:
        """`report` with what the rate limits cost: each target's 429s and its host's pauses,
        and the fleet's totals (the pauses added up over the hosts)."""
        targets = tuple(
            t._replace(
                report=t.report._replace(
                    rate_limited=limited.get(t.name, 0),
                    paused_s=self.by_host[host_of(self.urls[t.name])].state.paused_s,
                )
            )
            for t in report.targets
        )
        return report._replace(
            targets=targets,
            rate_limited=sum(p.state.rate_limited for p in self.by_host.values()),
            paused_s=sum(p.state.paused_s for p in self.by_host.values()),
        )


def host_rates(
    urls: Mapping[str, str], asked: Mapping[str, float | None], override: float | None
) -> dict[str, float | None]:
    """The most requests per second to each API host, by host_of: `override` (--max-rate, else
    INBOUND_SYNC_MAX_RATE) for every host when given; else the lowest `apply: max_rate` that
    the configs of the targets on the host ask for (`asked`, by target), so that none of them
    is sent faster than it asks; else None, and the API's 429s set the pace."""
    rates: dict[str, float | None] = {}
    for name, url in sorted(urls.items()):
        host = host_of(url)
        rate = override or asked.get(name)
        known = rates.get(host)
        rates[host] = rate if known is None else min(known, rate or known)
    return rates


class Calls:
    """The hook of every target's requests (each tagged with its target): the audit log, and
    how many 429s each target was answered."""

    def __init__(self, log: AuditLog | None) -> None:
        self.log = log
        self.limited: Counter[str] = Counter()

    def __call__(self, name: str, record: RequestRecord) -> None:
        if record.status == 429:
            self.limited[name] += 1
        if self.log is not None:
            self.log(record)


class Paced(NamedTuple):
    """What the writes of a run keep to besides the plan: its deadline (on time.monotonic),
    its hosts' pacers, and the audit log that records their pauses."""

    deadline: float
    pacing: Pacing
    log: AuditLog | None


@contextlib.contextmanager
def progress(total: int, paced: Paced) -> Iterator[Callable[[str, Outcome], None]]:
    """A progress bar on a terminal, else one line per finished change (both on stderr); both
    say when every request to a host pauses for its rate limit, and the audit log records it."""
    hosts = paced.pacing.by_host
    shown: _Progress = _FleetBar(total) if sys.stderr.isatty() else _Lines(total, len(hosts))

    def on_pause(host: str) -> Callable[[PauseEvent], None]:
        def paused(event: PauseEvent) -> None:
            shown.pause(host, event)
            if paced.log is not None and event.kind == "begin":
                paced.log.write(
                    action="pause",
                    duration=round(event.seconds, 4),
                    retry_after=event.asked,
                    host=host,
                )

        return paused

    for host, pacer in hosts.items():
        pacer.on_pause = on_pause(host)
    try:
        with shown:
            yield shown.outcome
    finally:
        for pacer in hosts.values():
            pacer.on_pause = None


class _Progress(Protocol):
    def __enter__(self) -> _Progress: ...

    def __exit__(self, *exc: Any) -> None: ...

    def outcome(self, name: str, outcome: Outcome) -> None: ...

    def pause(self, host: str, event: PauseEvent) -> None: ...


class _Lines:
    """One line per finished change, named by its target, and a line where a pause begins and
    where it ends (named by its host when the run has several)."""

    def __init__(self, total: int, hosts: int) -> None:
        self.total = total
        self.done = 0
        self.hosts = hosts

    def __enter__(self) -> _Lines:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def outcome(self, name: str, outcome: Outcome) -> None:
        self.done += 1
        write(f"{name}: {render_report.progress_line(outcome, self.done, self.total)}", err=True)

    def pause(self, host: str, event: PauseEvent) -> None:
        line = render_report.pause_line(event.kind, event.seconds, event.asked)
        write(f"{host}: {line}" if self.hosts > 1 else line, err=True)


class _FleetBar:
    """apply's progress bar (the pace and the time left, or the pause), over every target."""

    def __init__(self, total: int) -> None:
        self.bar = _Bar(total)

    def __enter__(self) -> _FleetBar:
        self.bar.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.bar.__exit__(*exc)

    def outcome(self, name: str, outcome: Outcome) -> None:
        self.bar.outcome(outcome)

    def pause(self, host: str, event: PauseEvent) -> None:
        self.bar.pause(event)


def log_totals(log: AuditLog, report: FleetReport) -> None:
    """The audit log's closing line: the keys of a single account's summary, for the fleet."""
    log.write(
        action="summary",
        **fleet_report.report_counts(report),
        rate_limited=report.rate_limited,
        paused=round(report.paused_s, 4),
        deadline_passed=report.expired,
    )
