"""The single choke point through which every violation of this pack is reported.

Every policy builds a :class:`Violation` and hands it to :func:`report`; nothing else calls the
``report_violation`` callback pulumi_policy passes to validators. Anything that must see or change
every reported violation (reviewed exceptions, audit output) belongs in :func:`report`.

Severity comes first in each message because CrossGuard only shows the policy-level severity.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from least_privilege.findings import WILDCARD_RESOURCES, Finding, Severity
from pulumi_policy import ReportViolation

from iam_pack.exception_policies import report_finding


@dataclass(frozen=True, slots=True)
class Violation:
    """One violation of one policy, with what it is about.

    ``urn`` None means "the resource being validated" (resource policies); stack policies name the
    resource. ``finding`` is the engine finding behind it, when there is one.
    """

    policy: str
    severity: Severity
    location: str
    text: str
    urn: str | None = None
    resource_type: str | None = None
    resource_name: str | None = None
    finding: Finding | None = None
    internal_error: bool = False
    principal_name: str | None = None
    """For a stack finding about a role, user or group: its name (an exception's glob may name it)."""

    @property
    def message(self) -> str:
        """The text CrossGuard shows."""
        if self.internal_error:
            return self.text
        return format_message(self.severity, self.location, self.text)


def format_message(severity: Severity, location: str, text: str) -> str:
    """Violation text: severity first (CrossGuard shows only the policy-level severity), then where."""
    return f"[{severity.label}] {location}: {text}"


def report(
    report_violation: ReportViolation,
    violation: Violation,
    config: Mapping[str, Any] | None = None,
    *,
    subject_urn: str | None = None,
) -> None:
    """Report one violation to the engine. The only caller of ``report_violation`` in this pack.

    With the reporting policy's ``config``, its reviewed exceptions screen the violation first: an
    accepted one goes to ``iam-accepted-exceptions`` instead (see :mod:`iam_pack.exception_policies`).
    ``subject_urn`` is the URN of the resource a resource policy validates (its violations carry none).
    Internal errors are never accepted.
    """
    if config is None or violation.internal_error:
        report_violation(violation.message, violation.urn)
        return
    resource_urn = violation.urn or subject_urn or ""
    report_finding(
        report_violation,
        violation.policy,
        config,
        violation.message,
        resource_name=violation.resource_name or resource_urn.rsplit("::", 1)[-1],
        resource_urn=resource_urn,
        role_name=violation.principal_name,
        report_urn=violation.urn,
    )


def internal_error(
    report_violation: ReportViolation, policy: str, where: str, exc: BaseException, urn: str | None = None
) -> None:
    """Report instead of raising: an exception would abort the whole preview (or hide as advisory)."""
    report(
        report_violation,
        Violation(
            policy,
            Severity.HIGH,
            where,
            f"[internal error] policy {policy} could not evaluate {where}: {type(exc).__name__}: {exc}. "
            "Treat the resource as unchecked and report this to the pack maintainers.",
            urn=urn,
            internal_error=True,
        ),
    )


# --------------------------------------------------------------------------------------------------
# Severities and thresholds from a policy's config.


def parse_severity(value: Any, default: Severity) -> Severity:
    """A configured severity, or ``default`` when absent or not a severity."""
    try:
        return Severity.parse(value) if value is not None else default
    except ValueError:
        return default


def effective_severity(finding: Finding, config: Mapping[str, Any]) -> Severity:
    """The finding's severity, or the policy's ``severityOverride`` when configured."""
    return parse_severity(config.get("severityOverride"), finding.severity)


def blocking_threshold(rule: str, config: Mapping[str, Any]) -> Severity:
    """Findings below this severity are informational, not violations of the rule's policy.

    `*`-only actions are reported at low severity and allowed by default; setting
    ``forbidStarOnlyActions`` makes them violations, so the threshold drops to low for that rule.
    """
    if rule == WILDCARD_RESOURCES and config.get("forbidStarOnlyActions"):
        return parse_severity(config.get("minimumSeverity"), Severity.LOW)
    return parse_severity(config.get("minimumSeverity"), Severity.MEDIUM)


# --------------------------------------------------------------------------------------------------
# Below-threshold findings, kept for the informational policy that runs last for each resource.

_notices: dict[str, list[Violation]] = {}
_notices_lock = threading.Lock()
_NOTICE_LIMIT: Final = 4096


def stash_notices(urn: str, violations: list[Violation]) -> None:
    """Keep below-threshold findings for the informational policy, which runs last for the resource."""
    if not violations:
        return
    with _notices_lock:
        if len(_notices) >= _NOTICE_LIMIT:
            _notices.clear()
        _notices.setdefault(urn, []).extend(violations)


def take_notices(urn: str) -> list[Violation]:
    """The stashed below-threshold findings of one resource (removed from the stash)."""
    with _notices_lock:
        return _notices.pop(urn, [])
