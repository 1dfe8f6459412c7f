"""`conveyor init [--dry-run] [--force]`: Conveyor's configuration for an existing monorepo.

Finds the services (config/adopt.py), prints what it decided and why, and writes
conveyor.toml, pipelines/<service>.toml, the Jenkinsfile and a k8s/ base with test, staging
and production overlays. An existing file is kept unless --force. Then `conveyor check`
and `conveyor plan OLD NEW --config . --each` show what the history would have built.
"""

from __future__ import annotations

import argparse
import json
from importlib import resources
from pathlib import Path

from conveyor.commands._common import add_json_option, print_json
from conveyor.config.adopt import Proposal, Service, propose
from conveyor.errors import UsageError

ENVIRONMENTS = ("test", "staging", "production")


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("init", help="write Conveyor's configuration for an existing "
                            "monorepo")
    parser.add_argument("--repo", type=Path, default=Path("."),
                        help="the repository's root (default: the current directory)")
    parser.add_argument("--dry-run", action="store_true", help="print, write nothing")
    parser.add_argument("--force", action="store_true", help="overwrite existing files")
    add_json_option(parser)
    parser.set_defaults(func=run)


def toml_list(values: list[str]) -> str:
    return json.dumps(values)


def settings_toml(proposal: Proposal) -> str:
    return f"""# Written by `conveyor init`; every key: docs/configuration.md, `conveyor check`.

[project]
default_branch = "main"
trigger_branches = ["*"]
promote_branches = ["main"]
build_tags = false
global_paths = {toml_list(proposal.global_paths)}   # a change here rebuilds every service
promotion_paths = ["k8s/overlays/"]

[registry]
address = "127.0.0.1:5000"
embedded = true

[executor]
kind = "local"                    # local | jenkins | command

[environments]
order = ["test", "staging", "production"]

[environments.production]
automatic = false
approval = true

[policy]
promotion_identity = "Conveyor Promotions <promotions@conveyor.invalid>"

[policy.protected_paths]
"k8s/overlays/production/" = ["promotions@conveyor.invalid"]
"""


def pipeline_toml(service: Service) -> str:
    why = "".join(f"# {line}\n" for line in service.why)
    return f"""# Written by `conveyor init`.
{why}
[service]
name = "{service.name}"
paths = {toml_list([service.path])}
depends_on = {toml_list(service.depends_on)}

[image]
dockerfile = "{service.dockerfile}"
repository = "conveyor/{service.name}"
port = {service.port}

[unit]
tests = "{service.path}tests/unit"

[integration]
health = "{service.health}"
tests = "{service.path}tests/integration"

[performance]
kind = "{'grpc' if service.health == 'grpc' else 'http'}"
target = "{'/grpc.health.v1.Health/Check' if service.health == 'grpc' else '/healthz'}"
"""


def base_files(service: Service) -> dict[str, str]:
    name, port = service.name, service.port
    labels = f"app.kubernetes.io/name: {name}"
    return {
        f"k8s/base/{name}/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\n"
        "kind: Kustomization\nresources:\n  - deployment.yaml\n  - service.yaml\n",
        f"k8s/base/{name}/deployment.yaml": f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  labels:
    {labels}
spec:
  replicas: 1
  selector:
    matchLabels:
      {labels}
  template:
    metadata:
      labels:
        {labels}
    spec:
      containers:
        - name: {name}
          image: conveyor/{name}
          ports:
            - name: main
              containerPort: {port}
""",
        f"k8s/base/{name}/service.yaml": f"""apiVersion: v1
kind: Service
metadata:
  name: {name}
spec:
  selector:
    {labels}
  ports:
    - name: main
      port: {port}
      targetPort: main
""",
    }


def overlay(env: str, services: list[Service]) -> str:
    resources_ = "".join(f"- ../../base/{s.name}\n" for s in services)
    return (f"apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
            f"namespace: conveyor-{env}\nlabels:\n- pairs:\n    conveyor.env: {env}\n"
            f"resources:\n{resources_}images: []\n")


def jenkinsfile() -> str:
    return resources.files("conveyor.config").joinpath("templates/Jenkinsfile").read_text()


def planned_files(proposal: Proposal) -> dict[str, str]:
    files = {"conveyor.toml": settings_toml(proposal), "Jenkinsfile": jenkinsfile()}
    for service in proposal.services:
        files[f"pipelines/{service.name}.toml"] = pipeline_toml(service)
        files.update(base_files(service))
    for env in ENVIRONMENTS:
        files[f"k8s/overlays/{env}/kustomization.yaml"] = overlay(env, proposal.services)
    return files


def write(root: Path, files: dict[str, str], force: bool,
          dry_run: bool) -> dict[str, str]:
    """path -> written | kept (exists) | would write."""
    done = {}
    for path, text in files.items():
        target = root / path
        if target.exists() and not force:
            done[path] = "kept (exists; --force to overwrite)"
            continue
        if dry_run:
            done[path] = "would write"
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        done[path] = "written"
    return done


def run(args: argparse.Namespace) -> int:
    root = args.repo.resolve()
    if not root.is_dir():
        raise UsageError(f"{root}: not a directory")
    proposal = propose(root)
    if not proposal.services:
        raise UsageError(f"{root}: no directory with a Dockerfile: no service to configure")
    done = write(root, planned_files(proposal), args.force, args.dry_run)
    if args.json:
        print_json({"services": [vars(s) for s in proposal.services],
                    "global_paths": proposal.global_paths, "notes": proposal.notes,
                    "files": done})
        return 0
    for note in proposal.notes:
        print(note)
    for service in proposal.services:
        print(f"service {service.name}: " + "; ".join(service.why))
    for path, what in done.items():
        print(f"  {path}: {what}")
    print("next: conveyor check; conveyor plan HEAD~50 HEAD --config . --each")
    return 0
