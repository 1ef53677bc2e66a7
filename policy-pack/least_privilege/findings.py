"""Findings and rule metadata.

Rule metadata is plain data (Parliament style) so that the CrossGuard wrapper, the lint CLI and the
README can all render the same id, title, description, default severity and remediation text.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any


class Severity(enum.IntEnum):
    """Ordered severities: comparisons (``>=``) implement ``--fail-on`` thresholds."""

    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @property
    def label(self) -> str:
        """Lower-case name, the form used in JSON output and pack config."""
        return self.name.lower()

    def __str__(self) -> str:
        return self.label

    @classmethod
    def parse(cls, value: str | int | Severity) -> Severity:
        """Accept "high", "HIGH", 3 or Severity.HIGH; raise ValueError otherwise (config errors are loud)."""
        if isinstance(value, Severity):
            return value
        if isinstance(value, bool):
            raise ValueError(f"not a severity: {value!r}")
        if isinstance(value, int):
            return cls(value)
        if isinstance(value, str) and value.strip().upper() in cls.__members__:
            return cls[value.strip().upper()]
        raise ValueError(f"not a severity: {value!r} (use low, medium, high or critical)")


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem in one document; ``rule`` is a rule id (== the CrossGuard policy name)."""

    rule: str
    severity: Severity
    message: str
    statement: str | None = None
    action: str | None = None
    resource: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form used by the lint CLI and the pipeline reports."""
        return {
            "rule": self.rule,
            "severity": self.severity.label,
            "message": self.message,
            "statement": self.statement,
            "action": self.action,
            "resource": self.resource,
        }


@dataclass(frozen=True, slots=True)
class RuleInfo:
    """Static description of a rule; the pack turns each into a named policy."""

    id: str
    title: str
    description: str
    default_severity: Severity
    remediation: str


WILDCARD_RESOURCES = "iam-no-wildcard-resources"
WILDCARD_ACTIONS = "iam-no-wildcard-actions"
ACTION_RESOURCE_MATCH = "iam-action-resource-match"
NOT_ELEMENTS = "iam-no-allow-with-not-elements"
PRIVILEGE_ESCALATION = "iam-no-privilege-escalation"
SENSITIVE_ACCESS = "iam-no-unconstrained-sensitive-access"
KNOWN_ACTIONS = "iam-known-actions"
MANAGED_ATTACHMENTS = "iam-managed-policy-attachments"
TRUST_POLICY = "iam-trust-policy"
PREVIEW_VERIFIABLE = "iam-preview-verifiable"
BUDGET = "iam-effective-permissions-budget"
WELL_FORMED = "iam-well-formed-documents"

_RULE_LIST: tuple[RuleInfo, ...] = (
    RuleInfo(
        WILDCARD_RESOURCES,
        "No wildcard resources",
        "Allow statements must name the resources they grant: `*` and effectively-star ARNs (a wildcard in "
        "partition, service, region or account, in a bucket name, `arn:aws:s3:::*`, `*/*`, "
        "`arn:aws:iam::*:role/*`) are reported for actions that support resource-level scoping. Actions "
        "the catalog only accepts on `*` are reported at low severity unless the configuration forbids them.",
        Severity.HIGH,
        "Replace the wildcard with the exact ARNs (bucket, bucket/prefix/*, role, key) the workload uses.",
    ),
    RuleInfo(
        WILDCARD_ACTIONS,
        "No wildcard actions",
        "`*`, `service:*` and verb wildcards (`s3:Get*`, `*:Get*`) grant every matching action, including "
        "ones added to AWS later; severity follows what the pattern expands to.",
        Severity.HIGH,
        "List the individual actions the workload calls.",
    ),
    RuleInfo(
        ACTION_RESOURCE_MATCH,
        "Actions match their resources",
        "A grant whose resources fit none of the action's resource types grants nothing (for example "
        "s3:ListBucket on an object ARN, s3:GetObject on a bucket ARN, or a `*`-only action on an ARN); "
        "it hides the author's intent and usually means the real grant is missing.",
        Severity.MEDIUM,
        "Use the ARN form the action applies to (bucket ARN for bucket actions, bucket/key for object "
        "actions).",
    ),
    RuleInfo(
        NOT_ELEMENTS,
        "No Allow with NotAction, NotResource or NotPrincipal",
        "Allow combined with NotAction, NotResource or NotPrincipal grants the complement: everything "
        "except the listed items, including everything AWS adds later.",
        Severity.HIGH,
        "Rewrite the statement as an explicit Allow list, and use Deny with Not* only for guard rails.",
    ),
    RuleInfo(
        PRIVILEGE_ESCALATION,
        "No privilege escalation",
        "Actions that let a principal grant itself more permissions (iam:PassRole on `*`, "
        "iam:CreatePolicyVersion, iam:AttachRolePolicy, iam:PutRolePolicy, and the published escalation "
        "paths) are reported even on scoped resources where scope does not help, including actions on "
        "a named principal that let the holder act as it (iam:UpdateAssumeRolePolicy on a role, "
        "iam:CreateAccessKey, iam:CreateLoginProfile, iam:UpdateLoginProfile on a user: the named "
        "principal may be an administrator). Resource-policy writes (Permissions-management actions "
        "that put or change a resource policy, ACL, grant or permission: s3:PutBucketPolicy, "
        "s3:PutBucketAcl, s3:PutObjectAcl, kms:PutKeyPolicy, kms:CreateGrant, lambda:AddPermission, "
        "secretsmanager:PutResourcePolicy, ...) belong here too, because the holder can grant itself "
        "or anyone any access to the resource: medium on named resources, high on `*`.",
        Severity.HIGH,
        "Remove the action, or scope it to specific ARNs and add a narrowing Condition (e.g. "
        "iam:PassedToService).",
    ),
    RuleInfo(
        SENSITIVE_ACCESS,
        "No unconstrained credential or sensitive-data access",
        "Actions that return credentials or secrets (secretsmanager:GetSecretValue, ssm:GetParameter*, "
        "kms:Decrypt, s3:GetObject on everything, ...) on wildcard resources. A Condition whose key "
        "really narrows access lowers the severity; it never hides the finding.",
        Severity.HIGH,
        "Scope the action to the specific secrets, parameters, keys or bucket prefixes the workload reads.",
    ),
    RuleInfo(
        KNOWN_ACTIONS,
        "Only known actions",
        "Actions (and action patterns) that match nothing in the IAM catalog grant nothing: usually a typo "
        "that hides the real intent.",
        Severity.MEDIUM,
        "Fix the spelling; check the service prefix and action name in the AWS Service Authorization "
        "Reference.",
    ),
    RuleInfo(
        MANAGED_ATTACHMENTS,
        "Managed policy attachments are least privilege",
        "AWS-managed policies attached to roles are judged by their actual document (bundled snapshot), "
        "plus configurable allow and deny lists.",
        Severity.HIGH,
        "Replace the broad AWS-managed policy with a customer-managed policy scoped to the resources used.",
    ),
    RuleInfo(
        TRUST_POLICY,
        "Trust policies name who may assume the role",
        "Role trust policies must not trust any principal (`*` in string or object form, "
        "arn:aws:iam::*:root), cross-account roots need sts:ExternalId or aws:PrincipalOrgID, OIDC "
        "federation (GitHub) needs sub and aud conditions, and service principals must be on the allow list.",
        Severity.HIGH,
        "Trust only the specific service, account or federated identity, with the narrowing conditions.",
    ),
    RuleInfo(
        PREVIEW_VERIFIABLE,
        "IAM documents are verifiable at preview",
        "An IAM document or an attachment's policy ARN that is unknown at preview cannot be checked; "
        "where configured (mandatory in prod) that is a violation, so nothing reaches `up` unverified.",
        Severity.MEDIUM,
        "Build the document from values known at preview (config, literal ARNs) instead of outputs of "
        "resources created in the same update.",
    ),
    RuleInfo(
        BUDGET,
        "Effective permissions stay within budget",
        "The union of a role's inline, attached customer-managed and AWS-managed policies must stay within "
        "the environment budget: allowed services only, and no Write or Permissions-management access "
        "on `*`.",
        Severity.HIGH,
        "Remove the out-of-budget services or scope the Write/Permissions-management actions to ARNs.",
    ),
    RuleInfo(
        WELL_FORMED,
        "IAM documents are well formed",
        "Malformed documents (bad JSON, wrong types, missing Effect, Action together with NotAction, "
        "unknown elements) are reported instead of crashing the check or being silently ignored by AWS. "
        "So is a service condition key that does not apply to some of the statement's actions (s3:prefix "
        "on s3:GetObject): AWS never puts it in those requests, so on an Allow the grant of those actions "
        "is void (low: it fails closed) and on a Deny the guard rail does not stop them (medium: it fails "
        "open). Global aws: keys always apply; keys of another service and wildcard actions are not judged.",
        Severity.MEDIUM,
        "Fix the document to follow the IAM policy grammar; move a condition key to a statement of only the "
        "actions it applies to.",
    ),
)

RULES: dict[str, RuleInfo] = {r.id: r for r in _RULE_LIST}

__all__ = [
    "ACTION_RESOURCE_MATCH",
    "BUDGET",
    "KNOWN_ACTIONS",
    "MANAGED_ATTACHMENTS",
    "NOT_ELEMENTS",
    "PREVIEW_VERIFIABLE",
    "PRIVILEGE_ESCALATION",
    "RULES",
    "SENSITIVE_ACCESS",
    "TRUST_POLICY",
    "WELL_FORMED",
    "WILDCARD_ACTIONS",
    "WILDCARD_RESOURCES",
    "Finding",
    "RuleInfo",
    "Severity",
]
