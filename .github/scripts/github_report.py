#!/usr/bin/env python3
"""The sticky plan comment and the drift issue, through the GitHub REST API (standard library only).

    github_report.py comment --pr N --body-file FILE [--instance NAME]
        One comment per pull request, found again by a hidden marker and edited on every push,
        instead of a new comment per push.
    github_report.py drift-issue --status drift|clean --body-file FILE [--label L] [--instance NAME]
                                 [--report-file FILE]
        drift: edit the open issue labelled L that carries the marker, or open it (creating the
        label if needed); clean: comment on that issue and close it. Nothing else is touched.
        With the JSON report of `drift --out`, the issue keeps it (compressed, in a hidden
        comment) as the next check's baseline, and an edited issue gets a comment naming the
        numbers whose drift is new, so that only new drift notifies anyone.
    github_report.py drift-baseline --out FILE [--label L] [--instance NAME]
        Write the report that the open drift issue keeps to FILE, for `drift --baseline FILE`;
        without an open issue (or a report in it) write nothing. Never fails the job: a check
        without its baseline reports every drift as new.

Environment, as GitHub Actions sets it: GITHUB_TOKEN (required), GITHUB_REPOSITORY,
GITHUB_API_URL, GITHUB_SERVER_URL, GITHUB_RUN_ID, GITHUB_SHA (INBOUND_SYNC_HEAD_SHA wins: a pull
request's head). The token travels in a header only; it is never printed.

The decisions (`sticky_comment`, `issue_actions`) are pure functions of what the API listed; the
HTTP is the thin `GitHub` class. Exit 0 when done, 1 when the API refused or failed.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
import zlib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

API_VERSION = "2022-11-28"
# GitHub refuses comment and issue bodies over 65,536 characters; keep room for the footer.
BODY_LIMIT = 60_000
# The share of the body the baseline may take; a larger one is left out (every drift then new).
BASELINE_LIMIT = 20_000
BASELINE = re.compile(r"<!-- inbound-sync baseline: ([A-Za-z0-9+/=]+) -->")
# The fields of a drift that `drift --baseline` compares and reports; the rest is not kept.
BASELINE_FIELDS = ("normalized", "action", "before", "after", "first_seen")
LABEL_COLOR = "d93f0b"
DRIFT_HELP = (
    "**What to do.** If git is right, re-run the apply workflow: the account will match git "
    "again. If the change made by hand was right, put it into the config in a pull request "
    "(`inbound-sync import` prints the account as config). This issue closes itself at the "
    "first drift check that finds the account in sync."
)


class ApiFailure(Exception):
    """The GitHub API answered an error (`status`), or could not be reached (status None)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class Action(NamedTuple):
    """What to do with the drift issue: create (number 0: not yet known), update or close."""

    kind: str
    number: int


def marker(kind: str, instance: str = "") -> str:
    """The hidden first line that identifies our comment or issue (one per account instance)."""
    return f"<!-- inbound-sync {kind}{': ' + instance if instance else ''} -->"


def sticky_comment(comments: Sequence[Mapping[str, Any]], mark: str) -> Mapping[str, Any] | None:
    """The comment to edit: the first that starts with the marker (a quote of it would not)."""
    return next((c for c in comments if str(c.get("body") or "").startswith(mark)), None)


def issue_actions(issues: Sequence[Mapping[str, Any]], mark: str, status: str) -> list[Action]:
    """Drift: edit the oldest open issue of ours, else open one. Clean: close every one of ours."""
    ours = sorted(
        int(i["number"])
        for i in issues
        if "pull_request" not in i and str(i.get("body") or "").startswith(mark)
    )
    if status == "drift":
        return [Action("update", ours[0])] if ours else [Action("create", 0)]
    return [Action("close", n) for n in ours]


def fit(body: str, limit: int = BODY_LIMIT) -> str:
    """The body, cut at a line boundary with a note when GitHub would refuse its length."""
    if len(body) <= limit:
        return body
    cut = body.rfind("\n", 0, limit)
    kept = body[: cut if cut > 0 else limit]
    return kept + "\n\n… cut to fit in a GitHub comment; the job summary has the whole report.\n"


def compose(mark: str, body: str, footer: str, trailer: str = "") -> str:
    """The marker, the body cut to fit beside the footer and a hidden trailer, the footer."""
    limit = BODY_LIMIT - len(trailer)
    return f"{mark}\n{fit(body.rstrip(), limit)}\n\n{footer}\n{trailer}"


def baseline_trailer(report: Mapping[str, Any]) -> str:
    """The report's drift, reduced to what a baseline needs, compressed into a hidden comment;
    empty when even that is too large for an issue."""
    kept = {
        "format_version": 1,
        "checked_at": report.get("checked_at"),
        "drift": [{k: d.get(k) for k in BASELINE_FIELDS} for d in report.get("drift", [])],
    }
    packed = zlib.compress(json.dumps(kept, sort_keys=True).encode(), 9)
    trailer = f"<!-- inbound-sync baseline: {base64.b64encode(packed).decode()} -->\n"
    return trailer if len(trailer) <= BASELINE_LIMIT else ""


def baseline_in(body: str) -> dict[str, Any] | None:
    """The baseline an issue's body keeps, or None (none, or not one we wrote)."""
    found = BASELINE.search(body)
    if found is None:
        return None
    try:
        document = json.loads(zlib.decompress(base64.b64decode(found.group(1), validate=True)))
    except (binascii.Error, zlib.error, ValueError):
        return None
    return document if isinstance(document, dict) else None


def new_numbers(report: Mapping[str, Any]) -> list[str]:
    """The numbers whose drift is new since the baseline, as the report writes them."""
    shown = []
    for drift in report.get("drift", []):
        if drift.get("new") is True:
            # Only digits, + and spaces: the comment quotes nothing else from the report.
            number = re.sub(r"[^0-9+ ]", "", str(drift.get("number", ""))).strip()
            shown.append(number or f"+{re.sub(r'[^0-9]', '', str(drift.get('normalized')))}")
    return shown


def footer(env: Mapping[str, str], verb: str) -> str:
    """'<sub>Updated by workflow run 123 for commit abc1234.</sub>', with links where known."""
    server = env.get("GITHUB_SERVER_URL", "https://github.com")
    repo, run_id = env.get("GITHUB_REPOSITORY", ""), env.get("GITHUB_RUN_ID", "")
    run = f"[workflow run {run_id}]({server}/{repo}/actions/runs/{run_id})" if run_id else "a run"
    sha = env.get("INBOUND_SYNC_HEAD_SHA") or env.get("GITHUB_SHA", "")
    commit = f" for commit `{sha[:7]}`" if sha else ""
    return f"<sub>{verb} by {run}{commit}.</sub>"


class GitHub:
    """The few REST calls needed, authenticated with a token that never leaves its header."""

    def __init__(self, api_url: str, repository: str, token: str) -> None:
        self.api_url = api_url.rstrip("/")
        self.repo = f"/repos/{repository}"
        self._headers = {
            "Accept": "application/vnd.github+json",
            "Authorization": f"Bearer {token}",
            "User-Agent": "inbound-sync-workflows",
            "X-GitHub-Api-Version": API_VERSION,
        }

    def __repr__(self) -> str:
        return f"GitHub({self.api_url!r}, {self.repo!r})"

    def call(self, method: str, path: str, body: object = None) -> Any:
        return self._send(method, self._url(path), body)[0]

    def pages(self, path: str) -> Iterator[Mapping[str, Any]]:
        """Every item of a listing, following the Link header's rel="next"."""
        url: str | None = self._url(path)
        while url:
            items, link = self._send("GET", url, None)
            yield from items
            url = _next_link(link)

    def _url(self, path: str) -> str:
        return f"{self.api_url}{self.repo}{path}"

    def _send(self, method: str, url: str, body: object) -> tuple[Any, str]:
        data = json.dumps(body).encode() if body is not None else None
        headers = {**self._headers, **({"Content-Type": "application/json"} if data else {})}
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        where = f"{method} {urllib.parse.urlsplit(url).path}"
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                text = response.read().decode() or "null"
                return json.loads(text), response.headers.get("Link", "")
        except urllib.error.HTTPError as exc:
            message = f"{where} answered {exc.code}: {_message(exc)}{_hint(exc.code)}"
            raise ApiFailure(message, exc.code) from None
        except (urllib.error.URLError, OSError) as exc:
            raise ApiFailure(f"{where} failed: {getattr(exc, 'reason', exc)}") from None


def _next_link(link: str) -> str | None:
    found = re.search(r'<([^>]+)>;\s*rel="next"', link)
    return found.group(1) if found else None


def _message(exc: urllib.error.HTTPError) -> str:
    try:
        return str(json.loads(exc.read().decode()).get("message", exc.reason))
    except (ValueError, AttributeError, OSError):
        return str(exc.reason)


def _hint(status: int) -> str:
    if status in (401, 403, 404):
        return (
            " (does the job have `pull-requests: write` for comments, `issues: write` for the "
            "drift issue? Pull requests from forks get a read-only token.)"
        )
    return ""


def _post_comment(api: GitHub, pr: int, body: str, existing: Mapping[str, Any] | None) -> str:
    if existing is not None:
        api.call("PATCH", f"/issues/comments/{existing['id']}", {"body": body})
        return f"Updated the plan comment {existing['id']} on pull request #{pr}."
    created = api.call("POST", f"/issues/{pr}/comments", {"body": body})
    return f"Added the plan comment {created['id']} to pull request #{pr}."


def report_plan(api: GitHub, pr: int, text: str, instance: str, env: Mapping[str, str]) -> str:
    mark = marker("plan", instance)
    comments = list(api.pages(f"/issues/{pr}/comments?per_page=100"))
    body = compose(mark, text, footer(env, "Updated"))
    return _post_comment(api, pr, body, sticky_comment(comments, mark))


def open_drift_issues(api: GitHub, label: str) -> list[Mapping[str, Any]]:
    query = urllib.parse.urlencode({"state": "open", "labels": label, "per_page": 100})
    return list(api.pages(f"/issues?{query}"))


def report_drift(
    api: GitHub,
    status: str,
    text: str,
    label: str,
    instance: str,
    env: Mapping[str, str],
    report: Mapping[str, Any] | None = None,
) -> list[str]:
    mark = marker("drift", instance)
    issues = open_drift_issues(api, label)
    trailer = baseline_trailer(report) if report is not None else ""
    note = "" if trailer or report is None else f"\n\n{BASELINE_TOO_LARGE}"
    body = compose(
        mark, f"{text.rstrip()}\n\n{DRIFT_HELP}{note}", footer(env, "Last checked"), trailer
    )
    done = []
    for action in issue_actions(issues, mark, status):
        if action.kind == "close":
            done.append(_close_issue(api, action.number, env))
        elif action.kind == "update":
            api.call("PATCH", f"/issues/{action.number}", {"body": body})
            done.append(f"Updated drift issue #{action.number}.")
            done += _announce_new(api, action.number, report, env)
        else:
            done.append(_open_issue(api, body, label, instance))
    return done or ["No drift issue open; nothing to do."]


BASELINE_TOO_LARGE = (
    "_This report is too large to keep in the issue as the next check's baseline: the next "
    "check will report every drift as new._"
)


def _announce_new(
    api: GitHub, number: int, report: Mapping[str, Any] | None, env: Mapping[str, str]
) -> list[str]:
    """A comment on an open issue naming the drift that is new (an edit notifies nobody)."""
    new = new_numbers(report) if report is not None else []
    if not new:
        return []
    listed = "\n".join(f"- {n}" for n in new)
    text = f"**New drift since the last check** ({len(new)}):\n\n{listed}\n\n{footer(env, 'Found')}"
    api.call("POST", f"/issues/{number}/comments", {"body": text})
    return [f"Commented on drift issue #{number}: {len(new)} new since the last check."]


def read_baseline(api: GitHub, label: str, instance: str) -> dict[str, Any] | None:
    """The baseline kept by the open drift issue (the one drift-issue would edit)."""
    mark = marker("drift", instance)
    issues = open_drift_issues(api, label)
    actions = issue_actions(issues, mark, "drift")
    if actions[0].kind != "update":
        return None
    [issue] = [i for i in issues if int(i["number"]) == actions[0].number]
    return baseline_in(str(issue.get("body") or ""))


def _open_issue(api: GitHub, body: str, label: str, instance: str) -> str:
    ensure_label(api, label)
    title = "inbound-sync: the account has drifted from git"
    title += f" ({instance})" if instance else ""
    created = api.call("POST", "/issues", {"title": title, "body": body, "labels": [label]})
    return f"Opened drift issue #{created['number']}."


def _close_issue(api: GitHub, number: int, env: Mapping[str, str]) -> str:
    note = f"The account is back in sync with git. {footer(env, 'Checked')}"
    api.call("POST", f"/issues/{number}/comments", {"body": note})
    api.call("PATCH", f"/issues/{number}", {"state": "closed", "state_reason": "completed"})
    return f"Closed drift issue #{number}: the account is in sync."


def ensure_label(api: GitHub, label: str) -> None:
    """Create the label on first use (a race with another run creating it is fine)."""
    try:
        api.call("GET", f"/labels/{urllib.parse.quote(label, safe='')}")
        return
    except ApiFailure as exc:
        if exc.status != 404:
            raise
    description = "The account differs from git (inbound-sync drift check)"
    try:
        api.call(
            "POST", "/labels", {"name": label, "color": LABEL_COLOR, "description": description}
        )
    except ApiFailure as exc:
        if exc.status != 422:  # already exists
            raise


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    comment = commands.add_parser("comment", help="post or update the sticky plan comment")
    comment.add_argument("--pr", type=int, required=True)
    issue = commands.add_parser("drift-issue", help="open, update or close the drift issue")
    issue.add_argument("--status", choices=["drift", "clean"], required=True)
    issue.add_argument("--report-file", type=Path, help="the JSON report of `drift --out`")
    baseline = commands.add_parser("drift-baseline", help="write the open issue's baseline")
    baseline.add_argument("--out", required=True, type=Path)
    for command in (comment, issue):
        command.add_argument("--body-file", required=True, type=Path)
    for command in (issue, baseline):
        command.add_argument("--label", default="inbound-drift")
    for command in (comment, issue, baseline):
        command.add_argument("--instance", default="", help="keeps several accounts apart")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] = os.environ) -> int:
    args = parse_args(argv)
    token, repository = env.get("GITHUB_TOKEN", ""), env.get("GITHUB_REPOSITORY", "")
    if not token or not repository:
        print("::error title=inbound-sync::GITHUB_TOKEN and GITHUB_REPOSITORY must be set")
        return 1
    api = GitHub(env.get("GITHUB_API_URL", "https://api.github.com"), repository, token)
    if args.command == "drift-baseline":
        return write_baseline(api, args)
    try:
        text = args.body_file.read_text(encoding="utf-8")
        if args.command == "comment":
            lines = [report_plan(api, args.pr, text, args.instance, env)]
        else:
            report = _read_report(args.report_file) if args.report_file else None
            lines = report_drift(api, args.status, text, args.label, args.instance, env, report)
    except OSError as exc:
        print(f"::error title=inbound-sync::cannot read {exc.filename}: {exc.strerror}")
        return 1
    except ApiFailure as exc:
        print(f"::error title=inbound-sync::GitHub API {exc}")
        return 1
    print("\n".join(lines))
    return 0


def _read_report(path: Path) -> dict[str, Any] | None:
    """The JSON report of `drift --out`; one that does not parse keeps no baseline."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        print(f"::warning title=inbound-sync::{path.name} is not JSON; no baseline is kept")
        return None
    return document if isinstance(document, dict) else None


def write_baseline(api: GitHub, args: argparse.Namespace) -> int:
    """drift-baseline: the open issue's baseline to --out, or nothing; exit 0 either way."""
    try:
        found = read_baseline(api, args.label, args.instance)
    except ApiFailure as exc:
        print(f"::warning title=inbound-sync::no baseline: GitHub API {exc}")
        return 0
    if found is None:
        args.out.unlink(missing_ok=True)  # nor one left by an earlier run on this machine
        print("No baseline: no open drift issue keeps one; every drift will be new.")
        return 0
    try:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(found, sort_keys=True) + "\n", encoding="utf-8")
    except OSError as exc:
        print(f"::warning title=inbound-sync::no baseline: cannot write {args.out}: {exc.strerror}")
        return 0
    print(f"Baseline: {len(found.get('drift', []))} drift(s) reported before, in {args.out}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
