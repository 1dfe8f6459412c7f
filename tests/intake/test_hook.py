"""The hooks over real `git push`: spool, terminal lines, detached delivery, policy."""

from __future__ import annotations

import io
import os
import shutil
import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conveyor.git.plumbing import ZERO_OID
from conveyor.intake import hook
from conveyor.intake import install as hook_install
from tests.support import records

from .conftest import PROMOTER, Monorepo, git


def test_install_is_idempotent_and_keeps_an_existing_hook(monorepo: Monorepo) -> None:
    old_hook = monorepo.bare / "hooks" / "post-receive"
    marker = monorepo.bare.parent / "local-hook-ran"
    old_hook.write_text(f"#!/bin/sh\ncat > {marker}\n")
    old_hook.chmod(0o755)
    hook_install.install(monorepo.bare)
    hook_install.install(monorepo.bare)
    assert (monorepo.bare / "hooks" / "post-receive.local").read_text().startswith("#!/bin/sh")
    shim = old_hook.read_text()
    assert "from conveyor.intake.hook import entry; entry()' post-receive" in shim
    assert os.environ["CONVEYOR_HOME"] in shim
    assert git(monorepo.bare, "config", "receive.advertisePushOptions").stdout.strip() == b"true"
    monorepo.push("main")
    assert marker.read_bytes().endswith(b" refs/heads/main\n")  # the kept hook got stdin
    assert len(monorepo.wait_delivered(2)) == 2


def test_a_push_prints_one_line_per_service_and_delivers_once(central: Monorepo) -> None:
    start = time.monotonic()
    result = central.push("main")
    assert time.monotonic() - start < 3
    err = result.stderr.decode()
    assert "conveyor: gateway → queued (first push of main)" in err
    assert "conveyor: password-strength → queued (first push of main)" in err
    delivered = central.wait_delivered(2)
    assert sorted(s for _t, s, _r in delivered) == ["gateway", "password-strength"]
    central.wait_idle()
    with central.outbox() as outbox:
        assert {r.state for r in outbox.rows()} == {"delivered"}
        assert all(r.run_id and r.run_id.startswith("run-") for r in outbox.rows())


def test_each_push_is_recorded_for_build_avoidance(central: Monorepo) -> None:
    central.push("main")
    central.commit({"services/gateway/app.py": "v2\n"})
    central.push("main")
    central.wait_delivered(3)
    # A promotion's own commit and a branch deletion are not pushes of code: not counted.
    central.commit({"k8s/overlays/test/kustomization.yaml": "images: [pinned]\n"},
                   env=PROMOTER)
    central.push("main")
    central.push("main:refs/heads/doomed")
    central.push(":refs/heads/doomed")
    central.commit({"docs.md": "docs only\n"})
    central.push("main")
    central.wait_idle()
    rows = records.rows("SELECT ref, services_total, services_built FROM pushes "
                        "ORDER BY id")
    recorded = [tuple(r) for r in rows]
    assert recorded[:2] == [("refs/heads/main", 2, 2), ("refs/heads/main", 2, 1)]
    # the hook or, past its budget, the dispatcher records them: in either order
    assert sorted(recorded[2:]) == [("refs/heads/doomed", 2, 0), ("refs/heads/main", 2, 0)]


def test_a_multi_ref_push_handles_each_ref(central: Monorepo) -> None:
    central.push("main")
    central.wait_delivered(2)
    git(central.work, "branch", "topic")
    git(central.work, "checkout", "-q", "-b", "feature")
    central.commit({"services/gateway/app.py": "feature\n"})
    git(central.work, "tag", "v1")
    git(central.work, "tag", "-a", "-m", "release", "v2")
    result = central.push("topic", "feature", "v1", "v2")
    err = result.stderr.decode()
    assert "gateway → queued (services/gateway/ changed" in err
    assert "refs/tags/v1: nothing to build: tags do not build" in err
    assert ("refs/heads/topic: nothing to build (0 of 2 services changed; compared with "
            "merge base on main)") in err
    delivered = central.wait_delivered(3)
    assert [(s, r) for _t, s, r in delivered[2:]] == [("gateway", b"refs/heads/feature")]


@pytest.mark.parametrize("branch", [b"feature/$(touch${IFS}pwned)", b"a;touch${IFS}pwned",
                                    b"x`touch${IFS}pwned`", b"q'\"<>|&", b"caf\xe9-\xff"])
def test_odd_ref_names_reach_the_executor_literally(central: Monorepo, branch: bytes,
                                                    tmp_path: Path) -> None:
    central.push("main")
    central.wait_delivered(2)
    central.commit({"services/gateway/app.py": "x\n"})
    result = central.push(b"HEAD:refs/heads/" + branch)
    assert b"gateway" in result.stderr
    delivered = central.wait_delivered(3)
    assert delivered[2][2] == b"refs/heads/" + branch
    assert not any(p.name == "pwned" for p in tmp_path.rglob("pwned"))
    assert not (central.bare / "pwned").exists() and not Path("/pwned").exists()


def test_an_empty_push_does_nothing(central: Monorepo) -> None:
    central.push("main")
    central.wait_delivered(2)
    result = central.push("main")
    assert b"conveyor" not in result.stderr
    out = io.BytesIO()
    assert hook.post_receive(central.bare, b"", {}, out) == 0 and out.getvalue() == b""


def test_push_options_are_honoured(central: Monorepo) -> None:
    central.push("main")
    central.wait_delivered(2)
    central.commit({"services/gateway/app.py": "x\n"})
    assert b"conveyor.skip" in central.push("main", options=("conveyor.skip",)).stderr
    central.commit({"docs/README.md": "y\n"})
    result = central.push("main", options=("conveyor.all",))
    assert result.stderr.count(b"queued (push option conveyor.all)") == 2


def test_executor_down_then_back_delivers_exactly_once(central: Monorepo) -> None:
    central.set_mode("down")
    os.environ["CONVEYOR_RETRY_BASE_S"] = "0.1"
    try:
        central.push("main")
        time.sleep(0.5)
        assert central.delivered() == []
        central.set_mode("ok")
        delivered = central.wait_delivered(2)
    finally:
        del os.environ["CONVEYOR_RETRY_BASE_S"]
    assert len(delivered) == 2 and len({t for t, _s, _r in delivered}) == 2


def test_a_hanging_executor_never_holds_the_push(central: Monorepo) -> None:
    central.set_mode("hang")
    start = time.monotonic()
    central.push("main")
    assert time.monotonic() - start < 1.5  # git's own work included; the hook is well under 1 s


def test_a_refused_trigger_is_parked_and_can_be_replayed(central: Monorepo) -> None:
    central.set_mode("refuse")
    central.push("main")
    failed = central.wait_rows("failed", 2)
    assert len(failed) == 2 and "job missing" in (failed[0].last_error or "")
    central.set_mode("ok")
    listing = subprocess.run([".venv/bin/conveyor", "triggers", "--repo", str(central.bare)],
                             capture_output=True, text=True, check=True).stdout
    assert "failed" in listing and "job missing" in listing
    subprocess.run([".venv/bin/conveyor", "triggers", "--repo", str(central.bare), "retry",
                    failed[0].trigger.trigger_id], check=True, capture_output=True)
    assert central.dispatch() == 0
    assert [t for t, _s, _r in central.delivered()] == [failed[0].trigger.trigger_id]


def _block_spool(bare: Path) -> None:
    spool = bare / "conveyor"
    shutil.rmtree(spool)
    spool.write_text("not a directory: the spool cannot be written\n")  # works even as root


def test_an_unwritable_spool_warns_and_the_push_succeeds(central: Monorepo) -> None:
    _block_spool(central.bare)
    result = central.push("main")
    assert b"conveyor: warning: CI trigger not recorded" in result.stderr
    assert git(central.bare, "rev-parse", "main").stdout.strip().decode() == central.head()


def test_guard_mode_rejects_the_push_when_the_spool_is_unwritable(central: Monorepo) -> None:
    git(central.bare, "config", "conveyor.guard", "true")
    _block_spool(central.bare)
    result = central.push("main", check=False)
    assert result.returncode != 0 and b"CI spool unavailable" in result.stderr
    assert git(central.bare, "rev-parse", "--verify", "main", check=False).returncode != 0


def test_only_the_promotion_identity_changes_production(central: Monorepo) -> None:
    central.push("main")
    central.commit({"k8s/overlays/production/kustomization.yaml": "images: [evil]\n"})
    result = central.push("main", check=False)
    assert result.returncode != 0
    assert b"k8s/overlays/production/ may only be changed by promotions@conveyor.invalid" in (
        result.stderr)
    git(central.work, "commit", "-q", "--amend", "--no-edit", env=PROMOTER)
    assert b"promotion record" in central.push("main").stderr
    # A variable the pusher sets is not an identity: without policy.pusher_variable the
    # hook reads none, and the commit is judged by its committer.
    central.commit({"k8s/overlays/production/kustomization.yaml": "images: [self-declared]\n"})
    result = central.push("main", check=False,
                          env={"CONVEYOR_PUSHER": "promotions@conveyor.invalid",
                               "REMOTE_USER": "promotions@conveyor.invalid"})
    assert result.returncode != 0 and b"may only be changed by" in result.stderr


def test_with_an_authenticated_pusher_only_who_pushes_decides(central: Monorepo) -> None:
    """policy.pusher_variable names where the git server puts the user it authenticated;
    then a forged committer does not help, and an allowed pusher needs no special committer."""
    toml = (central.work / "conveyor.toml").read_text()
    central.commit({"conveyor.toml": toml.replace(
        "[policy]\n", '[policy]\npusher_variable = "REMOTE_USER"\n')})
    central.push("main")  # the first push seeds the repository and its policy
    central.commit({"k8s/overlays/production/kustomization.yaml": "images: [forged]\n"},
                   env=PROMOTER)  # the committer claims to be the promotion identity
    forged = central.push("main", check=False, env={"REMOTE_USER": "mallory"})
    assert forged.returncode != 0
    assert b"may only be changed by promotions@conveyor.invalid (pushed by mallory)" in (
        forged.stderr)
    unauthenticated = central.push("main", check=False)
    assert unauthenticated.returncode != 0
    assert b"an unauthenticated pusher ($REMOTE_USER is not set)" in unauthenticated.stderr
    git(central.work, "commit", "-q", "--amend", "--no-edit")  # committed by Dev now
    allowed = central.push("main", check=False,
                           env={"REMOTE_USER": "promotions@conveyor.invalid"})
    assert allowed.returncode == 0, allowed.stderr


def test_the_first_push_seeds_protected_history_but_later_branches_are_checked(
        central: Monorepo) -> None:
    # History written before Conveyor guarded production arrives with the first push.
    central.commit({"k8s/overlays/production/kustomization.yaml": "images: [seed]\n"})
    central.push("main")
    git(central.work, "checkout", "-q", "-b", "sneaky")
    central.commit({"k8s/overlays/production/kustomization.yaml": "images: [evil]\n"})
    result = central.push("sneaky", check=False)
    assert result.returncode != 0 and b"may only be changed by" in result.stderr


def test_ref_names_outside_the_policy_are_refused(central: Monorepo) -> None:
    result = central.push("HEAD:refs/heads/bad\x01name", check=False)
    assert result.returncode != 0


@pytest.mark.slow
def test_twenty_concurrent_pushes_lose_and_duplicate_nothing(central: Monorepo) -> None:
    central.push("main")
    central.wait_delivered(2)
    for i in range(20):
        git(central.work, "checkout", "-q", "-b", f"b{i}", "main")
        central.commit({"services/gateway/app.py": f"branch {i}\n"})
    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(lambda i: central.push(f"b{i}"), range(20)))
    assert all(r.returncode == 0 for r in results)
    delivered = central.wait_delivered(22, timeout=60)
    assert len(delivered) == 22 and len({t for t, _s, _r in delivered}) == 22


def test_a_push_over_git_daemon(central: Monorepo) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    daemon = subprocess.Popen(
        ["git", "daemon", "--listen=127.0.0.1", f"--port={port}", "--export-all",
         "--enable=receive-pack", f"--base-path={central.bare.parent}", "--reuseaddr",
         str(central.bare.parent)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        result = central.push("main", url=f"git://127.0.0.1:{port}/{central.bare.name}")
        assert b"gateway" in result.stderr
        assert len(central.wait_delivered(2)) == 2
    finally:
        daemon.terminate()
        daemon.wait(10)


def test_the_hook_accepts_deletions(central: Monorepo) -> None:
    central.push("main", "main:refs/heads/gone")
    central.wait_delivered(2)
    result = central.push(":refs/heads/gone")
    assert b"refs/heads/gone: deleted: nothing to build" in result.stderr
    with central.outbox() as outbox:
        assert outbox.is_known(b"refs/heads/gone", ZERO_OID)


def test_policy_guard_is_read_from_conveyor_toml() -> None:
    from conveyor.config import loader, sources
    from conveyor.config import model as config

    class Toml(sources.Source):
        def __init__(self, text: str) -> None:
            self.text = text

        def read(self, path: str) -> bytes | None:
            return f"[project]\n{self.text}".encode() if path == "conveyor.toml" else None

    assert loader.load_settings(Toml("[policy]\nguard = true\n")).policy.guard is True
    assert loader.load_settings(Toml("[policy]\n")).policy.guard is False
    with pytest.raises(config.ConfigError, match="guard"):
        loader.load_settings(Toml("[policy]\nguard = 'yes'\n"))


def test_guard_mode_from_conveyor_toml(tmp_path: Path) -> None:
    from .conftest import make_monorepo, stop_dispatcher

    repo = make_monorepo(tmp_path, extra_settings="")
    toml = (repo.work / "conveyor.toml").read_text()
    repo.commit({"conveyor.toml": toml.replace("[policy]\n", "[policy]\nguard = true\n")})
    hook_install.install(repo.bare)
    try:
        repo.push("main")  # judged by its own conveyor.toml: guard on from now on
        repo.wait_delivered(2)
        repo.wait_idle()
        _block_spool(repo.bare)
        repo.commit({"services/gateway/app.py": "guarded\n"})
        result = repo.push("main", check=False)
        assert result.returncode != 0 and b"guard mode" in result.stderr
        assert git(repo.bare, "rev-parse", "main").stdout.strip().decode() != repo.head()
    finally:
        stop_dispatcher(repo.bare)


def test_install_follows_core_hooks_path(monorepo: Monorepo) -> None:
    hooks_dir = monorepo.bare.parent / "shared-hooks"
    git(monorepo.bare, "config", "core.hooksPath", str(hooks_dir))
    hook_install.install(monorepo.bare)
    assert (hooks_dir / "post-receive").is_file() and (hooks_dir / "pre-receive").is_file()
    assert not (monorepo.bare / "hooks" / "post-receive").exists()
    result = monorepo.push("main")
    assert b"conveyor: gateway" in result.stderr
    assert len(monorepo.wait_delivered(2)) == 2


def test_a_push_with_a_broken_configuration_is_refused_with_the_key(central: Monorepo) -> None:
    central.push("main")
    central.wait_delivered(2)
    text = (central.work / "pipelines/gateway.toml").read_text()
    central.commit({"pipelines/gateway.toml": text.replace("depends_on", "dependencies")})
    result = central.push("main", check=False)
    assert result.returncode != 0
    assert (b"refused refs/heads/main: pipelines/gateway.toml: service.dependencies: unknown "
            b"key; did you mean `depends_on`?") in result.stderr
