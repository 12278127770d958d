"""Where the URL and the key come from, and which URLs are refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from inbound_sync.api import (
    PRODUCTION_URL,
    ApiKey,
    ConnectionSettings,
    RetryPolicy,
    Timeouts,
)
from inbound_sync.errors import UsageError

KEY = "sk-settings-CANARY-41d9"
ENV = {"INBOUND_SYNC_API_KEY": KEY}


def _settings(
    *,
    api_url: str | None = None,
    api_key_file: str | None = None,
    allow_insecure_http: bool = False,
    environ: dict[str, str] | None = None,
) -> ConnectionSettings:
    return ConnectionSettings.from_sources(
        api_url=api_url,
        api_key_file=api_key_file,
        allow_insecure_http=allow_insecure_http,
        environ=ENV if environ is None else environ,
    )


def _key_file(tmp_path: Path, content: str | bytes) -> str:
    path = tmp_path / "key"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return str(path)


def test_without_flags_or_env_the_production_url_is_used() -> None:
    settings = _settings()
    assert (
        settings.base_url == PRODUCTION_URL == "https://api-livekit-vyom.indusnettechnologies.com"
    )
    assert settings.api_key == ApiKey(KEY)


def test_the_env_url_is_used_when_no_flag_is_given() -> None:
    environ = {**ENV, "INBOUND_SYNC_API_URL": "https://staging.example.com"}
    assert _settings(environ=environ).base_url == "https://staging.example.com"


def test_the_flag_url_beats_the_env_url() -> None:
    environ = {**ENV, "INBOUND_SYNC_API_URL": "https://staging.example.com"}
    assert _settings(api_url="https://flag.example.com", environ=environ).base_url == (
        "https://flag.example.com"
    )


def test_an_empty_env_url_counts_as_unset() -> None:
    assert _settings(environ={**ENV, "INBOUND_SYNC_API_URL": " "}).base_url == PRODUCTION_URL


def test_a_trailing_slash_is_dropped_and_a_path_prefix_kept() -> None:
    assert _settings(api_url="https://gw.example.com/api/").base_url == (
        "https://gw.example.com/api"
    )


def test_defaults_are_5s_connect_30s_read_and_five_attempts() -> None:
    settings = _settings()
    assert settings.timeouts == Timeouts(connect=5.0, read=30.0)
    assert settings.retry == RetryPolicy(attempts=5)


def test_the_key_file_beats_the_env_and_is_stripped(tmp_path: Path) -> None:
    path = _key_file(tmp_path, "  from-file-key\n\n")
    assert _settings(api_key_file=path).api_key == ApiKey("from-file-key")


def test_the_env_key_is_stripped() -> None:
    assert _settings(environ={"INBOUND_SYNC_API_KEY": f" {KEY}\n"}).api_key == ApiKey(KEY)


@pytest.mark.parametrize(
    "environ", [{}, {"INBOUND_SYNC_API_KEY": ""}, {"INBOUND_SYNC_API_KEY": " "}]
)
def test_no_key_tells_how_to_set_one(environ: dict[str, str]) -> None:
    with pytest.raises(UsageError, match="no API key") as info:
        _settings(environ=environ)
    assert "INBOUND_SYNC_API_KEY" in str(info.value)
    assert "--api-key-file" in str(info.value)


def test_a_missing_key_file_is_reported_without_echoing_the_path(tmp_path: Path) -> None:
    # The "path" may be the key itself, pasted by mistake.
    pasted = "sk-live-PASTED-AS-A-PATH"
    with pytest.raises(UsageError, match="No such file") as info:
        _settings(api_key_file=pasted)
    assert pasted not in str(info.value)
    assert "--api-key-file" in str(info.value)


def test_an_existing_but_unreadable_key_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=f"cannot read the API key file {tmp_path}"):
        _settings(api_key_file=str(tmp_path))


def test_a_directory_is_not_a_key_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot read the API key file"):
        _settings(api_key_file=str(tmp_path))


@pytest.mark.parametrize("content", ["", "  \n\t\n"])
def test_an_empty_key_file_is_refused(tmp_path: Path, content: str) -> None:
    with pytest.raises(UsageError, match="is empty"):
        _settings(api_key_file=_key_file(tmp_path, content))


def test_a_key_file_that_is_not_text_is_refused_without_its_content(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not UTF-8") as info:
        _settings(api_key_file=_key_file(tmp_path, b"\xffsecret-bytes\xfe"))
    assert "secret" not in str(info.value)


def test_a_key_file_with_two_lines_is_refused_without_its_content(tmp_path: Path) -> None:
    path = _key_file(tmp_path, "KEYPART-ONE\nKEYPART-TWO\n")
    with pytest.raises(UsageError, match="alone, on one line") as info:
        _settings(api_key_file=path)
    assert "KEYPART" not in str(info.value)


def test_plain_http_to_a_remote_host_is_refused() -> None:
    with pytest.raises(UsageError, match=r"refusing plain http:// to api\.example\.com") as info:
        _settings(api_url="http://api.example.com")
    assert "--allow-insecure-http" in str(info.value)


def test_plain_http_to_a_remote_host_is_allowed_when_asked() -> None:
    settings = _settings(api_url="http://api.example.com", allow_insecure_http=True)
    assert settings.base_url == "http://api.example.com"


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost:8787",
        "http://LOCALHOST",
        "http://127.0.0.1:8787/",
        "http://127.8.9.10",
        "http://[::1]:8787",
    ],
)
def test_plain_http_to_loopback_is_allowed(url: str) -> None:
    assert _settings(api_url=url).base_url == url.rstrip("/")


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1.attacker.example", "http://localhost.example.com", "http://10.0.0.1"]
)
def test_hosts_that_only_look_local_are_refused(url: str) -> None:
    with pytest.raises(UsageError, match="refusing plain http"):
        _settings(api_url=url)


@pytest.mark.parametrize(
    "url",
    [
        "api.example.com",
        "ftp://api.example.com",
        "https://",
        "https:///inbound",
        "https://api.example.com:notaport",
        "https://api example.com",
    ],
)
def test_malformed_urls_are_usage_errors(url: str) -> None:
    with pytest.raises(UsageError, match="malformed API URL"):
        _settings(api_url=url)


@pytest.mark.parametrize(
    "url",
    [
        "https://user:PASSWORD-123@api.example.com",
        "https://api.example.com/?api_key=PASSWORD-123",
        "https://api.example.com/#PASSWORD-123",
    ],
)
def test_credentials_query_or_fragment_in_the_url_are_refused_unechoed(url: str) -> None:
    with pytest.raises(UsageError, match="must not hold credentials, a query") as info:
        _settings(api_url=url)
    assert "PASSWORD-123" not in str(info.value)
