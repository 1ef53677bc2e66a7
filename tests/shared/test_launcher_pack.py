"""The launcher pattern judged by the one engine and by the real policy pack (started as the CLI does).

A launcher policy names exactly the role and sets ``iam:PassedToService``: the pack accepts it at no
more than low severity. The same grant without the condition, or on ``*``, is still reported.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from least_privilege.analysis import check_identity_policy
from least_privilege.findings import Severity

from pipeline import ROOT
from pipeline.preview.check import check_stack
from shared.config import parse_stack_config
from shared.policies import launch_policy

P = "ai-data-processing"
ACCT = "314159265358"
ORCHESTRATOR = f"arn:aws:iam::{ACCT}:role/ml-pipeline-orchestrator"


def launcher(profile: str = "sagemaker-training") -> dict[str, Any]:
    raw = {
        "aws:region": "eu-west-1",
        f"{P}:accountId": ACCT,
        f"{P}:buckets": {"raw": {"name": "acme-raw"}},
        f"{P}:roles": [
            {
                "name": "model-training",
                "job": profile,
                "passableBy": [ORCHESTRATOR],
                "access": [{"bucket": "raw", "level": "read"}],
                "aiActions": [],
                "managedPolicyArns": [],
            }
        ],
    }
    cfg = parse_stack_config(raw, stack="dev")
    document = launch_policy(cfg.roles[0], cfg)
    assert document is not None
    return document


@pytest.mark.parametrize("profile", ["sagemaker-training", "ecs-task", "bedrock-batch-inference", "lambda"])
def test_engine_accepts_the_launcher_at_low_at_most(profile: str) -> None:
    findings = check_identity_policy(launcher(profile))
    assert all(f.severity <= Severity.LOW for f in findings), [str(f.message) for f in findings]


def test_engine_still_flags_pass_role_on_star() -> None:
    document = launcher()
    document["Statement"][0]["Resource"] = "*"
    findings = check_identity_policy(document)
    assert any(f.severity >= Severity.HIGH for f in findings), findings


def _with_launcher(tmp_path: Path, stack: str) -> Path:
    """The stack file with the training role given a job and a launcher, and no role pulling images
    (``ecr:GetAuthorizationToken`` is judged on its own), so the launcher pattern is what is tested."""
    text = (ROOT / f"Pulumi.{stack}.yaml").read_text(encoding="utf-8")
    values = yaml.safe_load(text)
    config = copy.deepcopy(values["config"])
    account = config[f"{P}:accountId"]
    for role in config[f"{P}:roles"]:
        role.pop("images", None)
        if role["name"] == "model-training":
            role.pop("trustedServices", None)
            role["job"] = "sagemaker-training"
            role["passableBy"] = [f"arn:aws:iam::{account}:role/ml-pipeline-orchestrator"]
    path = tmp_path / f"Pulumi.{stack}.yaml"
    path.write_text(yaml.safe_dump({"config": config}, sort_keys=False), encoding="utf-8")
    return path


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_real_pack_passes_the_launcher_pattern(tmp_path: Path, stack: str) -> None:
    report = check_stack(stack, stack_file=_with_launcher(tmp_path, stack))
    names = {r.get("name") for r in report.resources}
    assert {"model-training-launch-policy", "model-training-launch-ml-pipeline-orchestrator"} <= names
    about_launcher = [v for v in report.violations if v.resource_name and "launch" in v.resource_name]
    assert [v for v in about_launcher if v.severity not in ("low", "unspecified")] == []
    assert report.passed, [v.message for v in report.mandatory_failures]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_an_unlisted_launcher_role_is_a_reference_the_pack_cannot_verify(tmp_path: Path, stack: str) -> None:
    """Without the orchestrator in knownExternal, the attachment to it is unverifiable (advisory in dev)."""
    data = json.loads((ROOT / "policy-pack" / "config" / f"{stack}.json").read_text(encoding="utf-8"))
    data["iam-preview-verifiable"]["knownExternal"]["roles"] = []
    pack_config = tmp_path / f"pack-{stack}.json"
    pack_config.write_text(json.dumps(data), encoding="utf-8")
    report = check_stack(stack, stack_file=_with_launcher(tmp_path, stack), pack_config_file=pack_config)
    unverifiable = [v for v in report.violations if v.policy == "iam-preview-verifiable"]
    assert unverifiable and all("ml-pipeline-orchestrator" in v.message for v in unverifiable)
    assert report.passed is (stack == "dev")  # advisory in dev, mandatory in prod
