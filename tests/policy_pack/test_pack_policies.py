"""Per-policy tests of the CrossGuard wrapper with runtime-faithful arguments.

Properties go through exactly what pulumi_policy's servicer does with an AnalyzeRequest
(protobuf Struct -> ``json_format.MessageToDict`` -> ``deserialize_properties`` ->
``unknown_checking_proxy``), so validators see the same proxies, and the same UnknownValueError on
unknowns, as under ``pulumi preview``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # pack_helpers, next to this file

import adapters
import policies
from iam_pack import engine
from least_privilege.findings import BUDGET
from pack_helpers import (
    ACCOUNT,
    UNKNOWN_STRING,
    link,
    policy_named,
    run_resource,
    run_stack,
    stack_resource,
    urn_of,
    wire_props,
)
from pulumi_policy import (
    PolicyResource,
    ResourceValidationPolicy,
    StackValidationPolicy,
)


def doc(*statements: Mapping[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action: Any, resource: Any, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def ec2_trust() -> str:
    return doc({"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"})


SCOPED = doc(
    allow(["s3:GetObject", "s3:PutObject"], "arn:aws:s3:::acme-raw/incoming/*"),
    allow("s3:ListBucket", "arn:aws:s3:::acme-raw"),
)

# (policy, resource type, violating props, clean props, config)
CASES: list[tuple[str, str, dict[str, Any], dict[str, Any], dict[str, Any]]] = [
    (
        "iam-no-wildcard-resources",
        "aws:iam/policy:Policy",
        {"policy": doc(allow("s3:GetObject", "arn:aws:s3:::*/*"))},
        {"policy": SCOPED},
        {},
    ),
    (
        "iam-no-wildcard-actions",
        "aws:iam/rolePolicy:RolePolicy",
        {"role": "r", "policy": doc(allow("s3:*", "arn:aws:s3:::acme-raw/*"))},
        {"role": "r", "policy": SCOPED},
        {},
    ),
    (
        "iam-action-resource-match",
        "aws:iam/policy:Policy",
        {"policy": doc(allow("s3:ListBucket", "arn:aws:s3:::acme-raw/*"))},
        {"policy": SCOPED},
        {},
    ),
    (
        "iam-no-allow-with-not-elements",
        "aws:iam/userPolicy:UserPolicy",
        {"user": "u", "policy": doc({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})},
        {"user": "u", "policy": SCOPED},
        {},
    ),
    (
        "iam-no-privilege-escalation",
        "aws:iam/groupPolicy:GroupPolicy",
        {"group": "g", "policy": doc(allow("iam:CreatePolicyVersion", f"arn:aws:iam::{ACCOUNT}:policy/p"))},
        {"group": "g", "policy": SCOPED},
        {},
    ),
    (
        "iam-no-unconstrained-sensitive-access",
        "aws:iam/policy:Policy",
        {"policy": doc(allow("secretsmanager:GetSecretValue", "*"))},
        {
            "policy": doc(
                allow(
                    "secretsmanager:GetSecretValue",
                    f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:ml/api-key-AbCdEf",
                )
            )
        },
        {},
    ),
    (
        "iam-known-actions",
        "aws:iam/policy:Policy",
        {"policy": doc(allow("s3:GetObjectt", "arn:aws:s3:::acme-raw/*"))},
        {"policy": SCOPED},
        {},
    ),
    (
        "iam-managed-policy-attachments",
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        {"role": "r", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"},
        {"role": "r", "policyArn": f"arn:aws:iam::{ACCOUNT}:policy/ingest-worker"},
        {},
    ),
    (
        "iam-trust-policy",
        "aws:iam/role:Role",
        {"assumeRolePolicy": doc({"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"})},
        {"assumeRolePolicy": ec2_trust()},
        {},
    ),
    (
        "iam-well-formed-documents",
        "aws:iam/policy:Policy",
        {"policy": '{"Version": "2012-10-17", "Statement": [ {"Effect": "Allow",'},
        {"policy": SCOPED},
        {},
    ),
    (
        "iam-preview-verifiable",
        "aws:iam/policy:Policy",
        {"policy": UNKNOWN_STRING},
        {"policy": SCOPED},
        {},
    ),
    (
        "iam-preview-verifiable",
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        {"role": "r", "policyArn": UNKNOWN_STRING},
        {"role": "r", "policyArn": f"arn:aws:iam::{ACCOUNT}:policy/ingest-worker"},
        {"knownExternal": {"roles": ["r"], "policies": ["ingest-worker"]}},
    ),
    (
        "iam-no-wildcard-resources",
        "aws:s3/bucketPolicy:BucketPolicy",
        {
            "bucket": "acme-raw",
            "policy": doc(
                allow("s3:GetObject", "*", Principal={"AWS": f"arn:aws:iam::{ACCOUNT}:role/ingest"})
            ),
        },
        {
            "bucket": "acme-raw",
            "policy": doc(
                allow(
                    "s3:GetObject",
                    "arn:aws:s3:::acme-raw/incoming/*",
                    Principal={"AWS": f"arn:aws:iam::{ACCOUNT}:role/ingest"},
                )
            ),
        },
        {},
    ),
]


@pytest.mark.parametrize(
    ("name", "type_", "bad", "good", "config"),
    CASES,
    ids=[f"{c[0]}:{c[1].rsplit(':', 1)[-1]}" for c in CASES],
)
def test_rule_reports_violation_and_passes_clean_resource(
    name: str, type_: str, bad: dict[str, Any], good: dict[str, Any], config: dict[str, Any]
) -> None:
    violations = run_resource(name, type_, bad, config)
    assert violations, f"{name} missed {bad}"
    assert all(m.startswith("[") for m in violations)
    assert not any("internal error" in m for m in violations), violations
    assert run_resource(name, type_, good, config) == []


def test_every_engine_rule_is_a_policy_with_metadata() -> None:
    from least_privilege.findings import RULES

    assert set(RULES) <= set(policies.POLICY_NAMES)
    for policy in policies.ALL_POLICIES:
        assert policy.description
        assert policy.remediation_steps
        assert policy.severity is not None
        assert policy.config_schema is not None or policy.name == policies.INFORMATIONAL
    budget = policy_named(BUDGET)
    assert isinstance(budget, StackValidationPolicy)


def test_severity_is_in_the_message_and_overridable() -> None:
    bad = {"policy": doc(allow("s3:GetObject", "arn:aws:s3:::*/*"))}
    default = run_resource("iam-no-wildcard-resources", "aws:iam/policy:Policy", bad)
    assert any(m.startswith(("[high]", "[critical]")) for m in default), default
    overridden = run_resource(
        "iam-no-wildcard-resources", "aws:iam/policy:Policy", bad, {"severityOverride": "critical"}
    )
    assert overridden and all(m.startswith("[critical]") for m in overridden)


def test_star_only_actions_are_informational_unless_forbidden() -> None:
    props = {"policy": doc(allow("s3:ListAllMyBuckets", "*"))}
    assert run_resource("iam-no-wildcard-resources", "aws:iam/policy:Policy", props) == []
    # The informational policy (advisory, runs last) lists what the rule policy set aside.
    notices = run_resource(policies.INFORMATIONAL, "aws:iam/policy:Policy", props)
    assert any("s3:ListAllMyBuckets" in m and "[low]" in m for m in notices), notices
    forbidden = run_resource(
        "iam-no-wildcard-resources", "aws:iam/policy:Policy", props, {"forbidStarOnlyActions": True}
    )
    assert any("s3:ListAllMyBuckets" in m for m in forbidden), forbidden


def test_trust_policy_service_principal_allow_list_comes_from_config() -> None:
    glue = {
        "assumeRolePolicy": doc(
            {"Effect": "Allow", "Principal": {"Service": "glue.amazonaws.com"}, "Action": "sts:AssumeRole"}
        )
    }
    assert run_resource("iam-trust-policy", "aws:iam/role:Role", glue, {})
    assert (
        run_resource(
            "iam-trust-policy",
            "aws:iam/role:Role",
            glue,
            {"allowedServicePrincipals": ["glue.amazonaws.com"]},
        )
        == []
    )


def test_managed_policy_lists_and_role_managed_arns() -> None:
    role = {"assumeRolePolicy": ec2_trust(), "managedPolicyArns": ["arn:aws:iam::aws:policy/ReadOnlyAccess"]}
    assert run_resource("iam-managed-policy-attachments", "aws:iam/role:Role", role)
    denied = {
        "policyArn": "arn:aws:iam::aws:policy/AmazonSageMakerReadOnly",
        "roles": ["r"],
        "name": "att",
    }
    config = {"deniedManagedPolicies": ["arn:aws:iam::aws:policy/AmazonSageMakerReadOnly"]}
    assert run_resource(
        "iam-managed-policy-attachments", "aws:iam/policyAttachment:PolicyAttachment", denied, config
    )


def test_role_inline_policies_are_checked() -> None:
    role = {
        "assumeRolePolicy": ec2_trust(),
        "inlinePolicies": [{"name": "inline", "policy": doc(allow("s3:*", "*"))}],
    }
    messages = run_resource("iam-no-wildcard-actions", "aws:iam/role:Role", role)
    assert any("inlinePolicies[0]" in m for m in messages), messages


def test_unknowns_never_escape_as_unknown_value_error() -> None:
    """Every policy on every partly-unknown resource returns normally (no advisory downgrade)."""
    role = {
        "assumeRolePolicy": UNKNOWN_STRING,
        "name": "r",
        "inlinePolicies": [
            {"name": "known", "policy": doc(allow("s3:*", "*"))},
            {"name": "unknown", "policy": UNKNOWN_STRING},
        ],
        "managedPolicyArns": [UNKNOWN_STRING, "arn:aws:iam::aws:policy/AdministratorAccess"],
    }
    for policy in policies.ALL_POLICIES:
        run_resource(policy.name, "aws:iam/role:Role", role)  # would raise UnknownValueError
    # The known parts are still checked ...
    assert run_resource("iam-no-wildcard-actions", "aws:iam/role:Role", role)
    assert run_resource("iam-managed-policy-attachments", "aws:iam/role:Role", role)
    # ... and each unknown part is a preview-verifiability violation, named by its property.
    unverifiable = run_resource("iam-preview-verifiable", "aws:iam/role:Role", role)
    joined = "\n".join(unverifiable)
    assert "assumeRolePolicy" in joined
    assert "inlinePolicies[1]" in joined
    assert "managedPolicyArns[0]" in joined
    assert "inlinePolicies[0]" not in joined


def test_whole_unknown_lists_are_unverifiable() -> None:
    role = {"assumeRolePolicy": ec2_trust(), "managedPolicyArns": UNKNOWN_STRING}
    assert run_resource("iam-preview-verifiable", "aws:iam/role:Role", role)


def test_to_plain_keeps_known_siblings_of_unknowns() -> None:
    from least_privilege import UNKNOWN

    plain = policies.to_plain(wire_props({"a": [1, UNKNOWN_STRING, {"b": UNKNOWN_STRING, "c": "x"}]}))
    assert plain == {"a": [1.0, UNKNOWN, {"b": UNKNOWN, "c": "x"}]}


def test_engine_exception_becomes_a_violation(monkeypatch: pytest.MonkeyPatch) -> None:
    from least_privilege import analysis

    def boom(*_a: Any, **_k: Any) -> list[Any]:
        raise RuntimeError("engine exploded")

    monkeypatch.setattr(analysis, "check_identity_policy", boom)
    engine.clear_cache()
    props = {"policy": doc(allow("s3:GetObject", "arn:aws:s3:::acme-raw/x/*"))}
    messages = run_resource("iam-known-actions", "aws:iam/policy:Policy", props)
    engine.clear_cache()
    assert len(messages) == 1
    assert "internal error" in messages[0] and "engine exploded" in messages[0]


def test_unrelated_resources_are_ignored() -> None:
    for policy in policies.ALL_POLICIES:
        if isinstance(policy, ResourceValidationPolicy):
            assert (
                run_resource(policy.name, "aws:s3/bucketObject:BucketObject", {"key": UNKNOWN_STRING}) == []
            )


# ---------------------------------------------------------------------------------------------------
# Stack policy: effective permissions budget.


ROLE_T = "aws:iam/role:Role"
POLICY_T = "aws:iam/policy:Policy"
RPA_T = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"


def role_stack(policy_doc: str, attachment_arn: str, prop_deps: bool) -> list[PolicyResource]:
    role = stack_resource(ROLE_T, "worker", {"name": "worker", "assumeRolePolicy": ec2_trust()})
    pol = stack_resource(
        POLICY_T, "worker-policy", {"name": "worker-policy", "path": "/", "policy": policy_doc}
    )
    att = stack_resource(
        RPA_T,
        "worker-attach",
        {"role": "worker", "policyArn": attachment_arn},
        {"role": [role[0].urn], "policyArn": [pol[0].urn]} if prop_deps else None,
    )
    return link([role, pol, att])


BUDGET_CONFIG = {"allowedServices": ["s3", "kms"], "forbidWriteOnStar": True}


def test_budget_links_unknown_arn_through_property_dependencies() -> None:
    over = doc(allow("ec2:RunInstances", "*"), allow("s3:GetObject", "arn:aws:s3:::acme-raw/*"))
    violations = run_stack(role_stack(over, UNKNOWN_STRING, prop_deps=True), BUDGET_CONFIG)
    assert violations, "ec2 is outside the budget"
    assert all(urn == urn_of(ROLE_T, "worker") for _, urn in violations)
    assert any("ec2" in m for m, _ in violations)
    assert not any("internal error" in m for m, _ in violations)


def test_budget_links_known_arn_by_policy_name() -> None:
    over = doc(allow("sagemaker:CreateTrainingJob", "*"))
    arn = f"arn:aws:iam::{ACCOUNT}:policy/worker-policy"
    assert run_stack(role_stack(over, arn, prop_deps=False), BUDGET_CONFIG)


def test_budget_within_limits_passes() -> None:
    arn = f"arn:aws:iam::{ACCOUNT}:policy/worker-policy"
    assert run_stack(role_stack(SCOPED, arn, prop_deps=False), BUDGET_CONFIG) == []
    assert run_stack(role_stack(SCOPED, UNKNOWN_STRING, prop_deps=True), BUDGET_CONFIG) == []


def test_budget_counts_aws_managed_and_inline_policies() -> None:
    role = stack_resource(
        ROLE_T,
        "worker",
        {
            "name": "worker",
            "assumeRolePolicy": ec2_trust(),
            "managedPolicyArns": ["arn:aws:iam::aws:policy/AmazonEC2FullAccess"],
        },
    )
    violations = run_stack(link([role]), BUDGET_CONFIG)
    assert any("ec2" in m for m, _ in violations), violations
    inline = stack_resource(
        ROLE_T,
        "worker",
        {"name": "worker", "inlinePolicies": [{"name": "i", "policy": doc(allow("s3:PutObject", "*"))}]},
    )
    assert run_stack(link([inline]), BUDGET_CONFIG), "s3:PutObject on * is Write on *"


def test_budget_never_raises_on_garbage() -> None:
    role = stack_resource(ROLE_T, "worker", {"name": UNKNOWN_STRING, "inlinePolicies": UNKNOWN_STRING})
    att = stack_resource(RPA_T, "a", {"role": UNKNOWN_STRING, "policyArn": UNKNOWN_STRING})
    out = run_stack(link([role, att]), BUDGET_CONFIG)
    assert not any("internal error" in m for m, _ in out), out


# ---------------------------------------------------------------------------------------------------
# Property-based: no exception ever escapes a validator, whatever the (partly unknown) inputs.

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_ATOMS = st.one_of(
    st.sampled_from(["*", "s3:*", "s3:Get*", "*:Get*", "iam:PassRole", "arn:aws:s3:::b/*", "Allow", "Deny"]),
    st.sampled_from([UNKNOWN_STRING, "", "arn:aws:iam::aws:policy/ReadOnlyAccess", "ec2.amazonaws.com"]),
    st.text(max_size=12),
    st.integers(),
    st.booleans(),
    st.none(),
)
_KEYS = st.sampled_from(
    [
        "Version",
        "Statement",
        "Sid",
        "Effect",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Principal",
        "NotPrincipal",
        "Condition",
        "Service",
        "AWS",
        "Federated",
        "StringEquals",
        "x",
    ]
)
_JSONISH = st.recursive(
    _ATOMS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_KEYS, inner, max_size=5)),
    max_leaves=20,
)
_DOC = st.one_of(
    _JSONISH.map(lambda v: json.dumps(v) if not isinstance(v, str) else v),
    _JSONISH.filter(lambda v: isinstance(v, dict)),
    st.just(UNKNOWN_STRING),
)
_TYPES = sorted(adapters.judged_types())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    type_=st.sampled_from(_TYPES),
    document=_DOC,
    arn=st.one_of(_ATOMS, st.lists(_ATOMS, max_size=3)),
    inline=st.one_of(
        st.just(UNKNOWN_STRING), st.lists(st.fixed_dictionaries({"name": _ATOMS, "policy": _DOC}))
    ),
)
def test_no_exception_escapes_any_validator(type_: str, document: Any, arn: Any, inline: Any) -> None:
    props = {
        "policy": document,
        "assumeRolePolicy": document,
        "policyArn": arn,
        "managedPolicyArns": arn,
        "inlinePolicies": inline,
        "role": "worker",
        "roles": ["worker"],
        "name": "worker",
        # aws-native spellings, Identity Center and principal-naming permissions
        "policyDocument": document,
        "assumeRolePolicyDocument": document,
        "keyPolicy": document,
        "policies": inline,
        "inlinePolicy": document,
        "principal": arn,
        "groups": arn,
        "users": arn,
        "permissionSetArn": arn,
        "customerManagedPolicyReference": inline,
        "permissionsBoundary": arn,
    }
    for policy in policies.ALL_POLICIES:  # resource policies, and stack policies on a one-resource stack
        messages = run_resource(policy.name, type_, props)
        assert not any("internal error" in m for m in messages), messages
    role = stack_resource(
        ROLE_T, "worker", {k: props[k] for k in ("name", "assumeRolePolicy", "inlinePolicies")}
    )
    att = stack_resource(RPA_T, "a", {"role": "worker", "policyArn": arn if isinstance(arn, str) else None})
    pol = stack_resource(POLICY_T, "p", {"name": "p", "policy": document})
    out = run_stack(link([role, att, pol]), BUDGET_CONFIG)
    assert not any("internal error" in m for m, _ in out), out
