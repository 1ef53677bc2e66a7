"""Job profiles: what a role needs so the job it runs actually works, and nothing more.

A role with ``job: <profile>`` gets, besides its data access, the permissions the service documents as
the minimum for running that kind of job: writing its logs, publishing its metrics, pulling its container
images, creating network interfaces in a VPC, invoking Bedrock models. Every permission of every profile
is one row of ``PROFILE_PERMISSIONS`` below, which cites the AWS page the row comes from; the builders in
``shared.policies`` only fill these rows in, and the README's profile table is rendered from them
(``permission_table_markdown``), so the code, the table and the documentation cannot drift apart.

Scoping rules the rows follow:

* Logs: ``logs:CreateLogStream`` and ``logs:PutLogEvents`` on the streams of this role's jobs only. Job
  names start with the role name (``<role>-...``), and SageMaker and Batch name a job's log streams after
  the job, so the stream pattern is ``<role>-*`` inside the service's fixed group. Groups named after one
  resource (SageMaker endpoints, Lambda functions) are scoped by the group name instead. Where the group is
  the service's account-wide one (``/aws/sagemaker/TrainingJobs``, ``/aws/batch/job``), the role may also
  create exactly that group (the first job of an account does so); where the group is the role's own
  (EC2 workers, ECS tasks), the stack creates it with the configured retention and the role may not.
* Metrics: ``cloudwatch:PutMetricData`` is authorised only on ``*``; the ``cloudwatch:namespace``
  condition limits it to the service's namespace.
* Images: ``ecr:GetAuthorizationToken`` is authorised only on ``*``; the three pull actions are granted
  on the named repositories of the stack's account and region only.
* VPC: the network-interface actions SageMaker (or Lambda) documents, each scoped to the stack's region
  and account and conditioned on ``ec2:Vpc`` naming the configured VPC; the describe calls are ``*``-only.
* Bedrock: invoking exact model ARNs. A cross-region inference profile needs the profile's ARN and the
  model in every destination region the profile routes to; AWS chooses and extends those regions, so the
  model is granted in any region (``arn:<partition>:bedrock:*::foundation-model/<id>``) but only for calls
  made through that profile (``bedrock:InferenceProfileArn``).
* ECS and Batch: image pull and logs belong to the task *execution* role, created beside the task role
  (``<role>-execution``); the task role keeps only the data access.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final, Literal

Holder = Literal["role", "execution role"]
# When a row applies: always, or only when the role configures the matching input.
When = Literal["always", "images", "vpc", "ssm", "foundation models", "inference profiles"]

# ------------------------------------------------------------------------------------ AWS pages cited

SAGEMAKER_ROLES_DOC: Final = "https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-roles.html"
SAGEMAKER_LOGS_DOC: Final = "https://docs.aws.amazon.com/sagemaker/latest/dg/logging-cloudwatch.html"
SAGEMAKER_METRICS_DOC: Final = "https://docs.aws.amazon.com/sagemaker/latest/dg/monitoring-cloudwatch.html"
CLOUDWATCH_NAMESPACE_DOC: Final = (
    "https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/iam-cw-condition-keys-namespace.html"
)
ECR_PULL_DOC: Final = "https://docs.aws.amazon.com/AmazonECR/latest/userguide/security_iam_id-based-policy-examples.html"
SAGEMAKER_VPC_DOC: Final = "https://docs.aws.amazon.com/sagemaker/latest/dg/train-vpc.html"
EC2_CONDITION_KEYS_DOC: Final = (
    "https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2.html"
)
ECS_EXECUTION_DOC: Final = "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_execution_IAM_role.html"
BATCH_EXECUTION_DOC: Final = "https://docs.aws.amazon.com/batch/latest/userguide/execution-IAM-role.html"
BATCH_LOGS_DOC: Final = "https://docs.aws.amazon.com/batch/latest/userguide/using_awslogs.html"
CW_AGENT_DOC: Final = (
    "https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/create-iam-roles-for-cloudwatch-agent.html"
)
SSM_MINIMAL_DOC: Final = (
    "https://docs.aws.amazon.com/systems-manager/latest/userguide/getting-started-create-iam-instance-profile.html"
)
LAMBDA_ROLE_DOC: Final = "https://docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html"
LAMBDA_VPC_DOC: Final = "https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html"
BEDROCK_INVOKE_DOC: Final = "https://docs.aws.amazon.com/bedrock/latest/userguide/security_iam_id-based-policy-examples.html"
BEDROCK_PROFILE_DOC: Final = "https://docs.aws.amazon.com/bedrock/latest/userguide/inference-profiles-prereq.html"
BEDROCK_BATCH_DOC: Final = "https://docs.aws.amazon.com/bedrock/latest/userguide/batch-iam-sr.html"
BEDROCK_MODEL_IDS_DOC: Final = "https://docs.aws.amazon.com/bedrock/latest/userguide/models-supported.html"
PASS_ROLE_DOC: Final = "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html"

# ------------------------------------------------------------------------------------ the profiles


@dataclass(frozen=True, slots=True)
class JobProfile:
    """One kind of job: who runs it, where it logs and publishes metrics, which inputs it accepts.

    ``log_group`` and ``log_streams`` may contain ``{role}``; ``stack_log_group`` says the stack creates
    the group (the role's own, with ``logRetention``) instead of the service creating it.
    """

    name: str
    service: str
    summary: str
    log_group: str | None
    log_streams: str
    stack_log_group: bool = False
    metric_namespace: str | None = None
    accepts_images: bool = False
    accepts_vpc: bool = False
    accepts_ssm: bool = False
    execution_role: bool = False
    source: str = ""


_SAGEMAKER = "sagemaker.amazonaws.com"
_ECS_TASKS = "ecs-tasks.amazonaws.com"


def _sagemaker(
    name: str, summary: str, kind: str, *, log_group: str = "", log_streams: str = "{role}-*"
) -> JobProfile:
    """A SageMaker profile: the service's /aws/sagemaker/<kind> group and namespace, images and VPC."""
    namespace = f"/aws/sagemaker/{kind}"
    return JobProfile(
        name, _SAGEMAKER, f"SageMaker {summary}", log_group or namespace, log_streams,
        metric_namespace=namespace, accepts_images=True, accepts_vpc=True, source=SAGEMAKER_ROLES_DOC,
    )


JOB_PROFILES: Final[Mapping[str, JobProfile]] = MappingProxyType(
    {
        p.name: p
        for p in (
            _sagemaker("sagemaker-training", "training job", "TrainingJobs"),
            _sagemaker("sagemaker-processing", "processing job", "ProcessingJobs"),
            _sagemaker(
                "sagemaker-transform", "batch transform (the model's role)", "TransformJobs"
            ),
            _sagemaker(
                "sagemaker-endpoint", "real-time endpoint (the model's role)", "Endpoints",
                log_group="/aws/sagemaker/Endpoints/{role}-*", log_streams="*",
            ),
            JobProfile(
                "ecs-task", _ECS_TASKS, "ECS task: task role (data) + task execution role (image pull, logs)",
                "/ecs/{role}", "*", stack_log_group=True, accepts_images=True, execution_role=True,
                source=ECS_EXECUTION_DOC,
            ),
            JobProfile(
                "batch-job", _ECS_TASKS, "AWS Batch job: job role (data) + execution role (image pull, logs)",
                "/aws/batch/job", "{role}-*", accepts_images=True, execution_role=True,
                source=BATCH_EXECUTION_DOC,
            ),
            JobProfile(
                "ec2-worker", "ec2.amazonaws.com", "EC2 instance (instance profile) running a worker",
                "/ai-data-processing/{role}", "*", stack_log_group=True, accepts_images=True,
                accepts_ssm=True, source=CW_AGENT_DOC,
            ),
            JobProfile(
                "bedrock-batch-inference", "bedrock.amazonaws.com",
                "Bedrock batch inference service role (CreateModelInvocationJob)", None, "",
                source=BEDROCK_BATCH_DOC,
            ),
            JobProfile(
                "lambda", "lambda.amazonaws.com", "Lambda function execution role",
                "/aws/lambda/{role}-*", "*", accepts_vpc=True, source=LAMBDA_ROLE_DOC,
            ),
        )
    }
)
JOB_NAMES: Final[tuple[str, ...]] = tuple(JOB_PROFILES)
SAGEMAKER_JOBS: Final = tuple(n for n in JOB_NAMES if n.startswith("sagemaker-"))

EXECUTION_ROLE_SUFFIX: Final = "-execution"
LAUNCH_POLICY_SUFFIX: Final = "-launch"

# ------------------------------------------------------------------------------------ the table

# Resource and condition templates: {partition} {region} {account} {role} {log_group} {log_streams}
# {namespace} {vpc_arn}; {image} repeats the row per configured image, {model} per foundation model,
# {profile_id}/{profile_model}/{profile_arn} per inference profile (one statement each).
_LOG_GROUP_ARN: Final = "arn:{partition}:logs:{region}:{account}:log-group:{log_group}"
_LOG_STREAM_ARN: Final = _LOG_GROUP_ARN + ":log-stream:{log_streams}"
_REPOSITORY_ARN: Final = "arn:{partition}:ecr:{region}:{account}:repository/{image}"
_ENI_ARN: Final = "arn:{partition}:ec2:{region}:{account}:network-interface/*"
_SUBNET_ARN: Final = "arn:{partition}:ec2:{region}:{account}:subnet/*"
_SG_ARN: Final = "arn:{partition}:ec2:{region}:{account}:security-group/*"
_IN_VPC: Final = MappingProxyType({"ArnEquals": {"ec2:Vpc": "{vpc_arn}"}})
FOUNDATION_MODEL_ARN: Final = "arn:{partition}:bedrock:{region}::foundation-model/{model}"
INFERENCE_PROFILE_ARN: Final = "arn:{partition}:bedrock:{region}:{account}:inference-profile/{profile_id}"
ANY_REGION_MODEL_ARN: Final = "arn:{partition}:bedrock:*::foundation-model/{profile_model}"
_VIA_PROFILE: Final = MappingProxyType({"ArnEquals": {"bedrock:InferenceProfileArn": "{profile_arn}"}})


@dataclass(frozen=True, slots=True)
class PermissionRow:
    """One documented permission of one or more profiles: the statement it becomes, and its source."""

    profiles: tuple[str, ...]
    holder: Holder
    when: When
    sid: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    source: str
    condition: Mapping[str, Mapping[str, str]] | None = None


_ALL: Final = JOB_NAMES
_NOT_BATCH_INFERENCE: Final = tuple(n for n in JOB_NAMES if n != "bedrock-batch-inference")
_WRITE_LOGS: Final = ("logs:CreateLogStream", "logs:PutLogEvents")
_EXECUTION: Final = ("ecs-task", "batch-job")
_INVOKE: Final = ("bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream")

PROFILE_PERMISSIONS: Final[tuple[PermissionRow, ...]] = (
    # -- logs: streams of this role's jobs in the service's group
    PermissionRow(SAGEMAKER_JOBS, "role", "always", "WriteJobLogs", _WRITE_LOGS, (_LOG_STREAM_ARN,),
                  SAGEMAKER_LOGS_DOC),
    PermissionRow(("ec2-worker",), "role", "always", "WriteJobLogs", _WRITE_LOGS, (_LOG_STREAM_ARN,),
                  CW_AGENT_DOC),
    PermissionRow(("lambda",), "role", "always", "WriteJobLogs", _WRITE_LOGS, (_LOG_STREAM_ARN,),
                  LAMBDA_ROLE_DOC),
    PermissionRow(("ecs-task",), "execution role", "always", "WriteTaskLogs", _WRITE_LOGS,
                  (_LOG_STREAM_ARN,), ECS_EXECUTION_DOC),
    PermissionRow(("batch-job",), "execution role", "always", "WriteTaskLogs", _WRITE_LOGS,
                  (_LOG_STREAM_ARN,), BATCH_LOGS_DOC),
    # -- the service's own group, which the first job of an account creates
    PermissionRow(SAGEMAKER_JOBS, "role", "always", "CreateJobLogGroup",
                  ("logs:CreateLogGroup",), (_LOG_GROUP_ARN,), SAGEMAKER_ROLES_DOC),
    PermissionRow(("lambda",), "role", "always", "CreateJobLogGroup",
                  ("logs:CreateLogGroup",), (_LOG_GROUP_ARN,), LAMBDA_ROLE_DOC),
    PermissionRow(("batch-job",), "execution role", "always", "CreateTaskLogGroup",
                  ("logs:CreateLogGroup",), (_LOG_GROUP_ARN,), BATCH_LOGS_DOC),
    # -- metrics in the service's namespace only
    PermissionRow(SAGEMAKER_JOBS, "role", "always", "PublishJobMetrics",
                  ("cloudwatch:PutMetricData",), ("*",), CLOUDWATCH_NAMESPACE_DOC,
                  MappingProxyType({"StringEquals": {"cloudwatch:namespace": "{namespace}"}})),
    # -- container images
    PermissionRow((*SAGEMAKER_JOBS, "ec2-worker"), "role", "images", "GetRegistryToken",
                  ("ecr:GetAuthorizationToken",), ("*",), ECR_PULL_DOC),
    PermissionRow((*SAGEMAKER_JOBS, "ec2-worker"), "role", "images", "PullJobImages",
                  ("ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"),
                  (_REPOSITORY_ARN,), ECR_PULL_DOC),
    PermissionRow(_EXECUTION, "execution role", "images", "GetRegistryToken",
                  ("ecr:GetAuthorizationToken",), ("*",), ECS_EXECUTION_DOC),
    PermissionRow(_EXECUTION, "execution role", "images", "PullTaskImages",
                  ("ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"),
                  (_REPOSITORY_ARN,), ECS_EXECUTION_DOC),
    # -- VPC mode: network interfaces in the configured VPC only
    PermissionRow(SAGEMAKER_JOBS, "role", "vpc", "CreateVpcInterfaces",
                  ("ec2:CreateNetworkInterface",), (_ENI_ARN, _SG_ARN, _SUBNET_ARN), SAGEMAKER_VPC_DOC,
                  _IN_VPC),
    PermissionRow(SAGEMAKER_JOBS, "role", "vpc", "ManageVpcInterfaces",
                  ("ec2:CreateNetworkInterfacePermission", "ec2:DeleteNetworkInterface"), (_ENI_ARN,),
                  EC2_CONDITION_KEYS_DOC, _IN_VPC),
    PermissionRow(SAGEMAKER_JOBS, "role", "vpc", "DescribeVpc",
                  ("ec2:DeleteNetworkInterfacePermission", "ec2:DescribeDhcpOptions",
                   "ec2:DescribeNetworkInterfaces", "ec2:DescribeSecurityGroups", "ec2:DescribeSubnets",
                   "ec2:DescribeVpcs"), ("*",), SAGEMAKER_VPC_DOC),
    PermissionRow(("lambda",), "role", "vpc", "CreateVpcInterfaces",
                  ("ec2:CreateNetworkInterface",), (_ENI_ARN, _SG_ARN, _SUBNET_ARN), LAMBDA_VPC_DOC, _IN_VPC),
    PermissionRow(("lambda",), "role", "vpc", "ManageVpcInterfaces",
                  ("ec2:AssignPrivateIpAddresses", "ec2:DeleteNetworkInterface",
                   "ec2:UnassignPrivateIpAddresses"), (_ENI_ARN,), LAMBDA_VPC_DOC, _IN_VPC),
    PermissionRow(("lambda",), "role", "vpc", "DescribeVpc",
                  ("ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"), ("*",), LAMBDA_VPC_DOC),
    # -- Systems Manager Session Manager on EC2 workers, instead of AmazonSSMManagedInstanceCore
    PermissionRow(("ec2-worker",), "role", "ssm", "RegisterWithSystemsManager",
                  ("ssm:UpdateInstanceInformation",), ("arn:{partition}:ec2:{region}:{account}:instance/*",),
                  SSM_MINIMAL_DOC),
    PermissionRow(("ec2-worker",), "role", "ssm", "OpenSessionChannels",
                  ("ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
                   "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"), ("*",), SSM_MINIMAL_DOC),
    # -- Bedrock: exact models, and inference profiles with their models reached through the profile
    PermissionRow(_NOT_BATCH_INFERENCE, "role", "foundation models", "InvokeModels", _INVOKE,
                  (FOUNDATION_MODEL_ARN,), BEDROCK_INVOKE_DOC),
    PermissionRow(_NOT_BATCH_INFERENCE, "role", "inference profiles", "InvokeProfile", _INVOKE,
                  (INFERENCE_PROFILE_ARN,), BEDROCK_PROFILE_DOC),
    PermissionRow(_NOT_BATCH_INFERENCE, "role", "inference profiles", "InvokeProfileModel", _INVOKE,
                  (ANY_REGION_MODEL_ARN,), BEDROCK_PROFILE_DOC, _VIA_PROFILE),
    PermissionRow(("bedrock-batch-inference",), "role", "foundation models", "InvokeModels",
                  ("bedrock:InvokeModel",), (FOUNDATION_MODEL_ARN,), BEDROCK_BATCH_DOC),
    PermissionRow(("bedrock-batch-inference",), "role", "inference profiles", "InvokeProfile",
                  ("bedrock:InvokeModel",), (INFERENCE_PROFILE_ARN,), BEDROCK_BATCH_DOC),
    PermissionRow(("bedrock-batch-inference",), "role", "inference profiles", "InvokeProfileModel",
                  ("bedrock:InvokeModel",), (ANY_REGION_MODEL_ARN,), BEDROCK_BATCH_DOC, _VIA_PROFILE),
)

BEDROCK_BATCH_JOB: Final = "bedrock-batch-inference"
# Condition on the trust policy of a Bedrock batch inference role: only Bedrock jobs of this account.
BEDROCK_JOB_SOURCE_ARN: Final = "arn:{partition}:bedrock:{region}:{account}:model-invocation-job/*"


def rows_for(profile: str) -> tuple[PermissionRow, ...]:
    """The table rows of one profile, in table order."""
    return tuple(row for row in PROFILE_PERMISSIONS if profile in row.profiles)


# ------------------------------------------------------------------------------------ Bedrock model ids

# Model providers of Bedrock foundation-model ids (``<provider>.<model>``), from the supported-models page.
BEDROCK_PROVIDERS: Final[frozenset[str]] = frozenset(
    {
        "ai21", "amazon", "anthropic", "cohere", "deepseek", "luma", "meta", "minimax", "mistral",
        "moonshot", "openai", "qwen", "stability", "twelvelabs", "writer",
    }
)
# Geography prefixes of cross-region (system-defined) inference profile ids (``<geo>.<provider>.<model>``).
INFERENCE_PROFILE_GEOGRAPHIES: Final[frozenset[str]] = frozenset(
    {"apac", "au", "ca", "eu", "global", "jp", "us", "us-gov"}
)
_MODEL_NAME_RE: Final = re.compile(r"[a-z0-9]+([.-][a-z0-9]+)*(:[0-9]+(:[0-9]+[km])?)?")
_MODEL_VERSION_RE: Final = re.compile(r"(-v[0-9]+|:[0-9]+)")
_EXAMPLE_MODEL: Final = "anthropic.claude-3-haiku-20240307-v1:0"


@dataclass(frozen=True, slots=True)
class ModelRef:
    """A validated model reference: a foundation model, or a cross-region inference profile of one."""

    id: str
    geography: str | None = None  # set for inference profiles

    @property
    def model_id(self) -> str:
        """The foundation-model id (for a profile, the id without its geography prefix)."""
        return self.id.split(".", 1)[1] if self.geography else self.id


def model_problem(text: str) -> str | None:
    """Why ``text`` is not a Bedrock foundation-model or inference-profile id (None when it is one).

    Offline, a model id can be checked for its form only: ``<provider>.<name>`` ending in a version
    (``-v1``, ``:0``), optionally prefixed with an inference-profile geography, where the provider is
    one Bedrock lists. Whether that exact model exists and is enabled in the stack's region is known
    only to Bedrock; an id of the right form that names no model fails at the first invocation.
    """
    if text.startswith("arn:"):
        return f"{text!r} is an ARN; give the model id (e.g. {_EXAMPLE_MODEL})"
    parts = text.split(".")
    geography = parts[0] if parts[0] in INFERENCE_PROFILE_GEOGRAPHIES and len(parts) > 2 else None
    provider_index = 1 if geography else 0
    provider = parts[provider_index] if len(parts) > provider_index + 1 else None
    if provider is None:
        return f"unknown model id {text!r}: expected <provider>.<model>, e.g. {_EXAMPLE_MODEL}"
    if provider not in BEDROCK_PROVIDERS:
        return (
            f"unknown model id {text!r}: {provider!r} is not a Bedrock model provider "
            f"(known: {', '.join(sorted(BEDROCK_PROVIDERS))}; see {BEDROCK_MODEL_IDS_DOC})"
        )
    name = ".".join(parts[provider_index + 1 :])
    if not _MODEL_NAME_RE.fullmatch(name) or not _MODEL_VERSION_RE.search(name):
        return (
            f"unknown model id {text!r}: a Bedrock model id is <provider>.<model>-<version>, "
            "lowercase, ending in a version such as -v1:0"
        )
    return None


def parse_model(text: str) -> ModelRef:
    """A ``ModelRef`` for a valid id (validate with ``model_problem`` first)."""
    first = text.split(".", 1)[0]
    geography = first if first in INFERENCE_PROFILE_GEOGRAPHIES and text.count(".") >= 2 else None
    return ModelRef(text, geography)


# ------------------------------------------------------------------------------------ the README table


def permission_table_rows() -> list[tuple[str, str, str, str, str, str, str]]:
    """(profiles, holder, when, actions, resource, condition, source) per table row, for documentation."""
    out = []
    for row in PROFILE_PERMISSIONS:
        condition = ""
        if row.condition:
            condition = "; ".join(
                f"{op} {key} = {value}" for op, pairs in row.condition.items() for key, value in pairs.items()
            )
        out.append(
            (
                ", ".join(row.profiles) if row.profiles != _ALL else "every profile",
                row.holder,
                row.when,
                ", ".join(row.actions),
                ", ".join(row.resources),
                condition,
                row.source,
            )
        )
    return out


def permission_table_markdown() -> str:
    """The permission table as Markdown (the README embeds exactly this text)."""
    head = (
        "| profiles | holder | when | actions | resources | condition | source |\n"
        "|---|---|---|---|---|---|---|\n"
    )

    def cell(text: str) -> str:
        return text.replace("|", "\\|") if text else "none"

    body = "".join(
        f"| {cell(p)} | {h} | {w} | `{a}` | `{r}` | {cell(c)} | [AWS]({s}) |\n"
        for p, h, w, a, r, c, s in permission_table_rows()
    )
    return head + body


def profile_table_markdown() -> str:
    """The profiles themselves as Markdown: service, log group, streams, namespace, accepted inputs."""
    head = (
        "| job | what | trusted service | log group | streams | metric namespace | inputs | source |\n"
        "|---|---|---|---|---|---|---|---|\n"
    )
    lines = []
    for p in JOB_PROFILES.values():
        inputs = [
            name
            for name, accepted in (
                ("images", p.accepts_images), ("vpc", p.accepts_vpc), ("ssm", p.accepts_ssm),
                ("logRetention", p.stack_log_group),
            )
            if accepted
        ] + ["models", "passableBy"]
        group = "none"
        if p.log_group:
            group = f"`{p.log_group}`" + (" (created by the stack)" if p.stack_log_group else "")
        lines.append(
            f"| `{p.name}` | {p.summary} | `{p.service}` | {group} | "
            f"{f'`{p.log_streams}`' if p.log_streams else 'none'} | "
            f"{f'`{p.metric_namespace}`' if p.metric_namespace else 'none'} | {', '.join(inputs)} | "
            f"[AWS]({p.source}) |\n"
        )
    return head + "".join(lines)


def fill(template: str, values: Mapping[str, str]) -> str:
    """Fill ``{name}`` placeholders; a placeholder without a value is a programming error (KeyError)."""
    return template.format_map(dict(values))


def fill_condition(condition: Mapping[str, Mapping[str, str]], values: Mapping[str, str]) -> dict[str, Any]:
    """A filled copy of a condition template."""
    return {op: {key: fill(value, values) for key, value in pairs.items()} for op, pairs in condition.items()}


def placeholders(templates: Sequence[str]) -> set[str]:
    """The placeholder names used by templates (tests check every one is supplied)."""
    return {m.group(1) for t in templates for m in re.finditer(r"\{([a-z_]+)\}", t)}
