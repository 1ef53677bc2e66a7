"""`python -m pipeline <subcommand>`: one entry point, one module per subcommand.

Each subcommand lives in its own module, which registers itself with two functions:

* ``add_parser(subparsers) -> None`` adds its ``argparse`` sub-parser(s) (a module may add several,
  e.g. ``promote`` and ``baseline``);
* ``run(args) -> int`` does the work and returns the exit code.

Only the module of the chosen subcommand is imported, so ``check`` does not pay for the others (the
emulator, the Automation API).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
from collections.abc import Sequence

from pipeline import console

STARTED = time.perf_counter()
"""When the CLI started (the report footer times the whole command, imports included)."""

# subcommand -> (module, one-line help shown even when the module is not loaded)
COMMANDS: dict[str, tuple[str, str]] = {
    "check": (
        "pipeline.preview.check",
        "offline policy preview of the stacks (the verdict of `pulumi preview`)",
    ),
    "access-matrix": ("pipeline.emulator.matrix", "prove each role's access on the moto emulator"),
    "promote": ("pipeline.promotion.promote", "promote dev -> staging -> prod, each stage gated by the pack"),
    "baseline": ("pipeline.promotion.promote", "rewrite the reviewed baseline of a stack (--check: compare)"),
    "local-up": ("pipeline.emulator.local", "deploy a stack against the local AWS emulator"),
}


def _chosen_command(argv: Sequence[str]) -> str | None:
    """The first positional token, which argparse will treat as the subcommand name."""
    for token in argv:
        if not token.startswith("-"):
            return token
    return None


def build_parser(command: str | None) -> argparse.ArgumentParser:
    """The parser with the chosen command's real sub-parser(s) and help-only placeholders for the rest."""
    parser = argparse.ArgumentParser(prog="python -m pipeline", description=__doc__.splitlines()[0])
    subparsers = parser.add_subparsers(dest="command", metavar="<command>", required=True)
    if command in COMMANDS:
        module = importlib.import_module(COMMANDS[command][0])
        module.add_parser(subparsers)
        for sub in subparsers.choices.values():
            sub.set_defaults(_module=module)
            if not any("--wide" in action.option_strings for action in sub._actions):
                sub.add_argument(
                    "--wide", action="store_true", help="print tables in full instead of fitting the terminal"
                )
    for name, (_module_name, help_text) in COMMANDS.items():
        if name not in subparsers.choices:
            sub = subparsers.add_parser(name, help=help_text, add_help=False)
            sub.add_argument("rest", nargs=argparse.REMAINDER)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse and dispatch to the chosen subcommand's module; its ``run`` returns the exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(_chosen_command(args_list)).parse_args(args_list)
    args._started = STARTED
    console.set_wide(bool(getattr(args, "wide", False)))
    return int(args._module.run(args))


def main_interruptible(argv: Sequence[str] | None = None) -> int:
    """`main`, ended by Ctrl-C (exit 130) or SIGTERM/SIGHUP (128 + signal) with one line and no traceback.

    The signal is raised as an exception in the running code, so the moto server, pack processes and
    temporary files are released by the `with`/`finally` blocks that own them before the exit."""
    try:
        with console.signals_interrupt():
            code = main(argv)
            sys.stdout.flush()
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except console.Interrupted as stop:
        print(f"interrupted by {stop}", file=sys.stderr)
        return stop.exit_code
    except BrokenPipeError:  # `... | head`: the reader left; not an error worth a traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return code


if __name__ == "__main__":
    sys.exit(main_interruptible())
