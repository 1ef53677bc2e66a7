"""Rule iam-no-wildcard-resources: `*` and effectively-star resources on actions that support
resource-level scoping."""

from __future__ import annotations

from functools import lru_cache

from ..action_classes import is_reported_star_only
from ..arn import is_region_wildcard_on_named_aws_resource
from ..catalog import (
    ActionInfo,
    expand_action_pattern_lower,
    info_for_lower,
)
from ..core import (
    POLICY_KINDS,
    RuleContext,
    StatementView,
    format_hint,
    list_head_text,
    list_text,
    network_container,
    resource_fitter,
    statement_check,
    written_actions,
)
from ..findings import RuleInfo, Severity

RULE = RuleInfo(
    id="iam-no-wildcard-resources",
    title="No wildcard resources",
    description=(
        "Allow statements must name the resources they grant: `*` and effectively-star ARNs (a wildcard in "
        "partition, service, region or account, in a bucket name, `arn:aws:s3:::*`, `*/*`, "
        "`arn:aws:iam::*:role/*`, or inside the resource type of the catalog's ARN formats: `key*`, "
        "`role*`, `log-group*`) are reported for actions that support resource-level scoping; a name "
        "prefix (`table/jobs-*`) is scoping. Actions the catalog only accepts on `*` are reported at low "
        "severity unless the configuration forbids them. An exact AWS-owned resource in every region "
        "(`arn:aws:bedrock:*::foundation-model/<id>`, cross-region inference) is low."
    ),
    default_severity=Severity.HIGH,
    remediation=(
        "Replace the wildcard with the exact ARNs (bucket, bucket/prefix/*, role, key) the workload "
        "uses."
    ),
)


@lru_cache(maxsize=8192)
def _pattern_split(pattern: str) -> tuple[tuple[ActionInfo, ...], tuple[str, ...]]:
    """(scopable actions, star-only action names this rule reports) of one pattern, in name order."""
    scopable: list[ActionInfo] = []
    star_only: list[str] = []
    for a in sorted(expand_action_pattern_lower(pattern)):
        info = info_for_lower(a)
        if info is None:
            continue
        if info.star_only:
            # Account guard rails and permissions writes are reported (high) by iam-no-privilege-escalation.
            if not is_reported_star_only(a):
                star_only.append(info.full)
        else:
            scopable.append(info)
    return tuple(scopable), tuple(star_only)


def _wildcard_split(
    pattern: str, resource: str, literal: bool
) -> tuple[tuple[ActionInfo, ...], tuple[str, ...]]:
    """(scopable actions the resource fits, star-only action names) for one pattern on one star resource."""
    scopable, star_only = _pattern_split(pattern)
    if resource != "*":  # every scopable action fits "*"
        scopable = tuple(filter(resource_fitter(resource), scopable))
    return scopable, (star_only if literal or resource.startswith("*") else ())


_MAX_PER_ACTION_FINDINGS = 10  # beyond this, one grouped finding per statement and resource


@lru_cache(maxsize=1024)
def _merged_names(parts: tuple[tuple[str, ...], ...]) -> list[str]:
    return sorted(set().union(*parts))


@statement_check(RULE, POLICY_KINDS)
def _rule_wildcard_resources(view: StatementView, ctx: RuleContext) -> None:
    """`*` and effectively-star resources on actions that support resource-level scoping."""
    if not view.st.is_allow:
        return
    regional = [r for r in view.resources if is_region_wildcard_on_named_aws_resource(r)]
    if regional:
        ctx.add(RULE.id, Severity.LOW,
                f"{view.label}: {list_text(regional, 3)}: allowed, the region wildcard names one AWS-owned "
                "resource in every region (the form AWS documents for cross-region inference), not every "
                "resource.", view, None, regional[0])
    if not view.star:
        return
    acts = view.actions
    lowered = [(written, written.strip().lower()) for written in written_actions(view)]
    for resource, reason in view.star:
        literal = resource == "*" or resource.startswith("NotResource")
        if acts.symbolic:
            what = "Action \"*\"" if acts.is_all else f"NotAction [{list_text(acts.patterns)}]"
            severity = Severity.CRITICAL if literal and (acts.is_all or acts.negated) else Severity.HIGH
            ctx.add(RULE.id, severity,
                    f"{view.label}: {what} on {resource}: {reason}; this grants every action on it. List the "
                    "actions the workload calls and name the ARNs it uses.", view, what, resource)
            continue
        star_parts: list[tuple[str, ...]] = []
        entries: list[tuple[str, tuple[ActionInfo, ...]]] = []
        fit_resource = "*" if resource.startswith("NotResource") else resource
        confined: list[str] = []
        for written, pattern in lowered:
            scopable, star_names = _wildcard_split(pattern, fit_resource, literal)
            if star_names:
                star_parts.append(star_names)
            if scopable and network_container(view, (i.full for i in scopable), resource) is not None:
                confined.extend(i.full for i in scopable)
            elif scopable:
                entries.append((written, scopable))
        if confined:
            cond = network_container(view, confined, resource)
            ctx.add(RULE.id, Severity.LOW,
                    f"{view.label}: {list_text(sorted(set(confined)))} on {resource}: allowed, network "
                    f"plumbing created at run time, confined by {cond.operator if cond else 'a condition'} "
                    f"on {cond.key if cond else 'the VPC'} to one network.", view, confined[0], resource)
        if len(entries) > _MAX_PER_ACTION_FINDINGS:
            names = sorted({i.full for _, sc in entries for i in sc})
            ctx.add(RULE.id, Severity.HIGH,
                    f"{view.label}: {list_text(names)} on {resource}: {reason}. These {len(names)} actions "
                    "support resource-level scoping; name the resources they need.",
                    view, entries[0][0], resource)
        else:
            for written, scopable in entries:
                if len(scopable) == 1 and written.lower() == scopable[0].full.lower():
                    info = scopable[0]
                    ctx.add(RULE.id, Severity.HIGH,
                            f"{view.label}: {info.full} on {resource}: {reason}. {info.full} supports "
                            f"resource-level scoping; name the resources, e.g. {format_hint(info)}.",
                            view, info.full, resource)
                else:
                    ctx.add(RULE.id, Severity.HIGH,
                            f"{view.label}: {written} on {resource}: {reason}. {len(scopable)} of the "
                            "actions it covers support resource-level scoping "
                            f"({list_head_text([i.full for i in scopable[:6]], len(scopable))}); name the "
                            "resources they need.", view, written, resource)
        if star_parts:
            names = list(star_parts[0]) if len(star_parts) == 1 else _merged_names(tuple(star_parts))
            if ctx.settings.forbid_star_only_actions:
                ctx.add(RULE.id, Severity.MEDIUM,
                        f"{view.label}: {list_text(names)} on {resource}: these actions can only be granted "
                        "on \"*\" and this environment forbids them; remove them or move them to an approved "
                        "policy.", view, names[0], resource)
            else:
                ctx.add(RULE.id, Severity.LOW,
                        f"{view.label}: {list_text(names)} on {resource}: allowed, these actions can only be "
                        "granted on \"*\" (for some or all calls the request names no resource).",
                        view, names[0], resource)

