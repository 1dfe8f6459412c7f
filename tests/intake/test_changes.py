"""Change detection: each rule against a real repository, through changes.Detector."""

from __future__ import annotations

import pytest

from conveyor.config import model as config
from conveyor.errors import ConveyorError
from conveyor.git.plumbing import ZERO_OID
from conveyor.intake.changes import Detection, Detector, RefUpdate, parse_updates, trigger_id

from .conftest import Monorepo, git

MAIN = b"refs/heads/main"


def detect(repo: Monorepo, old: str, new: str, ref: bytes = MAIN,
           options: tuple[str, ...] = ()) -> Detection:
    with Detector(repo.work) as detector:
        return detector.detect(RefUpdate(old, new, ref), options)


def services(detection: Detection) -> dict[str, str]:
    return {a.service: a.reason for a in detection.affected}


def test_first_push_of_default_branch_builds_every_service(monorepo: Monorepo) -> None:
    found = services(detect(monorepo, ZERO_OID, monorepo.head()))
    assert found == {"gateway": "first push of main", "password-strength": "first push of main"}


def test_a_change_in_a_service_builds_only_that_service(monorepo: Monorepo) -> None:
    old = monorepo.head()
    new = monorepo.commit({"services/gateway/app.py": "changed\n"})
    assert services(detect(monorepo, old, new)) == {"gateway": "services/gateway/ changed"}


def test_a_dependency_change_builds_its_dependents(monorepo: Monorepo) -> None:
    old = monorepo.head()
    new = monorepo.commit({"protos/api.proto": "syntax = 'proto3'; // v2\n"})
    assert services(detect(monorepo, old, new)) == {
        "gateway": "protos/ changed (dependency)",
        "password-strength": "protos/ changed (dependency)"}


def test_a_global_path_change_builds_everything(monorepo: Monorepo) -> None:
    old = monorepo.head()
    new = monorepo.commit({"build/base/recipe.toml": "suite = 'trixie'\n"})
    assert set(services(detect(monorepo, old, new))) == {"gateway", "password-strength"}


def test_dependencies_are_transitive(monorepo: Monorepo) -> None:
    monorepo.commit({"pipelines/web.toml": '[service]\nname = "web"\n'
                     'depends_on = ["services/gateway/"]\n', "services/web/x": "x"})
    old = monorepo.head()
    new = monorepo.commit({"protos/api.proto": "changed\n"})
    assert "web" in services(detect(monorepo, old, new))


def test_docs_only_builds_nothing(monorepo: Monorepo) -> None:
    old = monorepo.head()
    new = monorepo.commit({"docs/README.md": "more docs\n"})
    assert detect(monorepo, old, new).affected == ()


def test_an_overlay_only_change_is_a_promotion_record(monorepo: Monorepo) -> None:
    old = monorepo.head()
    new = monorepo.commit({"k8s/overlays/test/kustomization.yaml": "images: [x]\n"})
    found = detect(monorepo, old, new)
    assert found.affected == () and found.note.startswith("promotion record")


def test_a_new_branch_with_nothing_new_builds_nothing(monorepo: Monorepo) -> None:
    assert detect(monorepo, ZERO_OID, monorepo.head(), b"refs/heads/topic").affected == ()


def test_a_new_branch_builds_what_it_changed_since_the_merge_base(monorepo: Monorepo) -> None:
    git(monorepo.work, "checkout", "-q", "-b", "topic")
    monorepo.commit({"services/password-strength/app.py": "new\n"})
    new = monorepo.commit({"docs/README.md": "x\n"})
    found = detect(monorepo, ZERO_OID, new, b"refs/heads/topic")
    assert set(services(found)) == {"password-strength"}


def test_an_orphan_branch_builds_every_service(monorepo: Monorepo) -> None:
    git(monorepo.work, "checkout", "-q", "--orphan", "lonely")
    new = monorepo.commit({}, "orphan")
    found = detect(monorepo, ZERO_OID, new, b"refs/heads/lonely")
    assert set(services(found)) == {"gateway", "password-strength"}
    assert "no common history" in found.note


def test_deletion_builds_nothing(monorepo: Monorepo) -> None:
    found = detect(monorepo, monorepo.head(), ZERO_OID, b"refs/heads/topic")
    assert found.affected == () and found.note.startswith("deleted")


def test_tags_build_nothing_unless_configured(monorepo: Monorepo) -> None:
    assert detect(monorepo, ZERO_OID, monorepo.head(), b"refs/tags/v1").affected == ()
    toml = (monorepo.work / "conveyor.toml").read_text().replace(
        'default_branch = "main"', 'default_branch = "main"\nbuild_tags = true')
    new = monorepo.commit({"conveyor.toml": toml})
    assert len(detect(monorepo, ZERO_OID, new, b"refs/tags/v2").affected) == 2


def test_force_push_over_a_pruned_head_falls_back_to_the_merge_base(monorepo: Monorepo) -> None:
    git(monorepo.work, "checkout", "-q", "-b", "topic")
    new = monorepo.commit({"services/gateway/app.py": "rewritten\n"})
    gone = "1" * 40  # the old head no longer exists
    found = detect(monorepo, gone, new, b"refs/heads/topic")
    assert services(found) == {"gateway": "services/gateway/ changed"}


def test_force_push_of_the_default_branch_over_a_pruned_head_builds_all(
        monorepo: Monorepo) -> None:
    found = detect(monorepo, "1" * 40, monorepo.head())
    assert len(found.affected) == 2


def test_revert_and_rename_come_out_right(monorepo: Monorepo) -> None:
    base = monorepo.head()
    changed = monorepo.commit({"services/gateway/app.py": "changed\n"})
    git(monorepo.work, "revert", "--no-edit", "HEAD")
    reverted = monorepo.head()
    assert set(services(detect(monorepo, changed, reverted))) == {"gateway"}
    assert detect(monorepo, base, reverted).affected == ()  # same content, same keys
    git(monorepo.work, "mv", "services/gateway/app.py", "services/password-strength/moved.py")
    moved = monorepo.commit({}, "move")
    assert set(services(detect(monorepo, reverted, moved))) == {"gateway", "password-strength"}


def test_a_merge_builds_what_the_merged_branch_changed(monorepo: Monorepo) -> None:
    git(monorepo.work, "checkout", "-q", "-b", "topic")
    monorepo.commit({"services/gateway/app.py": "feature\n"})
    git(monorepo.work, "checkout", "-q", "main")
    old = monorepo.commit({"docs/README.md": "main moved on\n"})
    git(monorepo.work, "merge", "-q", "--no-ff", "--no-edit", "topic")
    assert set(services(detect(monorepo, old, monorepo.head()))) == {"gateway"}


def test_look_alike_directories_are_not_services(monorepo: Monorepo) -> None:
    old = monorepo.head()
    new = monorepo.commit({"servicesX/gateway/app.py": "x", "services/orphan/app.py": "x",
                           "services/gatewayX/app.py": "x"})
    assert detect(monorepo, old, new).affected == ()


def test_a_symlinked_service_directory_is_refused(monorepo: Monorepo) -> None:
    (monorepo.work / "services" / "evil").symlink_to("/etc")
    new = monorepo.commit({"pipelines/evil.toml": '[service]\nname = "evil"\n'})
    with pytest.raises(config.ConfigError, match="symbolic link"):
        detect(monorepo, ZERO_OID, new)


def test_push_options_skip_and_all(monorepo: Monorepo) -> None:
    old = monorepo.head()
    new = monorepo.commit({"services/gateway/app.py": "changed\n"})
    assert detect(monorepo, old, new, options=("conveyor.skip",)).affected == ()
    assert len(detect(monorepo, old, new, options=("conveyor.all",)).affected) == 2


def test_the_config_at_the_pushed_revision_is_used(monorepo: Monorepo) -> None:
    old = monorepo.head()
    new = monorepo.commit({"pipelines/billing.toml": '[service]\nname = "billing"\n',
                           "services/billing/app.py": "x"})
    assert services(detect(monorepo, old, new)) == {"billing": "pipelines/billing.toml added"}


@pytest.mark.parametrize("name", [b"x\nservices/password-strength/y", b"tab\there",
                                  b"quote\"'s", b"-rf", b"caf\xe9", b"\xff\xfe"])
def test_odd_paths_map_exactly_to_their_service(monorepo: Monorepo, name: bytes) -> None:
    old = monorepo.head()
    new = monorepo.commit({b"services/gateway/" + name: b"x"})
    assert set(services(detect(monorepo, old, new))) == {"gateway"}


def test_hook_input_is_parsed_exactly() -> None:
    line = b"a" * 40 + b" " + b"b" * 40 + b" refs/heads/caf\xe9 $(x) ;`y`\n"
    [update] = parse_updates(line + b"\n")
    assert update.ref == b"refs/heads/caf\xe9 $(x) ;`y`" and update.old == "a" * 40
    assert parse_updates(b"") == []
    with pytest.raises(ConveyorError):
        parse_updates(b"not a ref update\n")


def test_trigger_ids_depend_on_every_part() -> None:
    base = trigger_id("gateway", "k", b"refs/heads/main", "a" * 40)
    assert base != trigger_id("gateway", "k", b"refs/heads/other", "a" * 40)
    assert base != trigger_id("gateway", "k2", b"refs/heads/main", "a" * 40)
    assert base != trigger_id("web", "k", b"refs/heads/main", "a" * 40)
    assert base == trigger_id("gateway", "k", b"refs/heads/main", "a" * 40)
