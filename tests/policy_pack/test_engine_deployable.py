"""Documents AWS rejects at `up` (iam-deployable-documents): size quotas per container, statement
counts, and Sid syntax."""

from __future__ import annotations

import json
from typing import Any

import pytest
from least_privilege import UNKNOWN
from least_privilege.analysis import (
    Settings,
    check_document_quotas,
    check_identity_policy,
    check_resource_policy,
    check_trust_policy,
    document_size,
    settings_from_config,
)
from least_privilege.findings import DEPLOYABLE_DOCUMENTS, Finding, Severity
from least_privilege.rules.deployable_documents import (
    GROUP_INLINE_POLICY,
    MANAGED_POLICY,
    RESOURCE_POLICY,
    ROLE_INLINE_POLICY,
    TRUST_POLICY,
    USER_INLINE_POLICY,
    quota_for,
)


def identity_document(size: int) -> str:
    """A compact identity policy of exactly ``size`` non-whitespace characters."""
    head = (
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject",'
        '"Resource":"arn:aws:s3:::'
    )
    tail = '"}]}'
    text = head + "b" * (size - len(head) - len(tail)) + tail
    assert len(text) == size
    return text


def deployable(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.rule == DEPLOYABLE_DOCUMENTS]


@pytest.mark.parametrize(
    ("container", "limit"),
    [
        (MANAGED_POLICY, 6144),
        (ROLE_INLINE_POLICY, 10240),
        (USER_INLINE_POLICY, 2048),
        (GROUP_INLINE_POLICY, 5120),
    ],
)
def test_identity_quota_is_the_containers(container: str, limit: int) -> None:
    assert check_document_quotas(identity_document(limit), container) == []
    (f,) = check_document_quotas(identity_document(limit + 1), container)
    assert f.rule == DEPLOYABLE_DOCUMENTS and f.severity == Severity.HIGH
    assert f"{limit:,}" in f.message and f"{limit + 1:,}" in f.message
    assert quota_for(container) is not None and quota_for(container).name in f.message


def test_whitespace_is_not_counted_for_iam() -> None:
    compact = identity_document(6100)
    pretty = json.dumps(json.loads(compact), indent=8)
    assert len(pretty) > 6144
    assert check_document_quotas(pretty, MANAGED_POLICY) == []
    assert document_size(pretty) == 6100
    # A mapping is sized as the JSON AWS receives.
    assert document_size(json.loads(compact)) == 6100


def test_trust_policy_quota_is_configurable() -> None:
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": [f"arn:aws:iam::111111111111:role/r{i:04d}" for i in range(60)]},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    size = document_size(trust)
    assert size is not None and 2048 < size <= 4096
    (f,) = check_document_quotas(trust, TRUST_POLICY)
    assert "2,048" in f.message and "trust policy" in f.message
    raised = settings_from_config({"trustPolicyQuota": 4096})
    assert settings_from_config({"trustPolicyQuota": 4096.0}).trust_policy_quota == 4096  # gRPC numbers
    assert check_document_quotas(trust, TRUST_POLICY, settings=raised) == []
    for bad in (1024, 8192, "4096", True, 3000.5):
        with pytest.raises(ValueError, match="trustPolicyQuota"):
            settings_from_config({"trustPolicyQuota": bad})


@pytest.mark.parametrize(
    ("service", "limit", "unit"),
    [
        ("s3", 20480, "bytes"),
        ("kms", 32768, "bytes"),
        ("sqs", 8192, "bytes"),
        ("lambda", 20480, "bytes"),
        ("sns", 30720, "bytes"),
    ],
)
def test_resource_policy_quotas(service: str, limit: int, unit: str) -> None:
    statement = {
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::111111111111:root"},
        "Action": "s3:GetObject",
    }
    small = {"Version": "2012-10-17", "Statement": [{**statement, "Resource": "arn:aws:s3:::b/" + "k" * 100}]}
    assert check_document_quotas(small, RESOURCE_POLICY, service) == []
    big = {"Version": "2012-10-17", "Statement": [{**statement, "Resource": "arn:aws:s3:::b/" + "k" * limit}]}
    findings = check_document_quotas(big, RESOURCE_POLICY, service)
    assert findings and any(f"{limit:,}" in f.message and unit in f.message for f in findings)


def test_sqs_statement_count_quota() -> None:
    statements = [
        {
            "Sid": f"S{i}",
            "Effect": "Allow",
            "Principal": {"Service": "sns.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": "arn:aws:sqs:eu-west-1:111111111111:q",
        }
        for i in range(21)
    ]
    (f,) = check_document_quotas({"Version": "2012-10-17", "Statement": statements}, RESOURCE_POLICY, "sqs")
    assert "21 statements" in f.message and "20" in f.message
    assert (
        check_document_quotas({"Version": "2012-10-17", "Statement": statements[:20]}, RESOURCE_POLICY, "sqs")
        == []
    )


def test_dynamodb_counts_whitespace() -> None:
    statement = {
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::111111111111:root"},
        "Action": "dynamodb:GetItem",
        "Resource": "*",
    }
    text = json.dumps({"Version": "2012-10-17", "Statement": [statement]}) + " " * 20480
    assert check_document_quotas(text, RESOURCE_POLICY, "dynamodb")
    assert check_document_quotas(text, RESOURCE_POLICY, "s3") == []


def test_no_quota_and_unknown_documents() -> None:
    assert check_document_quotas(identity_document(30000), RESOURCE_POLICY, "glue") == []
    assert check_document_quotas(UNKNOWN, MANAGED_POLICY) == []
    assert check_document_quotas("{not json", MANAGED_POLICY) == []
    with pytest.raises(ValueError, match="container"):
        check_document_quotas(identity_document(200), "inline")


@pytest.mark.parametrize(
    "sid", ["Read Objects", "read-objects", "read_objects", "Read.Objects", "Lesen\u00e4"]
)
def test_sid_iam_refuses(sid: str) -> None:
    identity = {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": sid, "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}
        ],
    }
    (f,) = deployable(check_identity_policy(identity))
    assert f.severity == Severity.HIGH and repr(sid) in f.message
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": sid,
                "Effect": "Allow",
                "Principal": {"Service": "ec2.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    assert deployable(check_trust_policy(trust))
    resource = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": sid,
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::111111111111:root"},
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::b/*",
            }
        ],
    }
    assert deployable(check_resource_policy(resource, Settings(account_id="111111111111"))) == []


def test_letters_and_digits_sid_passes() -> None:
    identity = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ReadObjects2",
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::b/*",
            }
        ],
    }
    assert deployable(check_identity_policy(identity)) == []


def test_size_is_unknown_for_an_unknown_document() -> None:
    assert document_size(UNKNOWN) is None
    assert document_size(None) is None
    doc: dict[str, Any] = {"Statement": []}
    assert document_size(doc) == len('{"Statement":[]}')
