"""The `python -m pipeline` dispatcher: one module per subcommand, imported only when chosen."""

from __future__ import annotations

import types

import pytest

import pipeline.__main__ as cli


def test_check_is_registered_and_parses_options() -> None:
    parser = cli.build_parser("check")
    args = parser.parse_args(["check", "--stack", "prod", "--json"])
    assert args.stack == "prod" and args.json and args._module.__name__ == "pipeline.preview.check"


def test_every_subcommand_is_listed_even_when_not_loaded() -> None:
    parser = cli.build_parser(None)
    help_text = parser.format_help()
    for name in ("check", "access-matrix", "promote", "baseline", "local-up"):
        assert name in help_text


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


def test_choosing_check_does_not_import_the_emulator_or_automation() -> None:
    """`make check` must stay fast: the chosen subcommand's module only."""
    import subprocess
    import sys

    code = (
        "import sys; import pipeline.__main__ as cli; cli.build_parser('check'); "
        "print(sorted(m for m in ('moto', 'pipeline.emulator.matrix', 'pulumi.automation') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
