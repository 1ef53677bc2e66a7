"""Every policy-carrying resource type of the pinned SDKs is judged or out of scope with a reason.

The types come from the installed pulumi-aws and pulumi-aws-native SDKs (read by
``adapters.sdk_inventory``), not from a hand list: a new SDK version that adds a type taking a policy
document, a policy ARN or a principal fails here until the type is given a decision. Stale decisions
(a type or input-name rule the SDKs no longer have) fail too.
"""

from __future__ import annotations

import importlib.metadata
import json
import re
from pathlib import Path

import pytest
from adapters import aws, aws_native, coverage, judged_types, sdk_inventory

ROOT = Path(__file__).resolve().parents[2]
PINNED = {"pulumi-aws": "pulumi-aws", "pulumi-aws-native": "pulumi-aws-native"}


def _pin(requirement: str) -> str:
    for path in (ROOT / "requirements.txt", ROOT / "requirements-dev.txt"):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith(f"{requirement}=="):
                return line.split("==", 1)[1].strip()
    raise AssertionError(f"{requirement} is not pinned")


@pytest.fixture(scope="module")
def sdk_types() -> dict[str, list[sdk_inventory.ResourceType]]:
    for requirement in PINNED:
        assert importlib.metadata.version(requirement) == _pin(requirement), (
            f"{requirement} is not the pinned one"
        )
    return {
        provider: sdk_inventory.resource_types(package) for provider, package in coverage.SDK_PACKAGES.items()
    }


@pytest.fixture(scope="module")
def found(sdk_types: dict[str, list[sdk_inventory.ResourceType]]) -> dict[str, dict[str, tuple[str, ...]]]:
    return {p: {r.token: r.policy_inputs for r in types if r.policy_inputs} for p, types in sdk_types.items()}


def test_the_derivation_finds_the_known_policy_carrying_types(
    found: dict[str, dict[str, tuple[str, ...]]],
) -> None:
    """The derivation itself works: it sees the inputs every IAM user knows, nested ones included."""
    aws_types = found["aws"]
    assert "assume_role_policy" in aws_types["aws:iam/role:Role"]
    assert "inline_policies[].policy" in aws_types["aws:iam/role:Role"]
    assert aws_types["aws:lambda/permission:Permission"] == ("principal",)
    assert (
        "details.policy"
        in aws_types["aws:s3control/multiRegionAccessPointPolicy:MultiRegionAccessPointPolicy"]
    )
    native = found["aws-native"]
    assert "policies[].policy_document" in native["aws-native:iam:Role"]
    assert native["aws-native:kms:Key"] == ("key_policy",)
    assert len(aws_types) > 150 and len(native) > 150


def test_every_policy_carrying_type_is_decided(found: dict[str, dict[str, tuple[str, ...]]]) -> None:
    decisions = coverage.decisions(found)
    undecided = {token: d["inputs"] for token, d in decisions.items() if d["decision"] == "undecided"}
    assert not undecided, (
        "policy-carrying resource types with no decision (read them in an adapter, or add them to "
        f"policy-pack/adapters/coverage.json with a reason): {json.dumps(undecided, indent=1)}"
    )
    assert all(d.get("reason") for d in decisions.values() if d["decision"] == "out of scope")


def test_decisions_name_only_types_the_sdks_have(
    sdk_types: dict[str, list[sdk_inventory.ResourceType]],
) -> None:
    existing = {r.token for types in sdk_types.values() for r in types}
    stale_out = sorted(set(coverage.load().out_of_scope) - existing)
    assert not stale_out, f"coverage.json outOfScope names types the SDKs no longer have: {stale_out}"
    stale_judged = sorted(judged_types() - existing)
    assert not stale_judged, f"adapters read types the SDKs no longer have: {stale_judged}"


def test_every_input_name_rule_is_used(found: dict[str, dict[str, tuple[str, ...]]]) -> None:
    inputs = [p for types in found.values() for paths in types.values() for p in paths]
    unused = [rule.pattern for rule in coverage.load().name_rules if not any(rule.matches(p) for p in inputs)]
    assert not unused, f"coverage.json inputNames patterns that match no SDK input: {unused}"


def test_read_paths_name_real_inputs(found: dict[str, dict[str, tuple[str, ...]]]) -> None:
    """What the adapters say they read is an input of the type (catches a misspelt property path)."""
    for module in (aws, aws_native):
        provider = module.__name__.rsplit(".", 1)[-1].replace("_", "-")
        for token in module.READERS:
            reads = coverage.read_paths(token)
            inputs = set(found[provider].get(token, ()))
            missing = sorted(r for r in reads if r not in inputs and not any(i.startswith(r) for i in inputs))
            assert not missing, f"{token}: the adapter reads {missing}, which the SDK does not list"


def test_the_decision_data_is_checked_on_load(tmp_path: Path) -> None:
    bad = tmp_path / "coverage.json"
    bad.write_text(json.dumps({"inputNames": [{"pattern": "x"}], "outOfScope": {}}), encoding="utf-8")
    with pytest.raises(ValueError, match=re.escape(f"{bad}") + r".*inputNames\[0\].*reason"):
        coverage.load.__wrapped__(bad)
    bad.write_text(json.dumps({"outOfScope": {"aws:x/y:Y": ""}}), encoding="utf-8")
    with pytest.raises(ValueError, match=r"outOfScope\.aws:x/y:Y"):
        coverage.load.__wrapped__(bad)


def test_the_readme_table_is_the_one_the_decisions_generate(
    found: dict[str, dict[str, tuple[str, ...]]],
) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = coverage.markdown(coverage.decisions(found))
    assert coverage.replace_block(readme, block) == readme, (
        "README.md's resource-types table is out of date: run "
        ".venv/bin/python policy-pack/scripts/render_resource_types.py"
    )
    for token, decision in coverage.decisions(found).items():
        if decision["decision"] == "out of scope":
            assert f"`{token}`" in block and decision["reason"] in block
