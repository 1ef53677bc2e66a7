"""Rule iam-action-resource-match: grants whose resources fit none of the action's resource
types, which therefore grant nothing."""

from __future__ import annotations

from functools import lru_cache

from ..arn import parse_arn
from ..catalog import (
    ActionInfo,
    action_info,
    expand_action_pattern_lower,
    info_for_lower,
)
from ..core import (
    POLICY_KINDS,
    RuleContext,
    StatementView,
    action_fits,
    fits_any_format,
    format_hint,
    matches_literal_star,
    statement_check,
    written_actions,
)
from ..findings import RuleInfo, Severity

RULE = RuleInfo(
    id="iam-action-resource-match",
    title="Actions match their resources",
    description=(
        "A grant whose resources fit none of the action's resource types grants nothing (for example "
        "s3:ListBucket on an object ARN, s3:GetObject on a bucket ARN, or a `*`-only action on an ARN); "
        "it hides the author's intent and usually means the real grant is missing."
    ),
    default_severity=Severity.MEDIUM,
    remediation=(
        "Use the ARN form the action applies to (bucket ARN for bucket actions, bucket/key for object "
        "actions)."
    ),
)


def _s3_fix(info: ActionInfo, resources: tuple[str, ...]) -> str | None:
    names = {rt.name for rt in info.resource_types}
    for r in resources:
        arn = parse_arn(r)
        if arn is None or arn.service != "s3" or arn.region or arn.account:
            continue
        bucket, slash, _key = arn.resource.partition("/")
        if slash and "bucket" in names and "object" not in names:
            fixed = f"arn:{arn.partition}:s3:::{bucket}"
            return f"{info.full} applies to the bucket: use {fixed}, not {r}"
        if not slash and "object" in names and "bucket" not in names:
            return f"{info.full} applies to objects: use {r}/* (or {r}/<prefix>/*), not {r}"
    return None


@lru_cache(maxsize=16384)
def _pattern_fits(pattern: str, resources: tuple[str, ...]) -> bool:
    """Does any action the pattern expands to fit any of the resources?"""
    formats: set[str] = set()
    has_star_only = False
    for a in expand_action_pattern_lower(pattern):
        info = info_for_lower(a)
        if info is None:
            continue
        if info.star_only:
            has_star_only = True
        formats.update(info.arn_formats)
    if has_star_only and any(matches_literal_star(r) for r in resources):
        return True
    fmt = tuple(sorted(formats))
    return any(r == "*" or fits_any_format(r, fmt) for r in resources)


@statement_check(RULE, POLICY_KINDS)
def _rule_action_resource_match(view: StatementView, ctx: RuleContext) -> None:
    """Grants that grant nothing: no resource fits any of the action's resource types."""
    if not view.st.is_allow or view.not_resource or view.opaque_resources or not view.resources:
        return
    if "*" in view.resources:
        return  # every action (and every action a pattern covers) can be granted on "*"
    resources = view.resources
    shown = ", ".join(resources)
    for written in written_actions(view):
        p = written.strip().lower()
        if p == "*":
            continue
        if "*" in p or "?" in p:
            if expand_action_pattern_lower(p) and not _pattern_fits(p, resources):
                ctx.add(RULE.id, Severity.MEDIUM,
                        f"{view.label}: none of the actions matching {written} applies to {shown}, so this "
                        "grants nothing; use the ARN forms those actions take (or \"*\" for actions that "
                        "accept only \"*\").", view, written, resources[0])
            continue
        info = action_info(p)
        if info is None:
            continue
        if any(action_fits(info, r) for r in resources):
            continue
        if info.accepts_only_star:
            msg = (f"{view.label}: {info.full} can only be granted on Resource \"*\" (the catalog lists no "
                   f"resource types for it); on {shown} it grants nothing. Grant it on \"*\" in its own "
                   "statement, or remove it.")
        else:
            fix = _s3_fix(info, resources)
            types = ", ".join(rt.name for rt in info.resource_types)
            msg = (f"{view.label}: {fix}; as written it grants nothing." if fix else
                   f"{view.label}: {info.full} applies to {types} resources ({format_hint(info)}); none of "
                   f"{shown} is one, so it grants nothing. Use the matching ARN.")
        ctx.add(RULE.id, Severity.MEDIUM, msg, view, info.full, resources[0])

