"""Every error the tool raises on purpose, and the exit code each one maps to.

    InboundSyncError                 exit 1, base of everything below
    ├── UsageError                   a bad flag combination or path
    ├── ConfigError                  invalid YAML or config; carries every ConfigIssue found
    ├── PlanError                    the desired state cannot be reached through the API
    ├── ApiError                     the API answered with an error, or could not be reached
    │   ├── AuthError                401 / 403: the key was refused
    │   ├── BadRequestError          400
    │   ├── NotFoundError            404: assistant, strategy or mapping not found
    │   ├── ConflictError            409: the number is already assigned to an active mapping
    │   ├── RateLimited              429 on every attempt: the server did not act
    │   ├── ServerError              5xx on a read, after retries
    │   ├── ConnectionFailed         timeouts and network failures, after retries
    │   ├── ResponseFormatError      a 2xx body of a read that does not match the contract
    │   ├── NotSent                  the run stopped while a request waited for its turn
    │   └── OutcomeUnknown           a write may or may not have been applied
    ├── ApplyFailed                  apply finished but some change failed or did not converge
    ├── TargetsFailed                some targets of a fleet could not be read or planned
    ├── PlanRefused                  exit 3: a safety guard refused the plan
    ├── StalePlan                    exit 4: the account changed since the saved plan was made
    └── Interrupted                  exit 130: Ctrl-C

    Terminated (a KeyboardInterrupt) exit 143 on SIGTERM, 129 on SIGHUP: what CI sends on cancel

For a write, every ApiError except OutcomeUnknown means the write was certainly not applied.
Exit codes are decided here and only here; `cli` maps an exception to its `exit_code`.
"""

from __future__ import annotations

from typing import NamedTuple

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CHANGES = 2
EXIT_REFUSED = 3
EXIT_STALE = 4
EXIT_INTERRUPTED = 130


class InboundSyncError(Exception):
    """Base of every expected failure; its message is shown to the user as is."""

    exit_code = EXIT_ERROR


class UsageError(InboundSyncError):
    """A flag, argument or path the user gave cannot be used."""


class ConfigIssue(NamedTuple):
    """One problem in a config file, located as precisely as the source allows."""

    path: str
    line: int | None
    field: str
    message: str

    def format(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else self.path
        field = f" {self.field}:" if self.field else ""
        return f"{where}:{field} {self.message}"


class ConfigError(InboundSyncError):
    """One or more problems in the config files; all of a run are reported together."""

    def __init__(self, issues: list[ConfigIssue]) -> None:
        self.issues = tuple(sorted(issues, key=_issue_order))
        count = len(self.issues)
        header = f"{count} error{'s' if count != 1 else ''} in the config:"
        super().__init__("\n".join([header, *("  " + i.format() for i in self.issues)]))


def _issue_order(issue: ConfigIssue) -> tuple[str, int, str, str]:
    return (issue.path, issue.line or 0, issue.field, issue.message)


class PlanError(InboundSyncError):
    """The desired state cannot be reached through the API."""


class ApiError(InboundSyncError):
    """The API refused a request or could not be reached."""

    headline = "failed"

    def __init__(self, message: str, *, operation: str, status: int | None = None) -> None:
        self.operation = operation
        self.status = status
        self.detail = message
        code = f" (HTTP {status})" if status is not None else ""
        super().__init__(f"{operation} {self.headline}{code}: {message}")


class AuthError(ApiError):
    """401/403."""


class BadRequestError(ApiError):
    """400."""


class NotFoundError(ApiError):
    """404."""


class ConflictError(ApiError):
    """409."""


class RateLimited(ApiError):
    """429 on every attempt; the server did not act on the request."""


class ServerError(ApiError):
    """5xx that retries did not cure."""


class ConnectionFailed(ApiError):
    """Network failure or timeout that retries did not cure."""


class ResponseFormatError(ApiError):
    """A success status with a body that does not match the contract."""


class NotSent(ApiError):
    """The run stopped (a signal, its deadline) while the request waited its turn: never sent."""

    headline = "was not sent"


class OutcomeUnknown(ApiError):
    """A write reached the server, or may have, and no answer says whether it acted."""

    headline = "may or may not have been applied"

    @property
    def reason(self) -> str:
        """Why the outcome is unknown: the status, the exception or the unreadable body."""
        return self.detail


class ApplyFailed(InboundSyncError):
    """Apply ran, but some change failed or the account did not converge."""


class TargetsFailed(InboundSyncError):
    """Some targets of a fleet could not be read or planned; the others were reported."""


class PlanRefused(InboundSyncError):
    """A safety guard refused the plan."""

    exit_code = EXIT_REFUSED


class StalePlan(InboundSyncError):
    """The account no longer matches the one a saved plan was made against."""

    exit_code = EXIT_STALE


class Interrupted(InboundSyncError):
    """The user pressed Ctrl-C."""

    exit_code = EXIT_INTERRUPTED


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, handled as Ctrl-C is, but exiting 128 + the signal's number."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum
        self.exit_code = exit_code_for_signal(signum)


def exit_code_for_signal(signum: int) -> int:
    """130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP: the shell's 128 + N."""
    return 128 + signum
