"""The Jenkins items Conveyor owns, as config.xml: the folder, one pipeline job per service, views.

Element names are Jenkins' own: a Folder (`com.cloudbees.hudson.plugins.folder.Folder`), a
Pipeline job (`flow-definition` whose definition is a `CpsScmFlowDefinition` reading
`Jenkinsfile` from the central repository) and list views (`hudson.model.ListView`).

Jenkins replaces a whole item on a config.xml POST (AbstractItem.updateByXml) and adds its own
elements on save (plugin versions, property fields, the declarative property tracker), so sync
owns only some elements of each item (`OWNED`): it compares those (`owned_differ`) and, to
update, merges them into the current XML (`merged`), leaving everything else as Jenkins has it.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass

from conveyor.config.model import Config, Settings
from conveyor.errors import ConfigError

FOLDER_CLASS = "com.cloudbees.hudson.plugins.folder.Folder"
JOB_CLASS = "org.jenkinsci.plugins.workflow.job.WorkflowJob"
JOB_MARKER = "Conveyor pipeline"  # every description Conveyor writes starts with this
PARAMETERS = "hudson.model.ParametersDefinitionProperty"
DISCARDER = "jenkins.model.BuildDiscarderProperty"
# What sync owns of each item, as paths from the root element.
OWNED = {
    "folder": ("description",),
    "job": ("description", f"properties/{PARAMETERS}", f"properties/{DISCARDER}",
            "definition"),
}
VIEW_COLUMNS = ("hudson.views.StatusColumn", "hudson.views.WeatherColumn",
                "hudson.views.JobColumn", "hudson.views.LastSuccessColumn",
                "hudson.views.LastFailureColumn", "hudson.views.LastDurationColumn",
                "hudson.views.BuildButtonColumn")


@dataclass(frozen=True)
class Parameter:
    name: str
    default: str
    description: str


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    if text is not None:
        element.text = text
    return element


def _render(root: ET.Element) -> str:
    ET.indent(root, space="  ")
    return "<?xml version='1.1' encoding='UTF-8'?>\n" + ET.tostring(root, encoding="unicode") + "\n"


def _parse(xml: str) -> ET.Element:
    return ET.fromstring(xml.encode("utf-8"))


def parameters(settings: Settings, service: str) -> tuple[Parameter, ...]:
    """The job's parameters: what a trigger sends, then what the Jenkinsfile reads.

    The job is their only owner (the Jenkinsfile declares none), so these defaults, taken
    from conveyor.toml, hold for every build.
    """
    return (
        Parameter("SERVICE", service, "The service this pipeline builds (pipelines/<name>.toml)."),
        Parameter("REVISION", "", "The pushed commit (40 hex) the pipeline builds."),
        Parameter("REF", "", "The pushed ref, exactly as git gave it (escaped if not UTF-8)."),
        Parameter("CONTENT_KEY", "", "Hash of everything the image is built from."),
        Parameter("TRIGGER_ID", "", "Conveyor's idempotency key: one build per trigger."),
        Parameter("ASK_APPROVAL", "no",
                  "yes when Conveyor's rule lets this push reach production, after approval."),
        Parameter("AGENT_LABEL", settings.jenkins.agent_label,
                  "Agent label the pipeline runs on (conveyor.toml: jenkins.agent_label)."),
        Parameter("APPROVERS", settings.jenkins.approvers,
                  "Who may approve production (conveyor.toml: jenkins.approvers)."),
    )


def job_description(service: str) -> str:
    return (f"{JOB_MARKER} for service {service}: builds one image from the pushed revision, "
            "runs unit, integration and performance stages against it and promotes its digest. "
            "Managed by `conveyor jenkins sync`; edits here are overwritten.")


def folder_description(settings: Settings) -> str:
    return ("Conveyor: one pipeline per service of the monorepo "
            f"{settings.jenkins.repository_url}. Managed by `conveyor jenkins sync`.")


def folder_xml(settings: Settings) -> str:
    """No `folderViews`: Jenkins then makes its default holder with the "All" view
    (cloudbees-folder AbstractFolder.init). An empty holder element would leave the view list
    null and break every view of the folder."""
    root = ET.Element(FOLDER_CLASS)
    _sub(root, "actions")
    _sub(root, "description", folder_description(settings))
    _sub(root, "properties")
    return _render(root)


def is_local(url: str) -> bool:
    """What the git plugin refuses to check out without ALLOW_LOCAL_CHECKOUT."""
    return url.startswith("file:") or url.startswith("/") or bool(re.match(r"^[A-Za-z]:\\", url))


def check_repository(settings: Settings) -> None:
    cfg = settings.jenkins
    if not cfg.repository_url:
        raise ConfigError("conveyor.toml: jenkins.repository_url is empty; set the URL Jenkins "
                      "clones the central repository from")
    if is_local(cfg.repository_url) and not cfg.allow_local_repository:
        raise ConfigError(
            f"conveyor.toml: jenkins.repository_url {cfg.repository_url!r} is a local "
            "repository, which the git plugin refuses to check out (SECURITY-2478). Use an "
            "https:// or ssh:// URL, or for a single machine start Jenkins with "
            "-Dhudson.plugins.git.GitSCM.ALLOW_LOCAL_CHECKOUT=true and set "
            "jenkins.allow_local_repository = true")


def job_xml(settings: Settings, service: str) -> str:
    root = ET.Element("flow-definition")
    _sub(root, "actions")
    _sub(root, "description", job_description(service))
    _sub(root, "keepDependencies", "false")
    properties = _sub(root, "properties")
    discarder = _sub(_sub(properties, DISCARDER), "strategy",
                     **{"class": "hudson.tasks.LogRotator"})
    for tag, value in (("daysToKeep", "-1"), ("numToKeep", "50"), ("artifactDaysToKeep", "-1"),
                       ("artifactNumToKeep", "20")):
        _sub(discarder, tag, value)
    definitions = _sub(_sub(properties, PARAMETERS), "parameterDefinitions")
    for parameter in parameters(settings, service):
        string = _sub(definitions, "hudson.model.StringParameterDefinition")
        _sub(string, "name", parameter.name)
        _sub(string, "description", parameter.description)
        _sub(string, "defaultValue", parameter.default)
        _sub(string, "trim", "false")
    definition = _sub(root, "definition",
                      **{"class": "org.jenkinsci.plugins.workflow.cps.CpsScmFlowDefinition"})
    scm = _sub(definition, "scm", **{"class": "hudson.plugins.git.GitSCM"})
    _sub(scm, "configVersion", "2")
    remote = _sub(_sub(scm, "userRemoteConfigs"), "hudson.plugins.git.UserRemoteConfig")
    _sub(remote, "url", settings.jenkins.repository_url)
    if settings.jenkins.repository_credentials_id:  # git-plugin UserRemoteConfig.credentialsId
        _sub(remote, "credentialsId", settings.jenkins.repository_credentials_id)
    branch = _sub(_sub(scm, "branches"), "hudson.plugins.git.BranchSpec")
    _sub(branch, "name", "${REVISION}")  # the exact pushed commit, expanded by the Git plugin
    _sub(scm, "doGenerateSubmoduleConfigurations", "false")
    _sub(scm, "submoduleCfg", **{"class": "empty-list"})
    _sub(scm, "extensions")
    _sub(definition, "scriptPath", "Jenkinsfile")
    _sub(definition, "lightweight", "false")  # parameters in the branch spec need a full checkout
    _sub(root, "triggers")
    _sub(root, "disabled", "false")
    return _render(root)


def list_view_xml(name: str, description: str, jobs: Iterable[str]) -> str:
    root = ET.Element("hudson.model.ListView")
    _sub(root, "name", name)
    _sub(root, "description", description)
    _sub(root, "filterExecutors", "false")
    _sub(root, "filterQueue", "false")
    _sub(root, "properties", **{"class": "hudson.model.View$PropertyList"})
    job_names = _sub(root, "jobNames")
    _sub(job_names, "comparator", **{"class": "java.lang.String$CaseInsensitiveComparator"})
    for job in sorted(jobs):
        _sub(job_names, "string", job)
    _sub(root, "jobFilters")
    columns = _sub(root, "columns")
    for column in VIEW_COLUMNS:
        _sub(columns, column)
    _sub(root, "recurse", "false")
    return _render(root)


def views(config: Config) -> dict[str, str]:
    """The dashboard: one view per environment, one per service, one for everything."""
    services = sorted(config.pipelines)
    result = {"all-services": list_view_xml(
        "all-services", "Every Conveyor pipeline of the monorepo.", services)}
    for env in config.settings.environments:
        how = ("promoted automatically" if env.automatic else
               "promoted after approval" if env.approval else "promoted on request")
        result[f"env-{env.name}"] = list_view_xml(
            f"env-{env.name}",
            f"Pipelines that promote to {env.name} ({how}; requires "
            f"{', '.join(env.requires)}).", services)
    for service in services:
        result[f"service-{service}"] = list_view_xml(
            f"service-{service}", f"The pipeline of service {service}.", [service])
    return result


# ---------------------------------------------------------------- comparison


def normalise(xml: str | ET.Element) -> str:
    """Canonical text: no declaration, whitespace or plugin="name@version" attributes."""
    root = _parse(xml) if isinstance(xml, str) else xml
    root = ET.fromstring(ET.tostring(root))  # a copy
    for node in root.iter():
        node.attrib.pop("plugin", None)  # Jenkins adds plugin="name@version" when it saves
        if node.text is not None and not node.text.strip():
            node.text = None
        node.tail = None
    return ET.canonicalize(ET.tostring(root, encoding="unicode"), strip_text=True)


def is_same(current: str, wanted: str) -> bool:
    """Whole-document comparison (views: Jenkins writes them back as posted)."""
    try:
        return normalise(current) == normalise(wanted)
    except ET.ParseError:
        return False


def _owned(root: ET.Element, path: str) -> str | None:
    element = root.find(path)
    return None if element is None else normalise(element)


def owned_differ(kind: str, current: str, wanted: str) -> bool:
    """Whether any element sync owns differs; Jenkins' own additions do not count."""
    try:
        old, new = _parse(current), _parse(wanted)
    except ET.ParseError:
        return True
    return any(_owned(old, path) != _owned(new, path) for path in OWNED[kind])


def merged(kind: str, current: str, wanted: str) -> str:
    """`current` with the elements sync owns taken from `wanted` (each in its place)."""
    old, new = _parse(current), _parse(wanted)
    for path in OWNED[kind]:
        parent_path, _, tag = path.rpartition("/")
        old_parent = old.find(parent_path) if parent_path else old
        new_parent = new.find(parent_path) if parent_path else new
        if old_parent is None:  # e.g. no <properties> at all: take wanted's whole parent
            assert new_parent is not None
            old.insert(list(new).index(new_parent), new_parent)
            continue
        replacement = new_parent.find(tag) if new_parent is not None else None
        existing = old_parent.find(tag)
        if existing is not None:
            index = list(old_parent).index(existing)
            old_parent.remove(existing)
            if replacement is not None:
                old_parent.insert(index, replacement)
        elif replacement is not None:
            old_parent.append(replacement)
    return _render(old)
