"""The seed configuration as a regression fixture, judged by moto.

One EC2 role, ``ReadOnlyAccess`` attached, and a custom policy with ``s3:ListBucket``, ``s3:GetObject``
and ``s3:PutObject`` on ``arn:aws:s3:::example-bucket/*``. The fixture is written in the RecordedResource
shape (it cannot pass the project's config model). moto must show both defects: the custom ListBucket
grants nothing (listing denied), and ReadOnlyAccess reads a bucket nobody asked for.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.emulator.matrix import ALLOWED, DENIED, MISMATCH, PASS, MatrixResult, load_run_file, run_matrix

ROOT = Path(__file__).resolve().parents[2]
SEED = Path(__file__).parent / "fixtures" / "seed" / "run.json"
ROLE = "seed-ec2-role"
OWN = f"{ROLE} [own policy only]"


@pytest.fixture(scope="module")
def seed() -> MatrixResult:
    return run_matrix("seed", run=load_run_file(SEED))


def test_listing_is_denied_by_the_seed_policy(seed: MatrixResult) -> None:
    rows = [o for o in seed.outcomes if o.check.role == OWN and o.check.operation == "s3:ListObjectsV2"]
    assert len(rows) == 1
    (row,) = rows
    assert row.check.resource == "arn:aws:s3:::example-bucket"
    assert row.check.expected == ALLOWED  # the seed's author meant to grant it
    assert row.observed == DENIED  # ListBucket on an object ARN grants nothing
    assert row.status == MISMATCH
    assert seed.mismatches == [row]
    assert not seed.ok


def test_get_and_put_work_with_the_seed_policy(seed: MatrixResult) -> None:
    for op in ("s3:GetObject", "s3:PutObject"):
        (row,) = [o for o in seed.outcomes if o.check.role == OWN and o.check.operation == op]
        assert row.observed == ALLOWED and row.status == PASS


def test_foreign_bucket_read_is_allowed_through_read_only_access(seed: MatrixResult) -> None:
    foreign = [
        o
        for o in seed.outcomes
        if o.check.role == ROLE
        and o.check.operation == "s3:GetObject"
        and "example-bucket" not in o.check.resource
    ]
    assert foreign, "the matrix must read a bucket outside the seed's configuration"
    for row in foreign:
        assert row.observed == ALLOWED
        assert row.check.expected == ALLOWED and "ReadOnlyAccess" in row.check.why
        assert row.status == PASS
    # ... but not write to it: ReadOnlyAccess has no s3:Put*.
    puts = [o for o in seed.outcomes if o.check.role == ROLE and o.check.operation == "s3:PutObject"]
    assert any(o.observed == DENIED for o in puts)


def test_the_deployed_role_lists_only_thanks_to_read_only_access(seed: MatrixResult) -> None:
    (row,) = [
        o
        for o in seed.outcomes
        if o.check.role == ROLE
        and o.check.operation == "s3:ListObjectsV2"
        and o.check.params["Bucket"] == "example-bucket"
    ]
    assert row.observed == ALLOWED and "ReadOnlyAccess" not in row.check.why  # intent, not the attachment
    assert any("ReadOnlyAccess" in n and "document from" in n for n in seed.notes)


def test_cli_exits_1_and_prints_json_for_the_seed() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", "access-matrix", "--run-file", str(SEED), "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    data = json.loads(done.stdout)
    assert data["ok"] is False
    assert data["counts"][OWN]["mismatch"] == 1
    assert data["counts"][ROLE]["allowed"] > 0 and data["counts"][ROLE]["denied"] > 0


def test_unknown_stack_is_exit_2_without_traceback() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", "access-matrix", "--stack", "no-such-stack"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "Pulumi.no-such-stack.yaml" in done.stderr and "Traceback" not in done.stderr


def test_attachment_of_a_policy_the_stack_does_not_create_is_exit_2(tmp_path: Path) -> None:
    raw = json.loads(SEED.read_text())
    for r in raw["resources"]:
        if r["name"] == "seed-s3-policy-attachment":
            r["inputs"]["policyArn"] = "arn:aws:iam::123456789012:policy/typo-policy"
    bad = tmp_path / "run.json"
    bad.write_text(json.dumps(raw))
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", "access-matrix", "--run-file", str(bad)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "typo-policy" in done.stderr and "Traceback" not in done.stderr
