"""Helpers for the workflow tests: the step scripts run as GitHub Actions runs them, a fake GitHub.

The scripts under .github/scripts/ are what the reusable workflows run; the tests run the same
files with the variables a runner sets (CI, GITHUB_*, RUNNER_TEMP), stdin not a terminal, against
the sandbox on a loopback socket, and against `FakeGitHub`, a small in-memory REST API.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import parse_qs, urlsplit

import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
SCRIPTS = ROOT / ".github" / "scripts"
EXAMPLES = ROOT / "examples" / "workflows"
REUSABLE = ("inbound-plan.yml", "inbound-apply.yml", "inbound-drift.yml")
FLEET_REUSABLE = ("inbound-fleet-plan.yml", "inbound-fleet-apply.yml", "inbound-fleet-drift.yml")
# This repository's own workflows, then the callers that other repositories copy.
ALL_WORKFLOWS = sorted(WORKFLOWS.glob("*.yml")) + sorted(EXAMPLES.glob("*.yml"))
BIN = Path(sys.executable).parent

# A key that would be noticed anywhere it leaked: in output, summaries, reports or artifacts.
API_KEY = "sk-live-3f9c2e71-leak-canary"
GITHUB_TOKEN = "ghs_fake-token-leak-canary"
SUPPORT = "550e8400-e29b-41d4-a716-446655440000"
SALES = "de305d54-75b4-431b-adb2-eb6b9e546014"
CRM = "f0f6d398-f9d9-4a7b-bc8e-4f24f57ec2de"
SEED = f"""\
admin_token: sandbox-admin
tenants:
  acme:
    api_key: {API_KEY}
    assistants:
      {SUPPORT}: Support Assistant
      {SALES}: Sales Assistant
    strategies:
      {CRM}: CRM lookup
"""


def load_workflow(path: Path) -> dict[str, Any]:
    """A workflow as a dict; YAML 1.1 reads the key `on` as True, so it is put back."""
    document: dict[Any, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    if True in document:
        document["on"] = document.pop(True)
    return document


def workflow_steps(workflow: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(job name, step) for every step of every job that has steps."""
    for job_name, job in workflow["jobs"].items():
        for step in job.get("steps", []):
            yield job_name, step


class Step(NamedTuple):
    code: int
    out: str
    err: str
    outputs: dict[str, str]
    summary: str

    @property
    def text(self) -> str:
        return self.out + self.err


def runner_env(workspace: Path, **extra: str) -> dict[str, str]:
    """What a GitHub-hosted runner sets for a step, with the tool on PATH and no terminal."""
    temp = workspace.parent / "runner-temp"
    temp.mkdir(exist_ok=True)
    env = {
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
        "HOME": os.environ.get("HOME", str(workspace)),
        "LANG": "C.UTF-8",
        "CI": "true",
        "GITHUB_ACTIONS": "true",
        "GITHUB_WORKSPACE": str(workspace),
        "GITHUB_REPOSITORY": "acme/routing",
        "GITHUB_REF": "refs/heads/main",
        "GITHUB_SHA": "0123456789abcdef0123456789abcdef01234567",
        "GITHUB_RUN_ID": "4242",
        "GITHUB_SERVER_URL": "https://github.example",
        "RUNNER_TEMP": str(temp),
        "GITHUB_OUTPUT": str(temp / "output"),
        "GITHUB_ENV": str(temp / "env"),
        "GITHUB_STEP_SUMMARY": str(temp / "summary.md"),
    }
    for name in ("GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_STEP_SUMMARY"):
        Path(env[name]).write_text("", encoding="utf-8")
    env.update(extra)
    return env


def run_step(command: list[str], env: Mapping[str, str]) -> Step:
    """One workflow step: a fresh output file, stdin not a terminal, the workspace as cwd."""
    Path(env["GITHUB_OUTPUT"]).write_text("", encoding="utf-8")
    done = subprocess.run(
        command,
        cwd=env["GITHUB_WORKSPACE"],
        env=dict(env),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return Step(
        done.returncode,
        done.stdout,
        done.stderr,
        read_outputs(Path(env["GITHUB_OUTPUT"])),
        Path(env["GITHUB_STEP_SUMMARY"]).read_text(encoding="utf-8"),
    )


def run_script(name: str, env: Mapping[str, str], *args: str) -> Step:
    if name.endswith(".py"):
        return run_step([sys.executable, str(SCRIPTS / name), *args], env)
    return run_step(["bash", str(SCRIPTS / name), *args], env)


def read_outputs(path: Path) -> dict[str, str]:
    """GITHUB_OUTPUT's NAME=VALUE lines (the scripts never write multi-line values)."""
    pairs = (line.split("=", 1) for line in path.read_text(encoding="utf-8").splitlines() if line)
    return dict(pairs)


class FakeGitHub:
    """The REST calls github_report.py makes, over HTTP, on in-memory comments and issues.

    Listings are served two items a page with a Link header, so pagination is exercised. Every
    request must carry the token; `calls` records (method, path) for the tests.
    """

    PAGE = 2

    def __init__(self, repository: str = "acme/routing") -> None:
        self.prefix = f"/repos/{repository}"
        self.comments: dict[int, dict[str, Any]] = {}
        self.issues: dict[int, dict[str, Any]] = {}
        self.labels: set[str] = set()
        self.calls: list[tuple[str, str]] = []
        self.deny: set[tuple[str, str]] = set()
        self.url = ""
        self._next_id = 1000

    def new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def add_comment(self, pr: int, body: str, user_type: str = "User") -> int:
        comment_id = self.new_id()
        self.comments[comment_id] = {
            "id": comment_id,
            "issue": pr,
            "body": body,
            "user": {"type": user_type},
        }
        return comment_id

    def add_issue(self, body: str, labels: list[str], *, pull_request: bool = False) -> int:
        number = len(self.issues) + 1
        issue = {"number": number, "body": body, "state": "open", "labels": labels, "title": "x"}
        if pull_request:
            issue["pull_request"] = {}
        self.issues[number] = issue
        return number

    def comments_on(self, number: int) -> list[dict[str, Any]]:
        return [c for c in self.comments.values() if c["issue"] == number]

    def open_issues(self, label: str = "inbound-drift") -> list[dict[str, Any]]:
        return [
            i
            for i in self.issues.values()
            if i["state"] == "open" and label in i["labels"] and "pull_request" not in i
        ]

    def handle(
        self, method: str, path: str, query: dict[str, list[str]], body: Any
    ) -> tuple[int, Any]:
        route = path.removeprefix(self.prefix)
        if (method, route) in self.deny:
            return 403, {"message": "Resource not accessible by integration"}
        if m := re.fullmatch(r"/issues/(\d+)/comments", route):
            number = int(m.group(1))
            if method == "GET":
                return 200, self.comments_on(number)
            comment_id = self.add_comment(number, body["body"], "Bot")
            return 201, self.comments[comment_id]
        if (m := re.fullmatch(r"/issues/comments/(\d+)", route)) and method == "PATCH":
            comment = self.comments.get(int(m.group(1)))
            if comment is None:
                return 404, {"message": "Not Found"}
            comment["body"] = body["body"]
            return 200, comment
        if route == "/issues" and method == "GET":
            labels = set(query.get("labels", [""])[0].split(","))
            state = query.get("state", ["open"])[0]
            found = [
                i
                for i in self.issues.values()
                if i["state"] == state and labels <= set(i["labels"])
            ]
            return 200, found
        if route == "/issues" and method == "POST":
            number = self.add_issue(body["body"], list(body.get("labels", [])))
            self.issues[number]["title"] = body["title"]
            return 201, self.issues[number]
        if (m := re.fullmatch(r"/issues/(\d+)", route)) and method == "PATCH":
            self.issues[int(m.group(1))].update(body)
            return 200, self.issues[int(m.group(1))]
        if m := re.fullmatch(r"/labels/([^/]+)", route):
            return (200, {"name": m.group(1)}) if m.group(1) in self.labels else (404, {})
        if route == "/labels" and method == "POST":
            self.labels.add(body["name"])
            return 201, body
        return 404, {"message": f"no route for {method} {path}"}


def _handler(fake: FakeGitHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            parts = urlsplit(self.path)
            fake.calls.append((self.command, parts.path))
            if self.headers.get("Authorization") != f"Bearer {GITHUB_TOKEN}":
                self._answer(401, {"message": "Bad credentials"})
                return
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            query = parse_qs(parts.query)
            status, answer = fake.handle(self.command, parts.path, query, body)
            link = ""
            if isinstance(answer, list):
                page = int(query.get("page", ["1"])[0])
                if len(answer) > page * fake.PAGE:
                    query["page"] = [str(page + 1)]
                    following = "&".join(f"{k}={v[0]}" for k, v in query.items())
                    link = f'<{fake.url}{parts.path}?{following}>; rel="next"'
                answer = answer[(page - 1) * fake.PAGE : page * fake.PAGE]
            self._answer(status, answer, link)

        def _answer(self, status: int, answer: Any, link: str = "") -> None:
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            if link:
                self.send_header("Link", link)
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PATCH = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def fake_github() -> Iterator[FakeGitHub]:
    """A FakeGitHub on a loopback port; its URL is `fake.url`."""
    fake = FakeGitHub()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def github_env(fake: FakeGitHub, env: Mapping[str, str]) -> dict[str, str]:
    return {**env, "GITHUB_API_URL": fake.url, "GITHUB_TOKEN": GITHUB_TOKEN}
