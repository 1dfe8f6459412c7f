"""The promotion rule alone: facts in, a decision with exactly what is missing out."""

from __future__ import annotations

import dataclasses

import pytest

from conveyor.errors import Refusal
from conveyor.promotion.eligibility import Request, is_promotable
from conveyor.records import evidence

DIGEST = "sha256:" + "a" * 64
ALL = ("build", "unit", "integration", "performance")
PASSED = {stage: "passed" for stage in ALL}


def request(**changes: object) -> Request:
    base = Request(service="hello", environment="staging", digest=DIGEST, requires=ALL,
                   evidence=PASSED, previous_environment="test", verified_in_previous=True)
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_all_evidence_and_verified_upstream_is_promotable() -> None:
    assert is_promotable(request()).allowed


def test_missing_and_failed_evidence_are_listed_exactly() -> None:
    decision = is_promotable(request(evidence={"build": "passed", "unit": "passed",
                                               "integration": "failed"}))
    assert not decision.allowed
    assert decision.missing == (
        "evidence: stage integration has not passed (latest record failed)",
        "evidence: stage performance has not passed (no record)",
    )


def test_skipping_an_environment_is_refused_unless_overridden_with_a_reason() -> None:
    refused = is_promotable(request(verified_in_previous=False))
    assert not refused.allowed and "not verified in test" in refused.missing[0]
    allowed = is_promotable(request(verified_in_previous=False, override_reason="hotfix"))
    assert allowed.allowed and allowed.overridden == (
        "not verified in test (the previous environment): hotfix",)


def test_override_never_excuses_missing_evidence() -> None:
    decision = is_promotable(request(verified_in_previous=False, override_reason="hotfix",
                                     evidence={}))
    assert not decision.allowed and len(decision.missing) == 4


def test_the_first_environment_needs_only_evidence() -> None:
    assert is_promotable(request(environment="test", previous_environment=None,
                                 verified_in_previous=False)).allowed


def test_approval_is_required_where_the_policy_says_so() -> None:
    assert not is_promotable(request(approval_required=True)).allowed
    assert is_promotable(request(approval_required=True, approver="rm")).allowed


def test_the_automatic_path_obeys_branch_environment_and_freeze() -> None:
    auto = request(automatic=True)
    assert is_promotable(auto).allowed
    assert not is_promotable(dataclasses.replace(auto, branch="feature",
                                                 branch_may_promote=False)).allowed
    assert not is_promotable(dataclasses.replace(auto, environment_automatic=False)).allowed
    assert not is_promotable(dataclasses.replace(auto, frozen=True)).allowed
    assert not is_promotable(dataclasses.replace(auto, verified_in_previous=False,
                                                 override_reason="no")).allowed
    assert is_promotable(request(frozen=True)).allowed  # freezes stop automation only


def test_rollback_needs_a_digest_once_verified_here() -> None:
    assert not is_promotable(request(rollback=True)).allowed
    assert is_promotable(request(rollback=True, verified_here_before=True,
                                 verified_in_previous=False)).allowed


def test_an_image_whose_label_disagrees_with_its_evidence_is_refused() -> None:
    built, other = "1" * 40, "2" * 40
    assert is_promotable(request(image_revision=built, evidence_revision=built)).allowed
    refused = is_promotable(request(image_revision=other, evidence_revision=built))
    assert refused.missing == (
        "provenance: the image says it was built from 222222222222, its build record says "
        "111111111111",)
    # an image without the label (or not inspectable here) is judged by its evidence alone
    assert is_promotable(request(image_revision=None, evidence_revision=built)).allowed


@pytest.mark.parametrize("suffix", ["\n", " ", "\r\n", "\x00"])
def test_a_digest_with_anything_after_the_hex_is_refused(suffix: str) -> None:
    digest = "sha256:" + "a" * 64
    assert evidence.check_digest(digest) == digest
    with pytest.raises(Refusal, match="not an image digest"):
        evidence.check_digest(digest + suffix)
