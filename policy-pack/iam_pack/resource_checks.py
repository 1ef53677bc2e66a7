"""Resource policies: one per engine rule, each judging what the adapters read from one resource.

They see only the provider-free :class:`~adapters.model.ResourceView`; the documents and attached
policy ARNs of every adapter-read type are judged the same way, whatever the provider.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

import adapters
from adapters.model import ResourceView
from least_privilege.findings import RULES, WELL_FORMED
from pulumi_policy import ReportViolation, ResourceValidationArgs

from iam_pack import engine
from iam_pack.exception_policies import register as register_exceptions
from iam_pack.plain import plain_props
from iam_pack.reporting import (
    Violation,
    blocking_threshold,
    effective_severity,
    internal_error,
    report,
    stash_notices,
    take_notices,
)

_JUDGED: Final = adapters.judged_types()


def policy_config(args: Any) -> dict[str, Any]:
    """The policy's configuration (empty when the engine sent none)."""
    try:
        return dict(args.get_config() or {})
    except Exception:
        return {}


def resource_view(resource_type: str, props: Any) -> ResourceView | None:
    """The adapter view of one resource, read from plain props (never through the proxy)."""
    if resource_type not in _JUDGED:
        return None
    return adapters.read(resource_type, plain_props(props), engine.stack_context())


def make_rule_validator(rule: str) -> Callable[[ResourceValidationArgs, ReportViolation], None]:
    """A validator reporting the engine findings of one rule on one resource."""

    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        try:
            config = policy_config(args)
            register_exceptions(rule, config)
            view = resource_view(args.resource_type, args.props)
            if view is None:
                return
            threshold = blocking_threshold(rule, config)
            notices: list[Violation] = []
            for location, finding in engine.view_findings(view, rule, config):
                if finding.rule != rule and not (rule == WELL_FORMED and finding.rule not in RULES):
                    continue
                text = (
                    finding.message
                    if finding.rule == rule
                    else f"{finding.message} (engine rule {finding.rule})"
                )
                violation = Violation(
                    rule,
                    effective_severity(finding, config),
                    location,
                    text,
                    resource_type=args.resource_type,
                    resource_name=args.name,
                    finding=finding,
                )
                if violation.severity >= threshold:
                    report(report_violation, violation, config, subject_urn=args.urn)
                else:
                    notices.append(violation)
            stash_notices(args.urn, notices)
        except Exception as exc:
            internal_error(report_violation, rule, args.urn or args.name, exc)

    validate.__name__ = f"validate_{rule.replace('-', '_')}"
    return validate


def make_informational_validator(policy: str) -> Callable[[ResourceValidationArgs, ReportViolation], None]:
    """Reports the below-threshold findings the rule policies set aside for the resource."""

    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        try:
            for notice in take_notices(args.urn):
                report(
                    report_violation,
                    Violation(
                        policy,
                        notice.severity,
                        notice.location,
                        f"{notice.text} (rule {notice.policy})",
                        resource_type=notice.resource_type,
                        resource_name=notice.resource_name,
                        finding=notice.finding,
                    ),
                )
        except Exception as exc:
            internal_error(report_violation, policy, args.urn or args.name, exc)

    validate.__name__ = "validate_informational"
    return validate
