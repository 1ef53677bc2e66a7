"""What the promotion commands share: where the project's files are, the exit codes, the effective roles.

`promote` and `baseline` both read from here (and neither from the other).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline import ROOT
from pipeline.errors import PipelineError

EXIT_OK, EXIT_REFUSED, EXIT_ERROR = 0, 1, 2
"""Promoted (or would be), refused, could not run."""


@dataclass(frozen=True)
class ProjectPaths:
    """Where the project, pack, pack configs and baselines are; tests point these at a tmp copy."""

    project_dir: Path = ROOT
    stack_files: Mapping[str, Path] = field(default_factory=dict)
    pack_dir: Path | None = None
    baseline_dir: Path | None = None

    @property
    def pack(self) -> Path:
        return (self.pack_dir or self.project_dir / "policy-pack").resolve()

    def pack_config(self, stack: str) -> Path:
        return self.pack / "config" / f"{stack}.json"

    @property
    def baselines(self) -> Path:
        return (self.baseline_dir or self.pack / "baselines").resolve()

    def baseline(self, stack: str) -> Path:
        return self.baselines / f"{stack}.json"

    def stack_file(self, stack: str) -> Path | None:
        return self.stack_files.get(stack)


def effective_roles(stack: str, paths: ProjectPaths) -> dict[str, Any]:
    """The stack's ``roles`` output, from the program run under mocks in update mode (all values known)."""
    from pipeline.program import run_program

    run = run_program(stack, preview=False, project_dir=paths.project_dir, stack_file=paths.stack_file(stack))
    roles = run.outputs.get("roles")
    if not isinstance(roles, dict):
        raise PipelineError(f"stack {stack}: the program exported no 'roles' output")
    return roles
