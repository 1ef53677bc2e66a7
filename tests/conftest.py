"""Fixtures shared by the test directories."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from pipeline import ROOT


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    """A writable copy of the project's own files (Pulumi.yaml, the stack files, the pack's config files),
    with the program and the rest of the pack linked in place: tests edit them without touching the
    checkout."""
    project = tmp_path / "project"
    project.mkdir()
    for path in ROOT.glob("Pulumi*.yaml"):
        shutil.copy(path, project / path.name)
    (project / "stacks").symlink_to(ROOT / "stacks", target_is_directory=True)
    pack = project / "policy-pack"
    pack.mkdir()
    for entry in (ROOT / "policy-pack").iterdir():
        if entry.name == "config":
            shutil.copytree(entry, pack / "config")
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
