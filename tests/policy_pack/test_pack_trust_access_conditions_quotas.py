"""Trust wildcards, external access, condition pitfalls and deployability through the real pack: a small
program (fixtures/trust_access_conditions_quotas) with one resource per case, checked offline (program
under the mock runtime, pack process over gRPC) in dev, staging and prod. ``fail-<class>-*`` resources
must be blocked by their class's policy in every environment; ``pass-*`` resources must have no
blocking finding in any."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from pipeline import ROOT

sys.path.insert(0, str(Path(__file__).resolve().parent))  # pack_helpers, next to this file
from pack_helpers import blocking, case_names

from pipeline.preview.check import StackReport, check_stack, check_stacks

PROGRAM = Path(__file__).parent / "fixtures" / "trust_access_conditions_quotas"
STACKS = ("dev", "staging", "prod")
POLICY_OF_CLASS = {
    "trust": "iam-trust-policy",
    "external": "iam-external-access",
    "pitfalls": "iam-condition-pitfalls",
    "deployable": "iam-deployable-documents",
}


@pytest.fixture(scope="module")
def reports() -> dict[str, StackReport]:
    return {report.stack: report for report in check_stacks(list(STACKS), program_dir=PROGRAM)}


@pytest.mark.parametrize("stack", STACKS)
def test_every_case_reached_the_pack(reports: dict[str, StackReport], stack: str) -> None:
    names = case_names(reports[stack])
    assert len(names) == 33, names
    assert {n.split("-")[1] for n in names} == set(POLICY_OF_CLASS)


@pytest.mark.parametrize("stack", STACKS)
def test_each_failing_case_is_blocked_by_its_class_policy(
    reports: dict[str, StackReport], stack: str
) -> None:
    report = reports[stack]
    missed = {}
    for name in case_names(report):
        if not name.startswith("fail-"):
            continue
        policy = POLICY_OF_CLASS[name.split("-")[1]]
        if not any(v.policy == policy for v in blocking(report, name)):
            missed[name] = sorted({v.policy for v in blocking(report, name)})
    assert missed == {}
    assert not report.passed


@pytest.mark.parametrize("stack", STACKS)
def test_least_privilege_cases_pass(reports: dict[str, StackReport], stack: str) -> None:
    report = reports[stack]
    passing = [n for n in case_names(report) if n.startswith("pass-")]
    assert len(passing) == 12
    wrongly = {n: [f"{v.policy}: {v.message}" for v in blocking(report, n)] for n in passing}
    assert {n: m for n, m in wrongly.items() if m} == {}


def test_messages_name_the_quota_and_the_account(reports: dict[str, StackReport]) -> None:
    report = reports["prod"]

    def messages(name: str, policy: str) -> str:
        return " ".join(v.message for v in blocking(report, name) if v.policy == policy)

    assert "6,144" in messages("fail-deployable-managed-over-6144", "iam-deployable-documents")
    assert "10,240" in messages("fail-deployable-role-inline-over-10240", "iam-deployable-documents")
    assert "2,048" in messages("fail-deployable-trust-over-2048", "iam-deployable-documents")
    assert "20 statements" in messages("fail-deployable-queue-21-statements", "iam-deployable-documents")
    assert "999999999999" in messages("fail-external-lambda-permission", "iam-external-access")
    assert "161803398874" in messages("fail-external-bucket-other-root", "iam-external-access")


def test_trusted_accounts_and_a_raised_trust_quota_come_from_the_environment_config(tmp_path: Path) -> None:
    config = json.loads((ROOT / "policy-pack" / "config" / "prod.json").read_text(encoding="utf-8"))
    config["iam-external-access"]["trustedAccounts"] = ["999999999999"]
    config["iam-deployable-documents"]["trustPolicyQuota"] = 4096
    path = tmp_path / "prod.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    report = check_stack("prod", program_dir=PROGRAM, pack_config_file=path)
    for name in (
        "fail-external-bucket-other-root",
        "fail-external-queue-account-id",
        "fail-external-lambda-permission",
        "fail-deployable-trust-over-2048",
    ):
        assert not [v for v in blocking(report, name) if v.policy in POLICY_OF_CLASS.values()], name
    # Everything else is judged as before.
    assert any(v.policy == "iam-deployable-documents" for v in blocking(report, "fail-deployable-sid"))
