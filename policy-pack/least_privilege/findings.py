"""Findings, severities and the shape of rule metadata.

Rule metadata is plain data (Parliament style) so that the CrossGuard wrapper, the lint CLI and the
README can all render the same id, title, description, default severity and remediation text. Each
rule's ``RuleInfo`` lives beside its checks in ``least_privilege.rules``; ``RULES`` and the id
constants are re-exported here.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any


class Severity(enum.IntEnum):
    """Ordered severities: comparisons (``>=``) implement ``--fail-on`` thresholds."""

    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @property
    def label(self) -> str:
        """Lower-case name, the form used in JSON output and pack config."""
        return self.name.lower()

    def __str__(self) -> str:
        return self.label

    @classmethod
    def parse(cls, value: str | int | Severity) -> Severity:
        """Accept "high", "HIGH", 3 or Severity.HIGH; raise ValueError otherwise (config errors are loud)."""
        if isinstance(value, Severity):
            return value
        if isinstance(value, bool):
            raise ValueError(f"not a severity: {value!r}")
        if isinstance(value, int):
            return cls(value)
        if isinstance(value, str) and value.strip().upper() in cls.__members__:
            return cls[value.strip().upper()]
        raise ValueError(f"not a severity: {value!r} (use low, medium, high or critical)")


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem in one document; ``rule`` is a rule id (== the CrossGuard policy name)."""

    rule: str
    severity: Severity
    message: str
    statement: str | None = None
    action: str | None = None
    resource: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form used by the lint CLI and the pipeline reports."""
        return {
            "rule": self.rule,
            "severity": self.severity.label,
            "message": self.message,
            "statement": self.statement,
            "action": self.action,
            "resource": self.resource,
        }


@dataclass(frozen=True, slots=True)
class RuleInfo:
    """Static description of a rule; the pack turns each into a named policy."""

    id: str
    title: str
    description: str
    default_severity: Severity
    remediation: str


def __getattr__(name: str) -> Any:
    """``RULES`` and the rule-id constants (``WILDCARD_RESOURCES``, ...), assembled by
    ``least_privilege.registry`` from the rule modules, where each id is spelled once. Resolved on
    first use, because the rule modules themselves import this module."""
    if name.startswith("_"):  # the import system probes __path__ and friends
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from . import registry

    if name == "RULES":
        return registry.RULES
    if name in registry.RULE_IDS:
        return registry.RULE_IDS[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Finding", "RuleInfo", "Severity"]  # plus RULES and the id constants, see __getattr__
