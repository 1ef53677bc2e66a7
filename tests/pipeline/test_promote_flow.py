"""Gating logic of `promote` against an in-memory backend (no CLI, no program run).

Why: the order of stages, the commit gate, the prod confirmation and stop-on-violation decide whether
something unreviewed reaches prod. They are tested here with a fake StageBackend that records every call,
so "never touches prod" is an assertion on the calls, and with the program/check stubbed out so each
test states exactly which stage is bad.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from pulumi.automation import errors as auto_errors
from pulumi.automation._cmd import CommandResult

import pipeline.promotion.promote as promote_mod
from pipeline.promotion.deploy import AnalyzeOutcome, OperationOutcome, PolicyViolation, classify_error
from pipeline.promotion.permissions import baseline_document, dump_baseline
from pipeline.promotion.promote import (
    EXIT_ERROR,
    EXIT_OK,
    EXIT_REFUSED,
    CheckSummary,
    ProjectPaths,
    PromoteRequest,
)

COMMIT = "0123456789abcdef0123456789abcdef01234567"
CANT_RUN = (
    "can't run policy 'iam-no-wildcard-actions' from policy pack 'least-privilege@v0.1.0' during preview: "
    "string value at .policy can't be known during preview"
)


def roles_for(env: str) -> dict[str, Any]:
    return {
        "trainer": {
            "name": f"trainer-{env}",
            "arn": f"arn:aws:iam::111111111111:role/trainer-{env}",
            "permissions": {
                "datasets": {
                    "raw": {
                        "bucket": f"acme-ml-raw-{env}",
                        "level": "read",
                        "prefixes": ["incoming/"],
                        "actions": ["s3:GetObject", "s3:ListBucket"],
                    }
                },
                "aiActions": ["bedrock:InvokeModel"],
                "managedPolicyArns": [],
                "trustedServices": ["sagemaker.amazonaws.com"],
            },
        }
    }


class FakeBackend:
    """Records calls; per-stack scripted preview/up violations; tracks deployed commits like the history."""

    def __init__(self, roles: dict[str, dict[str, Any]]) -> None:
        self.roles = roles
        self.calls: list[tuple[str, str]] = []
        self.deployed: dict[str, str] = {}
        self.preview_violations: dict[str, list[PolicyViolation]] = {}
        self.up_outputs_missing: set[str] = set()
        self.raise_on: dict[tuple[str, str], BaseException] = {}
        self.pack_args: list[tuple[str, Path, Path]] = []

    def _call(self, op: str, stack: str) -> None:
        self.calls.append((op, stack))
        exc = self.raise_on.get((op, stack))
        if exc is not None:
            raise exc

    def preview(self, stack: str, *, pack_dir: Path, pack_config: Path) -> OperationOutcome:
        self._call("preview", stack)
        self.pack_args.append((stack, pack_dir, pack_config))
        return OperationOutcome(True, list(self.preview_violations.get(stack, [])), changes={"same": 4})

    def up(self, stack: str, *, pack_dir: Path, pack_config: Path, commit: str) -> OperationOutcome:
        self._call("up", stack)
        self.pack_args.append((stack, pack_dir, pack_config))
        outputs = {"roles": self.roles[stack], "accountId": "111111111111", "stack": stack}
        if stack in self.up_outputs_missing:
            outputs = {}
        self.deployed[stack] = f"pending:{commit}"
        return OperationOutcome(True, [], changes={"create": 4}, outputs=outputs)

    def outputs(self, stack: str) -> dict[str, Any]:
        self._call("outputs", stack)
        return {}

    def policy_analyze(self, stack: str, *, pack_dir: Path, pack_config: Path) -> AnalyzeOutcome:
        self._call("analyze", stack)
        return AnalyzeOutcome(supported=False, detail="no `pulumi policy analyze` in this CLI")

    def record_commit(self, stack: str, commit: str) -> str:
        self._call("record", stack)
        self.deployed[stack] = commit
        return "update message"

    def deployed_commit(self, stack: str) -> str | None:
        self._call("deployed_commit", stack)
        value = self.deployed.get(stack)
        return None if value is None or value.startswith("pending:") else value

    def touched(self, stack: str) -> list[str]:
        return [op for op, s in self.calls if s == stack and op != "deployed_commit"]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """A pack dir with configs and baselines; program and offline check stubbed per stack."""
    pack = tmp_path / "policy-pack"
    (pack / "config").mkdir(parents=True)
    (pack / "baselines").mkdir()
    roles = {env: roles_for(env) for env in ("dev", "staging", "prod")}
    for env in roles:
        (pack / "config" / f"{env}.json").write_text('{"all": "mandatory"}\n')
        (pack / "baselines" / f"{env}.json").write_text(dump_baseline(baseline_document(env, roles[env])))
    checks: dict[str, CheckSummary] = {}
    program_runs: list[str] = []
    check_runs: list[str] = []

    def fake_roles(stack: str, paths: ProjectPaths) -> dict[str, Any]:
        program_runs.append(stack)
        return copy.deepcopy(roles[stack])

    def fake_check(stack: str, paths: ProjectPaths) -> CheckSummary:
        check_runs.append(stack)
        return checks.get(stack, CheckSummary((), (), 0))

    monkeypatch.setattr(promote_mod, "effective_roles", fake_roles)
    monkeypatch.setattr(promote_mod, "offline_check", fake_check)
    return {
        "paths": ProjectPaths(project_dir=tmp_path, pack_dir=pack),
        "roles": roles,
        "checks": checks,
        "program_runs": program_runs,
        "check_runs": check_runs,
        "pack": pack,
    }


def run(project: dict[str, Any], backend: FakeBackend | None, *, confirm: Any = None, **kw: Any) -> Any:
    lines: list[str] = []
    req = PromoteRequest(paths=project["paths"], commit=COMMIT, **kw)
    report = promote_mod.promote(req, backend=backend, confirm=confirm, emit=lines.append)
    report.lines = lines
    return report


def test_online_promotion_runs_every_stage_in_order_with_the_pack(project: dict[str, Any]) -> None:
    backend = FakeBackend(project["roles"])
    report = run(project, backend, target="prod", yes=True)
    assert report.exit_code == EXIT_OK, report.lines
    assert [s.status for s in report.stages] == ["deployed", "deployed", "deployed"]
    ops = [(op, s) for op, s in backend.calls if op in ("preview", "up", "record")]
    assert ops == [(op, s) for s in ("dev", "staging", "prod") for op in ("preview", "up", "record")]
    for stack, pack_dir, pack_config in backend.pack_args:
        assert pack_dir == project["pack"].resolve()
        assert pack_config == project["pack"].resolve() / "config" / f"{stack}.json"
    # staging and prod were each gated on the previous stage's recorded commit
    assert ("deployed_commit", "dev") in backend.calls and ("deployed_commit", "staging") in backend.calls
    assert backend.deployed == {"dev": COMMIT, "staging": COMMIT, "prod": COMMIT}


def test_mandatory_violation_in_staging_preview_never_touches_prod(project: dict[str, Any]) -> None:
    backend = FakeBackend(project["roles"])
    backend.preview_violations["staging"] = [
        PolicyViolation("iam-managed-policy-attachments", "least-privilege", "mandatory", "denied attachment")
    ]
    report = run(project, backend, target="prod", yes=True)
    assert report.exit_code == EXIT_REFUSED
    assert report.stopped_at == "staging"
    assert backend.touched("prod") == []
    assert ("up", "staging") not in backend.calls
    assert any("iam-managed-policy-attachments" in line for line in report.lines)


def test_unverifiable_policy_warns_in_dev_and_stops_staging(project: dict[str, Any]) -> None:
    backend = FakeBackend(project["roles"])
    advisory = PolicyViolation("iam-no-wildcard-actions", "least-privilege", "advisory", CANT_RUN)
    backend.preview_violations["dev"] = [advisory]
    backend.preview_violations["staging"] = [advisory]
    report = run(project, backend, target="prod", yes=True)
    assert report.exit_code == EXIT_REFUSED
    dev, staging, _prod = report.stages
    assert dev.status == "deployed" and any(s.status == "warning" for s in dev.steps)
    assert staging.status == "refused"
    assert "could not run during preview" in staging.steps[-1].detail
    assert backend.touched("prod") == []


def test_offline_check_failure_stops_before_preview(project: dict[str, Any]) -> None:
    backend = FakeBackend(project["roles"])
    project["checks"]["staging"] = CheckSummary(("iam-trust-policy: bad principal",), (), 0)
    report = run(project, backend, target="prod", yes=True)
    assert report.stopped_at == "staging"
    assert ("preview", "staging") not in backend.calls
    assert backend.touched("prod") == []


def test_prod_granting_more_than_staging_is_refused_before_any_preview(project: dict[str, Any]) -> None:
    prod = project["roles"]["prod"]["trainer"]["permissions"]
    prod["aiActions"].append("sagemaker:CreateTrainingJob")
    # Reviewed into prod's baseline, so only the prod-vs-staging invariant can catch it.
    (project["pack"] / "baselines" / "prod.json").write_text(
        dump_baseline(baseline_document("prod", project["roles"]["prod"]))
    )
    backend = FakeBackend(project["roles"])
    report = run(project, backend, target="prod", yes=True)
    assert report.exit_code == EXIT_REFUSED
    assert backend.calls == []
    assert project["check_runs"] == []
    inv = next(i for i in report.invariants if i.name.startswith("prod grants nothing"))
    assert not inv.ok and [g.access for g in inv.diff.added] == ["sagemaker:CreateTrainingJob"]
    assert any("sagemaker:CreateTrainingJob" in line for line in report.lines)  # the printed table
    assert "sagemaker:CreateTrainingJob" in report.to_dict()["markdown"]


def test_new_grant_outside_the_baseline_is_refused_with_the_grant_listed(project: dict[str, Any]) -> None:
    staging = project["roles"]["staging"]["trainer"]["permissions"]
    staging["datasets"]["models"] = {
        "bucket": "acme-ml-models-staging",
        "level": "write",
        "prefixes": [],
        "actions": ["s3:PutObject"],
    }
    backend = FakeBackend(project["roles"])
    report = run(project, backend, target="staging")
    assert report.exit_code == EXIT_REFUSED and report.stopped_at == "staging"
    assert backend.calls == []
    assert any("write models=acme-ml-models-staging (whole bucket)" in line for line in report.lines)


def test_missing_baseline_is_refused(project: dict[str, Any]) -> None:
    (project["pack"] / "baselines" / "dev.json").unlink()
    report = run(project, FakeBackend(project["roles"]), target="dev")
    assert report.exit_code == EXIT_REFUSED
    assert any("python -m pipeline baseline --stack dev" in line for line in report.lines)


def test_prod_without_yes_and_without_a_terminal_is_refused_up_front(
    project: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin.isatty", lambda: False, raising=False)
    backend = FakeBackend(project["roles"])
    report = run(project, backend, target="prod")
    assert report.exit_code == EXIT_REFUSED
    assert "--yes" in report.error
    assert backend.calls == [] and project["program_runs"] == []


def test_prod_declined_interactively_is_not_deployed(project: dict[str, Any]) -> None:
    backend = FakeBackend(project["roles"])
    prompts: list[str] = []

    def decline(prompt: str) -> bool:
        prompts.append(prompt)
        return False

    report = run(project, backend, target="prod", confirm=decline)
    assert report.exit_code == EXIT_REFUSED and report.stopped_at == "prod"
    assert len(prompts) == 1 and "prod" in prompts[0] and COMMIT in prompts[0]
    assert ("preview", "prod") in backend.calls and ("up", "prod") not in backend.calls
    assert ("up", "staging") in backend.calls  # the earlier stages were confirmed by policy alone


def test_from_prod_requires_staging_deployed_at_this_commit(project: dict[str, Any]) -> None:
    backend = FakeBackend(project["roles"])
    backend.deployed = {"dev": COMMIT, "staging": "feedface"}
    report = run(project, backend, target="prod", start="prod", yes=True)
    assert report.exit_code == EXIT_REFUSED
    assert [s.status for s in report.stages] == ["skipped", "skipped", "refused"]
    assert "staging is deployed at feedface" in report.stages[2].steps[0].detail
    assert backend.touched("prod") == []

    backend.deployed["staging"] = COMMIT
    report = run(project, backend, target="prod", start="prod", yes=True)
    assert report.exit_code == EXIT_OK
    assert backend.touched("dev") == [] and backend.touched("staging") == []


def test_missing_outputs_after_up_refuse_the_stage(project: dict[str, Any]) -> None:
    backend = FakeBackend(project["roles"])
    backend.up_outputs_missing.add("dev")
    report = run(project, backend, target="staging")
    assert report.stopped_at == "dev"
    assert "missing stack output(s): roles, accountId, stack" in report.stages[0].steps[-1].detail
    assert ("record", "dev") not in backend.calls  # an incomplete deployment is not recorded as promoted


def _cmd_error(cls: type, stderr: str) -> BaseException:
    return cls(CommandResult(stdout="", stderr=stderr, code=255))


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (FileNotFoundError(2, "No such file or directory", "pulumi"), "Pulumi CLI was not found"),
        (_cmd_error(auto_errors.StackNotFoundError, "error: no stack named 'staging' found"), "not exist"),
        (
            _cmd_error(auto_errors.ConcurrentUpdateError, "error: the stack is currently locked by 1 lock"),
            "locked by another update",
        ),
        (
            _cmd_error(
                auto_errors.CommandError,
                "error: passphrase must be set with PULUMI_CONFIG_PASSPHRASE or "
                "PULUMI_CONFIG_PASSPHRASE_FILE environment variables",
            ),
            "set PULUMI_CONFIG_PASSPHRASE",
        ),
        (_cmd_error(auto_errors.CommandError, "warning: x\nerror: something odd\nmore"), "something odd"),
    ],
    ids=["no-cli", "no-stack", "locked", "passphrase", "other"],
)
def test_automation_errors_become_one_line_and_exit_2(
    project: dict[str, Any], exc: BaseException, expected: str
) -> None:
    line = classify_error(exc, stack="staging")
    assert line is not None and expected in line and "\n" not in line
    backend = FakeBackend(project["roles"])
    backend.raise_on[("preview", "staging")] = exc
    report = run(project, backend, target="prod", yes=True)
    assert report.exit_code == EXIT_ERROR
    assert report.error == classify_error(exc, stack="staging")
    assert report.stages[1].status == "error"
    assert backend.touched("prod") == []
    errors = [printed for printed in report.lines if printed.startswith("promote: error:")]
    assert errors == [f"promote: error: {line}"]


def test_unrelated_exceptions_are_not_swallowed(project: dict[str, Any]) -> None:
    backend = FakeBackend(project["roles"])
    backend.raise_on[("preview", "dev")] = ZeroDivisionError("bug")
    with pytest.raises(ZeroDivisionError):
        run(project, backend, target="dev")


def test_deployed_roles_must_match_the_program(project: dict[str, Any]) -> None:
    """A deployment whose exported roles differ from the program's (here: another bucket) is not recorded."""
    deployed_roles = copy.deepcopy(project["roles"])
    deployed_roles["dev"]["trainer"]["permissions"]["datasets"]["raw"]["bucket"] = "elsewhere"
    backend = FakeBackend(deployed_roles)
    report = run(project, backend, target="dev")
    assert report.exit_code == EXIT_REFUSED
    outputs = report.stages[0].steps[-1]
    assert outputs.name == "outputs" and "differ" in outputs.detail
    assert ("record", "dev") not in backend.calls


@pytest.mark.parametrize(
    ("stdout", "stderr", "expected"),
    [
        ("Previewing update\nresources: 3", "error: x happened", "x happened"),
        ("  error: program failed", "error: update failed", "update failed"),
        ("  error: program failed", "", "program failed"),
        ("last words", "", "last words"),
    ],
)
def test_generic_cli_failure_names_the_clis_own_error(stdout: str, stderr: str, expected: str) -> None:
    exc = auto_errors.CommandError(CommandResult(stdout=stdout, stderr=stderr, code=1))
    assert classify_error(exc, stack="dev") == f"pulumi failed for stack 'dev': {expected}"
