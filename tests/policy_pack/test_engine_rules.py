"""Identity-policy rules: each with positive and negative cases, severities and message content."""

from __future__ import annotations

from typing import Any

import pytest
from least_privilege.analysis import DEFAULT_SETTINGS, Settings, check_identity_policy, settings_from_config
from least_privilege.findings import RULES, Finding, Severity

RAW = "arn:aws:s3:::acme-ml-raw-dev"
KEY = "arn:aws:kms:eu-west-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action: Any, resource: Any, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def of(rule: str, findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.rule == rule]


LEAST_PRIVILEGE = doc(
    {**allow(["s3:GetObject", "s3:PutObject"], f"{RAW}/incoming/*"), "Sid": "RawObjects"},
    {
        **allow("s3:ListBucket", RAW),
        "Sid": "RawList",
        "Condition": {"StringLike": {"s3:prefix": ["incoming/*"]}},
    },
    {**allow(["kms:Decrypt", "kms:GenerateDataKey"], KEY), "Sid": "Key"},
)


def test_least_privilege_document_has_no_findings() -> None:
    assert check_identity_policy(LEAST_PRIVILEGE) == []


def test_every_rule_has_metadata() -> None:
    assert len(RULES) == 15
    for rule_id, info in RULES.items():
        assert info.id == rule_id and info.title and info.description and info.remediation
        assert isinstance(info.default_severity, Severity)
    assert str(Severity.HIGH) == "high" and Severity.parse("Critical") is Severity.CRITICAL
    with pytest.raises(ValueError):
        Severity.parse("urgent")


# --- wildcard resources -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "resource",
    ["*", "arn:aws:s3:::*", "arn:aws:s3:::*/*", "*/*", "arn:aws:s3:::acme-*/incoming/*", "arn:*:s3:::b/*"],
)
def test_wildcard_resources_flag_effectively_star(resource: str) -> None:
    findings = of("iam-no-wildcard-resources", check_identity_policy(doc(allow("s3:GetObject", resource))))
    assert len(findings) == 1
    assert findings[0].severity == Severity.HIGH
    assert findings[0].action == "s3:GetObject" and findings[0].resource == resource
    assert "s3:GetObject" in findings[0].message and "arn:aws:s3:::" in findings[0].message


def test_wildcard_resource_iam_role_any_account() -> None:
    findings = of(
        "iam-no-wildcard-resources", check_identity_policy(doc(allow("iam:GetRole", "arn:aws:iam::*:role/*")))
    )
    assert findings and "account" in findings[0].message


def test_trailing_object_key_wildcard_is_scoped() -> None:
    assert (
        of(
            "iam-no-wildcard-resources",
            check_identity_policy(doc(allow("s3:GetObject", f"{RAW}/incoming/*"))),
        )
        == []
    )


def test_star_on_star_is_critical() -> None:
    findings = check_identity_policy(doc(allow("*", "*")))
    assert of("iam-no-wildcard-resources", findings)[0].severity == Severity.CRITICAL
    assert of("iam-no-wildcard-actions", findings)[0].severity == Severity.CRITICAL


@pytest.mark.parametrize(
    "action", ["s3:ListAllMyBuckets", "comprehend:DetectEntities", "ec2:DescribeInstances"]
)
def test_star_only_actions_are_low_by_default_and_forbiddable(action: str) -> None:
    findings = of("iam-no-wildcard-resources", check_identity_policy(doc(allow(action, "*"))))
    assert [f.severity for f in findings] == [Severity.LOW]
    assert action in findings[0].message
    strict = Settings(forbid_star_only_actions=True)
    findings = of("iam-no-wildcard-resources", check_identity_policy(doc(allow(action, "*")), strict))
    assert [f.severity for f in findings] == [Severity.MEDIUM]
    assert "forbids" in findings[0].message


def test_mixed_wildcard_pattern_reports_scopable_part() -> None:
    findings = of("iam-no-wildcard-resources", check_identity_policy(doc(allow("s3:List*", "*"))))
    severities = sorted(f.severity for f in findings)
    assert severities == [Severity.LOW, Severity.HIGH]  # ListAllMyBuckets is star-only, ListBucket is not


# --- wildcard actions ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "severity"),
    [
        ("s3:*", Severity.HIGH),
        ("*:Get*", Severity.HIGH),
        ("s3:Put*", Severity.HIGH),
        ("secretsmanager:Get*", Severity.HIGH),  # expands to a credential action
        ("s3:GetObjectT*", Severity.MEDIUM),  # Read only
        ("s3:ListB*", Severity.LOW),  # List only
    ],
)
def test_wildcard_actions_severity_follows_expansion(action: str, severity: Severity) -> None:
    findings = of("iam-no-wildcard-actions", check_identity_policy(doc(allow(action, f"{RAW}/*"))))
    assert [f.severity for f in findings] == [severity]
    assert action in findings[0].message and "expands to" in findings[0].message


def test_star_action_on_scoped_resource_is_high() -> None:
    findings = of("iam-no-wildcard-actions", check_identity_policy(doc(allow("*", f"{RAW}/*"))))
    assert [f.severity for f in findings] == [Severity.HIGH]


def test_explicit_actions_are_not_wildcards() -> None:
    assert of("iam-no-wildcard-actions", check_identity_policy(LEAST_PRIVILEGE)) == []


def test_deny_with_wildcards_is_fine() -> None:
    findings = check_identity_policy(
        doc(
            allow("s3:GetObject", f"{RAW}/*"),
            {
                "Effect": "Deny",
                "Action": "*",
                "Resource": "*",
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
        )
    )
    assert findings == []


# --- action/resource mismatch -------------------------------------------------------------------


def test_list_bucket_on_object_arn_names_the_fix() -> None:
    findings = check_identity_policy(
        doc({**allow("s3:ListBucket", "arn:aws:s3:::raw-data/*"), "Sid": "List"})
    )
    (f,) = of("iam-action-resource-match", findings)
    assert f.severity == Severity.MEDIUM
    assert f.message.startswith(
        "List: s3:ListBucket applies to the bucket: use arn:aws:s3:::raw-data, not arn:aws:s3:::raw-data/*"
    )
    assert (f.statement, f.action, f.resource) == ("List", "s3:ListBucket", "arn:aws:s3:::raw-data/*")


def test_get_object_on_bucket_arn() -> None:
    (f,) = of("iam-action-resource-match", check_identity_policy(doc(allow("s3:GetObject", RAW))))
    assert f"use {RAW}/*" in f.message


def test_any_resource_fitting_is_enough() -> None:
    findings = check_identity_policy(doc(allow(["s3:GetObject", "s3:ListBucket"], [RAW, f"{RAW}/*"])))
    assert of("iam-action-resource-match", findings) == []


def test_star_only_action_on_an_arn_grants_nothing() -> None:
    (f,) = of("iam-action-resource-match", check_identity_policy(doc(allow("s3:ListAllMyBuckets", RAW))))
    assert 'only be granted on Resource "*"' in f.message


def test_cross_service_resource_mismatch() -> None:
    (f,) = of("iam-action-resource-match", check_identity_policy(doc(allow("kms:Decrypt", f"{RAW}/*"))))
    assert "kms:Decrypt" in f.message and "key" in f.message


def test_wildcard_pattern_mismatch_only_when_nothing_fits() -> None:
    findings = check_identity_policy(doc(allow("s3:ListAllMy*", f"{RAW}/*")))
    assert of("iam-action-resource-match", findings)
    findings = check_identity_policy(doc(allow("s3:Get*", f"{RAW}/*")))
    assert of("iam-action-resource-match", findings) == []


# --- Allow with Not* ----------------------------------------------------------------------------


def test_allow_not_action_is_reported_and_analysed_as_complement() -> None:
    findings = check_identity_policy(doc({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}))
    assert of("iam-no-allow-with-not-elements", findings)[0].severity == Severity.HIGH
    # the complement of iam:* still contains escalation paths (not analysed "as if" it were Action)
    escalation = of("iam-no-privilege-escalation", findings)
    assert escalation and escalation[0].severity == Severity.CRITICAL
    assert "iam:PassRole" not in escalation[0].message
    assert of("iam-no-unconstrained-sensitive-access", findings)


def test_allow_not_resource_is_reported() -> None:
    findings = check_identity_policy(
        doc({"Effect": "Allow", "Action": "s3:GetObject", "NotResource": f"{RAW}/secret/*"})
    )
    assert of("iam-no-allow-with-not-elements", findings)
    assert of("iam-no-wildcard-resources", findings)


def test_deny_with_not_elements_is_a_guard_rail() -> None:
    findings = check_identity_policy(
        doc(
            allow("s3:GetObject", f"{RAW}/*"),
            {"Effect": "Deny", "NotAction": "s3:GetObject", "Resource": "*"},
        )
    )
    assert findings == []


# --- privilege escalation -----------------------------------------------------------------------


def test_pass_role_on_star_with_run_instances_is_critical() -> None:
    findings = of(
        "iam-no-privilege-escalation",
        check_identity_policy(doc(allow(["iam:PassRole", "ec2:RunInstances"], "*"))),
    )
    assert findings and findings[0].severity == Severity.CRITICAL
    assert "iam:PassRole" in findings[0].message


def test_escalation_combines_statements() -> None:
    findings = of(
        "iam-no-privilege-escalation",
        check_identity_policy(
            doc(
                {**allow("iam:PassRole", "*"), "Sid": "Pass"},
                {**allow("lambda:CreateFunction", "*"), "Sid": "Create"},
                {**allow("lambda:InvokeFunction", "*"), "Sid": "Invoke"},
            )
        ),
    )
    assert any("Create" in f.message and "Pass" in f.message for f in findings)


def test_escalation_on_scoped_resource_where_scope_does_not_help() -> None:
    policy = "arn:aws:iam::111111111111:policy/app"
    findings = of(
        "iam-no-privilege-escalation", check_identity_policy(doc(allow("iam:CreatePolicyVersion", policy)))
    )
    assert [f.severity for f in findings] == [Severity.HIGH]
    assert "scope does not bound" in findings[0].message


def test_pass_role_scoped_to_a_named_role_is_bounded() -> None:
    role = "arn:aws:iam::111111111111:role/training-job"
    findings = check_identity_policy(
        doc(
            allow(
                "iam:PassRole",
                role,
                Condition={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            ),
            allow("sagemaker:CreateTrainingJob", "arn:aws:sagemaker:eu-west-1:111111111111:training-job/*"),
        )
    )
    assert of("iam-no-privilege-escalation", findings) == []


def test_unconditional_deny_removes_escalation() -> None:
    findings = check_identity_policy(
        doc(
            allow(["iam:PassRole", "ec2:RunInstances"], "*"),
            {"Effect": "Deny", "Action": "iam:PassRole", "Resource": "*"},
        )
    )
    assert of("iam-no-privilege-escalation", findings) == []


def test_escalation_condition_lowers_but_never_hides() -> None:
    findings = of(
        "iam-no-privilege-escalation",
        check_identity_policy(
            doc(
                allow(
                    ["iam:PassRole", "ec2:RunInstances"],
                    "*",
                    Condition={"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}},
                )
            )
        ),
    )
    assert findings and findings[0].severity == Severity.HIGH
    assert "iam:PassedToService" in findings[0].message


def test_a_condition_on_one_statement_does_not_lower_another_unconditioned_one() -> None:
    """`*` on `*` stays critical even when another statement grants iam:PassRole with a condition."""
    passed = {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}
    findings = of(
        "iam-no-privilege-escalation",
        check_identity_policy(doc(allow("*", "*"), allow("iam:PassRole", "*", Condition=passed))),
    )
    assert findings and max(f.severity for f in findings) == Severity.CRITICAL


def test_admin_groups_escalation_methods() -> None:
    findings = of("iam-no-privilege-escalation", check_identity_policy(doc(allow("*", "*"))))
    assert len(findings) == 1 and findings[0].severity == Severity.CRITICAL
    assert "privilege-escalation methods" in findings[0].message


# --- sensitive access ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "resource"),
    [
        ("secretsmanager:GetSecretValue", "*"),
        ("ssm:GetParameter", "*"),
        ("kms:Decrypt", "*"),
        ("s3:GetObject", "*"),
        ("s3:GetObject", "arn:aws:s3:::*/*"),
        ("ssm:GetParameters", "arn:aws:ssm:eu-west-1:111111111111:parameter/*"),
    ],
)
def test_sensitive_access_without_constraint(action: str, resource: str) -> None:
    (f,) = of("iam-no-unconstrained-sensitive-access", check_identity_policy(doc(allow(action, resource))))
    assert f.severity == Severity.HIGH and f.action == action and f.resource == resource


def test_sensitive_access_wildcard_pattern_is_expanded() -> None:
    findings = of(
        "iam-no-unconstrained-sensitive-access", check_identity_policy(doc(allow("ssm:GetParameter*", "*")))
    )
    assert {f.action for f in findings} >= {"ssm:GetParameter", "ssm:GetParameters"}


def test_cross_service_get_star_is_expanded_for_sensitive_access() -> None:
    (f,) = of("iam-no-unconstrained-sensitive-access", check_identity_policy(doc(allow("*:Get*", "*"))))
    count = int(f.message.split("grants ", 1)[1].split(" ", 1)[0])
    assert count >= 20 and f.severity == Severity.HIGH and " more" in f.message


def test_narrowing_condition_lowers_severity_but_never_hides() -> None:
    narrowed = allow(
        "kms:Decrypt", "*", Condition={"StringEquals": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}}
    )
    (f,) = of("iam-no-unconstrained-sensitive-access", check_identity_policy(doc(narrowed)))
    assert f.severity == Severity.MEDIUM and "kms:ViaService" in f.message


@pytest.mark.parametrize(
    "condition",
    [
        {"StringLike": {"kms:ViaService": "*"}},  # matches anything
        {"StringEqualsIfExists": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}},  # absent key passes
        {"StringNotEquals": {"kms:ViaService": "ec2.eu-west-1.amazonaws.com"}},  # negative match
        {"Bool": {"aws:SecureTransport": "true"}},  # does not narrow which data
    ],
)
def test_conditions_that_do_not_narrow_keep_high(condition: dict[str, Any]) -> None:
    (f,) = of(
        "iam-no-unconstrained-sensitive-access",
        check_identity_policy(doc(allow("kms:Decrypt", "*", Condition=condition))),
    )
    assert f.severity == Severity.HIGH


def test_scoped_sensitive_access_is_fine() -> None:
    findings = check_identity_policy(
        doc(
            allow(
                "secretsmanager:GetSecretValue",
                "arn:aws:secretsmanager:eu-west-1:111111111111:secret:app-AbCdEf",
            )
        )
    )
    assert of("iam-no-unconstrained-sensitive-access", findings) == []


# --- unknown actions ----------------------------------------------------------------------------


def test_unknown_actions_and_suggestions() -> None:
    findings = of(
        "iam-known-actions",
        check_identity_policy(
            doc(allow(["s3:GetObjekt", "s4:GetObject", "s3:Gett*", "S3:getobject"], f"{RAW}/*"))
        ),
    )
    assert [f.action for f in findings] == ["s3:GetObjekt", "s4:GetObject", "s3:Gett*"]
    assert all(f.severity == Severity.MEDIUM for f in findings)
    assert "did you mean s3:GetObject" in findings[0].message


def test_unknown_action_in_deny_denies_nothing() -> None:
    findings = of(
        "iam-known-actions",
        check_identity_policy(
            doc(
                allow("s3:GetObject", f"{RAW}/*"),
                {"Effect": "Deny", "Action": "s3:DeleteObjekt", "Resource": "*"},
            )
        ),
    )
    assert findings and "denies nothing" in findings[0].message


# --- settings -----------------------------------------------------------------------------------


def test_severity_overrides_apply_to_the_rule() -> None:
    settings = settings_from_config({"severityOverrides": {"iam-known-actions": "high"}})
    findings = check_identity_policy(doc(allow("s3:GetObjekt", f"{RAW}/*")), settings)
    assert [f.severity for f in findings] == [Severity.HIGH]
    assert DEFAULT_SETTINGS.severity_overrides == {}


def test_settings_from_config_reads_camel_and_snake_case() -> None:
    s = settings_from_config(
        {
            "forbidStarOnlyActions": True,
            "allowed_service_principals": ["EC2.amazonaws.com"],
            "deniedManagedPolicies": ["ReadOnlyAccess"],
            "accountId": "111111111111",
            "ignored": 1,
        }
    )
    assert s.forbid_star_only_actions and s.allowed_service_principals == frozenset({"ec2.amazonaws.com"})
    assert s.managed_deny == frozenset({"ReadOnlyAccess"}) and s.account_id == "111111111111"


def test_findings_serialise() -> None:
    (f,) = check_identity_policy(doc(allow("s3:GetObjekt", f"{RAW}/*")))
    d = f.to_dict()
    assert d["rule"] == "iam-known-actions" and d["severity"] == "medium"
    assert set(d) == {"rule", "severity", "message", "statement", "action", "resource"}


def test_pass_role_alone_on_star_is_critical_escalation() -> None:
    findings = of("iam-no-privilege-escalation", check_identity_policy(doc(allow("iam:PassRole", "*"))))
    assert [f.severity for f in findings] == [Severity.CRITICAL]
    assert "iam:PassRole" in findings[0].message and findings[0].resource == "*"
    narrowed = allow(
        "iam:PassRole", "*", Condition={"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}
    )
    findings = of("iam-no-privilege-escalation", check_identity_policy(doc(narrowed)))
    assert [f.severity for f in findings] == [Severity.HIGH]


def test_pass_role_on_every_role_of_the_account_counts_as_star() -> None:
    findings = of(
        "iam-no-privilege-escalation",
        check_identity_policy(doc(allow("iam:PassRole", "arn:aws:iam::111111111111:role/*"))),
    )
    assert [f.severity for f in findings] == [Severity.CRITICAL]
