"""--out everywhere: "-" is standard output, missing directories are made, status goes to stderr."""

from __future__ import annotations

import json

import yaml

from inbound_sync import config
from inbound_sync.cli.validate import format_schema
from inbound_sync.plan import RemoteRow, Snapshot
from inbound_sync.plan.importer import import_config
from reliability_support import ACME_KEY, run_main, served
from sandbox_fixtures import SUPPORT

CONFIG = f'version: 1\nnumbers:\n  - number: "+918044319240"\n    assistant: {SUPPORT}\n'


def test_schema_out_dash_is_standard_output():
    result = run_main("schema", "--out", "-")
    assert result.code == 0
    assert result.out == format_schema()
    assert result.err == ""


def test_schema_out_creates_missing_directories_and_says_so(tmp_path):
    target = tmp_path / "a" / "b" / "inbound-sync.schema.json"
    result = run_main("schema", "--out", str(target))
    assert result.code == 0, result.err
    assert result.out == ""
    assert json.loads(target.read_text()) == json.loads(format_schema())
    assert result.err.splitlines() == [
        f"Created the directory {tmp_path / 'a' / 'b'}",
        f"Wrote the JSON Schema to {target}",
    ]


def test_plan_out_dash_prints_the_saved_plan_on_stdout_and_the_review_on_stderr(
    tmp_path, monkeypatch
):
    (tmp_path / "inbound.yaml").write_text(CONFIG)
    with served() as (_sandbox, url):
        monkeypatch.setenv("INBOUND_SYNC_API_URL", url)
        monkeypatch.setenv("INBOUND_SYNC_API_KEY", ACME_KEY)
        result = run_main("plan", str(tmp_path / "inbound.yaml"), "--out", "-")
    assert result.code == 0, result.err
    document = json.loads(result.out)
    assert document["summary"]["assign"] == 1
    assert "Plan: 1 to assign" in result.err
    assert not (tmp_path / "-").exists()


def test_import_quotes_every_number_and_points_editors_at_the_schema():
    rows = (
        RemoteRow("id-1", "918044319240", "+918044319240", SUPPORT, None, "Support Assistant"),
        RemoteRow("id-2", "14155550132", "+14155550132", None, None),
    )
    text, warnings = import_config(Snapshot(rows), "IN", schema="../inbound-sync.schema.json")
    assert warnings == []
    assert text.splitlines()[0] == "# yaml-language-server: $schema=../inbound-sync.schema.json"
    assert '- number: "+91 80 4431 9240"' in text
    assert '- number: "+1 415-555-0132"' in text
    assert [n["number"] for n in yaml.safe_load(text)["numbers"]] == [
        "+1 415-555-0132",
        "+91 80 4431 9240",
    ]


def test_imported_config_validates(tmp_path):
    rows = (RemoteRow("id-1", "918044319240", "+918044319240", SUPPORT, None, "Support"),)
    text, _ = import_config(Snapshot(rows), "IN", schema="inbound-sync.schema.json")
    (tmp_path / "imported.yaml").write_text(text)
    assert [n.normalized for n in config.load([str(tmp_path / "imported.yaml")]).numbers] == [
        "918044319240"
    ]


def test_import_out_creates_missing_directories_and_points_at_the_schema(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run_main("schema", "--out", "inbound-sync.schema.json").code == 0
    with served() as (_sandbox, url):
        monkeypatch.setenv("INBOUND_SYNC_API_URL", url)
        monkeypatch.setenv("INBOUND_SYNC_API_KEY", ACME_KEY)
        (tmp_path / "seed.yaml").write_text(CONFIG)
        assert run_main("apply", "seed.yaml", "--auto-approve").code == 0
        result = run_main("import", "--out", "inbound/imported.yaml")
        assert result.code == 0, result.err
        listed = run_main("import", "--out", "-")
        assert listed.code == 0

    written = (tmp_path / "inbound" / "imported.yaml").read_text()
    assert written.splitlines()[0] == "# yaml-language-server: $schema=../inbound-sync.schema.json"
    assert '- number: "+91 80 4431 9240"' in written
    assert result.err.splitlines()[0] == "Created the directory inbound"
    assert "Editors validate it" not in result.err  # the schema file is there
    assert listed.out.splitlines()[0] == (
        "# yaml-language-server: $schema=inbound-sync.schema.json"
    )
    assert listed.err == ""
    assert not (tmp_path / "-").exists()
    assert run_main("validate", "inbound/").code == 0


def test_import_says_how_to_write_the_schema_it_points_at(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with served() as (_sandbox, url):
        monkeypatch.setenv("INBOUND_SYNC_API_URL", url)
        monkeypatch.setenv("INBOUND_SYNC_API_KEY", ACME_KEY)
        result = run_main("import", "--schema", "https://example.invalid/s.json")
        bare = run_main("import", "--schema", "")
        hinted = run_main("import")
    assert (
        result.out.splitlines()[0]
        == "# yaml-language-server: $schema=https://example.invalid/s.json"
    )
    assert not bare.out.startswith("# yaml-language-server")
    assert hinted.err.strip() == (
        "Editors validate it with inbound-sync.schema.json; write that file with: "
        "inbound-sync schema --out inbound-sync.schema.json"
    )


def test_import_never_replaces_a_dangling_symlink(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "imported.yaml").symlink_to(tmp_path / "elsewhere.yaml")
    result = run_main("import", "--out", "imported.yaml")
    assert result.code == 1
    assert "imported.yaml already exists; import never overwrites a file" in result.err
    assert not (tmp_path / "elsewhere.yaml").exists()
