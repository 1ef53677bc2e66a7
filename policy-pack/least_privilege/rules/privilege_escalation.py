"""Rule iam-no-privilege-escalation: the published escalation methods (a method may combine
actions from several statements) and resource-policy writes."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from .. import lists
from ..action_classes import (
    account_guardrails,
    is_permissions_write,
    permissions_writes,
)
from ..arn import has_unknown, is_wildcard_pattern, parse_arn
from ..catalog import info_for_lower
from ..core import (
    POLICY_KINDS,
    THIS_RESOURCE,
    ActionSet,
    Denial,
    RuleContext,
    StatementView,
    canonical_name,
    condition_narrows,
    delegates_to_accounts,
    denials_in,
    document_check,
    escalation_methods,
    escalation_universe,
    is_star_reach,
    list_text,
    network_container,
    reach_fits,
    surviving,
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
        "principal may be an administrator; on the caller's own user, user/${aws:username}, that is "
        "self-service), and on name patterns where scope would help (iam:PassRole or sts:AssumeRole on "
        "role/job-*: every matching role, including ones created later). Permissions writes (every "
        "Permissions-management action outside IAM by the catalog's access level, plus resource sharing "
        "the catalog labels Write: s3:PutBucketPolicy, kms:PutKeyPolicy, lambda:AddPermission, "
        "ec2:ModifySnapshotAttribute, ec2:ModifyImageAttribute, ...) belong here too, because the holder "
        "can open the resource to anyone: medium on named resources, high on `*`; and so do account-wide "
        "controls that AWS authorises only on `*` (leaving the organisation, turning off public-access "
        "blocks or Bedrock invocation logging, CloudWatch Logs account policies, domain transfers): high. "
        "A Deny subtracts only what it surely denies (no Condition; Deny NotResource X leaves X granted)."
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


_PASS_ROLE_ON_PATTERN = _BuiltinMethod(
    "iam-pass-role-on-name-pattern",
    "Pass any role whose name matches a wildcard pattern, including ones created later, to any service",
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html",
)

_ASSUME_ROLE_ON_PATTERN = _BuiltinMethod(
    "sts-assume-role-on-name-pattern",
    "Assume any role whose name matches a wildcard pattern and whose trust admits the account",
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_manage-assume.html",
)


def _is_own_user(resource: str) -> bool:
    """``arn:aws:iam::<account>:user/${aws:username}``: the caller's own user, and only it."""
    arn = parse_arn(resource)
    return (arn is not None and arn.service == "iam" and not is_wildcard_pattern(arn.account)
            and arn.resource.lower() == "user/${aws:username}")


@dataclass(frozen=True, slots=True)
class _Reach:
    """What one Allow statement grants of the escalation actions, after the document's Denies."""

    granted: frozenset[str]  # granted on some resource
    on_star: frozenset[str]  # ... on an effectively-star resource that applies to them
    on_pattern: frozenset[str]  # ... on a wildcard name pattern (role/A*) that applies to them
    beyond_self: frozenset[str]  # ... on something other than the caller's own user
    star_resource: str | None
    pattern_resource: str | None


@lru_cache(maxsize=4096)
def _reach(actions: ActionSet, resources: tuple[str, ...], denials: tuple[Denial, ...]) -> _Reach:
    granted: set[str] = set()
    on_star: set[str] = set()
    on_pattern: set[str] = set()
    beyond_self: set[str] = set()
    star_resource = pattern_resource = None
    for action in sorted(actions.intersect(escalation_universe())):
        remaining = surviving(action, resources, denials) if denials else resources
        if not remaining:
            continue
        granted.add(action)
        info = info_for_lower(action)
        for resource in remaining:
            if not _is_own_user(resource):
                beyond_self.add(action)
            if not reach_fits(info, resource):
                continue
            if is_star_reach(resource):
                on_star.add(action)
                star_resource = star_resource or resource
            elif resource != THIS_RESOURCE and is_wildcard_pattern(resource):
                on_pattern.add(action)
                pattern_resource = pattern_resource or resource
    return _Reach(frozenset(granted), frozenset(on_star), frozenset(on_pattern), frozenset(beyond_self),
                  star_resource, pattern_resource)


@document_check(RULE, POLICY_KINDS)
def _rule_privilege_escalation(ctx: RuleContext) -> None:
    """Every published escalation method whose actions the document allows, even on scoped resources
    when scope does not bound the gain; a name pattern (``role/A*``) does not bound it either."""
    allows = [v for v in ctx.views
              if v.st.is_allow and v.reach_resources and not delegates_to_accounts(v, ctx)]
    if not allows:
        return
    denials = denials_in(ctx.views)
    profiles = [(v, _reach(v.actions, v.reach_resources, denials)) for v in allows]
    granted_all: set[str] = set()
    on_star_all: set[str] = set()
    on_pattern_all: set[str] = set()
    beyond_self_all: set[str] = set()
    for _v, reach in profiles:
        granted_all |= reach.granted
        on_star_all |= reach.on_star
        on_pattern_all |= reach.on_pattern
        beyond_self_all |= reach.beyond_self
    if not granted_all:
        return
    found: list[tuple[Severity, tuple[str, ...], Any]] = []
    for method in escalation_methods():
        actions = method.actions
        if method.all_required:
            if not actions <= granted_all:
                continue
        elif actions.isdisjoint(granted_all):
            continue
        if method.self_service and actions.isdisjoint(beyond_self_all):
            continue  # only on the caller's own user: rotating one's own keys or password
        scope_actions = method.scope_actions or actions
        on_star = not on_star_all.isdisjoint(scope_actions)
        if method.scope_helps and not on_star and on_pattern_all.isdisjoint(scope_actions):
            continue  # e.g. iam:PassRole limited to named roles: the gain is bounded by those roles
        found.append((Severity.CRITICAL if on_star else Severity.HIGH, tuple(sorted(actions)), method))
    if "iam:passrole" in on_star_all and not any(
        sev == Severity.CRITICAL and "iam:passrole" in acts for sev, acts, _ in found
    ):
        # On its own, iam:PassRole on * hands any role (admin roles included) to any service that
        # accepts one; the compute action that completes the path is often granted by another policy.
        found.append((Severity.CRITICAL, ("iam:passrole",), _PASS_ROLE_ON_STAR))
    for action, builtin in (("iam:passrole", _PASS_ROLE_ON_PATTERN),
                            ("sts:assumerole", _ASSUME_ROLE_ON_PATTERN)):
        reported = any(action in acts for _, acts, _ in found)
        if action in on_pattern_all and action not in on_star_all and not reported:
            # A wildcard in the role name reaches every role that matches, including administrator
            # roles created later under a matching name.
            found.append((Severity.HIGH, (action,), builtin))
    _check_pass_role_without_service(profiles, on_star_all | on_pattern_all, ctx)
    if not found:
        return

    def involved(acts: Iterable[str]) -> list[StatementView]:
        wanted = set(acts)
        return [v for v, reach in profiles if not reach.granted.isdisjoint(wanted)]

    def star_resource(acts: Iterable[str]) -> str | None:
        wanted = set(acts)
        return next((reach.star_resource for _, reach in profiles if not reach.on_star.isdisjoint(wanted)),
                    None)

    def pattern_resource(acts: Iterable[str]) -> str | None:
        wanted = set(acts)
        return next((reach.pattern_resource for _, reach in profiles
                     if not reach.on_pattern.isdisjoint(wanted)), None)

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
            pattern = pattern_resource(actions)
            if resource is None:
                resource = pattern or next((r for v in views for r in v.resources), None)
            if star_resource(actions):
                where = f"on {resource}"
            elif pattern is not None and getattr(method, "scope_helps", True):
                where = (f"on {pattern} (a wildcard name reaches every matching resource, including ones "
                         "created later)")
            else:
                where = "on scoped resources (scope does not bound the gain)"
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


def _names_passed_to_service(view: StatementView) -> bool:
    return any(condition_narrows(c, lambda key: key.lower() == "iam:passedtoservice")
               for c in view.st.conditions)


def _check_pass_role_without_service(profiles: list[tuple[StatementView, _Reach]],
                                     reported_wider: set[str], ctx: RuleContext) -> None:
    """iam:PassRole on named roles without ``iam:PassedToService``: the holder can hand those roles to
    any service that accepts a role (a Lambda function or an instance it creates), not only to the job's
    service. Wider grants (``*``, name patterns) are reported above at a higher severity."""
    if "iam:passrole" in reported_wider:
        return
    for view, reach in profiles:
        if "iam:passrole" not in reach.granted or _names_passed_to_service(view):
            continue
        resource = next((r for r in view.reach_resources if r != THIS_RESOURCE), None)
        ctx.findings.append(Finding(
            RULE.id, Severity.MEDIUM,
            f"{view.label}: iam:PassRole on {resource or 'the named roles'} without an "
            "iam:PassedToService condition lets the holder pass the role to any service that accepts a "
            "role (for example a Lambda function or an EC2 instance it creates, which then acts with the "
            "role's permissions). Add Condition StringEquals iam:PassedToService: <the job's service "
            "principal>. See https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html",
            view.label, "iam:PassRole", resource))


# Permissions writes (action_classes): every Permissions-management action outside the identity
# services plus the resource-sharing actions the catalog labels Write. The identity services are left to
# the escalation methods above.


def is_resource_policy_write(action_lower: str) -> bool:
    """Does the (lower-case) action change who may use a resource (see ``action_classes``)?"""
    return is_permissions_write(action_lower)


def resource_policy_writes() -> frozenset[str]:
    """Every such action in the catalog (for symbolic action sets)."""
    return permissions_writes()


def _granted_of(view: StatementView, expanded_test: Callable[[str], bool],
                universe: Callable[[], frozenset[str]]) -> Iterable[str]:
    if view.actions.expanded is not None:
        return (a for a in view.actions.expanded if expanded_test(a))
    return view.actions.intersect(universe())


@document_check(RULE, POLICY_KINDS)
def _check_resource_policy_writes(ctx: RuleContext) -> None:
    """Permissions writes (s3:PutBucketPolicy, kms:PutKeyPolicy, lambda:AddPermission,
    ec2:ModifySnapshotAttribute, ...): on a named resource the holder can still open that resource to any
    principal, so they are reported there too (MEDIUM), and at HIGH on `*`. In a resource policy, a grant
    to account roots only delegates to that account's IAM policies (LOW)."""
    denials = denials_in(ctx.views)
    for v in ctx.views:
        if not v.st.is_allow or not v.reach_resources or v.actions.is_all:
            continue  # Action "*" is already reported as every escalation method at once
        candidates = sorted(_granted_of(v, is_permissions_write, permissions_writes))
        if not candidates:
            continue
        named = [r for r in v.reach_resources if not is_star_reach(r) and not has_unknown(r)]
        on_star: list[str] = []
        on_named: list[str] = []
        star_resource = named_resource = None
        for a in candidates:
            info = info_for_lower(a)
            remaining = surviving(a, v.reach_resources, denials) if denials else v.reach_resources
            if info is None or not remaining:
                continue
            hit = next((r for r in remaining if is_star_reach(r) and reach_fits(info, r)), None)
            if hit is not None:
                on_star.append(info.full)
                star_resource = star_resource or hit
                continue
            hit = next((r for r in remaining if not has_unknown(r) and reach_fits(info, r)), None)
            if hit is not None:
                on_named.append(info.full)
                named_resource = named_resource or hit
        delegated = delegates_to_accounts(v, ctx)
        for names, resource, severity in ((on_star, star_resource, Severity.HIGH),
                                          (on_named, named_resource, Severity.MEDIUM)):
            if not names or resource is None:
                continue
            shown = "the resource this policy is attached to" if resource == THIS_RESOURCE else resource
            where = f"on {shown}" + (" and other named resources" if severity == Severity.MEDIUM
                                     and len(named) > 1 else "")
            if resource != THIS_RESOURCE and network_container(v, names, resource) is not None:
                ctx.add(RULE.id, Severity.LOW,
                        f"{v.label}: {list_text(names)} {where}: allowed, confined to the network interfaces "
                        "of one VPC or subnet (EC2 lets only AWS-authorised accounts, such as the service "
                        "running the job, attach them).", v, names[0], shown)
                continue
            if severity == Severity.MEDIUM and _grants_only_through_aws_services(v, names):
                ctx.add(RULE.id, Severity.LOW,
                        f"{v.label}: {list_text(names)} {where} only for AWS services that use the key on "
                        "the holder's behalf (kms:GrantIsForAWSResource is true): allowed.",
                        v, names[0], shown)
                continue
            if delegated:
                ctx.add(RULE.id, Severity.LOW,
                        f"{v.label}: {list_text(names)} {where}, granted to account root(s): this delegates "
                        "to the IAM policies of that account, which are judged where they are written.",
                        v, names[0], shown)
                continue
            ctx.add(RULE.id, severity,
                    f"{v.label}: {list_text(names)} {where} can change who may use the resource (its policy, "
                    "ACL, grants or sharing: Permissions management), so the holder can open it to any "
                    "principal, itself included, or take away the access others rely on (resource-policy "
                    "privilege escalation). Remove the action(s): workloads that only use the resource "
                    "never need them.",
                    v, names[0], shown)


def _grants_only_through_aws_services(view: StatementView, names: list[str]) -> bool:
    """kms:CreateGrant conditioned on ``kms:GrantIsForAWSResource`` being true (AWS's documented form for
    EBS, RDS, SageMaker ... volumes under a customer key): the grant can only be created by an AWS
    service integration acting for the holder, not handed to an arbitrary principal."""
    if any(n.lower() != "kms:creategrant" for n in names):
        return False
    return any(
        c.base_operator == "bool" and not c.if_exists and c.set_qualifier is None
        and c.key.lower() == "kms:grantisforawsresource"
        and bool(c.values) and all(str(v).lower() == "true" for v in c.values)
        for c in view.st.conditions
    )


@document_check(RULE, POLICY_KINDS)
def _check_account_guardrails(ctx: RuleContext) -> None:
    """Account-wide controls AWS authorises only on ``*`` (leaving the organisation, turning off audit
    logging or public-access blocks, transferring domains): HIGH, because naming no resource is the only
    form they take and the only scope is not granting them."""
    denials = denials_in(ctx.views)
    for v in ctx.views:
        if not v.st.is_allow or not v.reach_resources or v.actions.is_all:
            continue  # Action "*" is reported as critical already
        names: list[str] = []
        resource: str | None = None
        for a in sorted(v.actions.intersect(account_guardrails())):
            info = info_for_lower(a)
            remaining = surviving(a, v.reach_resources, denials) if denials else v.reach_resources
            hit = next((r for r in remaining if is_star_reach(r) and reach_fits(info, r)), None)
            if info is None or hit is None:
                continue
            names.append(info.full)
            resource = resource or hit
        if not names or resource is None:
            continue
        reasons = "; ".join(f"{n} {lists.account_control_reason(n) or ''}".strip() for n in names[:4])
        more = "; ..." if len(names) > 4 else ""
        ctx.add(RULE.id, Severity.HIGH,
                f"{v.label}: {list_text(names)} on {resource}: account-wide controls that AWS authorises "
                f"only on \"*\" ({reasons}{more}). Workload roles never need them; remove them (they "
                "cannot be scoped).", v, names[0], resource)
