"""Job profiles: every profile's exact statements, trust, execution role and launcher policy; the table
checked against the IAM catalog and the README.

The expected documents below are written out by hand from the AWS pages the table cites, not derived
from the table, so a wrong row fails here.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from least_privilege.catalog import action_info

from pipeline import ROOT
from shared.config import ConfigError, Role, StackConfig, parse_stack_config
from shared.permissions import describe_role
from shared.policies import (
    execution_policy,
    execution_trust_policy,
    identity_policy,
    launch_policy,
    trust_policy,
)
from shared.profiles import (
    JOB_NAMES,
    JOB_PROFILES,
    PROFILE_PERMISSIONS,
    model_problem,
    parse_model,
    permission_table_markdown,
    placeholders,
    profile_table_markdown,
)

P = "ai-data-processing"
ACCT = "314159265358"
REGION = "eu-west-1"
VPC = "vpc-0123456789abcdef0"
VPC_ARN = f"arn:aws:ec2:{REGION}:{ACCT}:vpc/{VPC}"
FM = "anthropic.claude-3-haiku-20240307-v1:0"
PROFILE_ID = f"eu.{FM}"
PROFILE_ARN = f"arn:aws:bedrock:{REGION}:{ACCT}:inference-profile/{PROFILE_ID}"
LAUNCHER = f"arn:aws:iam::{ACCT}:role/orchestrator"


def stack_with(**role: Any) -> tuple[Role, StackConfig]:
    """A validated one-role stack (through the real parser) and its role."""
    entry = {
        "name": "job",
        "access": [{"bucket": "raw", "level": "read"}],
        "aiActions": [],
        "managedPolicyArns": [],
        **role,
    }
    raw = {
        "aws:region": REGION,
        f"{P}:accountId": ACCT,
        f"{P}:buckets": {"raw": {"name": "acme-raw"}},
        f"{P}:roles": [entry],
    }
    cfg = parse_stack_config(raw, stack="dev")
    return cfg.roles[0], cfg


def profile_part(role: Role, cfg: StackConfig) -> dict[str, dict[str, Any]]:
    """The statements the profile adds (all but the dataset's S3 ones), by Sid, without Sid and Effect."""
    statements = identity_policy(role, cfg)["Statement"]
    assert all(s["Effect"] == "Allow" for s in statements)
    return {
        s["Sid"]: {k: v for k, v in s.items() if k not in ("Sid", "Effect")}
        for s in statements
        if not s["Action"][0].startswith("s3:")
    }


def logs(group: str, streams: str) -> dict[str, Any]:
    return {
        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": [f"arn:aws:logs:{REGION}:{ACCT}:log-group:{group}:log-stream:{streams}"],
    }


def create_group(group: str) -> dict[str, Any]:
    return {
        "Action": ["logs:CreateLogGroup"],
        "Resource": [f"arn:aws:logs:{REGION}:{ACCT}:log-group:{group}"],
    }


def metrics(namespace: str) -> dict[str, Any]:
    return {
        "Action": ["cloudwatch:PutMetricData"],
        "Resource": ["*"],
        "Condition": {"StringEquals": {"cloudwatch:namespace": namespace}},
    }


TOKEN = {"Action": ["ecr:GetAuthorizationToken"], "Resource": ["*"]}


def pull(*repos: str) -> dict[str, Any]:
    return {
        "Action": ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
        "Resource": [f"arn:aws:ecr:{REGION}:{ACCT}:repository/{r}" for r in repos],
    }


ENI = f"arn:aws:ec2:{REGION}:{ACCT}:network-interface/*"
IN_VPC = {"ArnEquals": {"ec2:Vpc": VPC_ARN}}
SAGEMAKER_VPC = {
    "CreateVpcInterfaces": {
        "Action": ["ec2:CreateNetworkInterface"],
        "Resource": [
            ENI,
            f"arn:aws:ec2:{REGION}:{ACCT}:security-group/*",
            f"arn:aws:ec2:{REGION}:{ACCT}:subnet/*",
        ],
        "Condition": IN_VPC,
    },
    "ManageVpcInterfaces": {
        "Action": ["ec2:CreateNetworkInterfacePermission", "ec2:DeleteNetworkInterface"],
        "Resource": [ENI],
        "Condition": IN_VPC,
    },
    "DescribeVpc": {
        "Action": [
            "ec2:DeleteNetworkInterfacePermission",
            "ec2:DescribeDhcpOptions",
            "ec2:DescribeNetworkInterfaces",
            "ec2:DescribeSecurityGroups",
            "ec2:DescribeSubnets",
            "ec2:DescribeVpcs",
        ],
        "Resource": ["*"],
    },
}
INVOKE = ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"]


def models(actions: list[str]) -> dict[str, dict[str, Any]]:
    return {
        "InvokeModels": {"Action": actions, "Resource": [f"arn:aws:bedrock:{REGION}::foundation-model/{FM}"]},
        "InvokeProfile": {"Action": actions, "Resource": [PROFILE_ARN]},
        "InvokeProfileModel": {
            "Action": actions,
            "Resource": [f"arn:aws:bedrock:*::foundation-model/{FM}"],
            "Condition": {"ArnEquals": {"bedrock:InferenceProfileArn": PROFILE_ARN}},
        },
    }


SAGEMAKER_GROUPS = {
    "sagemaker-training": "/aws/sagemaker/TrainingJobs",
    "sagemaker-processing": "/aws/sagemaker/ProcessingJobs",
    "sagemaker-transform": "/aws/sagemaker/TransformJobs",
}


@pytest.mark.parametrize("profile", sorted(SAGEMAKER_GROUPS))
def test_sagemaker_job_profiles(profile: str) -> None:
    group = SAGEMAKER_GROUPS[profile]
    role, cfg = stack_with(
        job=profile, images=["ml/trainer", "base"], vpc=True, vpcId=VPC, models=[FM, PROFILE_ID]
    )
    assert profile_part(role, cfg) == {
        "WriteJobLogs": logs(group, "job-*"),
        "CreateJobLogGroup": create_group(group),
        "PublishJobMetrics": metrics(group),
        "GetRegistryToken": TOKEN,
        "PullJobImages": pull("base", "ml/trainer"),
        **SAGEMAKER_VPC,
        **models(INVOKE),
    }
    assert trust_policy(role, cfg)["Statement"] == [
        {
            "Sid": "TrustSagemaker",
            "Effect": "Allow",
            "Principal": {"Service": "sagemaker.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": ACCT}},
        }
    ]
    assert execution_policy(role, cfg) is None


def test_sagemaker_endpoint_scopes_the_group_by_endpoint_name() -> None:
    role, cfg = stack_with(job="sagemaker-endpoint", images=["serve"])
    assert profile_part(role, cfg) == {
        "WriteJobLogs": logs("/aws/sagemaker/Endpoints/job-*", "*"),
        "CreateJobLogGroup": create_group("/aws/sagemaker/Endpoints/job-*"),
        "PublishJobMetrics": metrics("/aws/sagemaker/Endpoints"),
        "GetRegistryToken": TOKEN,
        "PullJobImages": pull("serve"),
    }


def test_sagemaker_without_inputs_has_only_logs_and_metrics() -> None:
    role, cfg = stack_with(job="sagemaker-training")
    assert set(profile_part(role, cfg)) == {"WriteJobLogs", "CreateJobLogGroup", "PublishJobMetrics"}


@pytest.mark.parametrize(
    ("profile", "group", "streams", "create"),
    [("ecs-task", "/ecs/job", "*", False), ("batch-job", "/aws/batch/job", "job-*", True)],
)
def test_container_jobs_put_pull_and_logs_on_the_execution_role(
    profile: str, group: str, streams: str, create: bool
) -> None:
    role, cfg = stack_with(job=profile, images=["etl"], models=[FM])
    # The task role keeps the data access (and the model), nothing of the execution's.
    assert profile_part(role, cfg) == {
        "InvokeModels": {"Action": INVOKE, "Resource": [f"arn:aws:bedrock:{REGION}::foundation-model/{FM}"]}
    }
    execution = execution_policy(role, cfg)
    assert execution is not None
    by_sid = {
        s["Sid"]: {k: v for k, v in s.items() if k not in ("Sid", "Effect")} for s in execution["Statement"]
    }
    expected = {
        "WriteTaskLogs": logs(group, streams),
        "GetRegistryToken": TOKEN,
        "PullTaskImages": pull("etl"),
    }
    if create:
        expected["CreateTaskLogGroup"] = create_group(group)
    assert by_sid == expected
    for document in (trust_policy(role, cfg), execution_trust_policy(role, cfg)):
        assert document["Statement"] == [
            {
                "Sid": "TrustEcsTasks",
                "Effect": "Allow",
                "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"aws:SourceAccount": ACCT}},
            }
        ]
    assert describe_role(role, cfg)["job"]["executionRole"] == "job-execution"


def test_ec2_worker_logs_to_its_own_group_and_ssm_only_when_asked() -> None:
    role, cfg = stack_with(job="ec2-worker")
    assert profile_part(role, cfg) == {"WriteJobLogs": logs("/ai-data-processing/job", "*")}
    assert role.job is not None and role.job.log_retention_days == 30
    role, cfg = stack_with(job="ec2-worker", ssm=True, images=["worker"], logRetention=7)
    assert role.job is not None and role.job.log_retention_days == 7
    assert profile_part(role, cfg) == {
        "WriteJobLogs": logs("/ai-data-processing/job", "*"),
        "GetRegistryToken": TOKEN,
        "PullJobImages": pull("worker"),
        "RegisterWithSystemsManager": {
            "Action": ["ssm:UpdateInstanceInformation"],
            "Resource": [f"arn:aws:ec2:{REGION}:{ACCT}:instance/*"],
        },
        "OpenSessionChannels": {
            "Action": [
                "ssmmessages:CreateControlChannel",
                "ssmmessages:CreateDataChannel",
                "ssmmessages:OpenControlChannel",
                "ssmmessages:OpenDataChannel",
            ],
            "Resource": ["*"],
        },
    }
    assert trust_policy(role, cfg)["Statement"][0]["Principal"] == {"Service": "ec2.amazonaws.com"}
    assert "Condition" not in trust_policy(role, cfg)["Statement"][0]


def test_lambda_profile_with_vpc() -> None:
    role, cfg = stack_with(job="lambda", vpc=True, vpcId=VPC, models=[FM])
    assert profile_part(role, cfg) == {
        "WriteJobLogs": logs("/aws/lambda/job-*", "*"),
        "CreateJobLogGroup": create_group("/aws/lambda/job-*"),
        "CreateVpcInterfaces": SAGEMAKER_VPC["CreateVpcInterfaces"],
        "ManageVpcInterfaces": {
            "Action": [
                "ec2:AssignPrivateIpAddresses",
                "ec2:DeleteNetworkInterface",
                "ec2:UnassignPrivateIpAddresses",
            ],
            "Resource": [ENI],
            "Condition": IN_VPC,
        },
        "DescribeVpc": {
            "Action": ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"],
            "Resource": ["*"],
        },
        "InvokeModels": {"Action": INVOKE, "Resource": [f"arn:aws:bedrock:{REGION}::foundation-model/{FM}"]},
    }


def test_bedrock_batch_inference_role() -> None:
    role, cfg = stack_with(
        job="bedrock-batch-inference",
        models=[FM, PROFILE_ID],
        access=[{"bucket": "raw", "level": "read-write", "prefixes": ["batch/"]}],
    )
    statements = identity_policy(role, cfg)["Statement"]
    s3 = [s for s in statements if s["Action"][0].startswith("s3:")]
    assert [s["Sid"] for s in s3] == ["ReadRawBucket", "ListRawPrefixes", "ReadWriteRawObjects"]
    assert profile_part(role, cfg) == models(["bedrock:InvokeModel"])
    assert trust_policy(role, cfg)["Statement"] == [
        {
            "Sid": "TrustBedrock",
            "Effect": "Allow",
            "Principal": {"Service": "bedrock.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {
                "StringEquals": {"aws:SourceAccount": ACCT},
                "ArnLike": {"aws:SourceArn": f"arn:aws:bedrock:{REGION}:{ACCT}:model-invocation-job/*"},
            },
        }
    ]


def test_every_inference_profile_gets_its_own_conditioned_statement() -> None:
    other = "us.amazon.nova-pro-v1:0"
    role, cfg = stack_with(job="lambda", models=[PROFILE_ID, other])
    statements = [s for s in identity_policy(role, cfg)["Statement"] if s["Sid"].startswith("InvokeProfile")]
    assert [s["Sid"] for s in statements] == ["InvokeProfile", "InvokeProfileModel", "InvokeProfileModel2"]
    assert statements[0]["Resource"] == sorted(
        [PROFILE_ARN, f"arn:aws:bedrock:{REGION}:{ACCT}:inference-profile/{other}"]
    )
    pairs = {
        (s["Resource"][0], s["Condition"]["ArnEquals"]["bedrock:InferenceProfileArn"]) for s in statements[1:]
    }
    assert pairs == {
        (f"arn:aws:bedrock:*::foundation-model/{FM}", PROFILE_ARN),
        (
            "arn:aws:bedrock:*::foundation-model/amazon.nova-pro-v1:0",
            f"arn:aws:bedrock:{REGION}:{ACCT}:inference-profile/{other}",
        ),
    }


@pytest.mark.parametrize("profile", JOB_NAMES)
def test_launcher_passes_exactly_the_role_to_the_profile_service(profile: str) -> None:
    role, cfg = stack_with(job=profile, passableBy=[LAUNCHER, f"arn:aws:iam::{ACCT}:user/ci/deployer"])
    document = launch_policy(role, cfg)
    resources = [f"arn:aws:iam::{ACCT}:role/job"]
    if JOB_PROFILES[profile].execution_role:
        resources.append(f"arn:aws:iam::{ACCT}:role/job-execution")
    assert document == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PassJob",
                "Effect": "Allow",
                "Action": "iam:PassRole",
                "Resource": resources,
                "Condition": {"StringEquals": {"iam:PassedToService": JOB_PROFILES[profile].service}},
            }
        ],
    }


def test_no_launcher_policy_without_principals() -> None:
    role, cfg = stack_with(job="sagemaker-training")
    assert launch_policy(role, cfg) is None


def test_profile_services() -> None:
    assert {name: p.service for name, p in JOB_PROFILES.items()} == {
        "sagemaker-training": "sagemaker.amazonaws.com",
        "sagemaker-processing": "sagemaker.amazonaws.com",
        "sagemaker-transform": "sagemaker.amazonaws.com",
        "sagemaker-endpoint": "sagemaker.amazonaws.com",
        "ecs-task": "ecs-tasks.amazonaws.com",
        "batch-job": "ecs-tasks.amazonaws.com",
        "ec2-worker": "ec2.amazonaws.com",
        "bedrock-batch-inference": "bedrock.amazonaws.com",
        "lambda": "lambda.amazonaws.com",
    }


# ------------------------------------------------------------------------------------ the table


def test_every_table_action_is_in_the_catalog_with_its_canonical_spelling() -> None:
    for row in PROFILE_PERMISSIONS:
        for action in row.actions:
            info = action_info(action)
            assert info is not None, f"{row.sid}: {action} is not in the IAM catalog"
            assert info.full == action, f"{row.sid}: {action} is spelled {info.full} in the catalog"


def test_every_condition_key_applies_to_its_actions() -> None:
    """Action-level condition keys from the catalog (resource-level ones, ec2:Vpc, are per resource type)."""
    for row in PROFILE_PERMISSIONS:
        for pairs in (row.condition or {}).values():
            for key in pairs:
                if key.startswith("ec2:"):
                    continue
                for action in row.actions:
                    info = action_info(action)
                    assert info is not None and key in info.condition_keys, f"{row.sid}: {key} on {action}"


def test_every_row_cites_an_aws_page_and_every_profile_has_rows() -> None:
    for row in PROFILE_PERMISSIONS:
        assert row.source.startswith("https://docs.aws.amazon.com/"), row
        assert set(row.profiles) <= set(JOB_NAMES), row
        assert row.sid.isalnum(), row
    for name in JOB_NAMES:
        assert any(name in row.profiles for row in PROFILE_PERMISSIONS), name


def test_star_resources_only_for_actions_aws_authorises_only_on_star() -> None:
    for row in PROFILE_PERMISSIONS:
        if "*" in row.resources:
            for action in row.actions:
                info = action_info(action)
                assert info is not None and info.star_only, f"{row.sid}: {action} can be scoped"


def test_template_placeholders_are_all_known() -> None:
    known = {
        "partition",
        "region",
        "account",
        "role",
        "log_group",
        "log_streams",
        "namespace",
        "vpc_arn",
        "image",
        "model",
        "profile_id",
        "profile_model",
        "profile_arn",
    }
    for row in PROFILE_PERMISSIONS:
        values = [v for pairs in (row.condition or {}).values() for v in pairs.values()]
        assert placeholders([*row.resources, *values]) <= known, row


def test_readme_shows_the_table_and_the_profiles() -> None:
    readme = (ROOT / "README.md").read_text()
    assert permission_table_markdown() in readme
    assert profile_table_markdown() in readme


# ------------------------------------------------------------------------------------ model ids


@pytest.mark.parametrize(
    "model",
    [
        FM,
        PROFILE_ID,
        "amazon.titan-embed-text-v2:0",
        "meta.llama3-8b-instruct-v1:0",
        "us.amazon.nova-pro-v1:0",
        "global.anthropic.claude-sonnet-4-20250514-v1:0",
        "anthropic.claude-v2",
        "openai.gpt-oss-120b-1:0",
        "anthropic.claude-3-haiku-20240307-v1:0:200k",
        "us-gov.anthropic.claude-3-haiku-20240307-v1:0",
    ],
)
def test_valid_model_ids(model: str) -> None:
    assert model_problem(model) is None


@pytest.mark.parametrize(
    ("model", "fragment"),
    [
        ("claude-3-haiku", "expected <provider>.<model>"),
        ("anthropix.claude-3-haiku-20240307-v1:0", "'anthropix' is not a Bedrock model provider"),
        ("anthropic.claude-3-haiku", "ending in a version"),
        ("Anthropic.Claude-v2", "not a Bedrock model provider"),
        ("eu.foo.bar-v1:0", "'foo' is not a Bedrock model provider"),
        (f"arn:aws:bedrock:{REGION}::foundation-model/{FM}", "is an ARN"),
        ("anthropic.claude 3-v1", "ending in a version"),
    ],
)
def test_unknown_model_ids(model: str, fragment: str) -> None:
    problem = model_problem(model)
    assert problem is not None and fragment in problem


def test_parse_model_splits_geography() -> None:
    assert parse_model(PROFILE_ID).geography == "eu" and parse_model(PROFILE_ID).model_id == FM
    assert parse_model(FM).geography is None and parse_model(FM).model_id == FM


# ------------------------------------------------------------------------------------ any input at all

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
_JOB_FIELDS = (
    "job",
    "images",
    "models",
    "vpc",
    "vpcId",
    "logRetention",
    "ssm",
    "passableBy",
    "trustedServices",
)


@settings(max_examples=150, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(_JOB_FIELDS),
        _JSON | st.sampled_from([*JOB_NAMES, True, [FM], [PROFILE_ID], ["ml/trainer"], [LAUNCHER]]),
        max_size=6,
    )
)
def test_any_job_input_is_a_config_error_or_a_valid_role(fields: dict[str, Any]) -> None:
    """Whatever a stack file puts in the job keys, validation either accepts it or reports problems
    naming the role's keys; it never raises anything else, and an accepted role builds its documents."""
    try:
        role, cfg = stack_with(**fields)
    except ConfigError as error:
        assert error.problems and all(p.path.startswith(f"{P}:roles[0]") for p in error.problems), error
        return
    identity_policy(role, cfg)
    trust_policy(role, cfg)
    execution_policy(role, cfg)
    launch_policy(role, cfg)
    describe_role(role, cfg)
