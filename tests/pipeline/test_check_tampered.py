"""Tampered stacks fail offline, with the right policy named on the right role and stack-file line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pipeline import ROOT
from pipeline.preview.check import StackReport, check_stack
from pipeline.preview.report import to_sarif
from pipeline.stackconfig import role_line

HERE = Path(__file__).parent
PROGRAMS = HERE / "fixtures" / "programs"
MINI = HERE / "fixtures" / "mini"


def _tamper(tmp_path: Path, stack: str, old: str, new: str) -> Path:
    """A copy of the stock stack file with the first `old` replaced (the file keeps its name and lines)."""
    text = (ROOT / f"Pulumi.{stack}.yaml").read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / f"Pulumi.{stack}.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def _first_role(stack: str) -> str:
    from pipeline.stackconfig import load_stack_config

    return json.loads(load_stack_config(ROOT, stack)["ai-data-processing:roles"])[0]["name"]


def _failing(report: StackReport) -> set[tuple[str, str | None]]:
    return {(v.policy, v.role) for v in report.mandatory_failures}


@pytest.mark.parametrize("managed", ["AdministratorAccess", "ReadOnlyAccess"])
def test_broad_aws_managed_attachment_fails_prod(tmp_path: Path, managed: str) -> None:
    arn = f"arn:aws:iam::aws:policy/{managed}"
    stack_file = _tamper(tmp_path, "prod", "managedPolicyArns: []", f"managedPolicyArns: [{arn}]")
    report = check_stack("prod", stack_file=stack_file)
    role = _first_role("prod")
    assert not report.passed and report.exit_code == 1
    assert ("iam-managed-policy-attachments", role) in _failing(report)
    flagged = [v for v in report.mandatory_failures if v.policy == "iam-managed-policy-attachments"]
    assert any(managed in v.message for v in flagged)
    assert all(v.resource_type == "aws:iam/rolePolicyAttachment:RolePolicyAttachment" for v in flagged)

    sarif = to_sarif([report])
    errors = [r for r in sarif["runs"][0]["results"] if r["level"] == "error"]
    assert errors
    located = [r for r in errors if r["ruleId"] == "iam-managed-policy-attachments"]
    region = located[0]["locations"][0]["physicalLocation"]["region"]
    assert region["startLine"] == role_line(stack_file, role)
    uri = located[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri.endswith("Pulumi.prod.yaml")


def test_wildcard_smuggled_through_a_managed_policy_fails(tmp_path: Path) -> None:
    """Config validation refuses wildcards in `access`/`aiActions`, but an AWS managed policy brings
    `s3:*` on `*` along; the pack judges the attached policy's bundled document."""
    arn = "arn:aws:iam::aws:policy/AmazonS3FullAccess"
    stack_file = _tamper(tmp_path, "staging", "managedPolicyArns: []", f"managedPolicyArns: [{arn}]")
    report = check_stack("staging", stack_file=stack_file)
    role = _first_role("staging")
    assert not report.passed
    failing = _failing(report)
    assert {p for p, r in failing if r == role} & {
        "iam-managed-policy-attachments",
        "iam-effective-permissions-budget",
    }
    assert all(r == role for _, r in failing)  # only the tampered role is blamed


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_a_broad_managed_policy_blocks_in_every_environment(tmp_path: Path, stack: str) -> None:
    """Wildcard resources are mandatory everywhere, and ReadOnlyAccess is `s3:Get*` on `*`: even dev,
    which keeps some rules advisory, must not let it through."""
    arn = "arn:aws:iam::aws:policy/ReadOnlyAccess"
    stack_file = _tamper(tmp_path, stack, "managedPolicyArns: []", f"managedPolicyArns: [{arn}]")
    report = check_stack(stack, stack_file=stack_file)
    managed = [v for v in report.mandatory_failures if v.policy == "iam-managed-policy-attachments"]
    assert not report.passed and managed
    assert any("every S3 bucket" in v.message for v in managed)


def test_trust_to_anyone_fails(tmp_path: Path) -> None:
    report = check_stack("dev", program_dir=PROGRAMS / "trust_anyone")
    assert not report.passed
    trust = [v for v in report.mandatory_failures if v.policy == "iam-trust-policy"]
    assert {v.role for v in trust} == set(report.roles)  # every role's trust was widened
    assert all(v.resource_type == "aws:iam/role:Role" for v in trust)
    # the patch did not leak: the stock program passes again in the same process
    assert check_stack("dev").passed


def test_document_unknown_at_preview_fails_prod_only(tmp_path: Path) -> None:
    prod = check_stack("prod", program_dir=PROGRAMS / "unknown_document")
    assert not prod.passed
    blocking = [v for v in prod.mandatory_failures if v.policy == "iam-preview-verifiable"]
    assert blocking and blocking[0].resource_type == "aws:iam/rolePolicy:RolePolicy"
    assert blocking[0].role == _first_role("prod")
    dev = check_stack("dev", program_dir=PROGRAMS / "unknown_document")
    advisory = [v for v in dev.violations if v.policy == "iam-preview-verifiable"]
    assert dev.passed and advisory and not advisory[0].counts_as_failure


def test_program_config_error_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from pipeline.__main__ import main
    from pipeline.errors import ConfigurationError

    stack_file = _tamper(tmp_path, "dev", "managedPolicyArns: []", "managedPolicyArns: [not-an-arn]")
    with pytest.raises(ConfigurationError):
        check_stack("dev", stack_file=stack_file)
    project = tmp_path / "project"
    shutil.copytree(
        ROOT, project, ignore=shutil.ignore_patterns(".venv", "venv", ".git", "tests", "bench", ".state")
    )
    (project / "Pulumi.dev.yaml").write_text(stack_file.read_text(), encoding="utf-8")
    assert main(["check", "--stack", "dev", "--project-dir", str(project)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err


# -- generic behaviour on the fixture pack (runs even before the stock pieces exist) ---------------


def _mini(tmp_path: Path, stack_yaml: str, pack_config: dict) -> Path:
    project = tmp_path / "mini"
    shutil.copytree(MINI, project)
    (project / "Pulumi.dev.yaml").write_text(stack_yaml, encoding="utf-8")
    (project / "policy-pack" / "config" / "dev.json").write_text(json.dumps(pack_config), encoding="utf-8")
    return project


BASE = "config:\n  mini:accountId: '111111111111'\n  mini:actions: [s3:GetObject]\n"


def test_cant_run_advisories_count_only_where_preview_verifiability_is_mandatory(tmp_path: Path) -> None:
    lenient = check_stack(
        "dev",
        project_dir=_mini(tmp_path / "a", BASE, {"all": "mandatory", "iam-preview-verifiable": "advisory"}),
    )
    strict = check_stack("dev", project_dir=_mini(tmp_path / "b", BASE, {"all": "mandatory"}))
    assert lenient.passed and lenient.unverifiable and not lenient.unverifiable[0].counts_as_failure
    assert not strict.passed
    (failure,) = strict.mandatory_failures
    assert failure.unverifiable and failure.policy == "iam-preview-verifiable"
    assert "can't run policy" in failure.message


def test_update_phase_shows_what_up_would_block(tmp_path: Path) -> None:
    """A wildcard in a document unknown at preview: preview can't judge it, the update-mode run can."""
    stack = BASE.replace("[s3:GetObject]", "['s3:*']") + "  mini:unknownPolicy: true\n"
    report = check_stack("dev", project_dir=_mini(tmp_path, stack, {"iam-preview-verifiable": "advisory"}))
    preview = [v for v in report.violations if v.phase == "preview" and v.policy == "fx-no-wildcard-actions"]
    update = [v for v in report.violations if v.phase == "update" and v.policy == "fx-no-wildcard-actions"]
    assert preview and preview[0].unverifiable
    assert update and update[0].enforcement_level == "mandatory" and update[0].counts_as_failure
    assert update[0].role == "worker"
    assert not report.passed


def test_invalid_pack_config_is_a_configuration_error(tmp_path: Path) -> None:
    from pipeline.errors import ConfigurationError

    project = _mini(tmp_path, BASE, {"fx-max-roles": {"maxRoles": "three"}})
    with pytest.raises(ConfigurationError, match="fx-max-roles: maxRoles: Invalid type"):
        check_stack("dev", project_dir=project)


def test_stack_policy_config_reaches_the_pack(tmp_path: Path) -> None:
    project = _mini(tmp_path, BASE, {"fx-max-roles": {"enforcementLevel": "mandatory", "maxRoles": 0}})
    report = check_stack("dev", project_dir=project)
    (failure,) = [v for v in report.mandatory_failures if v.policy == "fx-max-roles"]
    assert failure.message == "1 roles > 0.0"  # the engine sends config numbers as floats (Struct)


def test_document_unknown_at_preview_is_judged_as_up_would_judge_it(tmp_path: Path) -> None:
    """The real pack never yields "can't run" (it judges the known parts), so an over-broad document
    built from an output must still be judged with its update-mode value, as `pulumi up` would."""
    project = tmp_path / "mini"
    shutil.copytree(MINI, project, ignore=shutil.ignore_patterns("policy-pack"))
    shutil.copytree(
        ROOT / "policy-pack", project / "policy-pack", ignore=shutil.ignore_patterns("venv", "__pycache__")
    )
    (project / "policy-pack" / "venv").symlink_to(ROOT / "policy-pack" / "venv")
    dev = json.loads((ROOT / "policy-pack" / "config" / "dev.json").read_text(encoding="utf-8"))
    (project / "policy-pack" / "config" / "dev.json").write_text(json.dumps(dev), encoding="utf-8")
    stack = BASE.replace("[s3:GetObject]", "['s3:*']") + "  mini:unknownPolicy: true\n"
    (project / "Pulumi.dev.yaml").write_text(stack, encoding="utf-8")

    report = check_stack("dev", project_dir=project)

    wildcard = [v for v in report.mandatory_failures if v.policy == "iam-no-wildcard-actions"]
    assert wildcard and all(v.phase == "update" for v in wildcard)
    assert "s3:*" in wildcard[0].message
    assert not report.passed and report.exit_code == 1
