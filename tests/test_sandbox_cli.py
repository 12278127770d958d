"""`inbound-sync sandbox serve`: start-up errors, the banner, and a real start and stop."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import threading

import httpx
import pytest

import inbound_sync.sandbox
from inbound_sync.cli.sandbox import format_banner
from inbound_sync.sandbox import is_loopback
from sandbox_fixtures import GLOBEX, SEED_PATH


@pytest.fixture
def fake_serve(monkeypatch):
    """Stand in for uvicorn: report a URL, then return, or raise what the test put in `stops`."""
    calls, stops = [], []

    def serve_forever(app, *, host, port, on_ready):
        calls.append((host, port, app.state.sandbox))
        on_ready(f"http://{host}:{port}")
        if stops:
            raise stops.pop()

    monkeypatch.setattr(inbound_sync.sandbox, "serve_forever", serve_forever)
    return calls, stops


def test_an_invalid_seed_is_a_usage_error_naming_the_file(run_cli, write_yaml):
    seed = write_yaml("seed.yaml", "tenants:\n  acme:\n    api_key: 12\n")
    result = run_cli("sandbox", "serve", "--port", "0", "--seed", str(seed))
    assert result.code == 1
    assert "invalid sandbox seed" in result.err
    assert "seed.yaml: tenants.acme.api_key" in result.err
    assert "Traceback" not in result.err


def test_a_missing_extra_asks_to_install_it(run_cli, monkeypatch):
    monkeypatch.setitem(sys.modules, "uvicorn", None)
    result = run_cli("sandbox", "serve", "--port", "0")
    assert result.code == 1
    assert "(the 'sandbox' extra): pip install starlette uvicorn" in result.err
    assert "inbound-sync[" not in result.err  # not published by name: never installed that way


def test_an_unusable_database_path_is_a_usage_error(run_cli, tmp_path):
    result = run_cli("sandbox", "serve", "--db", str(tmp_path / "no" / "such" / "dir.sqlite"))
    assert result.code == 1
    assert "cannot open the sandbox database" in result.err


def test_a_port_in_use_is_a_usage_error(run_cli):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli("sandbox", "serve", "--port", str(port))
    assert result.code == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.err


def test_the_banner_gives_keys_and_admin_token_and_loopback_gets_no_warning(run_cli, fake_serve):
    calls, _ = fake_serve
    result = run_cli("sandbox", "serve", "--seed", str(SEED_PATH), "--latency-ms", "25")
    assert result.code == 0
    assert "Sandbox listening on http://127.0.0.1:8787" in result.err
    assert re.search(r"tenant acme +API key sandbox-key-acme", result.err)
    assert re.search(r"tenant globex +API key sandbox-key-globex", result.err)
    assert "admin token sandbox-admin" in result.err
    assert "Warning" not in result.err
    [(host, port, sandbox)] = calls
    assert (host, port, sandbox.latency_ms) == ("127.0.0.1", 8787, 25)


def test_rate_limit_limits_each_key_and_the_banner_says_so(run_cli, fake_serve):
    calls, _ = fake_serve
    result = run_cli("sandbox", "serve", "--seed", str(SEED_PATH), "--rate-limit", "2.5")
    assert result.code == 0
    assert "rate limit 2.5 requests per second per API key" in result.err
    [(_, _, sandbox)] = calls
    assert sandbox.stats()["rate_limit"] == {"rate": 2.5, "burst": 2.5, "retry_after": None}


@pytest.mark.parametrize("value", ["0", "-3", "nan", "inf", "fast"])
def test_a_bad_rate_limit_is_a_usage_error(run_cli, fake_serve, value):
    calls, _ = fake_serve
    result = run_cli("sandbox", "serve", "--rate-limit", value)
    assert result.code == 1
    assert f"Invalid value for '--rate-limit': {value!r} is not a number of requests" in result.err
    assert calls == []


def test_the_admin_token_option_overrides_the_seed(run_cli, fake_serve):
    result = run_cli("sandbox", "serve", "--seed", str(SEED_PATH), "--admin-token", "s3cret")
    assert "admin token s3cret" in result.err


def test_a_non_loopback_host_is_allowed_with_a_warning(run_cli, fake_serve):
    result = run_cli("sandbox", "serve", "--host", "0.0.0.0")
    assert result.code == 0
    assert "Warning: listening on 0.0.0.0" in result.err


def test_ctrl_c_stops_the_sandbox_with_exit_0(run_cli, fake_serve):
    calls, stop = fake_serve
    stop.append(KeyboardInterrupt())
    result = run_cli("sandbox", "serve")
    assert result.code == 0
    assert result.err.rstrip().endswith("Sandbox stopped.")
    with pytest.raises(Exception, match="closed"):
        calls[0][2].api_keys()


def test_the_banner_without_tenants_says_how_to_seed():
    banner = format_banner("http://127.0.0.1:1", {}, "t")
    assert "POST a seed to /_sandbox/seed" in banner


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.1.2.3", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.10", False),
        ("example.com", False),
    ],
)
def test_is_loopback(host, loopback):
    assert is_loopback(host) is loopback


@pytest.mark.socket
def test_serve_runs_in_a_subprocess_until_sigint():
    command = [sys.executable, "-m", "inbound_sync", "sandbox", "serve", "--port", "0"]
    command += ["--seed", str(SEED_PATH)]
    with subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    ) as proc:
        watchdog = threading.Timer(20, proc.kill)
        watchdog.start()
        try:
            url, banner = _read_url(proc)
            headers = {"Authorization": f"Bearer {GLOBEX}"}
            response = httpx.get(f"{url}/inbound/list", headers=headers)
            assert response.json()["data"][0]["phone_number"] == "+918044319999"
            proc.send_signal(signal.SIGINT)
            rest = proc.stderr.read()
            assert proc.wait() == 0
        finally:
            watchdog.cancel()
    assert "sandbox-key-acme" in banner
    assert "Sandbox stopped." in rest


def _read_url(proc):
    seen = []
    for line in proc.stderr:
        seen.append(line)
        found = re.search(r"Sandbox listening on (http://127\.0\.0\.1:\d+)", line)
        if found:
            seen.extend(proc.stderr.readline() for _ in range(3))
            return found.group(1), "".join(seen)
    raise AssertionError("no URL logged:\n" + "".join(seen))
