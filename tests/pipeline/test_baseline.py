"""`python -m pipeline baseline`: the reviewed effective-permission baselines.

Why: the baseline is what a reviewer approves; the promotion refuses anything outside it. So the committed
files must match the stock program and configs, a rewrite must be deterministic (a second run changes
nothing), and a widened stack must show up as an out-of-date baseline that a rewrite then approves.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline import ROOT, STACKS
from pipeline.promotion.baseline import write_baseline
from pipeline.promotion.permissions import diff_baseline, parse_baseline
from pipeline.promotion.promote import ProjectPaths, effective_roles


def widened_staging(tmp_path: Path) -> Path:
    """Pulumi.staging.yaml plus a write grant on the whole models bucket for ingest-worker."""
    yaml = pytest.importorskip("yaml", reason="PyYAML is needed to write stack files")
    doc = yaml.safe_load((ROOT / "Pulumi.staging.yaml").read_text(encoding="utf-8"))
    roles = doc["config"]["ai-data-processing:roles"]
    ingest = next(r for r in roles if r["name"] == "ingest-worker")
    ingest["access"].append({"bucket": "models", "level": "write"})
    path = tmp_path / "Pulumi.staging.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


@pytest.mark.parametrize("stack", STACKS)
def test_committed_baselines_match_the_stock_program(stack: str) -> None:
    ok, text = write_baseline(stack, ProjectPaths(), check=True)
    assert ok, text
    baseline = parse_baseline(ProjectPaths().baseline(stack).read_text(encoding="utf-8"), source=stack)
    diff = diff_baseline(stack, effective_roles(stack, ProjectPaths()), baseline)
    assert not diff.added and not diff.removed


def test_rewrite_round_trip(tmp_path: Path) -> None:
    paths = ProjectPaths(baseline_dir=tmp_path / "baselines")
    ok, text = write_baseline("dev", paths)
    assert ok and text.startswith("wrote ")
    first = paths.baseline("dev").read_text(encoding="utf-8")
    assert first == ProjectPaths().baseline("dev").read_text(encoding="utf-8")
    ok, text = write_baseline("dev", paths)
    assert ok and text.endswith(": unchanged\n")
    assert paths.baseline("dev").read_text(encoding="utf-8") == first
    doc = json.loads(first)
    assert doc["stack"] == "dev" and set(doc["roles"]) == set(effective_roles("dev", ProjectPaths()))


def test_widened_stack_is_out_of_date_until_rewritten(tmp_path: Path) -> None:
    baselines = tmp_path / "baselines"
    shutil.copytree(ProjectPaths().baselines, baselines)
    paths = ProjectPaths(stack_files={"staging": widened_staging(tmp_path)}, baseline_dir=baselines)

    ok, text = write_baseline("staging", paths, check=True)
    assert not ok
    assert "write models=acme-ml-models-staging (whole bucket)" in text
    assert "ingest-worker" in text

    ok, text = write_baseline("staging", paths)
    assert ok and "wrote" in text and "write models=acme-ml-models-staging" in text
    rewritten = parse_baseline(paths.baseline("staging").read_text(encoding="utf-8"), source="staging")
    assert rewritten["roles"]["ingest-worker"]["datasets"]["models"]["level"] == "write"
    assert write_baseline("staging", paths, check=True)[0]
    # the other stacks' files were left alone
    for stack in ("dev", "prod"):
        assert paths.baseline(stack).read_bytes() == ProjectPaths().baseline(stack).read_bytes()


def test_cli_check_passes_on_the_repository() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline", "baseline", "--stack", "all", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("up to date") == len(STACKS)
