"""Gaps found by the Parliament/Cloudsplaining comparison (bench/FINDINGS.md), each closed in the engine:
escalation on named principals, missing credential actions, resource-policy writes on named resources."""

from __future__ import annotations

from typing import Any

import pytest
from least_privilege import managed_policies as mp
from least_privilege.analysis import check_identity_policy, check_resource_policy
from least_privilege.findings import (
    PRIVILEGE_ESCALATION,
    SENSITIVE_ACCESS,
    WILDCARD_RESOURCES,
    Finding,
    Severity,
)

ACCOUNT = "111111111111"
ADMIN_ROLE = f"arn:aws:iam::{ACCOUNT}:role/admin"
BOB = f"arn:aws:iam::{ACCOUNT}:user/bob"
BUCKET = "arn:aws:s3:::acme-ml-raw-dev"
KEY = f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action: Any, resource: Any, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def of(rule: str, findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.rule == rule]


# --- escalation through a named principal --------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "resource"),
    [
        ("iam:UpdateAssumeRolePolicy", ADMIN_ROLE),
        ("iam:CreateAccessKey", BOB),
        ("iam:CreateLoginProfile", BOB),
        ("iam:UpdateLoginProfile", BOB),
        ("iam:PutRolePolicy", f"arn:aws:iam::{ACCOUNT}:role/other"),  # the reference behaviour
        ("iam:AttachRolePolicy", f"arn:aws:iam::{ACCOUNT}:role/other"),
    ],
)
def test_acting_as_a_named_principal_is_escalation_high_scoped_critical_on_star(action: str,
                                                                                 resource: str) -> None:
    scoped = of(PRIVILEGE_ESCALATION, check_identity_policy(doc(allow(action, resource))))
    assert [f.severity for f in scoped] == [Severity.HIGH], scoped
    assert action in scoped[0].message and "scope does not bound the gain" in scoped[0].message
    on_star = of(PRIVILEGE_ESCALATION, check_identity_policy(doc(allow(action, "*"))))
    assert max(f.severity for f in on_star) == Severity.CRITICAL


def test_pass_role_on_a_named_role_stays_bounded() -> None:
    # No escalation method fires (the gain is bounded by the named role); only the missing
    # iam:PassedToService condition is reported, at medium.
    findings = check_identity_policy(doc(allow(["iam:PassRole", "ec2:RunInstances"],
                                               f"arn:aws:iam::{ACCOUNT}:role/worker")))
    (finding,) = of(PRIVILEGE_ESCALATION, findings)
    assert finding.severity == Severity.MEDIUM and "iam:PassedToService" in finding.message


# --- credential-exposure actions missing until the comparison -------------------------------------


@pytest.mark.parametrize(
    "action",
    [
        "license-manager:GetAccessToken",
        "appsync:CreateApiKey",
        "cloud9:CreateEnvironmentToken",
        "emr-containers:GetManagedEndpointSessionCredentials",
        "finspace-api:GetProgrammaticAccessCredentials",
    ],
)
def test_credential_minting_actions_on_star_are_sensitive(action: str) -> None:
    findings = of(SENSITIVE_ACCESS, check_identity_policy(doc(allow(action, "*"))))
    assert len(findings) == 1 and findings[0].severity == Severity.HIGH
    assert findings[0].action == action


# --- resource-policy writes -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "resource"),
    [
        ("s3:PutBucketPolicy", BUCKET),
        ("s3:PutBucketAcl", BUCKET),
        ("s3:PutObjectAcl", f"{BUCKET}/incoming/*"),
        ("kms:PutKeyPolicy", KEY),
        ("kms:CreateGrant", KEY),
        ("secretsmanager:PutResourcePolicy", f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:db-AbCdEf"),
        ("lambda:AddPermission", f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:f"),
        ("sqs:SetQueueAttributes", f"arn:aws:sqs:eu-west-1:{ACCOUNT}:q"),
        ("ecr:SetRepositoryPolicy", f"arn:aws:ecr:eu-west-1:{ACCOUNT}:repository/r"),
    ],
)
def test_resource_policy_write_on_a_named_resource_is_medium_and_high_on_star(action: str,
                                                                              resource: str) -> None:
    named = of(PRIVILEGE_ESCALATION, check_identity_policy(doc(allow(action, resource))))
    assert [(f.severity, f.action, f.resource) for f in named] == [(Severity.MEDIUM, action, resource)]
    assert "resource-policy privilege escalation" in named[0].message
    on_star = of(PRIVILEGE_ESCALATION, check_identity_policy(doc(allow(action, "*"))))
    assert [f.severity for f in on_star] == [Severity.HIGH]
    # The wildcard-resource finding on "*" is unchanged.
    assert of(WILDCARD_RESOURCES, check_identity_policy(doc(allow(action, "*"))))


def test_resource_policy_writes_are_grouped_per_statement_and_found_through_patterns() -> None:
    findings = of(PRIVILEGE_ESCALATION, check_identity_policy(doc(allow("s3:*", BUCKET))))
    assert len(findings) == 1 and findings[0].severity == Severity.MEDIUM
    assert "s3:PutBucketPolicy" in findings[0].message and "s3:PutBucketAcl" in findings[0].message


def test_reads_and_writes_are_not_resource_policy_writes() -> None:
    actions = ["s3:GetObject", "s3:PutObject", "s3:GetBucketPolicy", "kms:Decrypt", "lambda:InvokeFunction"]
    resources = [BUCKET, f"{BUCKET}/*", KEY, f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:f"]
    assert of(PRIVILEGE_ESCALATION, check_identity_policy(doc(allow(actions, resources)))) == []


def test_removals_are_permissions_management_too() -> None:
    """The class comes from the catalog's access level, not from verbs: deleting a bucket policy
    (which may hold the Deny guard rails) or revoking grants also changes who may use the resource."""
    actions = ["s3:DeleteBucketPolicy", "kms:RevokeGrant", "lambda:RemovePermission"]
    resources = [BUCKET, KEY, f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:f"]
    (finding,) = of(PRIVILEGE_ESCALATION, check_identity_policy(doc(allow(actions, resources))))
    assert finding.severity == Severity.MEDIUM
    assert all(a in finding.message for a in actions)


def test_resource_policy_write_on_a_mismatched_resource_grants_nothing_and_is_not_escalation() -> None:
    findings = check_identity_policy(doc(allow("s3:PutBucketPolicy", f"{BUCKET}/*")))
    assert of(PRIVILEGE_ESCALATION, findings) == []


def test_unconditional_deny_removes_the_resource_policy_write() -> None:
    grant = allow(["s3:PutBucketPolicy", "s3:GetObject"], [BUCKET, f"{BUCKET}/*"])
    assert of(PRIVILEGE_ESCALATION, check_identity_policy(doc(grant)))
    deny = {"Effect": "Deny", "Action": "s3:PutBucketPolicy", "Resource": "*"}
    findings = check_identity_policy(doc(grant, deny))
    assert of(PRIVILEGE_ESCALATION, findings) == []


def test_bucket_policy_granting_a_policy_write_is_reported() -> None:
    policy = doc({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/x"},
                  "Action": "s3:PutBucketPolicy", "Resource": BUCKET})
    assert [f.severity for f in of(PRIVILEGE_ESCALATION, check_resource_policy(policy))] == [Severity.MEDIUM]


@pytest.mark.parametrize("name", ["AWSCostAndUsageReportAutomationPolicy", "AWSFMAdminFullAccess"])
def test_parliament_gap_documents_are_now_reported(name: str) -> None:
    arn = next(a for a, _ in mp.all_managed_policies() if a.endswith("/" + name))
    findings = of(PRIVILEGE_ESCALATION, check_identity_policy(mp.managed_policy_document(arn)))
    assert any("s3:PutBucketPolicy" in f.message for f in findings)


def test_not_action_allow_on_a_named_bucket_reports_the_policy_writes_it_covers() -> None:
    statement = {"Effect": "Allow", "NotAction": "iam:*", "Resource": BUCKET}
    findings = of(PRIVILEGE_ESCALATION, check_identity_policy(doc(statement)))
    medium = [f for f in findings if f.severity == Severity.MEDIUM and "resource-policy" in f.message]
    assert medium and "s3:PutBucketPolicy" in medium[0].message


def test_symbolic_and_written_out_paths_agree_on_what_a_policy_write_is() -> None:
    from least_privilege.analysis import _is_resource_policy_write, _resource_policy_writes

    universe = _resource_policy_writes()
    assert 300 <= len(universe) <= 800  # derived from the catalog's access levels, not a hand list
    assert all(_is_resource_policy_write(a) for a in universe)
    assert not any(a.startswith(("iam:", "sso:", "organizations:")) for a in universe)
    for action in ("s3:getbucketpolicy", "s3:putobject", "kms:decrypt"):
        assert action not in universe and not _is_resource_policy_write(action)
