"""The api package's surface: what it exports, what it imports, and the error map it extends."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import inbound_sync.api
import inbound_sync.errors
from inbound_sync.errors import ApiError, InboundSyncError, OutcomeUnknown

API_DIR = Path(inbound_sync.api.__file__).parent


def test_all_lists_exactly_the_public_names() -> None:
    public = {
        name
        for name, value in vars(inbound_sync.api).items()
        if not name.startswith("_") and not inspect.ismodule(value) and name != "annotations"
    }
    assert sorted(inbound_sync.api.__all__) == sorted(public)


def test_the_package_docstring_maps_every_module() -> None:
    doc = inbound_sync.api.__doc__ or ""
    modules = sorted(p.name for p in API_DIR.glob("*.py") if p.name != "__init__.py")
    assert [m for m in modules if m not in doc] == []


def test_the_api_layer_imports_nothing_of_planning_or_config() -> None:
    allowed = ("inbound_sync.api", "inbound_sync.errors", "inbound_sync.vendor")
    imported: set[str] = set()
    for path in API_DIR.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
            elif isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
    ours = {m for m in imported if m.startswith("inbound_sync")}
    assert {m for m in ours if not m.startswith(allowed) and m != "inbound_sync"} == set()


def test_the_error_map_names_every_error() -> None:
    doc = inbound_sync.errors.__doc__ or ""
    errors = [
        name
        for name, value in vars(inbound_sync.errors).items()
        if isinstance(value, type) and issubclass(value, InboundSyncError)
    ]
    assert [name for name in errors if f" {name} " not in doc] == []


def test_an_unknown_outcome_reads_differently_from_a_failure() -> None:
    unknown = OutcomeUnknown("ReadTimeout", operation="detach 9c2a", status=None)
    failed = ApiError("Assistant not found", operation="assign +91", status=404)
    assert str(unknown) == "detach 9c2a may or may not have been applied: ReadTimeout"
    assert unknown.reason == "ReadTimeout"
    assert str(failed) == "assign +91 failed (HTTP 404): Assistant not found"
