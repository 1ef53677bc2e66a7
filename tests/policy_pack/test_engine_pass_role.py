"""iam:PassRole on named roles: bounded by those roles, but only iam:PassedToService bounds where they go."""

from __future__ import annotations

from typing import Any

import pytest
from least_privilege.analysis import check_identity_policy
from least_privilege.findings import PRIVILEGE_ESCALATION, Severity

ROLE = "arn:aws:iam::111122223333:role/model-training"


def _doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _pass_role(resource: Any = ROLE, condition: dict[str, Any] | None = None,
               action: Any = "iam:PassRole") -> dict[str, Any]:
    st: dict[str, Any] = {"Effect": "Allow", "Action": action, "Resource": resource}
    if condition is not None:
        st["Condition"] = condition
    return st


def _escalation(doc: dict[str, Any]) -> list[Any]:
    return [f for f in check_identity_policy(doc) if f.rule == PRIVILEGE_ESCALATION]


SERVICE = {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}


@pytest.mark.parametrize(
    "condition",
    [None, {"StringEquals": {"aws:RequestedRegion": "eu-west-1"}},
     {"StringLike": {"iam:PassedToService": "*"}},
     {"StringNotEquals": {"iam:PassedToService": "lambda.amazonaws.com"}}],
)
def test_named_role_without_a_service_condition_is_a_blocking_finding(condition: Any) -> None:
    (finding,) = _escalation(_doc(_pass_role(condition=condition)))
    assert finding.severity == Severity.MEDIUM
    assert "iam:PassedToService" in finding.message and ROLE in finding.message


@pytest.mark.parametrize("action", ["iam:PassRole", ["iam:PassRole"], "iam:Pass*", "iam:passrole"])
def test_named_role_passed_to_one_service_is_accepted(action: Any) -> None:
    assert not [f for f in _escalation(_doc(_pass_role(condition=SERVICE, action=action)))
                if f.severity >= Severity.MEDIUM]


def test_one_unconditioned_statement_is_enough() -> None:
    doc = _doc(_pass_role(condition=SERVICE), _pass_role())
    (finding,) = _escalation(doc)
    assert finding.severity == Severity.MEDIUM and "Statement[1]" in finding.message


def test_denied_pass_role_is_not_reported() -> None:
    doc = _doc(_pass_role(), {"Effect": "Deny", "Action": "iam:PassRole", "Resource": ROLE})
    assert _escalation(doc) == []


@pytest.mark.parametrize("resource", ["*", "arn:aws:iam::111122223333:role/model-*"])
def test_wider_pass_role_keeps_its_higher_finding(resource: str) -> None:
    findings = _escalation(_doc(_pass_role(resource=resource)))
    assert findings and max(f.severity for f in findings) >= Severity.HIGH
    assert not any(f.severity == Severity.MEDIUM and "without an iam:PassedToService" in f.message
                   for f in findings)
