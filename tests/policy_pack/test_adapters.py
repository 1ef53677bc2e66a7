"""The provider adapters: what each type becomes, judged by the real pack policies in this process.

Every resource-policy type of both adapters is exercised from its own table entry (a public document
at the type's property path must be reported), so a misspelt path fails here, not in production.
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
from adapters import aws, aws_native
from adapters.common import principal_element, values_at
from adapters.model import GROUP, PERMISSION_SET, RESOURCE, ROLE, USER, Context
from least_privilege import UNKNOWN
from pack_helpers import ACCOUNT, UNKNOWN_STRING, run_resource

OTHER_ACCOUNT = "222222222222"
CTX = Context(ACCOUNT, "eu-west-1")


def doc(*statements: Mapping[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


PUBLIC = doc({"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"})


def props_at(path: str, value: Any) -> dict[str, Any]:
    """Nested props holding ``value`` at a table path such as ``replicas[].resourcePolicy.doc``."""
    head, _, rest = path.partition(".")
    many = head.endswith("[]")
    key = head.removesuffix("[]")
    inner = props_at(rest, value) if rest else value
    return {key: [inner] if many else inner}


RESOURCE_TYPES = [
    (token, path, module is aws)
    for module in (aws, aws_native)
    for token, entries in module.RESOURCE_POLICIES.items()
    for path, _service in entries
]


@pytest.mark.parametrize(
    ("token", "path", "json_string"), RESOURCE_TYPES, ids=[f"{t}:{p}" for t, p, _ in RESOURCE_TYPES]
)
def test_every_resource_policy_type_is_judged_at_its_path(token: str, path: str, json_string: bool) -> None:
    document = json.dumps(PUBLIC) if json_string else PUBLIC
    messages = run_resource("iam-trust-policy", token, props_at(path, document))
    assert any("Principal" in m and "*" in m for m in messages), (token, messages)
    assert run_resource("iam-trust-policy", token, props_at(path, UNKNOWN_STRING)) == []


def test_values_at_walks_lists_and_keeps_unknown_containers() -> None:
    props = {"replicas": [{"p": {"d": 1}}, {"p": UNKNOWN}, {"x": 2}], "top": UNKNOWN}
    assert list(values_at(props, "replicas[].p.d")) == [("replicas[0].p.d", 1), ("replicas[1].p", UNKNOWN)]
    assert list(values_at(props, "top.d")) == [("top", UNKNOWN)]
    assert list(values_at({}, "a.b")) == []


@pytest.mark.parametrize(
    ("principal", "element"),
    [
        ("*", "*"),
        ("s3.amazonaws.com", {"Service": "s3.amazonaws.com"}),
        (OTHER_ACCOUNT, {"AWS": f"arn:aws:iam::{OTHER_ACCOUNT}:root"}),
        (f"arn:aws:iam::{OTHER_ACCOUNT}:role/x", {"AWS": f"arn:aws:iam::{OTHER_ACCOUNT}:role/x"}),
        (UNKNOWN, UNKNOWN),
    ],
)
def test_principal_elements(principal: Any, element: Any) -> None:
    assert principal_element(principal) == element


def _statement(view: Any) -> dict[str, Any]:
    (document,) = view.documents
    assert document.kind == RESOURCE
    return document.value["Statement"][0]


def test_lambda_permission_becomes_a_resource_statement_with_its_narrowing_conditions() -> None:
    view = adapters.read(
        "aws:lambda/permission:Permission",
        {
            "function": "ingest",
            "principal": "s3.amazonaws.com",
            "action": "lambda:InvokeFunction",
            "sourceArn": "arn:aws:s3:::acme-raw",
            "sourceAccount": ACCOUNT,
        },
        CTX,
    )
    statement = _statement(view)
    assert statement["Principal"] == {"Service": "s3.amazonaws.com"}
    assert statement["Resource"] == f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:ingest"
    assert statement["Condition"] == {
        "ArnLike": {"aws:SourceArn": "arn:aws:s3:::acme-raw"},
        "StringEquals": {"aws:SourceAccount": ACCOUNT},
    }
    native = adapters.read(
        "aws-native:lambda:Permission",
        {"functionName": UNKNOWN, "principal": "*", "action": "lambda:InvokeFunction", "sourceArn": UNKNOWN},
        CTX,
    )
    statement = _statement(native)
    assert statement["Principal"] == "*" and "Condition" not in statement  # an unknown never narrows
    assert statement["Resource"].endswith(":function:known-after-apply")


@pytest.mark.parametrize(
    ("token", "props", "blocked"),
    [
        (
            "aws:lambda/permission:Permission",
            {"function": "f", "principal": "*", "action": "lambda:InvokeFunction"},
            True,
        ),
        (
            "aws:lambda/permission:Permission",
            {
                "function": "f",
                "principal": "events.amazonaws.com",
                "action": "lambda:InvokeFunction",
                "sourceArn": f"arn:aws:events:eu-west-1:{ACCOUNT}:rule/nightly",
            },
            False,
        ),
        (
            "aws-native:lambda:Permission",
            {"functionName": "f", "principal": "*", "action": "lambda:InvokeFunction"},
            True,
        ),
        (
            "aws:lambda/layerVersionPermission:LayerVersionPermission",
            {"layerName": "shared", "versionNumber": 3, "principal": "*", "action": "lambda:GetLayerVersion"},
            True,
        ),
        ("aws:cloudwatch/eventPermission:EventPermission", {"principal": "*", "statementId": "all"}, True),
        (
            "aws:cloudwatch/eventPermission:EventPermission",
            {
                "principal": "*",
                "statementId": "org",
                "condition": {"key": "aws:PrincipalOrgID", "type": "StringEquals", "value": "o-abc123def4"},
            },
            False,
        ),
        (
            "aws-native:events:EventBusPolicy",
            {"principal": "*", "statementId": "all", "action": "events:PutEvents"},
            True,
        ),
        (
            "aws-native:events:EventBusPolicy",
            {
                "statementId": "s",
                "statement": {
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "events:PutEvents",
                    "Resource": f"arn:aws:events:eu-west-1:{ACCOUNT}:event-bus/default",
                },
            },
            True,
        ),
        ("aws:kms/grant:Grant", {"keyId": "k", "granteePrincipal": "*", "operations": ["Decrypt"]}, True),
    ],
)
def test_principal_permissions_are_judged_as_resource_statements(
    token: str, props: dict[str, Any], blocked: bool
) -> None:
    messages = run_resource("iam-trust-policy", token, props)
    assert bool(messages) is blocked, messages


# ---------------------------------------------------------------------------------------------------
# IAM structure


def test_policy_attachment_grants_to_every_kind_it_names() -> None:
    view = adapters.read(
        "aws:iam/policyAttachment:PolicyAttachment",
        {
            "policyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess",
            "roles": ["r"],
            "users": ["u"],
            "groups": ["g"],
        },
    )
    (grant,) = view.grants
    assert {(r.kind, r.value, r.property) for r in grant.to} == {
        (ROLE, "r", "roles"),
        (USER, "u", "users"),
        (GROUP, "g", "groups"),
    }
    assert grant.policy is not None and grant.policy.arn == "arn:aws:iam::aws:policy/ReadOnlyAccess"


@pytest.mark.parametrize(
    ("token", "principal_prop", "kind"),
    [
        ("aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive", "roleName", ROLE),
        ("aws:iam/userPolicyAttachmentsExclusive:UserPolicyAttachmentsExclusive", "userName", USER),
        ("aws:iam/groupPolicyAttachmentsExclusive:GroupPolicyAttachmentsExclusive", "groupName", GROUP),
        (
            "aws:ssoadmin/managedPolicyAttachmentsExclusive:ManagedPolicyAttachmentsExclusive",
            "permissionSetArn",
            PERMISSION_SET,
        ),
    ],
)
def test_exclusive_attachments_attach_every_listed_arn(token: str, principal_prop: str, kind: str) -> None:
    arns = ["arn:aws:iam::aws:policy/AdministratorAccess", "arn:aws:iam::aws:policy/ReadOnlyAccess"]
    arn_prop = "managedPolicyArns" if "ssoadmin" in token else "policyArns"
    view = adapters.read(token, {principal_prop: "p", arn_prop: arns})
    assert [g.policy.arn for g in view.grants if g.policy] == arns
    assert all(g.to[0].kind == kind for g in view.grants)
    messages = run_resource(
        "iam-managed-policy-attachments",
        token,
        {principal_prop: "p", arn_prop: arns},
        {"deniedManagedPolicies": ["arn:aws:iam::aws:policy/AdministratorAccess"]},
    )
    assert any("AdministratorAccess" in m for m in messages), messages


def test_memberships_and_instance_profiles() -> None:
    ugm = adapters.read(
        "aws:iam/userGroupMembership:UserGroupMembership", {"user": "alice", "groups": ["a", "b"]}
    )
    assert [(m.user.value, m.group.value) for m in ugm.memberships] == [("alice", "a"), ("alice", "b")]
    gm = adapters.read("aws:iam/groupMembership:GroupMembership", {"group": "ops", "users": ["x", "y"]})
    assert [(m.user.value, m.group.value) for m in gm.memberships] == [("x", "ops"), ("y", "ops")]
    native_user = adapters.read("aws-native:iam:User", {"userName": "bob", "groups": ["ops"]})
    assert [(m.user, m.group.value) for m in native_user.memberships] == [(None, "ops")]
    profile = adapters.read("aws:iam/instanceProfile:InstanceProfile", {"role": "worker"})
    assert [(r.kind, r.value) for r in profile.references] == [(ROLE, "worker")]
    native_profile = adapters.read("aws-native:iam:InstanceProfile", {"roles": ["a", "b"]})
    assert [r.value for r in native_profile.references] == ["a", "b"]


def test_identity_center_permission_sets() -> None:
    inline = adapters.read(
        "aws:ssoadmin/permissionSetInlinePolicy:PermissionSetInlinePolicy",
        {"permissionSetArn": "arn:aws:sso:::permissionSet/ssoins-1/ps-1", "inlinePolicy": json.dumps(PUBLIC)},
    )
    assert inline.grants[0].to[0].kind == PERMISSION_SET
    assert run_resource(
        "iam-no-wildcard-actions",
        "aws:ssoadmin/permissionSetInlinePolicy:PermissionSetInlinePolicy",
        {
            "permissionSetArn": "ps",
            "inlinePolicy": json.dumps(doc({"Effect": "Allow", "Action": "*", "Resource": "*"})),
        },
    )
    customer = adapters.read(
        "aws:ssoadmin/customerManagedPolicyAttachment:CustomerManagedPolicyAttachment",
        {"permissionSetArn": "ps", "customerManagedPolicyReference": {"name": "team", "path": "/ml/"}},
    )
    ref = customer.grants[0].policy
    assert ref is not None and (ref.customer_managed_name, ref.customer_managed_path) == ("team", "/ml/")
    boundary = adapters.read(
        "aws:ssoadmin/permissionsBoundaryAttachment:PermissionsBoundaryAttachment",
        {
            "permissionSetArn": "ps",
            "permissionsBoundary": {"managedPolicyArn": "arn:aws:iam::aws:policy/PowerUserAccess"},
        },
    )
    assert boundary.attachments[0].boundary
    native = adapters.read(
        "aws-native:sso:PermissionSet",
        {
            "name": "ds",
            "inlinePolicy": doc({"Effect": "Allow", "Action": "s3:*", "Resource": "*"}),
            "managedPolicies": ["arn:aws:iam::aws:policy/AdministratorAccess"],
            "customerManagedPolicyReferences": [{"name": "team"}],
        },
    )
    assert native.defines is not None and native.defines.kind == PERMISSION_SET
    assert len(native.grants) == 3 and all(not g.to for g in native.grants)


def test_aws_native_iam_documents_are_objects_and_judged() -> None:
    role = {
        "assumeRolePolicyDocument": doc(
            {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ),
        "policies": [
            {"policyName": "all", "policyDocument": doc({"Effect": "Allow", "Action": "*", "Resource": "*"})}
        ],
        "managedPolicyArns": ["arn:aws:iam::aws:policy/AdministratorAccess"],
    }
    messages = run_resource("iam-no-wildcard-actions", "aws-native:iam:Role", role)
    assert any("policies[0].policyDocument (all)" in m for m in messages), messages
    assert run_resource(
        "iam-managed-policy-attachments",
        "aws-native:iam:Role",
        role,
        {"deniedManagedPolicies": ["arn:aws:iam::aws:policy/AdministratorAccess"]},
    )
    trust_anyone = {
        "assumeRolePolicyDocument": doc({"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"})
    }
    assert run_resource("iam-trust-policy", "aws-native:iam:Role", trust_anyone)
    for token, name_prop in (
        ("aws-native:iam:ManagedPolicy", "managedPolicyName"),
        ("aws-native:iam:RolePolicy", "roleName"),
        ("aws-native:iam:UserPolicy", "userName"),
        ("aws-native:iam:GroupPolicy", "groupName"),
    ):
        props = {
            name_prop: "x",
            "policyDocument": doc({"Effect": "Allow", "Action": "s3:*", "Resource": "*"}),
        }
        assert run_resource("iam-no-wildcard-resources", token, props), token


def test_unknown_documents_are_skipped_by_resource_rules_and_never_crash() -> None:
    for token in sorted(adapters.judged_types()):
        props = {
            key: UNKNOWN_STRING for key in ("policy", "policyDocument", "principal", "policyArn", "role")
        }
        for name in ("iam-no-wildcard-resources", "iam-trust-policy", "iam-managed-policy-attachments"):
            messages = run_resource(name, token, props)
            assert not any("internal error" in m for m in messages), (token, messages)


def test_services_and_default_actions_are_in_the_catalog() -> None:
    """The hand-kept parts of the adapters (service prefixes, actions a permission grants by default)
    are real: checked against the engine's catalog."""
    from least_privilege.catalog import action_info, is_known_service

    services = {s for m in (aws, aws_native) for entries in m.RESOURCE_POLICIES.values() for _, s in entries}
    assert sorted(s for s in services if not is_known_service(s)) == []
    without_action = [
        ("aws:lambda/permission:Permission", {"function": "f", "principal": "*"}),
        ("aws-native:lambda:Permission", {"functionName": "f", "principal": "*"}),
        ("aws:lambda/layerVersionPermission:LayerVersionPermission", {"layerName": "l", "principal": "*"}),
        ("aws-native:lambda:LayerVersionPermission", {"layerVersionArn": "l", "principal": "*"}),
        ("aws:cloudwatch/eventPermission:EventPermission", {"principal": "*"}),
        ("aws-native:events:EventBusPolicy", {"principal": "*"}),
        (
            "aws:kms/grant:Grant",
            {"keyId": "k", "granteePrincipal": "*", "operations": ["Decrypt", "Encrypt"]},
        ),
        (
            "aws:acmpca/permission:Permission",
            {"principal": "acm.amazonaws.com", "actions": ["IssueCertificate"]},
        ),
    ]
    for token, props in without_action:
        statement = _statement(adapters.read(token, props, CTX))
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert actions and all(action_info(a) is not None for a in actions), (token, actions)
