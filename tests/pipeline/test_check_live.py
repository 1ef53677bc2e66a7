"""Offline and live verdicts agree on dev (needs the Pulumi CLI; skipped with the reason otherwise)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from pipeline import ROOT
from pipeline.errors import LiveError
from pipeline.preview.check import check_stack
from pipeline.preview.live import live_check_stack, policy_events, violations_from_events


@pytest.mark.cli
def test_offline_and_live_verdicts_agree_on_dev() -> None:
    if shutil.which("pulumi") is None:
        pytest.skip("the Pulumi CLI is not on PATH: the live comparison needs `pulumi preview --policy-pack`")
    offline = check_stack("dev")
    try:
        live = live_check_stack("dev", project_dir=ROOT)
    except LiveError as exc:  # e.g. no AWS credentials and no emulator for the provider
        pytest.skip(f"pulumi preview could not run here: {exc}")
    assert live.passed == offline.passed
    assert {(v.policy, v.enforcement_level) for v in live.violations} == {
        (v.policy, v.enforcement_level) for v in offline.violations if v.phase == "preview"
    }


def test_live_without_cli_is_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from pipeline.__main__ import main

    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None)
    assert main(["check", "--stack", "dev", "--live"]) == 2
    err = capsys.readouterr().err
    assert "Pulumi CLI" in err and "Traceback" not in err


def test_event_log_parsing() -> None:
    urn = "urn:pulumi:dev::proj::proj:iam:DataProcessingRole$aws:iam/role:Role::etl-role"
    lines = [
        json.dumps({"sequence": 1, "resourcePreEvent": {"metadata": {"urn": urn}}}),
        "not json",
        json.dumps(
            {
                "sequence": 2,
                "policyEvent": {
                    "resourceUrn": urn,
                    "message": "Principal * ...",
                    "policyName": "iam-trust-policy",
                    "policyPackName": "iam-least-privilege",
                    "policyPackVersion": "0.1.0",
                    "enforcementLevel": "mandatory",
                },
            }
        ),
        json.dumps(
            {
                "sequence": 3,
                "policyEvent": {
                    "message": "can't run policy 'x' during preview",
                    "policyName": "x",
                    "enforcementLevel": "advisory",
                },
            }
        ),
    ]
    events = policy_events(lines)
    assert [e["policyName"] for e in events] == ["iam-trust-policy", "x"]
    strict = violations_from_events(events, [urn], {"etl"}, "mandatory")
    assert strict[0].resource_type == "aws:iam/role:Role" and strict[0].counts_as_failure
    assert strict[1].unverifiable and strict[1].counts_as_failure
    lenient = violations_from_events(events, [urn], set(), "advisory")
    assert not lenient[1].counts_as_failure


def test_live_never_dirties_the_tracked_stack_file(tmp_path: Path) -> None:
    """`stack select --create` writes a salt into the stack file; it moves to .state, the file is restored."""
    from pipeline.preview.live import select_stack

    fake = tmp_path / "pulumi"
    fake.write_text('#!/bin/sh\necho "encryptionsalt: v1:SALT" >> Pulumi.dev.yaml\n', encoding="utf-8")
    fake.chmod(0o755)
    (tmp_path / ".state").mkdir()
    stack_file = tmp_path / "Pulumi.dev.yaml"
    stack_file.write_text("config:\n  p:x: 1\n", encoding="utf-8")
    salt = select_stack(str(fake), "dev", stack_file, tmp_path, {"PATH": "/usr/bin:/bin"})
    assert salt == "encryptionsalt: v1:SALT"
    assert stack_file.read_text(encoding="utf-8") == "config:\n  p:x: 1\n"


def test_live_stack_file_adds_salt_and_offline_provider_settings() -> None:
    from pipeline.preview.live import live_stack_file

    text = live_stack_file(
        "config:\n  aws:region: eu-west-1\n", "encryptionsalt: v1:S", {"HOME": "/nonexistent"}
    )
    data = yaml.safe_load(text)
    assert data["encryptionsalt"] == "v1:S"
    assert data["config"]["aws:skipCredentialsValidation"] is True
    assert data["config"]["aws:region"] == "eu-west-1"
    with_creds = yaml.safe_load(
        live_stack_file("config: {}\n", None, {"AWS_ACCESS_KEY_ID": "x", "HOME": "/none"})
    )
    assert "aws:accessKey" not in with_creds["config"]


def test_live_all_reports_every_stack_when_one_cannot_be_previewed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`check --live --stack all` keeps going past a stack the CLI cannot preview. Only the loop over the
    stacks is under test here (the preview itself is stood in for); the real one is compared above."""
    from pipeline.__main__ import main
    from pipeline.preview import live
    from pipeline.preview.verdict import StackReport

    def preview(stack: str, *, project_dir: Path = ROOT) -> StackReport:
        if stack == "staging":
            raise LiveError("pulumi preview --stack staging failed (exit 255): no credentials")
        return StackReport(
            stack=stack,
            project="ai-data-processing",
            stack_file=ROOT / f"Pulumi.{stack}.yaml",
            pack_config_file=ROOT / "policy-pack" / "config" / f"{stack}.json",
            pack_name="iam-least-privilege",
            pack_version="0.1.0",
            resources=[],
            violations=[],
            roles={},
            preview_verifiable_level="advisory",
            policy_levels={},
        )

    monkeypatch.setattr(live, "pulumi_cli", lambda: "/usr/bin/pulumi")
    monkeypatch.setattr(live, "live_check_stack", preview)
    assert main(["check", "--stack", "all", "--live"]) == 2
    captured = capsys.readouterr()
    assert "== dev: PASS" in captured.out and "== prod: PASS" in captured.out
    assert captured.err.strip().splitlines()[-1] == (
        "error: stack staging could not be checked: "
        "pulumi preview --stack staging failed (exit 255): no credentials"
    )
