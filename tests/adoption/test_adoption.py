"""Conveyor adopted by a monorepo shaped unlike its own: `conveyor init` on it, then
`conveyor plan --config` compared with a plain `git diff --name-only` mapped to services
over generated histories (edits, renames, merges, reverts)."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest

from conveyor import cli
from conveyor.commands.init import jenkinsfile
from conveyor.config import loader, model, sources
from conveyor.config.check import Overlay, check
from conveyor.intake.changes import Detector, RefUpdate
from tests.support import repo
from tests.support.repo import commit, write
from tests.support.repo import git_text as git

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = "FROM scratch\nCOPY {src} /app\nEXPOSE {port}\n"
SERVICES = {"cart": "src/cart/", "checkout": "src/checkout/", "frontend": "src/frontend/",
            "email": "src/email/"}


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    """src/<name>/ services (checkout's Dockerfile one level down), a shared protocol folder
    renamed pb/ -> protos/ halfway, build files at the root, manifests outside k8s/."""
    root = tmp_path / "shop"
    repo.init(root)
    write(root, {
        "src/cart/Dockerfile": DOCKERFILE.format(src="src/cart", port=7070),
        "src/cart/main.go": "package main\n",
        "src/cart/genproto.sh": "protoc -I ../../pb cart.proto\n",
        "src/checkout/src/Dockerfile": DOCKERFILE.format(src="src/checkout", port=5050),
        "src/checkout/src/main.go": "package main\n",
        "src/checkout/genproto.sh": "protoc -I ../../pb checkout.proto\n",
        "src/frontend/Dockerfile": DOCKERFILE.format(src="src/frontend", port=8080),
        "src/frontend/index.js": "serve()\n",
        "src/email/Dockerfile": "FROM scratch\nCOPY src/email /app\n",
        "src/email/email.py": "send()\n",
        "pb/demo.proto": "syntax = \"proto3\";\n",
        "Makefile": "all:\n\tskaffold build\n",
        "skaffold.yaml": "apiVersion: skaffold/v4beta1\n",
        "kubernetes-manifests/cart.yaml": "apiVersion: apps/v1\nkind: Deployment\n",
        "docs/README.md": "the shop\n",
    })
    commit(root, "the shop")
    git(root, "mv", "pb", "protos")
    for service in ("cart", "checkout"):
        script = root / f"src/{service}/genproto.sh"
        script.write_text(script.read_text().replace("../../pb", "../../protos"))
    commit(root, "pb/ is protos/ now")
    return root


def test_init_finds_every_service_and_writes_a_valid_configuration(
        shop: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["init", "--repo", str(shop), "--dry-run"]) == 0
    assert not (shop / "conveyor.toml").exists()
    assert "would write" in capsys.readouterr().out
    assert cli.main(["init", "--repo", str(shop), "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["services"]) == len(SERVICES)
    loaded = loader.load_dir(shop)
    assert sorted(loaded.pipelines) == sorted(SERVICES)
    for name, path in SERVICES.items():
        assert loaded.pipelines[name].paths == (path,)
    assert loaded.pipelines["checkout"].dockerfile == "src/checkout/src/Dockerfile"
    assert loaded.pipelines["cart"].port == 7070
    assert loaded.pipelines["cart"].dependencies == ("protos/",)
    assert loaded.pipelines["checkout"].dependencies == ("protos/",)
    assert loaded.pipelines["frontend"].dependencies == ()
    assert {"Makefile", "skaffold.yaml", "Jenkinsfile"} <= set(loaded.settings.global_paths)
    assert (shop / "Jenkinsfile").read_text() == (REPO / "Jenkinsfile").read_text()
    for env in ("test", "staging", "production"):
        assert "../../base/cart" in (shop / f"k8s/overlays/{env}/kustomization.yaml").read_text()
    report = check(sources.DirectorySource(shop))
    assert report.ok, report.errors
    # nothing is overwritten unless told to
    (shop / "pipelines/cart.toml").write_text("# mine\n[service]\nname = \"cart\"\n")
    assert cli.main(["init", "--repo", str(shop)]) == 0
    assert (shop / "pipelines/cart.toml").read_text().startswith("# mine")
    assert "kept (exists" in capsys.readouterr().out


def test_check_names_a_typo_and_exits_non_zero(shop: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["init", "--repo", str(shop)]) == 0
    capsys.readouterr()
    assert cli.main(["check", "--repo", str(shop)]) == 0
    assert "configuration valid: 4 service(s)" in capsys.readouterr().out
    pipeline = shop / "pipelines/cart.toml"
    pipeline.write_text(pipeline.read_text().replace("depends_on", "dependencies"))
    assert cli.main(["check", "--repo", str(shop), "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["errors"] == ["pipelines/cart.toml: service.dependencies: unknown key; did you "
                             "mean `depends_on`? (known: depends_on, name, paths)"]


def test_a_path_matching_nothing_is_a_warning(shop: Path) -> None:
    assert cli.main(["init", "--repo", str(shop)]) == 0
    pipeline = shop / "pipelines/cart.toml"
    pipeline.write_text(pipeline.read_text().replace('"protos/"', '"proto/"'))
    report = check(sources.DirectorySource(shop))
    assert report.ok
    assert report.warnings == ("pipelines/cart.toml: service.depends_on: 'proto/' matches "
                               "nothing at this revision",)


def test_the_init_template_is_the_repository_jenkinsfile() -> None:
    assert jenkinsfile() == (REPO / "Jenkinsfile").read_text()


# ---------------------------------------------------------------- against a reference


def generate(root: Path, seed: int, commits: int) -> list[str]:
    """Random edits, renames, merges and reverts on main; the first-parent commits."""
    rng = random.Random(seed)
    files = [f for f in git(root, "ls-files").splitlines()
             if not f.startswith(("pipelines/", "k8s/", "conveyor.toml", "Jenkinsfile"))]
    for step in range(commits):
        action = rng.random()
        if action < 0.55:
            for path in rng.sample(files, rng.randint(1, 3)):
                with (root / path).open("a") as handle:
                    handle.write(f"{seed} {step}\n")
            commit(root, f"edit {step}")
        elif action < 0.7:
            source = rng.choice(files)
            target = f"{source}.moved{step}" if rng.random() < 0.5 else (
                f"{rng.choice(list(SERVICES.values()))}moved{step}")
            git(root, "mv", source, target)
            files[files.index(source)] = target
            commit(root, f"rename {step}")
        elif action < 0.85:
            git(root, "checkout", "-q", "-b", f"topic{step}")
            for path in rng.sample(files, 2):
                with (root / path).open("a") as handle:
                    handle.write(f"topic {step}\n")
                commit(root, f"topic {step}")
            git(root, "checkout", "-q", "main")
            git(root, "merge", "-q", "--no-ff", "-m", f"merge {step}", f"topic{step}")
        else:
            merge = len(git(root, "rev-list", "--parents", "-n1", "HEAD").split()) > 2
            git(root, "revert", "--no-edit", *(["-m", "1"] if merge else []), "HEAD")
    return git(root, "rev-list", "--first-parent", "--reverse", "HEAD").split()


def reference(root: Path, config: model.Config, old: str, new: str) -> set[str]:
    """Services whose paths a plain `git diff --name-only old new` touches."""
    changed = git(root, "diff", "--name-only", "--no-renames", old, new).splitlines()
    found = set()
    for name, pipeline in config.pipelines.items():
        paths = pipeline.source_paths(config.settings)
        if any(f == p.rstrip("/") or f.startswith(p if p.endswith("/") else f"{p}/")
               for f in changed for p in paths):
            found.add(name)
    return found


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_plan_with_an_uncommitted_config_agrees_with_git_diff(shop: Path, tmp_path: Path,
                                                              seed: int) -> None:
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    assert cli.main(["init", "--repo", str(shop)]) == 0
    for name in ("conveyor.toml", "pipelines", "k8s", "Jenkinsfile"):  # kept out of history
        os.replace(shop / name, config_dir / name)
    history = generate(shop, seed, 40)
    config = loader.load(Overlay(sources.DirectorySource(config_dir),
                                sources.CommitSource(shop, history[-1])))
    rng = random.Random(seed)
    pairs = list(zip(history, history[1:], strict=False))  # every push
    pairs += [tuple(sorted(rng.sample(history, 2), key=history.index)) for _ in range(40)]
    undone = 0
    with Detector(shop) as detector:
        for old, new in pairs:
            detection = detector.detect(RefUpdate(old, new, b"refs/heads/main"), (), config,
                                        uncommitted=True)
            planned = {a.service for a in detection.affected}
            assert planned == reference(shop, config, old, new), (old, new)
            # the commits in between: their union may touch a service whose content at the
            # two ends is equal (a change undone); only then may plan build less
            between = set()
            commits = git(shop, "rev-list", "--first-parent", f"{old}..{new}").split()
            for c in commits:
                between |= reference(shop, config, f"{c}^", c)
            assert planned <= between
            for name in between - planned:
                paths = config.pipelines[name].source_paths(config.settings)
                assert not git(shop, "diff", "--name-only", old, new, "--", *paths)
                undone += 1
    assert len(pairs) > 40


def test_plan_each_replays_history_with_the_uncommitted_config(
        shop: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["init", "--repo", str(shop)]) == 0  # written, not committed
    first = git(shop, "rev-list", "--max-parents=0", "HEAD").strip()
    capsys.readouterr()
    assert cli.main(["plan", first, "HEAD", "--repo", str(shop), "--config", str(shop),
                     "--each", "--json"]) == 0
    [push] = json.loads(capsys.readouterr().out)
    assert {s["service"] for s in push["services"]} == {"cart", "checkout"}  # pb -> protos
