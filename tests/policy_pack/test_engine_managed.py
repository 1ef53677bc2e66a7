"""Managed-policy attachments (judged by their bundled document), effective permissions and budgets."""

from __future__ import annotations

from typing import Any

import pytest
from least_privilege import UNKNOWN, UNKNOWN_STRING
from least_privilege.analysis import (
    Budget,
    Settings,
    check_budget,
    check_identity_policy,
    check_managed_policy_arn,
    effective_permissions,
)
from least_privilege.findings import Severity

READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
RAW = "arn:aws:s3:::acme-ml-raw-dev"


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action: Any, resource: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource}


def test_read_only_access_grants_read_on_every_bucket() -> None:
    findings = check_managed_policy_arn(READ_ONLY)
    assert findings and all(f.rule == "iam-managed-policy-attachments" for f in findings)
    message = " ".join(f.message for f in findings)
    assert "grants read on every S3 bucket in the account" in message
    assert max(f.severity for f in findings) >= Severity.HIGH
    assert all(f.resource == READ_ONLY for f in findings)


def test_administrator_access_is_critical() -> None:
    findings = check_managed_policy_arn(ADMIN)
    assert max(f.severity for f in findings) == Severity.CRITICAL
    assert any("every action on every resource" in f.message for f in findings)


def test_deny_and_allow_lists() -> None:
    denied = check_managed_policy_arn(READ_ONLY, Settings(managed_deny=frozenset({READ_ONLY})))
    assert denied[0].severity == Severity.HIGH and "deny list" in denied[0].message
    # the deny list never replaces the judgment of the content: the user learns why it is denied
    assert any("read on every S3 bucket" in f.message for f in denied[1:])
    by_name = check_managed_policy_arn(READ_ONLY, Settings(managed_deny=frozenset({"ReadOnlyAccess"})))
    assert by_name and "deny list" in by_name[0].message
    assert check_managed_policy_arn(READ_ONLY, Settings(managed_allow=frozenset({READ_ONLY}))) == []


def test_customer_managed_arn_is_not_judged_here() -> None:
    assert check_managed_policy_arn("arn:aws:iam::111111111111:policy/ingest-worker") == []


def test_unknown_aws_managed_policy_cannot_be_judged() -> None:
    (f,) = check_managed_policy_arn("arn:aws:iam::aws:policy/NoSuchPolicyAtAll")
    assert f.severity == Severity.MEDIUM and "snapshot" in f.message


@pytest.mark.parametrize("arn", [UNKNOWN, UNKNOWN_STRING])
def test_unknown_policy_arn_is_a_preview_finding(arn: Any) -> None:
    (f,) = check_managed_policy_arn(arn)
    assert f.rule == "iam-preview-verifiable"


def test_malformed_policy_arn() -> None:
    (f,) = check_managed_policy_arn(42)
    assert f.rule == "iam-well-formed-documents"


def test_narrow_managed_policy_has_no_broad_findings() -> None:
    findings = check_managed_policy_arn("arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole")
    assert all(f.severity <= Severity.HIGH for f in findings)


# --- effective permissions and budgets ----------------------------------------------------------


def test_effective_permissions_union_and_services() -> None:
    inline = doc(allow(["s3:GetObject", "s3:PutObject"], f"{RAW}/incoming/*"))
    attached = doc(allow("comprehend:DetectEntities", "*"))
    perms = effective_permissions([inline, attached])
    assert perms.services() == frozenset({"s3", "comprehend"})
    by_resource = perms.actions_by_resource()
    assert by_resource[f"{RAW}/incoming/*"] == frozenset({"s3:GetObject", "s3:PutObject"})
    assert perms.allows("s3:GetObject", f"{RAW}/incoming/x.csv")
    assert not perms.allows("s3:GetObject", f"{RAW}/other/x.csv")
    assert not perms.allows("s3:DeleteObject", f"{RAW}/incoming/x.csv")


def test_effective_permissions_resolve_aws_managed_arns() -> None:
    perms = effective_permissions([READ_ONLY])
    assert perms.allows("s3:GetObject", f"{RAW}/anything")
    assert "s3" in (perms.services() or set())


def test_budget_allowed_services() -> None:
    perms = effective_permissions(
        [doc(allow(["s3:GetObject"], f"{RAW}/*"), allow("ec2:DescribeInstances", "*"))]
    )
    findings = check_budget(perms, Budget(allowed_services=frozenset({"s3"})))
    assert [f.rule for f in findings] == ["iam-effective-permissions-budget"]
    assert "ec2" in findings[0].message
    assert check_budget(perms, Budget(allowed_services=frozenset({"s3", "ec2"}))) == []


def test_budget_forbids_write_and_permissions_management_on_star() -> None:
    perms = effective_permissions([doc(allow(["s3:PutObject", "iam:PutRolePolicy"], "*"))])
    findings = check_budget(perms, Budget())
    assert findings
    assert all(f.rule == "iam-effective-permissions-budget" and " on *" in f.message for f in findings)
    assert (
        check_budget(perms, Budget(forbid_write_on_star=False, forbid_permissions_management_on_star=False))
        == []
    )
    scoped = effective_permissions([doc(allow("s3:PutObject", f"{RAW}/incoming/*"))])
    assert check_budget(scoped, Budget()) == []


def test_budget_star_action_exceeds_every_service_budget() -> None:
    perms = effective_permissions([doc(allow("*", "*"))])
    findings = check_budget(perms, Budget(allowed_services=frozenset({"s3"})))
    assert any("every service" in f.message for f in findings)
    assert perms.all_actions_on_star


def test_budget_counts_unknown_documents() -> None:
    perms = effective_permissions([UNKNOWN, doc(allow("s3:GetObject", f"{RAW}/*"))])
    assert perms.unknown_documents == 1
    findings = check_budget(perms, Budget())
    assert [f.rule for f in findings] == ["iam-preview-verifiable"]


def test_not_action_budget() -> None:
    perms = effective_permissions([doc({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})])
    assert perms.services() is None
    assert perms.allows("s3:PutObject") and not perms.allows("iam:PassRole")


# --- the whole snapshot ---------------------------------------------------------------------------


def test_every_aws_managed_policy_goes_through_the_engine() -> None:
    from least_privilege import managed_policies as managed

    count = 0
    for arn, document in managed.all_managed_policies():
        findings = check_identity_policy(document)
        assert not [f for f in findings if "could not be" in f.message], arn
        # AWS accepted every one of these documents: no grammar false positives. A condition key that
        # does not apply to some actions is legal (AWS accepts it; the grant is void or the deny
        # ineffective), so it is the only well-formedness finding a managed policy may have.
        well_formed = [f for f in findings if f.rule == "iam-well-formed-documents"]
        assert all("does not apply to" in f.message for f in well_formed), arn
        assert all(f.severity <= Severity.MEDIUM for f in well_formed), arn
        for f in findings:
            assert isinstance(f.severity, Severity) and f.message
        count += 1
    assert count >= 1500
