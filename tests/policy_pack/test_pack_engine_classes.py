"""The engine's judgement classes through the real pack: a small program (fixtures/engine_classes) with
one resource per case, checked offline (program under the mock runtime, pack process over gRPC) in
dev, staging and prod. ``fail-*`` resources must be blocked in every environment, ``pass-*`` resources
must have no blocking finding in any."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # pack_helpers, next to this file
from pack_helpers import blocking, case_names

from pipeline.preview.check import StackReport, check_stacks

PROGRAM = Path(__file__).parent / "fixtures" / "engine_classes"
STACKS = ("dev", "staging", "prod")


@pytest.fixture(scope="module")
def reports() -> dict[str, StackReport]:
    return {report.stack: report for report in check_stacks(list(STACKS), program_dir=PROGRAM)}


@pytest.mark.parametrize("stack", STACKS)
def test_every_case_reached_the_pack(reports: dict[str, StackReport], stack: str) -> None:
    names = case_names(reports[stack])
    assert len(names) == 23, names


@pytest.mark.parametrize("stack", STACKS)
def test_over_broad_cases_are_blocked(reports: dict[str, StackReport], stack: str) -> None:
    report = reports[stack]
    missed = [n for n in case_names(report) if n.startswith("fail-") and not blocking(report, n)]
    assert missed == []
    assert not report.passed


@pytest.mark.parametrize("stack", STACKS)
def test_least_privilege_cases_pass(reports: dict[str, StackReport], stack: str) -> None:
    report = reports[stack]
    passing = [n for n in case_names(report) if n.startswith("pass-")]
    assert passing
    wrongly = {n: [v.message for v in blocking(report, n)] for n in passing}
    assert {n: m for n, m in wrongly.items() if m} == {}
