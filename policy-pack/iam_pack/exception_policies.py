"""The pack's side of reviewed exceptions: every finding is screened before it is reported, and two
stack policies report what the exceptions did.

* :func:`report_finding` is the one place a rule's finding goes through. When an unexpired exception of
  that policy applies (see ``policy_exceptions``), the finding is not reported by its policy; the run's
  ledger keeps it for ``iam-accepted-exceptions``. When only expired exceptions apply, the finding is
  reported at its policy's level with a note naming them.
* ``iam-accepted-exceptions`` (advisory) reports every accepted finding of the run on its resource,
  prefixed ``accepted by exception EX-12 (owner, expires 2027-01-31): <reason>``. A violation of a
  mandatory policy is mandatory, so acceptance has to travel through a policy of its own. Under
  ``"all": "mandatory"`` it must be named advisory explicitly; set mandatory, it forbids exceptions.
* ``iam-exceptions`` reports exceptions that are invalid, expired, unused in this run, or expire more
  than ``maxDays`` days after today.

Both are stack policies: the engine calls AnalyzeStack once, after Analyze for every resource, in the
same pack process (preview and update alike), so they see the whole run. They run after the budget
policy (its accepted findings are in the ledger by then) because the SDK runs stack policies in order.
Today is ``IAM_PACK_TODAY`` (YYYY-MM-DD) when set, else the UTC date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Final

from policy_exceptions import (
    EXCEPTIONS_KEY,
    EXCEPTIONS_SCHEMA,
    MAX_DAYS_SCHEMA,
    TODAY_ENV,
    ClockError,
    ExceptionLedger,
    FindingSubject,
    accepted_message,
    decide,
    expired_note,
    lifetime_problem,
    today_from_environment,
)
from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy import Severity as PolicySeverity

from iam_pack.closed_config import closed_config

ACCEPTED_EXCEPTIONS: Final = "iam-accepted-exceptions"
EXCEPTIONS_POLICY: Final = "iam-exceptions"
TAGS: Final = ["iam", "least-privilege", "exceptions"]

LEDGER: Final = ExceptionLedger()
"""This pack process's run: one process per preview or update, as the engine starts it."""


def exceptions_schema() -> dict[str, Any]:
    """The ``exceptions`` property every finding policy declares in its config schema."""
    return {EXCEPTIONS_KEY: EXCEPTIONS_SCHEMA}


def today() -> tuple[dt.date, str | None]:
    """Today, and a problem to report when ``IAM_PACK_TODAY`` is set but malformed (UTC date used)."""
    try:
        return today_from_environment(), None
    except ClockError as exc:
        return dt.datetime.now(dt.UTC).date(), f"{exc}; using the UTC date"


def register(policy: str, config: Mapping[str, Any]) -> None:
    """Note the policy's exceptions for this run, so one that matches nothing is reported unused."""
    LEDGER.register(policy, config)


def report_finding(
    report_violation: ReportViolation,
    policy: str,
    config: Mapping[str, Any],
    message: str,
    *,
    resource_name: str,
    resource_urn: str,
    role_name: str | None = None,
    report_urn: str | None = None,
) -> None:
    """Report one finding of ``policy``, unless an unexpired exception of the policy accepts it.

    ``resource_name``/``resource_urn`` (and ``role_name`` for a stack finding about a role) are what the
    exception's resource glob is matched against; ``report_urn`` is passed to ``report_violation``.
    """
    exceptions = LEDGER.register(policy, config)
    if not exceptions:
        report_violation(message, report_urn)
        return
    subject = FindingSubject(policy, message, resource_name, resource_urn, role_name)
    decision = decide(exceptions, subject, today()[0])
    for expired in decision.expired:
        LEDGER.record(expired, subject, accepted=False)
    if decision.accepted_by is not None:
        LEDGER.record(decision.accepted_by, subject, accepted=True)
        return
    if decision.expired:
        message += expired_note(decision.expired)
    report_violation(message, report_urn)


def _internal_error(report_violation: ReportViolation, policy: str, exc: BaseException) -> None:
    report_violation(
        f"[internal error] policy {policy} could not evaluate the exceptions: {type(exc).__name__}: {exc}. "
        "Report this to the pack maintainers.",
        None,
    )


def validate_accepted(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    """Reports every finding an exception accepted in this run, on the resource it was found on."""
    try:
        for exception, subject in LEDGER.accepted():
            report_violation(accepted_message(exception, subject.message), subject.urn or None)
    except Exception as exc:
        _internal_error(report_violation, ACCEPTED_EXCEPTIONS, exc)


def _max_days(config: Mapping[str, Any]) -> int | None:
    value = config.get("maxDays")
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 1:
        return None
    return int(value)


def validate_exceptions(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    """Invalid, expired, unused and too long-lived exceptions of this run."""
    try:
        config = dict(args.get_config() or {})
        now, clock_problem = today()
        if clock_problem:
            report_violation(f"{TODAY_ENV}: {clock_problem}", None)
        for problem in LEDGER.problems():
            report_violation(f"invalid exception {problem}", None)
        for e in LEDGER.expired(now):
            report_violation(
                f"{e.label()} on {e.policy} ({e.scope()}) expired on {e.expires.isoformat()} and no longer "
                "applies; remove it from the pack config, or renew it through a reviewed change.",
                None,
            )
        for e in LEDGER.unused(now):
            report_violation(
                f"{e.label()} on {e.policy} ({e.scope()}) matched no finding in this run; remove it (the "
                "finding it accepted is gone) or correct its resource or match.",
                None,
            )
        max_days = _max_days(config)
        for e in LEDGER.exceptions():
            problem = lifetime_problem(e, now, max_days)
            if problem:
                report_violation(problem, None)
    except Exception as exc:
        _internal_error(report_violation, EXCEPTIONS_POLICY, exc)


def build_policies() -> list[StackValidationPolicy]:
    """The two exception policies, in the order they must run (after every finding policy)."""
    return [
        StackValidationPolicy(
            name=ACCEPTED_EXCEPTIONS,
            description="Findings accepted by a reviewed exception (the `exceptions` list of the reporting "
            "policy's config), each reported here with the exception's id, owner, expiry and reason instead "
            "of by its policy. Advisory: set it mandatory to allow no exceptions in an environment.",
            display_name="Findings accepted by exception",
            validate=closed_config(ACCEPTED_EXCEPTIONS, (), validate_accepted),
            enforcement_level=EnforcementLevel.ADVISORY,
            config_schema=PolicyConfigSchema(properties={}),
            severity=PolicySeverity.LOW,
            remediation_steps="Fix the finding before the exception expires, then remove the exception.",
            tags=TAGS,
        ),
        StackValidationPolicy(
            name=EXCEPTIONS_POLICY,
            description="Reviewed exceptions stay reviewed: reports exceptions that are invalid, expired, "
            "unused in this run, or expire more than `maxDays` days from today.",
            display_name="Reviewed exceptions",
            validate=closed_config(EXCEPTIONS_POLICY, ("maxDays",), validate_exceptions),
            enforcement_level=EnforcementLevel.MANDATORY,
            config_schema=PolicyConfigSchema(properties={"maxDays": MAX_DAYS_SCHEMA}),
            severity=PolicySeverity.MEDIUM,
            remediation_steps="Remove expired and unused exceptions; give each an expiry within maxDays.",
            tags=TAGS,
        ),
    ]
