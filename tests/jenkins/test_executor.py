"""The jenkins executor against the fake: one build per trigger, whatever fails in between."""

from __future__ import annotations

import sqlite3
import urllib.parse

import pytest
import requests

from conveyor.config import model as config
from conveyor.errors import Refusal, Retryable
from conveyor.executors import Trigger
from conveyor.jenkins import builds
from conveyor.jenkins import sync as jenkins_sync
from conveyor.jenkins.client import Client, Credentials
from conveyor.jenkins.executor import JenkinsExecutor
from conveyor.records import db
from tests.support.fake_jenkins import FakeJenkins

REVISION = "a" * 40


def trigger(trigger_id: str = "t-1", service: str = "gateway",
            ref: bytes = b"refs/heads/feature/$(touch pwned)") -> Trigger:
    return Trigger(trigger_id=trigger_id, service=service, content_key="k" * 64,
                   ref=ref, revision=REVISION, repository="/srv/git/monorepo.git",
                   reason="push")


def executor(conf: config.Config, client: Client | None = None,
             follow_timeout: float = 1.0) -> JenkinsExecutor:
    return JenkinsExecutor(conf.settings, "/srv/git/monorepo.git",
                           client=client or Client(conf.settings, timeout=1.0),
                           follow_timeout=follow_timeout, poll_interval=0.01)


def triggers_sent(fake: FakeJenkins) -> int:
    return sum(1 for s in fake.posts() if s.path.endswith("/buildWithParameters"))


def runs() -> list[sqlite3.Row]:
    conn = db.connect()
    try:
        return list(conn.execute("SELECT * FROM runs"))
    finally:
        conn.close()


@pytest.fixture
def synced(conf: config.Config, client: Client) -> config.Config:
    jenkins_sync.sync(conf, client)
    return conf


@pytest.fixture
def immediate(fake: FakeJenkins) -> FakeJenkins:
    """No quiet period: a queued item starts at once (as with quietPeriod=0)."""
    fake.quiet_period = 0
    return fake


def test_trigger_is_followed_to_the_build_and_recorded(synced: config.Config,
                                                       immediate: FakeJenkins) -> None:
    accepted = executor(synced).submit(trigger())
    builds_made = immediate.builds("conveyor/gateway")
    assert len(builds_made) == 1
    assert builds_made[0].parameters["TRIGGER_ID"] == "t-1"
    assert builds_made[0].parameters["REF"] == "refs/heads/feature/$(touch pwned)"  # literal
    assert builds_made[0].parameters["ASK_APPROVAL"] == "no"  # a feature branch
    # Jenkins' URLs use its configured root URL, not the one Conveyor was given
    assert accepted.url == immediate.job_url("conveyor/gateway") + "1/"
    assert accepted.url.startswith("http://localhost:")
    [row] = runs()
    assert (row["run_id"], row["executor"], row["url"], row["status"]) == (
        builds.run_id("t-1"), "jenkins", accepted.url, "running")
    assert row["trigger_id"] == "t-1"


def test_a_promoting_branch_asks_for_approval(synced: config.Config,
                                              immediate: FakeJenkins) -> None:
    executor(synced).submit(trigger(ref=b"refs/heads/main"))
    assert immediate.builds("conveyor/gateway")[0].parameters["ASK_APPROVAL"] == "yes"


def test_submitting_again_finds_the_build_instead_of_building_twice(
        synced: config.Config, immediate: FakeJenkins) -> None:
    first = executor(synced).submit(trigger())
    again = executor(synced).submit(trigger())
    assert again == first
    assert triggers_sent(immediate) == 1


def test_a_queued_item_is_found_by_full_name_whatever_the_root_url(
        synced: config.Config, fake: FakeJenkins) -> None:
    first = executor(synced, follow_timeout=0.05).submit(trigger())  # in its quiet period
    assert first.url is not None and "/queue/item/" in first.url
    assert fake.root_url != synced.settings.jenkins.url + "/"
    assert executor(synced, follow_timeout=0.05).submit(trigger()).run_id == first.run_id
    assert triggers_sent(fake) == 1


def test_a_coalesced_trigger_303_is_accepted_without_following_it(
        synced: config.Config, fake: FakeJenkins) -> None:
    """An attempt whose queue read missed the item a racing attempt had just queued."""
    ex = executor(synced, follow_timeout=0.05)
    sent = {**trigger().parameters(), "ASK_APPROVAL": "no"}
    auth = (fake.user, fake.token)
    racing = requests.post(fake.url + "job/conveyor/job/gateway/buildWithParameters",
                           data=sent, auth=auth, allow_redirects=False, timeout=5)
    assert racing.status_code == 201
    fake.inject("GET", "/queue/api/json", status=200, body='{"items": []}')  # read before
    accepted = ex.submit(trigger())
    assert triggers_sent(fake) == 2
    assert [s.status for s in fake.posts() if "buildWithParameters" in s.path] == [201, 303]
    assert not any(s.method == "GET" and urllib.parse.urlsplit(s.path).path.endswith(
        "/queue/item/100/") for s in fake.seen)  # the redirect was not followed
    assert len(fake.queue) == 1
    fake.advance(5)
    assert len(fake.builds("conveyor/gateway")) == 1
    assert accepted.run_id == builds.run_id("t-1")


def test_after_the_queue_forgets_the_item_the_build_is_found_by_trigger_id(
        synced: config.Config, fake: FakeJenkins) -> None:
    executor(synced, follow_timeout=0.05).submit(trigger())
    fake.advance(5)  # quiet period over: the build starts
    fake.advance(5 * 60)  # the left item expires: queue/item/<id>/ is 404
    assert fake.queue == {}
    accepted = executor(synced).submit(trigger())
    assert accepted.url == fake.job_url("conveyor/gateway") + "1/"
    assert triggers_sent(fake) == 1


def test_lost_response_after_accepting_makes_exactly_one_build(
        synced: config.Config, immediate: FakeJenkins) -> None:
    immediate.inject("POST", "/buildWithParameters", "drop-after")
    accepted = executor(synced).submit(trigger())
    assert len(immediate.queue) == 1
    assert len(immediate.builds("conveyor/gateway")) == 1
    assert accepted.url == immediate.job_url("conveyor/gateway") + "1/"


def test_lost_response_with_queue_item_still_waiting(synced: config.Config,
                                                     fake: FakeJenkins) -> None:
    fake.inject("POST", "/buildWithParameters", "drop-after")
    executor(synced, follow_timeout=0.05).submit(trigger())
    executor(synced, follow_timeout=0.05).submit(trigger())
    assert len(fake.queue) == 1


def test_503_is_retryable_and_the_retry_builds_once(synced: config.Config,
                                                    fake: FakeJenkins) -> None:
    fake.inject("POST", "/buildWithParameters", status=503, body="Jenkins is starting")
    with pytest.raises(Retryable):
        executor(synced).submit(trigger())
    executor(synced, follow_timeout=0.05).submit(trigger())
    assert len(fake.queue) == 1


def test_jenkins_starting_up_is_retryable(synced: config.Config, fake: FakeJenkins) -> None:
    fake.starting = True
    with pytest.raises(Retryable, match="503"):
        executor(synced).submit(trigger())
    fake.starting = False
    executor(synced, follow_timeout=0.05).submit(trigger())
    assert triggers_sent(fake) == 1


def test_timeout_is_retryable_and_nothing_is_doubled(synced: config.Config,
                                                     fake: FakeJenkins) -> None:
    fake.hang_seconds = 3.0
    fake.inject("POST", "/buildWithParameters", "hang")
    with pytest.raises(Retryable, match="did not answer in time"):
        executor(synced).submit(trigger())
    executor(synced, follow_timeout=0.05).submit(trigger())
    assert len(fake.queue) == 1


def test_connection_refused_is_retryable(synced: config.Config, fake: FakeJenkins) -> None:
    fake.stop()
    with pytest.raises(Retryable, match="cannot reach Jenkins"):
        executor(synced).submit(trigger())


@pytest.mark.parametrize("status", [401, 403])
def test_auth_failures_are_terminal(synced: config.Config, fake: FakeJenkins,
                                    status: int) -> None:
    fake.inject("POST", "/buildWithParameters", status=status, body="revoked")
    with pytest.raises(Refusal, match=str(status)):
        executor(synced).submit(trigger())
    assert fake.queue == {}


def test_a_disabled_job_is_terminal(synced: config.Config, fake: FakeJenkins) -> None:
    job = fake.item("conveyor/gateway")
    assert job is not None
    job.xml = job.xml.replace("<disabled>false</disabled>", "<disabled>true</disabled>")
    with pytest.raises(Refusal, match="409"):
        executor(synced).submit(trigger())
    assert fake.queue == {}


def test_wrong_token_is_terminal(synced: config.Config, fake: FakeJenkins) -> None:
    client = Client(synced.settings, Credentials(fake.user, "wrong-token-9876"))
    with pytest.raises(Refusal, match="401"):
        executor(synced, client).submit(trigger())


def test_missing_job_is_terminal(conf: config.Config, fake: FakeJenkins) -> None:
    with pytest.raises(Refusal, match="no job conveyor/gateway"):
        executor(conf).submit(trigger())


def test_job_without_every_parameter_is_refused(synced: config.Config,
                                                fake: FakeJenkins) -> None:
    job = fake.item("conveyor/gateway")
    assert job is not None
    start = job.xml.index("<hudson.model.StringParameterDefinition>\n          <name>TRIGGER_ID")
    end = job.xml.index("</hudson.model.StringParameterDefinition>", start)
    job.xml = job.xml[:start] + job.xml[end + len("</hudson.model.StringParameterDefinition>"):]
    with pytest.raises(Refusal, match="TRIGGER_ID"):
        executor(synced).submit(trigger())
    assert triggers_sent(fake) == 0


def test_session_auth_fetches_a_crumb_and_refreshes_it_once(synced: config.Config,
                                                            fake: FakeJenkins) -> None:
    client = Client(synced.settings, Credentials(fake.user, fake.password), timeout=1.0)
    executor(synced, client, 0.05).submit(trigger("t-1"))
    assert any("crumbIssuer" in s.path for s in fake.seen)
    fake.sessions.clear()  # session expired: the old crumb is no longer valid
    executor(synced, client, 0.05).submit(trigger("t-2"))
    assert len(fake.queue) == 2


def test_last_build_reports_and_updates_the_run(synced: config.Config,
                                                immediate: FakeJenkins) -> None:
    assert builds.last_build(synced.settings, "gateway") is None
    accepted = executor(synced).submit(trigger())
    immediate.finish("conveyor/gateway", 1, "SUCCESS")
    last = builds.last_build(synced.settings, "gateway")
    assert last == {"number": 1, "url": accepted.url, "result": "SUCCESS", "building": False}
    [row] = runs()
    assert row["status"] == "passed" and row["finished_at"] is not None
    assert builds.last_build(synced.settings, "no-such-service") is None
