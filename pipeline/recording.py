"""The engine's wire form of a program run: recorded resources, the run itself, and the wire constants.

Kept apart from the runner (`program`) so that errors, the pack client and the reports can name these
types without importing the Pulumi SDK or the runner.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from least_privilege import UNKNOWN_STRING

UNKNOWN = UNKNOWN_STRING
"""The engine's sentinel for an unknown (computed) string value, as the pack receives it."""

SIG_KEY = "4dabf18193072939515e22adb298388d"
RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e"
STACK_TYPE = "pulumi:pulumi:Stack"


@dataclass(slots=True)
class RecordedResource:
    """One registered resource in the engine's wire form: what a policy pack receives from `Analyze`."""

    type: str
    name: str
    urn: str
    custom: bool
    parent: str | None
    inputs: dict[str, Any]
    outputs: dict[str, Any] = field(default_factory=dict)
    dependencies: list[str] = field(default_factory=list)
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    id: str = ""
    provider: str | None = None
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class ProgramRun:
    """Everything one program run registered, plus its stack outputs as plain data."""

    stack: str
    preview: bool
    project: str
    resources: list[RecordedResource]
    outputs: dict[str, Any]
    config: dict[str, str]
    logs: list[str] = field(default_factory=list)
    invokes: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    """Every invoke (data source call) the program made, in order: `(token, args)`."""

    def by_urn(self) -> dict[str, RecordedResource]:
        """Index the resources by URN (parents and dependencies refer to URNs)."""
        return {r.urn: r for r in self.resources}
