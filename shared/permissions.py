"""The effective permissions of a role as plain data, for stack outputs and the access matrix.

Derived from the same config and the same access-level table (``shared.policies.ACCESS_LEVELS``) as the
policy documents, so the report can never drift from what is deployed.
"""

from __future__ import annotations

from typing import Any

from shared.config import Role, StackConfig
from shared.policies import level_actions


def describe_role(role_cfg: Role, stack_cfg: StackConfig) -> dict[str, Any]:
    """``{"datasets": {<logical>: {bucket, level, prefixes, actions}}, "aiActions", "managedPolicyArns",
    "trustedServices"}`` with every list sorted, so two runs compare equal."""
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
    }
