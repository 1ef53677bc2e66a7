"""Bad job-profile input, run through the real program on the real dev stack file: each must fail with
exactly its own problem, naming the stack file and the key, before any resource is registered.
Then what the program creates for profiles: execution role, log group, launcher policy and attachments.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from pipeline.errors import ConfigurationError
from pipeline.program import run_program
from shared.config import ConfigError

P = "ai-data-processing"
ROLES = f"{P}:roles"
JOB_KEYS = ("job", "trustedServices", "images", "models", "vpc", "vpcId", "ssm", "logRetention", "passableBy")

Mutation = Callable[[dict[str, Any]], None]


def training(**fields: Any) -> Mutation:
    """Role 1 (model-training) with exactly these job fields, whatever the stack file sets today."""

    def mutate(values: dict[str, Any]) -> None:
        role = values[ROLES][1]
        assert role["name"] == "model-training"
        for key in JOB_KEYS:
            role.pop(key, None)
        role.update(fields)

    return mutate


def account(values: dict[str, Any]) -> str:
    return str(values[f"{P}:accountId"])


TRAINING = "sagemaker-training"
R1 = f"{ROLES}[1]"

# (id, mutation, exact key path, message fragment)
CASES: list[tuple[str, Mutation, str, str]] = [
    (
        "unknown-profile",
        training(job="sagemaker-trainer"),
        f"{R1}.job",
        "unknown job profile 'sagemaker-trainer'; did you mean 'sagemaker-training'?",
    ),
    ("profile-not-a-string", training(job=["lambda"]), f"{R1}.job", "unknown job profile"),
    (
        "image-with-wildcard",
        training(job=TRAINING, images=["acme-ml/*"]),
        f"{R1}.images[0]",
        "contains a wildcard",
    ),
    (
        "image-with-tag",
        training(job=TRAINING, images=["acme-ml/trainer:latest"]),
        f"{R1}.images[0]",
        "repository name only",
    ),
    (
        "image-uppercase",
        training(job=TRAINING, images=["Trainer"]),
        f"{R1}.images[0]",
        "not an ECR repository name",
    ),
    ("image-twice", training(job=TRAINING, images=["t1", "t1"]), f"{R1}.images", "listed twice"),
    (
        "unknown-model-id",
        training(job=TRAINING, models=["anthropic.claude-99"]),
        f"{R1}.models[0]",
        "unknown model id 'anthropic.claude-99'",
    ),
    (
        "unknown-model-provider",
        training(job=TRAINING, models=["openia.gpt-v1:0"]),
        f"{R1}.models[0]",
        "'openia' is not a Bedrock model provider",
    ),
    ("model-wildcard", training(job=TRAINING, models=["anthropic.*"]), f"{R1}.models[0]", "wildcard"),
    (
        "input-without-job",
        training(trustedServices=["sagemaker.amazonaws.com"], images=["t1"]),
        f"{R1}.images",
        "set 'job'",
    ),
    (
        "input-the-profile-ignores",
        training(job="lambda", images=["t1"]),
        f"{R1}.images",
        "job 'lambda' does not use 'images'",
    ),
    ("ssm-outside-ec2", training(job=TRAINING, ssm=True), f"{R1}.ssm", "does not use 'ssm'"),
    ("vpc-without-id", training(job=TRAINING, vpc=True), f"{R1}.vpcId", "needs the VPC's id"),
    ("vpc-id-malformed", training(job=TRAINING, vpc=True, vpcId="vpc-xyz"), f"{R1}.vpcId", "not a VPC id"),
    ("vpc-not-boolean", training(job=TRAINING, vpc="yes"), f"{R1}.vpc", "must be true or false"),
    (
        "log-retention-for-service-group",
        training(job=TRAINING, logRetention=30),
        f"{R1}.logRetention",
        "does not use 'logRetention'",
    ),
    (
        "log-retention-invalid",
        training(job="ec2-worker", logRetention=31),
        f"{R1}.logRetention",
        "not a CloudWatch Logs retention",
    ),
    (
        "trust-contradicts-profile",
        training(job=TRAINING, trustedServices=["ec2.amazonaws.com"]),
        f"{R1}.trustedServices",
        "is run by sagemaker.amazonaws.com",
    ),
    ("no-trust-no-job", training(), f"{R1}.trustedServices", "missing required key (or set 'job'"),
    (
        "launcher-wildcard",
        training(job=TRAINING, passableBy=["arn:aws:iam::314159265358:role/*"]),
        f"{R1}.passableBy[0]",
        "wildcard",
    ),
    (
        "launcher-other-account",
        training(job=TRAINING, passableBy=["arn:aws:iam::111122223333:role/ci"]),
        f"{R1}.passableBy[0]",
        "belongs to account 111122223333",
    ),
    (
        "launcher-not-a-principal",
        training(job=TRAINING, passableBy=["arn:aws:s3:::bucket"]),
        f"{R1}.passableBy[0]",
        "not an IAM role or user ARN",
    ),
]


@pytest.mark.parametrize("preview", [False, True], ids=["up", "preview"])
@pytest.mark.parametrize(("mutate", "path", "fragment"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_profile_input_is_rejected_before_any_resource(
    harness: Any, dev_values: dict[str, Any], mutate: Mutation, path: str, fragment: str, preview: bool
) -> None:
    mutate(dev_values)
    with pytest.raises(ConfigurationError) as raised:
        run_program("dev", preview=preview, config=harness.encode(dev_values))
    error, run = raised.value.__cause__, raised.value.run
    assert isinstance(error, ConfigError), repr(raised.value)
    assert run is not None and harness.registered(run) == []
    message = str(error)
    assert "Pulumi.dev.yaml" in message
    assert [p.path for p in error.problems] == [path], message
    assert fragment in error.problems[0].message, message


def test_execution_role_name_must_fit(harness: Any, dev_values: dict[str, Any]) -> None:
    training(job="ecs-task")(dev_values)
    dev_values[ROLES][1]["name"] = "t" * 60
    with pytest.raises(ConfigurationError) as raised:
        run_program("dev", preview=True, config=harness.encode(dev_values))
    error = raised.value.__cause__
    assert isinstance(error, ConfigError)
    assert [p.path for p in error.problems] == [f"{R1}.name"]
    assert "execution role" in error.problems[0].message


def test_every_problem_of_several_roles_at_once(harness: Any, dev_values: dict[str, Any]) -> None:
    training(job="sagemaker-trainer", images=["x*"], models=["nope"])(dev_values)
    dev_values[ROLES][0].update({"job": "ec2-worker", "logRetention": 2})
    dev_values[ROLES][0].pop("trustedServices", None)
    with pytest.raises(ConfigurationError) as raised:
        run_program("dev", preview=True, config=harness.encode(dev_values))
    error = raised.value.__cause__
    assert isinstance(error, ConfigError)
    assert [p.path for p in error.problems] == [
        f"{ROLES}[0].logRetention",
        f"{R1}.job",
        f"{R1}.images[0]",
        f"{R1}.models[0]",
    ]


def test_program_creates_execution_role_log_group_and_launcher(
    harness: Any, dev_values: dict[str, Any]
) -> None:
    acct = account(dev_values)
    orchestrator = f"arn:aws:iam::{acct}:role/pipelines/orchestrator"
    deployer = f"arn:aws:iam::{acct}:user/deployer"
    training(job="ecs-task", images=["etl"], logRetention=14, passableBy=[orchestrator, deployer])(dev_values)
    run = run_program("dev", preview=True, config=harness.encode(dev_values))
    roles = {r.inputs["name"] for r in harness.of_type(run, harness.ROLE)}
    assert {"model-training", "model-training-execution"} <= roles
    group = harness.one(run, "aws:cloudwatch/logGroup:LogGroup", "model-training-log-group")
    assert group.inputs["name"] == "/ecs/model-training" and group.inputs["retentionInDays"] == 14
    launch = harness.one(run, harness.POLICY, "model-training-launch-policy")
    assert launch.inputs["name"] == "model-training-launch"
    launch_arn = f"arn:aws:iam::{acct}:policy/model-training-launch"
    role_attachment = harness.one(run, harness.ATTACHMENT, "model-training-launch-orchestrator")
    assert role_attachment.inputs == {"role": "orchestrator", "policyArn": launch_arn} | {
        k: v for k, v in role_attachment.inputs.items() if k not in ("role", "policyArn")
    }
    user_attachment = harness.one(
        run, "aws:iam/userPolicyAttachment:UserPolicyAttachment", "model-training-launch-user-deployer"
    )
    assert user_attachment.inputs["user"] == "deployer" and user_attachment.inputs["policyArn"] == launch_arn
    summary = run.outputs["roles"]["model-training"]
    assert summary["launchPolicyArn"] == launch_arn
    assert summary["executionRoleArn"] == f"arn:aws:iam::{acct}:role/model-training-execution"
    assert summary["permissions"]["job"]["executionActions"] == [
        "ecr:BatchCheckLayerAvailability",
        "ecr:BatchGetImage",
        "ecr:GetAuthorizationToken",
        "ecr:GetDownloadUrlForLayer",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
    ]
    # Every document and ARN is known at preview.
    for resource in harness.registered(run):
        assert not harness.contains_unknown(resource.inputs), resource.name


def test_readme_example_is_what_the_prod_stack_deploys(harness: Any, stock_runs: Any) -> None:
    """The README's complete example (model-training in prod) quotes the program's real documents."""
    import json
    import re

    from pipeline import ROOT

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("A complete example, the stock `model-training` role") :]
    blocks = re.findall(r"```json\n(.*?)```", section, flags=re.S)[:2]
    statements = json.loads("[" + blocks[0] + "]")
    launcher = json.loads(blocks[1])
    run = stock_runs("prod", True)
    policy = json.loads(harness.one(run, harness.POLICY, "model-training-policy").inputs["policy"])
    deployed = [
        s for s in policy["Statement"] if not s["Action"][0].startswith(("s3:", "kms:", "comprehend:"))
    ]
    assert statements == deployed
    assert launcher == json.loads(
        harness.one(run, harness.POLICY, "model-training-launch-policy").inputs["policy"]
    )
