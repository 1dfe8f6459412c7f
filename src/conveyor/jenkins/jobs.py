"""The Jenkins items Conveyor owns, as config.xml: the folder, one pipeline job per service, views.

Element names are Jenkins' own (what `GET .../config.xml` returns): a Folder
(`com.cloudbees.hudson.plugins.folder.Folder`), a Pipeline job (`flow-definition` whose
definition is a `CpsScmFlowDefinition` reading `Jenkinsfile` from the central repository) and
list views (`hudson.model.ListView` with `jobNames`). `normalise` turns any config into a
comparable form, so sync writes only what changed.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from conveyor.config.model import Config, Settings

FOLDER_CLASS = "com.cloudbees.hudson.plugins.folder.Folder"
JOB_CLASS = "org.jenkinsci.plugins.workflow.job.WorkflowJob"
JOB_MARKER = "Conveyor pipeline"  # every description Conveyor writes starts with this

# What the executor sends (Trigger.parameters()), then what the Jenkinsfile reads from
# configuration. Defaults of the latter come from conveyor.toml at sync time.
TRIGGER_PARAMETERS = ("SERVICE", "REVISION", "REF", "CONTENT_KEY", "TRIGGER_ID")
VIEW_COLUMNS = ("hudson.views.StatusColumn", "hudson.views.WeatherColumn",
                "hudson.views.JobColumn", "hudson.views.LastSuccessColumn",
                "hudson.views.LastFailureColumn", "hudson.views.LastDurationColumn",
                "hudson.views.BuildButtonColumn")
# Elements of a folder's config.xml that the view API manages, not the folder's own XML.
FOLDER_VIEW_ELEMENTS = ("views", "primaryView", "viewsTabBar")


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


def parameters(settings: Settings, service: str) -> tuple[Parameter, ...]:
    """The job's declared parameters: the trigger's, then the Jenkinsfile's configuration."""
    return (
        Parameter("SERVICE", service, "The service this pipeline builds (pipelines/<name>.toml)."),
        Parameter("REVISION", "", "The pushed commit (40 hex) the pipeline builds."),
        Parameter("REF", "", "The pushed ref, exactly as git gave it (escaped if not UTF-8)."),
        Parameter("CONTENT_KEY", "", "Hash of everything the image is built from."),
        Parameter("TRIGGER_ID", "", "Conveyor's idempotency key: one build per trigger."),
        Parameter("AGENT_LABEL", settings.jenkins.agent_label,
                  "Agent label the pipeline runs on (conveyor.toml: jenkins.agent_label)."),
        Parameter("APPROVERS", settings.jenkins.approvers,
                  "Who may approve production (conveyor.toml: jenkins.approvers)."),
        Parameter("PROMOTE_BRANCHES", ",".join(settings.promote_branches),
                  "Branches whose pipelines promote (conveyor.toml: project.promote_branches)."),
        Parameter("AUTO_ENVIRONMENTS",
                  ",".join(e.name for e in settings.environments if e.automatic),
                  "Environments promoted automatically (conveyor.toml: environments)."),
        Parameter("REGISTRY_CREDENTIALS_ID", settings.jenkins.credentials_id,
                  "Jenkins credentials id of the registry (conveyor.toml: "
                  "jenkins.credentials_id)."),
    )


def job_description(service: str) -> str:
    return (f"{JOB_MARKER} for service {service}: builds one image from the pushed revision, "
            "runs unit, integration and performance stages against it and promotes its digest. "
            "Managed by `conveyor jenkins sync`; edits here are overwritten.")


def folder_xml(settings: Settings) -> str:
    root = ET.Element(FOLDER_CLASS)
    _sub(root, "actions")
    _sub(root, "description", "Conveyor: one pipeline per service of the monorepo "
         f"{settings.jenkins.repository_url}. Managed by `conveyor jenkins sync`.")
    _sub(root, "properties")
    _sub(root, "folderViews", **{"class": "com.cloudbees.hudson.plugins.folder.views."
                                          "DefaultFolderViewHolder"})
    _sub(root, "healthMetrics")
    return _render(root)


def job_xml(settings: Settings, service: str) -> str:
    root = ET.Element("flow-definition")
    _sub(root, "actions")
    _sub(root, "description", job_description(service))
    _sub(root, "keepDependencies", "false")
    properties = _sub(root, "properties")
    _sub(properties,
         "org.jenkinsci.plugins.workflow.job.properties.DisableConcurrentBuildsJobProperty")
    definitions = _sub(_sub(properties, "hudson.model.ParametersDefinitionProperty"),
                       "parameterDefinitions")
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


def _strip(element: ET.Element, drop: Sequence[str]) -> None:
    for child in list(element):
        if child.tag in drop:
            element.remove(child)
    for node in element.iter():
        node.attrib.pop("plugin", None)  # Jenkins adds plugin="name@version" when it saves
        if node.text is not None and not node.text.strip():
            node.text = None
        node.tail = None


def normalise(xml: str, *, drop: Sequence[str] = ()) -> str:
    """Canonical text of a config.xml: no declaration, whitespace, plugin versions or `drop`."""
    root = ET.fromstring(xml.encode("utf-8") if xml.lstrip().startswith("<?xml") else xml)
    _strip(root, drop)
    return ET.canonicalize(ET.tostring(root, encoding="unicode"), strip_text=True)


def is_same(current: str, wanted: str, *, drop: Sequence[str] = ()) -> bool:
    try:
        return normalise(current, drop=drop) == normalise(wanted, drop=drop)
    except ET.ParseError:
        return False


def with_views_of(current: str, wanted: str) -> str:
    """`wanted` folder XML carrying the view elements of `current`, so an update keeps views."""
    try:
        old = ET.fromstring(current.encode("utf-8"))
    except ET.ParseError:
        return wanted
    new = ET.fromstring(wanted.encode("utf-8"))
    for tag in FOLDER_VIEW_ELEMENTS:
        element = old.find(tag)
        if element is not None:
            new.append(element)
    return _render(new)
