"""Start-up: --help and --version answer without importing what only commands need.

Commands import their modules when they run, so that the CLI starts in well under 150 ms; these
tests hold that structure in place (no timing is asserted).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import pytest

HEAVY = ("pydantic", "httpx", "phonenumbers", "yaml", "asyncio", "starlette", "uvicorn")
# Only writing a file needs these, and only a bug the traceback module.
WRITING = ("pathlib", "tempfile", "traceback")
# httpx's own command-line tool and what it loads where installed (tens of ms, never used here).
HTTPX_CLI = {"httpx._main", "rich", "pygments"}
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "inbound.yaml"

# Runs the CLI in a fresh interpreter, then reports every module it imported, every module it
# looked for, found or not (a test of what is never imported then holds whether the module is
# installed or not), and every pydantic model class it built.
PROBE = """
import json, sys

class Looked:
    names = set()

    @classmethod
    def find_spec(cls, name, path=None, target=None):
        cls.names.add(name)
        return None

sys.meta_path.insert(0, Looked)
from inbound_sync.cli import main
code = main(sys.argv[1:])
imported = sorted(name for name, module in sys.modules.items() if module is not None)
models, todo = set(), [sys.modules["pydantic"].BaseModel] if "pydantic" in sys.modules else []
while todo:
    for sub in todo.pop().__subclasses__():
        models.add(sub.__module__ + "." + sub.__qualname__)
        todo.append(sub)
report = [imported, sorted(Looked.names), sorted(models)]
sys.stderr.write("\\nMODULES " + json.dumps(report) + "\\n")
raise SystemExit(code)
"""


class Probe(NamedTuple):
    imported: set[str]
    looked_for: set[str]
    models: set[str]


def probe(*argv: str) -> Probe:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    imported, looked_for, models = json.loads(done.stderr.rsplit("MODULES ", 1)[1])
    return Probe(set(imported), set(looked_for), set(models))


def imported_by(*argv: str) -> set[str]:
    """The top-level packages the command imported."""
    return {name.split(".")[0] for name in probe(*argv).imported}


@pytest.mark.parametrize(
    "argv",
    [
        ("--version",),
        ("--help",),
        ("plan", "--help"),
        ("apply", "--help"),
        ("sandbox", "serve", "--help"),
    ],
)
def test_help_and_version_import_no_heavy_module(argv):
    assert imported_by(*argv).isdisjoint(HEAVY + WRITING)


def test_the_probe_sees_what_a_command_imports(tmp_path):
    # Guards the test above against passing vacuously: validate does load yaml and pydantic.
    config = tmp_path / "inbound.yaml"
    config.write_text("version: 1\nnumbers: []\n", encoding="utf-8")
    assert {"yaml", "pydantic", "phonenumbers"} <= imported_by("validate", str(config))


def test_a_small_config_imports_no_process_pool(tmp_path):
    # Worker processes are for large configs; a small one does not pay for importing them.
    config = tmp_path / "inbound.yaml"
    config.write_text("version: 1\nnumbers: []\n", encoding="utf-8")
    assert imported_by("validate", str(config)).isdisjoint({"multiprocessing", "concurrent"})


@pytest.fixture
def config(tmp_path: Path) -> str:
    """The example config, outside any git work tree."""
    return str(shutil.copy(EXAMPLE, tmp_path / "inbound.yaml"))


def test_a_plan_never_looks_for_httpx_own_command_line_tool(live_sandbox, config):
    found = probe("plan", config)
    assert "httpx" in found.imported  # the probe saw a command that reached the network
    assert found.looked_for.isdisjoint(HTTPX_CLI)
    assert found.imported.isdisjoint(HTTPX_CLI)


def test_a_plan_builds_no_model_to_read_a_saved_plan_or_a_drift_baseline(live_sandbox, config):
    # Writing a plan needs plan.saved; only reading one back (apply --plan) needs its models.
    found = probe("plan", config)
    assert "inbound_sync.plan.saved" in found.imported
    assert "inbound_sync.config.model.ConfigFile" in found.models
    readers = ("inbound_sync.plan.saved", "inbound_sync.provenance.baseline")
    assert not {model for model in found.models if model.startswith(readers)}


def test_apply_imports_no_provenance(live_sandbox, config):
    # Provenance is for plan, drift and history; apply's report only shares their wording.
    imported = probe("apply", "--auto-approve", config).imported
    assert "inbound_sync.apply.executor" in imported
    assert not {name for name in imported if name.startswith("inbound_sync.provenance")}


PLUGIN = """
import pathlib

pathlib.Path({marker!r}).write_text("loaded")


class Plugin:
    def new_schema_validator(self, *args, **kwargs):
        return None, None, None


plugin = Plugin()
"""


def test_the_console_script_does_not_search_for_pydantic_plugins(tmp_path):
    # pydantic reads every installed distribution's entry points to find its plugins; a plugin
    # installed beside the tool shows whether that search ran.
    site = tmp_path / "site"
    dist = site / "probe_plugin-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: probe-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[pydantic]\nprobe = probe_plugin:plugin\n")
    marker = tmp_path / "loaded"
    (site / "probe_plugin.py").write_text(PLUGIN.format(marker=str(marker)))
    config = tmp_path / "inbound.yaml"
    config.write_text("version: 1\nnumbers: []\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "PYDANTIC_DISABLE_PLUGINS"}
    env["PYTHONPATH"] = str(site)

    def run(*argv: str) -> None:
        done = subprocess.run([sys.executable, *argv], env=env, capture_output=True, timeout=60)
        assert done.returncode == 0, done.stderr

    run("-c", "import pydantic\nclass M(pydantic.BaseModel): pass")
    assert marker.exists()  # pydantic alone finds and loads the plugin
    marker.unlink()
    run("-m", "inbound_sync", "validate", str(config))
    assert not marker.exists()
