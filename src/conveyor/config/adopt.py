"""What `conveyor init` proposes for a repository it has never seen, and why.

Services are the directories with a Dockerfile (wherever it sits under the service: the
folder most Dockerfile folders share a parent with is the services folder, and each of its
children with a Dockerfile anywhere below is one service). Shared dependencies are the
folders outside every service that a service's Dockerfile or build scripts name (a protocol
or library folder). Global paths are the build files at the root. Every decision carries
its reason, printed by `conveyor init`.
"""

from __future__ import annotations

import re
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

SKIP = {".git", "node_modules", "vendor", ".venv", "venv", "__pycache__", "k8s", "pipelines"}
BUILD_SCRIPTS = re.compile(r"(^Dockerfile.*|.*\.sh|Makefile|.*\.mk|.*\.gradle|package\.json|"
                           r"go\.mod|pyproject\.toml|requirements.*\.txt|.*\.csproj|"
                           r"skaffold\.ya?ml|docker-compose.*\.ya?ml)$")
ROOT_BUILD_FILES = re.compile(r"^(Makefile|.*\.mk|build\.sh|skaffold\.ya?ml|cloudbuild\.ya?ml|"
                              r"docker-compose.*\.ya?ml|go\.work|\.dockerignore|Jenkinsfile)$")
EXPOSE = re.compile(r"^\s*EXPOSE\s+(\d+)", re.MULTILINE | re.IGNORECASE)
NAME = re.compile(r"[^a-z0-9-]+")


@dataclass
class Service:
    name: str
    path: str  # "src/cart/"
    dockerfile: str
    port: int
    health: str
    depends_on: list[str] = field(default_factory=list)
    why: list[str] = field(default_factory=list)


@dataclass
class Proposal:
    services: list[Service]
    global_paths: list[str]
    manifests: list[str]  # Kubernetes manifests found (not built from)
    notes: list[str]


def files_of(root: Path) -> list[str]:
    """Tracked files when `root` is a git checkout, else every file (minus SKIP)."""
    result = subprocess.run(["git", "-C", str(root), "ls-files", "-z"], capture_output=True,
                            timeout=60, check=False)
    if result.returncode == 0 and result.stdout:
        return [f for f in result.stdout.decode("utf-8", "surrogateescape").split("\0") if f]
    found = []
    for path in root.rglob("*"):
        rel = path.relative_to(root)
        if path.is_file() and not SKIP.intersection(rel.parts):
            found.append(rel.as_posix())
    return sorted(found)


def service_name(folder: str) -> str:
    name = NAME.sub("-", PurePosixPath(folder).name.lower()).strip("-")
    return name if name[:1].isalpha() else f"svc-{name}"


def propose(root: Path) -> Proposal:
    files = [f for f in files_of(root) if not SKIP.intersection(f.split("/")[:-1])]
    dockerfiles = sorted((f for f in files if PurePosixPath(f).name == "Dockerfile"
                          and "/" in f), key=lambda f: (f.count("/"), f))
    parents = Counter(str(PurePosixPath(f).parent.parent) for f in dockerfiles)
    container = parents.most_common(1)[0][0] if parents else ""
    container = "" if container == "." else container
    services: dict[str, Service] = {}
    for dockerfile in dockerfiles:
        folder = str(PurePosixPath(dockerfile).parent)
        if container and folder.startswith(f"{container}/"):
            folder = f"{container}/{folder[len(container) + 1:].split('/')[0]}"
        if any(folder.startswith(s.path) for s in services.values()):
            continue  # a second Dockerfile of a service already found
        text = (root / dockerfile).read_text(errors="replace")
        ports = [int(p) for p in EXPOSE.findall(text)]
        port = ports[0] if ports else 8080
        grpc = "grpc" in text.lower() or port in (50051, 9555, 7070, 3550, 5050, 50052)
        name = service_name(folder)
        where = ("its Dockerfile" if PurePosixPath(dockerfile).parent == PurePosixPath(folder)
                 else f"a Dockerfile at {dockerfile}")
        services[name] = Service(name, f"{folder}/", dockerfile, port,
                                 "grpc" if grpc else "/healthz",
                                 why=[f"{folder}/ has {where}"
                                      + (f"; port {port} from EXPOSE" if ports else
                                         "; no EXPOSE: port 8080 assumed")])
    owned = [s.path for s in services.values()]
    candidates = _shared_folders(files, owned, container)
    for service in services.values():
        scripts = [f for f in files if f.startswith(service.path)
                   and BUILD_SCRIPTS.match(PurePosixPath(f).name)]
        for folder in candidates:
            for script in scripts:
                if _names(root / script, folder):
                    service.depends_on.append(f"{folder}/")
                    service.why.append(f"depends on {folder}/: named in {script}")
                    break
    global_paths = sorted(f for f in files if "/" not in f and ROOT_BUILD_FILES.match(f))
    if "build" in {f.split("/")[0] for f in files if "/" in f}:
        global_paths.insert(0, "build/")
    if "Jenkinsfile" not in global_paths:
        global_paths.append("Jenkinsfile")
    manifests = sorted({f.split("/")[0] + "/" for f in files if f.endswith((".yaml", ".yml"))
                        and "/" in f and _is_manifest(root / f)})
    notes = [f"services folder: {container or '(root)'}/ ({len(services)} services)",
             f"global paths (a change rebuilds every service): {', '.join(global_paths)}"]
    notes += [f"{m}: Kubernetes manifests; not built from (Conveyor writes k8s/)"
              for m in manifests if m != "k8s/"]
    return Proposal(sorted(services.values(), key=lambda s: s.name), global_paths, manifests,
                    notes)


def _shared_folders(files: list[str], owned: list[str], container: str) -> list[str]:
    """Folders outside every service: top-level ones, and non-service ones in the services
    folder."""
    folders = set()
    for f in files:
        parts = f.split("/")
        if len(parts) > 1 and not parts[0].startswith("."):
            folders.add(parts[0])
        if container and f.startswith(f"{container}/") and len(parts) > container.count("/") + 2:
            folders.add("/".join(parts[:container.count("/") + 2]))
    return sorted(f for f in folders if f != container and f not in ("docs", "build")
                  and not any(f"{f}/".startswith(o) or o.startswith(f"{f}/") for o in owned))


def _names(script: Path, folder: str) -> bool:
    try:
        text = script.read_text(errors="replace")
    except OSError:
        return False
    base = re.escape(PurePosixPath(folder).name)
    full = re.escape(folder)
    return re.search(rf"(^|[\s\"'=:(,])(\.\./)*({full}|{base})(/|[\s\"']|$)", text,
                     re.MULTILINE) is not None


def _is_manifest(path: Path) -> bool:
    try:
        head = path.read_text(errors="replace")[:4000]
    except OSError:
        return False
    return "apiVersion:" in head and "kind:" in head
