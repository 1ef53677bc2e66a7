"""Conditions that narrow nothing or never match (iam-condition-pitfalls), and the promise that such a
condition never lowers another rule's severity."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from least_privilege.analysis import check_identity_policy, check_resource_policy, check_trust_policy
from least_privilege.catalog import all_services
from least_privilege.conditions import (
    GLOBAL_KEYS,
    absent_result,
    condition_pitfall,
    key_is_known,
    key_type,
)
from least_privilege.core import condition_narrows
from least_privilege.document import Condition
from least_privilege.findings import CONDITION_PITFALLS, RULES, Finding, Severity

from pipeline import ROOT

OBJECTS = "arn:aws:s3:::acme-ml-raw-dev/*"
SAML = "arn:aws:iam::111111111111:saml-provider/corp"
GITHUB = "arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com"


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(
    condition: dict[str, Any], action: Any = "s3:GetObject", resource: Any = OBJECTS, effect: str = "Allow"
) -> dict[str, Any]:
    return doc({"Sid": "S", "Effect": effect, "Action": action, "Resource": resource, "Condition": condition})


def pitfalls(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.rule == CONDITION_PITFALLS]


def only(findings: list[Finding]) -> Finding:
    found = pitfalls(findings)
    assert len(found) == 1, found
    return found[0]


def test_rule_metadata_and_severity_choice_are_documented() -> None:
    info = RULES[CONDITION_PITFALLS]
    assert info.default_severity == Severity.HIGH
    for words in ("high", "medium", "low", "never lower"):
        assert words in info.description.lower()


# --- ForAllValues ------------------------------------------------------------------------------


def test_for_all_values_on_a_single_valued_key() -> None:
    cond = {"ForAllValues:StringEquals": {"aws:ResourceAccount": "111111111111"}}
    f = only(check_identity_policy(allow(cond)))
    assert f.severity == Severity.MEDIUM and "single-valued" in f.message and "absent" in f.message
    f = only(check_identity_policy(allow(cond, effect="Deny")))
    assert f.severity == Severity.LOW


KEY = "arn:aws:kms:eu-west-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def test_for_all_values_on_a_multi_valued_key_needs_a_null_check() -> None:
    # Decrypt "only with these encryption-context keys" also decrypts ciphertext without any context.
    context = {"ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["project"]}}
    f = only(check_identity_policy(allow(context, "kms:Decrypt", KEY)))
    assert f.severity == Severity.MEDIUM and '"Null"' in f.message
    guarded = {**context, "Null": {"kms:EncryptionContextKeys": "false"}}
    assert pitfalls(check_identity_policy(allow(guarded, "kms:Decrypt", KEY))) == []
    # A Null check on another key does not guard this one.
    other = {**context, "Null": {"aws:ResourceTag/team": "false"}}
    assert pitfalls(check_identity_policy(allow(other, "kms:Decrypt", KEY)))


def test_for_all_values_on_a_key_never_in_the_request_is_always_true() -> None:
    cond = {"ForAllValues:StringEquals": {"aws:RequestedTagKeys": ["team"]}}  # not a global key
    f = only(check_identity_policy(allow(cond)))
    assert f.severity == Severity.HIGH and "always true" in f.message


def test_tag_keys_idiom_without_a_null_check_is_a_note() -> None:
    # "Only these tag keys may be set": a request setting no tags keeps to it; reported low, not blocking.
    tags = {"ForAllValues:StringEquals": {"aws:TagKeys": ["team", "cost-center"]}}
    f = only(check_identity_policy(allow(tags, "s3:PutObjectTagging")))
    assert f.severity == Severity.LOW and '"Null"' in f.message
    guarded = {**tags, "Null": {"aws:TagKeys": "false"}}
    assert pitfalls(check_identity_policy(allow(guarded, "s3:PutObjectTagging"))) == []


def test_for_any_value_on_a_multi_valued_key_is_fine() -> None:
    cond = {"ForAnyValue:StringEquals": {"aws:CalledVia": "athena.amazonaws.com"}}
    assert pitfalls(check_identity_policy(allow(cond))) == []


# --- MFA ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("operator", ["Bool", "BoolIfExists"])
def test_allow_when_mfa_is_false_is_high(operator: str) -> None:
    f = only(check_identity_policy(allow({operator: {"aws:MultiFactorAuthPresent": "false"}})))
    assert f.severity == Severity.HIGH and "without MFA" in f.message


def test_deny_on_mfa_false_without_if_exists_misses_access_keys() -> None:
    deny = allow({"Bool": {"aws:MultiFactorAuthPresent": "false"}}, "*", "*", effect="Deny")
    f = only(check_identity_policy(deny))
    assert f.severity == Severity.HIGH and "BoolIfExists" in f.message
    fixed = allow({"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}, "*", "*", effect="Deny")
    assert pitfalls(check_identity_policy(fixed)) == []
    assert pitfalls(check_identity_policy(allow({"Bool": {"aws:MultiFactorAuthPresent": "true"}}))) == []


# --- keys never in the request -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("effect", "operator", "severity"),
    [
        ("Allow", "StringEquals", Severity.LOW),  # never true: the grant is void
        ("Allow", "StringNotEquals", Severity.HIGH),  # always true: the guard narrows nothing
        ("Allow", "StringEqualsIfExists", Severity.HIGH),
        ("Deny", "StringEquals", Severity.HIGH),  # never true: the guard rail never applies
        ("Deny", "StringNotEquals", Severity.LOW),  # always true: denies everything
    ],
)
@pytest.mark.parametrize("key", ["aws:SourceVpcEndpoint", "s3:NoSuchKey", "kms:ViaService"])
def test_key_never_in_the_request(effect: str, operator: str, severity: Severity, key: str) -> None:
    # aws:SourceVpcEndpoint is a misspelling of aws:SourceVpce; s3:NoSuchKey is not an S3 key;
    # kms:ViaService is a KMS key, never in the request of sqs:SendMessage.
    document = allow(
        {operator: {key: "vpce-1a2b3c4d"}},
        "sqs:SendMessage",
        "arn:aws:sqs:eu-west-1:111111111111:jobs",
        effect,
    )
    f = only(check_identity_policy(document))
    assert f.severity == severity and key in f.message


def test_keys_of_the_actions_service_and_global_keys_are_fine() -> None:
    kms = allow(
        {"StringEquals": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}},
        "kms:Decrypt",
        "arn:aws:kms:eu-west-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    )
    assert pitfalls(check_identity_policy(kms)) == []
    cross = allow({"ArnEquals": {"ec2:SourceInstanceARN": "arn:aws:ec2:eu-west-1:111111111111:instance/i-1"}})
    marketplace = allow(
        {"StringEquals": {"catalog:ChangeType": "AddRevisions"}}, "aws-marketplace:StartChangeSet", "*"
    )
    assert pitfalls(check_identity_policy(marketplace)) == []  # catalog: keys belong to aws-marketplace
    assert pitfalls(check_identity_policy(cross)) == []
    tags = allow({"StringEquals": {"aws:ResourceTag/team": "ml", "aws:PrincipalTag/team": "ml"}})
    assert pitfalls(check_identity_policy(tags)) == []


def test_identity_provider_keys_belong_to_sts() -> None:
    trust = doc(
        {
            "Effect": "Allow",
            "Principal": {"Federated": GITHUB},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {
                    "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
                    "token.actions.githubusercontent.com:sub": "repo:acme/ml:ref:refs/heads/main",
                }
            },
        }
    )
    assert pitfalls(check_trust_policy(trust)) == []
    # The same claim on an S3 grant is never in the request.
    f = only(check_identity_policy(allow({"StringEquals": {"token.actions.githubusercontent.com:sub": "x"}})))
    assert f.severity == Severity.LOW


def test_a_same_service_key_that_does_not_apply_stays_with_the_condition_key_check() -> None:
    # s3:prefix exists but not for s3:GetObject: iam-well-formed-documents reports it, not this rule.
    findings = check_identity_policy(allow({"StringLike": {"s3:prefix": "incoming/*"}}))
    assert pitfalls(findings) == []
    assert any(f.rule == "iam-well-formed-documents" for f in findings)


# --- operator and key type -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "severity"),
    [
        ({"StringEquals": {"aws:SourceIp": "10.0.0.0/8"}}, Severity.LOW),
        ({"StringNotEquals": {"aws:SourceIp": "10.0.0.0/8"}}, Severity.HIGH),
        ({"IpAddress": {"aws:PrincipalArn": "10.0.0.0/8"}}, Severity.LOW),
        ({"NotIpAddress": {"aws:username": "10.0.0.0/8"}}, Severity.HIGH),
        ({"DateGreaterThan": {"aws:SourceVpce": "2026-01-01T00:00:00Z"}}, Severity.LOW),
        ({"NumericLessThan": {"aws:MultiFactorAuthAge": "one hour"}}, Severity.LOW),
        ({"Bool": {"aws:SecureTransport": "yes"}}, Severity.LOW),
        ({"IpAddress": {"aws:SourceIp": "10.0.0.300/8"}}, Severity.LOW),
        ({"Bool": {"s3:TlsVersion": "true"}}, Severity.LOW),  # a Numeric key from the catalog
        ({"StringLike": {"aws:SourceIp": "10.0.*"}}, None),  # no range: text compare, usable
        ({"StringEquals": {"aws:VpcSourceIp": ["10.0.0.1", "10.0.0.0/16"]}}, Severity.LOW),
    ],
)
def test_operator_that_cannot_compare_the_key_type(
    condition: dict[str, Any], severity: Severity | None
) -> None:
    if severity is None:
        assert pitfalls(check_identity_policy(allow(condition))) == []
        return
    f = only(check_identity_policy(allow(condition)))
    assert f.severity == severity


@pytest.mark.parametrize(
    "condition",
    [
        {"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "2001:db8::/32"]}},
        {"StringLike": {"aws:PrincipalArn": "arn:aws:iam::111111111111:role/ml-*"}},
        {"ArnLike": {"aws:SourceArn": "arn:aws:s3:::acme-*"}},
        {"DateLessThan": {"aws:CurrentTime": "2027-01-01T00:00:00Z"}},
        {"NumericLessThan": {"aws:MultiFactorAuthAge": "3600", "s3:TlsVersion": "1.2"}},
        {"Null": {"aws:SourceVpce": "true"}},
        # String operators compare the text of any value: usable, not a mismatch.
        {"StringEquals": {"aws:SecureTransport": "true", "aws:SourceIp": "203.0.113.5"}},
        {"NumericEquals": {"aws:PrincipalAccount": "111111111111"}},
        {"DateGreaterThan": {"aws:CurrentTime": "${aws:TokenIssueTime}"}},  # a policy variable
    ],
)
def test_operators_of_the_right_type_pass(condition: dict[str, Any]) -> None:
    assert pitfalls(check_identity_policy(allow(condition))) == []


# --- principal type versus action ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("principal", "action"),
    [
        ({"AWS": "arn:aws:iam::222222222222:root"}, "sts:AssumeRoleWithSAML"),
        ({"Service": "ec2.amazonaws.com"}, "sts:AssumeRoleWithWebIdentity"),
        ({"Federated": SAML}, "sts:AssumeRole"),
        ({"Federated": SAML}, "sts:AssumeRoleWithWebIdentity"),
    ],
)
def test_principal_type_that_cannot_use_the_action(principal: dict[str, str], action: str) -> None:
    trust = doc({"Effect": "Allow", "Principal": principal, "Action": action})
    f = only(check_trust_policy(trust))
    assert f.severity == Severity.LOW and f.action and f.action.lower() == action.lower()


def test_fitting_principal_types_pass() -> None:
    saml = doc(
        {
            "Effect": "Allow",
            "Principal": {"Federated": SAML},
            "Action": "sts:AssumeRoleWithSAML",
            "Condition": {"StringEquals": {"SAML:aud": "https://signin.aws.amazon.com/saml"}},
        }
    )
    assert pitfalls(check_trust_policy(saml)) == []
    service = doc(
        {
            "Effect": "Allow",
            "Principal": {"Service": "ec2.amazonaws.com"},
            "Action": ["sts:AssumeRole", "sts:TagSession"],
        }
    )
    assert pitfalls(check_trust_policy(service)) == []


# --- identifiers with wildcards in identity policies -----------------------------------------------


def test_wildcard_in_an_account_id_narrows_nothing() -> None:
    f = only(check_identity_policy(allow({"StringLike": {"aws:ResourceAccount": "11*"}})))
    assert f.severity == Severity.HIGH
    # StringEquals compares "*" literally: nothing to report.
    assert pitfalls(check_identity_policy(allow({"StringEquals": {"aws:ResourceAccount": "11*"}}))) == []


# --- never lowering a severity ---------------------------------------------------------------------


def _severity_of(findings: list[Finding], rule: str) -> Severity:
    return max(f.severity for f in findings if f.rule == rule)


def test_a_pitfall_condition_does_not_lower_sensitive_access() -> None:
    base = {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}
    real = check_identity_policy(
        doc({**base, "Condition": {"StringEquals": {"aws:ResourceAccount": "111111111111"}}})
    )
    assert _severity_of(real, "iam-no-unconstrained-sensitive-access") == Severity.MEDIUM
    for pitfall in (
        {"StringLike": {"aws:ResourceAccount": "1*"}},
        {"ForAllValues:StringEquals": {"aws:ResourceAccount": "111111111111"}},
        {"IpAddress": {"aws:ResourceAccount": "10.0.0.0/8"}},
    ):
        found = check_identity_policy(doc({**base, "Condition": pitfall}))
        assert _severity_of(found, "iam-no-unconstrained-sensitive-access") == Severity.HIGH, pitfall


def test_a_pitfall_condition_does_not_lower_public_access() -> None:
    public = {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": OBJECTS}
    # A concrete org id pins "*" to the organization; a wildcard one narrows nothing.
    org = check_resource_policy(
        doc({**public, "Condition": {"StringLike": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}})
    )
    assert _severity_of(org, "iam-trust-policy") < Severity.CRITICAL
    vacuous = check_resource_policy(
        doc({**public, "Condition": {"StringLike": {"aws:PrincipalOrgID": "o-*"}}})
    )
    f = max((f for f in vacuous if f.rule == "iam-trust-policy"), key=lambda f: f.severity)
    assert f.severity == Severity.CRITICAL and "o-*" in f.message


_OPERATORS = st.sampled_from(
    [
        "StringEquals",
        "StringLike",
        "ForAllValues:StringEquals",
        "ForAnyValue:StringLike",
        "ArnLike",
        "IpAddress",
        "Bool",
        "NumericLessThan",
        "DateGreaterThan",
        "StringEqualsIfExists",
    ]
)
_KEYS = st.sampled_from(
    [
        "aws:PrincipalOrgID",
        "aws:SourceIp",
        "aws:ResourceAccount",
        "aws:MultiFactorAuthPresent",
        "aws:TagKeys",
        "aws:SourceArn",
        "aws:CurrentTime",
        "aws:NoSuchKey",
        "s3:prefix",
        "iam:PassedToService",
    ]
)
_VALUES = st.lists(
    st.sampled_from(
        [
            "o-*",
            "10.0.0.0/8",
            "false",
            "true",
            "111111111111",
            "1*",
            "3600",
            "2026-01-01T00:00:00Z",
            "arn:aws:s3:::b",
            "sagemaker.amazonaws.com",
        ]
    ),
    min_size=1,
    max_size=3,
)


@settings(max_examples=300, deadline=None)
@given(_OPERATORS, _KEYS, _VALUES)
def test_no_pitfall_condition_ever_counts_as_narrowing(operator: str, key: str, values: list[str]) -> None:
    cond = Condition(operator, key, tuple(values))
    if condition_pitfall(cond) is not None:
        assert not condition_narrows(cond, lambda _k: True)


def test_absent_key_semantics() -> None:
    assert absent_result(Condition("StringNotEquals", "aws:SourceVpce", ("v",)))
    assert absent_result(Condition("StringEqualsIfExists", "aws:SourceVpce", ("v",)))
    assert absent_result(Condition("ForAllValues:StringEquals", "aws:TagKeys", ("v",)))
    assert not absent_result(Condition("ForAnyValue:StringNotEquals", "aws:TagKeys", ("v",)))
    assert not absent_result(Condition("StringEquals", "aws:SourceVpce", ("v",)))
    assert absent_result(Condition("Null", "aws:SourceVpce", ("true",)))
    assert not absent_result(Condition("Null", "aws:SourceVpce", ("false",)))


# --- the hand-kept global-key list against the catalog and AWS's own policies --------------------------


def test_global_keys_agree_with_the_catalog() -> None:
    """Every aws: key the catalog lists for some service is in GLOBAL_KEYS with the same type."""
    data = __import__("least_privilege.catalog", fromlist=["_DATA_DIR"])._DATA_DIR / "conditionKeys"
    seen = 0
    for service in sorted(all_services()):
        path = data / f"{service}.json"
        if not path.exists():
            continue
        for entry in json.loads(path.read_text(encoding="utf-8")).values():
            key = entry["key"]
            if not key.lower().startswith("aws:"):
                continue
            seen += 1
            concrete = key.replace("${TagKey}", "team")
            found = key_type(concrete)
            assert found is not None, key
            assert ("ArrayOf" if found.multivalued else "") + found.type == entry["type"], key
    assert seen > 0


def test_no_condition_in_aws_managed_policies_uses_an_unknown_global_key() -> None:
    snapshot = json.loads((ROOT / "policy-pack/least_privilege/data/aws-managed-policies.json").read_text())
    unknown = set()
    for entry in snapshot["policies"].values():
        statements = entry["document"].get("Statement", [])
        for statement in statements if isinstance(statements, list) else [statements]:
            for block in (statement.get("Condition") or {}).values():
                for key in block:
                    if key.lower().startswith("aws:") and not key_is_known(key):
                        unknown.add(key)
    assert unknown == set()
    assert all(k == k.lower() and k.startswith("aws:") for k in GLOBAL_KEYS)


@pytest.mark.parametrize("key", ["ec2:osuser", "iot:jobid", "identitystore:GroupId", "iam:ResourceTag/team"])
def test_keys_another_service_defines_are_known(key: str) -> None:
    # ec2:osuser is listed by ec2-instance-connect, not by ec2: known all the same.
    assert key_is_known(key) is True
