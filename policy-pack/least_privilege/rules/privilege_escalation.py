"""Rule iam-no-privilege-escalation: the published escalation methods (a method may combine
actions from several statements) and resource-policy writes."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ..arn import has_unknown
from ..catalog import (
    ActionInfo,
    actions_for_service,
    all_services,
    info_for_lower,
)
from ..core import (
    POLICY_KINDS,
    ActionSet,
    RuleContext,
    StatementView,
    action_fits,
    canonical_name,
    condition_narrows,
    document_check,
    escalation_methods,
    escalation_universe,
    list_text,
)
from ..findings import Finding, RuleInfo, Severity

RULE = RuleInfo(
    id="iam-no-privilege-escalation",
    title="No privilege escalation",
    description=(
        "Actions that let a principal grant itself more permissions (iam:PassRole on `*`, "
        "iam:CreatePolicyVersion, iam:AttachRolePolicy, iam:PutRolePolicy, and the published escalation "
        "paths) are reported even on scoped resources where scope does not help, including actions on "
        "a named principal that let the holder act as it (iam:UpdateAssumeRolePolicy on a role, "
        "iam:CreateAccessKey, iam:CreateLoginProfile, iam:UpdateLoginProfile on a user: the named "
        "principal may be an administrator). Resource-policy writes (Permissions-management actions "
        "that put or change a resource policy, ACL, grant or permission: s3:PutBucketPolicy, "
        "s3:PutBucketAcl, s3:PutObjectAcl, kms:PutKeyPolicy, kms:CreateGrant, lambda:AddPermission, "
        "secretsmanager:PutResourcePolicy, ...) belong here too, because the holder can grant itself "
        "or anyone any access to the resource: medium on named resources, high on `*`."
    ),
    default_severity=Severity.HIGH,
    remediation=(
        "Remove the action, or scope it to specific ARNs and add a narrowing Condition (e.g. "
        "iam:PassedToService)."
    ),
)


_ESCALATION_NARROWING = frozenset(
    {"iam:passedtoservice", "iam:associatedresourcearn", "iam:policyarn", "iam:permissionsboundary",
     "aws:resourcetag", "iam:resourcetag"}
)


def _escalation_key_ok(key: str) -> bool:
    k = key.lower()
    return k in _ESCALATION_NARROWING or k.startswith(("aws:resourcetag/", "iam:resourcetag/"))


@dataclass(frozen=True, slots=True)
class _BuiltinMethod:
    id: str
    title: str
    reference: str = ""


_PASS_ROLE_ON_STAR = _BuiltinMethod(
    "iam-pass-role-on-star",
    "Pass any role, including administrator roles, to any service that accepts a role",
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html",
)


@lru_cache(maxsize=4096)
def _escalation_profile(actions: ActionSet, star: tuple[str, ...]) -> tuple[frozenset[str], frozenset[str]]:
    """(escalation-relevant actions the set grants, those of them granted on an effectively-star
    resource that applies to them)."""
    granted = actions.intersect(escalation_universe())
    on_star = set()
    for a in granted:
        info = info_for_lower(a)
        if any(r.startswith("NotResource") or info is None or action_fits(info, r) for r in star):
            on_star.add(a)
    return granted, frozenset(on_star)


@document_check(RULE, POLICY_KINDS)
def _rule_privilege_escalation(ctx: RuleContext) -> None:
    """Every published escalation method whose actions the document allows, even on scoped resources
    when scope does not bound the gain."""
    allows = [v for v in ctx.views
              if v.st.is_allow and (v.resources or v.not_resource or ctx.kind == "trust")]
    if not allows:
        return
    universe = escalation_universe()
    denied: set[str] = set()
    for d in ctx.views:
        if d.st.is_deny and not d.st.conditions and d.literal_star:
            denied |= d.actions.intersect(universe)
    profiles = [(v, *_escalation_profile(v.actions, tuple(r for r, _ in v.star))) for v in allows]
    granted_all: set[str] = set()
    on_star_all: set[str] = set()
    for _v, granted, on_star in profiles:
        granted_all |= granted
        on_star_all |= on_star
    granted_all -= denied
    on_star_all -= denied
    if not granted_all:
        return
    found: list[tuple[Severity, tuple[str, ...], Any]] = []
    for method in escalation_methods():
        actions = method.actions
        if getattr(method, "all_required", True):
            if not actions <= granted_all:
                continue
        elif actions.isdisjoint(granted_all):
            continue
        scope_actions = getattr(method, "scope_actions", None) or actions
        on_star = not on_star_all.isdisjoint(scope_actions)
        if getattr(method, "scope_helps", False) and not on_star:
            continue  # e.g. iam:PassRole limited to named roles: the gain is bounded by those roles
        found.append((Severity.CRITICAL if on_star else Severity.HIGH, tuple(sorted(actions)), method))
    if "iam:passrole" in on_star_all and not any(
        sev == Severity.CRITICAL and "iam:passrole" in acts for sev, acts, _ in found
    ):
        # On its own, iam:PassRole on * hands any role (admin roles included) to any service that
        # accepts one; the compute action that completes the path is often granted by another policy.
        found.append((Severity.CRITICAL, ("iam:passrole",), _PASS_ROLE_ON_STAR))
    if not found:
        return

    def involved(acts: Iterable[str]) -> list[StatementView]:
        wanted = set(acts)
        return [v for v, granted, _ in profiles if not granted.isdisjoint(wanted)]

    def star_resource(acts: Iterable[str]) -> str | None:
        wanted = set(acts)
        for v, _, on_star in profiles:
            if not on_star.isdisjoint(wanted):
                return v.star[0][0]
        return None

    def lowered(views: list[StatementView], severity: Severity) -> tuple[Severity, str]:
        # Lower only when every statement that grants the path is narrowed: one unconditioned
        # statement grants it regardless of the conditions on the others.
        narrowing = [
            next((c for c in v.st.conditions if condition_narrows(c, _escalation_key_ok)), None)
            for v in views
        ]
        if severity == Severity.CRITICAL and narrowing and all(c is not None for c in narrowing):
            return Severity.HIGH, f"; the condition on {narrowing[0].key} narrows it but does not remove it"
        return severity, ""

    if len(found) <= 4:
        for severity, actions, method in found:
            views = involved(actions)
            labels = sorted({v.label for v in views})
            severity, cond = lowered(views, severity)
            resource = star_resource(actions) if severity >= Severity.HIGH else None
            if resource is None:
                resource = next((r for v in views for r in v.resources), None)
            where = (f"on {resource}" if star_resource(actions)
                     else "on scoped resources (scope does not bound the gain)")
            title = getattr(method, "title", getattr(method, "id", "escalation"))
            ref = getattr(method, "reference", "")
            names = ", ".join(canonical_name(a) for a in actions)
            ctx.findings.append(Finding(
                RULE.id, severity,
                f"{', '.join(labels)}: {names} {where} enables privilege escalation "
                f"({getattr(method, 'id', '')}: {title}){cond}. Remove the action(s) or scope them to "
                f"specific ARNs with a narrowing condition.{(' See ' + ref) if ref else ''}",
                labels[0] if labels else None, names, resource))
        return
    by_severity: dict[Severity, list[tuple[Severity, tuple[str, ...], Any]]] = {}
    for item in found:
        by_severity.setdefault(item[0], []).append(item)
    for severity, items in sorted(by_severity.items(), key=lambda kv: -kv[0]):
        acts = {a for it in items for a in it[1]}
        views = involved(acts)
        labels = sorted({v.label for v in views})
        ids = [str(getattr(it[2], "id", "")) for it in items]
        key_actions = sorted(canonical_name(a) for a in acts)
        resource = star_resource(acts) if severity == Severity.CRITICAL else None
        severity, cond = lowered(views, severity)
        where = f"on {resource}" if resource else "on the granted resources"
        ctx.findings.append(Finding(
            RULE.id, severity,
            f"{', '.join(labels)}: grants {len(items)} privilege-escalation methods {where} "
            f"({list_text(ids, 8)}){cond}, through {list_text(key_actions, 8)}; remove those actions or "
            "scope them to specific ARNs.",
            labels[0] if labels else None, key_actions[0] if key_actions else None, resource))


# Resource-policy writes: Permissions-management actions that rewrite who may use a resource (bucket
# and key policies, ACLs, grants, resource policies, Lambda/SNS/SQS permissions, sharing). Found from
# the catalog's access level plus the verb and noun of the name, not a hand list, so new services are
# covered. Identity-side services are left to the escalation methods in data/escalation.json, and
# removals (Delete*, Remove*, Revoke*) narrow access, so they are not included.
_IDENTITY_SERVICES = frozenset({"iam", "sts", "sso", "sso-directory", "identitystore", "organizations"})
_POLICY_WRITE_RE = re.compile(
    r"^(?:put|set|add|create|update|modify|attach)[a-z0-9]*(?:policy|permissions?|acl|grant|"
    r"publicaccessblock|attributes)$"
)


def _policy_write_info(info: ActionInfo) -> bool:
    return (info.service not in _IDENTITY_SERVICES and info.access_level == "Permissions management"
            and not info.star_only and bool(_POLICY_WRITE_RE.match(info.name.lower())))


@lru_cache(maxsize=65536)
def is_resource_policy_write(action_lower: str) -> bool:
    info = info_for_lower(action_lower)
    return info is not None and _policy_write_info(info)


@lru_cache(maxsize=1)
def resource_policy_writes() -> frozenset[str]:
    """Every resource-policy write in the catalog. Loads every service, so it is used only for symbolic
    action sets (NotAction); written-out actions are checked one by one (is_resource_policy_write)."""
    return frozenset(info.full.lower() for service in all_services() if service not in _IDENTITY_SERVICES
                     for info in actions_for_service(service) if _policy_write_info(info))


@document_check(RULE, POLICY_KINDS)
def _check_resource_policy_writes(ctx: RuleContext) -> None:
    """Resource-policy writes (s3:PutBucketPolicy, kms:PutKeyPolicy, lambda:AddPermission, ...): on a
    named resource the holder can still open that resource to any principal, so they are reported there
    too (MEDIUM), and at HIGH on `*`."""
    denies = [d for d in ctx.views if d.st.is_deny and not d.st.conditions and d.literal_star]
    for v in ctx.views:
        if not v.st.is_allow or not (v.resources or v.not_resource) or v.actions.is_all:
            continue  # Action "*" is already reported as every escalation method at once
        if v.actions.expanded is not None:
            candidates: Iterable[str] = (a for a in v.actions.expanded if is_resource_policy_write(a))
        else:
            candidates = v.actions.intersect(resource_policy_writes())
        granted = sorted(a for a in candidates if not any(d.actions.contains(a) for d in denies))
        if not granted:
            continue
        star = [r for r, _ in v.star]
        named = [r for r in v.resources if r not in star and not has_unknown(r)]
        on_star: list[str] = []
        on_named: list[str] = []
        star_resource = named_resource = None
        for a in granted:
            info = info_for_lower(a)
            if info is None:
                continue
            hit = next((r for r in star if r.startswith("NotResource") or action_fits(info, r)), None)
            if hit is not None:
                on_star.append(info.full)
                star_resource = star_resource or hit
                continue
            hit = next((r for r in named if action_fits(info, r)), None)
            if hit is not None:
                on_named.append(info.full)
                named_resource = named_resource or hit
        for names, resource, severity in ((on_star, star_resource, Severity.HIGH),
                                          (on_named, named_resource, Severity.MEDIUM)):
            if not names or resource is None:
                continue
            where = f"on {resource}" + (" and other named resources" if severity == Severity.MEDIUM
                                        and len(named) > 1 else "")
            ctx.add(RULE.id, severity,
                    f"{v.label}: {list_text(names)} {where} can rewrite a resource policy, ACL or grant, so "
                    "the holder can open the resource to any principal, itself included (resource-policy "
                    "privilege escalation). Remove the action(s): workloads that only use the resource "
                    "never need them.",
                    v, names[0], resource)

