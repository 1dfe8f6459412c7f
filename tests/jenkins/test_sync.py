"""`conveyor jenkins sync` against the fake: creates, converges, keeps what Jenkins owns."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET

import pytest

from conveyor.config import model as config
from conveyor.errors import Refusal
from conveyor.executors import Trigger
from conveyor.jenkins import jobs
from conveyor.jenkins import sync as jenkins_sync
from conveyor.jenkins.client import Client
from conveyor.jenkins.executor import JenkinsExecutor
from tests.support.fake_jenkins import FakeJenkins

REVISION = "a" * 40


def build_once(conf: config.Config, fake: FakeJenkins, service: str = "gateway") -> None:
    """A trigger, the quiet period, the build: Jenkins applies the Jenkinsfile's properties."""
    trigger = Trigger(f"t-{service}", service, "k" * 64, b"refs/heads/main", REVISION,
                      "/srv/git/monorepo.git", "push")
    JenkinsExecutor(conf.settings, "/srv/git/monorepo.git", follow_timeout=0.0).submit(trigger)
    fake.advance(5)
    [build] = fake.builds(f"conveyor/{service}")
    assert build.result is None, build.log  # started: checked out, compiled, properties run


def test_first_sync_creates_folder_jobs_and_views(conf: config.Config, client: Client,
                                                  fake: FakeJenkins) -> None:
    changes = jenkins_sync.sync(conf, client)
    assert {c.action for c in changes} == {"create"}
    folder = fake.item("conveyor")
    assert folder is not None and folder.kind == "folder"
    assert set(folder.children) == set(conf.pipelines)
    assert folder.views is not None and set(folder.views) == set(jobs.views(conf))
    holder = ET.fromstring(folder.config).find("folderViews")
    assert holder is not None and holder.find("views/hudson.model.AllView") is not None
    assert all(s.auth == "token" for s in fake.seen)
    assert not any("crumbIssuer" in s.path for s in fake.seen)  # API token: no crumb


def test_sync_build_sync_again_changes_nothing(conf: config.Config, client: Client,
                                               fake: FakeJenkins) -> None:
    jenkins_sync.sync(conf, client)
    assert jenkins_sync.sync(conf, client) == []
    build_once(conf, fake)
    job = fake.item("conveyor/gateway")
    assert job is not None and "DeclarativeJobPropertyTrackerAction" in job.xml
    before = len(fake.posts())
    assert jenkins_sync.sync(conf, Client(conf.settings)) == []
    assert len(fake.posts()) == before


def test_parameter_defaults_from_conveyor_toml_hold_after_builds(
        conf: config.Config, client: Client, fake: FakeJenkins) -> None:
    jenkins = dataclasses.replace(conf.settings.jenkins, approvers="alice,bob")
    conf = dataclasses.replace(conf, settings=dataclasses.replace(conf.settings,
                                                                 jenkins=jenkins))
    jenkins_sync.sync(conf, client)
    build_once(conf, fake)
    job = fake.item("conveyor/gateway")
    assert job is not None
    assert ("APPROVERS", "alice,bob") in _defaults(job.xml)


def _defaults(xml: str) -> list[tuple[str, str]]:
    root = ET.fromstring(xml)
    return [(d.findtext("name") or "", d.findtext("defaultValue") or "")
            for d in root.iter("hudson.model.StringParameterDefinition")]


def test_dry_run_writes_nothing(conf: config.Config, client: Client, fake: FakeJenkins) -> None:
    changes = jenkins_sync.sync(conf, client, dry_run=True)
    assert [c.describe() for c in changes][0] == "create folder conveyor"
    assert fake.posts() == []
    assert fake.item("conveyor") is None


def test_updates_merge_only_what_sync_owns(conf: config.Config, client: Client,
                                           fake: FakeJenkins) -> None:
    jenkins_sync.sync(conf, client)
    job = fake.item("conveyor/gateway")
    folder = fake.item("conveyor")
    assert job is not None and folder is not None
    job.xml = job.xml.replace("Jenkinsfile", "Elsewhere").replace(
        "<disabled>false</disabled>", "<disabled>true</disabled>")  # an operator disabled it
    folder.description = "Hand-edited"
    changes = jenkins_sync.sync(conf, client)
    assert [c.describe() for c in changes] == ["update folder conveyor",
                                               "update job conveyor/gateway"]
    assert folder.views is not None and set(folder.views) == set(jobs.views(conf))  # kept
    assert folder.description.startswith("Conveyor: one pipeline per service")
    assert "<scriptPath>Jenkinsfile</scriptPath>" in job.xml
    assert "<disabled>true</disabled>" in job.xml  # not sync's to change
    assert jenkins_sync.sync(conf, client) == []


def test_an_empty_view_holder_would_break_the_folder(conf: config.Config, client: Client,
                                                     fake: FakeJenkins) -> None:
    """What the old folder XML did: Jenkins keeps a holder with no view list (500s)."""
    holder = ('<com.cloudbees.hudson.plugins.folder.Folder><description/><folderViews '
              'class="com.cloudbees.hudson.plugins.folder.views.DefaultFolderViewHolder"/>'
              '</com.cloudbees.hudson.plugins.folder.Folder>')
    client.create("job", "conveyor", holder)
    with pytest.raises(Exception, match="500"):
        client.create("view", "conveyor/v", jobs.list_view_xml("v", "", []))
    client.update("job", "conveyor", jobs.folder_xml(conf.settings))  # no holder: default
    client.create("view", "conveyor/v", jobs.list_view_xml("v", "", []))


def test_prune_removes_jobs_of_services_that_are_gone(
        conf: config.Config, client: Client, fake: FakeJenkins) -> None:
    jenkins_sync.sync(conf, client)
    fewer = dataclasses.replace(conf, pipelines={"gateway": conf.pipelines["gateway"]})
    fake.add_job("conveyor/hand-made", "<flow-definition><description>mine</description>"
                                       "</flow-definition>")
    without_prune = jenkins_sync.sync(fewer, client)
    assert not any(c.action == "delete" for c in without_prune)
    changes = jenkins_sync.sync(fewer, client, prune=True)
    assert {c.describe() for c in changes if c.action == "delete"} == {
        "delete job conveyor/password-strength", "delete view conveyor/service-password-strength"}
    folder = fake.item("conveyor")
    assert folder is not None
    assert set(folder.children) == {"gateway", "hand-made"}  # not ours: kept


def test_a_local_repository_needs_the_opt_in(conf: config.Config, client: Client,
                                             fake: FakeJenkins) -> None:
    local = dataclasses.replace(conf.settings.jenkins, repository_url="file:///srv/git/m.git",
                                allow_local_repository=False)
    settings = dataclasses.replace(conf.settings, jenkins=local)
    with pytest.raises(Refusal, match="ALLOW_LOCAL_CHECKOUT"):
        jenkins_sync.sync(dataclasses.replace(conf, settings=settings), client)
    assert fake.posts() == []
    allowed = dataclasses.replace(local, allow_local_repository=True)
    opted = dataclasses.replace(conf, settings=dataclasses.replace(settings, jenkins=allowed))
    jenkins_sync.sync(opted, client)
    trigger = Trigger("t-local", "gateway", "k" * 64, b"refs/heads/main", REVISION,
                      "/srv/git/m.git", "push")
    JenkinsExecutor(opted.settings, "/srv/git/m.git", follow_timeout=0.0).submit(trigger)
    fake.advance(5)  # Jenkins without the system property refuses the checkout
    [build] = fake.builds("conveyor/gateway")
    assert build.result == "FAILURE" and "ALLOW_LOCAL_CHECKOUT" in build.log[0]


def test_checkout_credentials_only_when_configured(conf: config.Config) -> None:
    path = "definition/scm/userRemoteConfigs/hudson.plugins.git.UserRemoteConfig/credentialsId"
    assert ET.fromstring(jobs.job_xml(conf.settings, "gateway")).find(path) is None
    jenkins = dataclasses.replace(conf.settings.jenkins, repository_credentials_id="git-bot")
    settings = dataclasses.replace(conf.settings, jenkins=jenkins)
    assert ET.fromstring(jobs.job_xml(settings, "gateway")).findtext(path) == "git-bot"


def test_posted_xml_is_well_formed(conf: config.Config, client: Client,
                                   fake: FakeJenkins) -> None:
    jenkins_sync.sync(conf, client)
    for seen in fake.posts():
        if seen.body:
            ET.fromstring(seen.body)
