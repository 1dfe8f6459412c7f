"""The one schema of conveyor.toml and pipelines/*.toml: every table, every key, its type,
default and meaning.

It drives three things: the strict check of a file (`problems`: an unknown key is an error
that names the closest valid one), docs/configuration.md (`markdown`, compared by a test)
and what `conveyor init` writes. The loader (loader.py) turns checked data into dataclasses;
a test proves every key it reads is declared here, with the same default.

To add a key: one `Key(...)` line in its table here, then read it in loader.py.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

KINDS = {
    "text": "a string",
    "flag": "true or false",
    "integer": "an integer",
    "number": "a number",
    "strings": "a list of strings",
    "mapping": "a table of strings",
    "path": "a repository path",
    "paths": "a list of repository paths",
}
REQUIRED = "(required)"


@dataclass(frozen=True)
class Key:
    name: str
    kind: str  # one of KINDS
    default: Any  # as documented; None: unset; a str with "{name}" is per service
    doc: str
    choices: tuple[str, ...] = ()

    @property
    def is_path(self) -> bool:
        return self.kind in ("path", "paths")


@dataclass(frozen=True)
class Table:
    name: str  # dotted; "*" stands for any name (environments.*)
    doc: str
    keys: tuple[Key, ...] = ()
    free: str | None = None  # the kind of every value, when the keys are free names

    def key(self, name: str) -> Key | None:
        return next((k for k in self.keys if k.name == name), None)


STAGES = ("build", "unit", "integration", "performance")

SETTINGS: tuple[Table, ...] = (
    Table("project", "What the monorepo is and which pushes build.", (
        Key("default_branch", "text", "main", "The branch that promotes and that new "
            "branches are compared with."),
        Key("trigger_branches", "strings", ["*"], "Branch patterns (fnmatch) whose pushes "
            "run pipelines."),
        Key("promote_branches", "strings", ["main"], "Branch patterns that may promote "
            "(default: the default branch)."),
        Key("build_tags", "flag", False, "Whether a pushed tag builds every service."),
        Key("global_paths", "paths", ["build/", "Jenkinsfile"], "Paths every service is "
            "built from: a change here rebuilds every service."),
        Key("promotion_paths", "paths", ["k8s/overlays/"], "Paths of the environment "
            "overlays: a commit touching only these is a promotion record, not a build."),
    )),
    Table("registry", "Where images are pushed.", (
        Key("address", "text", "127.0.0.1:5000", "host:port of the registry."),
        Key("embedded", "flag", True, "Conveyor runs Docker's distribution registry itself."),
        Key("username_env", "text", None, "Name of the variable holding the registry user."),
        Key("password_env", "text", None, "Name of the variable holding the registry "
            "password (never the value)."),
    )),
    Table("build", "How images are made.", (
        Key("base_recipe", "text", "build/base", "Folder of the base image recipe."),
        Key("ca_bundle", "text", None, "CA bundle given to the first build stage only "
            "(TLS-intercepting proxies)."),
    )),
    Table("executor", "What runs the pipelines.", (
        Key("kind", "text", "local", "local, jenkins or command.",
            ("local", "jenkins", "command")),
        Key("command", "strings", [], "For kind = command: the argv run per trigger "
            "(TRIGGER_ID, SERVICE, GIT_SHA... in its environment)."),
    )),
    Table("environments", "The environments a digest is promoted through, in order.", (
        Key("order", "strings", ["test", "staging", "production"], "Environment names, "
            "first to last; each may have an [environments.<name>] table."),
    )),
    Table("environments.*", "One environment.", (
        Key("requires", "strings", list(STAGES), "Stages whose evidence a digest needs "
            "here (build, unit, integration, performance)."),
        Key("automatic", "flag", "every environment but the last", "Promote here "
            "automatically after the previous environment."),
        Key("approval", "flag", "the last environment only", "Promotion here waits for "
            "an approval."),
        Key("approvers", "strings", [], "Who may approve."),
        Key("overriders", "strings", [], "Who may promote here with --override (none: its "
            "approvers)."),
        Key("port_base", "integer", "20000 + 1000 × position", "First port of this "
            "environment's local deployment."),
        Key("cluster_context", "text", None, "kubectl context to deploy to."),
    )),
    Table("jenkins", "The Jenkins executor.", (
        Key("url", "text", "http://127.0.0.1:8080", "Jenkins root URL."),
        Key("folder", "text", "conveyor", "The folder holding one job per service."),
        Key("agent_label", "text", "docker", "Label of the agents that run stages."),
        Key("repository_url", "text", "", "URL Jenkins clones the monorepo from."),
        Key("user_env", "text", "JENKINS_USER", "Variable holding the Jenkins user."),
        Key("token_env", "text", "JENKINS_TOKEN", "Variable holding the API token."),
        Key("credentials_file", "text", None, "File holding user:token instead."),
        Key("allow_plain_http", "flag", False, "Send the token over http:// (only for a "
            "Jenkins on 127.0.0.1)."),
        Key("approvers", "text", "release-managers", "Jenkins users or groups who approve "
            "production."),
        Key("repository_credentials_id", "text", "", "Jenkins credentials of the checkout "
            "(\"\": none)."),
        Key("allow_local_repository", "flag", False, "Allow a file:// or path "
            "repository_url (Jenkins on the same machine)."),
    )),
    Table("policy", "What pre-receive enforces.", (
        Key("promotion_identity", "text", "Conveyor Promotions <promotions@conveyor.invalid>",
            "The committer of promotion commits."),
        Key("ref_pattern", "text", r"^refs/(heads|tags)/[^\x00-\x1f\x7f]+$", "Regular "
            "expression every pushed ref must match."),
        Key("guard", "flag", False, "Refuse pushes while the trigger outbox cannot be "
            "written."),
        Key("pusher_variable", "text", "", "The environment variable in which your git server "
            "passes the authenticated pusher to hooks (e.g. REMOTE_USER, GL_USERNAME); set, "
            "it alone decides who may change protected paths (\"\": committer emails)."),
    )),
    Table("policy.protected_paths", "Path prefix = identities (emails) that alone may "
          "change it.", free="strings"),
)

PIPELINE: tuple[Table, ...] = (
    Table("service", "The service and what it is built from.", (
        Key("name", "text", REQUIRED, "The service name; the file must be "
            "pipelines/<name>.toml."),
        Key("paths", "paths", ["services/{name}/"], "Paths the service owns."),
        Key("depends_on", "paths", [], "Shared paths it is also built from (protocols, "
            "libraries); a change there rebuilds it."),
    )),
    Table("image", "The image built for the service.", (
        Key("dockerfile", "path", "services/{name}/Dockerfile", "The Dockerfile; the "
            "build context is the repository root."),
        Key("repository", "text", "conveyor/{name}", "Repository name in the registry."),
        Key("port", "integer", 8080, "The port the container listens on."),
        Key("npm_inputs", "strings", [], "Registry packages put into the build context."),
        Key("labels", "mapping", {}, "Extra image labels."),
        Key("computed_labels", "mapping", {}, "label = \"<target>:/file\": a label read from "
            "a file of an earlier build target."),
    )),
    Table("unit", "The unit stage.", (
        Key("tests", "text", "services/{name}/tests/unit", "Folder of the unit tests."),
    )),
    Table("integration", "The integration stage: the image started for real.", (
        Key("needs", "strings", [], "Services started beside this one."),
        Key("health", "text", "/healthz", "\"grpc\" or an HTTP path that answers when "
            "ready."),
        Key("env", "mapping", {}, "Container environment; \"{dep.address}\" placeholders."),
        Key("tests", "text", "services/{name}/tests/integration", "Folder of the "
            "integration tests."),
        Key("test_env", "mapping", {}, "Environment of the tests; \"{self.address}\" "
            "placeholders."),
        Key("timeout_s", "number", 300.0, "Seconds the stage may take."),
    )),
    Table("performance", "The performance stage: a bounded load test.", (
        Key("kind", "text", "http", "http or grpc.", ("http", "grpc")),
        Key("target", "text", "/healthz", "HTTP path or gRPC method."),
        Key("payload", "text", "", "Request body (JSON)."),
        Key("duration_s", "number", 10.0, "Seconds of load."),
        Key("max_requests", "integer", 2000, "At most this many requests."),
        Key("concurrency", "integer", 8, "Requests in flight."),
        Key("p50_ms", "number", None, "Median latency limit."),
        Key("p95_ms", "number", None, "95th percentile limit."),
        Key("p99_ms", "number", None, "99th percentile limit."),
        Key("min_rps", "number", None, "Throughput floor."),
        Key("regression_pct", "number", 50.0, "Allowed slowdown against the digest in "
            "production, in percent."),
    )),
)

FILES: dict[str, tuple[Table, ...]] = {"conveyor.toml": SETTINGS, "pipelines/*.toml": PIPELINE}
ENV_NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}$")


def tables_for(file: str) -> tuple[Table, ...]:
    return SETTINGS if file == "conveyor.toml" else PIPELINE


def closest(name: str, candidates: list[str]) -> str | None:
    found = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    if not found:  # "dependencies" for "depends_on": a shared stem is a good hint too
        found = [c for c in candidates if len(name) >= 4 and len(c) >= 4
                 and (c[:5] == name[:5] or c in name or name in c)][:1]
    return found[0] if found else None


def is_repo_path(value: str) -> bool:
    return bool(value) and not value.startswith("/") and ".." not in value.split("/") and (
        "\\" not in value)


def _type_problem(key: Key, value: Any) -> str | None:
    kind = key.kind
    if kind in ("text", "path"):
        ok = isinstance(value, str)
    elif kind == "flag":
        ok = isinstance(value, bool)
    elif kind == "integer":
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind == "number":
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif kind in ("strings", "paths"):
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
    else:  # mapping
        ok = isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
    if not ok:
        return f"must be {KINDS[kind]}, not {_toml_type(value)}"
    if key.choices and value not in key.choices:
        return f"{value!r} is not one of {', '.join(key.choices)}"
    if key.is_path:
        for item in [value] if isinstance(value, str) else value:
            if not is_repo_path(item):
                return f"{item!r} must be a path inside the repository"
    return None


def _toml_type(value: Any) -> str:
    names = {str: "a string", bool: "true/false", int: "an integer", float: "a number",
             list: "a list", dict: "a table"}
    return names.get(type(value), type(value).__name__)


def problems(file: str, data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(dotted key, message) for everything in `data` the schema does not allow."""
    tables = {t.name: t for t in tables_for(file)}
    found: list[tuple[str, str]] = []
    top = sorted(n for n in tables if "." not in n)
    for name, value in data.items():
        if name not in tables:
            found.append((name, _unknown(name, top, "table", tables)))
        elif not isinstance(value, dict):
            found.append((name, f"must be a table ([{name}]), not {_toml_type(value)}"))
        else:
            _check_table(tables, tables[name], name, value, found)
    return found


def _check_table(tables: Mapping[str, Table], table: Table, where: str,
                 data: Mapping[str, Any], found: list[tuple[str, str]]) -> None:
    for name, value in data.items():
        dotted = f"{where}.{name}"
        if table.free is not None:
            problem = _type_problem(Key(name, table.free, None, ""), value)
            if problem:
                found.append((dotted, problem))
            continue
        key = table.key(name)
        child = tables.get(f"{table.name}.{name}") or tables.get(f"{table.name}.*")
        if key is not None:
            problem = _type_problem(key, value)
            if problem:
                found.append((dotted, problem))
        elif child is not None and isinstance(value, dict):
            if child.name.endswith(".*") and not ENV_NAME.match(name):
                found.append((dotted, f"{name!r} is not a valid name"))
            else:
                _check_table(tables, child, dotted, value, found)
        else:
            known = [k.name for k in table.keys]
            known += [t.name.rsplit(".", 1)[1] for t in tables.values()
                      if t.name.startswith(f"{table.name}.") and not t.name.endswith("*")]
            found.append((dotted, _unknown(name, known, "key", tables)))


def _unknown(name: str, known: list[str], what: str, tables: Mapping[str, Table]) -> str:
    hint = closest(name, known)
    message = f"unknown {what}" if what == "key" else "unknown key (not a table of this file)"
    if hint:
        message += f"; did you mean `{hint}`?"
    else:  # the right key in the wrong table
        home = [t.name for t in tables.values() if t.key(name) is not None]
        if home:
            message += f"; `{name}` belongs in [{home[0]}]"
    return f"{message} (known: {', '.join(sorted(known))})"


# ---------------------------------------------------------------- documentation


def _default_text(key: Key) -> str:
    if key.default is None:
        return "unset"
    if key.default == REQUIRED:
        return "required"
    if isinstance(key.default, str) and key.kind not in ("text", "path"):
        return key.default  # a rule, in words
    import json

    value = json.dumps(key.default).replace("true", "true").replace("|", "\\|")
    return f"`{value}`"


def markdown() -> str:
    """docs/configuration.md: every table and key (a test keeps the file equal to this)."""
    lines = ["# Configuration reference", "",
             "Generated from `src/conveyor/config/schema.py` (`python -m conveyor.config."
             "schema > docs/configuration.md`); a test keeps the two equal. Every key is "
             "checked: an unknown key is an error naming the closest valid one; "
             "`conveyor check` validates a configuration against a revision.", ""]
    for file, tables in (("conveyor.toml", SETTINGS), ("pipelines/<service>.toml", PIPELINE)):
        lines += [f"## {file}", ""]
        for table in tables:
            name = table.name.replace("*", "<name>")
            lines += [f"### [{name}]", "", table.doc, ""]
            if table.free:
                lines += [f"Any key; each value is {KINDS[table.free]}.", ""]
                continue
            lines += ["| key | type | default | meaning |", "|---|---|---|---|"]
            for key in table.keys:
                kind = KINDS[key.kind] + (f" ({', '.join(key.choices)})" if key.choices else "")
                lines.append(f"| `{key.name}` | {kind} | {_default_text(key)} | {key.doc} |")
            lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown(), end="")
