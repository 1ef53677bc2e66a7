"""The pack reads the stack's config (PULUMI_CONFIG, which holds every role) once per value, not on
every resource: a 250-role stack otherwise spent most of its offline check parsing it again."""

from __future__ import annotations

import json

import pytest
from iam_pack import engine


def test_the_stack_config_is_parsed_once_and_follows_a_change(monkeypatch: pytest.MonkeyPatch) -> None:
    roles = [{"name": f"worker-{i}"} for i in range(300)]
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps({"proj:accountId": "111111111111", "proj:roles": roles}))
    first = engine._stack_config()
    assert engine._stack_config() is first  # the same parsed value, not a new parse
    assert engine.stack_account_id() == "111111111111"
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps({"proj:accountId": "222222222222"}))
    assert engine.stack_account_id() == "222222222222"
    monkeypatch.setenv("PULUMI_CONFIG", "{not json")
    assert engine._stack_config() == {}
    monkeypatch.delenv("PULUMI_CONFIG")
    assert engine._stack_config() == {}
