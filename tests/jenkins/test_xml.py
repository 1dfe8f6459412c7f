"""Generated job and view XML parse and use Jenkins' own element names."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from conveyor.config import model as config
from conveyor.jenkins import jobs


def test_job_is_a_pipeline_from_scm_with_the_trigger_parameters(
        repo_config: config.Config) -> None:
    settings = repo_config.settings
    root = ET.fromstring(jobs.job_xml(settings, "gateway").encode())
    assert root.tag == "flow-definition"
    definition = root.find("definition")
    assert definition is not None
    assert definition.get("class") == "org.jenkinsci.plugins.workflow.cps.CpsScmFlowDefinition"
    assert definition.findtext("scriptPath") == "Jenkinsfile"
    scm = definition.find("scm")
    assert scm is not None and scm.get("class") == "hudson.plugins.git.GitSCM"
    assert scm.findtext("userRemoteConfigs/hudson.plugins.git.UserRemoteConfig/url") == \
        settings.jenkins.repository_url
    names = [d.findtext("name") for d in root.iterfind(
        "properties/hudson.model.ParametersDefinitionProperty/parameterDefinitions/"
        "hudson.model.StringParameterDefinition")]
    assert names[:5] == ["SERVICE", "REVISION", "REF", "CONTENT_KEY", "TRIGGER_ID"]
    assert "ASK_APPROVAL" in names and "PROMOTE_BRANCHES" not in names
    # builds of one service may run side by side: an approval must not block the next push
    assert root.find("properties/org.jenkinsci.plugins.workflow.job.properties."
                     "DisableConcurrentBuildsJobProperty") is None
    assert root.findtext("properties/jenkins.model.BuildDiscarderProperty/strategy/"
                         "numToKeep") == "50"
    assert "gateway" in (root.findtext("description") or "")


def test_folder_and_views(repo_config: config.Config) -> None:
    folder = ET.fromstring(jobs.folder_xml(repo_config.settings).encode())
    assert folder.tag == "com.cloudbees.hudson.plugins.folder.Folder"
    assert folder.find("folderViews") is None  # Jenkins makes its default holder
    views = jobs.views(repo_config)
    assert set(views) == {"all-services", "env-test", "env-staging", "env-production",
                          "service-gateway", "service-password-strength"}
    for name, xml in views.items():
        root = ET.fromstring(xml.encode())
        assert root.tag == "hudson.model.ListView"
        assert root.findtext("name") == name
    service_view = ET.fromstring(views["service-gateway"].encode())
    assert [s.text for s in service_view.iterfind("jobNames/string")] == ["gateway"]
    everything = ET.fromstring(views["all-services"].encode())
    assert [s.text for s in everything.iterfind("jobNames/string")] == sorted(
        repo_config.pipelines)


def test_normalise_ignores_formatting_and_plugin_versions(repo_config: config.Config) -> None:
    xml = jobs.job_xml(repo_config.settings, "gateway")
    resaved = xml.replace("<flow-definition>", '<flow-definition plugin="workflow-job@1436">') \
        .replace("\n  ", "\n\t")
    assert jobs.is_same(resaved, xml)
    assert not jobs.is_same(xml.replace("Jenkinsfile", "Other"), xml)
    assert not jobs.is_same("<not-xml", xml)
