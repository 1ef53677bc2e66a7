"""Reviewed exceptions as the pipeline shows and gates them.

The meaning of an exception (fields, matching, expiry, narrowing) is the pack's ``policy_exceptions``
module; this module reads a stack's exceptions from its pack config file, lists the findings the pack
accepted (the ``iam-accepted-exceptions`` diagnostics) with the exception behind each, says which expire
soon, turns an accepted finding into a SARIF suppression, and compares exception sets for promotion.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Protocol

from policy_exceptions import (
    EXPIRING_SOON_DAYS,
    ClockError,
    ParsedExceptions,
    PolicyException,
    Widening,
    exceptions_from_pack_config,
    parse_accepted_message,
    today_from_environment,
    widenings,
)

from pipeline.errors import ConfigurationError

ACCEPTED_POLICY: Final = "iam-accepted-exceptions"
"""The advisory policy through which the pack reports every finding an exception accepted."""
EXCEPTIONS_POLICY: Final = "iam-exceptions"
"""The policy reporting expired, unused and too long-lived exceptions."""


class LocatedDiagnostic(Protocol):
    """What this module needs from a check violation (``pipeline.preview.verdict.Violation``)."""

    policy: str
    message: str
    urn: str | None
    resource_name: str | None
    role: str | None
    phase: str


@dataclass(frozen=True, slots=True)
class AcceptedFinding:
    """A finding the pack reported as accepted, with the exception that accepted it."""

    exception: PolicyException
    finding: str
    urn: str | None
    resource_name: str | None
    role: str | None
    phase: str

    def to_dict(self, today: dt.date) -> dict[str, Any]:
        return {
            **self.exception.to_dict(),
            "daysLeft": self.exception.days_left(today),
            "finding": self.finding,
            "urn": self.urn,
            "resourceName": self.resource_name,
            "role": self.role,
            "phase": self.phase,
        }

    def justification(self) -> str:
        """The SARIF suppression justification: who accepted it, until when, and why."""
        e = self.exception
        return f"{e.id} ({e.owner}, expires {e.expires.isoformat()}): {e.reason}"


@dataclass(frozen=True, slots=True)
class ExceptionSummary:
    """One stack's exceptions: what its config holds, what the pack accepted, what expires soon."""

    today: dt.date
    configured: tuple[PolicyException, ...] = ()
    accepted: tuple[AcceptedFinding, ...] = ()
    problems: tuple[str, ...] = ()
    soon_days: int = EXPIRING_SOON_DAYS

    @property
    def expiring_soon(self) -> tuple[PolicyException, ...]:
        """Configured exceptions still in force that expire within ``soon_days`` days."""
        return tuple(
            sorted(
                (
                    e
                    for e in self.configured
                    if not e.is_expired(self.today) and e.days_left(self.today) <= self.soon_days
                ),
                key=lambda e: (e.expires, e.key),
            )
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "today": self.today.isoformat(),
            "configured": [e.to_dict() for e in self.configured],
            "accepted": [a.to_dict(self.today) for a in self.accepted],
            "expiringWithinDays": self.soon_days,
            "expiringSoon": [
                {**e.to_dict(), "daysLeft": e.days_left(self.today)} for e in self.expiring_soon
            ],
            "problems": list(self.problems),
        }


def stack_exceptions(pack_config: Mapping[str, Any]) -> ParsedExceptions:
    """Every policy's exceptions in a stack's pack config (the parsed ``--policy-pack-config`` file)."""
    return exceptions_from_pack_config(pack_config)


def _placeholder(policy: str, parsed_id: str, owner: str, expires: str, reason: str) -> PolicyException:
    """An accepted finding whose exception is not in the config we read (a different config file was
    used): keep what the message says, with an empty resource glob."""
    return PolicyException(
        policy=policy,
        id=parsed_id,
        resource="",
        reason=reason,
        owner=owner,
        expires=dt.date.fromisoformat(expires),
    )


def accepted_findings(
    violations: Iterable[LocatedDiagnostic], configured: Sequence[PolicyException]
) -> tuple[AcceptedFinding, ...]:
    """The ``iam-accepted-exceptions`` diagnostics, each tied to its configured exception."""
    by_key = {e.key: e for e in configured}
    out: list[AcceptedFinding] = []
    seen: set[tuple[str, str, str | None, str]] = set()
    for v in violations:
        if v.policy != ACCEPTED_POLICY:
            continue
        parsed = parse_accepted_message(v.message)
        if parsed is None:
            continue
        key = (parsed.policy, parsed.id, v.urn, parsed.finding)
        if key in seen:  # the same acceptance seen at preview and again at update
            continue
        seen.add(key)
        exception = by_key.get((parsed.policy, parsed.id)) or _placeholder(
            parsed.policy, parsed.id, parsed.owner, parsed.expires, parsed.reason
        )
        out.append(AcceptedFinding(exception, parsed.finding, v.urn, v.resource_name, v.role, v.phase))
    return tuple(out)


def summarize(
    violations: Iterable[LocatedDiagnostic],
    pack_config: Mapping[str, Any],
    today: dt.date | None = None,
) -> ExceptionSummary:
    """One stack's exception summary from its check violations and its pack config."""
    parsed = stack_exceptions(pack_config)
    if today is None:
        try:
            today = today_from_environment()
        except ClockError as exc:
            raise ConfigurationError(str(exc)) from exc
    return ExceptionSummary(
        today=today,
        configured=parsed.exceptions,
        accepted=accepted_findings(violations, parsed.exceptions),
        problems=parsed.problems,
    )


def sarif_suppression(accepted: AcceptedFinding) -> dict[str, Any]:
    """SARIF 2.1.0 ``suppression``: kept outside the source (the pack config), reviewed and accepted."""
    return {
        "kind": "external",
        "status": "accepted",
        "justification": accepted.justification(),
        "properties": {
            "exceptionId": accepted.exception.id,
            "owner": accepted.exception.owner,
            "expires": accepted.exception.expires.isoformat(),
        },
    }


# --------------------------------------------------------------------------------------------------
# Promotion.


@dataclass(frozen=True, slots=True)
class ExceptionDiff:
    """Exceptions of a candidate (a stage, or a stage against its baseline) the reference does not cover."""

    candidate: str
    reference: str
    widened: tuple[Widening, ...] = ()
    problems: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return not self.widened and not self.problems

    def lines(self) -> list[str]:
        return [*self.problems, *(w.describe() for w in self.widened)]

    def render(self) -> str:
        title = f"exceptions: {self.candidate} vs {self.reference}"
        if self.ok:
            return f"{title}: nothing new or wider\n"
        body = "".join(f"  {line}\n" for line in self.lines())
        return f"{title}: {len(self.widened)} new or wider exception(s)\n{body}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "candidate": self.candidate,
            "reference": self.reference,
            "ok": self.ok,
            "widened": [w.to_dict() for w in self.widened],
            "problems": list(self.problems),
        }


def diff_exceptions(
    candidate: ParsedExceptions,
    reference: Sequence[PolicyException],
    *,
    candidate_name: str,
    reference_name: str,
) -> ExceptionDiff:
    """Every candidate exception without a reference exception of the same policy and id that covers it
    (resource glob equal or provably narrower, match equal or more specific, expiring no later)."""
    return ExceptionDiff(
        candidate=candidate_name,
        reference=reference_name,
        widened=tuple(widenings(candidate.exceptions, reference, reference_name)),
        problems=candidate.problems,
    )


def load_config_exceptions(path: Path) -> ParsedExceptions:
    """A pack config file's exceptions (a missing file holds none; bad JSON raises ConfigurationError)."""
    from pipeline.preview.packclient import load_pack_config

    if not path.is_file():
        return ParsedExceptions()
    return stack_exceptions(load_pack_config(path))


# --------------------------------------------------------------------------------------------------
# Baselines: the reviewed exceptions of a stack, beside its reviewed permissions.

BASELINE_KEY: Final = "exceptions"


def baseline_entries(exceptions: Iterable[PolicyException]) -> list[dict[str, Any]]:
    """The baseline form: every exception with its policy, sorted by policy and id."""
    return [e.to_dict() for e in sorted(exceptions, key=lambda e: e.key)]


def exceptions_from_baseline(doc: Mapping[str, Any], source: str) -> tuple[PolicyException, ...]:
    """The reviewed exceptions of a baseline document (none when the key is absent).

    Raises ValueError naming the file for an entry that is not a valid exception."""
    raw = doc.get(BASELINE_KEY, [])
    if not isinstance(raw, list):
        raise ValueError(f"{source}: '{BASELINE_KEY}' must be a list")
    by_policy: dict[str, list[Any]] = {}
    for index, entry in enumerate(raw):
        policy = entry.get("policy") if isinstance(entry, Mapping) else None
        if not isinstance(policy, str) or not policy:
            raise ValueError(f"{source}: {BASELINE_KEY}[{index}] needs a 'policy'")
        by_policy.setdefault(policy, []).append({k: v for k, v in entry.items() if k != "policy"})
    parsed = exceptions_from_pack_config({p: {"exceptions": entries} for p, entries in by_policy.items()})
    if parsed.problems:
        raise ValueError(f"{source}: " + "; ".join(parsed.problems))
    return parsed.exceptions
