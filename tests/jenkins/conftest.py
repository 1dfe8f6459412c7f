"""Fixtures for the Jenkins tests: a running fake Jenkins and settings pointing at it.

The fake runs under a context path (/jenkins) with a configured root URL on another host
(localhost) than the one Conveyor is given (127.0.0.1), a 5 s quiet period on a clock the
tests move, and the repository's Jenkinsfile as what a build checks out.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from conveyor.config import loader
from conveyor.config import model as config
from conveyor.jenkins.client import Client
from tests.support.fake_jenkins import FakeJenkins, running

REPO = Path(__file__).resolve().parents[2]
REMOTE = "https://git.example.com/monorepo.git"


@pytest.fixture
def fake() -> Iterator[FakeJenkins]:
    yield from running(jenkinsfile=(REPO / "Jenkinsfile").read_text(encoding="utf-8"))


@pytest.fixture
def repo_config() -> config.Config:
    return loader.load_dir(REPO)


@pytest.fixture
def conf(repo_config: config.Config, fake: FakeJenkins,
         monkeypatch: pytest.MonkeyPatch) -> config.Config:
    """The repository's configuration, with Jenkins at the fake and its credentials in env."""
    settings = repo_config.settings
    jenkins = dataclasses.replace(settings.jenkins, url=fake.url.rstrip("/"),
                                  repository_url=REMOTE)
    monkeypatch.setenv(settings.jenkins.user_env, fake.user)
    monkeypatch.setenv(settings.jenkins.token_env, fake.token)
    return dataclasses.replace(repo_config,
                               settings=dataclasses.replace(settings, jenkins=jenkins))


@pytest.fixture
def client(conf: config.Config) -> Client:
    return Client(conf.settings, timeout=2.0)
