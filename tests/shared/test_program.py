"""The real program, run under mocks for each real stack file, in update and preview mode.

Expectations are derived from the stack files' values with an oracle written from the documented
access-level table (shared/policies.py docstring), not by calling the builders under test.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from least_privilege.catalog import action_info

from pipeline import ROOT
from pipeline.program import run_program
from pipeline.stackconfig import load_stack_config

STACKS = ("dev", "staging", "prod")
MODES = (False, True)
MODE_IDS = ("up", "preview")

# The documented access-level table, restated independently as the oracle.
OBJECT_ACTIONS = {
    "read": ["s3:GetObject"],
    "write": ["s3:AbortMultipartUpload", "s3:PutObject"],
    "read-write": ["s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject"],
}
KMS_ACTIONS = {
    "read": ["kms:Decrypt"],
    "write": ["kms:Decrypt", "kms:GenerateDataKey"],
    "read-write": ["kms:Decrypt", "kms:GenerateDataKey"],
}
SOURCE_ACCOUNT_SERVICES = {"sagemaker.amazonaws.com", "bedrock.amazonaws.com", "ecs-tasks.amazonaws.com"}
BUCKET_ACTIONS = {"s3:ListBucket", "s3:GetBucketLocation"}
# The job profiles the stock stacks use, restated from the AWS pages the profile table cites: the service
# that runs the job, and where it logs (group, streams, whether the role may create the group).
JOB_SERVICE = {
    "ec2-worker": "ec2.amazonaws.com",
    "sagemaker-training": "sagemaker.amazonaws.com",
    "sagemaker-transform": "sagemaker.amazonaws.com",
    "lambda": "lambda.amazonaws.com",
}


def services(role: dict[str, Any]) -> list[str]:
    """Who may assume the role: ``trustedServices``, or the service of its job."""
    return role.get("trustedServices") or [JOB_SERVICE[role["job"]]]


def expected_job_statements(values: dict[str, Any], role: dict[str, Any]) -> list[dict[str, Any]]:
    """What the stock roles' job profiles add, in the order of the profile table."""
    if "job" not in role:
        return []
    region, account, name, job = (
        values["aws:region"],
        values["ai-data-processing:accountId"],
        role["name"],
        role["job"],
    )
    logs = f"arn:aws:logs:{region}:{account}:log-group:"
    if job.startswith("sagemaker-"):
        group = {
            "sagemaker-training": "/aws/sagemaker/TrainingJobs",
            "sagemaker-transform": "/aws/sagemaker/TransformJobs",
        }[job]
        streams, create, namespace = f"{name}-*", group, group
    elif job == "ec2-worker":
        group, streams, create, namespace = f"/ai-data-processing/{name}", "*", None, None
    elif job == "lambda":
        group, streams, create, namespace = f"/aws/lambda/{name}-*", "*", f"/aws/lambda/{name}-*", None
    else:
        pytest.fail(f"the oracle does not restate job {job}")
    out: list[dict[str, Any]] = [
        {
            "Sid": "WriteJobLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": [f"{logs}{group}:log-stream:{streams}"],
        },
    ]
    if create:
        out.append(
            {
                "Sid": "CreateJobLogGroup",
                "Effect": "Allow",
                "Action": ["logs:CreateLogGroup"],
                "Resource": [f"{logs}{create}"],
            }
        )
    if namespace:
        out.append(
            {
                "Sid": "PublishJobMetrics",
                "Effect": "Allow",
                "Action": ["cloudwatch:PutMetricData"],
                "Resource": ["*"],
                "Condition": {"StringEquals": {"cloudwatch:namespace": namespace}},
            }
        )
    if role.get("images"):
        out.append(
            {
                "Sid": "GetRegistryToken",
                "Effect": "Allow",
                "Action": ["ecr:GetAuthorizationToken"],
                "Resource": ["*"],
            }
        )
        out.append(
            {
                "Sid": "PullJobImages",
                "Effect": "Allow",
                "Action": [
                    "ecr:BatchCheckLayerAvailability",
                    "ecr:BatchGetImage",
                    "ecr:GetDownloadUrlForLayer",
                ],
                "Resource": sorted(f"arn:aws:ecr:{region}:{account}:repository/{i}" for i in role["images"]),
            }
        )
    if role.get("models"):
        assert all(
            m.count(".") == 1 or m.split(".")[0] not in ("us", "eu", "apac", "global") for m in role["models"]
        )
        out.append(
            {
                "Sid": "InvokeModels",
                "Effect": "Allow",
                "Action": ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"],
                "Resource": sorted(f"arn:aws:bedrock:{region}::foundation-model/{m}" for m in role["models"]),
            }
        )
    return out


def partition_of(region: str) -> str:
    assert not region.startswith(("cn-", "us-gov-")), "oracle only covers the aws partition"
    return "aws"


def camel(text: str) -> str:
    return "".join(part.capitalize() for part in text.replace(".", "-").split("-"))


def expected_statements(h: Any, values: dict[str, Any], role: dict[str, Any]) -> list[dict[str, Any]]:
    region = values["aws:region"]
    p = partition_of(region)
    account = h.cfg(values, "accountId")
    buckets = h.cfg(values, "buckets")
    out: list[dict[str, Any]] = []
    for access in sorted(role["access"], key=lambda a: a["bucket"]):
        logical, level = access["bucket"], access["level"]
        prefixes = sorted(access.get("prefixes", []))
        bucket = buckets[logical]
        bucket_arn = f"arn:{p}:s3:::{bucket['name']}"
        name = camel(logical)
        if level in ("read", "read-write"):
            if prefixes:
                out.append(
                    {
                        "Sid": f"Read{name}Bucket",
                        "Effect": "Allow",
                        "Action": ["s3:GetBucketLocation"],
                        "Resource": [bucket_arn],
                    }
                )
                out.append(
                    {
                        "Sid": f"List{name}Prefixes",
                        "Effect": "Allow",
                        "Action": ["s3:ListBucket"],
                        "Resource": [bucket_arn],
                        "Condition": {"StringLike": {"s3:prefix": [f"{x}*" for x in prefixes]}},
                    }
                )
            else:
                out.append(
                    {
                        "Sid": f"Read{name}Bucket",
                        "Effect": "Allow",
                        "Action": ["s3:GetBucketLocation", "s3:ListBucket"],
                        "Resource": [bucket_arn],
                    }
                )
        word = {"read": "Read", "write": "Write", "read-write": "ReadWrite"}[level]
        objects = [f"{bucket_arn}/{x}*" for x in prefixes] or [f"{bucket_arn}/*"]
        out.append(
            {
                "Sid": f"{word}{name}Objects",
                "Effect": "Allow",
                "Action": OBJECT_ACTIONS[level],
                "Resource": objects,
            }
        )
        if bucket.get("kmsKeyArn"):
            out.append(
                {
                    "Sid": f"Use{name}Key",
                    "Effect": "Allow",
                    "Action": KMS_ACTIONS[level],
                    "Resource": [bucket["kmsKeyArn"]],
                    "Condition": {"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}},
                }
            )
    by_service: dict[tuple[str, tuple[str, ...]], list[str]] = {}
    for action in role["aiActions"]:
        info = action_info(action)
        assert info is not None
        required = [rt for rt in info.resource_types if rt.required]
        if required:
            filled = {
                fmt.replace("${Partition}", p).replace("${Region}", region).replace("${Account}", account)
                for rt in required
                for fmt in rt.arn_formats
            }
            resources = tuple(sorted(re.sub(r"\$\{[A-Za-z0-9]+\}", "*", arn) for arn in filled))
        else:
            resources = ("*",)
        by_service.setdefault((info.service, resources), []).append(info.full)
    for (service, resources), actions in sorted(by_service.items()):
        out.append(
            {
                "Sid": f"Use{camel(service)}",
                "Effect": "Allow",
                "Action": sorted(actions),
                "Resource": list(resources),
            }
        )
    return out + expected_job_statements(values, role)


def expected_trust(h: Any, values: dict[str, Any], role: dict[str, Any]) -> dict[str, Any]:
    account = h.cfg(values, "accountId")
    statements = []
    for service in sorted(services(role)):
        statement: dict[str, Any] = {
            "Sid": f"Trust{camel(service.removesuffix('.amazonaws.com'))}",
            "Effect": "Allow",
            "Principal": {"Service": service},
            "Action": "sts:AssumeRole",
        }
        if service in SOURCE_ACCOUNT_SERVICES:
            statement["Condition"] = {"StringEquals": {"aws:SourceAccount": account}}
        statements.append(statement)
    return {"Version": "2012-10-17", "Statement": statements}


def roles_of(h: Any, stack: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    values = h.stack_values(stack)
    return values, h.cfg(values, "roles")


# ------------------------------------------------------------------------------------------ tests


def test_stock_configs_model_the_team(harness: Any) -> None:
    """Every environment is its own account, uses its own bucket names, and has the required roles."""
    accounts, bucket_names = set(), []
    for stack in STACKS:
        values, roles = roles_of(harness, stack)
        accounts.add(harness.cfg(values, "accountId"))
        bucket_names.append({b["name"] for b in harness.cfg(values, "buckets").values()})
        by_name = {r["name"]: r for r in roles}
        ingest = by_name["ingest-worker"]
        assert [(a["bucket"], a["level"]) for a in ingest["access"]] == [("raw", "write")]
        training = {a["bucket"]: a["level"] for a in by_name["model-training"]["access"]}
        assert training == {"raw": "read", "features": "read-write", "models": "write"}
        assert len(by_name["model-training"]["aiActions"]) == 1
        # The jobs themselves run: each stock role has the profile of the job it runs.
        assert {r["name"]: r.get("job") for r in roles} == {
            "ingest-worker": "ec2-worker",
            "model-training": "sagemaker-training",
            "batch-inference": "sagemaker-transform",
            "document-enrichment": "lambda",
        }
        assert len(by_name["model-training"]["images"]) == 1
        assert len(by_name["document-enrichment"]["models"]) == 1
        assert "aws:region" in values
    assert len(accounts) == len(STACKS)
    for i, names in enumerate(bucket_names):
        for other in bucket_names[i + 1 :]:
            assert not names & other, "environments must not share buckets"


def test_prod_attaches_no_aws_managed_policy(harness: Any) -> None:
    _, roles = roles_of(harness, "prod")
    for role in roles:
        assert not [arn for arn in role["managedPolicyArns"] if ":iam::aws:policy/" in arn], role["name"]


@pytest.mark.parametrize("preview", MODES, ids=MODE_IDS)
@pytest.mark.parametrize("stack", STACKS)
def test_resources_per_role(harness: Any, stock_runs: Any, stack: str, preview: bool) -> None:
    run = stock_runs(stack, preview)
    _, roles = roles_of(harness, stack)
    components = harness.of_type(run, harness.COMPONENT)
    assert sorted(c.name for c in components) == sorted(r["name"] for r in roles)
    for role in roles:
        name = role["name"]
        component = harness.one(run, harness.COMPONENT, name)
        children = harness.children(run, component.urn)
        expected = {
            (harness.ROLE, f"{name}-role"),
            (harness.POLICY, f"{name}-policy"),
            (harness.ATTACHMENT, f"{name}-policy-attachment"),
        }
        expected |= {
            (harness.ATTACHMENT, f"{name}-managed-{arn.rsplit('/', 1)[-1]}")
            for arn in role["managedPolicyArns"]
        }
        if "ec2.amazonaws.com" in services(role):
            expected.add((harness.INSTANCE_PROFILE, f"{name}-instance-profile"))
        if role.get("job") == "ec2-worker":
            expected.add(("aws:cloudwatch/logGroup:LogGroup", f"{name}-log-group"))
        if role.get("passableBy"):
            expected.add((harness.POLICY, f"{name}-launch-policy"))
            expected |= {
                (harness.ATTACHMENT, f"{name}-launch-{arn.rsplit('/', 1)[-1]}") for arn in role["passableBy"]
            }
        assert {(c.type, c.name) for c in children} == expected
    # nothing outside the components (besides the stack itself)
    assert all(r.parent.endswith(f"pulumi:pulumi:Stack::ai-data-processing-{stack}") for r in components)
    assert len(harness.registered(run)) == len(components) + sum(
        len(harness.children(run, c.urn)) for c in components
    )


@pytest.mark.parametrize("preview", MODES, ids=MODE_IDS)
@pytest.mark.parametrize("stack", STACKS)
def test_role_inputs(harness: Any, stock_runs: Any, stack: str, preview: bool) -> None:
    run = stock_runs(stack, preview)
    values, roles = roles_of(harness, stack)
    boundary = harness.cfg(values, "permissionsBoundaryArn")
    tags = harness.cfg(values, "tags")
    for role in roles:
        inputs = harness.one(run, harness.ROLE, f"{role['name']}-role").inputs
        assert inputs["name"] == role["name"]
        assert json.loads(inputs["assumeRolePolicy"]) == expected_trust(harness, values, role)
        assert inputs["maxSessionDuration"] == role.get("maxSessionDuration", 3600)
        assert inputs.get("permissionsBoundary") == (boundary or None)
        assert inputs["tags"] == tags


@pytest.mark.parametrize("preview", MODES, ids=MODE_IDS)
@pytest.mark.parametrize("stack", STACKS)
def test_policy_documents_exact(harness: Any, stock_runs: Any, stack: str, preview: bool) -> None:
    run = stock_runs(stack, preview)
    values, roles = roles_of(harness, stack)
    for role in roles:
        inputs = harness.one(run, harness.POLICY, f"{role['name']}-policy").inputs
        assert inputs["name"] == f"{role['name']}-access"
        assert inputs["path"] == "/"
        document = json.loads(inputs["policy"])
        assert document["Version"] == "2012-10-17"
        assert document["Statement"] == expected_statements(harness, values, role)


@pytest.mark.parametrize("preview", MODES, ids=MODE_IDS)
@pytest.mark.parametrize("stack", STACKS)
def test_attachments(harness: Any, stock_runs: Any, stack: str, preview: bool) -> None:
    run = stock_runs(stack, preview)
    values, roles = roles_of(harness, stack)
    account = harness.cfg(values, "accountId")
    for role in roles:
        name = role["name"]
        role_urn = harness.one(run, harness.ROLE, f"{name}-role").urn
        policy_urn = harness.one(run, harness.POLICY, f"{name}-policy").urn
        own = harness.one(run, harness.ATTACHMENT, f"{name}-policy-attachment")
        assert own.inputs == {"role": name, "policyArn": f"arn:aws:iam::{account}:policy/{name}-access"}
        assert set(own.dependencies) == {role_urn, policy_urn}
        managed = [
            r for r in harness.of_type(run, harness.ATTACHMENT) if r.name.startswith(f"{name}-managed-")
        ]
        assert sorted(r.inputs["policyArn"] for r in managed) == sorted(role["managedPolicyArns"])
        launch_urn = [
            p.urn for p in harness.of_type(run, harness.POLICY) if p.name == f"{name}-launch-policy"
        ]
        for arn in role.get("passableBy", []):
            launcher = harness.one(run, harness.ATTACHMENT, f"{name}-launch-{arn.rsplit('/', 1)[-1]}")
            assert launcher.inputs == {
                "role": arn.rsplit("/", 1)[-1],
                "policyArn": f"arn:aws:iam::{account}:policy/{name}-launch",
            }
            assert set(launcher.dependencies) == set(launch_urn)
            document = json.loads(harness.one(run, harness.POLICY, f"{name}-launch-policy").inputs["policy"])
            assert document["Statement"] == [
                {
                    "Sid": f"Pass{camel(name)}",
                    "Effect": "Allow",
                    "Action": "iam:PassRole",
                    "Resource": [f"arn:aws:iam::{account}:role/{name}"],
                    "Condition": {"StringEquals": {"iam:PassedToService": services(role)[0]}},
                }
            ]
        if "ec2.amazonaws.com" in services(role):
            profile = harness.one(run, harness.INSTANCE_PROFILE, f"{name}-instance-profile")
            assert profile.inputs["name"] == name
            assert profile.inputs["role"] == name
            assert role_urn in profile.dependencies


@pytest.mark.parametrize("preview", MODES, ids=MODE_IDS)
@pytest.mark.parametrize("stack", STACKS)
def test_stack_outputs(harness: Any, stock_runs: Any, stack: str, preview: bool) -> None:
    run = stock_runs(stack, preview)
    values, roles = roles_of(harness, stack)
    account = harness.cfg(values, "accountId")
    buckets = harness.cfg(values, "buckets")
    assert run.outputs["stack"] == stack
    assert run.outputs["accountId"] == account
    assert set(run.outputs["roles"]) == {r["name"] for r in roles}
    for role in roles:
        name = role["name"]
        out = run.outputs["roles"][name]
        assert out["name"] == name
        assert out["arn"] == f"arn:aws:iam::{account}:role/{name}"
        assert out["policyArn"] == f"arn:aws:iam::{account}:policy/{name}-access"
        ec2 = "ec2.amazonaws.com" in services(role)
        assert out.get("instanceProfileName") == (name if ec2 else None)
        perms = out["permissions"]
        assert perms["aiActions"] == sorted(role["aiActions"])
        assert perms["managedPolicyArns"] == sorted(role["managedPolicyArns"])
        assert perms["trustedServices"] == sorted(services(role))
        if role.get("job"):
            assert perms["job"]["profile"] == role["job"]
            assert perms["job"]["images"] == sorted(role.get("images", []))
            assert perms["job"]["models"] == sorted(role.get("models", []))
            assert perms["job"]["passableBy"] == sorted(role.get("passableBy", []))
        launch = f"arn:aws:iam::{account}:policy/{name}-launch" if role.get("passableBy") else None
        assert out["launchPolicyArn"] == launch
        assert set(perms["datasets"]) == {a["bucket"] for a in role["access"]}
        # The reported actions are exactly those the policy grants for the dataset.
        document = json.loads(harness.one(run, harness.POLICY, f"{name}-policy").inputs["policy"])
        for access in role["access"]:
            dataset = perms["datasets"][access["bucket"]]
            bucket = buckets[access["bucket"]]
            assert dataset["bucket"] == bucket["name"]
            assert dataset["level"] == access["level"]
            assert dataset["prefixes"] == sorted(access.get("prefixes", []))
            granted = {
                action
                for st in document["Statement"]
                for res in st["Resource"]
                if res.split(":::")[-1].split("/")[0] == bucket["name"] or res == bucket.get("kmsKeyArn")
                for action in st["Action"]
            }
            assert dataset["actions"] == sorted(granted)


@pytest.mark.parametrize("stack", STACKS)
def test_everything_iam_is_known_at_preview(harness: Any, stock_runs: Any, stack: str) -> None:
    """Every input of every IAM resource (documents, names, ARNs) is known during preview."""
    run = stock_runs(stack, True)
    custom = [r for r in harness.registered(run) if r.custom]
    assert {r.type for r in custom} >= {harness.ROLE, harness.POLICY, harness.ATTACHMENT}
    for reg in custom:
        assert not harness.contains_unknown(reg.inputs), (reg.type, reg.name)
    assert not harness.contains_unknown(run.outputs), "stack outputs must be known at preview"


@pytest.mark.parametrize("stack", STACKS)
def test_preview_harness_really_produces_unknowns(harness: Any, stock_runs: Any, stack: str) -> None:
    """Guards the test above: computed outputs (the role's arn) ARE unknown in preview, known in update."""
    for component, outputs in harness.component_outputs(stock_runs(stack, True)).items():
        assert harness.contains_unknown(outputs["arn"]), component
    for component, outputs in harness.component_outputs(stock_runs(stack, False)).items():
        assert outputs["arn"].startswith("arn:aws:iam::"), component


@pytest.mark.parametrize("preview", MODES, ids=MODE_IDS)
@pytest.mark.parametrize("stack", STACKS)
def test_seed_defect_regression(harness: Any, stock_runs: Any, stack: str, preview: bool) -> None:
    """No s3:ListBucket (or other bucket action) on an object ARN, no object action on a bucket ARN,
    no S3 action on "*", no wildcard action anywhere."""
    run = stock_runs(stack, preview)
    policies = harness.of_type(run, harness.POLICY)
    assert policies
    for reg in policies:
        for statement in harness.iter_statements(json.loads(reg.inputs["policy"])):
            actions = harness.as_list(statement["Action"])
            resources = harness.as_list(statement["Resource"])
            assert not any("*" in a or "?" in a for a in actions), statement
            s3 = [a for a in actions if a.startswith("s3:")]
            if not s3:
                continue
            for resource in resources:
                assert resource.startswith("arn:aws:s3:::"), (reg.name, statement["Sid"], resource)
                on_object = "/" in resource
                for action in s3:
                    if action in BUCKET_ACTIONS:
                        assert not on_object, f"{action} on object ARN {resource} in {reg.name}"
                    else:
                        assert on_object, f"{action} on bucket ARN {resource} in {reg.name}"


def test_managed_policy_attachments(harness: Any, dev_values: dict[str, Any]) -> None:
    """A role's managedPolicyArns each become one attachment, after the role, with the ARN as given."""
    account = harness.cfg(dev_values, "accountId")
    arns = [
        "arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy",
        f"arn:aws:iam::{account}:policy/team/ml-logs-writer",
    ]
    harness.cfg(dev_values, "roles")[0]["managedPolicyArns"] = arns
    name = harness.cfg(dev_values, "roles")[0]["name"]
    for preview in MODES:
        run = run_program("dev", preview=preview, config=harness.encode(dev_values))  # raises on error
        role_urn = harness.one(run, harness.ROLE, f"{name}-role").urn
        managed = {
            r.name: r
            for r in harness.of_type(run, harness.ATTACHMENT)
            if r.name.startswith(f"{name}-managed-")
        }
        assert set(managed) == {
            f"{name}-managed-CloudWatchAgentServerPolicy",
            f"{name}-managed-ml-logs-writer",
        }
        assert sorted(r.inputs["policyArn"] for r in managed.values()) == sorted(arns)
        for reg in managed.values():
            assert reg.inputs["role"] == name
            assert role_urn in reg.dependencies
        assert run.outputs["roles"][name]["permissions"]["managedPolicyArns"] == sorted(arns)


def test_config_from_the_engine_environment(
    harness: Any, stock_runs: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real run receives config in PULUMI_CONFIG (not set_all_config); the program reads both."""
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps(load_stack_config(ROOT, "staging")))
    run = run_program("staging", preview=True, config={})  # nothing in-process; raises on error
    expected = {(r.type, r.name): r.inputs for r in harness.registered(stock_runs("staging", True))}
    assert {(r.type, r.name): r.inputs for r in harness.registered(run)} == expected


def test_runs_are_deterministic(harness: Any, stock_runs: Any) -> None:
    again = run_program("prod", preview=False)
    first = {(r.type, r.name): r.inputs for r in stock_runs("prod", False).resources}
    assert {(r.type, r.name): r.inputs for r in again.resources} == first


@pytest.mark.parametrize("stack", STACKS)
def test_stock_documents_pass_the_engine(harness: Any, stock_runs: Any, stack: str) -> None:
    """The stock configs must stay clean for the policy pack: nothing above LOW (LOW is the engine's note
    that star-only actions such as comprehend:BatchDetectEntities can only be granted on "*")."""
    from least_privilege.analysis import (
        DEFAULT_SETTINGS,
        check_identity_policy,
        check_managed_policy_arn,
        check_trust_policy,
    )
    from least_privilege.findings import Severity

    run = stock_runs(stack, True)
    findings = []
    for reg in harness.of_type(run, harness.POLICY):
        findings += check_identity_policy(reg.inputs["policy"], DEFAULT_SETTINGS)
    for reg in harness.of_type(run, harness.ROLE):
        findings += check_trust_policy(reg.inputs["assumeRolePolicy"], DEFAULT_SETTINGS)
    for reg in harness.of_type(run, harness.ATTACHMENT):
        findings += check_managed_policy_arn(reg.inputs["policyArn"], DEFAULT_SETTINGS)
    assert [f.to_dict() for f in findings if f.severity > Severity.LOW] == []
