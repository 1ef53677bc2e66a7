"""Rule iam-no-unconstrained-sensitive-access: credential and sensitive-data actions on wildcard
resources."""

from __future__ import annotations

from functools import lru_cache

from ..catalog import (
    info_for_lower,
)
from ..core import (
    POLICY_KINDS,
    ActionSet,
    RuleContext,
    StatementView,
    action_fits,
    canonical_name,
    list_head_text,
    list_text,
    narrowing_conditions_for,
    sensitive_actions,
    sensitive_universe,
    statement_check,
)
from ..findings import RuleInfo, Severity
from ..lists import caller_bound_actions

RULE = RuleInfo(
    id="iam-no-unconstrained-sensitive-access",
    title="No unconstrained credential or sensitive-data access",
    description=(
        "Actions that return credentials or secrets (secretsmanager:GetSecretValue, ssm:GetParameter*, "
        "kms:Decrypt, s3:GetObject on everything, cognito-idp:DescribeUserPoolClient, ...) on wildcard "
        "resources; ecr:GetAuthorizationToken on `*` is low (its token carries the caller's own "
        "permissions). A Condition whose key really narrows access lowers the severity; it never hides "
        "the finding."
    ),
    default_severity=Severity.HIGH,
    remediation=(
        "Scope the action to the specific secrets, parameters, keys or bucket prefixes the workload "
        "reads."
    ),
)


@lru_cache(maxsize=4096)
def _sensitive_hits(actions: ActionSet, star: tuple[str, ...]) -> tuple[tuple[str, str, str], ...]:
    """(action, first star resource it applies to, why sensitive) for every granted sensitive action."""
    sensitive = sensitive_actions()
    hits: list[tuple[str, str, str]] = []
    for a in sorted(actions.intersect(sensitive_universe())):
        info = info_for_lower(a)
        for resource in star:
            if info is None or resource.startswith("NotResource") or action_fits(info, resource):
                hits.append((a, resource, sensitive[a]))
                break
    return tuple(hits)


@statement_check(RULE, POLICY_KINDS)
def _rule_sensitive(view: StatementView, ctx: RuleContext) -> None:
    """Credential or sensitive-data actions on wildcard resources; a narrowing condition lowers the
    severity but never hides the finding."""
    if not view.st.is_allow or not view.star:
        return
    sensitive = sensitive_actions()
    if not sensitive:
        return
    hits = _sensitive_hits(view.actions, tuple(r for r, _ in view.star))
    caller_bound = caller_bound_actions()
    own = [h for h in hits if h[0] in caller_bound]
    if own and not view.actions.symbolic and len(hits) - len(own) <= 8:
        hits = tuple(h for h in hits if h[0] not in caller_bound)
        names = [canonical_name(a) for a, _, _ in own]
        ctx.add(RULE.id, Severity.LOW,
                f"{view.label}: {list_text(names)} on {own[0][1]}: allowed, AWS authorises "
                f"{'it' if len(names) == 1 else 'them'} only on \"*\" and the token carries only the "
                "caller's own permissions (pulls still need the repository actions).",
                view, names[0], own[0][1])
    if not hits:
        return
    if view.actions.symbolic or len(hits) > 8:
        services = sorted({a.partition(":")[0] for a, _, _ in hits})
        narrowed = [c for s in services for c in narrowing_conditions_for(view, s)]
        severity = Severity.MEDIUM if narrowed else Severity.HIGH
        cond = f" (the condition on {narrowed[0].key} narrows it)" if narrowed else ""
        resource = hits[0][1]
        ctx.add(RULE.id, severity,
                f"{view.label}: grants {len(hits)} credential or sensitive-data actions on {resource}"
                f"{cond}: {list_head_text([canonical_name(a) for a, _, _ in hits[:6]], len(hits))}; "
                "scope them to the specific secrets, keys, "
                "parameters or bucket prefixes used.", view, canonical_name(hits[0][0]), resource)
        return
    for a, resource, reason in hits:
        service = a.partition(":")[0]
        narrowed = narrowing_conditions_for(view, service)
        severity = Severity.MEDIUM if narrowed else Severity.HIGH
        cond = (f"; the condition on {narrowed[0].key} narrows it, so the severity is lowered"
                if narrowed else "")
        name = canonical_name(a)
        ctx.add(RULE.id, severity,
                f"{view.label}: {name} on {resource} is unconstrained ({reason}){cond}; scope it to the "
                "specific resources the workload reads.", view, name, resource)

