"""The Automation API path: the real `pulumi` CLI with a local file backend.

Why: the gating logic is tested against a fake backend elsewhere; here the parts that only the CLI can
show are exercised for real: the workspace and stack selection, the error lines for a missing stack or
passphrase, and (with the local emulator) a whole promotion dev -> staging -> prod. Without the CLI these
tests skip with the reason, except the missing-CLI error itself, which is checked everywhere.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from pipeline import ROOT
from pipeline.promotion.promote import (
    EXIT_ERROR,
    EXIT_OK,
    ProjectPaths,
    PromoteRequest,
    pack_virtualenv_problem,
    promote,
)

PULUMI = shutil.which("pulumi")
NEEDS_CLI = pytest.mark.skipif(PULUMI is None, reason="the Pulumi CLI is not installed (pulumi not on PATH)")


def _require_cli() -> None:
    if PULUMI is None:
        pytest.skip("the Pulumi CLI is not installed (pulumi not on PATH)")


def _git(cwd: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
    }
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


def copy_project(dest: Path) -> Path:
    """A committed copy of the project (program, stack files, pack configs, baselines) in its own repo."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in ["Pulumi.yaml", *(p.name for p in ROOT.glob("Pulumi.*.yaml"))]:
        shutil.copy2(ROOT / name, dest / name)
    for sub in ("stacks", "shared"):
        shutil.copytree(ROOT / sub, dest / sub, ignore=shutil.ignore_patterns("__pycache__"))
    (dest / ".venv").symlink_to(ROOT / ".venv")  # Pulumi.yaml: runtime virtualenv .venv
    _git(dest, "init", "-q")
    _git(dest, "add", "-A")
    _git(dest, "commit", "-q", "-m", "copy")
    return dest


def _paths(project: Path) -> ProjectPaths:
    # The pack itself (and its venv) stays in the repository; configs and baselines are read from it too.
    return ProjectPaths(project_dir=project, pack_dir=ROOT / "policy-pack")


def _run(req: PromoteRequest) -> tuple[Any, list[str]]:
    lines: list[str] = []
    report = promote(req, emit=lines.append)
    return report, lines


def test_missing_cli_is_one_line_and_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    report, lines = _run(PromoteRequest(target="dev", yes=True, commit="abc1234"))
    assert report.exit_code == EXIT_ERROR
    errors = [ln for ln in lines if ln.startswith("promote: error:")]
    assert len(errors) == 1 and "Pulumi CLI was not found" in errors[0]
    assert "\n" not in errors[0]


@NEEDS_CLI
def test_stack_not_found_against_a_file_backend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _require_cli()
    project = copy_project(tmp_path / "project")
    state = tmp_path / "state"
    state.mkdir()
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "test-only")
    monkeypatch.setenv("PULUMI_HOME", str(tmp_path / "pulumi-home"))
    report, lines = _run(
        PromoteRequest(target="dev", yes=True, backend_url=state.as_uri(), paths=_paths(project))
    )
    assert report.exit_code == EXIT_ERROR, lines
    assert "stack 'dev' does not exist" in report.error
    assert [ln for ln in lines if ln.startswith("promote: error:")] == [f"promote: error: {report.error}"]


@NEEDS_CLI
def test_missing_passphrase_against_a_file_backend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _require_cli()
    project = copy_project(tmp_path / "project")
    state = tmp_path / "state"
    state.mkdir()
    env = {
        **os.environ,
        "PULUMI_BACKEND_URL": state.as_uri(),
        "PULUMI_CONFIG_PASSPHRASE": "test-only",
        "PULUMI_HOME": str(tmp_path / "pulumi-home"),
    }
    subprocess.run(
        [PULUMI or "pulumi", "stack", "init", "dev", "--non-interactive"],
        cwd=project,
        env=env,
        check=True,
        capture_output=True,
    )
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE", raising=False)
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE_FILE", raising=False)
    monkeypatch.setenv("PULUMI_HOME", env["PULUMI_HOME"])
    report, _lines = _run(
        PromoteRequest(target="dev", yes=True, backend_url=state.as_uri(), paths=_paths(project))
    )
    assert report.exit_code == EXIT_ERROR
    assert "PULUMI_CONFIG_PASSPHRASE" in report.error


def _aws_plugin_installed() -> bool:
    done = subprocess.run([PULUMI or "pulumi", "plugin", "ls", "--json"], capture_output=True, text=True)
    if done.returncode != 0:
        return False
    try:
        plugins = json.loads(done.stdout or "[]")
    except ValueError:
        return False
    return any(p.get("name") == "aws" and p.get("kind") == "resource" for p in plugins)


def emulator_stack_files(project: Path, endpoint: str) -> None:
    """Point the copy's dev/staging/prod stack files at the emulator (same roles, buckets and grants).

    The provider settings come from Pulumi.local.yaml (dummy keys, path-style S3, loopback endpoints);
    each environment keeps its region (moto serves any) and its account id becomes moto's, so the
    program's account guard accepts the deploy.
    """
    yaml = pytest.importorskip("yaml", reason="PyYAML is needed to write stack files")
    local = yaml.safe_load((ROOT / "Pulumi.local.yaml").read_text(encoding="utf-8"))["config"]
    provider = {k: v for k, v in local.items() if k.startswith("aws:") and k != "aws:region"}
    provider["aws:endpoints"] = [{svc: endpoint for svc in provider["aws:endpoints"][0]}]
    moto_account = str(local["ai-data-processing:accountId"])
    for stack in ("dev", "staging", "prod"):
        path = project / f"Pulumi.{stack}.yaml"
        text = path.read_text(encoding="utf-8")
        account = str(yaml.safe_load(text)["config"]["ai-data-processing:accountId"])
        doc = yaml.safe_load(text.replace(account, moto_account))
        doc["config"].update(provider)
        doc["config"].pop("ai-data-processing:permissionsBoundaryArn", None)  # no such policy in moto
        path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")


@NEEDS_CLI
def test_whole_promotion_against_the_local_emulator(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """dev -> staging -> prod with the pack on every preview/up, into moto, through a file backend."""
    _require_cli()
    if (problem := pack_virtualenv_problem(ROOT / "policy-pack")) is not None:
        pytest.skip(problem)
    if not _aws_plugin_installed():
        pytest.skip("the Pulumi AWS resource plugin is not installed (`pulumi plugin install resource aws`)")
    from pipeline.emulator.moto_aws import EmulatorError, MotoServer

    project = copy_project(tmp_path / "project")
    state = tmp_path / "state"
    state.mkdir()
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "test-only")
    monkeypatch.setenv("PULUMI_SKIP_UPDATE_CHECK", "true")
    for var in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    try:
        server = MotoServer().start()
    except EmulatorError as exc:
        pytest.skip(f"the local emulator could not start: {exc}")
    try:
        emulator_stack_files(project, server.url)
        _git(project, "commit", "-q", "-am", "emulator endpoints")
        report, lines = _run(
            PromoteRequest(
                target="prod", yes=True, backend_url=state.as_uri(), create_stacks=True, paths=_paths(project)
            )
        )
    finally:
        server.stop()
    assert report.exit_code == EXIT_OK, "\n".join(lines)
    assert [s.status for s in report.stages] == ["deployed", "deployed", "deployed"]
    head = _git(project, "rev-parse", "HEAD").strip()
    assert report.commit.startswith(head)
