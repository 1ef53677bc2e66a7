"""Two paths, one answer: the offline check (pack process over gRPC) and the same pack's validators
called in this process on the same recorded resources report exactly the same findings.

The in-process path builds validator arguments the way `pulumi_policy`'s analyzer servicer does:
properties deserialised and wrapped in the unknown-checking proxy, `UnknownValueError` turned into the
"can't run policy" advisory, REMEDIATE reported as MANDATORY, stack resources linked to their parents
and dependencies. Anything the gRPC transport, the process boundary or the wire encoding changed would
show up as a difference.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from pipeline import ROOT
from pipeline.preview.check import StackReport, check_stack
from pipeline.preview.packclient import (
    PackInfo,
    PolicyInfo,
    engine_properties,
    load_pack_config,
    reconcile_pack_config,
)
from pipeline.program import run_program
from pipeline.recording import RecordedResource

PACK = ROOT / "policy-pack"
PROGRAMS = Path(__file__).parent / "fixtures" / "programs"

Finding = tuple[str, str, str, str]  # policy, urn, level, message


@pytest.fixture(scope="module")
def pack_module() -> Iterator[ModuleType]:
    """policy-pack/policies.py under a private name (the pack dir goes on sys.path, as the CLI does)."""
    sys.path.insert(0, str(PACK))
    try:
        spec = importlib.util.spec_from_file_location("pipeline_test_pack_policies", PACK / "policies.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses resolve string annotations through sys.modules
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop("pipeline_test_pack_policies", None)
        sys.path.remove(str(PACK))


def _pack_default_level() -> str:
    """The PolicyPack(enforcement_level=...) of the pack's entry point (GetAnalyzerInfo's fallback)."""
    match = re.search(r"enforcement_level=EnforcementLevel\.(\w+)", (PACK / "__main__.py").read_text())
    return match.group(1).lower() if match else "advisory"


def _effective_config(policies: list[Any], stack: str) -> dict[str, Any]:
    default = _pack_default_level()
    infos = []
    for p in policies:
        schema = None
        if p.config_schema is not None:
            schema = {
                "properties": dict(p.config_schema.properties or {}),
                "required": list(p.config_schema.required or []),
            }
        level = p.enforcement_level.value if p.enforcement_level is not None else default
        infos.append(PolicyInfo(p.name, p.description, level, schema, "resource"))
    info = PackInfo("in-process", "0", tuple(infos))
    effective, _ = reconcile_pack_config(info, load_pack_config(PACK / "config" / f"{stack}.json"))
    return effective


def in_process_findings(policies: list[Any], resources: list[RecordedResource], stack: str) -> set[Finding]:
    from pulumi_policy import (
        PolicyProviderResource,
        PolicyResource,
        PolicyResourceOptions,
        ResourceValidationArgs,
        ResourceValidationPolicy,
        StackValidationArgs,
        StackValidationPolicy,
    )
    from pulumi_policy.deserialize import deserialize_properties
    from pulumi_policy.policy import PolicyCustomTimeouts, _NotApplicableError
    from pulumi_policy.proxy import UnknownValueError, unknown_checking_proxy

    effective = _effective_config(policies, stack)
    ids = {r.urn: r.id for r in resources if r.id}
    providers = {r.urn: r for r in resources if r.type.startswith("pulumi:providers:")}
    findings: set[Finding] = set()

    def props_of(data: dict[str, Any]) -> Any:
        return unknown_checking_proxy(deserialize_properties(engine_properties(data, ids)))

    def options(r: RecordedResource) -> Any:
        return PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], r.parent)

    def provider(r: RecordedResource) -> Any:
        p = providers.get(r.provider or "")
        return PolicyProviderResource(p.type, props_of(p.inputs), p.urn, p.name) if p else None

    def run(policy: Any, args: Any, default_urn: str) -> None:
        level = effective[policy.name].enforcement_level or "advisory"
        if level == "disabled":
            return
        reported = "mandatory" if level == "remediate" else level

        def report(message: str, urn: str | None = None) -> None:
            text = message or ""
            findings.add((policy.name, urn or default_urn, reported, text))

        try:
            policy.validate(args, report)
        except UnknownValueError as exc:
            findings.add((policy.name, default_urn, "advisory", f"can't run: {exc.message}"))
        except _NotApplicableError:
            pass

    def config(policy: Any) -> Any:
        return dict(effective[policy.name].properties or {}) or None

    for policy in policies:
        if isinstance(policy, ResourceValidationPolicy):
            for r in resources:
                args = ResourceValidationArgs(
                    r.type, props_of(r.inputs), r.urn, r.name, options(r), provider(r), config(policy), {}
                )
                run(policy, args, r.urn)
    stack_resources = {
        r.urn: PolicyResource(
            r.type,
            props_of(r.outputs if (r.outputs or r.custom) else r.inputs),
            r.urn,
            r.name,
            options(r),
            provider(r),
            None,
            [],
            {},
        )
        for r in resources
    }
    for r in resources:
        res = stack_resources[r.urn]
        res.parent = stack_resources.get(r.parent or "")
        res.dependencies = [stack_resources[d] for d in r.dependencies if d in stack_resources]
        res.property_dependencies = {
            k: [stack_resources[d] for d in v if d in stack_resources]
            for k, v in r.property_dependencies.items()
        }
    for policy in policies:
        if isinstance(policy, StackValidationPolicy):
            run(policy, StackValidationArgs(list(stack_resources.values()), config(policy), {}), "")
    return findings


def offline_findings(report: StackReport) -> set[Finding]:
    out = set()
    for v in report.violations:
        if v.phase != "preview":
            continue
        message = f"can't run: {v.message.split('during preview: ', 1)[-1]}" if v.unverifiable else v.message
        out.add((v.policy, v.urn or "", v.enforcement_level, message))
    return out


def _normalise(findings: set[Finding]) -> set[Finding]:
    """The can't-run text differs only in the SDK's wrapper sentence; compare what the policy saw."""
    return {
        (p, u, lvl, m.split("can't be known")[0] if m.startswith("can't run") else m)
        for p, u, lvl, m in findings
    }


@pytest.mark.parametrize(
    ("stack", "program"),
    [("dev", None), ("staging", None), ("prod", None), ("dev", "trust_anyone"), ("prod", "unknown_document")],
)
def test_offline_verdict_equals_in_process_validators(
    pack_module: ModuleType, stack: str, program: str | None
) -> None:
    program_dir = PROGRAMS / program if program else None
    report = check_stack(stack, program_dir=program_dir)
    run = run_program(stack, preview=True, program_dir=program_dir)
    expected = in_process_findings(list(pack_module.ALL_POLICIES), run.resources, stack)
    assert _normalise(offline_findings(report)) == _normalise(expected)
    blocking = {f for f in expected if f[2] == "mandatory"}
    assert report.passed == (
        not blocking
        and not (
            report.preview_verifiable_level == "mandatory"
            and any(f[3].startswith("can't run") for f in expected)
        )
    )
    if program is not None:
        assert blocking, "the tampered program must produce a blocking finding on both paths"
