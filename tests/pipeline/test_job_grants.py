"""Job profiles in the promotion invariants: prod may not run a job, pull an image, invoke a model or be
passable by a launcher that staging does not cover, and the reviewed baseline records all of it."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from pipeline.promotion.permissions import (
    KIND_JOB,
    PermissionModelError,
    baseline_document,
    diff_baseline,
    diff_environments,
    grants_for_role,
)


def role(account: str = "271828182845", **job: Any) -> dict[str, Any]:
    base = {
        "profile": "sagemaker-training",
        "service": "sagemaker.amazonaws.com",
        "images": ["acme-ml/trainer"],
        "models": [],
        "vpcId": None,
        "ssm": False,
        "passableBy": [f"arn:aws:iam::{account}:role/orchestrator"],
        "logGroup": "/aws/sagemaker/TrainingJobs",
        "logStreams": "model-training-*",
        "metricNamespace": "/aws/sagemaker/TrainingJobs",
        "actions": ["ecr:GetAuthorizationToken", "logs:PutLogEvents"],
        "executionRole": None,
        "executionActions": [],
    }
    base.update(job)
    return {
        "permissions": {
            "trustedServices": ["sagemaker.amazonaws.com"],
            "datasets": {},
            "aiActions": [],
            "managedPolicyArns": [],
            "job": base,
        }
    }


def added(candidate: dict[str, Any], reference: dict[str, Any]) -> list[str]:
    diff = diff_environments(
        {"model-training": candidate},
        {"model-training": reference},
        candidate_name="prod",
        reference_name="staging",
    )
    return [g.describe() for g in diff.added]


def test_same_job_in_other_accounts_is_no_new_access() -> None:
    assert added(role("161803398874", vpcId="vpc-11111111"), role(vpcId="vpc-22222222")) == []


@pytest.mark.parametrize(
    ("change", "description"),
    [
        ({"images": ["acme-ml/trainer", "acme-ml/other"]}, "pulls image acme-ml/other"),
        (
            {"models": ["anthropic.claude-3-haiku-20240307-v1:0"]},
            "invokes model anthropic.claude-3-haiku-20240307-v1:0",
        ),
        ({"profile": "sagemaker-processing"}, "runs as job sagemaker-processing"),
        ({"ssm": True}, "Systems Manager Session Manager"),
        ({"vpcId": "vpc-11111111"}, "creates network interfaces in a VPC"),
        (
            {
                "passableBy": [
                    "arn:aws:iam::161803398874:role/orchestrator",
                    "arn:aws:iam::161803398874:user/ci",
                ]
            },
            "passable by arn:aws:iam::<account>:user/ci",
        ),
    ],
)
def test_prod_may_not_widen_the_job(change: dict[str, Any], description: str) -> None:
    assert added(role("161803398874", **change), role()) == [description]


def test_baseline_records_the_job_and_its_actions() -> None:
    roles = {"model-training": role()}
    doc = baseline_document("staging", roles)
    assert doc["roles"]["model-training"]["job"]["images"] == ["acme-ml/trainer"]
    wider = copy.deepcopy(roles)
    wider["model-training"]["permissions"]["job"]["actions"].append("ecr:BatchGetImage")
    diff = diff_baseline("staging", wider, doc)
    assert [g.describe() for g in diff.added] == ["job action ecr:BatchGetImage"]
    assert diff_baseline("staging", roles, doc).ok


def test_roles_without_a_job_have_no_job_grants() -> None:
    plain = role()
    plain["permissions"]["job"] = None
    assert not [g for g in grants_for_role("r", plain, neutral=False) if g.kind == KIND_JOB]


@pytest.mark.parametrize("bad", [["sagemaker-training"], {"images": []}, "lambda"])
def test_malformed_job_is_an_error(bad: Any) -> None:
    broken = role()
    broken["permissions"]["job"] = bad
    with pytest.raises(PermissionModelError, match="'job'"):
        grants_for_role("model-training", broken, neutral=True)
