"""Rule iam-no-wildcard-actions: `*`, `service:*` and verb wildcards, graded by what they expand to."""

from __future__ import annotations

from functools import lru_cache

from ..catalog import (
    ACCESS_LEVELS,
    expand_action_pattern_lower,
    info_for_lower,
)
from ..core import (
    KINDS,
    RuleContext,
    StatementView,
    delegates_to_accounts,
    escalation_universe,
    first_resource,
    list_text,
    sensitive_universe,
    statement_check,
    written_actions,
)
from ..findings import RuleInfo, Severity

RULE = RuleInfo(
    id="iam-no-wildcard-actions",
    title="No wildcard actions",
    description=(
        "`*`, `service:*` and verb wildcards (`s3:Get*`, `*:Get*`) grant every matching action, including "
        "ones added to AWS later; severity follows what the pattern expands to."
    ),
    default_severity=Severity.HIGH,
    remediation="List the individual actions the workload calls.",
)


@lru_cache(maxsize=4096)
def _pattern_profile(pattern: str) -> tuple[int, int, bool, bool]:
    """(number of actions, max access rank, has escalation/sensitive action, cross-service)."""
    expanded = expand_action_pattern_lower(pattern)
    rank = -1
    for a in expanded:
        info = info_for_lower(a)
        if info is not None and info.access_rank > rank:
            rank = info.access_rank
    risky = not sensitive_universe().isdisjoint(expanded) or not escalation_universe().isdisjoint(expanded)
    service = pattern.partition(":")[0]
    return len(expanded), rank, risky, "*" in service or "?" in service


@statement_check(RULE, KINDS)
def _rule_wildcard_actions(view: StatementView, ctx: RuleContext) -> None:
    """`*`, `service:*` and verb wildcards; severity follows what the pattern expands to."""
    if not view.st.is_allow:
        return
    if delegates_to_accounts(view, ctx):
        patterns = [w for w in written_actions(view) if "*" in w or "?" in w]
        if patterns:
            ctx.add(RULE.id, Severity.LOW,
                    f"{view.label}: {list_text(patterns, 4)} granted to account root(s) in a resource "
                    "policy: "
                    "this delegates to the IAM policies of that account, which are judged where they are "
                    "written.", view, patterns[0], first_resource(view))
        return
    for written in written_actions(view):
        p = written.strip().lower()
        if "*" not in p and "?" not in p:
            continue
        if p == "*":
            severity = Severity.CRITICAL if view.literal_star else Severity.HIGH
            ctx.add(RULE.id, severity,
                    f"{view.label}: Action \"*\" grants every action of every service"
                    f"{' on every resource' if view.literal_star else ''}; list the actions the workload "
                    "calls.",
                    view, "*", first_resource(view))
            continue
        count, rank, risky, cross = _pattern_profile(p)
        if count == 0:
            continue  # iam-known-actions reports patterns that match nothing
        service, _, name = p.partition(":")
        level = ACCESS_LEVELS[rank] if rank >= 0 else "List"
        if cross or name == "*" or risky or rank >= ACCESS_LEVELS.index("Write"):
            severity = Severity.HIGH
        elif level in ("Read", "Tagging"):
            severity = Severity.MEDIUM
        else:
            severity = Severity.LOW
        scope = "across services" if cross else f"in {service}"
        extra = " including credential/sensitive or escalation actions" if risky else ""
        ctx.add(RULE.id, severity,
                f"{view.label}: {written} expands to {count} actions {scope} (up to {level} access{extra}); "
                "list the individual actions the workload calls.", view, written, first_resource(view))

