"""Duplicates in Action/Resource lists, and the bounds that keep any document to a sane number of findings
(a huge Analyze answer can exceed gRPC's 4 MB message limit and fail a real `pulumi preview`)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from least_privilege import UNKNOWN, UNKNOWN_STRING
from least_privilege import managed_policies as mp
from least_privilege.analysis import check_identity_policy
from least_privilege.catalog import all_services
from least_privilege.document import parse_document
from least_privilege.findings import WILDCARD_ACTIONS, WILDCARD_RESOURCES, Finding, Severity

MAX_FINDINGS_PER_DOCUMENT = 200


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def of(rule: str, findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.rule == rule]


def test_repeated_action_gives_the_findings_of_one_copy() -> None:
    once = check_identity_policy(doc(allow("s3:GetObject")))
    assert once, "s3:GetObject on * must be reported"
    repeated = ["s3:GetObject"] * 2500 + ["S3:GETOBJECT", "s3:getobject"] * 1250
    assert check_identity_policy(doc(allow(repeated, ["*"] * 100))) == once


@pytest.mark.parametrize(
    ("action", "resource"),
    [("s3:Get*", "*"), ("s3:GetObjekt", "*"), ("s3:ListBucket", "arn:aws:s3:::b/*"), ("s3:GetObject", "*")],
)
def test_an_action_repeated_5000_times_is_reported_as_once(action: str, resource: str) -> None:
    # Before de-duplication the first three gave ~5,000 findings each (wildcard, unknown, mismatch).
    once = check_identity_policy(doc(allow(action, resource)))
    assert once
    assert check_identity_policy(doc(allow([action, action.upper()] * 2500, resource))) == once


def test_parse_keeps_first_spelling_and_order_of_actions_and_exact_resources() -> None:
    parsed = parse_document(doc(allow(
        ["s3:GetObject", "kms:Decrypt", "S3:GETOBJECT", "kms:decrypt", "s3:PutObject"],
        ["arn:aws:s3:::b/A", "arn:aws:s3:::b/a", "arn:aws:s3:::b/A"],
    )))
    st = parsed.statements[0]
    assert st.actions == ("s3:GetObject", "kms:Decrypt", "s3:PutObject")
    # ARNs can be case-sensitive (S3 keys are): only exact copies are dropped.
    assert st.resources == ("arn:aws:s3:::b/A", "arn:aws:s3:::b/a")


def test_unknown_entries_are_kept_opaque_once() -> None:
    parsed = parse_document(doc(allow(["s3:GetObject", UNKNOWN_STRING, "S3:GetObject", UNKNOWN_STRING],
                                      [f"arn:aws:s3:::{UNKNOWN_STRING}/*", "arn:aws:s3:::b/*"] * 3)))
    st = parsed.statements[0]
    assert st.actions == ("s3:GetObject", UNKNOWN)
    assert st.resources == (f"arn:aws:s3:::{UNKNOWN_STRING}/*", "arn:aws:s3:::b/*")


def test_repeated_malformed_entry_is_reported_once() -> None:
    findings = check_identity_policy(doc(allow(["not-an-action"] * 50, "arn:aws:s3:::b")))
    assert len([f for f in findings if "not-an-action" in f.message]) == 1


def test_many_findings_of_one_rule_on_one_statement_are_grouped_per_severity() -> None:
    patterns = ["s3:Get*", "s3:List*", "ec2:Describe*", "iam:Get*", "kms:List*", "sqs:Get*", "sns:List*",
                "logs:Describe*", "lambda:List*", "rds:Describe*", "dynamodb:Describe*", "ecr:Get*",
                "glue:Get*", "athena:List*"]
    alone = {f.severity for p in patterns for f in of(WILDCARD_ACTIONS, check_identity_policy(doc(allow(p))))}
    grouped = of(WILDCARD_ACTIONS, check_identity_policy(doc(allow(patterns))))
    # One finding per severity, with the severities the individual findings had (thresholds unchanged).
    assert sorted(f.severity for f in grouped) == sorted(alone)
    assert len(grouped) < len(patterns)
    text = " ".join(f.message for f in grouped)
    assert "more" in text and "s3:Get*" in text
    assert sum(int(f.message.split(": ")[1].split()[0]) for f in grouped) == len(patterns)


def test_many_statements_are_bounded_per_document() -> None:
    services = sorted(all_services())[:120]
    statements = [allow(f"{s}:*", f"arn:aws:{s}:eu-west-1:1:x/*") for s in services]
    findings = check_identity_policy(doc(*statements))
    counts = Counter(f.rule for f in findings)
    assert counts[WILDCARD_ACTIONS] <= 44
    assert any("further" in f.message for f in of(WILDCARD_ACTIONS, findings))
    assert max(f.severity for f in of(WILDCARD_ACTIONS, findings)) == Severity.HIGH


def test_wildcard_resources_over_many_star_arns_stay_bounded() -> None:
    names = ("GetObject", "PutObject", "DeleteObject", "GetObjectTagging", "PutObjectTagging", "GetObjectAcl",
             "AbortMultipartUpload", "GetObjectVersion", "DeleteObjectVersion", "RestoreObject",
             "GetObjectAttributes")
    actions = [f"s3:{a}" for a in names]
    resources = [f"arn:aws:s3:::bucket-{i}*/*" for i in range(40)]
    findings = of(WILDCARD_RESOURCES, check_identity_policy(doc(allow(actions, resources))))
    assert findings and len(findings) <= 10  # reported, but grouped rather than one per ARN


def test_no_managed_policy_in_the_snapshot_yields_more_than_a_few_hundred_findings() -> None:
    worst: list[tuple[int, str]] = []
    for arn, document in mp.all_managed_policies():
        n = len(check_identity_policy(document))
        worst.append((n, arn))
    worst.sort(reverse=True)
    assert len(worst) > 1000
    assert worst[0][0] <= MAX_FINDINGS_PER_DOCUMENT, worst[:3]
    lambda_role = ("arn:aws:iam::aws:policy/service-role/"
                   "AmazonSageMakerServiceCatalogProductsLambdaServiceRolePolicy")
    lambda_findings = check_identity_policy(mp.managed_policy_document(lambda_role))
    assert 0 < len(lambda_findings) <= MAX_FINDINGS_PER_DOCUMENT
