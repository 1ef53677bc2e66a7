"""The stock stacks pass the real pack offline, and the report lists every role's permissions."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline import ROOT
from pipeline.preview.check import StackReport, check_stacks
from pipeline.preview.report import permission_rows, render_text, to_json, to_sarif
from pipeline.stackconfig import load_stack_config


@pytest.fixture(scope="module")
def reports() -> dict[str, StackReport]:
    return {r.stack: r for r in check_stacks(["dev", "staging", "prod"])}


def _configured_roles(stack: str) -> list[str]:
    return [r["name"] for r in json.loads(load_stack_config(ROOT, stack)["ai-data-processing:roles"])]


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_stock_stack_passes(reports: dict[str, StackReport], stack: str) -> None:
    report = reports[stack]
    assert report.passed, [v.to_dict() for v in report.mandatory_failures]
    assert report.exit_code == 0
    assert report.pack_name == "iam-least-privilege"
    assert report.resource_count > len(_configured_roles(stack))


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_report_lists_every_role_with_permissions(reports: dict[str, StackReport], stack: str) -> None:
    report = reports[stack]
    roles = _configured_roles(stack)
    assert sorted(report.roles) == sorted(roles)
    text = render_text([report], 1.0)
    rows = permission_rows(report.roles)
    for role in roles:
        assert any(row[0] == role for row in rows)
        assert role in text
        datasets = report.roles[role]["permissions"]["datasets"]
        for ds in datasets.values():
            assert ds["bucket"] in text
            for action in ds["actions"]:
                assert action in text
    assert "effective permissions" in text


def test_preview_verifiability_level_is_read_from_each_env_config(reports: dict[str, StackReport]) -> None:
    for stack, report in reports.items():
        configured = json.loads((ROOT / "policy-pack" / "config" / f"{stack}.json").read_text())
        entry = configured.get("iam-preview-verifiable", configured.get("all"))
        level = entry if isinstance(entry, str) else entry["enforcementLevel"]
        assert report.preview_verifiable_level == level


def test_json_and_text_agree(reports: dict[str, StackReport]) -> None:
    data = to_json(list(reports.values()), 1.5)
    assert data["passed"] is True
    assert [s["stack"] for s in data["stacks"]] == ["dev", "staging", "prod"]
    for stack in data["stacks"]:
        assert stack["mandatoryFailures"] == 0
        assert stack["roles"]
    json.dumps(data)  # serialisable as is
    assert render_text(list(reports.values()), 1.5).rstrip().endswith("1.50 s")


def test_sarif_of_a_passing_run_is_valid_and_empty_of_errors(reports: dict[str, StackReport]) -> None:
    sarif = to_sarif(list(reports.values()))
    assert sarif["version"] == "2.1.0"
    assert all(r["level"] != "error" for r in sarif["runs"][0]["results"])


def test_cli_check_all_exits_zero_and_prints_the_footer() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pipeline", "check", "--stack", "all"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    last = result.stdout.strip().splitlines()[-1]
    assert "dev pass, staging pass, prod pass" in last
    assert last.endswith(" s")
    assert "Traceback" not in result.stderr


def test_cli_json_output(capsys: pytest.CaptureFixture[str]) -> None:
    from pipeline.__main__ import main

    assert main(["check", "--stack", "dev", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["stacks"][0]["stack"] == "dev" and data["passed"] is True


def test_cli_unknown_stack_is_exit_2_with_message(capsys: pytest.CaptureFixture[str]) -> None:
    from pipeline.__main__ import main

    assert main(["check", "--stack", "qa"]) == 2
    err = capsys.readouterr().err
    assert "Pulumi.qa.yaml" in err and "Traceback" not in err


def test_sarif_file_written_by_cli(tmp_path: Path) -> None:
    from pipeline.__main__ import main

    out = tmp_path / "check.sarif"
    assert main(["check", "--stack", "prod", "--sarif", str(out)]) == 0
    sarif = json.loads(out.read_text())
    assert sarif["$schema"].endswith("sarif-2.1.0.json")
    assert sarif["runs"][0]["tool"]["driver"]["name"] == "pipeline-check"
