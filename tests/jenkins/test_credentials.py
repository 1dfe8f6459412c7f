"""Where the token comes from, and where it may go."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from conveyor.config import model as config
from conveyor.errors import Refusal
from conveyor.jenkins.client import Client, check_transport, load_credentials
from conveyor.util.redact import redact


def with_file(conf: config.Config, path: Path) -> config.Settings:
    jenkins = dataclasses.replace(conf.settings.jenkins, credentials_file=str(path))
    return dataclasses.replace(conf.settings, jenkins=jenkins)


@pytest.mark.parametrize("content", ['user = "bot"\ntoken = "file-Token-1234"\n',
                                     "bot:file-Token-1234\n"])
def test_credentials_file_toml_or_user_colon_token(repo_config: config.Config, tmp_path: Path,
                                                   content: str) -> None:
    path = tmp_path / "jenkins.cred"
    path.write_text(content)
    path.chmod(0o600)
    credentials = load_credentials(with_file(repo_config, path), environ={})
    assert (credentials.user, credentials.token) == ("bot", "file-Token-1234")
    assert "file-Token-1234" not in repr(credentials)
    assert "file-Token-1234" not in redact("token file-Token-1234")


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644])
def test_credentials_file_readable_by_others_is_refused(repo_config: config.Config,
                                                        tmp_path: Path, mode: int) -> None:
    path = tmp_path / "jenkins.cred"
    path.write_text("bot:file-Token-1234\n")
    path.chmod(mode)
    with pytest.raises(Refusal, match="readable by others"):
        load_credentials(with_file(repo_config, path), environ={})


def test_environment_comes_first_and_nothing_is_refused(repo_config: config.Config) -> None:
    env = {"JENKINS_USER": "bot", "JENKINS_TOKEN": "env-Token-1234"}
    assert load_credentials(repo_config.settings, environ=env).token == "env-Token-1234"
    with pytest.raises(Refusal, match="no Jenkins credentials"):
        load_credentials(repo_config.settings, environ={})


def test_token_never_goes_over_plain_http_to_another_host() -> None:
    with pytest.raises(Refusal, match="plain http"):
        check_transport("http://jenkins.example.com", allow_plain_http=False)
    check_transport("http://jenkins.example.com", allow_plain_http=True)
    check_transport("http://127.0.0.1:8080", allow_plain_http=False)
    check_transport("http://localhost:8080", allow_plain_http=False)
    check_transport("https://jenkins.example.com", allow_plain_http=False)
    with pytest.raises(Refusal, match="must not carry credentials") as refused:
        check_transport("https://bot:url-Token-1234@jenkins.example.com", False)
    assert "url-Token-1234" not in str(refused.value)


def test_anonymous_requests_are_refused_by_the_fake(conf: config.Config) -> None:
    import requests

    response = requests.get(conf.settings.jenkins.url + "/api/json", timeout=5)
    assert response.status_code == 403
    client = Client(conf.settings)
    assert client.get_json("api/json", "read root")["_class"] == "hudson.model.Hudson"
