"""Condition-key applicability (bench/FINDINGS.md, Parliament UNKNOWN_CONDITION_FOR_ACTION): a service
condition key that is never in the request of some of a statement's actions voids an Allow for them
(low) and makes a Deny ineffective for them (medium), reported under iam-well-formed-documents."""

from __future__ import annotations

from typing import Any

import pytest
from least_privilege import UNKNOWN_STRING
from least_privilege.analysis import check_identity_policy, check_resource_policy
from least_privilege.catalog import condition_key_applies
from least_privilege.findings import RULES, WELL_FORMED, Finding, Severity

from pipeline import ROOT
from pipeline.stackconfig import load_stack_config
from shared.config import parse_stack_config
from shared.policies import identity_policy

BUCKET = "arn:aws:s3:::acme-ml-raw-dev"
OBJECTS = f"{BUCKET}/*"
KEY = "arn:aws:kms:eu-west-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def stmt(effect: str, action: Any, resource: Any, condition: dict[str, Any],
         sid: str = "S") -> dict[str, Any]:
    return {"Sid": sid, "Effect": effect, "Action": action, "Resource": resource, "Condition": condition}


def key_findings(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.rule == WELL_FORMED and "does not apply to" in f.message]


PREFIX = {"StringLike": {"s3:prefix": ["incoming/*"]}}


def test_prefix_on_list_bucket_is_fine() -> None:
    findings = check_identity_policy(doc(stmt("Allow", "s3:ListBucket", BUCKET, PREFIX)))
    assert key_findings(findings) == []
    assert not [f for f in findings if f.rule == WELL_FORMED]


def test_prefix_on_get_object_allow_is_low_with_the_fix() -> None:
    findings = key_findings(check_identity_policy(doc(
        stmt("Allow", ["s3:ListBucket", "s3:GetObject"], [BUCKET, OBJECTS], PREFIX))))
    assert [(f.severity, f.statement, f.action) for f in findings] == [(Severity.LOW, "S", "s3:GetObject")]
    assert ("s3:prefix does not apply to s3:GetObject: move it to a statement with s3:ListBucket only"
            in findings[0].message)
    assert "Allow" in findings[0].message


def test_prefix_on_get_object_deny_is_medium() -> None:
    findings = key_findings(check_identity_policy(doc(
        stmt("Deny", "s3:GetObject", "*", {"StringNotLike": {"s3:prefix": ["public/*"]}}))))
    assert [(f.severity, f.action) for f in findings] == [(Severity.MEDIUM, "s3:GetObject")]
    assert "Deny" in findings[0].message


def test_if_exists_operator_is_judged_like_the_plain_one() -> None:
    findings = key_findings(check_identity_policy(doc(
        stmt("Deny", "s3:GetObject", "*", {"StringNotLikeIfExists": {"s3:prefix": ["public/*"]}}))))
    assert [f.severity for f in findings] == [Severity.MEDIUM]


def test_resource_policy_is_checked_too() -> None:
    policy = doc({"Sid": "S", "Effect": "Deny", "Principal": "*", "Action": "s3:GetObject",
                  "Resource": OBJECTS, "Condition": {"StringNotLike": {"s3:prefix": ["public/*"]}}})
    assert [f.severity for f in key_findings(check_resource_policy(policy))] == [Severity.MEDIUM]


def test_one_finding_per_statement_naming_the_first_actions() -> None:
    actions = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:GetObjectTagging",
               "s3:PutObjectTagging", "s3:GetObjectAcl"]
    findings = key_findings(check_identity_policy(doc(stmt("Allow", actions, OBJECTS, PREFIX))))
    assert len(findings) == 1
    assert "and 2 more" in findings[0].message
    assert "remove it" in findings[0].message  # no action of the statement accepts the key


@pytest.mark.parametrize("effect", ["Allow", "Deny"])
def test_global_keys_always_apply(effect: str) -> None:
    cond = {"IpAddress": {"aws:SourceIp": ["10.0.0.0/8"]}, "Bool": {"aws:SecureTransport": "true"}}
    actions = ["s3:GetObject", "kms:Decrypt", "iam:GetRole"]
    findings = check_identity_policy(doc(stmt(effect, actions, "*", cond)))
    assert key_findings(findings) == []


def test_service_key_on_its_own_action() -> None:
    cond = {"StringEquals": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}}
    assert key_findings(check_identity_policy(doc(stmt("Allow", "kms:Decrypt", KEY, cond)))) == []


def test_key_of_another_service_is_skipped() -> None:
    cond = {"StringEquals": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}}
    assert key_findings(check_identity_policy(doc(stmt("Deny", "s3:GetObject", OBJECTS, cond)))) == []


@pytest.mark.parametrize("key", ["s3:ExistingObjectTag/team", "aws:ResourceTag/team", "s3:BucketTag/team"])
def test_resource_type_and_templated_keys_apply(key: str) -> None:
    cond = {"StringEquals": {key: "ml"}}
    assert key_findings(check_identity_policy(doc(stmt("Allow", "s3:GetObject", OBJECTS, cond)))) == []


def test_templated_keys_without_dollar_placeholder() -> None:
    # secretsmanager lists ``secretsmanager:ResourceTag/tag-key``; kms ``kms:EncryptionContext:${...}``.
    assert condition_key_applies("secretsmanager:getsecretvalue", "secretsmanager:resourcetag/owner") is True
    assert condition_key_applies("kms:decrypt", "kms:encryptioncontext:aws:s3:arn") is True
    assert condition_key_applies("s3:getobject", "s3:prefix") is False
    assert condition_key_applies("s3:getobject", "kms:viaservice") is None
    assert condition_key_applies("s3:nosuchaction", "s3:prefix") is None


def test_wildcard_actions_and_not_action_are_skipped() -> None:
    wildcard = doc(stmt("Allow", ["s3:Get*", "s3:*Object"], OBJECTS, PREFIX))
    not_action = doc({"Sid": "S", "Effect": "Deny", "NotAction": "s3:GetObject", "Resource": "*",
                      "Condition": {"StringNotLike": {"s3:prefix": ["x/*"]}}})
    assert key_findings(check_identity_policy(wildcard)) == []
    assert key_findings(check_identity_policy(not_action)) == []


def test_unknown_actions_are_left_to_known_actions() -> None:
    findings = check_identity_policy(doc(stmt("Allow", "s3:GetObjekt", OBJECTS, PREFIX)))
    assert key_findings(findings) == []


def test_unknown_condition_values_are_skipped() -> None:
    cond = {"StringLike": {"s3:prefix": [UNKNOWN_STRING]}}
    assert key_findings(check_identity_policy(doc(stmt("Allow", "s3:GetObject", OBJECTS, cond)))) == []


def test_rule_description_mentions_the_check() -> None:
    assert "condition key" in RULES[WELL_FORMED].description


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_project_policies_have_no_inapplicable_keys(stack: str) -> None:
    cfg = parse_stack_config(load_stack_config(ROOT, stack), stack=stack)
    assert cfg.roles
    for role in cfg.roles:
        policy = identity_policy(role, cfg)
        assert key_findings(check_identity_policy(policy)) == [], role.name
