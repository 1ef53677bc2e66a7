"""CrossGuard policies for IAM least privilege: what the pack declares, and nothing else.

Where the work happens:

* :mod:`adapters`: one module per provider family turns a resource (type token + plain properties)
  into a provider-free view: documents, attachments, grants, memberships, references;
* :mod:`iam_pack.resource_checks`: one resource policy per engine rule, over those views;
* :mod:`iam_pack.stack_view` and :mod:`iam_pack.stack_checks`: the stack policies (verifiability at
  preview, budgets, escalation across policies), over the linked views of the whole stack;
* :mod:`iam_pack.reporting`: the single point every violation is reported through, where the
  reporting policy's reviewed exceptions screen it (:mod:`iam_pack.exception_policies`).

Defensive by construction: no validator reads ``args.props`` through pulumi_policy's proxy (an
unknown would turn a mandatory policy into an advisory "can't run policy"), and every validator turns
an exception into a violation of its own policy instead of aborting the preview. ``PolicyPack()``
blocks forever; it is only called from ``__main__.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from iam_pack.closed_config import closed_config
from iam_pack.engine import COMMON_KEYS
from iam_pack.exception_policies import build_policies as build_exception_policies
from iam_pack.exception_policies import exceptions_schema
from iam_pack.plain import to_plain, unknown_paths
from iam_pack.resource_checks import make_informational_validator, make_rule_validator
from iam_pack.stack_checks import (
    ESCALATION_ACROSS_POLICIES,
    INLINE_POLICY_QUOTA,
    validate_budget,
    validate_escalation_across_policies,
    validate_inline_policy_quota,
    validate_preview_verifiable,
)
from least_privilege.findings import (
    ACTION_RESOURCE_MATCH,
    BUDGET,
    CONDITION_PITFALLS,
    DEPLOYABLE_DOCUMENTS,
    EXTERNAL_ACCESS,
    KNOWN_ACTIONS,
    MANAGED_ATTACHMENTS,
    NOT_ELEMENTS,
    PREVIEW_VERIFIABLE,
    PRIVILEGE_ESCALATION,
    RULES,
    SENSITIVE_ACCESS,
    TRUST_POLICY,
    WELL_FORMED,
    WILDCARD_ACTIONS,
    WILDCARD_RESOURCES,
    Severity,
)
from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationPolicy,
)
from pulumi_policy import Severity as PolicySeverity

__all__ = ["ALL_POLICIES", "PACK_DESCRIPTION", "PACK_NAME", "POLICY_NAMES", "to_plain", "unknown_paths"]

PACK_NAME: Final = "iam-least-privilege"
PACK_DESCRIPTION: Final = (
    "IAM least privilege for AI data-processing roles, enforced at preview: wildcard resources and "
    "actions, privilege escalation, sensitive access, trust and resource policies, managed attachments, "
    "budgets."
)

# Not an engine rule: the advisory channel for findings below a rule's blocking threshold (for
# example `*`-only actions such as s3:ListAllMyBuckets, which are allowed but still reported).
INFORMATIONAL: Final = "iam-informational-findings"

RESOURCE_RULES: Final = (
    WILDCARD_RESOURCES,
    WILDCARD_ACTIONS,
    ACTION_RESOURCE_MATCH,
    NOT_ELEMENTS,
    PRIVILEGE_ESCALATION,
    SENSITIVE_ACCESS,
    KNOWN_ACTIONS,
    MANAGED_ATTACHMENTS,
    TRUST_POLICY,
    EXTERNAL_ACCESS,
    CONDITION_PITFALLS,
    DEPLOYABLE_DOCUMENTS,
    WELL_FORMED,
)


@dataclass(frozen=True, slots=True)
class PackPolicyInfo:
    """Metadata of a policy that is the pack's own (not one engine rule): same fields as RuleInfo."""

    id: str
    title: str
    description: str
    default_severity: Severity
    remediation: str


PACK_POLICIES: Final = {
    ESCALATION_ACROSS_POLICIES: PackPolicyInfo(
        ESCALATION_ACROSS_POLICIES,
        "No privilege escalation across policies",
        "The union of every document that reaches one role, user (with its groups' policies), group or "
        "permission set (inline, attached in the stack, AWS-managed) is judged by the engine's escalation "
        "rule; paths that no single document completes (iam:PassRole in one policy, lambda:CreateFunction "
        "and lambda:InvokeFunction in another) are violations. Permissions boundaries are named, not "
        "subtracted.",
        Severity.HIGH,
        "Split the actions that complete the path across principals that cannot reach each other, or "
        "scope them so the path no longer applies.",
    ),
    INLINE_POLICY_QUOTA: PackPolicyInfo(
        INLINE_POLICY_QUOTA,
        "Inline policies within their aggregate quota",
        "IAM limits the total size of the inline policies of one principal (role 10,240, user 2,048, group "
        "5,120 characters, whitespace not counted), whichever resources declare them (the role's own "
        "inline policies, RolePolicy, aws-native RolePolicy...); a stack over it fails at `up`, so it is "
        "reported at preview.",
        Severity.HIGH,
        "Move some inline policies into customer-managed policies and attach them, or shorten them.",
    ),
}


def _info(rule: str) -> Any:
    return PACK_POLICIES.get(rule) or RULES[rule]


# --------------------------------------------------------------------------------------------------
# Config schemas.

_SEVERITY_SCHEMA: Final = {"type": "string", "enum": ["low", "medium", "high", "critical"]}
_COMMON_SCHEMA: Final[dict[str, dict[str, Any]]] = {
    "severityOverride": {
        **_SEVERITY_SCHEMA,
        "description": "Report every finding of this rule at this severity instead of the engine's.",
    },
    "minimumSeverity": {
        **_SEVERITY_SCHEMA,
        "description": "Findings below this severity are not violations of this policy; they are listed "
        f"by the advisory policy {INFORMATIONAL}. Default medium.",
    },
    **exceptions_schema(),
}
assert set(_COMMON_SCHEMA) == set(COMMON_KEYS)
_STRINGS: Final = {"type": "array", "items": {"type": "string"}}

_KNOWN_EXTERNAL_SCHEMA: Final = {
    "type": "object",
    "description": "Principals and customer-managed policies defined outside this stack that it may "
    "reference (attach to, join, put in an instance profile), by name or ARN. Anything else a resource "
    "points at that the stack does not define is a violation, because what it is cannot be verified.",
    "properties": {
        key: {**_STRINGS, "description": f"Known external {what}, by name or ARN."}
        for key, what in (
            ("roles", "roles"),
            ("users", "users"),
            ("groups", "groups"),
            ("policies", "customer-managed policies (ARN, name, or /path/name)"),
            ("permissionSets", "IAM Identity Center permission sets (ARN)"),
        )
    },
    "additionalProperties": False,
}

_EXTRA_SCHEMA: Final[dict[str, dict[str, dict[str, Any]]]] = {
    WILDCARD_RESOURCES: {
        "forbidStarOnlyActions": {
            "type": "boolean",
            "description": "Also forbid actions the catalog only accepts on `*` (s3:ListAllMyBuckets, "
            "most Describe*); by default they are allowed and reported at low severity.",
        }
    },
    TRUST_POLICY: {
        "allowedServicePrincipals": {
            **_STRINGS,
            "description": "Service principals roles may trust (replaces the default compute/ML list).",
        }
    },
    MANAGED_ATTACHMENTS: {
        "allowedManagedPolicies": {
            **_STRINGS,
            "description": "AWS-managed policy ARNs or names accepted without judging their document.",
        },
        "deniedManagedPolicies": {
            **_STRINGS,
            "description": "AWS-managed policy ARNs or names that are always violations.",
        },
    },
    PREVIEW_VERIFIABLE: {
        "requireKnownDocuments": {
            "type": "boolean",
            "description": "Report IAM documents that are (partly) unknown at preview. Default true.",
        },
        "requireKnownPolicyArns": {
            "type": "boolean",
            "description": "Report attached policy ARNs unknown at preview that no property dependency "
            "links to a policy of the stack. Default true.",
        },
        "requireReferencesInStack": {
            "type": "boolean",
            "description": "Report roles, users, groups, permission sets and customer-managed policies a "
            "resource points at that the stack does not define and knownExternal does not list. "
            "Default true.",
        },
        "knownExternal": _KNOWN_EXTERNAL_SCHEMA,
    },
    BUDGET: {
        "allowedServices": {
            **_STRINGS,
            "description": "Service prefixes a principal's effective permissions may use (absent: any).",
        },
        "forbidWriteOnStar": {
            "type": "boolean",
            "description": "No Write access on `*` resources. Default true.",
        },
        "forbidPermissionsManagementOnStar": {
            "type": "boolean",
            "description": "No Permissions-management access on `*` resources. Default true.",
        },
        "failOnUnresolvedPolicies": {
            "type": "boolean",
            "description": "Attached policies that are neither in the stack nor in the managed snapshot "
            "make the budget unverifiable; report them. Default true.",
        },
    },
    EXTERNAL_ACCESS: {
        "trustedAccounts": {
            "type": "array",
            "items": {"type": "string", "pattern": "^[0-9]{12}$"},
            "description": "Accounts (12-digit ids) resource policies may grant besides the stack's own "
            "account; any other account is external access.",
        }
    },
    DEPLOYABLE_DOCUMENTS: {
        "trustPolicyQuota": {
            "type": "integer",
            "minimum": 2048,
            "maximum": 4096,
            "description": "The account's role trust-policy length quota (2,048 by default; AWS raises it "
            "to at most 4,096 on request).",
        }
    },
}


def _schema(rule: str) -> PolicyConfigSchema:
    return PolicyConfigSchema(properties={**_COMMON_SCHEMA, **_EXTRA_SCHEMA.get(rule, {})})


def _policy_metadata(rule: str) -> dict[str, Any]:
    """What every policy of this pack declares about itself, from its rule metadata."""
    info = _info(rule)
    return {
        "name": rule,
        "description": info.description,
        "display_name": info.title,
        "enforcement_level": EnforcementLevel.MANDATORY,
        "config_schema": _schema(rule),
        "severity": PolicySeverity(info.default_severity.label),
        "remediation_steps": info.remediation,
        "tags": ["iam", "least-privilege"],
    }


def _resource_policy(
    rule: str, validate: Callable[[ResourceValidationArgs, ReportViolation], None]
) -> ResourceValidationPolicy:
    checked = closed_config(rule, _schema(rule).properties, validate)
    return ResourceValidationPolicy(validate=checked, **_policy_metadata(rule))


def _stack_policy(rule: str, validate: Callable[[Any, ReportViolation], None]) -> StackValidationPolicy:
    checked = closed_config(rule, _schema(rule).properties, validate)
    return StackValidationPolicy(validate=checked, **_policy_metadata(rule))


def _build_policies() -> list[ResourceValidationPolicy | StackValidationPolicy]:
    policies: list[ResourceValidationPolicy | StackValidationPolicy] = [
        _resource_policy(rule, make_rule_validator(rule)) for rule in RESOURCE_RULES
    ]
    policies.append(_stack_policy(PREVIEW_VERIFIABLE, validate_preview_verifiable))
    policies.append(_stack_policy(BUDGET, validate_budget))
    policies.append(_stack_policy(ESCALATION_ACROSS_POLICIES, validate_escalation_across_policies))
    policies.append(_stack_policy(INLINE_POLICY_QUOTA, validate_inline_policy_quota))
    # After every finding policy (stack policies run in this order): what the exceptions did this run.
    policies.extend(build_exception_policies())
    # Last, so every rule policy has stashed its below-threshold findings for the resource.
    policies.append(
        ResourceValidationPolicy(
            name=INFORMATIONAL,
            description="Findings below their rule's blocking threshold (for example `*`-only actions such "
            "as s3:ListAllMyBuckets), listed for review; never blocks.",
            display_name="Informational IAM findings",
            validate=closed_config(INFORMATIONAL, (), make_informational_validator(INFORMATIONAL)),
            config_schema=PolicyConfigSchema(properties={}),
            enforcement_level=EnforcementLevel.ADVISORY,
            severity=PolicySeverity.LOW,
            remediation_steps="Review; scope or remove the grant if the workload does not need it.",
            tags=["iam", "least-privilege"],
        )
    )
    return policies


ALL_POLICIES: Final = _build_policies()
POLICY_NAMES: Final = tuple(p.name for p in ALL_POLICIES)
