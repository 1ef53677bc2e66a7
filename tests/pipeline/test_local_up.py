"""`make local-up`: the local stack file, the CLI plumbing, and (where installed) the real CLI run."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pipeline.emulator import local
from pipeline.emulator.local import (
    create_stack,
    generated_config,
    localized_config,
    preflight,
    pulumi_env,
    up_command,
)
from pipeline.stackconfig import load_stack_config

ROOT = Path(__file__).resolve().parents[2]
LOCAL = ROOT / "Pulumi.local.yaml"


def _fake_pulumi(bin_dir: Path, script: str = "exit 0") -> Path:
    """A stand-in `pulumi` executable (only ever run by these tests)."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    exe = bin_dir / "pulumi"
    exe.write_text(f"#!/bin/sh\n{script}\n")
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    return exe


# --------------------------------------------------------------------------- the stack file


def test_local_stack_file_points_the_provider_at_loopback_moto() -> None:
    cfg = yaml.safe_load(LOCAL.read_text())["config"]
    endpoints = cfg["aws:endpoints"]
    assert isinstance(endpoints, list) and len(endpoints) == 1, "one list item holding every endpoint key"
    assert set(endpoints[0]) == {"s3", "iam", "sts", "cloudwatchlogs"}  # logs: the worker's own group
    assert all(url.startswith("http://127.0.0.1:") for url in endpoints[0].values())
    assert cfg["aws:s3UsePathStyle"] is True
    assert cfg["aws:skipCredentialsValidation"] is True
    assert cfg["aws:skipMetadataApiCheck"] is True
    assert cfg["aws:accessKey"] and cfg["aws:secretKey"]
    assert cfg["aws:region"]
    assert cfg["ai-data-processing:accountId"] == "123456789012"  # the account moto answers with


def test_local_stack_has_the_dev_shape_and_passes_the_config_model() -> None:
    local_cfg = load_stack_config(ROOT, "local")
    dev_cfg = load_stack_config(ROOT, "dev")
    assert set(yaml.safe_load(local_cfg["ai-data-processing:buckets"])) == set(
        yaml.safe_load(dev_cfg["ai-data-processing:buckets"])
    )
    from pipeline.program import run_program

    run = run_program("local", preview=False)
    assert run.outputs["accountId"] == "123456789012"
    assert set(run.outputs["roles"]) == {
        r["name"] for r in yaml.safe_load(dev_cfg["ai-data-processing:roles"])
    }


def test_generated_config_uses_the_emulator_port_and_keeps_the_salt() -> None:
    text = LOCAL.read_text()
    out = generated_config(
        text + "encryptionsalt: v1:stale\n", "http://127.0.0.1:45678", "encryptionsalt: v1:abc"
    )
    cfg = yaml.safe_load(out)
    assert cfg["encryptionsalt"] == "v1:abc"
    assert set(cfg["config"]["aws:endpoints"][0].values()) == {"http://127.0.0.1:45678"}
    assert "v1:stale" not in out
    assert localized_config("x: http://127.0.0.1:5000/y", "http://127.0.0.1:1") == "x: http://127.0.0.1:1/y"


def test_up_command_runs_the_pack_with_dev_config() -> None:
    cmd = up_command("local", Path("/s/cfg.yaml"), Path("policy-pack/config/dev.json"))
    assert cmd[:4] == ["pulumi", "up", "--stack", "local"]
    assert cmd[cmd.index("--policy-pack") + 1] == "policy-pack"
    assert cmd[cmd.index("--policy-pack-config") + 1] == "policy-pack/config/dev.json"
    assert cmd[cmd.index("--config-file") + 1] == "/s/cfg.yaml"
    assert "--yes" in cmd and "--refresh" in cmd


def test_env_uses_a_file_backend_and_drops_real_aws_credentials(tmp_path: Path) -> None:
    env = pulumi_env(tmp_path, {"AWS_PROFILE": "prod-admin", "AWS_ACCESS_KEY_ID": "AKIA...", "PATH": "/bin"})
    assert env["PULUMI_BACKEND_URL"] == f"file://{tmp_path / '.state'}"
    assert "AWS_PROFILE" not in env and "AWS_ACCESS_KEY_ID" not in env


# --------------------------------------------------------------------------- exits without the CLI


def test_missing_cli_says_so_and_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty directory: no pulumi
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "x")
    assert local.local_up() == 2
    assert "Pulumi CLI" in capsys.readouterr().err


def test_missing_passphrase_says_so_and_exits_2(tmp_path: Path) -> None:
    _fake_pulumi(tmp_path / "bin")
    env = {"PATH": str(tmp_path / "bin")}
    why = preflight(env)
    assert why and "PULUMI_CONFIG_PASSPHRASE" in why
    assert preflight({**env, "PULUMI_CONFIG_PASSPHRASE": "local"}) is None


def test_cli_entry_point_exits_2_without_pulumi(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PULUMI_CONFIG_PASSPHRASE"}
    env["PATH"] = str(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", "local-up"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "local-up:" in done.stderr and "pulumi" in done.stderr.lower()


def test_stack_creation_leaves_the_tracked_file_untouched(tmp_path: Path) -> None:
    """`stack select --create` writes the passphrase salt into the stack file; it must move to .state."""
    project = tmp_path / "project"
    (project / ".state").mkdir(parents=True)
    stack_file = project / "Pulumi.local.yaml"
    original = LOCAL.read_bytes()
    stack_file.write_bytes(original)
    bin_dir = tmp_path / "bin"
    _fake_pulumi(bin_dir, 'echo "encryptionsalt: v1:SALT:v1:CHECK" >> Pulumi.local.yaml')
    salt_file = project / ".state" / "Pulumi.local.encryptionsalt"
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    assert create_stack("local", stack_file, salt_file, project, env) == 0
    assert stack_file.read_bytes() == original
    assert salt_file.read_text() == "encryptionsalt: v1:SALT:v1:CHECK\n"


# --------------------------------------------------------------------------- the real CLI


@pytest.mark.cli
def test_local_up_with_the_real_cli(tmp_path: Path) -> None:
    if shutil.which("pulumi") is None:
        pytest.skip("the Pulumi CLI is not installed (pulumi not on PATH); `make local-up` needs it")
    env = {**os.environ, "PULUMI_CONFIG_PASSPHRASE": os.environ.get("PULUMI_CONFIG_PASSPHRASE", "local-test")}
    before = LOCAL.read_bytes()
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", "local-up"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert "OK: 0 mismatch(es)" in done.stdout
    assert "emulator stopped" in done.stdout
    assert LOCAL.read_bytes() == before
