"""`promote --offline` on the real program, pack and configs: the whole flow without the Pulumi CLI.

Why: this is the promotion every machine can run. The stock configs must go through dev, staging and prod
in order; a tampered staging must stop at staging (by the baseline invariant, or by the pack when the
grant was "reviewed" into the baseline) and never reach prod; a prod granting more than staging must be
refused before any stage is checked. Tampered stack files live in tmp_path and reach the flow through
``ProjectPaths.stack_files`` (the same ``stack_file`` override check_stack and run_program take).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import pipeline.promotion.promote as promote_mod
from pipeline import ROOT
from pipeline.promotion.baseline import write_baseline
from pipeline.promotion.promote import EXIT_OK, EXIT_REFUSED, ProjectPaths, PromoteRequest, promote

PROJECT = "ai-data-processing"


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Stacks the offline check (the stand-in for preview) was run on, in order."""
    calls: list[str] = []
    real = promote_mod.offline_check

    def recording(stack: str, paths: ProjectPaths) -> Any:
        calls.append(stack)
        return real(stack, paths)

    monkeypatch.setattr(promote_mod, "offline_check", recording)
    return calls


def tampered(tmp_path: Path, stack: str, change: Any) -> Path:
    yaml = pytest.importorskip("yaml", reason="PyYAML is needed to write stack files")
    doc = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text(encoding="utf-8"))
    change(doc["config"])
    path = tmp_path / f"Pulumi.{stack}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def role(config: dict[str, Any], name: str) -> dict[str, Any]:
    return next(r for r in config[f"{PROJECT}:roles"] if r["name"] == name)


def add_admin_attachment(config: dict[str, Any]) -> None:
    role(config, "model-training")["managedPolicyArns"] = ["arn:aws:iam::aws:policy/AdministratorAccess"]


def add_models_write(config: dict[str, Any]) -> None:
    role(config, "ingest-worker")["access"].append({"bucket": "models", "level": "write"})


def paths_with(
    tmp_path: Path, stack_files: dict[str, Path], *, rebaseline: tuple[str, ...] = ()
) -> ProjectPaths:
    """Repository project and pack, tampered stack files, and a private copy of the baselines."""
    baselines = tmp_path / "baselines"
    shutil.copytree(ProjectPaths().baselines, baselines)
    paths = ProjectPaths(stack_files=stack_files, baseline_dir=baselines)
    for stack in rebaseline:  # a reviewer approved the widened access into the baseline
        write_baseline(stack, paths)
    return paths


def run(req: PromoteRequest) -> tuple[Any, list[str]]:
    lines: list[str] = []
    return promote(req, emit=lines.append), lines


def test_stock_configs_promote_offline_to_prod_in_order(spy: list[str]) -> None:
    report, lines = run(PromoteRequest(target="prod", offline=True))
    assert report.exit_code == EXIT_OK, "\n".join(lines)
    assert [s.stack for s in report.stages] == ["dev", "staging", "prod"]
    assert [s.status for s in report.stages] == ["passed", "passed", "passed"]
    assert spy == ["dev", "staging", "prod"]
    first_seen = [next(i for i, ln in enumerate(lines) if ln.startswith(f"[{s}] gate")) for s in report.plan]
    assert first_seen == sorted(first_seen)
    assert lines[-1].startswith("promote: would promote (offline): dev -> staging -> prod at ")
    assert all(i.ok for i in report.invariants)
    # prod vs staging and each stage vs its baseline, once for permissions and once for exceptions.
    assert len([i for i in report.invariants if i.diff is not None]) == 4
    assert len([i for i in report.invariants if i.exceptions is not None]) == 4


def test_cli_offline_to_prod_json(tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline", "promote", "--to", "prod", "--offline", "--json",
         "--summary", str(summary)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["ok"] and data["plan"] == ["dev", "staging", "prod"]
    assert [s["stack"] for s in data["stages"]] == ["dev", "staging", "prod"]
    assert "[dev] gate" in proc.stderr  # progress on stderr, JSON alone on stdout
    md = summary.read_text(encoding="utf-8")
    assert md.startswith("## Promotion to `prod` (offline)")
    assert "`prod` vs `staging`" in md


def test_tampered_staging_outside_baseline_is_refused_before_any_check(
    tmp_path: Path, spy: list[str]
) -> None:
    staging = tampered(tmp_path, "staging", lambda c: (add_admin_attachment(c), add_models_write(c)))
    paths = paths_with(tmp_path, {"staging": staging})
    report, lines = run(PromoteRequest(target="prod", offline=True, paths=paths))
    assert report.exit_code == EXIT_REFUSED
    assert report.stopped_at == "staging"
    assert spy == []  # nothing was checked, let alone prod
    text = "\n".join(lines)
    assert "[staging] baseline: 4 new grant(s) not in staging.json:" in text
    assert "ingest-worker: s3:PutObject on models=acme-ml-models-staging" in text
    assert "model-training: attached arn:aws:iam::aws:policy/AdministratorAccess" in text
    assert "ingest-worker: write models=acme-ml-models-staging (whole bucket)" in text
    bad = [i for i in report.invariants if not i.ok]
    assert [i.stack for i in bad] == ["staging"]


def test_forbidden_attachment_reviewed_into_the_baseline_is_stopped_by_the_pack(
    tmp_path: Path, spy: list[str]
) -> None:
    staging = tampered(tmp_path, "staging", add_admin_attachment)
    paths = paths_with(tmp_path, {"staging": staging}, rebaseline=("staging",))
    report, lines = run(PromoteRequest(target="prod", offline=True, paths=paths))
    assert report.exit_code == EXIT_REFUSED, "\n".join(lines)
    assert [s.status for s in report.stages] == ["passed", "refused", "not run"]
    assert spy == ["dev", "staging"]
    failed = report.stages[1].steps[-1]
    assert failed.name == "offline check" and failed.status == "failed"
    assert any("iam-managed-policy-attachments" in f for f in failed.findings)


def test_prod_granting_more_than_staging_is_refused_before_any_check(tmp_path: Path, spy: list[str]) -> None:
    prod = tampered(
        tmp_path,
        "prod",
        lambda c: role(c, "batch-inference")["aiActions"].append("comprehend:BatchDetectEntities"),
    )
    paths = paths_with(tmp_path, {"prod": prod}, rebaseline=("prod",))
    report, lines = run(PromoteRequest(target="prod", offline=True, paths=paths))
    assert report.exit_code == EXIT_REFUSED
    assert spy == []
    inv = next(i for i in report.invariants if i.name == "prod grants nothing beyond staging")
    assert not inv.ok
    assert [(g.role, g.kind, g.access) for g in inv.diff.added] == [
        ("batch-inference", "ai", "comprehend:BatchDetectEntities")
    ]
    table = "\n".join(lines)
    assert "prod vs staging: 1 grant(s) only in prod" in table and "comprehend:BatchDetectEntities" in table
    md = report.to_dict()["markdown"]
    assert "| batch-inference | ai | comprehend:BatchDetectEntities | — | ✔ **new** |" in md


def test_bucket_names_differ_but_do_not_count(tmp_path: Path, spy: list[str]) -> None:
    """Renaming every prod bucket is an environment difference, not new access (baseline re-reviewed)."""

    def rename(config: dict[str, Any]) -> None:
        for ds in config[f"{PROJECT}:buckets"].values():
            ds["name"] = ds["name"] + "-eu"

    paths = paths_with(tmp_path, {"prod": tampered(tmp_path, "prod", rename)}, rebaseline=("prod",))
    report, lines = run(PromoteRequest(target="prod", offline=True, paths=paths))
    assert report.exit_code == EXIT_OK, "\n".join(lines)
    assert report.invariants[0].diff is not None and report.invariants[0].diff.ok


def test_bucket_rename_without_review_is_new_access_for_the_baseline(tmp_path: Path, spy: list[str]) -> None:
    def rename(config: dict[str, Any]) -> None:
        config[f"{PROJECT}:buckets"]["raw"]["name"] = "somebody-elses-bucket"

    paths = paths_with(tmp_path, {"dev": tampered(tmp_path, "dev", rename)})
    report, lines = run(PromoteRequest(target="dev", offline=True, paths=paths))
    assert report.exit_code == EXIT_REFUSED
    assert any("raw=somebody-elses-bucket" in ln for ln in lines)
