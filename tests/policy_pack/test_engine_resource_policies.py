"""Resource policies of every covered service, as AWS documents them, judged by the engine and by the
lint CLI (`--kind resource`): each real-shaped least-privilege document passes (nothing above low), the
same document opened to `Principal: "*"` is critical, and a grant on the wrong resource type is a
mismatch."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from least_privilege.analysis import check_resource_policy, detect_kind
from least_privilege.findings import ACTION_RESOURCE_MATCH, TRUST_POLICY, WELL_FORMED, Finding, Severity

ROOT = Path(__file__).resolve().parents[2]
A = "111111111111"
R = "eu-west-1"
ROLE = f"arn:aws:iam::{A}:role/ingest-worker"


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def grant(principal: Any, action: Any, resource: Any = None, **extra: Any) -> dict[str, Any]:
    statement = {"Sid": "Grant", "Effect": "Allow", "Principal": principal, "Action": action, **extra}
    if resource is not None:
        statement["Resource"] = resource
    return statement


ROOT_ADMIN = {"Sid": "EnableIamPolicies", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{A}:root"},
              "Action": "kms:*", "Resource": "*"}

# One document per service, shaped like the service's documentation examples. The granting statement
# is always the first one with Sid "Grant".
DOCUMENTS: dict[str, dict[str, Any]] = {
    "kms": doc(
        grant({"AWS": ROLE}, ["kms:Decrypt", "kms:GenerateDataKey"], "*",
              Condition={"StringEquals": {"kms:ViaService": f"s3.{R}.amazonaws.com"}}),
        ROOT_ADMIN,
    ),
    "sqs": doc(grant({"Service": "sns.amazonaws.com"}, "sqs:SendMessage", f"arn:aws:sqs:{R}:{A}:jobs",
                     Condition={"ArnEquals": {"aws:SourceArn": f"arn:aws:sns:{R}:{A}:uploads"}})),
    "sns": doc(grant({"Service": "events.amazonaws.com"}, "sns:Publish", f"arn:aws:sns:{R}:{A}:alerts",
                     Condition={"StringEquals": {"aws:SourceAccount": A}})),
    "lambda": doc(grant({"Service": "s3.amazonaws.com"}, "lambda:InvokeFunction",
                        f"arn:aws:lambda:{R}:{A}:function:ingest",
                        Condition={"ArnLike": {"AWS:SourceArn": "arn:aws:s3:::acme-ml-raw-dev"},
                                   "StringEquals": {"AWS:SourceAccount": A}})),
    "ecr": doc(grant({"AWS": ROLE}, ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer",
                                     "ecr:BatchCheckLayerAvailability"])),
    "secretsmanager": doc(grant({"AWS": ROLE}, "secretsmanager:GetSecretValue", "*",
                                Condition={"StringEquals": {"secretsmanager:VersionStage": "AWSCURRENT"}})),
    "s3": doc(
        grant({"AWS": ROLE}, ["s3:GetObject", "s3:PutObject"], "arn:aws:s3:::acme-ml-raw-dev/incoming/*"),
        {"Sid": "TlsOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
         "Resource": ["arn:aws:s3:::acme-ml-raw-dev", "arn:aws:s3:::acme-ml-raw-dev/*"],
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
    ),
    "events": doc(grant({"AWS": f"arn:aws:iam::{A}:root"}, "events:PutEvents",
                        f"arn:aws:events:{R}:{A}:event-bus/jobs")),
    "logs": doc(grant({"Service": "delivery.logs.amazonaws.com"},
                      ["logs:CreateLogStream", "logs:PutLogEvents"],
                      f"arn:aws:logs:{R}:{A}:log-group:/aws/vendedlogs/jobs:log-stream:*",
                      Condition={"StringEquals": {"aws:SourceAccount": A}})),
    "glue": doc(grant({"AWS": ROLE}, ["glue:GetTable", "glue:GetPartitions"],
                      [f"arn:aws:glue:{R}:{A}:catalog", f"arn:aws:glue:{R}:{A}:database/features",
                       f"arn:aws:glue:{R}:{A}:table/features/serving"])),
    "opensearch": doc(grant({"AWS": ROLE}, ["es:ESHttpGet", "es:ESHttpPost"],
                            f"arn:aws:es:{R}:{A}:domain/search/*")),
    "efs": doc(grant({"AWS": ROLE}, ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"],
                     f"arn:aws:elasticfilesystem:{R}:{A}:file-system/fs-0123456789abcdef0",
                     Condition={"Bool": {"elasticfilesystem:AccessedViaMountTarget": "true"}})),
    "backup": doc(
        grant({"AWS": ROLE}, ["backup:DescribeRecoveryPoint", "backup:GetRecoveryPointRestoreMetadata"], "*"),
        {"Sid": "NoDeletes", "Effect": "Deny", "Principal": {"AWS": "*"},
         "Action": ["backup:DeleteRecoveryPoint", "backup:UpdateRecoveryPointLifecycle"], "Resource": "*"},
    ),
    "dynamodb": doc(grant({"AWS": ROLE}, ["dynamodb:GetItem", "dynamodb:Query"],
                          f"arn:aws:dynamodb:{R}:{A}:table/jobs")),
    "kinesis": doc(grant({"AWS": ROLE}, ["kinesis:GetRecords", "kinesis:GetShardIterator",
                                         "kinesis:DescribeStreamSummary"],
                         f"arn:aws:kinesis:{R}:{A}:stream/events")),
    "apigateway": doc(grant({"AWS": ROLE}, "execute-api:Invoke", "execute-api:/prod/POST/jobs")),
}


def worst(findings: list[Finding]) -> Severity | None:
    return max((f.severity for f in findings), default=None)


@pytest.mark.parametrize("service", sorted(DOCUMENTS))
def test_least_privilege_resource_policy_passes(service: str) -> None:
    document = DOCUMENTS[service]
    assert detect_kind(document) == "resource"
    findings = check_resource_policy(document)
    assert worst(findings) in (None, Severity.LOW), [f.to_dict() for f in findings]


def opened_to_anyone(document: dict[str, Any]) -> dict[str, Any]:
    opened = copy.deepcopy(document)
    statement = opened["Statement"][0]
    statement["Principal"] = "*"
    statement.pop("Condition", None)
    return opened


@pytest.mark.parametrize("service", sorted(DOCUMENTS))
def test_the_same_policy_opened_to_anyone_is_critical(service: str) -> None:
    opened = opened_to_anyone(DOCUMENTS[service])
    findings = [f for f in check_resource_policy(opened) if f.rule == TRUST_POLICY]
    assert worst(findings) == Severity.CRITICAL, findings


@pytest.mark.parametrize(
    ("action", "resource"),
    [
        ("sqs:SendMessage", f"arn:aws:sns:{R}:{A}:uploads"),
        ("lambda:InvokeFunction", f"arn:aws:lambda:{R}:{A}:layer:deps"),
        ("dynamodb:GetItem", f"arn:aws:kinesis:{R}:{A}:stream/events"),
        ("s3:GetObject", "arn:aws:s3:::acme-ml-raw-dev"),
    ],
)
def test_service_arns_are_matched_to_the_actions_resource_types(action: str, resource: str) -> None:
    findings = check_resource_policy(doc(grant({"AWS": ROLE}, action, resource)))
    assert [f.rule for f in findings] == [ACTION_RESOURCE_MATCH]


def test_resource_may_be_absent_only_where_the_service_implies_it() -> None:
    assert not [f for f in check_resource_policy(DOCUMENTS["ecr"]) if f.rule == WELL_FORMED]
    missing = doc(grant({"AWS": ROLE}, "sqs:SendMessage"))
    assert any("neither Resource nor NotResource" in f.message for f in check_resource_policy(missing))


def test_star_names_the_attached_resource_only_where_the_service_writes_it_so() -> None:
    """A KMS key policy's "*" is the key; an S3 bucket policy's "*" stays a wildcard."""
    key = check_resource_policy(doc(grant({"AWS": ROLE}, "kms:Decrypt", "*")))
    bucket = check_resource_policy(doc(grant({"AWS": ROLE}, "s3:GetObject", "*")))
    assert worst(key) is None and worst(bucket) == Severity.HIGH


def test_a_permissions_write_to_a_named_principal_in_a_resource_policy_is_medium() -> None:
    findings = check_resource_policy(doc(grant({"AWS": ROLE}, "kms:PutKeyPolicy", "*")))
    assert [(f.rule, f.severity) for f in findings] == [("iam-no-privilege-escalation", Severity.MEDIUM)]


def test_account_root_delegation_is_low() -> None:
    findings = check_resource_policy(doc(ROOT_ADMIN))
    assert findings and worst(findings) == Severity.LOW
    assert all("delegates to the IAM policies" in f.message for f in findings)


def test_lint_cli_judges_every_service_as_a_resource_policy(tmp_path: Path) -> None:
    paths = []
    for service, document in sorted(DOCUMENTS.items()):
        for variant, body in (("ok", document), ("open", opened_to_anyone(document))):
            path = tmp_path / f"{service}-{variant}.json"
            path.write_text(json.dumps(body))
            paths.append(str(path))
    result = subprocess.run(
        [sys.executable, "-m", "least_privilege", "lint", "--kind", "resource", "--json",
         "--fail-on", "medium", *paths],
        cwd=ROOT / "policy-pack", capture_output=True, text=True, check=False,
    )
    assert result.returncode == 1, result.stderr
    results = {Path(r["path"]).stem: r for r in json.loads(result.stdout)["files"]}
    for service in DOCUMENTS:
        ok, opened = results[f"{service}-ok"], results[f"{service}-open"]
        assert ok["kind"] == opened["kind"] == "resource"
        assert all(f["severity"] == "low" for f in ok["findings"]), ok
        critical = [f for f in opened["findings"] if f["severity"] == "critical"]
        assert any(f["rule"] == TRUST_POLICY for f in critical), opened
