"""Rule iam-trust-policy: who may assume the role (trust policy) or use the resource (resource
policy)."""

from __future__ import annotations

import re

from ..arn import has_unknown, parse_arn
from ..conditions import condition_pitfall
from ..core import (
    THIS_RESOURCE,
    TRUST_AND_RESOURCE,
    ActionSet,
    RuleContext,
    StatementView,
    condition_narrows,
    names_attached_resource,
    pattern_covers,
    statement_check,
)
from ..document import Condition, Principal
from ..findings import RuleInfo, Severity

RULE = RuleInfo(
    id="iam-trust-policy",
    title="Trust policies name who may assume the role",
    description=(
        "Role trust policies must not trust any principal (`*` in string or object form, "
        "arn:aws:iam::*:root), cross-account roots need sts:ExternalId or aws:PrincipalOrgID, OIDC "
        "federation (GitHub) needs sub and aud conditions, and service principals must be on the allow list. "
        "Resource policies must not grant Principal `*`, unless an equality condition (or a Deny unless it "
        "matches) pins it to concrete values of aws:PrincipalOrgID, aws:PrincipalAccount, "
        "aws:SourceAccount, aws:SourceArn or aws:SourceVpce: then it is not public (low)."
    ),
    default_severity=Severity.HIGH,
    remediation=(
        "Trust only the specific service, account or federated identity, with the narrowing "
        "conditions."
    ),
)


_ASSUME_ACTIONS = ("sts:assumerole", "sts:assumerolewithwebidentity", "sts:assumerolewithsaml")
_ANY_PRINCIPAL_NARROWING = ("aws:principalorgid", "aws:principalaccount", "aws:principalarn", "aws:sourcearn",
                            "aws:sourceaccount", "aws:principalorgpaths", "aws:sourcevpce", "aws:sourcevpc",
                            "aws:sourceip", "aws:sourceorgid", "aws:userid")
_ACCOUNT_RE = re.compile(r"^\d{12}$")
_GITHUB_HOST = re.compile(r"token\.actions\.(?:githubusercontent\.com(?:/.*)?|[^.]+\.ghe\.com)")
_ROOT_RE = re.compile(r"^arn:aws[a-z\-]*:iam::(?P<acct>[^:]+):root$")


# Keys whose equality with concrete values confines a resource policy's Principal "*" to the owner's
# organisation, accounts, source resources or VPC endpoints: the statement is then not public.
_PINNING_KEYS = frozenset({"aws:principalorgid", "aws:principalaccount", "aws:sourceaccount", "aws:sourcearn",
                           "aws:sourcevpce"})
# Equality operators only: a Like operator is a pattern match, so it does not pin, whatever its values.
_EQUALS = frozenset({"stringequals", "stringequalsignorecase", "arnequals"})
_NOT_EQUALS = frozenset({"stringnotequals", "stringnotequalsignorecase", "arnnotequals"})


def _pins(cond: Condition, operators: frozenset[str]) -> bool:
    """An (in)equality on a pinning key with concrete values: no wildcard, variable or unknown."""
    if cond.base_operator not in operators or cond.key.lower() not in _PINNING_KEYS:
        return False
    if cond.set_qualifier == "forallvalues" or (operators is _EQUALS and cond.if_exists):
        return False
    return bool(cond.values) and all(
        isinstance(v, str) and v and not any(c in v for c in "*?") and "${" not in v and not has_unknown(v)
        for v in cond.values
    )


def _pinned_to_owner(view: StatementView, ctx: RuleContext) -> str | None:
    """How a resource-policy Allow for Principal "*" is confined (the key it is pinned by), or None.

    Either the Allow's own condition is an equality on a pinning key, or an unconditional-principal Deny
    of the same actions on the same resources applies whenever that key differs (the documented
    private-API and VPC-endpoint pattern: Allow "*", Deny when aws:SourceVpce is not the endpoint)."""
    own = next((c for c in view.st.conditions if _pins(c, _EQUALS) and condition_pitfall(c) is None), None)
    if own is not None:
        return f"{own.operator} {own.key}"
    for other in ctx.views:
        st = other.st
        if not st.is_deny or not st.conditions or st.condition_unknown or st.not_principal is not None:
            continue
        everyone = st.principal is None or st.principal.any or any(v == "*" for _, v in st.principal.entries)
        if not everyone:
            continue
        if not all(_pins(c, _NOT_EQUALS) for c in st.conditions):
            continue
        if not _covers_actions(other.actions, view.actions):
            continue
        deny_resources = tuple(r for r in st.resources or () if isinstance(r, str)) or (
            ("*",) if st.resources is None and st.not_resources is None else ())
        if st.resources is not None and not deny_resources:
            continue
        if all(any(pattern_covers(d, r) or (r == THIS_RESOURCE and names_attached_resource(d))
                   for d in deny_resources) for r in view.reach_resources):
            cond = st.conditions[0]
            return f"a Deny unless {cond.key} matches ({other.label})"
    return None


def _covers_actions(deny: ActionSet, allow: ActionSet) -> bool:
    if deny.is_all:
        return True
    if allow.expanded is None:
        return False
    return all(deny.contains(a) for a in allow.expanded)


def _any_principal_narrowing(cond: Condition) -> bool:
    return condition_narrows(cond, lambda k: k.lower() in _ANY_PRINCIPAL_NARROWING)


def _vacuous_note(view: StatementView) -> str:
    """Why a condition that looks like it narrows an any-principal grant does not (``o-*``)."""
    for cond in view.st.conditions:
        if cond.key.lower() in _ANY_PRINCIPAL_NARROWING:
            pitfall = condition_pitfall(cond)
            if pitfall is not None:
                return f" (the condition does not narrow it: {pitfall})"
    return ""


def _principal_is_any(value: str) -> bool:
    if value == "*":
        return True
    m = _ROOT_RE.match(value)
    if m and ("*" in m.group("acct") or "?" in m.group("acct")):
        return True
    arn = parse_arn(value)
    return arn is not None and ("*" in arn.account or (arn.resource.strip("*") == "" and arn.resource != ""))


def _cond_keys(view: StatementView) -> dict[str, list[Condition]]:
    out: dict[str, list[Condition]] = {}
    for c in view.st.conditions:
        out.setdefault(c.key.lower(), []).append(c)
    return out


def _check_principals(view: StatementView, ctx: RuleContext, principal: Principal, *, negated: bool) -> None:
    is_trust = ctx.kind == "trust"
    if is_trust and not any(view.actions.contains(a) for a in _ASSUME_ACTIONS) and not view.actions.opaque:
        return
    noun = "assume this role" if is_trust else "use this resource"
    narrowed = [c for c in view.st.conditions if _any_principal_narrowing(c)]
    any_values = [v for _, v in principal.entries if isinstance(v, str) and _principal_is_any(v)]
    if negated or principal.any or any_values:
        pinned = None if negated or is_trust else _pinned_to_owner(view, ctx)
        if pinned is not None:
            ctx.add(RULE.id, Severity.LOW,
                    f"{view.label}: Principal \"*\" is narrowed by {pinned}: not public (only requests that "
                    "match it are allowed).", view, None, None)
            return
        what = "NotPrincipal (every principal except the listed ones)" if negated else \
            ("Principal \"*\"" if principal.any else f"Principal {any_values[0]}")
        if narrowed:
            ctx.add(RULE.id, Severity.HIGH,
                    f"{view.label}: {what} lets any AWS principal {noun}; the condition on {narrowed[0].key} "
                    "narrows it, but name the trusted principals instead.", view, None, None)
        else:
            ctx.add(RULE.id, Severity.CRITICAL,
                    f"{view.label}: {what} lets anyone {noun}{_vacuous_note(view)}; name the trusted "
                    "service, account or federated identity.", view, None, None)
        return
    keys = _cond_keys(view)
    for kind, value in principal.entries:
        if not isinstance(value, str):
            continue
        if kind == "AWS":
            m = _ROOT_RE.match(value)
            acct = value if _ACCOUNT_RE.match(value) else (m.group("acct") if m else None)
            if acct is None or (ctx.settings.account_id and acct == ctx.settings.account_id):
                continue
            if not is_trust:
                continue
            guarded = [c for k in ("sts:externalid", "aws:principalorgid") for c in keys.get(k, [])
                       if condition_narrows(c, lambda _k: True)]
            vacuous = [c for k in ("sts:externalid", "aws:principalorgid") for c in keys.get(k, [])
                       if condition_pitfall(c) is not None]
            if not guarded and vacuous:
                ctx.add(RULE.id, Severity.HIGH,
                        f"{view.label}: account {acct} (root) can {noun}, and its guard narrows nothing: "
                        f"{condition_pitfall(vacuous[0])}; name the organization or external id exactly.",
                        view, None, value)
            elif not guarded:
                ctx.add(RULE.id, Severity.MEDIUM,
                        f"{view.label}: account {acct} (root) can {noun} without an sts:ExternalId or "
                        "aws:PrincipalOrgID condition; add one to prevent confused-deputy use, or trust a "
                        "specific role.", view, None, value)
        elif kind == "Service":
            if not is_trust:
                continue
            if value.lower() not in {s.lower() for s in ctx.settings.allowed_service_principals}:
                allowed = ", ".join(sorted(ctx.settings.allowed_service_principals))
                ctx.add(RULE.id, Severity.HIGH,
                        f"{view.label}: service principal {value} is not on this environment's allow list "
                        f"({allowed}); trust only the compute service the job runs on.", view, None, value)
        elif kind == "Federated":
            host = _oidc_host(value)
            if host is not None:
                _check_federated(view, ctx, keys, host, value, noun)


def _why_not_narrowing(conditions: list[Condition], key: str) -> str:
    """Why no condition on ``key`` narrows: the first pitfall, a bare wildcard, or its absence."""
    for cond in conditions:
        pitfall = condition_pitfall(cond)
        if pitfall is not None:
            return pitfall
    if conditions:
        return f"the {key} condition admits any value"
    return f"there is no {key} condition"


def _check_federated(view: StatementView, ctx: RuleContext, keys: dict[str, list[Condition]], host: str,
                     value: str, noun: str) -> None:
    """OIDC federation: the subject and audience must be pinned. A GitHub trust without a pinned
    repository owner trusts workflows of every repository on GitHub, and a Cognito trust without a
    pinned identity-pool audience trusts every identity pool: both are anyone-can-assume (critical)."""

    def narrowed(claim: str) -> bool:
        return any(condition_narrows(c, lambda _k: True) for c in keys.get(f"{host}:{claim}", []))

    if _GITHUB_HOST.fullmatch(host) and not narrowed("sub"):
        why = _why_not_narrowing(keys.get(f"{host}:sub", []), f"{host}:sub")
        ctx.add(RULE.id, Severity.CRITICAL,
                f"{view.label}: GitHub OIDC ({host}) lets workflows of every repository on GitHub {noun}: "
                f"{why}. Pin {host}:sub to repo:<owner>/<repo>:... (StringEquals, or StringLike with the "
                "owner and repository written out).", view, None, value)
        return
    if host == "cognito-identity.amazonaws.com":
        if not narrowed("aud"):
            why = _why_not_narrowing(keys.get(f"{host}:aud", []), f"{host}:aud")
            ctx.add(RULE.id, Severity.CRITICAL,
                    f"{view.label}: Cognito identity federation lets identities of every identity pool "
                    f"{noun}: {why}. Pin {host}:aud to your identity pool id with StringEquals.",
                    view, None, value)
        return
    missing = [k for k in ("sub", "aud") if not narrowed(k)]
    if missing:
        ctx.add(RULE.id, Severity.MEDIUM,
                f"{view.label}: OIDC provider {host} can {noun} without "
                f"{' and '.join(f'{host}:{k}' for k in missing)} condition(s); pin the audience "
                "(sts.amazonaws.com) and the subject (e.g. repo:org/repo:ref:refs/heads/main).",
                view, None, value)


def _oidc_host(value: str) -> str | None:
    if ":oidc-provider/" in value:
        return value.split(":oidc-provider/", 1)[1].lower()
    if value.lower() in ("cognito-identity.amazonaws.com", "accounts.google.com", "graph.facebook.com",
                         "www.amazon.com"):
        return value.lower()
    return None


@statement_check(RULE, TRUST_AND_RESOURCE)
def _rule_trust(view: StatementView, ctx: RuleContext) -> None:
    """Who may assume the role (trust) or use the resource (resource policy)."""
    if ctx.kind == "identity" or not view.st.is_allow:
        return
    if view.st.not_principal is not None:
        _check_principals(view, ctx, view.st.not_principal, negated=True)
    elif view.st.principal is not None and not view.st.principal.unknown:
        _check_principals(view, ctx, view.st.principal, negated=False)
    elif view.st.principal is not None:
        _check_principals(view, ctx, Principal(False, tuple(e for e in view.st.principal.entries
                                                            if isinstance(e[1], str))), negated=False)

