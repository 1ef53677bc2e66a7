"""Every policy's config is closed: an option it does not declare is reported by the pack itself (the real
CLI cannot be told, see `policies.closed_config`) and refused by the offline check with exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import policies
import pytest
from iam_pack.closed_config import unknown_option_messages

from pipeline import ROOT
from pipeline.preview.packclient import PolicyConfigValue, PolicyPackProcess, reconcile_pack_config
from pipeline.program import run_program


def test_every_policy_declares_a_schema() -> None:
    for policy in policies.ALL_POLICIES:
        assert policy.config_schema is not None, policy.name


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (
            {"forbidStarOnlyAction": True},
            ["has no option 'forbidStarOnlyAction' (did you mean 'forbidStarOnlyActions'?)"],
        ),
        (
            {"zzz": 1, "minimumSeverity": "low"},
            ["has no option 'zzz'; its options are: {declared}."],
        ),
        ({"forbidStarOnlyActions": True, "enforcementLevel": "mandatory"}, []),
    ],
)
def test_unknown_options_are_named_with_the_closest_declared_one(
    config: dict[str, object], expected: list[str]
) -> None:
    declared = policies.ALL_POLICIES[0].config_schema.properties
    messages = unknown_option_messages("iam-no-wildcard-resources", declared, config)
    assert len(messages) == len(expected)
    for message, fragment in zip(messages, expected, strict=True):
        assert message.startswith("[config] policy iam-no-wildcard-resources ")
        assert fragment.format(declared=", ".join(sorted(declared))) in message


def test_the_real_pack_reports_an_unknown_option_once_as_a_violation() -> None:
    """What `pulumi preview --policy-pack` shows for a typo: a mandatory violation naming it, once."""
    run = run_program("dev", preview=False)
    providers = {r.urn: r for r in run.resources if r.type.startswith("pulumi:providers:")}
    with PolicyPackProcess(
        ROOT / "policy-pack", project=run.project, stack="dev", dry_run=False, config=run.config
    ) as pack:
        info = pack.get_info()
        effective, _ = reconcile_pack_config(info, {})
        effective["iam-no-wildcard-resources"] = PolicyConfigValue(
            "mandatory", {"forbidStarOnlyAction": True}
        )
        pack.configure(effective)
        pack.configure_stack()
        diagnostics = pack.analyze(run.resources, providers)
    typo = [d for d in diagnostics if "forbidStarOnlyAction'" in d.message]
    assert len(typo) == 1
    assert typo[0].policy_name == "iam-no-wildcard-resources" and typo[0].enforcement_level == "mandatory"
    assert "did you mean 'forbidStarOnlyActions'?" in typo[0].message


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            ("iam-no-wildcard-resources", {"forbidStarOnlyAction": True}),
            "has no option \"forbidStarOnlyAction\" (did you mean 'forbidStarOnlyActions'?)",
        ),
        (("iam-no-wildcard-resource", "advisory"), '"iam-no-wildcard-resource" is not a policy of pack'),
    ],
)
def test_the_offline_check_exits_2_on_an_unknown_policy_or_option(
    project_copy: Path, edit: tuple[str, object], message: str
) -> None:
    config_file = project_copy / "policy-pack" / "config" / "dev.json"
    data = json.loads(config_file.read_text(encoding="utf-8"))
    name, value = edit
    data[name] = value
    config_file.write_text(json.dumps(data), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "pipeline", "check", "--stack", "dev", "--project-dir", str(project_copy)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 2, result.stdout
    assert str(config_file) in result.stderr and message in result.stderr
