"""`python -m pipeline baseline --stack <s>`: rewrite a stack's reviewed permission baseline.

Why: the promotion refuses any access that is not in ``policy-pack/baselines/<stack>.json``. Widening access
is therefore a two-step, reviewable change: regenerate the file here, and let a reviewer approve the diff of
that JSON file in the same pull request. ``--check`` only reports (exit 1 when the file is out of date), so
CI can insist that a committed baseline matches the program.

The effective permissions come from the same place as in ``promote``: the program run under mocks. The
file also records the stack's reviewed exceptions (from ``policy-pack/config/<stack>.json``), because a new
or wider exception is new access too: ``--check`` lists it, and the promotion refuses it until the
regenerated file is reviewed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipeline import ROOT, STACKS
from pipeline.errors import ConfigurationError, PipelineError
from pipeline.promotion.paths import EXIT_ERROR, EXIT_OK, EXIT_REFUSED, ProjectPaths, effective_roles
from pipeline.promotion.permissions import (
    PermissionModelError,
    baseline_document,
    diff_baseline,
    dump_baseline,
    parse_baseline,
    render_table,
)
from pipeline.reviewed_exceptions import (
    baseline_entries,
    diff_exceptions,
    exceptions_from_baseline,
    load_config_exceptions,
)
from pipeline.yamlfile import read_text


def write_baseline(stack: str, paths: ProjectPaths, *, check: bool = False) -> tuple[bool, str]:
    """Regenerate (or with ``check`` only compare) one baseline; returns (up to date, report text)."""
    roles = effective_roles(stack, paths)
    config_path = paths.pack_config(stack)
    exceptions = load_config_exceptions(config_path)
    if exceptions.problems:
        raise PipelineError(f"{config_path}: " + "; ".join(exceptions.problems))
    new_text = dump_baseline(baseline_document(stack, roles, baseline_entries(exceptions.exceptions)))
    path = paths.baseline(stack)
    old_text: str | None = None
    if path.is_file():
        try:
            old_text = read_text(path, "baseline")
            old = parse_baseline(old_text, source=str(path))
            diff_text = render_table(diff_baseline(stack, roles, old))
            reviewed = exceptions_from_baseline(old, str(path))
            diff_text += diff_exceptions(
                exceptions, reviewed, candidate_name=stack, reference_name=f"baseline {stack}"
            ).render()
        except (PermissionModelError, ConfigurationError, ValueError) as exc:
            diff_text = f"{path.name}: unreadable ({exc}); it will be replaced\n"
    else:
        diff_text = f"{path.name}: new file\n"
    up_to_date = old_text == new_text
    if check:
        state = "up to date" if up_to_date else "out of date (run `python -m pipeline baseline`)"
        return up_to_date, f"{path}: {state}\n" + ("" if up_to_date else diff_text)
    if not up_to_date:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(new_text, encoding="utf-8")
        return True, f"wrote {path}\n{diff_text}"
    return True, f"{path}: unchanged\n"


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "baseline",
        help="rewrite policy-pack/baselines/<stack>.json (the reviewed effective permissions)",
        description=__doc__.split("\n\n")[0],
    )
    p.add_argument("--stack", required=True, choices=[*STACKS, "all"], help="stack to rewrite, or all")
    p.add_argument("--check", action="store_true", help="only report whether the file is up to date")
    p.add_argument("--project-dir", type=Path, default=ROOT, help=argparse.SUPPRESS)
    return p


def run(args: argparse.Namespace) -> int:
    stacks = STACKS if args.stack == "all" else (args.stack,)
    paths = ProjectPaths(project_dir=args.project_dir)
    code = EXIT_OK
    for stack in stacks:
        try:
            ok, text = write_baseline(stack, paths, check=args.check)
        except (PipelineError, PermissionModelError) as exc:
            print(f"baseline: error: {stack}: {exc}", file=sys.stderr)
            return EXIT_ERROR
        sys.stdout.write(text)
        if not ok:
            code = EXIT_REFUSED
    return code
