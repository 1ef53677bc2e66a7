"""Trust policies and resource (bucket) policies: who may assume or use."""

from __future__ import annotations

from typing import Any

import pytest
from least_privilege import UNKNOWN
from least_privilege.analysis import Settings, check_resource_policy, check_trust_policy, detect_kind
from least_privilege.findings import Finding, Severity

GITHUB = "arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com"


def trust(principal: Any, action: Any = "sts:AssumeRole", **extra: Any) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": principal, "Action": action, **extra}],
    }


def of(findings: list[Finding], rule: str = "iam-trust-policy") -> list[Finding]:
    return [f for f in findings if f.rule == rule]


def test_allowed_service_principal_is_fine() -> None:
    assert check_trust_policy(trust({"Service": "ec2.amazonaws.com"})) == []
    assert check_trust_policy(trust({"Service": ["sagemaker.amazonaws.com", "batch.amazonaws.com"]})) == []


@pytest.mark.parametrize(
    "principal",
    ["*", {"AWS": "*"}, {"AWS": ["arn:aws:iam::*:root"]}, {"AWS": "arn:aws:iam::*:role/x"}],
)
def test_any_principal_is_critical_in_every_form(principal: Any) -> None:
    (f,) = of(check_trust_policy(trust(principal)))
    assert f.severity == Severity.CRITICAL and "anyone" in f.message


def test_any_principal_with_org_condition_is_still_reported() -> None:
    findings = of(check_trust_policy(trust("*", Condition={"StringEquals": {"aws:PrincipalOrgID": "o-abc"}})))
    assert [f.severity for f in findings] == [Severity.HIGH]


@pytest.mark.parametrize("principal", [{"AWS": "222222222222"}, {"AWS": "arn:aws:iam::222222222222:root"}])
def test_cross_account_root_needs_external_id(principal: Any) -> None:
    (f,) = of(check_trust_policy(trust(principal)))
    assert f.severity == Severity.MEDIUM and "sts:ExternalId" in f.message
    assert (
        of(check_trust_policy(trust(principal, Condition={"StringEquals": {"sts:ExternalId": "x1"}}))) == []
    )
    assert (
        of(check_trust_policy(trust(principal, Condition={"StringEquals": {"aws:PrincipalOrgID": "o-1"}})))
        == []
    )


def test_same_account_root_is_not_cross_account() -> None:
    settings = Settings(account_id="111111111111")
    assert of(check_trust_policy(trust({"AWS": "111111111111"}), settings)) == []


def test_github_oidc_needs_sub_and_aud() -> None:
    # Without a pinned subject, workflows of every repository on GitHub can assume the role.
    (f,) = of(check_trust_policy(trust({"Federated": GITHUB}, "sts:AssumeRoleWithWebIdentity")))
    assert f.severity == Severity.CRITICAL and "token.actions.githubusercontent.com:sub" in f.message
    only_aud = {"StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}}
    (f,) = of(
        check_trust_policy(trust({"Federated": GITHUB}, "sts:AssumeRoleWithWebIdentity", Condition=only_aud))
    )
    assert f.severity == Severity.CRITICAL and "every repository" in f.message
    pinned = "repo:acme/ml:ref:refs/heads/main"
    only_sub = {"StringEquals": {"token.actions.githubusercontent.com:sub": pinned}}
    (f,) = of(
        check_trust_policy(trust({"Federated": GITHUB}, "sts:AssumeRoleWithWebIdentity", Condition=only_sub))
    )
    assert f.severity == Severity.MEDIUM and ":aud" in f.message
    both = {
        "StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"},
        "StringLike": {"token.actions.githubusercontent.com:sub": "repo:acme/ml:ref:refs/heads/main"},
    }
    assert (
        check_trust_policy(trust({"Federated": GITHUB}, "sts:AssumeRoleWithWebIdentity", Condition=both))
        == []
    )


def test_github_oidc_sub_wildcard_is_too_broad() -> None:
    broad = {
        "StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"},
        "StringLike": {"token.actions.githubusercontent.com:sub": "repo:*"},
    }
    (f,) = of(
        check_trust_policy(trust({"Federated": GITHUB}, "sts:AssumeRoleWithWebIdentity", Condition=broad))
    )
    assert f.severity == Severity.CRITICAL and "every repository" in f.message


def test_service_principal_outside_allow_list() -> None:
    (f,) = of(check_trust_policy(trust({"Service": "codebuild.amazonaws.com"})))
    assert f.severity == Severity.HIGH and "codebuild.amazonaws.com" in f.message
    custom = Settings(allowed_service_principals=frozenset({"codebuild.amazonaws.com"}))
    assert check_trust_policy(trust({"Service": "codebuild.amazonaws.com"}), custom) == []


def test_not_principal_allow_is_reported() -> None:
    findings = check_trust_policy(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "NotPrincipal": {"AWS": "arn:aws:iam::111111111111:root"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )
    assert of(findings, "iam-no-allow-with-not-elements")
    assert of(findings)[0].severity == Severity.CRITICAL


def test_trust_without_principal_and_with_resource_is_malformed() -> None:
    findings = check_trust_policy(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}],
        }
    )
    messages = " ".join(f.message for f in of(findings, "iam-well-formed-documents"))
    assert "Principal" in messages and "must not have Resource" in messages


def test_unknown_principal_is_a_preview_finding() -> None:
    findings = check_trust_policy(trust({"Service": UNKNOWN}))
    assert of(findings, "iam-preview-verifiable")


def test_deny_statements_are_not_trusts() -> None:
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"},
            {"Effect": "Deny", "Principal": "*", "Action": "sts:AssumeRole"},
        ],
    }
    assert check_trust_policy(document) == []


# --- resource (bucket) policies -----------------------------------------------------------------

BUCKET_OBJECTS = "arn:aws:s3:::acme-ml-raw-dev/*"


def bucket_policy(principal: Any, action: Any = "s3:GetObject", effect: str = "Allow", **extra: Any) -> dict:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": effect, "Principal": principal, "Action": action, "Resource": BUCKET_OBJECTS, **extra}
        ],
    }


def test_public_bucket_policy_is_critical() -> None:
    (f,) = of(check_resource_policy(bucket_policy("*")))
    assert f.severity == Severity.CRITICAL


def test_secure_transport_deny_is_fine() -> None:
    document = bucket_policy("*", "s3:*", "Deny", Condition={"Bool": {"aws:SecureTransport": "false"}})
    assert check_resource_policy(document) == []


def test_role_principal_bucket_policy_is_fine() -> None:
    document = bucket_policy(
        {"AWS": "arn:aws:iam::111111111111:role/ingest-worker"}, ["s3:GetObject", "s3:PutObject"]
    )
    assert check_resource_policy(document, Settings(account_id="111111111111")) == []


def test_bucket_policy_mismatch_is_checked_too() -> None:
    document = bucket_policy({"AWS": "arn:aws:iam::111111111111:role/x"}, "s3:ListBucket")
    assert of(check_resource_policy(document), "iam-action-resource-match")


@pytest.mark.parametrize(
    ("document", "kind"),
    [
        ({"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}, "identity"),
        (trust({"Service": "ec2.amazonaws.com"}), "trust"),
        (trust({"Federated": GITHUB}, "sts:AssumeRoleWithWebIdentity"), "trust"),
        (bucket_policy("*"), "resource"),
        ("{broken", "identity"),
    ],
)
def test_detect_kind(document: Any, kind: str) -> None:
    assert detect_kind(document) == kind
