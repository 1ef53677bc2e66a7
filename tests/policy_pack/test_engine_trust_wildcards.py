"""Trust conditions that look narrow but admit anyone: GitHub OIDC subjects with a wildcard before the
repository, Cognito identity-pool audiences with a wildcard, organization ids with a wildcard."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from least_privilege.analysis import Settings, check_resource_policy, check_trust_policy
from least_privilege.findings import TRUST_POLICY, Finding, Severity

GITHUB = "arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com"
GHE = "arn:aws:iam::111111111111:oidc-provider/token.actions.octo.ghe.com"
AUD = {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}


def github(sub_operator: str, sub: Any, provider: str = GITHUB) -> dict[str, Any]:
    host = provider.split("oidc-provider/", 1)[1]
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": provider},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {f"{host}:aud": "sts.amazonaws.com"},
                    sub_operator: {f"{host}:sub": sub},
                },
            }
        ],
    }


def trust_findings(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.rule == TRUST_POLICY]


@pytest.mark.parametrize(
    "sub",
    [
        "*",
        "*:*",
        "repo*",
        "repo:*",
        "repo:acme*",
        "repo:acme*/ml:*",
        "rep?:acme/ml:*",
        "*acme/ml*",
        ["repo:acme/ml:ref:refs/heads/main", "repo:*"],
    ],
)
def test_github_subject_wildcard_before_the_repository_trusts_all_of_github(sub: Any) -> None:
    (f,) = trust_findings(check_trust_policy(github("StringLike", sub)))
    assert f.severity == Severity.CRITICAL and "every repository on GitHub" in f.message


def test_github_enterprise_issuers_are_judged_alike() -> None:
    (f,) = trust_findings(check_trust_policy(github("StringLike", "repo:*", GHE)))
    assert f.severity == Severity.CRITICAL


@pytest.mark.parametrize(
    "sub",
    [
        "repo:acme/ml:ref:refs/heads/main",
        "repo:acme/ml:*",
        "repo:acme/*",
        "repo:acme/ml:environment:prod",
        "repository_owner_id:4242:*",
    ],
)
def test_github_subject_with_the_owner_pinned_passes(sub: str) -> None:
    assert trust_findings(check_trust_policy(github("StringLike", sub))) == []


def test_string_equals_compares_the_star_literally() -> None:
    # "repo:*" under StringEquals matches only the literal subject "repo:*": nobody, not everybody.
    assert not any(
        f.severity == Severity.CRITICAL for f in check_trust_policy(github("StringEquals", "repo:*"))
    )


def cognito(condition: dict[str, Any] | None) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Federated": "cognito-identity.amazonaws.com"},
        "Action": "sts:AssumeRoleWithWebIdentity",
    }
    if condition is not None:
        statement["Condition"] = condition
    return {"Version": "2012-10-17", "Statement": [statement]}


@pytest.mark.parametrize(
    "condition",
    [
        None,
        {"StringLike": {"cognito-identity.amazonaws.com:aud": "*"}},
        {"StringLike": {"cognito-identity.amazonaws.com:aud": "eu-west-1:*"}},
        {"ForAnyValue:StringLike": {"cognito-identity.amazonaws.com:aud": "eu-west-1:1234*"}},
    ],
)
def test_cognito_audience_wildcard_trusts_every_identity_pool(condition: dict[str, Any] | None) -> None:
    (f,) = trust_findings(check_trust_policy(cognito(condition)))
    assert f.severity == Severity.CRITICAL and "every identity pool" in f.message


def test_cognito_pinned_audience_passes() -> None:
    pinned = {
        "StringEquals": {
            "cognito-identity.amazonaws.com:aud": "eu-west-1:0f1e2d3c-aaaa-bbbb-cccc-123456789012"
        }
    }
    assert trust_findings(check_trust_policy(cognito(pinned))) == []


def anyone_in_org(operator: str, org: str) -> dict[str, Any]:
    """A trust of every principal, conditioned on the organization id."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "sts:AssumeRole",
                "Condition": {operator: {"aws:PrincipalOrgID": org}},
            }
        ],
    }


@pytest.mark.parametrize("org", ["o-*", "o-?*", "*", "o-abc*"])
def test_wildcard_organization_id_narrows_nothing(org: str) -> None:
    (f,) = trust_findings(check_trust_policy(anyone_in_org("StringLike", org)))
    assert f.severity == Severity.CRITICAL
    bucket = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::b/*",
                "Condition": {"StringLike": {"aws:PrincipalOrgID": org}},
            }
        ],
    }
    assert max(f.severity for f in trust_findings(check_resource_policy(bucket))) == Severity.CRITICAL


def test_exact_organization_id_still_narrows() -> None:
    (f,) = trust_findings(check_trust_policy(anyone_in_org("StringEquals", "o-a1b2c3d4e5")))
    assert f.severity == Severity.HIGH


def test_cross_account_root_guarded_by_a_wildcard_org_is_high() -> None:
    root = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::222222222222:root"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringLike": {"aws:PrincipalOrgID": "o-*"}},
            }
        ],
    }
    (f,) = trust_findings(check_trust_policy(root, Settings(account_id="111111111111")))
    assert f.severity == Severity.HIGH and "narrows nothing" in f.message


_NAME = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_.", min_size=1, max_size=12)


@settings(max_examples=200, deadline=None)
@given(_NAME, _NAME, st.sampled_from(["*", "ref:refs/heads/*", "environment:*", "pull_request", "*:*"]))
def test_a_pinned_owner_is_never_all_of_github(owner: str, repo: str, rest: str) -> None:
    sub = f"repo:{owner}/{repo}:{rest}"
    assert not any(f.severity == Severity.CRITICAL for f in check_trust_policy(github("StringLike", sub)))


@settings(max_examples=200, deadline=None)
@given(_NAME, st.integers(min_value=0, max_value=40), st.sampled_from(["*", "?", "*/*", "?*"]))
def test_a_wildcard_before_the_owner_ends_is_all_of_github(owner: str, cut: int, wildcard: str) -> None:
    head = f"repo:{owner}"[:cut]  # anywhere before the "/" that ends the owner
    sub = f"{head}{wildcard}{'' if wildcard.endswith('/*') else '/ml:*'}"
    findings = trust_findings(check_trust_policy(github("StringLike", sub)))
    assert any(f.severity == Severity.CRITICAL for f in findings), sub
