"""External access through resource policies (iam-external-access): another account, in any spelling,
is reported unless it is this stack's account or a trusted one."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from least_privilege.analysis import (
    Settings,
    check_identity_policy,
    check_resource_policy,
    settings_from_config,
)
from least_privilege.findings import EXTERNAL_ACCESS, RULES, Finding, Severity

OWN = "111111111111"
OTHER = "222222222222"
PARTNER = "333333333333"
OWN_SETTINGS = Settings(account_id=OWN)

# One resource policy per service the pack reads (the engine judges them all as resource documents).
SERVICES = {
    "s3": ("s3:GetObject", "arn:aws:s3:::acme-ml-raw-dev/*"),
    "kms": ("kms:Decrypt", "*"),
    "sqs": ("sqs:SendMessage", f"arn:aws:sqs:eu-west-1:{OWN}:jobs"),
    "sns": ("sns:Publish", f"arn:aws:sns:eu-west-1:{OWN}:events"),
    "lambda": ("lambda:InvokeFunction", f"arn:aws:lambda:eu-west-1:{OWN}:function:score"),
    "ecr": ("ecr:BatchGetImage", f"arn:aws:ecr:eu-west-1:{OWN}:repository/models"),
    "secretsmanager": ("secretsmanager:GetSecretValue", "*"),
}


def policy(
    principal: Any,
    action: str = "s3:GetObject",
    resource: str = "arn:aws:s3:::acme-ml-raw-dev/*",
    effect: str = "Allow",
    **extra: Any,
) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Grant",
                "Effect": effect,
                "Principal": principal,
                "Action": action,
                "Resource": resource,
                **extra,
            }
        ],
    }


def external(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.rule == EXTERNAL_ACCESS]


@pytest.mark.parametrize("service", sorted(SERVICES))
@pytest.mark.parametrize(
    "principal",
    [
        {"AWS": OTHER},
        {"AWS": f"arn:aws:iam::{OTHER}:root"},
        {"AWS": f"arn:aws:iam::{OTHER}:role/etl"},
        {"AWS": f"arn:aws:iam::{OTHER}:user/alice"},
        {"AWS": f"arn:aws:sts::{OTHER}:assumed-role/etl/session"},
        {"AWS": [f"arn:aws:iam::{OWN}:role/mine", f"arn:aws:iam::{OTHER}:role/theirs"]},
    ],
)
def test_another_account_in_any_spelling_is_external(service: str, principal: dict[str, Any]) -> None:
    action, resource = SERVICES[service]
    (f,) = external(check_resource_policy(policy(principal, action, resource), OWN_SETTINGS))
    assert f.severity == Severity.HIGH and OTHER in f.message and OWN in f.message
    assert f.statement == "Grant"


@pytest.mark.parametrize(
    "principal",
    [
        {"AWS": OWN},
        {"AWS": f"arn:aws:iam::{OWN}:root"},
        {"AWS": f"arn:aws:iam::{OWN}:role/ingest-worker"},
        {"Service": "cloudtrail.amazonaws.com"},
        {"Service": ["logs.amazonaws.com", "delivery.logs.amazonaws.com"]},
    ],
)
def test_own_account_and_services_are_not_external(principal: dict[str, Any]) -> None:
    assert external(check_resource_policy(policy(principal), OWN_SETTINGS)) == []


def test_trusted_accounts_are_not_external() -> None:
    settings = Settings(account_id=OWN, trusted_accounts=frozenset({PARTNER}))
    assert external(check_resource_policy(policy({"AWS": f"arn:aws:iam::{PARTNER}:root"}), settings)) == []
    (f,) = external(check_resource_policy(policy({"AWS": [PARTNER, OTHER]}), settings))
    assert OTHER in f.message and PARTNER in f.message  # names the trusted list it was checked against


def test_without_the_stack_account_nothing_is_judged() -> None:
    # The pack always passes the stack's account; the engine alone cannot tell own from other.
    assert external(check_resource_policy(policy({"AWS": f"arn:aws:iam::{OTHER}:root"}))) == []


def test_public_principals_stay_with_the_public_access_logic() -> None:
    for principal in ("*", {"AWS": "*"}, {"AWS": "arn:aws:iam::*:root"}):
        findings = check_resource_policy(policy(principal), OWN_SETTINGS)
        assert external(findings) == []
        assert any(f.rule == "iam-trust-policy" for f in findings)


def test_star_narrowed_to_another_account_is_external() -> None:
    narrowed = policy("*", Condition={"StringEquals": {"aws:PrincipalAccount": OTHER}})
    (f,) = external(check_resource_policy(narrowed, OWN_SETTINGS))
    assert OTHER in f.message
    mine = policy("*", Condition={"StringEquals": {"aws:PrincipalAccount": OWN}})
    assert external(check_resource_policy(mine, OWN_SETTINGS)) == []


def test_deny_and_identity_policies_are_not_external_access() -> None:
    assert external(check_resource_policy(policy({"AWS": OTHER}, effect="Deny"), OWN_SETTINGS)) == []
    identity = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": f"arn:aws:iam::{OTHER}:role/x"}
        ],
    }
    assert external(check_identity_policy(identity, OWN_SETTINGS)) == []


def test_not_action_grant_is_named_as_such() -> None:
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": OTHER}, "NotAction": "s3:DeleteObject", "Resource": "*"}
        ],
    }
    (f,) = external(check_resource_policy(document, OWN_SETTINGS))
    assert "every action except s3:DeleteObject" in f.message


def test_trusted_accounts_config_is_validated_naming_the_key() -> None:
    assert settings_from_config({"trustedAccounts": [PARTNER]}).trusted_accounts == frozenset({PARTNER})
    for bad in ([333333333333], ["33333333333"], "333333333333", ["arn:aws:iam::333333333333:root"]):
        with pytest.raises(ValueError, match="trustedAccounts"):
            settings_from_config({"trustedAccounts": bad})


def test_rule_is_high_by_default() -> None:
    assert RULES[EXTERNAL_ACCESS].default_severity == Severity.HIGH


_ACCOUNTS = st.sampled_from([OWN, OTHER, PARTNER, "444444444444"])
_SPELLINGS = st.sampled_from(
    [
        "{a}",
        "arn:aws:iam::{a}:root",
        "arn:aws:iam::{a}:role/etl",
        "arn:aws:iam::{a}:role/path/to/etl",
        "arn:aws:iam::{a}:user/alice",
        "arn:aws:sts::{a}:assumed-role/etl/s",
        "arn:aws-cn:iam::{a}:root",
    ]
)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(_ACCOUNTS, _SPELLINGS), min_size=1, max_size=4),
    st.frozensets(st.sampled_from([PARTNER, "444444444444"])),
)
def test_a_finding_exactly_for_each_account_outside_the_zone_of_trust(
    principals: list[tuple[str, str]], trusted: frozenset[str]
) -> None:
    document = policy({"AWS": [spelling.format(a=account) for account, spelling in principals]})
    findings = external(check_resource_policy(document, Settings(account_id=OWN, trusted_accounts=trusted)))
    expected = {account for account, _ in principals} - {OWN} - trusted
    reported = {a for f in findings for a in (OTHER, PARTNER, "444444444444") if f"account {a}" in f.message}
    assert reported == expected and len(findings) == len(expected)
