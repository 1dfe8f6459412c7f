"""`conveyor jenkins sync` against the fake: creates, is idempotent, dry-runs, prunes."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET

from conveyor.config import model as config
from conveyor.jenkins import jobs
from conveyor.jenkins import sync as jenkins_sync
from conveyor.jenkins.client import Client
from tests.support.fake_jenkins import FakeJenkins


def test_first_sync_creates_folder_jobs_and_views(conf: config.Config, client: Client,
                                                  fake: FakeJenkins) -> None:
    changes = jenkins_sync.sync(conf, client)
    assert {c.action for c in changes} == {"create"}
    folder = fake.item("conveyor")
    assert folder is not None and folder.kind == "folder"
    assert set(folder.children) == set(conf.pipelines)
    assert set(folder.views) == set(jobs.views(conf))
    assert all(s.auth == "token" for s in fake.seen)
    assert not any("crumbIssuer" in s.path for s in fake.seen)  # API token: no crumb


def test_second_sync_writes_nothing(conf: config.Config, client: Client,
                                    fake: FakeJenkins) -> None:
    jenkins_sync.sync(conf, client)
    before = len(fake.posts())
    assert jenkins_sync.sync(conf, Client(conf.settings)) == []
    assert len(fake.posts()) == before


def test_dry_run_writes_nothing(conf: config.Config, client: Client, fake: FakeJenkins) -> None:
    changes = jenkins_sync.sync(conf, client, dry_run=True)
    assert [c.describe() for c in changes][0] == "create folder conveyor"
    assert fake.posts() == []
    assert fake.item("conveyor") is None


def test_changed_job_is_updated_and_views_survive_a_folder_update(
        conf: config.Config, client: Client, fake: FakeJenkins) -> None:
    jenkins_sync.sync(conf, client)
    job = fake.item("conveyor/gateway")
    assert job is not None
    job.config = job.config.replace("Jenkinsfile", "Elsewhere")
    folder = fake.item("conveyor")
    assert folder is not None
    folder.config = folder.config.replace("Managed by", "Hand-edited, managed by")
    changes = jenkins_sync.sync(conf, client)
    assert [c.describe() for c in changes] == ["update folder conveyor",
                                               "update job conveyor/gateway"]
    assert set(folder.views) == set(jobs.views(conf))  # views kept
    assert jenkins_sync.sync(conf, client) == []


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


def test_posted_xml_is_well_formed(conf: config.Config, client: Client,
                                   fake: FakeJenkins) -> None:
    jenkins_sync.sync(conf, client)
    for seen in fake.posts():
        if seen.body:
            ET.fromstring(seen.body)
