"""Every document the adapters read reaches the size quota of its container, whatever the provider:
the pack maps the adapters' containers to the engine's (``iam_pack.engine.quota_container``)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # pack_helpers (puts the pack on sys.path)

import adapters
import pack_helpers  # noqa: F401
from adapters.model import Context
from iam_pack import engine
from least_privilege.rules import deployable_documents as quotas

DOC = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}],
}
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}
RESOURCE = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::111111111111:root"},
            "Action": "sqs:SendMessage",
            "Resource": "*",
        }
    ],
}


@pytest.mark.parametrize(
    ("type_token", "props", "expected"),
    [
        ("aws:iam/policy:Policy", {"policy": DOC}, {(quotas.MANAGED_POLICY, None)}),
        ("aws:iam/rolePolicy:RolePolicy", {"role": "r", "policy": DOC}, {(quotas.ROLE_INLINE_POLICY, None)}),
        ("aws:iam/userPolicy:UserPolicy", {"user": "u", "policy": DOC}, {(quotas.USER_INLINE_POLICY, None)}),
        (
            "aws:iam/groupPolicy:GroupPolicy",
            {"group": "g", "policy": DOC},
            {(quotas.GROUP_INLINE_POLICY, None)},
        ),
        (
            "aws:iam/role:Role",
            {"assumeRolePolicy": TRUST, "inlinePolicies": [{"name": "i", "policy": DOC}]},
            {(quotas.TRUST_POLICY, None), (quotas.ROLE_INLINE_POLICY, None)},
        ),
        ("aws:iam/user:User", {"name": "u"}, set()),
        (
            "aws:sqs/queuePolicy:QueuePolicy",
            {"queueUrl": "q", "policy": RESOURCE},
            {(quotas.RESOURCE_POLICY, "sqs")},
        ),
        (
            "aws:s3/bucketPolicy:BucketPolicy",
            {"bucket": "b", "policy": RESOURCE},
            {(quotas.RESOURCE_POLICY, "s3")},
        ),
        ("aws-native:iam:ManagedPolicy", {"policyDocument": DOC}, {(quotas.MANAGED_POLICY, None)}),
        (
            "aws-native:iam:RolePolicy",
            {"roleName": "r", "policyDocument": DOC},
            {(quotas.ROLE_INLINE_POLICY, None)},
        ),
        (
            "aws-native:iam:UserPolicy",
            {"userName": "u", "policyDocument": DOC},
            {(quotas.USER_INLINE_POLICY, None)},
        ),
        (
            "aws-native:iam:Group",
            {"groupName": "g", "policies": [{"policyName": "i", "policyDocument": DOC}]},
            {(quotas.GROUP_INLINE_POLICY, None)},
        ),
        ("aws-native:iam:Role", {"assumeRolePolicyDocument": TRUST}, {(quotas.TRUST_POLICY, None)}),
        ("aws-native:sns:TopicPolicy", {"policyDocument": RESOURCE}, {(quotas.RESOURCE_POLICY, "sns")}),
    ],
)
def test_each_document_gets_its_containers_quota(
    type_token: str, props: dict[str, Any], expected: set[tuple[str, str | None]]
) -> None:
    view = adapters.read(type_token, props, Context())
    assert view is not None
    found = {engine.quota_container(doc) for doc in view.documents}
    assert found == expected


def test_statements_the_pack_builds_have_no_size_quota() -> None:
    view = adapters.read(
        "aws:lambda/permission:Permission",
        {"action": "lambda:InvokeFunction", "function": "f", "principal": "222222222222"},
        Context(),
    )
    assert view is not None and view.documents
    assert all(engine.quota_container(doc) is None for doc in view.documents)
