"""What a check concludes about one stack: its violations, located on a role, and the stack's verdict.

Shared by the offline check (`check`), the run through the real CLI (`live`) and the renderers
(`report`), so each of them depends on this module and none on another.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from least_privilege.findings import PREVIEW_VERIFIABLE

from pipeline.errors import PipelineError
from pipeline.recording import ProgramRun, RecordedResource
from pipeline.reviewed_exceptions import ExceptionSummary

PREVIEW_VERIFIABLE_POLICY = PREVIEW_VERIFIABLE


@dataclass(frozen=True, slots=True)
class Violation:
    """One policy diagnostic, located: which policy, which resource, which role, which phase."""

    policy: str
    enforcement_level: str
    message: str
    description: str
    urn: str | None
    resource_type: str | None
    resource_name: str | None
    role: str | None
    phase: str  # "preview" (what `pulumi preview` reports) or "update" (outputs known, as at `pulumi up`)
    severity: str = "unspecified"
    unverifiable: bool = False  # a "can't run policy ... during preview" advisory
    counts_as_failure: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "enforcementLevel": self.enforcement_level,
            "message": self.message,
            "description": self.description,
            "urn": self.urn,
            "resourceType": self.resource_type,
            "resourceName": self.resource_name,
            "role": self.role,
            "phase": self.phase,
            "severity": self.severity,
            "unverifiable": self.unverifiable,
            "failure": self.counts_as_failure,
        }


@dataclass(slots=True)
class StackReport:
    """The outcome of checking one stack."""

    stack: str
    project: str
    stack_file: Path
    pack_config_file: Path
    pack_name: str
    pack_version: str
    resources: list[dict[str, str]]
    violations: list[Violation]
    roles: dict[str, Any]
    preview_verifiable_level: str
    policy_levels: dict[str, str]
    notes: list[str] = field(default_factory=list)
    elapsed: float = 0.0
    exceptions: ExceptionSummary | None = None
    """The stack's reviewed exceptions: configured, accepted in this check, expiring soon."""

    @property
    def resource_count(self) -> int:
        """Resources the program registers (the Stack and components included, providers not)."""
        return len(self.resources)

    @property
    def mandatory_failures(self) -> list[Violation]:
        return [v for v in self.violations if v.counts_as_failure]

    @property
    def unverifiable(self) -> list[Violation]:
        return [v for v in self.violations if v.unverifiable]

    @property
    def passed(self) -> bool:
        return not self.mandatory_failures

    @property
    def exit_code(self) -> int:
        return 0 if self.passed else 1

    def verdict(self) -> dict[str, Any]:
        """The comparable core: pass/fail and the set of (policy, resource, level) findings of the preview."""
        return {
            "passed": self.passed,
            "findings": sorted(
                {
                    (v.policy, v.urn or "", v.enforcement_level)
                    for v in self.violations
                    if v.phase == "preview"
                }
            ),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "project": self.project,
            "stackFile": str(self.stack_file),
            "packConfigFile": str(self.pack_config_file),
            "pack": {"name": self.pack_name, "version": self.pack_version},
            "passed": self.passed,
            "resourceCount": self.resource_count,
            "resources": self.resources,
            "violations": [v.to_dict() for v in self.violations],
            "mandatoryFailures": len(self.mandatory_failures),
            "unverifiable": len(self.unverifiable),
            "previewVerifiableLevel": self.preview_verifiable_level,
            "policyLevels": self.policy_levels,
            "roles": self.roles,
            "notes": self.notes,
            "exceptions": self.exceptions.to_dict() if self.exceptions else None,
            "elapsedSeconds": round(self.elapsed, 3),
        }


@dataclass(frozen=True, slots=True)
class StackFailure:
    """A stack that could not be checked (no verdict): which stack, and the error that stopped it."""

    stack: str
    error: PipelineError

    @property
    def exit_code(self) -> int:
        return self.error.exit_code

    def to_dict(self) -> dict[str, Any]:
        return {"stack": self.stack, "passed": None, "error": str(self.error)}


# --------------------------------------------------------------------------------------------------
# Locating diagnostics


def role_names(run: ProgramRun) -> set[str]:
    """Role names from the `roles` stack output, or from the `roles` config when outputs are unknown."""
    names: set[str] = set()
    roles = run.outputs.get("roles")
    if isinstance(roles, dict):
        names.update(roles)
    raw = run.config.get(f"{run.project}:roles")
    if raw:
        with contextlib.suppress(ValueError, TypeError):
            names.update(r["name"] for r in json.loads(raw) if isinstance(r, dict) and "name" in r)
    return names


def role_of(urn: str | None, by_urn: Mapping[str, RecordedResource], roles: set[str]) -> str | None:
    """The role a resource belongs to: the nearest ancestor (or itself) named after a role, else the
    longest role name its logical name starts with."""
    if not urn:
        return None
    current = by_urn.get(urn)
    seen: set[str] = set()
    while current is not None and current.urn not in seen:
        seen.add(current.urn)
        if current.name in roles:
            return current.name
        current = by_urn.get(current.parent or "")
    resource = by_urn.get(urn)
    if resource is None:
        return None
    matches = [r for r in roles if resource.name.startswith(f"{r}-") or resource.name == r]
    return max(matches, key=len) if matches else None
