"""The effective-permission model behind the promotion invariants (pure; no program run).

Why: the invariants must refuse real new access (a broader level, a new dataset, prefix, AI action,
attachment or trusted service) and must not refuse mere environment differences (bucket names, account
ids) or narrower access. Each test pins one of those distinctions.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from pipeline.promotion.permissions import (
    Grant,
    PermissionModelError,
    baseline_document,
    diff_baseline,
    diff_environments,
    dump_baseline,
    grants_for_roles,
    neutral_arn,
    parse_baseline,
    render_markdown,
    render_table,
)


def role(env: str, account: str = "111111111111", **over: Any) -> dict[str, Any]:
    perms: dict[str, Any] = {
        "datasets": {
            "raw": {
                "bucket": f"acme-ml-raw-{env}",
                "level": "read",
                "prefixes": ["incoming/"],
                "actions": ["s3:GetObject", "s3:ListBucket"],
            },
            "features": {
                "bucket": f"acme-ml-features-{env}",
                "level": "write",
                "prefixes": [],
                "actions": ["s3:PutObject"],
            },
        },
        "aiActions": ["bedrock:InvokeModel"],
        "managedPolicyArns": [f"arn:aws:iam::{account}:policy/shared-logging"],
        "trustedServices": ["sagemaker.amazonaws.com"],
    }
    perms.update(over)
    return {
        "name": f"trainer-{env}",
        "arn": f"arn:aws:iam::{account}:role/trainer-{env}",
        "policyArn": f"arn:aws:iam::{account}:policy/trainer-{env}",
        "instanceProfileName": None,
        "permissions": perms,
    }


def test_bucket_names_and_account_ids_do_not_count_across_environments() -> None:
    staging = {"trainer": role("staging", "222222222222")}
    prod = {"trainer": role("prod", "333333333333")}
    diff = diff_environments(prod, staging, candidate_name="prod", reference_name="staging")
    assert diff.ok and not diff.added and not diff.removed
    assert "no difference" in render_table(diff)


@pytest.mark.parametrize(
    ("change", "expected_kind"),
    [
        (lambda p: p["datasets"]["raw"].update(level="read-write"), "dataset"),
        (lambda p: p["datasets"]["raw"].update(prefixes=[]), "dataset"),
        (lambda p: p["datasets"].update(models={"bucket": "m", "level": "read"}), "dataset"),
        (lambda p: p["aiActions"].append("sagemaker:CreateTrainingJob"), "ai"),
        (lambda p: p["managedPolicyArns"].append("arn:aws:iam::aws:policy/AdministratorAccess"), "managed"),
        (lambda p: p["trustedServices"].append("ec2.amazonaws.com"), "trust"),
    ],
    ids=["broader-level", "whole-bucket", "new-dataset", "new-ai", "new-attach", "new-trust"],
)
def test_prod_granting_more_than_staging_is_reported(change: Any, expected_kind: str) -> None:
    staging = {"trainer": role("staging")}
    prod = {"trainer": role("prod")}
    change(prod["trainer"]["permissions"])
    diff = diff_environments(prod, staging, candidate_name="prod", reference_name="staging")
    assert not diff.ok
    assert {g.kind for g in diff.added} == {expected_kind}
    assert not diff.removed or expected_kind == "dataset"


def test_encryption_actions_differ_per_environment_but_count_against_the_baseline() -> None:
    staging = {"trainer": role("staging")}
    prod = {"trainer": role("prod")}
    features = prod["trainer"]["permissions"]["datasets"]["features"]
    features["actions"] += ["kms:Decrypt", "kms:GenerateDataKey"]
    assert diff_environments(prod, staging, candidate_name="prod", reference_name="staging").ok
    diff = diff_baseline("prod", prod, baseline_document("prod", {"trainer": role("prod")}))
    assert sorted(g.access for g in diff.added) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert {g.kind for g in diff.added} == {"action"}


def test_narrower_prod_is_allowed_and_shown_as_information() -> None:
    staging = {"trainer": role("staging"), "ingest": role("staging")}
    prod = {"trainer": role("prod")}
    prod["trainer"]["permissions"]["datasets"]["raw"]["prefixes"] = ["incoming/2026/"]
    prod["trainer"]["permissions"]["aiActions"] = []
    diff = diff_environments(prod, staging, candidate_name="prod", reference_name="staging")
    assert diff.ok
    removed = {(g.role, g.kind) for g in diff.removed}
    assert ("trainer", "ai") in removed and ("ingest", "trust") in removed


def test_prefix_coverage() -> None:
    broad = Grant("r", "dataset", "raw", "read", "incoming/")
    assert Grant("r", "dataset", "raw", "read", "incoming/2026/").covered_by(broad)
    assert not Grant("r", "dataset", "raw", "read", "").covered_by(broad)
    assert Grant("r", "dataset", "raw", "read", "anything/").covered_by(Grant("r", "dataset", "raw", "read"))
    assert not Grant("r", "dataset", "raw", "write", "incoming/").covered_by(broad)
    assert not Grant("other", "dataset", "raw", "read", "incoming/").covered_by(broad)


def test_neutral_arn_only_rewrites_the_account() -> None:
    assert neutral_arn("arn:aws:iam::123456789012:policy/x") == "arn:aws:iam::<account>:policy/x"
    assert neutral_arn("arn:aws:iam::aws:policy/ReadOnlyAccess") == "arn:aws:iam::aws:policy/ReadOnlyAccess"


def test_baseline_counts_bucket_names() -> None:
    roles = {"trainer": role("staging")}
    baseline = baseline_document("staging", roles)
    assert diff_baseline("staging", roles, baseline).ok
    moved = copy.deepcopy(roles)
    moved["trainer"]["permissions"]["datasets"]["raw"]["bucket"] = "someone-elses-bucket"
    diff = diff_baseline("staging", moved, baseline)
    assert not diff.ok
    assert any("someone-elses-bucket" in g.target for g in diff.added)


def test_baseline_new_bucket_grant_is_listed() -> None:
    roles = {"trainer": role("staging")}
    baseline = baseline_document("staging", roles)
    grown = copy.deepcopy(roles)
    grown["trainer"]["permissions"]["datasets"]["models"] = {
        "bucket": "acme-ml-models-staging",
        "level": "write",
        "prefixes": [],
        "actions": ["s3:PutObject"],
    }
    diff = diff_baseline("staging", grown, baseline)
    described = [g.describe() for g in diff.added]
    assert "write models=acme-ml-models-staging (whole bucket)" in described
    assert "s3:PutObject on models=acme-ml-models-staging" in described
    assert len(diff.added) == 2


def test_baseline_text_round_trip_is_stable() -> None:
    roles = {"b": role("dev"), "a": role("dev")}
    roles["a"]["permissions"]["aiActions"] = ["z:Z", "a:A", "a:A"]
    text = dump_baseline(baseline_document("dev", roles))
    doc = parse_baseline(text, source="dev.json")
    assert list(doc["roles"]) == ["a", "b"]
    assert doc["roles"]["a"]["aiActions"] == ["a:A", "z:Z"]
    assert dump_baseline(baseline_document("dev", doc["roles"])) == text
    assert grants_for_roles(doc["roles"], neutral=False) == grants_for_roles(roles, neutral=False)


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[]",
        json.dumps({"roles": []}),
        json.dumps({"roles": {"r": {"datasets": {"x": {"level": "all"}}}}}),
    ],
)
def test_malformed_baseline_is_an_error_not_empty_access(text: str) -> None:
    with pytest.raises(PermissionModelError, match=r"bad\.json|level|roles"):
        parse_baseline(text, source="bad.json")


def test_markdown_marks_new_grants_and_escapes_pipes() -> None:
    staging = {"t|x": role("staging")}
    prod = {"t|x": role("prod")}
    prod["t|x"]["permissions"]["aiActions"].append("bedrock:CreateModelCustomizationJob")
    md = render_markdown(diff_environments(prod, staging, candidate_name="prod", reference_name="staging"))
    assert md.startswith("### ❌")
    assert "| t\\|x | ai | bedrock:CreateModelCustomizationJob | — | ✔ **new** |" in md
    table = render_table(diff_environments(prod, staging, candidate_name="prod", reference_name="staging"))
    assert "1 grant(s) only in prod" in table and "bedrock:CreateModelCustomizationJob" in table
