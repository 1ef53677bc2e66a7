"""Rule iam-effective-permissions-budget: the union of the documents that reach one principal
(``effective_permissions``) checked against the environment's budget."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..arn import effectively_star_reason
from ..catalog import ACCESS_LEVELS, all_services, info_for_lower
from ..core import (
    AWS_MANAGED_ARN,
    ActionSet,
    Denial,
    action_fits,
    canonical_name,
    denial_of,
    denied_on_star,
    glob_match,
    list_text,
    managed_document,
    statement_view,
    surviving,
)
from ..document import parse_document
from ..findings import Finding, RuleInfo, Severity
from .preview_verifiable import RULE as PREVIEW_VERIFIABLE
from .well_formed import RULE as WELL_FORMED

RULE = RuleInfo(
    id="iam-effective-permissions-budget",
    title="Effective permissions stay within budget",
    description=(
        "The union of a role's inline, attached customer-managed and AWS-managed policies must stay within "
        "the environment budget: allowed services only, and no Write or Permissions-management access "
        "on `*`."
    ),
    default_severity=Severity.HIGH,
    remediation=(
        "Remove the out-of-budget services or scope the Write/Permissions-management actions to ARNs."
    ),
)


@dataclass(frozen=True, slots=True)
class Grant:
    """One Allow statement's contribution to effective permissions."""

    actions: ActionSet
    resources: tuple[str, ...]
    not_resource: bool
    conditional: bool
    statement: str
    document: int
    star: bool  # some resource is `*` or effectively star (or NotResource)


@dataclass(frozen=True)
class EffectivePermissions:
    """The union of several documents' Allow statements, minus what their unconditional Denies take away
    (see ``core.Denial``). ``*`` and NotAction stay symbolic; ``actions_by_resource`` expands the finite
    rest."""

    grants: tuple[Grant, ...]
    denies: tuple[Denial, ...] = ()
    unknown_documents: int = 0
    findings: tuple[Finding, ...] = ()

    @property
    def all_actions_on_star(self) -> bool:
        return any(g.star and g.actions.is_all for g in self.grants)

    def allows(self, action: str, resource: str = "*") -> bool:
        """Is ``action`` allowed on ``resource`` by some grant and not denied there? ``"*"`` asks about
        every resource: a Deny that takes any of it away (even down to named resources) answers no."""
        a = action.lower()
        if self.denies:
            if resource == "*" and denied_on_star(a, self.denies):
                return False
            if resource != "*" and not surviving(a, (resource,), self.denies):
                return False
        info = info_for_lower(a)
        for g in self.grants:
            if not g.actions.contains(a):
                continue
            if g.not_resource or (resource == "*" and g.star):
                return True
            for r in g.resources:
                if r == "*" or (
                    info is not None and action_fits(info, resource) and glob_match(r, resource)
                ):
                    return True
        return False

    def services(self) -> frozenset[str] | None:
        """Service prefixes granted; None means every service (``*`` or a NotAction complement)."""
        acc: set[str] = set()
        for g in self.grants:
            s = g.actions.services()
            if s is None:
                return None
            acc |= s
        return frozenset(acc)

    def actions_by_resource(self) -> dict[str, frozenset[str]]:
        """Resource -> canonical action names granted on it; symbolic grants appear as ``*`` or
        ``NotAction[...]`` entries."""
        out: dict[str, set[str]] = {}
        for g in self.grants:
            keys = ["NotResource"] if g.not_resource else list(g.resources)
            if g.actions.expanded is None:
                names = {"*"} if g.actions.is_all else {f"NotAction[{','.join(g.actions.patterns)}]"}
            else:
                names = {canonical_name(a) for a in g.actions.expanded}
            for k in keys:
                out.setdefault(k, set()).update(names)
        return {k: frozenset(v) for k, v in out.items()}

    def star_access_levels(self) -> dict[str, str]:
        """Service -> highest access level granted on `*`/effectively-star resources, counting only
        actions that support resource-level scoping (star-only actions cannot be scoped anyway)."""
        levels: dict[str, int] = {}
        for g in self.grants:
            if not g.star:
                continue
            if g.actions.expanded is None:
                for svc in all_services():
                    levels[svc] = len(ACCESS_LEVELS) - 1
                continue
            for a in g.actions.expanded:
                info = info_for_lower(a)
                if info is None or info.star_only:
                    continue
                if denied_on_star(a, self.denies):
                    continue
                if info.access_rank > levels.get(info.service, -1):
                    levels[info.service] = info.access_rank
        return {s: ACCESS_LEVELS[r] for s, r in levels.items()}




def effective_permissions(documents: Iterable[Any]) -> EffectivePermissions:
    """Union the Allow statements of identity documents (JSON, mappings, or AWS-managed policy ARNs).
    Never raises: unreadable documents are counted and reported in ``findings``."""
    grants: list[Grant] = []
    denies: list[Denial] = []
    findings: list[Finding] = []
    unknown = 0
    try:
        docs = list(documents)
    except Exception:
        docs = []
        findings.append(Finding(WELL_FORMED.id, Severity.MEDIUM, "the documents could not be read"))
    for index, doc in enumerate(docs):
        try:
            if isinstance(doc, str) and AWS_MANAGED_ARN.match(doc.strip()):
                resolved = managed_document(doc.strip())
                if resolved is None:
                    findings.append(Finding(RULE.id, Severity.MEDIUM,
                                            f"{doc} is not in the managed-policy snapshot; not counted"))
                    continue
                doc = resolved
            parsed = parse_document(doc, require_resource=True, principal_expected=None)
            findings.extend(parsed.findings)
            if parsed.unknown:
                unknown += 1
            for st in parsed.statements:
                view = statement_view(st)
                grant = Grant(view.actions, view.resources, view.not_resource, bool(st.conditions),
                              st.label, index, bool(view.star))
                denial = denial_of(st)
                if st.is_allow:
                    grants.append(grant)
                elif denial is not None:
                    denies.append(denial)
        except Exception as exc:
            findings.append(Finding(WELL_FORMED.id, Severity.MEDIUM,
                                    f"document {index} could not be analysed ({type(exc).__name__})"))
    return EffectivePermissions(tuple(grants), tuple(denies), unknown, tuple(findings))


@dataclass(frozen=True)
class Budget:
    """Per-environment limits on a role's effective permissions."""

    allowed_services: frozenset[str] | None = None  # None: any service
    forbid_write_on_star: bool = True
    forbid_permissions_management_on_star: bool = True


def check_budget(perms: EffectivePermissions, budget: Budget) -> list[Finding]:
    """Findings where the effective permissions exceed the budget. Never raises."""
    try:
        return _check_budget(perms, budget)
    except Exception as exc:
        return [Finding(RULE.id, Severity.HIGH,
                        f"the effective permissions could not be checked ({type(exc).__name__}: {exc})")]


def _check_budget(perms: EffectivePermissions, budget: Budget) -> list[Finding]:
    out: list[Finding] = []
    if budget.allowed_services is not None:
        allowed = {s.lower() for s in budget.allowed_services}
        for g in perms.grants:
            services = g.actions.services()
            if services is None:
                what = "Action \"*\"" if g.actions.is_all else f"NotAction [{list_text(g.actions.patterns)}]"
                out.append(Finding(RULE.id, Severity.HIGH,
                                   f"{g.statement}: {what} grants every service, but the budget allows only "
                                   f"{list_text(sorted(allowed))}; list the actions of allowed services.",
                                   g.statement, what))
                continue
            outside = sorted(services - allowed)
            if not outside:
                continue
            acts = sorted(canonical_name(a) for a in g.actions.expanded or ()
                          if a.partition(":")[0] in outside)
            noun = "service" if len(outside) == 1 else "services"
            out.append(Finding(RULE.id, Severity.HIGH,
                               f"{g.statement}: {list_text(acts, 4)} {'is' if len(acts) == 1 else 'are'} "
                               f"outside the budget: {noun} {list_text(outside, 8)} not in the allowed "
                               f"services ({list_text(sorted(allowed), 12)}).",
                               g.statement, acts[0] if acts else outside[0]))
    forbidden = []
    if budget.forbid_write_on_star:
        forbidden.append("Write")
    if budget.forbid_permissions_management_on_star:
        forbidden.append("Permissions management")
    if forbidden:
        for g in perms.grants:
            if not g.star:
                continue
            where = "NotResource" if g.not_resource else next(
                (r for r in g.resources if effectively_star_reason(r)), "*")
            if g.actions.expanded is None:
                out.append(Finding(RULE.id, Severity.HIGH,
                                   f"{g.statement}: grants {' and '.join(forbidden)} access on {where} "
                                   "(every action); the budget forbids that on \"*\".",
                                   g.statement, None, where))
                continue
            bad = []
            for a in sorted(g.actions.expanded):
                info = info_for_lower(a)
                if info is None or info.star_only or info.access_level not in forbidden:
                    continue
                if denied_on_star(a, perms.denies):
                    continue
                if where != "*" and where != "NotResource" and not action_fits(info, where):
                    continue
                bad.append(info)
            if bad:
                level = max(bad, key=lambda i: i.access_rank).access_level
                out.append(Finding(RULE.id, Severity.HIGH,
                                   f"{g.statement}: {list_text([i.full for i in bad], 4)} grant {level} "
                                   f"access on {where}; the budget forbids Write/Permissions management "
                                   "on \"*\". Scope them to ARNs.", g.statement, bad[0].full, where))
    if perms.unknown_documents:
        out.append(Finding(PREVIEW_VERIFIABLE.id, Severity.MEDIUM,
                           f"{perms.unknown_documents} document(s) are unknown at preview and were not "
                           "counted in the effective permissions."))
    return out
