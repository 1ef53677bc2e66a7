"""Structure of .github/workflows/promote.yml: triggers, the prod gate, OIDC and the pipeline commands.

Why: a workflow is only exercised on GitHub, so its promises (staging on push, prod behind a reviewed
Environment, no static AWS keys, the pack venv built before preview, the diff in the job summary) are
asserted here where a typo would otherwise go unnoticed until the first real promotion.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

yaml = pytest.importorskip("yaml", reason="PyYAML is not installed in this environment")

WORKFLOW = Path(__file__).resolve().parents[2] / ".github" / "workflows" / "promote.yml"


@pytest.fixture(scope="module")
def wf() -> dict[str, Any]:
    data = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _triggers(wf: dict[str, Any]) -> dict[str, Any]:
    # YAML 1.1 (PyYAML) reads the bare key `on` as boolean True.
    on = wf.get("on", wf.get(True))
    assert isinstance(on, dict), "workflow has no `on:` mapping"
    return on


def _runs(job: dict[str, Any]) -> str:
    return "\n".join(str(step.get("run", "")) for step in job["steps"])


def _uses(job: dict[str, Any]) -> list[str]:
    return [str(step["uses"]) for step in job["steps"] if "uses" in step]


def _step_index(job: dict[str, Any], predicate: Any) -> int:
    for i, step in enumerate(job["steps"]):
        if predicate(step):
            return i
    raise AssertionError("step not found")


def test_triggers_push_to_main_and_manual_dispatch(wf: dict[str, Any]) -> None:
    on = _triggers(wf)
    assert on["push"]["branches"] == ["main"]
    assert "workflow_dispatch" in on


def test_every_job_has_steps_and_a_runner(wf: dict[str, Any]) -> None:
    assert wf["jobs"], "no jobs"
    for name, job in wf["jobs"].items():
        assert job.get("runs-on"), name
        assert isinstance(job.get("steps"), list) and job["steps"], name
        for step in job["steps"]:
            assert ("uses" in step) != ("run" in step), f"{name}: a step must have exactly one of uses/run"


def test_staging_on_push_promotes_to_staging(wf: dict[str, Any]) -> None:
    job = wf["jobs"]["staging"]
    assert "push" in job["if"]
    assert re.search(r"python -m pipeline promote --to staging\b", _runs(job))
    assert "--offline" not in _runs(job)


def test_each_deploy_job_holds_one_environment_account(wf: dict[str, Any]) -> None:
    """dev, staging and prod are separate AWS accounts: one job per stage, each in its own GitHub
    Environment (whose scoped AWS_ROLE_ARN is that account's role), staging only after dev."""
    environments = {}
    for name in ("dev", "staging", "prod"):
        env = wf["jobs"][name]["environment"]
        environments[name] = env["name"] if isinstance(env, dict) else env
    assert len(set(environments.values())) == 3, environments
    assert wf["jobs"]["staging"]["needs"] in ("dev", ["dev"])
    assert re.search(r"promote --to dev\b", _runs(wf["jobs"]["dev"]))
    assert "--from staging" in _runs(wf["jobs"]["staging"])


def test_prod_is_manual_behind_the_production_environment(wf: dict[str, Any]) -> None:
    job = wf["jobs"]["prod"]
    assert "workflow_dispatch" in job["if"]
    env = job["environment"]
    assert (env["name"] if isinstance(env, dict) else env) == "production"
    cmd = " ".join(_runs(job).split())
    assert "python -m pipeline promote --to prod" in cmd
    assert "--yes" in cmd  # the Environment's required reviewers are the confirmation


@pytest.mark.parametrize("job_name", ["dev", "staging", "prod"])
def test_deploy_jobs_use_oidc_and_no_static_keys(wf: dict[str, Any], job_name: str) -> None:
    job = wf["jobs"][job_name]
    assert job["permissions"]["id-token"] == "write"
    action = "aws-actions/configure-aws-credentials@"
    creds = [s for s in job["steps"] if str(s.get("uses", "")).startswith(action)]
    assert len(creds) == 1
    assert creds[0]["with"].get("role-to-assume")
    text = WORKFLOW.read_text(encoding="utf-8")
    static = ("aws-access-key-id", "aws-secret-access-key", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
    for forbidden in static:
        assert forbidden not in text


@pytest.mark.parametrize("job_name", ["dev", "staging", "prod"])
def test_cli_and_pack_venv_ready_before_promotion(wf: dict[str, Any], job_name: str) -> None:
    job = wf["jobs"][job_name]
    assert any(u.startswith("pulumi/actions@") for u in _uses(job)), "Pulumi CLI is not installed"
    setup = _step_index(job, lambda s: "make setup" in str(s.get("run", "")))
    promote = _step_index(job, lambda s: "pipeline promote" in str(s.get("run", "")))
    creds = _step_index(job, lambda s: "configure-aws-credentials" in str(s.get("uses", "")))
    assert setup < promote and creds < promote


@pytest.mark.parametrize("job_name", ["offline", "dev", "staging", "prod"])
def test_permission_difference_goes_to_the_job_summary(wf: dict[str, Any], job_name: str) -> None:
    assert '--summary "$GITHUB_STEP_SUMMARY"' in _runs(wf["jobs"][job_name])


def test_workflow_token_is_read_only_by_default(wf: dict[str, Any]) -> None:
    assert wf["permissions"] == {"contents": "read"}
    assert "id-token" not in wf["jobs"]["offline"].get("permissions", {})


CURRENT_MAJORS = {
    "actions/checkout": "v7",
    "actions/setup-python": "v7",
    "pulumi/actions": "v7",
    "aws-actions/configure-aws-credentials": "v6",
}
"""The major versions the workflow is meant to run (checked against each action's releases, 2026)."""


def test_every_action_is_on_its_current_major(wf: dict[str, Any]) -> None:
    used = {u.split("@")[0]: u.split("@")[1] for job in wf["jobs"].values() for u in _uses(job)}
    assert used == CURRENT_MAJORS


def test_no_job_creates_stacks_and_the_one_time_setup_is_documented(wf: dict[str, Any]) -> None:
    for name, job in wf["jobs"].items():
        assert "--create-stacks" not in _runs(job), name
    header = WORKFLOW.read_text(encoding="utf-8").split("\nname:", 1)[0]
    assert "pulumi stack init" in header and "encryptionsalt" in header
    for key in ("stacks", "history", "locks"):
        assert f".pulumi/{key}/ai-data-processing/<stage>" in header, key
    readme = (WORKFLOW.parents[2] / "README.md").read_text(encoding="utf-8")
    assert "pulumi stack init" in readme and '"Sid": "PreviousStageAndMeta"' in readme
