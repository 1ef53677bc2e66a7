"""Rule iam-managed-policy-attachments: an attached AWS-managed policy judged by its document (bundled
snapshot) and the environment's allow and deny lists."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from .. import is_unknown
from ..arn import has_unknown
from ..core import AWS_MANAGED_ARN, apply_overrides, list_text, managed_document, sensitive_actions
from ..findings import Finding, RuleInfo, Severity
from ..settings import DEFAULT_SETTINGS, Settings
from .budget import EffectivePermissions, effective_permissions
from .preview_verifiable import RULE as PREVIEW_VERIFIABLE
from .privilege_escalation import RULE as PRIVILEGE_ESCALATION
from .well_formed import RULE as WELL_FORMED

RULE = RuleInfo(
    id="iam-managed-policy-attachments",
    title="Managed policy attachments are least privilege",
    description=(
        "AWS-managed policies attached to roles are judged by their actual document (bundled snapshot), "
        "plus configurable allow and deny lists."
    ),
    default_severity=Severity.HIGH,
    remediation=(
        "Replace the broad AWS-managed policy with a customer-managed policy scoped to the resources used."
    ),
)


def check_managed_policy_arn(policy_arn: Any, settings: Settings = DEFAULT_SETTINGS) -> list[Finding]:
    """Judge an attached policy ARN. AWS-managed: by the snapshot's document, plus allow/deny lists.
    Customer-managed: [] (the Policy resource itself is checked). Never raises."""
    try:
        return apply_overrides(_check_managed(policy_arn, settings), settings)
    except Exception as exc:
        return [Finding(RULE.id, Severity.MEDIUM,
                        f"the attached policy {policy_arn!r} could not be analysed "
                        f"({type(exc).__name__}: {exc})")]


def _check_managed(policy_arn: Any, settings: Settings) -> list[Finding]:
    if is_unknown(policy_arn) or (isinstance(policy_arn, str) and has_unknown(policy_arn)):
        return [Finding(PREVIEW_VERIFIABLE.id, Severity.MEDIUM,
                        "the attached policy ARN is unknown at preview, so the attachment cannot be checked; "
                        "compute the ARN from config (arn:aws:iam::<account>:policy/<name>) or reference a "
                        "Policy in this stack.")]
    if not isinstance(policy_arn, str) or not policy_arn.startswith("arn:"):
        return [Finding(WELL_FORMED.id, Severity.MEDIUM,
                        f"the attached policy ARN {policy_arn!r} is not an ARN", resource=str(policy_arn))]
    m = AWS_MANAGED_ARN.match(policy_arn)
    name = m.group("name") if m else policy_arn.rsplit("/", 1)[-1]
    denied: list[Finding] = []
    if policy_arn in settings.managed_deny or name in settings.managed_deny:
        denied.append(Finding(RULE.id, Severity.HIGH,
                              f"{name} ({policy_arn}) is on this environment's deny list; attach a "
                              "customer-managed policy scoped to the resources the role uses.",
                              resource=policy_arn))
    elif policy_arn in settings.managed_allow or name in settings.managed_allow:
        return []
    if m is None:  # customer-managed: the Policy resource itself is checked
        return denied
    doc = managed_document(policy_arn)
    if doc is None:
        return [Finding(RULE.id, Severity.MEDIUM,
                        f"{name} ({policy_arn}) is not in the bundled AWS managed-policy snapshot, so "
                        "it cannot be judged; refresh the snapshot, or review it and add it to the allow "
                        "list.",
                        resource=policy_arn), *denied]
    # The deny list says "not here"; the content says why (e.g. ReadOnlyAccess reads every bucket).
    return denied + list(_judge_managed(policy_arn, name))


@lru_cache(maxsize=256)
def _judge_managed(policy_arn: str, name: str) -> tuple[Finding, ...]:
    doc = managed_document(policy_arn)
    from ..analysis import check_identity_policy  # the entry point runs every rule

    inner = check_identity_policy(doc, DEFAULT_SETTINGS)
    perms = effective_permissions([doc])
    out: list[Finding] = []
    escalation = sorted((f for f in inner if f.rule == PRIVILEGE_ESCALATION.id), key=lambda f: -f.severity)
    if escalation:
        worst = escalation[0]
        out.append(Finding(RULE.id, worst.severity,
                           f"{name} ({policy_arn}) enables privilege escalation: {worst.message}",
                           action=worst.action, resource=policy_arn))
    summary = _breadth_summary(perms)
    if summary is not None:
        severity, text = summary
        out.append(Finding(RULE.id, severity,
                           f"{name} ({policy_arn}) {text}; attach a customer-managed policy scoped to the "
                           "resources the role uses.", resource=policy_arn))
    return tuple(out)


def _breadth_summary(perms: EffectivePermissions) -> tuple[Severity, str] | None:
    """Describe what a document grants on every resource, by service and access level."""
    if perms.all_actions_on_star:
        return Severity.CRITICAL, "grants every action on every resource (administrator access)"
    negated = [g for g in perms.grants if g.star and g.actions.negated]
    if negated:
        excluded = sorted({p for g in negated for p in g.actions.patterns})
        return Severity.HIGH, (f"grants every action except {list_text(excluded, 8)} on every resource "
                               "(NotAction), including permissions management")
    levels = perms.star_access_levels()
    if not levels:
        return None
    parts: list[str] = []
    severity = Severity.LOW
    write = sorted(s for s, lv in levels.items() if lv in ("Write", "Permissions management"))
    perm = sorted(s for s, lv in levels.items() if lv == "Permissions management")
    read = sorted(s for s, lv in levels.items() if lv == "Read")
    if perm:
        parts.append(f"grants permissions management on every resource of {list_text(perm)}")
        severity = Severity.HIGH
    if write:
        parts.append(f"grants write on every resource of {list_text(write)}")
        severity = Severity.HIGH
    if "s3" in levels and levels["s3"] in ("Read", "Write", "Permissions management") and perms.allows(
        "s3:getobject", "arn:aws:s3:::any-bucket/any-key"
    ):
        parts.insert(0, "grants read on every S3 bucket in the account (s3:GetObject on all objects)")
        severity = max(severity, Severity.HIGH)
    if read:
        sensitive = [a for a in sensitive_actions() if perms.allows(a, "*")]
        parts.append(f"grants read on every resource of {list_text(read)}")
        severity = max(severity, Severity.HIGH if sensitive else Severity.MEDIUM)
    if not parts:
        lists_only = sorted(levels)
        parts.append(f"grants list access on every resource of {list_text(lists_only)}")
    return severity, "; ".join(parts)

