"""Mock harness: run the REAL program (stacks/__main__.py) against the REAL stack files, no cloud, no CLI.

How it stays faithful to a real run:
- config comes from ``Pulumi.<stack>.yaml`` with ``Pulumi.yaml``'s defaults applied, encoded the way the
  engine hands it to a Python program (strings; objects and lists as JSON);
- the program runs inside ``run_in_stack`` like the language host does, so stack outputs are registered;
- the monitor records each registration in *engine wire form* (``MessageToDict`` of the request), so an
  unknown value shows up as the engine's sentinel string, exactly what a policy pack would receive;
- in preview mode the mock provider returns only the inputs: every computed output (``arn``, ``id``,
  ``uniqueId``, ...) is unknown, as in a real first preview. Anything built from such an output would
  be unknown too, which is what the preview tests look for.
"""

from __future__ import annotations

import copy
import json
import os
import runpy
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pulumi
import pytest
import yaml
from google.protobuf import json_format
from pulumi.runtime import settings as runtime_settings
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.rpc import UNKNOWN
from pulumi.runtime.stack import run_in_stack
from pulumi.runtime.sync_await import _sync_await

ROOT = Path(__file__).resolve().parents[2]
MAIN = ROOT / "stacks" / "__main__.py"
PROJECT = "ai-data-processing"
STACKS = ("dev", "staging", "prod")
CALLER_IDENTITY = "aws:index/getCallerIdentity:getCallerIdentity"

# Types the program registers.
COMPONENT = "ai-data-processing:iam:DataProcessingRole"
ROLE = "aws:iam/role:Role"
POLICY = "aws:iam/policy:Policy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
INSTANCE_PROFILE = "aws:iam/instanceProfile:InstanceProfile"


# ----------------------------------------------------------------------------------------- stack files


def read_yaml(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    assert isinstance(data, dict), f"{path} is not a YAML mapping"
    return data


def project_defaults() -> dict[str, Any]:
    """Defaults declared in Pulumi.yaml's typed config block, as full keys (the CLI applies them)."""
    declared = read_yaml(ROOT / "Pulumi.yaml").get("config") or {}
    out: dict[str, Any] = {}
    for key, decl in declared.items():
        full = key if ":" in key else f"{PROJECT}:{key}"
        if isinstance(decl, dict) and "default" in decl:
            out[full] = decl["default"]
        elif not isinstance(decl, dict):
            out[full] = decl
    return out


def stack_values(stack: str) -> dict[str, Any]:
    """The decoded config of a stack file merged over the project defaults (objects stay objects)."""
    values = project_defaults()
    values.update(read_yaml(ROOT / f"Pulumi.{stack}.yaml").get("config") or {})
    return values


def encode(values: Mapping[str, Any]) -> dict[str, str]:
    """Config as the engine passes it to a Python program: every value a string, structures as JSON."""
    out: dict[str, str] = {}
    for key, value in values.items():
        if isinstance(value, str):
            out[key] = value
        elif isinstance(value, bool):
            out[key] = "true" if value else "false"
        else:
            out[key] = json.dumps(value)
    return out


def cfg(values: Mapping[str, Any], short: str) -> Any:
    """A project key's decoded value."""
    return values[f"{PROJECT}:{short}"]


# ----------------------------------------------------------------------------------------- recording


@dataclass
class Registration:
    type: str
    name: str
    urn: str
    parent: str
    custom: bool
    inputs: dict[str, Any]  # engine wire form (camelCase, unknowns as the sentinel string)
    dependencies: list[str]
    property_dependencies: dict[str, list[str]]


@dataclass
class ProgramRun:
    stack: str
    preview: bool
    resources: list[Registration]
    outputs: dict[str, Any]  # stack outputs, wire form
    component_outputs: dict[str, dict[str, Any]]  # URN -> registered outputs, wire form
    calls: list[tuple[str, dict[str, Any]]]
    error: BaseException | None = None

    def of_type(self, type_: str) -> list[Registration]:
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str, name: str) -> Registration:
        found = [r for r in self.resources if r.type == type_ and r.name == name]
        assert len(found) == 1, f"expected one {type_} named {name}, got {len(found)}"
        return found[0]

    def children(self, parent_urn: str) -> list[Registration]:
        return [r for r in self.resources if r.parent == parent_urn]


class RecordingMocks(pulumi.runtime.Mocks):
    """Fake provider. Preview: inputs only (computed outputs unknown). Update: inputs plus computed ARNs."""

    def __init__(self, *, preview: bool, account: str, caller_account: str | None) -> None:
        self.preview = preview
        self.account = account
        self.caller_account = caller_account
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        state = dict(args.inputs)
        if not args.custom:
            return None, {}
        if self.preview:
            return "", state
        name = state.get("name") or args.name
        kind = {ROLE: "role", POLICY: "policy", INSTANCE_PROFILE: "instance-profile"}.get(args.typ)
        if kind is not None:
            state["arn"] = f"arn:aws:iam::{self.account}:{kind}/{name}"
            return name, state
        return f"{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        self.calls.append((args.token, dict(args.args)))
        if args.token == CALLER_IDENTITY:
            account = self.caller_account or self.account
            return {
                "accountId": account,
                "arn": f"arn:aws:sts::{account}:assumed-role/deployer/ci",
                "id": account,
                "userId": "AROAEXAMPLE:ci",
            }
        return {}


class RecordingMonitor(MockMonitor):
    """MockMonitor that also keeps what the engine would see: parent, dependencies, wire-form inputs."""

    def __init__(self, mocks: RecordingMocks) -> None:
        super().__init__(mocks)
        self.registrations: list[Registration] = []
        self.outputs_by_urn: dict[str, dict[str, Any]] = {}

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            self.registrations.append(
                Registration(
                    type=request.type,
                    name=request.name,
                    urn=response.urn,
                    parent=request.parent,
                    custom=bool(request.custom),
                    inputs=json_format.MessageToDict(request.object),
                    dependencies=list(request.dependencies),
                    property_dependencies={k: list(v.urns) for k, v in request.propertyDependencies.items()},
                )
            )
        return response

    def RegisterResourceOutputs(self, request: Any) -> Any:
        self.outputs_by_urn[request.urn] = json_format.MessageToDict(request.outputs)
        return super().RegisterResourceOutputs(request)


_PLACEHOLDER_ROOT: Any = object()


def run_program(
    stack: str,
    *,
    preview: bool,
    values: Mapping[str, Any] | None = None,
    caller_account: str | None = None,
    via_env: bool = False,
) -> ProgramRun:
    """Run stacks/__main__.py once under fresh mocks; never raises (the error is in ``.error``).

    ``via_env``: hand the config over in the ``PULUMI_CONFIG`` environment variable, the way the Python
    language host does in a real run, instead of ``set_all_config``."""
    values = stack_values(stack) if values is None else values
    account = str(values.get(f"{PROJECT}:accountId", "000000000000"))
    mocks = RecordingMocks(preview=preview, account=account, caller_account=caller_account)
    monitor = RecordingMonitor(mocks)

    saved_env = os.environ.pop("PULUMI_CONFIG", None)
    try:
        if via_env:
            os.environ["PULUMI_CONFIG"] = json.dumps(encode(values))
            pulumi.runtime.set_all_config({})
        else:
            pulumi.runtime.set_all_config(encode(values))
        # set_mocks would install (and immediately finish) a root stack of its own when none exists; a
        # placeholder root prevents that, so the program runs like under the language host: inside the
        # fresh stack run_in_stack creates, whose outputs are registered once, at the end.
        runtime_settings.ROOT.set(_PLACEHOLDER_ROOT)
        pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=preview, monitor=monitor)
        runtime_settings.ROOT.set(None)
        runtime_settings.SETTINGS.rpc_manager.clear()
        runtime_settings.SETTINGS.outputs.clear()
        error: BaseException | None = None
        try:
            _sync_await(run_in_stack(lambda: runpy.run_path(str(MAIN), run_name="__main__")))
        except Exception as exc:  # handed to the test
            error = exc
    finally:
        runtime_settings.ROOT.set(None)
        os.environ.pop("PULUMI_CONFIG", None)
        if saved_env is not None:
            os.environ["PULUMI_CONFIG"] = saved_env

    stack_urn = f"urn:pulumi:{stack}::{PROJECT}::pulumi:pulumi:Stack::{PROJECT}-{stack}"
    return ProgramRun(
        stack=stack,
        preview=preview,
        resources=monitor.registrations,
        outputs=monitor.outputs_by_urn.get(stack_urn, {}),
        component_outputs={k: v for k, v in monitor.outputs_by_urn.items() if k != stack_urn},
        calls=mocks.calls,
        error=error,
    )


def contains_unknown(value: Any) -> bool:
    """True when the engine sentinel for "unknown" occurs anywhere in a wire-form value."""
    if isinstance(value, str):
        return value == UNKNOWN
    if isinstance(value, Mapping):
        return any(contains_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(contains_unknown(v) for v in value)
    return False


def iter_statements(document: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    statements = document["Statement"]
    yield from statements if isinstance(statements, list) else [statements]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# ----------------------------------------------------------------------------------------- fixtures


@dataclass(frozen=True)
class Runs:
    """Every stock stack run once per mode, shared by the module's tests (the runs are deterministic)."""

    by_key: dict[tuple[str, bool], ProgramRun] = field(default_factory=dict)

    def __call__(self, stack: str, preview: bool) -> ProgramRun:
        return self.by_key[(stack, preview)]


@pytest.fixture(scope="session")
def harness() -> ModuleType:
    """This module: tests reach the helpers through a fixture (no imports between test files under
    ``--import-mode=importlib``)."""
    return sys.modules[__name__]


@pytest.fixture(scope="session")
def stock_runs() -> Runs:
    runs = Runs()
    for stack in STACKS:
        for preview in (False, True):
            run = run_program(stack, preview=preview)
            if run.error is not None:
                raise run.error
            runs.by_key[(stack, preview)] = run
    return runs


@pytest.fixture
def dev_values() -> dict[str, Any]:
    """A fresh, mutable copy of the dev stack's decoded config, for bad-config tests."""
    return copy.deepcopy(stack_values("dev"))
