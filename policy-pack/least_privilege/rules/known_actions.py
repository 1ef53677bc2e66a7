"""Rule iam-known-actions: actions and patterns that match nothing in the IAM catalog."""

from __future__ import annotations

import difflib
from functools import lru_cache

from ..arn import has_unknown
from ..catalog import (
    action_info,
    all_services,
    expand_action_pattern_lower,
    info_for_lower,
    is_known_service,
)
from ..core import KINDS, RuleContext, StatementView, first_resource, statement_check
from ..findings import RuleInfo, Severity

RULE = RuleInfo(
    id="iam-known-actions",
    title="Only known actions",
    description=(
        "Actions (and action patterns) that match nothing in the IAM catalog grant nothing: usually a typo "
        "that hides the real intent."
    ),
    default_severity=Severity.MEDIUM,
    remediation=(
        "Fix the spelling; check the service prefix and action name in the AWS Service Authorization "
        "Reference."
    ),
)


def _unknown_action_message(p: str) -> str | None:
    """None when the (lower-case) action or pattern is known; else the reason and a suggestion."""
    if p == "*" or ("*" not in p and "?" not in p and info_for_lower(p) is not None):
        return None  # the common case, without touching the cache below
    return _unknown_action_problem(p)


@lru_cache(maxsize=4096)
def _unknown_action_problem(p: str) -> str | None:
    service, _, name = p.partition(":")
    if not name:
        return None  # iam-well-formed-documents reports the shape
    if "*" in p or "?" in p:
        if expand_action_pattern_lower(p):
            return None
        if "*" not in service and "?" not in service and not is_known_service(service):
            return f"service prefix {service!r} is not in the IAM catalog{_suggest(service, all_services())}"
        return "the pattern matches no action in the IAM catalog"
    if not is_known_service(service):
        return f"service prefix {service!r} is not in the IAM catalog{_suggest(service, all_services())}"
    if action_info(p) is None:
        from ..catalog import _service_actions

        names = {n: i.full for n, i in _service_actions(service).items()}
        close = difflib.get_close_matches(name, list(names), n=1, cutoff=0.75)
        hint = f"; did you mean {names[close[0]]}?" if close else ""
        return f"{service} has no action named {name!r}{hint}"
    return None


def _suggest(word: str, choices: frozenset[str]) -> str:
    return _suggest_cached(word, choices)


@lru_cache(maxsize=1024)
def _suggest_cached(word: str, choices: frozenset[str]) -> str:
    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.75)
    return f"; did you mean {close[0]!r}?" if close else ""


@statement_check(RULE, KINDS)
def _rule_known_actions(view: StatementView, ctx: RuleContext) -> None:
    """Actions that match nothing in the catalog grant (or deny) nothing and hide the intent."""
    raw = view.st.actions if view.st.actions is not None else (view.st.not_actions or ())
    for written in raw:
        if not isinstance(written, str) or has_unknown(written):
            continue
        problem = _unknown_action_message(written.strip().lower())
        if problem:
            effect = "denies" if view.st.is_deny else "grants"
            ctx.add(RULE.id, Severity.MEDIUM,
                    f"{view.label}: {written}: {problem}. As written it {effect} nothing; fix the name.",
                    view, written, first_resource(view))

