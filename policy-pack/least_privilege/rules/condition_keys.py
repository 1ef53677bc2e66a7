"""A check of rule iam-well-formed-documents: service condition keys that are never in the request
context of some of the statement's actions."""

from __future__ import annotations

from .. import is_unknown
from ..arn import has_unknown
from ..catalog import (
    condition_key_applies,
)
from ..core import (
    POLICY_KINDS,
    RuleContext,
    StatementView,
    canonical_name,
    first_resource,
    has_glob_text,
    list_text,
    statement_check,
    written_actions,
)
from ..findings import Severity
from .well_formed import RULE

_KEYS_SHOWN = 3  # inapplicable condition keys named in one finding
_ACTIONS_SHOWN = 4  # actions named per key


@statement_check(RULE, POLICY_KINDS)
def _rule_condition_keys(view: StatementView, ctx: RuleContext) -> None:
    """A service condition key that is never in the request context of some of the statement's
    actions. On an Allow the grant of those actions is void (fails closed, low); on a Deny the guard
    rail does not stop them (fails open, medium). Only written-out actions of the key's own service
    are judged; wildcard patterns, NotAction, unknown actions and unknown values are skipped, and
    global ``aws:`` keys always apply. IfExists operators are judged like the plain ones."""
    if not view.st.conditions or not (view.st.is_allow or view.st.is_deny):
        return
    actions = list(dict.fromkeys(a.strip().lower() for a in written_actions(view) if not has_glob_text(a)))
    if not actions:
        return
    problems: list[tuple[str, list[str], list[str]]] = []  # (key, inapplicable, applicable) per key
    seen: set[str] = set()
    for cond in view.st.conditions:
        key = cond.key
        if not isinstance(key, str) or has_unknown(key) or any(is_unknown(v) for v in cond.values):
            continue
        low = key.strip().lower()
        if low in seen or low.startswith("aws:"):
            continue
        seen.add(low)
        bad: list[str] = []
        good: list[str] = []
        for action in actions:
            applies = condition_key_applies(action, low)
            if applies is False:
                bad.append(canonical_name(action))
            elif applies:
                good.append(canonical_name(action))
        if bad:
            problems.append((key.strip(), bad, good))
    if not problems:
        return
    parts = []
    for key, bad, good in problems[:_KEYS_SHOWN]:
        fix = (f"move it to a statement with {list_text(good, _ACTIONS_SHOWN)} only" if good else
               "remove it, or give it a statement of the actions it applies to")
        parts.append(f"{key} does not apply to {list_text(bad, _ACTIONS_SHOWN)}: {fix}")
    more = len(problems) - _KEYS_SHOWN
    detail = "; ".join(parts) + (f"; and {more} more condition key(s)" if more > 0 else "")
    if view.st.is_deny:
        severity = Severity.MEDIUM
        effect = ("The key is never in the request of those actions, so this Deny does not stop them "
                  "as intended (it fails open)")
    else:
        severity = Severity.LOW
        effect = ("The key is never in the request of those actions, so this Allow grants them nothing "
                  "(it fails closed)")
    ctx.add(RULE.id, severity, f"{view.label}: {detail}. {effect}.", view, problems[0][1][0],
            first_resource(view))

