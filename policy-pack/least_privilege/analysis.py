"""The engine's public entry points: judge one IAM document (identity, trust or resource policy), an
attached managed-policy ARN, or the effective permissions of a principal against a budget.

The rules themselves live one per module in ``least_privilege.rules`` (metadata beside the checks),
run over ``least_privilege.core`` statement views; this module parses a document, runs the rules that
apply to its kind, bounds the findings and applies the configured severity overrides.

Nothing here raises on bad input: the public functions wrap the work and turn any internal error into
a ``iam-well-formed-documents`` finding, because an exception inside a CrossGuard validator aborts
the whole preview.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from .bounds import bounded
from .core import KINDS, ActionSet, RuleContext, apply_overrides, glob_regex, statement_view
from .document import IMPLIED_RESOURCE_SERVICES, ParsedDocument, Statement, parse_document
from .findings import Finding, Severity
from .registry import DOCUMENT_CHECKS, STATEMENT_CHECKS
from .rules import deployable_documents
from .rules.budget import Budget, EffectivePermissions, Grant, check_budget, effective_permissions
from .rules.deployable_documents import check_document_quotas, document_size
from .rules.managed_attachments import check_managed_policy_arn
from .rules.privilege_escalation import is_resource_policy_write, resource_policy_writes
from .rules.well_formed import RULE as WELL_FORMED
from .settings import DEFAULT_ALLOWED_SERVICE_PRINCIPALS, DEFAULT_SETTINGS, Settings, settings_from_config

__all__ = [
    "DEFAULT_ALLOWED_SERVICE_PRINCIPALS",
    "DEFAULT_SETTINGS",
    "ActionSet",
    "Budget",
    "EffectivePermissions",
    "Grant",
    "Settings",
    "check_budget",
    "check_document",
    "check_document_quotas",
    "check_identity_policy",
    "check_managed_policy_arn",
    "check_resource_policy",
    "check_trust_policy",
    "deployable_documents",
    "detect_kind",
    "document_size",
    "effective_permissions",
    "settings_from_config",
]

# The catalog-derived resource-policy writes, under the names the engine's tests use.
_is_resource_policy_write = is_resource_policy_write
_resource_policy_writes = resource_policy_writes


def _analyse(parsed: ParsedDocument, settings: Settings, kind: str) -> list[Finding]:
    # Parse findings (well-formed, preview-verifiable) and rule findings are of different rules, so
    # each part is bounded on its own; the rule part inside the cache.
    findings = bounded(list(parsed.findings))
    try:
        findings.extend(_rule_findings(parsed.statements, kind, settings))
    except TypeError:  # an unhashable value slipped into a statement or settings: compute without the cache
        findings.extend(_rule_findings.__wrapped__(parsed.statements, kind, settings))
    return findings


@lru_cache(maxsize=2048)
def _rule_findings(statements: tuple[Statement, ...], kind: str, settings: Settings) -> tuple[Finding, ...]:
    """Run the rules enabled for ``kind`` over normalised statements. Memoised: the pack checks each
    document once per policy, and statements are immutable, so identical statements yield identical
    findings (severity overrides are applied afterwards and are not part of the key)."""
    if kind not in KINDS:
        raise ValueError(f"unknown document kind {kind!r}")
    views = [statement_view(st, kind) for st in statements]
    ctx = RuleContext(settings, kind, views)
    statement_checks = [c.check for c in STATEMENT_CHECKS if kind in c.kinds]
    for view in views:
        for check in statement_checks:
            check(view, ctx)
    for registered in DOCUMENT_CHECKS:
        if kind in registered.kinds:
            registered.check(ctx)
    return tuple(bounded(ctx.findings))


def _guarded(kind: str, document: Any, settings: Settings | None) -> list[Finding]:
    settings = settings if isinstance(settings, Settings) else DEFAULT_SETTINGS
    try:
        if kind == "trust":
            parsed = parse_document(document, require_resource=False, principal_expected=True)
            findings = _analyse(parsed, settings, kind) + _trust_shape(parsed)
        elif kind == "resource":
            parsed = parse_document(document, require_resource=True, principal_expected=True,
                                    implied_resource_services=IMPLIED_RESOURCE_SERVICES)
            findings = _analyse(parsed, settings, kind)
        else:
            parsed = parse_document(document, require_resource=True, principal_expected=False)
            findings = _analyse(parsed, settings, kind)
        return apply_overrides(findings, settings)
    except RecursionError:
        return [Finding(WELL_FORMED.id, Severity.MEDIUM,
                        "the policy document is nested too deeply to analyse")]
    except Exception as exc:  # a validator must never raise; report instead
        return [Finding(WELL_FORMED.id, Severity.MEDIUM,
                        f"the policy document could not be analysed ({type(exc).__name__}: {exc}); "
                        "check that it follows the IAM policy grammar")]


def _trust_shape(parsed: ParsedDocument) -> list[Finding]:
    out = []
    for st in parsed.statements:
        if st.resources is not None or st.not_resources is not None:
            out.append(Finding(WELL_FORMED.id, Severity.MEDIUM,
                               f"{st.label}: a trust policy must not have Resource or NotResource (the "
                               "resource "
                               "is the role itself); remove it.", st.label))
    return out


def check_identity_policy(document: Any, settings: Settings = DEFAULT_SETTINGS) -> list[Finding]:
    """Findings for an identity policy (Policy, RolePolicy, inline policies). Never raises."""
    return _guarded("identity", document, settings)


def check_trust_policy(document: Any, settings: Settings = DEFAULT_SETTINGS) -> list[Finding]:
    """Findings for a role trust (assume-role) policy. Never raises."""
    return _guarded("trust", document, settings)


def check_resource_policy(document: Any, settings: Settings = DEFAULT_SETTINGS) -> list[Finding]:
    """Findings for a resource policy such as an S3 bucket policy. Never raises."""
    return _guarded("resource", document, settings)


def detect_kind(document: Any) -> str:
    """identity | trust | resource: Principal present -> trust when it only grants sts:Assume*, else
    resource; no Principal -> identity. Malformed input -> identity (the parser reports it)."""
    try:
        parsed = parse_document(document, require_resource=False, principal_expected=None)
    except Exception:
        return "identity"
    with_principal = [s for s in parsed.statements if s.principal is not None or s.not_principal is not None]
    if not with_principal:
        return "identity"
    for st in with_principal:
        if st.resources is not None or st.not_resources is not None:
            return "resource"  # trust policies have no Resource element
    for st in with_principal:
        for a in st.action_list:
            if isinstance(a, str) and glob_regex(a.strip().lower()).fullmatch("sts:assumerole"):
                return "trust"
            if isinstance(a, str) and a.strip().lower().startswith("sts:assume"):
                return "trust"
    return "resource"


def check_document(
    document: Any, kind: str = "auto", settings: Settings = DEFAULT_SETTINGS
) -> tuple[str, list[Finding]]:
    """Check a document of the given kind (``auto`` detects it); returns (kind, findings)."""
    if kind == "auto":
        kind = detect_kind(document)
    check = {"identity": check_identity_policy, "trust": check_trust_policy,
             "resource": check_resource_policy}[kind]
    return kind, check(document, settings)

