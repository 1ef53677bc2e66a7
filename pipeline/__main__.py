"""`python -m pipeline <subcommand>`: one entry point, one module per subcommand.

Each subcommand lives in its own module, which registers itself with two functions:

* ``add_parser(subparsers) -> None`` adds its ``argparse`` sub-parser(s) (a module may add several,
  e.g. ``promote`` and ``baseline``);
* ``run(args) -> int`` does the work and returns the exit code.

Only the module of the chosen subcommand is imported, so ``check`` does not pay for the others and a
module that does not exist yet (or fails to import) only breaks its own subcommand.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
from collections.abc import Sequence
from types import ModuleType

STARTED = time.perf_counter()
"""When the CLI started (the report footer times the whole command, imports included)."""

# subcommand -> (module, one-line help shown even when the module is not loaded)
COMMANDS: dict[str, tuple[str, str]] = {
    "check": ("pipeline.check", "offline policy preview of the stacks (the verdict of `pulumi preview`)"),
    "access-matrix": ("pipeline.matrix", "prove each role's access on the moto emulator"),
    "promote": ("pipeline.promote", "promote dev -> staging -> prod, each stage gated by the pack"),
    "baseline": ("pipeline.promote", "rewrite the reviewed baseline of a stack (--check: compare)"),
    "local-up": ("pipeline.local", "deploy a stack against the local AWS emulator"),
}


def _chosen_command(argv: Sequence[str]) -> str | None:
    """The first positional token, which argparse will treat as the subcommand name."""
    for token in argv:
        if not token.startswith("-"):
            return token
    return None


def _load(module_name: str) -> tuple[ModuleType | None, str | None]:
    """Import a subcommand module; return (module, None) or (None, why it is unavailable)."""
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            return None, f"{module_name.replace('.', '/')}.py is not present yet"
        return None, f"{module_name} cannot be imported: {exc}"
    except Exception as exc:  # a broken sibling module must not take the other subcommands down
        return None, f"{module_name} cannot be imported: {type(exc).__name__}: {exc}"
    if not callable(getattr(module, "add_parser", None)) or not callable(getattr(module, "run", None)):
        return None, f"{module_name} does not define add_parser(subparsers) and run(args)"
    return module, None


def build_parser(command: str | None) -> tuple[argparse.ArgumentParser, dict[str, str]]:
    """The parser with the chosen command's real sub-parser and placeholders for the rest.

    Returns the parser and, per command whose module could not be loaded, the reason.
    """
    parser = argparse.ArgumentParser(prog="python -m pipeline", description=__doc__.splitlines()[0])
    subparsers = parser.add_subparsers(dest="command", metavar="<command>", required=True)
    unavailable: dict[str, str] = {}
    if command in COMMANDS:
        module, why = _load(COMMANDS[command][0])
        if module is not None:
            module.add_parser(subparsers)
            for sub in subparsers.choices.values():
                sub.set_defaults(_module=module)
        else:
            unavailable[command] = why or "unavailable"
    for name, (_module_name, help_text) in COMMANDS.items():
        if name not in subparsers.choices:
            sub = subparsers.add_parser(name, help=help_text, add_help=False)
            sub.add_argument("rest", nargs=argparse.REMAINDER)
    return parser, unavailable


def main(argv: Sequence[str] | None = None) -> int:
    """Parse, dispatch, and turn a missing subcommand module into a message with exit code 2."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    command = _chosen_command(args_list)
    parser, unavailable = build_parser(command)
    if command in unavailable:  # report before argparse judges options it cannot know
        print(f"pipeline: subcommand '{command}' is not available: {unavailable[command]}", file=sys.stderr)
        return 2
    args = parser.parse_args(args_list)
    args._started = STARTED
    module = getattr(args, "_module", None)
    if module is None:
        reason = unavailable.get(args.command, "its module is not available")
        print(f"pipeline: subcommand '{args.command}' is not available: {reason}", file=sys.stderr)
        return 2
    return int(module.run(args))


if __name__ == "__main__":
    try:
        code = main()
        sys.stdout.flush()
    except BrokenPipeError:  # `... | head`: the reader left; not an error worth a traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 0
    sys.exit(code)
