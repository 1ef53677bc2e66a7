"""Job profiles rehearsed on moto: the calls the job makes under its role, and the ones it must not.

The stack is the real dev stack file with one role per kind of holder (SageMaker training with an image
and an inference profile, an ECS task with an execution role, a Bedrock batch inference role, an EC2
worker, a Lambda function with a model), run through the real program and the real emulator run. Then
tampered documents show which rows moto decides: an ``ecr:GetAuthorizationToken`` that is missing, and
grants on ``*`` where the stack says "not this repository / group / model".
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from pipeline import ROOT
from pipeline.emulator import matrix
from pipeline.emulator.matrix import (
    ALLOWED,
    DENIED,
    MISMATCH,
    PASS,
    UNDECIDABLE,
    Check,
    MatrixResult,
    Outcome,
)
from pipeline.emulator.rehearsal import (
    OTHER_LOG_GROUP,
    OTHER_MODEL,
    OTHER_REPOSITORY,
    WHY_METRIC,
    job_probes,
)
from pipeline.program import run_program
from pipeline.recording import ProgramRun
from pipeline.stackconfig import load_project, resolve_stack_values, to_runtime_string

P = "ai-data-processing"
FM = "anthropic.claude-3-haiku-20240307-v1:0"
PROFILE_ID = f"eu.{FM}"
JOB_KEYS = ("job", "trustedServices", "images", "models", "vpc", "vpcId", "ssm", "logRetention", "passableBy")


def _role(values: dict[str, Any], name: str, **fields: Any) -> dict[str, Any]:
    for role in values[f"{P}:roles"]:
        if role["name"] == name:
            for key in JOB_KEYS:
                role.pop(key, None)
            role.update(fields)
            return role
    raise KeyError(name)


def profiled_run() -> ProgramRun:
    values, _file = resolve_stack_values(load_project(ROOT), "dev")
    _role(values, "ingest-worker", job="ec2-worker")
    _role(values, "model-training", job="sagemaker-training", images=["acme-ml/trainer"], models=[PROFILE_ID])
    _role(values, "batch-inference", job="ecs-task", images=["acme-ml/inference"], models=[FM])
    values[f"{P}:roles"] += [
        {
            "name": "bulk-enrichment",
            "job": "bedrock-batch-inference",
            "models": [FM],
            "access": [
                {"bucket": "raw", "level": "read", "prefixes": ["batch-in/"]},
                {"bucket": "features", "level": "write", "prefixes": ["batch-out/"]},
            ],
            "aiActions": [],
            "managedPolicyArns": [],
        },
        {
            "name": "summarizer",
            "job": "lambda",
            "models": [FM],
            "access": [{"bucket": "raw", "level": "read", "prefixes": ["incoming/"]}],
            "aiActions": [],
            "managedPolicyArns": [],
        },
    ]
    config = {key: to_runtime_string(value) for key, value in values.items()}
    return run_program("dev", preview=False, config=config)


@pytest.fixture(scope="module")
def run() -> ProgramRun:
    return profiled_run()


@pytest.fixture(scope="module")
def result(run: ProgramRun) -> MatrixResult:
    return run_matrix_for(run)


def run_matrix_for(run: Any) -> MatrixResult:
    return matrix.run_matrix("dev", run=run)


def rows(result: MatrixResult, role: str, operation: str, resource_part: str = "") -> list[Outcome]:
    return [
        o
        for o in result.outcomes
        if o.check.role == role and o.check.operation == operation and resource_part in o.check.resource
    ]


def test_profiled_stack_has_no_mismatch_and_rows_for_every_job(result: MatrixResult) -> None:
    assert result.ok, [(o.check.role, o.check.operation, o.check.resource) for o in result.mismatches]
    roles = {o.check.role for o in result.outcomes}
    assert {"ingest-worker", "model-training", "batch-inference", "batch-inference-execution"} <= roles
    assert {"bulk-enrichment", "summarizer"} <= roles


def test_registry_token_is_decided_for_every_holder(result: MatrixResult) -> None:
    expected = {
        "model-training": ALLOWED,  # pulls its own image
        "batch-inference-execution": ALLOWED,  # the ECS execution role pulls
        "batch-inference": DENIED,  # the task role never pulls
        "ingest-worker": DENIED,  # no image configured
        "summarizer": DENIED,
        "bulk-enrichment": DENIED,
    }
    for role, want in expected.items():
        [row] = rows(result, role, "ecr:GetAuthorizationToken")
        assert (row.check.expected, row.observed, row.status) == (want, want, PASS), role


def test_scoped_rows_on_resource_blind_services_are_not_decidable(result: MatrixResult) -> None:
    scoped = [
        o
        for o in result.outcomes
        if o.check.operation.split(":")[0] in ("ecr", "logs", "bedrock-runtime")
        and o.check.operation != "ecr:GetAuthorizationToken"
    ]
    assert scoped
    for o in scoped:
        # The stack's documents scope every one of these, so moto (resource '*') denies them all.
        assert o.observed == DENIED and o.status == UNDECIDABLE and o.reason == o.check.blind, o.check
    pulls = rows(result, "model-training", "ecr:BatchGetImage", "repository/acme-ml/trainer")
    assert [o.check.expected for o in pulls] == [ALLOWED]
    other = rows(result, "model-training", "ecr:BatchGetImage", f"repository/{OTHER_REPOSITORY}")
    assert [o.check.expected for o in other] == [DENIED]
    ecs_logs = rows(
        result, "batch-inference-execution", "logs:CreateLogStream", "log-group:/ecs/batch-inference:"
    )
    assert [o.check.expected for o in ecs_logs] == [ALLOWED]


def test_metric_rows_are_not_decidable_and_say_why(result: MatrixResult) -> None:
    metric = rows(result, "model-training", "cloudwatch:PutMetricData")
    assert {(o.check.expected, o.status, o.reason) for o in metric} == {
        (ALLOWED, UNDECIDABLE, WHY_METRIC),
        (DENIED, UNDECIDABLE, WHY_METRIC),
    }
    assert "n/d" in matrix.render(result) and WHY_METRIC in matrix.render(result)


def test_batch_inference_invokes_without_streaming_and_reads_in_writes_out(result: MatrixResult) -> None:
    stream = rows(result, "bulk-enrichment", "bedrock-runtime:InvokeModelWithResponseStream")
    assert [o.check.expected for o in stream] == [DENIED]
    gets = rows(result, "bulk-enrichment", "s3:GetObject", "batch-in/")
    puts = rows(result, "bulk-enrichment", "s3:PutObject", "batch-out/")
    assert gets and puts and all(o.status == PASS and o.observed == ALLOWED for o in gets + puts)
    assert all(
        o.status == PASS and o.observed == DENIED
        for o in rows(result, "bulk-enrichment", "s3:PutObject", "batch-in/")
    )


def test_star_grants_are_caught_on_resource_blind_services(run: ProgramRun, with_policy: Any) -> None:
    def broaden(doc: dict[str, Any]) -> None:
        doc["Statement"].append(
            {
                "Effect": "Allow",
                "Action": ["ecr:BatchGetImage", "logs:CreateLogStream", "bedrock:InvokeModel"],
                "Resource": "*",
            }
        )

    result = run_matrix_for(with_policy(run, "model-training", broaden))
    bad = {(o.check.operation, o.check.resource.rsplit(":", 1)[-1]) for o in result.mismatches}
    assert ("ecr:BatchGetImage", f"repository/{OTHER_REPOSITORY}") in bad
    assert any(
        o.check.operation == "logs:CreateLogStream" and OTHER_LOG_GROUP in o.check.resource
        for o in result.mismatches
    )
    assert any(
        o.check.operation == "bedrock-runtime:InvokeModel" and OTHER_MODEL in o.check.resource
        for o in result.mismatches
    )
    # The same star grant makes the job's own pull decided: allowed, as the stack says.
    [own] = rows(result, "model-training", "ecr:BatchGetImage", "repository/acme-ml/trainer")
    assert (own.observed, own.status) == (ALLOWED, PASS)


def test_missing_registry_token_is_a_mismatch(run: ProgramRun, with_policy: Any) -> None:
    def drop_token(doc: dict[str, Any]) -> None:
        doc["Statement"] = [s for s in doc["Statement"] if s["Sid"] != "GetRegistryToken"]

    result = run_matrix_for(with_policy(run, "model-training", drop_token))
    assert [(o.check.role, o.check.operation, o.observed) for o in result.mismatches] == [
        ("model-training", "ecr:GetAuthorizationToken", DENIED)
    ]


def test_blind_rows_are_decided_only_when_allowed() -> None:
    check = Check("r", "ecr:BatchGetImage", "ecr:BatchGetImage", "arn", DENIED, "why", blind="blind")
    assert Outcome(check, DENIED).status == UNDECIDABLE
    assert Outcome(check, ALLOWED).status == MISMATCH
    allowed = dataclasses.replace(check, expected=ALLOWED)
    assert Outcome(allowed, DENIED).status == UNDECIDABLE
    assert Outcome(allowed, ALLOWED).status == PASS
    fixed = dataclasses.replace(check, undecidable="conditions")
    assert Outcome(fixed, ALLOWED).status == UNDECIDABLE


@pytest.mark.parametrize(
    ("job", "principals"),
    [
        (
            {
                "profile": "ecs-task",
                "executionRole": "t-execution",
                "images": ["x"],
                "logGroup": "/ecs/t",
                "logStreams": "*",
                "metricNamespace": None,
                "models": [],
                "actions": [],
            },
            {"t", "t-execution"},
        ),
        (
            {
                "profile": "bedrock-batch-inference",
                "executionRole": None,
                "images": [],
                "logGroup": None,
                "logStreams": "",
                "metricNamespace": None,
                "models": [FM],
                "actions": ["bedrock:InvokeModel"],
            },
            {"t"},
        ),
    ],
)
def test_probes_run_under_the_holder_of_each_permission(job: dict[str, Any], principals: set[str]) -> None:
    probes = job_probes("t", job, "314159265358", "eu-west-1")
    assert {p.principal for p in probes} == principals
    if job["executionRole"]:
        pulls = [p for p in probes if p.operation == "ecr:BatchGetImage" and p.allowed]
        assert {p.principal for p in pulls} == {"t-execution"}
