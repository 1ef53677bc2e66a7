"""The mock-runtime run records what the engine would send the pack, in its wire form."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pipeline.errors import ConfigurationError, ProgramError
from pipeline.program import engine_urn, run_program
from pipeline.recording import UNKNOWN, ProgramRun, RecordedResource

FIXTURE = Path(__file__).parent / "fixtures" / "mini"


def _by_type(run: ProgramRun, type_: str) -> list[RecordedResource]:
    return [r for r in run.resources if r.type == type_]


def test_preview_leaves_computed_outputs_unknown() -> None:
    run = run_program("dev", preview=True, project_dir=FIXTURE)
    (policy,) = _by_type(run, "aws:iam/policy:Policy")
    (attachment,) = _by_type(run, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    assert policy.outputs["arn"] == UNKNOWN
    assert policy.id == ""
    assert attachment.inputs["policyArn"] == UNKNOWN  # flowed from an unknown output, as in the engine
    assert run.outputs["roles"]["worker"]["arn"] == UNKNOWN
    doc = json.loads(policy.inputs["policy"])  # known: built from config only
    assert doc["Statement"][0]["Action"] == ["s3:GetObject"]


def test_update_synthesises_aws_like_outputs() -> None:
    run = run_program("dev", preview=False, project_dir=FIXTURE)
    (role,) = _by_type(run, "aws:iam/role:Role")
    (policy,) = _by_type(run, "aws:iam/policy:Policy")
    (attachment,) = _by_type(run, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    assert role.outputs["arn"] == "arn:aws:iam::111111111111:role/worker"
    assert policy.outputs["arn"] == "arn:aws:iam::111111111111:policy/worker-policy"
    assert attachment.inputs["policyArn"] == policy.outputs["arn"]
    assert run.outputs["accountId"] == "111111111111"  # getCallerIdentity answered from config
    assert run.outputs["roles"]["worker"]["arn"] == role.outputs["arn"]


def test_wire_form_names_defaults_and_links() -> None:
    run = run_program("dev", preview=True, project_dir=FIXTURE)
    (component,) = _by_type(run, "mini:iam:Worker")
    (role,) = _by_type(run, "aws:iam/role:Role")
    (policy,) = _by_type(run, "aws:iam/policy:Policy")
    (attachment,) = _by_type(run, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    assert "assumeRolePolicy" in role.inputs  # camelCase, as the engine sends
    assert role.inputs["maxSessionDuration"] == 3600.0  # provider Check default, integers as floats
    assert role.urn == "urn:pulumi:dev::mini::mini:iam:Worker$aws:iam/role:Role::worker"
    assert component.urn == "urn:pulumi:dev::mini::mini:iam:Worker::worker"  # no Stack type prefix
    assert role.parent == component.urn
    assert set(attachment.dependencies) == {role.urn, policy.urn}
    assert attachment.property_dependencies["policyArn"] == [policy.urn]
    assert run.resources[0].type == "pulumi:pulumi:Stack"
    assert any(r.type == "pulumi:providers:aws" for r in run.resources)


def test_engine_urn_keeps_the_whole_parent_chain() -> None:
    parent = "urn:pulumi:s::p::a:b:C$a:b:D::x"
    assert (
        engine_urn("s", "p", parent, "aws:iam/role:Role", "r")
        == "urn:pulumi:s::p::a:b:C$a:b:D$aws:iam/role:Role::r"
    )


def test_runs_are_isolated(tmp_path: Path) -> None:
    """Two stacks with different config in one process: nothing leaks from the first run."""
    for name in ("Pulumi.yaml", "Pulumi.dev.yaml"):
        shutil.copy(FIXTURE / name, tmp_path / name)
    shutil.copytree(FIXTURE / "prog", tmp_path / "prog")
    (tmp_path / "Pulumi.qa.yaml").write_text(
        "config:\n  mini:accountId: '999999999999'\n  mini:roleName: other\n  mini:actions: [s3:PutObject]\n",
        encoding="utf-8",
    )
    first = run_program("dev", preview=False, project_dir=tmp_path)
    second = run_program("qa", preview=False, project_dir=tmp_path)
    again = run_program("dev", preview=False, project_dir=tmp_path)
    assert [r.urn for r in second.resources if r.type == "aws:iam/role:Role"] == [
        "urn:pulumi:qa::mini::mini:iam:Worker$aws:iam/role:Role::other"
    ]
    assert second.outputs["accountId"] == "999999999999"
    assert [r.urn for r in first.resources] == [r.urn for r in again.resources]
    assert [r.inputs for r in first.resources] == [r.inputs for r in again.resources]


def test_unknown_document_is_sent_as_the_sentinel(tmp_path: Path) -> None:
    for name in ("Pulumi.yaml",):
        shutil.copy(FIXTURE / name, tmp_path / name)
    shutil.copytree(FIXTURE / "prog", tmp_path / "prog")
    (tmp_path / "Pulumi.dev.yaml").write_text(
        "config:\n  mini:accountId: '1'\n  mini:actions: [a]\n  mini:unknownPolicy: true\n", encoding="utf-8"
    )
    preview = run_program("dev", preview=True, project_dir=tmp_path)
    update = run_program("dev", preview=False, project_dir=tmp_path)
    assert _by_type(preview, "aws:iam/policy:Policy")[0].inputs["policy"] == UNKNOWN
    assert json.loads(_by_type(update, "aws:iam/policy:Policy")[0].inputs["policy"])["Statement"]


def test_program_config_error_becomes_configuration_error(tmp_path: Path) -> None:
    shutil.copy(FIXTURE / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    shutil.copytree(FIXTURE / "prog", tmp_path / "prog")
    (tmp_path / "Pulumi.dev.yaml").write_text(
        "config:\n  mini:accountId: '1'\n  mini:actions: [a]\n  mini:unknownPolicy: maybe\n", encoding="utf-8"
    )
    with pytest.raises(ConfigurationError, match="unknownPolicy"):
        run_program("dev", preview=True, project_dir=tmp_path)


def test_program_crash_is_a_program_error_without_traceback(tmp_path: Path) -> None:
    shutil.copy(FIXTURE / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    shutil.copy(FIXTURE / "Pulumi.dev.yaml", tmp_path / "Pulumi.dev.yaml")
    (tmp_path / "prog").mkdir()
    (tmp_path / "prog" / "__main__.py").write_text("raise RuntimeError('boom')\n", encoding="utf-8")
    with pytest.raises(ProgramError, match=r"RuntimeError: boom \(.*__main__.py:1\)"):
        run_program("dev", preview=True, project_dir=tmp_path)


@pytest.mark.parametrize("raised", ["KeyboardInterrupt()", "pipeline.console.Interrupted(15)"])
def test_an_interrupt_during_the_program_is_not_a_program_error(tmp_path: Path, raised: str) -> None:
    """Ctrl-C or SIGTERM while the program runs stops the command; it is not reported as the program's fault
    (which `check --stack all` would note and then go on with the next stack)."""
    import pipeline.console

    shutil.copy(FIXTURE / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    shutil.copy(FIXTURE / "Pulumi.dev.yaml", tmp_path / "Pulumi.dev.yaml")
    (tmp_path / "prog").mkdir()
    program = f"import pipeline.console\nraise {raised}\n"
    (tmp_path / "prog" / "__main__.py").write_text(program, encoding="utf-8")
    expected = KeyboardInterrupt if raised.startswith("Keyboard") else pipeline.console.Interrupted
    with pytest.raises(expected):
        run_program("dev", preview=True, project_dir=tmp_path)


def test_program_error_carries_the_partial_run_and_the_cause(tmp_path: Path) -> None:
    """What was recorded before the failure (resources, invokes) and the program's own exception."""
    shutil.copy(FIXTURE / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    shutil.copy(FIXTURE / "Pulumi.dev.yaml", tmp_path / "Pulumi.dev.yaml")
    (tmp_path / "prog").mkdir()
    (tmp_path / "prog" / "__main__.py").write_text(
        "import pulumi_aws as aws\n"
        "account = aws.get_caller_identity().account_id\n"
        "raise RuntimeError(f'boom {account}')\n",
        encoding="utf-8",
    )
    with pytest.raises(ProgramError, match="boom 210987654321") as raised:
        run_program("dev", preview=True, project_dir=tmp_path, caller_account="210987654321")
    assert isinstance(raised.value.__cause__, RuntimeError)
    run = raised.value.run
    assert run is not None
    assert [r.type for r in run.resources] == ["pulumi:pulumi:Stack"]
    assert [token for token, _ in run.invokes] == ["aws:index/getCallerIdentity:getCallerIdentity"]


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_stock_program_documents_are_known_at_preview(stack: str) -> None:
    run = run_program(stack, preview=True)
    iam = [r for r in run.resources if r.type.startswith("aws:iam/")]
    assert iam, "the program registers IAM resources"
    for resource in iam:
        for key in ("policy", "assumeRolePolicy", "policyArn"):
            if key in resource.inputs:
                assert resource.inputs[key] != UNKNOWN, f"{resource.urn}.{key} unknown at preview"
    assert isinstance(run.outputs["roles"], dict) and run.outputs["roles"]


def test_program_helper_modules_run_again_for_every_stack(tmp_path: Path) -> None:
    """Resources registered by a helper module's top-level code appear in every run, not just the first."""
    shutil.copy(FIXTURE / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    shutil.copy(FIXTURE / "Pulumi.dev.yaml", tmp_path / "Pulumi.dev.yaml")
    (tmp_path / "prog").mkdir()
    main = tmp_path / "prog" / "__main__.py"
    main.write_text("import pipeline_fixture_infra  # noqa: F401\n", encoding="utf-8")
    (tmp_path / "prog" / "pipeline_fixture_infra.py").write_text(
        "import pulumi_aws as aws\naws.iam.Role('r', assume_role_policy='{}')\n", encoding="utf-8"
    )
    for _ in range(2):
        run = run_program("dev", preview=True, project_dir=tmp_path)
        assert [r.name for r in run.resources if r.type == "aws:iam/role:Role"] == ["r"]
