"""Thin helpers for running the REAL program (stacks/__main__.py) against the REAL stack files.

The running and recording is the product's: ``pipeline.program.run_program`` (mock runtime, engine wire
form, unknown computed outputs in preview, ``getCallerIdentity`` answered with the stack's account or
``caller_account``), and config comes from ``pipeline.stackconfig`` exactly as the CLI would hand it over.
This module only adds look-ups by type/name and the decoded stack values the oracles are written
against. When the program fails, ``run_program`` raises ``ConfigurationError``/``ProgramError`` with the
program's exception as ``__cause__`` and the partial recording (resources, invokes) as ``.run``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import pytest

from pipeline import ROOT
from pipeline.program import run_program
from pipeline.recording import STACK_TYPE, UNKNOWN, ProgramRun, RecordedResource
from pipeline.stackconfig import load_project, resolve_stack_values, to_runtime_string

PROJECT = "ai-data-processing"
STACKS = ("dev", "staging", "prod")
CALLER_IDENTITY = "aws:index/getCallerIdentity:getCallerIdentity"

# Types the program registers.
COMPONENT = "ai-data-processing:iam:DataProcessingRole"
ROLE = "aws:iam/role:Role"
POLICY = "aws:iam/policy:Policy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
INSTANCE_PROFILE = "aws:iam/instanceProfile:InstanceProfile"


# ----------------------------------------------------------------------------------------- config


def stack_values(stack: str) -> dict[str, Any]:
    """A stack's config merged over Pulumi.yaml's defaults, decoded (objects stay objects), fresh copy."""
    values, _file = resolve_stack_values(load_project(ROOT), stack)
    return values


def encode(values: Mapping[str, Any]) -> dict[str, str]:
    """Decoded values as the engine hands them to the program (``run_program(config=...)``)."""
    return {key: to_runtime_string(value) for key, value in values.items()}


def cfg(values: Mapping[str, Any], short: str) -> Any:
    """A project key's decoded value."""
    return values[f"{PROJECT}:{short}"]


# ----------------------------------------------------------------------------------------- look-ups


def registered(run: ProgramRun) -> list[RecordedResource]:
    """What the program itself registered: everything but the root Stack and the engine's default
    provider (which ``run_program`` adds as the engine would)."""
    return [
        r
        for r in run.resources
        if r.type != STACK_TYPE
        and not (r.type.startswith("pulumi:providers:") and r.name.startswith("default"))
    ]


def of_type(run: ProgramRun, type_: str) -> list[RecordedResource]:
    return [r for r in run.resources if r.type == type_]


def one(run: ProgramRun, type_: str, name: str) -> RecordedResource:
    found = [r for r in run.resources if r.type == type_ and r.name == name]
    assert len(found) == 1, f"expected one {type_} named {name}, got {len(found)}"
    return found[0]


def children(run: ProgramRun, parent_urn: str) -> list[RecordedResource]:
    return [r for r in run.resources if r.parent == parent_urn]


def component_outputs(run: ProgramRun) -> dict[str, dict[str, Any]]:
    """URN -> registered outputs of every component resource (wire form)."""
    return {r.urn: r.outputs for r in run.resources if r.type == COMPONENT}


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
    """Every stock stack run once per mode, shared by the session's tests (the runs are deterministic)."""

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
    """run_program raises if a stock stack fails, so every run here completed without error."""
    return Runs(
        {
            (stack, preview): run_program(stack, preview=preview)
            for stack in STACKS
            for preview in (False, True)
        }
    )


@pytest.fixture
def dev_values() -> dict[str, Any]:
    """A fresh, mutable copy of the dev stack's decoded config, for bad-config tests."""
    return stack_values("dev")
