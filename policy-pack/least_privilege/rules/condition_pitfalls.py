"""Rule iam-condition-pitfalls: conditions that narrow nothing, or never match.

Severity follows what the mistake does to the statement, because that decides whether it must block:

* the condition is always true, so a guard meant to restrict an Allow narrows nothing, or a Deny
  guard rail never applies (the statement fails open): high;
* a construct that leaves the grant open for some requests (``ForAllValues:``, which is true when
  the key is absent): medium, which blocks at the default threshold; except the tag-keys idiom
  (``ForAllValues:StringEquals aws:TagKeys``: only these tag keys may be set), which a request setting
  no tags keeps to: low;
* the condition never matches, so an Allow grants nothing (it fails closed), or a Deny applies to every
  request, or the principal type cannot use the action: low, reported but not blocking.

None of these conditions lowers a severity anywhere in the engine: ``core.condition_narrows`` refuses
them through ``conditions.condition_pitfall``. Service keys that exist but do not apply to some of the
statement's own actions are judged by ``iam-well-formed-documents`` (``condition_keys``), not here.
"""

from __future__ import annotations

from .. import is_unknown
from ..arn import has_unknown
from ..conditions import (
    absent_result,
    is_negated,
    key_in_service_context,
    key_is_known,
    key_type,
    mfa_false,
    type_mismatch,
    vacuous_wildcard,
)
from ..core import (
    IDENTITY,
    KINDS,
    TRUST_AND_RESOURCE,
    RuleContext,
    StatementView,
    canonical_name,
    first_resource,
    has_glob_text,
    statement_check,
    written_actions,
)
from ..document import Condition
from ..findings import RuleInfo, Severity

RULE = RuleInfo(
    id="iam-condition-pitfalls",
    title="Conditions narrow what they seem to narrow",
    description=(
        "Conditions that narrow nothing or never match: ForAllValues on a single-valued key, or on a "
        "multi-valued key without a Null check (both true when the key is absent; the tag-keys idiom only a "
        "note); "
        "aws:MultiFactorAuthPresent compared with false; keys AWS never sets, or keys of another service, "
        "which are never in the request; operators that cannot compare the key's type (StringEquals on "
        "aws:SourceIp); wildcards in account or organization ids; principal types that cannot use the "
        "action (sts:AssumeRoleWithSAML with an AWS principal). Always-true guards on an Allow and "
        "never-applying Deny guards are high; ForAllValues gaps medium; void grants low. Such conditions "
        "never lower the severity of another rule's finding."
    ),
    default_severity=Severity.HIGH,
    remediation=(
        "Use the operator of the key's type, a key of the action's service or a global key, no set "
        "qualifier on single-valued keys, a Null check with ForAllValues, BoolIfExists true for MFA, and "
        "exact identifiers."
    ),
)

_ASSUME_FITS = {
    "sts:assumerole": ("AWS or Service", lambda kind, value: kind in ("AWS", "Service", "*")),
    "sts:assumerolewithsaml": ("a Federated SAML provider",
                               lambda kind, value: kind == "Federated" and ":saml-provider/" in value),
    "sts:assumerolewithwebidentity": (
        "a Federated OIDC provider",
        lambda kind, value: kind == "Federated" and ":saml-provider/" not in value),
}


def _constant_effect(view: StatementView, always: bool) -> tuple[Severity, str]:
    """Severity and effect of a condition whose value is the constant ``always``."""
    if view.st.is_deny:
        if always:
            return Severity.LOW, "so it is always true and this Deny applies to every request"
        return Severity.HIGH, "so it is never true and this Deny never applies (the guard rail fails open)"
    if always:
        return Severity.HIGH, "so it is always true and narrows nothing (the grant is unconditional)"
    return Severity.LOW, "so it is never true and this Allow grants nothing (it fails closed)"


def _judged_by_condition_keys(view: StatementView, key: str) -> bool:
    """The service condition-key check already reports this key (a key of one of the statement's
    written-out, non-wildcard actions' own service)."""
    service = key.partition(":")[0].lower()
    return any(a.strip().lower().partition(":")[0] == service
               for a in written_actions(view) if not has_glob_text(a))


def _statement_services(view: StatementView) -> frozenset[str] | None:
    if view.actions.opaque or view.actions.negated:
        return None
    services = view.actions.services()
    return services if services else None


def _never_present(view: StatementView, cond: Condition) -> str | None:
    key = cond.key.strip()
    judged_elsewhere = not key.lower().startswith("aws:") and _judged_by_condition_keys(view, key)
    if not judged_elsewhere and key_is_known(key) is False:
        return f"{key} is not a condition key AWS sets, so it is never in the request"
    services = _statement_services(view)
    if services is not None and not any(key_in_service_context(key, s) for s in services):
        return (f"{key} is never in the request of {', '.join(sorted(services))} actions (it belongs to "
                "another service)")
    return None


def _has_null_check(view: StatementView, key: str) -> bool:
    low = key.lower()
    return any(c.base_operator == "null" and c.key.lower() == low and
               all(str(v).lower() == "false" for v in c.values) for c in view.st.conditions)


def _for_all_values(view: StatementView, cond: Condition) -> tuple[Severity, str] | None:
    ktype = key_type(cond.key)
    if ktype is None:
        return None
    if not ktype.multivalued:
        if view.st.is_deny:
            return (Severity.LOW, f"{cond.operator} on the single-valued key {cond.key} is true when the key "
                    "is absent, so this Deny also applies to requests without it; drop the ForAllValues "
                    "qualifier")
        return (Severity.MEDIUM, f"{cond.operator} on the single-valued key {cond.key} is true when the key "
                "is absent, so the grant also applies to requests without it; drop the ForAllValues "
                "qualifier")
    if view.st.is_allow and not _has_null_check(view, cond.key):
        fix = f"add \"Null\": {{\"{cond.key}\": \"false\"}}"
        if cond.key.strip().lower().endswith("tagkeys"):
            # "Only these tag keys may be set": a request that sets no tags keeps to it, which is what
            # such a grant usually means, so this is a note, not a block.
            return (Severity.LOW, f"{cond.operator} on {cond.key} is also true for requests that set no "
                    f"tags; if tags are required, {fix}")
        return (Severity.MEDIUM, f"{cond.operator} on {cond.key} is true when the key is absent, so the "
                f"grant also applies to requests without it; {fix}")
    return None


def _mfa(view: StatementView, cond: Condition) -> tuple[Severity, str] | None:
    if view.st.is_allow:
        return (Severity.HIGH, f"{cond.operator} {cond.key} false grants access to requests made without "
                "MFA; require BoolIfExists true instead (or deny when it is false)")
    if view.st.is_deny and not cond.if_exists:
        return (Severity.HIGH, f"{cond.operator} {cond.key} false does not deny long-term access keys (the "
                "key is absent from their requests); use BoolIfExists")
    return None


def _judge(view: StatementView, ctx: RuleContext, cond: Condition) -> tuple[Severity, str] | None:
    never = _never_present(view, cond)
    if never is not None:
        severity, effect = _constant_effect(view, absent_result(cond))
        return severity, f"{never}, {effect}"
    if cond.set_qualifier == "forallvalues":
        return _for_all_values(view, cond)
    if mfa_false(cond):
        return _mfa(view, cond)
    mismatch = type_mismatch(cond)
    if mismatch is not None:
        severity, effect = _constant_effect(view, is_negated(cond))
        return severity, f"{mismatch}: the comparison never matches, {effect}"
    if ctx.kind == IDENTITY and view.st.is_allow:
        vacuous = vacuous_wildcard(cond)
        if vacuous is not None:
            return Severity.HIGH, f"{vacuous}; it narrows nothing"
    return None


@statement_check(RULE, KINDS)
def _rule_condition_pitfalls(view: StatementView, ctx: RuleContext) -> None:
    """Each condition clause judged for the pitfalls above (unknown keys and values are skipped)."""
    if not view.st.conditions or not (view.st.is_allow or view.st.is_deny):
        return
    seen: set[tuple[str, str]] = set()
    for cond in view.st.conditions:
        if not isinstance(cond.key, str) or has_unknown(cond.key) or any(is_unknown(v) for v in cond.values):
            continue
        marker = (cond.operator.lower(), cond.key.lower())
        if marker in seen:
            continue
        seen.add(marker)
        judged = _judge(view, ctx, cond)
        if judged is not None:
            severity, text = judged
            ctx.add(RULE.id, severity, f"{view.label}: {text}.", view, None, first_resource(view))


@statement_check(RULE, TRUST_AND_RESOURCE)
def _rule_principal_fits_action(view: StatementView, ctx: RuleContext) -> None:
    """An assume-role action no principal of the statement can call (sts:AssumeRoleWithSAML for an AWS
    principal, sts:AssumeRoleWithWebIdentity for a non-Federated one): that part of the grant is void."""
    principal = view.st.principal
    if not view.st.is_allow or principal is None or principal.any or principal.unknown:
        return
    if view.actions.symbolic or view.actions.opaque:
        return
    entries = [(kind, value) for kind, value in principal.entries if isinstance(value, str)]
    if not entries:
        return
    for action in sorted(view.actions.expanded or ()):
        fit = _ASSUME_FITS.get(action)
        if fit is None:
            continue
        needed, fits = fit
        if not any(fits(kind, value) for kind, value in entries):
            kinds = ", ".join(sorted({kind for kind, _ in entries}))
            ctx.add(RULE.id, Severity.LOW,
                    f"{view.label}: {canonical_name(action)} needs {needed} principal, and this statement "
                    f"names only {kinds} principals, so that part of the grant never applies; give the "
                    "action its own statement with the fitting principal.",
                    view, canonical_name(action), None)
