"""Engine settings: one ``Settings`` per environment and policy, built from pack config or CLI flags."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from .findings import Severity

DEFAULT_ALLOWED_SERVICE_PRINCIPALS: frozenset[str] = frozenset(
    {
        "ec2.amazonaws.com",
        "sagemaker.amazonaws.com",
        "batch.amazonaws.com",
        "ecs-tasks.amazonaws.com",
        "lambda.amazonaws.com",
        "bedrock.amazonaws.com",
    }
)


TRUST_POLICY_QUOTA_DEFAULT = 2048
TRUST_POLICY_QUOTA_MAX = 4096
_ACCOUNT_ID = re.compile(r"\d{12}")


@dataclass(frozen=True)
class Settings:
    """Engine configuration (one per environment/policy); every field has a safe default."""

    forbid_star_only_actions: bool = False
    allowed_service_principals: frozenset[str] = DEFAULT_ALLOWED_SERVICE_PRINCIPALS
    managed_allow: frozenset[str] = frozenset()
    managed_deny: frozenset[str] = frozenset()
    # Applied after the rules run, so not part of equality/hash (the rule results are cached per Settings).
    severity_overrides: Mapping[str, Severity] = field(
        default_factory=lambda: MappingProxyType({}), hash=False, compare=False
    )
    # The stack's own account: trusts of its root are same-account, not cross-account. None = unknown,
    # so every account root in a trust policy is treated as potentially cross-account.
    account_id: str | None = None
    # Accounts a resource policy may grant without an external-access finding (besides account_id).
    trusted_accounts: frozenset[str] = frozenset()
    # The role trust-policy length quota: 2,048 characters by default, raisable to 4,096 on request.
    trust_policy_quota: int = TRUST_POLICY_QUOTA_DEFAULT


DEFAULT_SETTINGS = Settings()


def settings_from_config(config: Mapping[str, Any]) -> Settings:
    """Build Settings from camelCase or snake_case config keys (pack config, CLI); unknown keys ignored."""

    def pick(*names: str) -> Any:
        for name in names:
            if name in config:
                return config[name]
        return None

    kwargs: dict[str, Any] = {}
    value = pick("forbidStarOnlyActions", "forbid_star_only_actions")
    if value is not None:
        kwargs["forbid_star_only_actions"] = bool(value)
    value = pick("allowedServicePrincipals", "allowed_service_principals")
    if value is not None:
        kwargs["allowed_service_principals"] = frozenset(str(v).lower() for v in value)
    value = pick("allowedManagedPolicies", "managedAllow", "managed_allow")
    if value is not None:
        kwargs["managed_allow"] = frozenset(str(v) for v in value)
    value = pick("deniedManagedPolicies", "managedDeny", "managed_deny")
    if value is not None:
        kwargs["managed_deny"] = frozenset(str(v) for v in value)
    value = pick("severityOverrides", "severity_overrides")
    if value is not None:
        kwargs["severity_overrides"] = MappingProxyType({str(k): Severity.parse(v) for k, v in value.items()})
    value = pick("accountId", "account_id")
    if value is not None:
        kwargs["account_id"] = str(value)
    value = pick("trustedAccounts", "trusted_accounts")
    if value is not None:
        kwargs["trusted_accounts"] = _account_ids("trustedAccounts", value)
    value = pick("trustPolicyQuota", "trust_policy_quota")
    if value is not None:
        kwargs["trust_policy_quota"] = _trust_quota(value)
    return Settings(**kwargs)


def _account_ids(key: str, value: Any) -> frozenset[str]:
    """12-digit account ids; anything else is a configuration error naming the key."""
    if isinstance(value, str) or not isinstance(value, (list, tuple, set, frozenset)):
        raise ValueError(f"{key}: expected a list of 12-digit AWS account ids, got {value!r}")
    bad = [v for v in value if not (isinstance(v, str) and _ACCOUNT_ID.fullmatch(v))]
    if bad:
        raise ValueError(f"{key}: {bad[0]!r} is not a 12-digit AWS account id (quote it as a string)")
    return frozenset(value)


def _trust_quota(value: Any) -> int:
    """A whole number of characters in the quota's range; pack config arrives over gRPC as a float."""
    whole = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if isinstance(value, bool) or not whole or not (
            TRUST_POLICY_QUOTA_DEFAULT <= value <= TRUST_POLICY_QUOTA_MAX):
        raise ValueError(f"trustPolicyQuota: expected an integer from {TRUST_POLICY_QUOTA_DEFAULT} to "
                         f"{TRUST_POLICY_QUOTA_MAX} (the role trust-policy length quota), got {value!r}")
    return int(value)
