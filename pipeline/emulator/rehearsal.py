"""Rehearsal of job profiles on the emulator: the calls a job makes under its role, and the ones it must not.

For every role with a job profile (stack output ``roles[*].permissions.job``, from ``shared.permissions``)
the access matrix replays what the job itself does with the role's credentials: get an ECR token and pull
the named image's layers, create its log stream and put events, publish a metric in its namespace, invoke
its models; and what it must not do: another repository, pushing an image, another log group or another
job's stream, another namespace, another model. Its inputs and outputs are the dataset rows the matrix
already has. ECS and Batch pull and log with the execution role, so those rows run under it, and the task
role is shown unable to pull.

What moto can judge here (moto 5.2.5, checked on each call below):

* It authorises every request's *action*, but the *resource* only for S3, IAM, STS and SQS. ECR, CloudWatch
  Logs, CloudWatch and Bedrock requests are authorised against resource ``*``, so a grant scoped to an ARN
  never applies there. Such a row is decided only when moto allows the call (then a grant covers ``*``,
  which AWS allows too: a pass, or a mismatch when the stack says denied); when moto denies it, the row is
  ``n/d`` ("blind"), never a pass.
* Actions AWS authorises only on ``*`` (``ecr:GetAuthorizationToken``) are judged fully.
* Conditions are ignored, so namespace rows are ``n/d``; moto also names the CloudWatch action
  ``monitoring:PutMetricData`` (its endpoint prefix), so even a correct grant is denied there.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pipeline.emulator.moto_aws import Credentials, Emulator
from shared.profiles import parse_model

OTHER_REPOSITORY = "access-matrix-other"
OTHER_LOG_GROUP = "/access-matrix/other-group"
OTHER_NAMESPACE = "AccessMatrix/Other"
OTHER_MODEL = "amazon.titan-text-express-v1"
CREATED_STREAM = "access-matrix-created"
WRITTEN_STREAM = "access-matrix-written"
LAYER = b"access-matrix image layer\n"
LAYER_DIGEST = "sha256:" + hashlib.sha256(LAYER).hexdigest()

WHY_BLIND = (
    "moto authorises {service} calls against resource '*', not the {kind} ARN, so a grant scoped to it is "
    "always denied there: a denial proves nothing (only an allowed call is decided)"
)
WHY_METRIC = (
    "moto ignores the cloudwatch:namespace condition, and authorises PutMetricData as "
    "monitoring:PutMetricData (its endpoint prefix), not the IAM action cloudwatch:PutMetricData"
)

# Services whose calls are answered after authorization even when the emulator lacks the object: an
# error other than access denied means the call was authorised.
REHEARSED_SERVICES = frozenset({"ecr", "logs", "cloudwatch", "bedrock-runtime"})


@dataclass(frozen=True)
class Probe:
    """One rehearsed call: who makes it, what it needs, and whether the stack says it may."""

    principal: str
    operation: str  # "<boto3 service>:<API>", e.g. "ecr:BatchGetImage"
    action: str
    resource: str
    allowed: bool
    why: str
    params: Mapping[str, str] = field(default_factory=dict)
    undecidable: str | None = None
    blind: str | None = None


def _blind(service: str, kind: str) -> str:
    return WHY_BLIND.format(service=service, kind=kind)


def _concrete_group(group: str, role: str) -> str:
    """A log group the job would write to: a group pattern (``.../<role>-*``) becomes one of its groups."""
    return group.replace(f"{role}-*", f"{role}-access-matrix")


def _stream(pattern: str, name: str) -> str:
    """A stream name inside the role's pattern (``<role>-*`` or ``*``)."""
    return pattern.replace("*", name) if pattern != "*" else name


def _ecr_probes(who: str, images: Iterable[str], pulls: bool, account: str, region: str) -> list[Probe]:
    repo = f"arn:aws:ecr:{region}:{account}:repository/{{}}"
    probes = [
        Probe(
            who,
            "ecr:GetAuthorizationToken",
            "ecr:GetAuthorizationToken",
            "*",
            pulls,
            "pulls the job's images" if pulls else "pulls no image (the execution role does, if any)",
        ),
    ]
    blind = _blind("ECR", "repository")
    for image in images if pulls else ():
        for op in ("BatchGetImage", "GetDownloadUrlForLayer", "BatchCheckLayerAvailability"):
            probes.append(
                Probe(
                    who,
                    f"ecr:{op}",
                    f"ecr:{op}",
                    repo.format(image),
                    True,
                    f"image {image}",
                    {"Repository": image},
                    blind=blind,
                )
            )
        probes.append(
            Probe(
                who,
                "ecr:PutImage",
                "ecr:PutImage",
                repo.format(image),
                False,
                "a job pulls, it never pushes",
                {"Repository": image},
                blind=blind,
            )
        )
    if pulls:
        probes.append(
            Probe(
                who,
                "ecr:BatchGetImage",
                "ecr:BatchGetImage",
                repo.format(OTHER_REPOSITORY),
                False,
                "not one of the job's images",
                {"Repository": OTHER_REPOSITORY},
                blind=blind,
            )
        )
    return probes


def _log_probes(who: str, role: str, job: Mapping[str, Any], account: str, region: str) -> list[Probe]:
    group = _concrete_group(str(job["logGroup"]), role)
    pattern = str(job["logStreams"])
    blind = _blind("CloudWatch Logs", "log-stream")

    def probe(api: str, in_group: str, stream: str, allowed: bool, why: str) -> Probe:
        arn = f"arn:aws:logs:{region}:{account}:log-group:{in_group}:log-stream:{stream}"
        params = {"Group": in_group, "Stream": stream}
        return Probe(who, f"logs:{api}", f"logs:{api}", arn, allowed, why, params, blind=blind)

    created, written = _stream(pattern, CREATED_STREAM), _stream(pattern, WRITTEN_STREAM)
    probes = [
        probe("CreateLogStream", group, created, True, f"the job's stream in {group}"),
        probe("PutLogEvents", group, written, True, f"the job's stream in {group}"),
        probe("CreateLogStream", OTHER_LOG_GROUP, created, False, "another log group"),
    ]
    if pattern != "*":  # a shared service group: another job's stream is off limits
        other = f"other-job-{CREATED_STREAM}"
        probes.append(
            probe("CreateLogStream", group, other, False, "another job's stream in the service's group")
        )
    return probes


def _metric_probes(who: str, namespace: str | None) -> list[Probe]:
    if not namespace:
        return [
            Probe(
                who,
                "cloudwatch:PutMetricData",
                "cloudwatch:PutMetricData",
                "*",
                False,
                "the profile publishes no metrics",
                {"Namespace": OTHER_NAMESPACE},
                undecidable=WHY_METRIC,
            )
        ]
    return [
        Probe(
            who,
            "cloudwatch:PutMetricData",
            "cloudwatch:PutMetricData",
            f"* (namespace {namespace})",
            True,
            "the service's namespace",
            {"Namespace": namespace},
            undecidable=WHY_METRIC,
        ),
        Probe(
            who,
            "cloudwatch:PutMetricData",
            "cloudwatch:PutMetricData",
            f"* (namespace {OTHER_NAMESPACE})",
            False,
            "another namespace",
            {"Namespace": OTHER_NAMESPACE},
            undecidable=WHY_METRIC,
        ),
    ]


def _model_probes(who: str, job: Mapping[str, Any], account: str, region: str) -> list[Probe]:
    blind = _blind("Bedrock", "model")
    streams = "bedrock:InvokeModelWithResponseStream" in job.get("actions", [])
    probes = []
    for model in job.get("models", []):
        arn = (
            f"arn:aws:bedrock:{region}:{account}:inference-profile/{model}"
            if parse_model(model).geography
            else f"arn:aws:bedrock:{region}::foundation-model/{model}"
        )
        probes.append(
            Probe(
                who,
                "bedrock-runtime:InvokeModel",
                "bedrock:InvokeModel",
                arn,
                True,
                f"model {model}",
                {"ModelId": arn},
                blind=blind,
            )
        )
        probes.append(
            Probe(
                who,
                "bedrock-runtime:InvokeModelWithResponseStream",
                "bedrock:InvokeModelWithResponseStream",
                arn,
                streams,
                f"model {model}" if streams else "batch inference invokes without streaming",
                {"ModelId": arn},
                blind=blind,
            )
        )
    other = f"arn:aws:bedrock:{region}::foundation-model/{OTHER_MODEL}"
    if OTHER_MODEL not in job.get("models", []):
        probes.append(
            Probe(
                who,
                "bedrock-runtime:InvokeModel",
                "bedrock:InvokeModel",
                other,
                False,
                "not one of the job's models",
                {"ModelId": other},
                blind=blind,
            )
        )
    return probes


def job_probes(role: str, job: Mapping[str, Any], account: str, region: str) -> list[Probe]:
    """Every rehearsed call of one role's job (its execution role's included), in a stable order."""
    execution = job.get("executionRole")
    puller = str(execution or role)
    probes: list[Probe] = []
    if execution:  # the task role keeps data access only: it cannot pull
        probes += _ecr_probes(role, (), False, account, region)
    probes += _ecr_probes(puller, job.get("images", []), bool(job.get("images")), account, region)
    if job.get("logGroup"):
        probes += _log_probes(puller, role, job, account, region)
    probes += _metric_probes(role, job.get("metricNamespace"))
    probes += _model_probes(role, job, account, region)
    return probes


# --------------------------------------------------------------------------- setting up and calling


def seed(emu: Emulator, admin: Credentials, region: str, jobs: Mapping[str, Mapping[str, Any]]) -> None:
    """Create what the rehearsed calls touch (authorization off): each image's repository with one
    pushed image, another repository, the jobs' log groups with the written-to stream, another group."""
    from botocore.exceptions import ClientError

    ecr = emu.client("ecr", admin, region)
    logs = emu.client("logs", admin, region)
    repositories = {OTHER_REPOSITORY} | {i for job in jobs.values() for i in job.get("images", [])}
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "size": len(LAYER),
                "digest": LAYER_DIGEST,
            },
            "layers": [
                {
                    "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "size": len(LAYER),
                    "digest": LAYER_DIGEST,
                }
            ],
        }
    )
    for repository in sorted(repositories):
        try:
            ecr.create_repository(repositoryName=repository)
        except ClientError as err:
            if err.response["Error"]["Code"] != "RepositoryAlreadyExistsException":
                raise
            continue
        upload = ecr.initiate_layer_upload(repositoryName=repository)["uploadId"]
        ecr.upload_layer_part(
            repositoryName=repository,
            uploadId=upload,
            partFirstByte=0,
            partLastByte=len(LAYER) - 1,
            layerPartBlob=LAYER,
        )
        ecr.complete_layer_upload(repositoryName=repository, uploadId=upload, layerDigests=[LAYER_DIGEST])
        ecr.put_image(repositoryName=repository, imageManifest=manifest, imageTag="access-matrix")
    groups = {OTHER_LOG_GROUP: "*"} | {
        _concrete_group(str(job["logGroup"]), role): str(job["logStreams"])
        for role, job in jobs.items()
        if job.get("logGroup")
    }
    for group, pattern in sorted(groups.items()):
        for create, kwargs in (
            (logs.create_log_group, {"logGroupName": group}),
            (
                logs.create_log_stream,
                {"logGroupName": group, "logStreamName": _stream(pattern, WRITTEN_STREAM)},
            ),
        ):
            try:
                create(**kwargs)
            except ClientError as err:
                if err.response["Error"]["Code"] != "ResourceAlreadyExistsException":
                    raise


def call(emu: Emulator, creds: Credentials, operation: str, params: Mapping[str, str], region: str) -> Any:
    """Make one rehearsed call; raises ``ValueError`` for an operation this module does not know."""
    service, op = operation.split(":", 1)
    client = emu.client(service, creds, region)
    p = dict(params)
    if op == "GetAuthorizationToken":
        return client.get_authorization_token()
    if op == "BatchGetImage":
        return client.batch_get_image(
            repositoryName=p["Repository"], imageIds=[{"imageTag": "access-matrix"}]
        )
    if op == "GetDownloadUrlForLayer":
        return client.get_download_url_for_layer(repositoryName=p["Repository"], layerDigest=LAYER_DIGEST)
    if op == "BatchCheckLayerAvailability":
        return client.batch_check_layer_availability(
            repositoryName=p["Repository"], layerDigests=[LAYER_DIGEST]
        )
    if op == "PutImage":
        return client.put_image(repositoryName=p["Repository"], imageManifest="{}", imageTag="pushed-by-job")
    if op == "CreateLogStream":
        return client.create_log_stream(logGroupName=p["Group"], logStreamName=p["Stream"])
    if op == "PutLogEvents":
        event = {"timestamp": 1_767_225_600_000, "message": "written by the access matrix"}
        return client.put_log_events(logGroupName=p["Group"], logStreamName=p["Stream"], logEvents=[event])
    if op == "PutMetricData":
        return client.put_metric_data(
            Namespace=p["Namespace"], MetricData=[{"MetricName": "Rehearsal", "Value": 1.0}]
        )
    if op == "InvokeModel":
        return client.invoke_model(modelId=p["ModelId"], body=b"{}")
    if op == "InvokeModelWithResponseStream":
        return client.invoke_model_with_response_stream(modelId=p["ModelId"], body=b"{}")
    raise ValueError(f"no rehearsed call for {operation}")
