"""The effective permissions of a role as plain data, for stack outputs and the access matrix.

Derived from the same config and the same access-level table (``shared.policies.ACCESS_LEVELS``) as the
policy documents, so the report can never drift from what is deployed.
"""

from __future__ import annotations

from typing import Any

from shared.config import Job, Role, StackConfig
from shared.policies import (
    execution_policy,
    execution_role_name,
    level_actions,
    log_group_name,
    profile_statements,
)
from shared.profiles import JOB_PROFILES


def _actions(statements: list[dict[str, Any]]) -> list[str]:
    """Every action of the statements, sorted (the builders always write ``Action`` as a list)."""
    return sorted({action for statement in statements for action in statement["Action"]})


def describe_job(role_cfg: Role, job: Job, stack_cfg: StackConfig) -> dict[str, Any]:
    """The job profile part of a role's permissions: inputs, where it logs, and the actions it adds."""
    profile = JOB_PROFILES[job.profile]
    execution = execution_policy(role_cfg, stack_cfg)
    return {
        "profile": job.profile,
        "service": job.service,
        "images": sorted(job.images),
        "models": sorted(job.models),
        "vpcId": job.vpc_id,
        "ssm": job.ssm,
        "passableBy": sorted(job.passable_by),
        "logGroup": log_group_name(job, role_cfg.name),
        "logStreams": profile.log_streams.format(role=role_cfg.name),
        "metricNamespace": profile.metric_namespace,
        "actions": _actions(profile_statements(job, role_cfg.name, stack_cfg, "role")),
        "executionRole": execution_role_name(role_cfg),
        "executionActions": _actions(execution["Statement"]) if execution else [],
    }


def describe_role(role_cfg: Role, stack_cfg: StackConfig) -> dict[str, Any]:
    """``{"datasets": {<logical>: {bucket, level, prefixes, actions}}, "aiActions", "managedPolicyArns",
    "trustedServices", "job"}`` with every list sorted, so two runs compare equal (``job`` is None for a
    role without a job profile, else ``describe_job``)."""
    datasets: dict[str, dict[str, Any]] = {}
    for access in sorted(role_cfg.access, key=lambda a: a.bucket):
        bucket = stack_cfg.bucket(access.bucket)
        datasets[access.bucket] = {
            "bucket": bucket.name,
            "level": access.level,
            "prefixes": sorted(access.prefixes),
            "actions": level_actions(access, bucket),
        }
    return {
        "datasets": datasets,
        "aiActions": sorted(role_cfg.ai_actions),
        "managedPolicyArns": sorted(role_cfg.managed_policy_arns),
        "trustedServices": sorted(role_cfg.trusted_services),
        "job": describe_job(role_cfg, role_cfg.job, stack_cfg) if role_cfg.job else None,
    }
