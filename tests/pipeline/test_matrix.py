"""The access matrix on moto (in-process) for the three real stacks, and its failure modes.

The stacks' documents come from the real program (``run_program``, update mode); the expectations come
from the declared intent (stack output ``roles``). One emulator run per stack is shared by the tests.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from pipeline.emulator import matrix
from pipeline.emulator.matrix import (
    ALLOWED,
    DENIED,
    MISMATCH,
    PASS,
    UNDECIDABLE,
    WHY_CONDITION,
    WHY_KMS,
    MatrixResult,
    build_matrix,
    run_matrix,
)
from pipeline.program import run_program

ROOT = Path(__file__).resolve().parents[2]
STACKS = ("dev", "staging", "prod")


@pytest.fixture(scope="module", params=STACKS)
def stack_result(request: pytest.FixtureRequest) -> tuple[str, Any, MatrixResult]:
    stack = request.param
    run = run_program(stack, preview=False)
    return stack, run, run_matrix(stack, run=run)


def test_zero_mismatches_and_both_kinds_of_rows_per_role(stack_result: tuple[str, Any, MatrixResult]) -> None:
    stack, run, result = stack_result
    assert result.mismatches == [], matrix.render(result)
    assert result.ok
    counts = result.counts()
    roles = {info["name"] for info in run.outputs["roles"].values()}
    assert roles <= set(counts), f"{stack}: roles without rows: {roles - set(counts)}"
    for role in roles:
        assert counts[role][ALLOWED] > 0, f"{stack}/{role}: no granted operation was proven"
        assert counts[role][DENIED] > 0, f"{stack}/{role}: no denial was proven"
        assert counts[role][MISMATCH] == 0


def test_every_declared_action_is_exercised_and_allowed(stack_result: tuple[str, Any, MatrixResult]) -> None:
    """Each dataset grant of the intent has a passing 'allowed' row for each S3 action it declares."""
    _stack, run, result = stack_result
    op_for = {
        "s3:ListBucket": "s3:ListObjectsV2",
        "s3:GetObject": "s3:GetObject",
        "s3:PutObject": "s3:PutObject",
    }
    for info in run.outputs["roles"].values():
        for ds in info["permissions"]["datasets"].values():
            for action in set(ds["actions"]) & set(op_for):
                rows = [
                    o
                    for o in result.outcomes
                    if o.check.role == info["name"]
                    and o.check.operation == op_for[action]
                    and o.check.params["Bucket"] == ds["bucket"]
                    and o.check.expected == ALLOWED
                ]
                assert rows, f"{info['name']}: no row for {action} on {ds['bucket']}"
                assert all(o.status == PASS and o.observed == ALLOWED for o in rows)


def test_writes_on_read_only_datasets_and_deletes_are_denied(
    stack_result: tuple[str, Any, MatrixResult],
) -> None:
    _stack, run, result = stack_result
    read_only = {
        (info["name"], ds["bucket"])
        for info in run.outputs["roles"].values()
        for ds in info["permissions"]["datasets"].values()
        if ds["level"] == "read"
    }
    assert read_only, "the stock stacks have read-only datasets"
    for role, bucket in read_only:
        puts = [
            o
            for o in result.outcomes
            if (o.check.role, o.check.params.get("Bucket")) == (role, bucket)
            and o.check.operation == "s3:PutObject"
        ]
        assert puts and all(o.observed == DENIED and o.status == PASS for o in puts)
    deletes = [o for o in result.outcomes if o.check.operation == "s3:DeleteObject"]
    assert deletes and all(o.observed == DENIED for o in deletes)


def test_other_environments_and_iam_are_denied(stack_result: tuple[str, Any, MatrixResult]) -> None:
    stack, _run, result = stack_result
    others = [
        o for o in result.outcomes if any(f"-{env}" in o.check.resource for env in STACKS if env != stack)
    ]
    assert others, f"{stack}: no rows for the other environments' buckets"
    assert all(o.observed == DENIED and o.status == PASS for o in others)
    escalation = [o for o in result.outcomes if o.check.operation == "iam:PutRolePolicy"]
    assert escalation and all(o.observed == DENIED for o in escalation)


def test_prefix_listing_outside_is_shown_as_not_decidable(
    stack_result: tuple[str, Any, MatrixResult],
) -> None:
    """moto ignores Condition: the row exists, says why, and is neither a pass nor a mismatch."""
    _stack, _run, result = stack_result
    rows = [o for o in result.outcomes if o.check.undecidable == WHY_CONDITION]
    assert rows
    assert all(o.status == UNDECIDABLE and o.check.expected == DENIED for o in rows)
    assert {o.observed for o in rows} == {ALLOWED}  # what moto does, shown as observed
    assert "Not decidable by the emulator" in matrix.render(result)


def test_kms_rows_are_not_decidable_where_buckets_use_sse_kms(
    stack_result: tuple[str, Any, MatrixResult],
) -> None:
    stack, run, result = stack_result
    kms_buckets = [b for b in matrix.stack_buckets(run.config).values() if b.get("kmsKeyArn")]
    rows = [o for o in result.outcomes if o.check.operation.startswith("kms:")]
    if not kms_buckets:
        assert rows == [], f"{stack} has no SSE-KMS bucket"
        return
    assert rows and all(o.check.undecidable == WHY_KMS and o.status == UNDECIDABLE for o in rows)


def test_json_form_carries_the_same_rows(stack_result: tuple[str, Any, MatrixResult]) -> None:
    _stack, _run, result = stack_result
    data = json.loads(json.dumps(result.to_dict()))
    assert data["ok"] is True
    assert len(data["rows"]) == len(result.outcomes)
    assert {"role", "operation", "resource", "expected", "observed", "status"} <= set(data["rows"][0])
    assert data["counts"] == result.counts()


# --------------------------------------------------------------------------- the matrix catches drift


def test_broadened_and_narrowed_documents_are_mismatches(with_policy: Any) -> None:
    """One tampered run: role A's document gains s3:DeleteObject, role B's loses s3:PutObject."""
    run = run_program("dev", preview=False)
    roles = run.outputs["roles"]
    broad = next(r for r in roles if roles[r]["permissions"]["datasets"])
    narrow = next(
        r
        for r in roles
        if r != broad
        and any("s3:PutObject" in d["actions"] for d in roles[r]["permissions"]["datasets"].values())
    )
    bucket = next(iter(roles[broad]["permissions"]["datasets"].values()))["bucket"]

    def add_delete(doc: dict[str, Any]) -> None:
        doc["Statement"].append(
            {"Effect": "Allow", "Action": "s3:DeleteObject", "Resource": f"arn:aws:s3:::{bucket}/*"}
        )

    def drop_put(doc: dict[str, Any]) -> None:
        for st in doc["Statement"]:
            acts = [st["Action"]] if isinstance(st["Action"], str) else st["Action"]
            st["Action"] = [a for a in acts if a != "s3:PutObject"] or ["s3:GetObjectTagging"]

    result = run_matrix("dev", run=with_policy(with_policy(run, broad, add_delete), narrow, drop_put))
    bad = {(o.check.role, o.check.operation, o.observed) for o in result.mismatches}
    assert (broad, "s3:DeleteObject", ALLOWED) in bad
    assert (narrow, "s3:PutObject", DENIED) in bad
    assert not result.ok
    assert "FAILED" in matrix.render(result)


# --------------------------------------------------------------------------- pure parts


def test_build_matrix_expectations_come_from_intent_not_documents() -> None:
    run = run_program("dev", preview=False)
    layout = matrix.build_layout(run)
    rows = build_matrix(run, layout=layout, managed_docs={})
    assert rows and {r.expected for r in rows} == {ALLOWED, DENIED}
    emptied = dataclasses.replace(run, resources=[r for r in run.resources if r.type != matrix.POLICY_T])
    assert build_matrix(emptied, layout=layout, managed_docs={}) == rows


@pytest.mark.parametrize(
    ("action", "resource", "allowed"),
    [
        ("s3:GetObject", "arn:aws:s3:::any-bucket/k", True),
        ("S3:GETOBJECT", "arn:aws:s3:::any-bucket/k", True),
        ("s3:PutObject", "arn:aws:s3:::any-bucket/k", False),
        ("iam:ListRoles", "*", True),
        ("iam:PassRole", "arn:aws:iam::1:role/x", False),
    ],
)
def test_managed_expectations_use_the_engines_evaluation(action: str, resource: str, allowed: bool) -> None:
    doc = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": ["s3:Get*", "iam:List*", "iam:PassRole"], "Resource": "*"},
            {"Effect": "Deny", "Action": "iam:PassRole", "Resource": "*"},
        ],
    }
    expected = "Broad" if allowed else ""
    assert matrix._managed_grant({"arn:aws:iam::aws:policy/Broad": doc}, ["arn:aws:iam::aws:policy/Broad"],
                                 action, resource) == expected
