"""The `python -m pipeline` dispatcher: lazy subcommand modules, missing ones reported, not fatal."""

from __future__ import annotations

import types

import pytest

import pipeline.__main__ as cli


def test_check_is_registered_and_parses_options() -> None:
    parser, unavailable = cli.build_parser("check")
    args = parser.parse_args(["check", "--stack", "prod", "--json"])
    assert unavailable == {}
    assert args.stack == "prod" and args.json and args._module.__name__ == "pipeline.check"


def test_every_subcommand_is_listed_even_when_not_loaded() -> None:
    parser, _ = cli.build_parser(None)
    help_text = parser.format_help()
    for name in ("check", "access-matrix", "promote", "baseline", "local-up"):
        assert name in help_text


def test_missing_module_is_exit_2_with_reason(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(cli.COMMANDS, "frobnicate", ("pipeline.does_not_exist", "test only"))
    assert cli.main(["frobnicate", "--x"]) == 2
    assert "pipeline/does_not_exist.py is not present yet" in capsys.readouterr().err


def test_module_registers_its_own_subcommands(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    fake = types.ModuleType("pipeline.fake_two")

    def add_parser(subparsers: object) -> None:
        for name in ("one", "two"):
            sub = subparsers.add_parser(name)  # type: ignore[attr-defined]
            sub.add_argument("--flag", action="store_true")

    def run(args: object) -> int:
        calls.append(args.command)  # type: ignore[attr-defined]
        return 7

    fake.add_parser = add_parser  # type: ignore[attr-defined]
    fake.run = run  # type: ignore[attr-defined]
    monkeypatch.setitem(__import__("sys").modules, "pipeline.fake_two", fake)
    monkeypatch.setitem(cli.COMMANDS, "one", ("pipeline.fake_two", "first"))
    monkeypatch.setitem(cli.COMMANDS, "two", ("pipeline.fake_two", "second"))
    assert cli.main(["two", "--flag"]) == 7
    assert calls == ["two"]
