"""Quick hypothesis robustness profile (the long one runs in `make bench`, see bench/robustness.py).

No exception may escape an engine entry point (a validator that raises aborts the whole preview), and
every document that is malformed by construction must yield at least one finding.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

ROOT = Path(__file__).resolve().parents[2]

from bench import robustness as rb  # noqa: E402

QUICK = settings(
    max_examples=rb.PROFILES["quick"],
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@QUICK
@given(rb.documents() | rb.documents(trust=True))
def test_well_formed_documents_never_raise(document: dict[str, Any]) -> None:
    rb.never_raises(document)
    rb.never_raises(json.dumps(document))


@QUICK
@given(rb.mutated_documents())
def test_mutated_documents_and_unknowns_anywhere_never_raise(document: Any) -> None:
    rb.never_raises(document)


@QUICK
@given(rb.arbitrary_json())
def test_wrong_types_everywhere_never_raise(document: Any) -> None:
    rb.never_raises(document)


@QUICK
@given(rb.malformed_documents())
def test_malformed_identity_shaped_documents_are_reported(case: tuple[str, Any]) -> None:
    rb.never_raises(case[1])
    rb.malformed_is_reported(case)


@QUICK
@given(rb.malformed_documents(trust=True))
def test_malformed_trust_shaped_documents_are_reported(case: tuple[str, Any]) -> None:
    rb.malformed_is_reported(case)


MALFORMED_CASES: list[tuple[str, Any]] = [
    ("invalid JSON", '{"Statement": ['),
    ("empty text", ""),
    ("top-level list", [{"Effect": "Allow", "Action": "*", "Resource": "*"}]),
    ("number", 42),
    ("no Statement", {"Version": "2012-10-17"}),
    (
        "Action and NotAction",
        {"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "NotAction": "iam:*", "Resource": "*"}]},
    ),
    ("bad Effect", {"Statement": {"Effect": "Permit", "Action": "s3:GetObject", "Resource": "*"}}),
    (
        "JSON text nested 5,000 deep (past the parser's recursion limit)",
        '{"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Condition": '
        + '{"a": ' * 5000
        + "1"
        + "}" * 5000
        + "}]}",
    ),
    (
        "deep condition",
        {
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "s3:GetObject",
                    "Resource": "*",
                    "Condition": rb._nest({"aws:SourceArn": "x"}, 200),
                }
            ]
        },
    ),
]


@pytest.mark.parametrize(("reason", "document"), MALFORMED_CASES, ids=[c[0] for c in MALFORMED_CASES])
def test_known_malformed_documents_are_well_formedness_findings(reason: str, document: Any) -> None:
    from least_privilege.analysis import check_identity_policy

    rules = {f.rule for f in check_identity_policy(document)}
    assert "iam-well-formed-documents" in rules, f"{reason}: got {sorted(rules)}"


def test_huge_action_list_and_unicode_are_analysed_not_rejected() -> None:
    from least_privilege.analysis import check_identity_policy

    document = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Données✓",
                "Effect": "Allow",
                "Action": ["s3:GetObject"] * 5000 + ["iam:PassRole", "ec2:RunInstances"],
                "Resource": "*",
            }
        ],
    }
    findings = check_identity_policy(document)
    rules = {f.rule for f in findings}
    # Analysed, not rejected: the escalation and star-resource rules still see all 5,002 actions.
    assert {"iam-no-wildcard-resources", "iam-no-privilege-escalation"} <= rules, sorted(rules)
    assert any(f.action and "passrole" in f.action.lower() for f in findings), [f.to_dict() for f in findings]
