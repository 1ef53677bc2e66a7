"""Fixtures shared by the test directories."""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pipeline import ROOT


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    """A writable copy of the project's own files (Pulumi.yaml, the stack files, the pack's config and
    baselines), with the program and the rest of the pack linked in place: tests edit them without
    touching the checkout."""
    project = tmp_path / "project"
    project.mkdir()
    for path in ROOT.glob("Pulumi*.yaml"):
        shutil.copy(path, project / path.name)
    (project / "stacks").symlink_to(ROOT / "stacks", target_is_directory=True)
    pack = project / "policy-pack"
    pack.mkdir()
    for entry in (ROOT / "policy-pack").iterdir():
        if entry.name in ("config", "baselines"):
            shutil.copytree(entry, pack / entry.name)
        else:
            (pack / entry.name).symlink_to(entry, target_is_directory=entry.is_dir())
    return project


def pipeline_command(*args: str, cwd: Path = ROOT, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """`python -m pipeline <args>` in a child process, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *args], cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture
def run_cli() -> Callable[..., subprocess.CompletedProcess[str]]:
    """`run_cli("check", "--stack", "dev")`: the pipeline CLI in a child process (see `pipeline_command`)."""
    return pipeline_command


def _with_policy(run: Any, role: str, mutate: Callable[[dict[str, Any]], None]) -> Any:
    """A copy of the run whose ``role`` policy document has been changed by ``mutate(doc)``."""
    from pipeline.emulator import matrix

    policy_name = run.outputs["roles"][role]["policyArn"].rsplit("/", 1)[-1]
    resources = []
    for r in run.resources:
        if r.type == matrix.POLICY_T and matrix._res_name(r) == policy_name:
            doc = json.loads(r.inputs["policy"])
            mutate(doc)
            r = dataclasses.replace(r, inputs={**r.inputs, "policy": json.dumps(doc)})
        resources.append(r)
    return dataclasses.replace(run, resources=resources)


@pytest.fixture
def with_policy() -> Callable[[Any, str, Callable[[dict[str, Any]], None]], Any]:
    """``with_policy(run, role, mutate)``: a copy of a program run with one role's policy tampered."""
    return _with_policy
