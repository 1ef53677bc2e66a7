"""The wrong-account guard: a deployment refuses to run with credentials of another account."""

from __future__ import annotations

from typing import Any

import pytest

from pipeline.errors import ProgramError
from pipeline.program import run_program
from shared.runtime import WrongAccountError, check_account

STACKS = ("dev", "staging", "prod")


@pytest.mark.parametrize("stack", STACKS)
def test_deploy_refuses_other_account(harness: Any, stack: str) -> None:
    expected = harness.cfg(harness.stack_values(stack), "accountId")
    other = "999999999999"
    assert other != expected
    with pytest.raises(ProgramError) as raised:
        run_program(stack, preview=False, caller_account=other)
    error, run = raised.value.__cause__, raised.value.run
    assert isinstance(error, WrongAccountError), repr(raised.value)
    message = str(error)
    assert other in message and expected in message
    assert f"Pulumi.{stack}.yaml" in message
    assert f"stack {stack!r}" in message
    assert run is not None
    assert harness.registered(run) == [], "nothing may be registered in the wrong account"
    assert [token for token, _ in run.invokes] == [harness.CALLER_IDENTITY]


@pytest.mark.parametrize("stack", STACKS)
def test_deploy_proceeds_in_the_stack_account(harness: Any, stock_runs: Any, stack: str) -> None:
    run = stock_runs(stack, False)  # run_program raises on any error: this run completed
    assert [token for token, _ in run.invokes] == [harness.CALLER_IDENTITY]
    assert harness.registered(run)


def test_preview_does_not_call_aws(harness: Any) -> None:
    """Documented choice: the guard runs on deployments only; preview changes nothing and must work
    offline (mocked runtime, no credentials)."""
    run = run_program("prod", preview=True, caller_account="999999999999")  # raises on any error
    assert run.invokes == []
    assert harness.registered(run)


def test_check_account_is_exact() -> None:
    check_account("161803398874", "161803398874", stack="prod", source="Pulumi.prod.yaml", key="p:accountId")
    with pytest.raises(WrongAccountError, match="p:accountId"):
        check_account(
            "161803398874", "061803398874", stack="prod", source="Pulumi.prod.yaml", key="p:accountId"
        )
