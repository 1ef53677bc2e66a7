"""Run the pack's policies in this process exactly as pulumi_policy's servicer runs them.

Properties go through what the servicer does with an AnalyzeRequest (protobuf Struct ->
``json_format.MessageToDict`` -> ``deserialize_properties`` -> ``unknown_checking_proxy``), so
validators see the same proxies, and the same UnknownValueError on unknowns, as under
``pulumi preview``; stack resources are linked to their dependencies as AnalyzeStack links them.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from google.protobuf import json_format, struct_pb2
from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.deserialize import deserialize_properties
from pulumi_policy.proxy import unknown_checking_proxy

PACK_DIR = Path(__file__).resolve().parents[2] / "policy-pack"
if str(PACK_DIR) not in sys.path:
    sys.path.insert(0, str(PACK_DIR))

import policies  # noqa: E402  (the pack dir must be on sys.path first, as pulumi.policy puts it)

UNKNOWN_STRING = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
ACCOUNT = "111111111111"
PROJECT_URN = "urn:pulumi:dev::ai-data-processing::"


def wire_props(props: Mapping[str, Any]) -> Any:
    """Props exactly as a validator receives them from an AnalyzeRequest."""
    struct = struct_pb2.Struct()
    struct.update(dict(props))
    return unknown_checking_proxy(deserialize_properties(json_format.MessageToDict(struct)))


def opts() -> PolicyResourceOptions:
    return PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], None)


def urn_of(type_: str, name: str) -> str:
    return f"{PROJECT_URN}{type_}::{name}"


def policy_named(name: str) -> ResourceValidationPolicy | StackValidationPolicy:
    return next(p for p in policies.ALL_POLICIES if p.name == name)


def run_resource(
    name: str, type_: str, props: Mapping[str, Any], config: Mapping[str, Any] | None = None
) -> list[str]:
    """Run one policy on one resource the way the servicer does; return the violation messages.

    A stack policy sees a stack made of that resource alone.
    """
    policy = policy_named(name)
    messages: list[str] = []
    if isinstance(policy, StackValidationPolicy):
        resource = PolicyResource(
            type_, wire_props(props), urn_of(type_, "r"), "r", opts(), None, None, [], {}
        )
        args = StackValidationArgs([resource], dict(config or {}))
        assert policy.validate(args, lambda m, u=None: messages.append(m)) is None
        return messages

    def report(message: str, urn: str | None = None) -> None:
        messages.append(message)

    args = ResourceValidationArgs(
        type_, wire_props(props), urn_of(type_, "r"), "r", opts(), None, dict(config or {})
    )
    assert policy.validate(args, report) is None
    return messages


def stack_resource(
    type_: str,
    name: str,
    props: Mapping[str, Any],
    property_dependencies: Mapping[str, list[str]] | None = None,
    dependencies: list[str] | None = None,
) -> tuple[PolicyResource, dict[str, list[str]], list[str]]:
    res = PolicyResource(type_, wire_props(props), urn_of(type_, name), name, opts(), None, None, [], {})
    return res, dict(property_dependencies or {}), list(dependencies or [])


def link(entries: list[tuple[PolicyResource, dict[str, list[str]], list[str]]]) -> list[PolicyResource]:
    """Resolve URNs to PolicyResource objects, as the servicer's AnalyzeStack does."""
    by_urn = {res.urn: res for res, _, _ in entries}
    for res, prop_deps, deps in entries:
        res.dependencies.extend(by_urn[d] for d in deps if d in by_urn)
        for key, urns in prop_deps.items():
            res.property_dependencies[key] = [by_urn[u] for u in urns if u in by_urn]
    return [res for res, _, _ in entries]


def run_stack(
    resources: list[PolicyResource], config: Mapping[str, Any], name: str = "iam-effective-permissions-budget"
) -> list[tuple[str, str | None]]:
    """Run one stack policy; return (message, urn) of each violation."""
    policy = policy_named(name)
    assert isinstance(policy, StackValidationPolicy)
    out: list[tuple[str, str | None]] = []
    policy.validate(StackValidationArgs(resources, dict(config)), lambda m, u=None: out.append((m, u)))
    return out


# --------------------------------------------------------------------------------------------------
# Case programs: fixture programs with one resource per case, named pass-* or fail-*.


def case_names(report: Any) -> list[str]:
    """The pass-*/fail-* resource names of a checked fixture program (a pipeline StackReport)."""
    names = [r.get("name") or r.get("urn", "").rsplit("::", 1)[-1] for r in report.resources]
    return sorted(n for n in names if n.startswith(("pass-", "fail-")))


def blocking(report: Any, name: str) -> list[Any]:
    """The violations that block the stack on the resource named ``name``."""
    return [v for v in report.mandatory_failures if v.resource_name == name]
