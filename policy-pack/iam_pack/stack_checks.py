"""Stack policies: what only the whole stack shows.

* ``iam-preview-verifiable``: documents and attached policies unknown at preview that no property
  dependency links to the stack, and references to principals or policies the stack does not define
  (and the pack config does not list as known external ones);
* the effective-permissions budget, per role, user (with its groups), group and permission set;
* escalation across policies: the union of every document reaching one principal, judged by the
  engine's escalation rule, reporting only what no single document already shows.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, Final

from adapters.model import GROUP, POLICY, ROLE, USER
from least_privilege import UNKNOWN
from least_privilege.findings import (
    BUDGET,
    PREVIEW_VERIFIABLE,
    PRIVILEGE_ESCALATION,
    RULES,
    Finding,
    Severity,
)
from pulumi_policy import ReportViolation, StackValidationArgs

from iam_pack import engine
from iam_pack.exception_policies import register as register_exceptions
from iam_pack.plain import unknown_paths
from iam_pack.reporting import (
    Violation,
    blocking_threshold,
    effective_severity,
    internal_error,
    parse_severity,
    report,
)
from iam_pack.resource_checks import policy_config
from iam_pack.stack_view import MISSING_ISSUE, UNKNOWN_ISSUE, Principal, StackView

StackValidator = Callable[[StackValidationArgs, ReportViolation], None]

ESCALATION_ACROSS_POLICIES: Final = "iam-no-escalation-across-policies"
INLINE_POLICY_QUOTA: Final = "iam-inline-policies-within-quota"


def stack_view(args: StackValidationArgs, config: Mapping[str, Any]) -> StackView:
    """The stack's IAM view, with this policy's knownExternal list (if it has one)."""
    external = config.get("knownExternal")
    return StackView(
        args.resources, external if isinstance(external, Mapping) else None, engine.stack_context()
    )


def _where(principal: Principal) -> dict[str, Any]:
    return {"urn": principal.urn, "principal_name": principal.name}


# --------------------------------------------------------------------------------------------------
# iam-preview-verifiable

_UNKNOWN_DOCUMENT: Final = (
    "is unknown at preview (it is computed from an output of a resource created in this update), so no "
    "rule could check it and it would reach `up` unverified. Build the document from values known at "
    "preview (config, literal or config-derived ARNs)."
)


def validate_preview_verifiable(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    """Unknown documents, unlinked unknown ARNs and references outside the stack are violations here."""
    rule = PREVIEW_VERIFIABLE
    try:
        config = policy_config(args)
        register_exceptions(rule, config)
        severity = parse_severity(config.get("severityOverride"), RULES[rule].default_severity)
        view = stack_view(args, config)
        for entry in view.entries:
            res = entry.resource
            where = {"urn": res.urn, "resource_type": res.resource_type, "resource_name": res.name}
            for doc in entry.view.documents:
                found = (
                    []
                    if doc.value is UNKNOWN
                    else [f for f in engine.check(doc.kind, doc.value, rule, config) if f.rule == rule]
                )
                for finding in found:
                    report(
                        report_violation,
                        Violation(
                            rule,
                            effective_severity(finding, config),
                            doc.location,
                            finding.message,
                            finding=finding,
                            **where,
                        ),
                        config,
                    )
                if found or not config.get("requireKnownDocuments", True):
                    continue
                for path in unknown_paths(doc.value):
                    location = doc.location if path == "." else f"{doc.location}{path}"
                    report(
                        report_violation,
                        Violation(
                            rule, severity, location, f"the {doc.container} {_UNKNOWN_DOCUMENT}", **where
                        ),
                        config,
                    )
        for issue in view.issues:
            if (
                issue.kind == UNKNOWN_ISSUE
                and issue.subject == POLICY
                and not config.get("requireKnownPolicyArns", True)
            ):
                continue
            if issue.kind == MISSING_ISSUE and not config.get("requireReferencesInStack", True):
                continue
            text = issue.text
            if issue.kind == MISSING_ISSUE:
                text += (
                    f". Define it in this stack or, if it is a known {issue.subject} managed elsewhere, list "
                    f"it under knownExternal.{issue.external_key} in this environment's pack config."
                )
            report(
                report_violation,
                Violation(
                    rule,
                    severity,
                    issue.location,
                    text,
                    urn=issue.urn,
                    resource_type=issue.resource_type,
                    resource_name=issue.resource_name,
                ),
                config,
            )
    except Exception as exc:
        internal_error(report_violation, rule, "the stack", exc)


# --------------------------------------------------------------------------------------------------
# Effective-permissions budget


def budget_from_config(config: Mapping[str, Any]) -> Any:
    """The engine Budget for this environment (pack config of the budget policy)."""
    import dataclasses

    analysis = engine.analysis()
    allowed = config.get("allowedServices")
    kwargs: dict[str, Any] = {
        "allowed_services": None if allowed is None else frozenset(str(s).lower() for s in allowed),
        "forbid_write_on_star": bool(config.get("forbidWriteOnStar", True)),
        "forbid_permissions_management_on_star": bool(config.get("forbidPermissionsManagementOnStar", True)),
    }
    known = {f.name for f in dataclasses.fields(analysis.Budget)}
    return analysis.Budget(**{k: v for k, v in kwargs.items() if k in known})


def validate_budget(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    """Per principal: the union of everything that reaches it must stay within the budget."""
    rule = BUDGET
    try:
        config = policy_config(args)
        register_exceptions(rule, config)
        budget = budget_from_config(config)
        threshold = blocking_threshold(rule, config)
        view = stack_view(args, config)
        for principal in view.principals.values():
            try:
                _check_budget(view, principal, budget, config, threshold, report_violation)
            except Exception as exc:
                internal_error(report_violation, rule, principal.label, exc, principal.urn)
    except Exception as exc:
        internal_error(report_violation, rule, "the stack", exc)


def _check_budget(
    view: StackView,
    principal: Principal,
    budget: Any,
    config: Mapping[str, Any],
    threshold: Any,
    report_violation: ReportViolation,
) -> None:
    analysis = engine.analysis()
    documents = view.documents_reaching(principal)
    perms = analysis.effective_permissions([doc for _, doc in documents])
    counted = ", ".join(source for source, _ in documents) or "no documents"
    unknown = view.unknown_reaching(principal)
    if unknown:
        # Only the known parts are counted; iam-preview-verifiable reports the unknown ones.
        counted += "; not counted, unknown at preview: " + ", ".join(unknown)
    for finding in analysis.check_budget(perms, budget):
        severity = effective_severity(finding, config)
        if severity >= threshold:
            report(
                report_violation,
                Violation(
                    BUDGET,
                    severity,
                    principal.label,
                    f"{finding.message} (counted: {counted})",
                    finding=finding,
                    **_where(principal),
                ),
                config,
            )
    unresolved = view.unresolved_reaching(principal)
    if unresolved and config.get("failOnUnresolvedPolicies", True):
        report(
            report_violation,
            Violation(
                BUDGET,
                RULES[BUDGET].default_severity,
                principal.label,
                "attached policies could not be resolved, so the budget cannot be verified: "
                + "; ".join(unresolved)
                + ". Attach policies defined in this stack or listed in the managed-policy snapshot.",
                **_where(principal),
            ),
            config,
        )


# --------------------------------------------------------------------------------------------------
# Escalation across policies


def _statements(document: Any) -> list[Any]:
    value = json.loads(document) if isinstance(document, str) else document
    if not isinstance(value, Mapping):
        return []
    statements = value.get("Statement")
    if isinstance(statements, Mapping):
        return [statements]
    return list(statements) if isinstance(statements, list) else []


def merged_document(documents: list[tuple[str, Any]]) -> tuple[dict[str, Any], dict[str, str]]:
    """One document with the statements of all, and which source each statement label came from.

    Statements are relabelled ``<source index>S<statement index>`` so labels stay unique.
    """
    merged: list[Any] = []
    sources: dict[str, str] = {}
    for i, (source, document) in enumerate(documents):
        for j, statement in enumerate(_statements(document)):
            if not isinstance(statement, Mapping):
                continue
            sid = f"P{i}S{j}"
            merged.append({**statement, "Sid": sid})
            sources[sid] = source
    return {"Version": "2012-10-17", "Statement": merged}, sources


def _escalation_key(finding: Finding) -> str:
    """What an escalation finding says, without the statement labels it starts with."""
    return finding.message.partition(": ")[2] or finding.message


def validate_escalation_across_policies(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    """Escalation paths that only the union of a principal's documents completes."""
    rule = ESCALATION_ACROSS_POLICIES
    try:
        config = policy_config(args)
        register_exceptions(rule, config)
        threshold = blocking_threshold(rule, config)
        view = stack_view(args, config)
        for principal in view.principals.values():
            try:
                _check_escalation(view, principal, config, threshold, report_violation)
            except Exception as exc:
                internal_error(report_violation, rule, principal.label, exc, principal.urn)
    except Exception as exc:
        internal_error(report_violation, rule, "the stack", exc)


def _escalation(document: Any, config: Mapping[str, Any]) -> list[Finding]:
    return [
        f
        for f in engine.check("identity", document, PRIVILEGE_ESCALATION, config)
        if f.rule == PRIVILEGE_ESCALATION
    ]


def _check_escalation(
    view: StackView,
    principal: Principal,
    config: Mapping[str, Any],
    threshold: Any,
    report_violation: ReportViolation,
) -> None:
    documents = [(s, d) for s, d in view.documents_reaching(principal) if _statements_or_none(d)]
    if len(documents) < 2:
        return
    single = {_escalation_key(f) for _, doc in documents for f in _escalation(doc, config)}
    merged, sources = merged_document(documents)
    for finding in _escalation(merged, config):
        if _escalation_key(finding) in single:
            continue
        labels = finding.message.partition(": ")[0].split(", ")
        names = sorted({sources[label] for label in labels if label in sources})
        severity = effective_severity(finding, config)
        if severity < threshold:
            continue
        text = (
            f"the policies reaching it together grant an escalation path no single one shows: "
            f"{_escalation_key(finding)} (granted by: {'; '.join(names) or 'several policies'})"
        )
        if principal.boundaries:
            boundaries = ", ".join(principal.boundaries)
            text += f"; a permissions boundary applies and may block part of it: {boundaries}"
        report(
            report_violation,
            Violation(
                ESCALATION_ACROSS_POLICIES,
                severity,
                principal.label,
                text,
                finding=finding,
                **_where(principal),
            ),
            config,
        )


def _statements_or_none(document: Any) -> bool:
    try:
        return bool(_statements(document))
    except ValueError:
        return False


# --------------------------------------------------------------------------------------------------
# Aggregate size of a principal's inline policies


def validate_inline_policy_quota(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    """The inline policies of one role, user or group, added up, must fit the principal's quota."""
    rule = INLINE_POLICY_QUOTA
    try:
        config = policy_config(args)
        view = stack_view(args, config)
        for principal in view.principals.values():
            try:
                _check_inline_quota(principal, config, report_violation)
            except Exception as exc:
                internal_error(report_violation, rule, principal.label, exc, principal.urn)
    except Exception as exc:
        internal_error(report_violation, rule, "the stack", exc)


def _check_inline_quota(
    principal: Principal, config: Mapping[str, Any], report_violation: ReportViolation
) -> None:
    quotas = engine.analysis().deployable_documents
    container = {
        ROLE: quotas.ROLE_INLINE_POLICY,
        USER: quotas.USER_INLINE_POLICY,
        GROUP: quotas.GROUP_INLINE_POLICY,
    }.get(principal.kind)
    if container is None or len(principal.inline) < 2:
        return  # one document over the quota is reported by the per-document rule
    quota = quotas.INLINE_AGGREGATE_QUOTAS[container]
    sizes = [
        (source, quotas.document_size(doc, counts_whitespace=quota.counts_whitespace, unit=quota.unit))
        for source, doc in principal.inline
    ]
    total = sum(size for _, size in sizes if size)
    if total <= quota.limit:
        return
    severity = parse_severity(config.get("severityOverride"), Severity.HIGH)
    if severity < blocking_threshold(INLINE_POLICY_QUOTA, config):
        return
    counted = "" if quota.counts_whitespace else ", whitespace not counted"
    parts = ", ".join(f"{source} {size:,}" for source, size in sizes if size)
    report(
        report_violation,
        Violation(
            INLINE_POLICY_QUOTA,
            severity,
            principal.label,
            f"its inline policies add up to {total:,} {quota.unit}{counted} ({parts}), over the "
            f"{quota.name} quota of {quota.limit:,}: AWS will reject the last one at `up`. Move policies "
            "to customer-managed policies or shorten them.",
            **_where(principal),
        ),
    )
