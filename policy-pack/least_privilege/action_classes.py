"""Classes of actions that several rules judge, derived from the catalog's access levels plus the
hand-kept supplements in ``data/account_controls.json`` (checked against the catalog by the tests).

- Permissions writes: every Permissions-management action outside the identity services, and the
  resource-sharing actions the catalog labels Write (``ec2:ModifyImageAttribute``): they change who may
  use a resource (its policy, ACL, grants, sharing), so the holder can open it to anyone.
- Account guard rails: account-wide controls AWS authorises only on ``*`` whose change turns off a
  guard rail, an audit trail or the organisation's hold on the account.
"""

from __future__ import annotations

from functools import lru_cache

from . import lists
from .catalog import ActionInfo, actions_at_level, info_for_lower

__all__ = [
    "IDENTITY_SERVICES",
    "account_guardrails",
    "is_account_guardrail",
    "is_permissions_write",
    "is_reported_star_only",
    "permissions_writes",
]

# Identity-side services: their permission changes are judged as escalation methods
# (data/escalation.json), not as resource-policy writes.
IDENTITY_SERVICES = frozenset({"iam", "sts", "sso", "sso-directory", "identitystore", "organizations"})


def _is_permissions_write_info(info: ActionInfo) -> bool:
    if info.service in IDENTITY_SERVICES:
        return False
    if info.access_level == "Permissions management":
        return True
    return info.full.lower() in lists.resource_sharing_actions()


@lru_cache(maxsize=65536)
def is_permissions_write(action_lower: str) -> bool:
    """Does the (lower-case) action change who may use a resource?"""
    info = info_for_lower(action_lower)
    return info is not None and _is_permissions_write_info(info)


@lru_cache(maxsize=1)
def permissions_writes() -> frozenset[str]:
    """Every permissions write in the catalog. Loads every service, so it is used only for symbolic
    action sets (NotAction); written-out actions are checked one by one (``is_permissions_write``)."""
    candidates = actions_at_level("Permissions management") | {
        a for a in lists.resource_sharing_actions() if info_for_lower(a) is not None
    }
    return frozenset(a for a in candidates if a.partition(":")[0] not in IDENTITY_SERVICES)


def account_guardrails() -> frozenset[str]:
    """Lower-case account guard-rail actions (see the module docstring)."""
    return lists.account_guardrail_actions()


def is_account_guardrail(action_lower: str) -> bool:
    """Is the (lower-case) action an account guard rail?"""
    return action_lower in lists.account_guardrail_actions()


@lru_cache(maxsize=65536)
def is_reported_star_only(action_lower: str) -> bool:
    """A star-only action that a high finding reports (a permissions write or an account guard rail),
    so the low "can only be granted on *" note leaves it out."""
    return is_account_guardrail(action_lower) or is_permissions_write(action_lower)
