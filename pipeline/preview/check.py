"""`python -m pipeline check`: the verdict `pulumi preview --policy-pack` would give, offline.

Per stack: load and validate the stack config (`stackconfig`), run the program under the mock runtime
in preview and update mode (`program`), drive the real policy pack in its own process exactly as the
engine does (`packclient`), and turn the diagnostics into a `StackReport` (`report` renders it).

A check fails on any mandatory violation. It also fails on "can't run policy ... during preview"
advisories when the stack's pack config makes `iam-preview-verifiable` mandatory: that advisory is
how the SDK reports a policy that could not see a value at preview, and the real CLI lets it pass.
When such advisories occur, or any input was unknown at preview (a document built with `.apply` over
an output: the pack judges only the known parts), the update-mode resources (outputs known) are
analysed too, so the report shows what `pulumi up` would block, before anything is deployed.

Speed: all pack processes start first and boot in parallel while the programs run in this process
(pulumi_aws is imported once); the RPCs of the stacks then run concurrently.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from pipeline import ROOT, STACKS
from pipeline.console import output_file
from pipeline.errors import ConfigurationError, PipelineError, ProgramError
from pipeline.preview.packclient import (
    Diagnostic,
    PackInfo,
    PolicyConfigValue,
    PolicyPackProcess,
    load_pack_config,
    reconcile_pack_config,
)
from pipeline.preview.verdict import (
    PREVIEW_VERIFIABLE_POLICY,
    StackFailure,
    StackReport,
    Violation,
    role_names,
    role_of,
)
from pipeline.program import run_program
from pipeline.recording import STACK_TYPE, UNKNOWN, ProgramRun, RecordedResource
from pipeline.reviewed_exceptions import stack_exceptions, summarize
from pipeline.stackconfig import Project, load_project, load_stack_config, require_stacks
from pipeline.yamlfile import load_yaml


def _violations(
    diagnostics: Iterable[Diagnostic], run: ProgramRun, phase: str, preview_verifiable_level: str
) -> list[Violation]:
    by_urn = run.by_urn()
    roles = role_names(run)
    out: list[Violation] = []
    for d in diagnostics:
        resource = by_urn.get(d.urn) if d.urn else None
        unverifiable = d.cant_run and d.enforcement_level == "advisory"
        failure = d.enforcement_level in ("mandatory", "remediate") or (
            unverifiable and preview_verifiable_level == "mandatory"
        )
        out.append(
            Violation(
                policy=d.policy_name,
                enforcement_level=d.enforcement_level,
                message=d.detail,
                description=d.description,
                urn=d.urn or None,
                resource_type=resource.type if resource else None,
                resource_name=resource.name if resource else None,
                role=role_of(d.urn, by_urn, roles),
                phase=phase,
                severity=d.severity,
                unverifiable=unverifiable,
                counts_as_failure=failure,
            )
        )
    return out


# --------------------------------------------------------------------------------------------------
# The check


@dataclass(slots=True)
class _StackJob:
    """Everything one stack's check carries between the phases."""

    stack: str
    project: str
    stack_file: Path
    pack_config_file: Path
    config: dict[str, str]
    pack_config: dict[str, PolicyConfigValue]
    pack: PolicyPackProcess
    preview: ProgramRun | None = None
    update: ProgramRun | None = None
    info: PackInfo | None = None
    effective: dict[str, PolicyConfigValue] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    update_diagnostics: list[Diagnostic] = field(default_factory=list)


def _pack_version(pack_dir: Path, reported: str) -> str:
    """The engine uses PulumiPolicy.yaml's `version` (Python packs always report 0.0.1)."""
    data = load_yaml(pack_dir / "PulumiPolicy.yaml", "policy pack manifest") or {}
    return str(data.get("version") if isinstance(data, dict) and data.get("version") else reported)


def _providers(run: ProgramRun) -> dict[str, RecordedResource]:
    return {r.urn: r for r in run.resources if r.type.startswith("pulumi:providers:")}


def _configure(job: _StackJob, pack: PolicyPackProcess) -> None:
    """GetAnalyzerInfo -> reconcile the pack config file -> Configure -> ConfigureStack."""
    info = pack.get_info()
    effective, notes = reconcile_pack_config(info, job.pack_config, str(job.pack_config_file))
    # The schema checks each exception's keys; dates, ids and globs are checked here, before any run.
    invalid = stack_exceptions(effective).problems
    if invalid:
        raise ConfigurationError(f"{job.pack_config_file}: invalid exception: " + "; ".join(invalid))
    job.info = info
    job.effective = effective
    job.notes.extend(n for n in notes if n not in job.notes)
    pack.configure(effective)
    pack.configure_stack()


def _analyze(job: _StackJob, pack: PolicyPackProcess, run: ProgramRun) -> list[Diagnostic]:
    _configure(job, pack)
    providers = _providers(run)
    return pack.analyze(run.resources, providers) + pack.analyze_stack(run.resources, providers)


def _contains_unknown(value: Any) -> bool:
    if isinstance(value, str):
        return UNKNOWN in value
    if isinstance(value, Mapping):
        return any(_contains_unknown(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_contains_unknown(v) for v in value)
    return False


def _has_unknown_inputs(run: ProgramRun) -> bool:
    """Whether any input was unknown at preview: the pack judged only the known parts, so `pulumi up`
    (which analyses again with every value known) may block what the preview let through."""
    return any(_contains_unknown(r.inputs) for r in run.resources)


def _analyze_update(job: _StackJob, pack_dir: Path) -> None:
    """Analyse the update-mode resources (outputs known) in a pack started with PULUMI_DRY_RUN=false."""
    assert job.update is not None
    with PolicyPackProcess(
        pack_dir, project=job.project, stack=job.stack, dry_run=False, config=job.config
    ) as pack:
        job.update_diagnostics = _analyze(job, pack, job.update)


def _report(job: _StackJob, pack_dir: Path, started: float) -> StackReport:
    assert job.preview is not None and job.update is not None and job.info is not None
    level = (
        job.effective.get(PREVIEW_VERIFIABLE_POLICY, PolicyConfigValue(None)).enforcement_level or "advisory"
    )
    violations = _violations(job.diagnostics, job.preview, "preview", level)
    seen = {(v.policy, v.urn, v.message) for v in violations}
    for v in _violations(job.update_diagnostics, job.update, "update", level):
        if not v.unverifiable and (v.policy, v.urn, v.message) not in seen:
            violations.append(v)
    order = {"mandatory": 0, "remediate": 0, "advisory": 1, "disabled": 2}
    violations.sort(
        key=lambda v: (
            not v.counts_as_failure,
            order.get(v.enforcement_level, 3),
            v.policy,
            v.role or "",
            v.urn or "",
        )
    )
    resources = [
        {"type": r.type, "name": r.name, "urn": r.urn}
        for r in job.preview.resources
        if not r.type.startswith("pulumi:providers:")
    ]
    roles = job.update.outputs.get("roles")
    notes = list(job.notes)
    notes.extend(f"program ({job.stack}): {m}" for m in job.preview.logs)
    return StackReport(
        stack=job.stack,
        project=job.project,
        stack_file=job.stack_file,
        pack_config_file=job.pack_config_file,
        pack_name=job.info.name,
        pack_version=_pack_version(pack_dir, job.info.version),
        resources=resources,
        violations=violations,
        roles=roles if isinstance(roles, dict) else {},
        preview_verifiable_level=level,
        policy_levels={k: v.enforcement_level or "advisory" for k, v in job.effective.items()},
        notes=notes,
        elapsed=time.perf_counter() - started,
        exceptions=summarize(violations, job.effective),
    )


def check_each_stack(
    stacks: Sequence[str],
    *,
    project_dir: Path = ROOT,
    stack_files: Mapping[str, Path] | None = None,
    pack_config_files: Mapping[str, Path] | None = None,
    pack_dir: Path | None = None,
    program_dir: Path | None = None,
) -> list[StackReport | StackFailure]:
    """Check several stacks at once (pack processes boot in parallel), one result per stack in order.

    A stack that cannot be checked (bad stack file, failing program, broken pack config) becomes a
    `StackFailure` and the others still get their report. A problem shared by all (Pulumi.yaml, the
    pack itself) raises PipelineError."""
    started = time.perf_counter()
    project_dir = Path(project_dir)
    project = load_project(project_dir)
    pack_dir = Path(pack_dir) if pack_dir is not None else project_dir / "policy-pack"
    jobs: list[_StackJob] = []
    failures: dict[str, PipelineError] = {}
    try:
        for stack in stacks:
            try:
                jobs.append(_start_job(stack, project, project_dir, stack_files, pack_config_files, pack_dir))
            except ConfigurationError as exc:
                failures[stack] = exc
        for job in jobs:
            try:
                program = partial(
                    run_program,
                    job.stack,
                    config=job.config,
                    project_dir=project_dir,
                    program_dir=program_dir,
                )
                job.preview, job.update = program(preview=True), program(preview=False)
            except (ConfigurationError, ProgramError) as exc:
                failures[job.stack] = exc
                job.pack.close()

        def preview_phase(job: _StackJob) -> None:
            assert job.preview is not None
            job.diagnostics = _analyze(job, job.pack, job.preview)
            job.pack.close()
            if any(d.cant_run for d in job.diagnostics) or _has_unknown_inputs(job.preview):
                _analyze_update(job, pack_dir)

        ready = [job for job in jobs if job.stack not in failures]
        with ThreadPoolExecutor(max_workers=max(1, len(ready))) as pool:
            futures = {job.stack: pool.submit(preview_phase, job) for job in ready}
            for stack, future in futures.items():
                try:
                    future.result()
                except ConfigurationError as exc:  # the stack's pack config does not fit the pack
                    failures[stack] = exc
        reports = {job.stack: _report(job, pack_dir, started) for job in ready if job.stack not in failures}
        return [reports.get(stack) or StackFailure(stack, failures[stack]) for stack in stacks]
    finally:
        for job in jobs:
            job.pack.close()


def _start_job(
    stack: str,
    project: Project,
    project_dir: Path,
    stack_files: Mapping[str, Path] | None,
    pack_config_files: Mapping[str, Path] | None,
    pack_dir: Path,
) -> _StackJob:
    """Read one stack's config and pack config, and start its pack process booting."""
    stack_file = Path((stack_files or {}).get(stack) or project.stack_file(stack))
    config = load_stack_config(project_dir, stack, stack_file)
    pack_config_file = Path((pack_config_files or {}).get(stack) or pack_dir / "config" / f"{stack}.json")
    if not pack_config_file.is_file():
        raise ConfigurationError(f"{pack_config_file}: policy pack config for stack '{stack}' not found")
    pack_config = load_pack_config(pack_config_file)
    pack = PolicyPackProcess(pack_dir, project=project.name, stack=stack, dry_run=True, config=config)
    job = _StackJob(stack, project.name, stack_file, pack_config_file, config, pack_config, pack)
    pack.start()
    return job


def check_stacks(
    stacks: Sequence[str],
    *,
    project_dir: Path = ROOT,
    stack_files: Mapping[str, Path] | None = None,
    pack_config_files: Mapping[str, Path] | None = None,
    pack_dir: Path | None = None,
    program_dir: Path | None = None,
) -> list[StackReport]:
    """`check_each_stack` for callers that need every verdict: the first stack that could not be checked
    raises its PipelineError (exit 2)."""
    results = check_each_stack(
        stacks,
        project_dir=project_dir,
        stack_files=stack_files,
        pack_config_files=pack_config_files,
        pack_dir=pack_dir,
        program_dir=program_dir,
    )
    for result in results:
        if isinstance(result, StackFailure):
            raise result.error
    return [r for r in results if isinstance(r, StackReport)]


def check_stack(
    stack: str,
    *,
    project_dir: Path = ROOT,
    stack_file: Path | None = None,
    pack_config_file: Path | None = None,
    pack_dir: Path | None = None,
    program_dir: Path | None = None,
) -> StackReport:
    """Check one stack; `stack_file`/`pack_config_file` substitute tampered copies (tests, promotion)."""
    return check_stacks(
        [stack],
        project_dir=project_dir,
        stack_files={stack: stack_file} if stack_file is not None else None,
        pack_config_files={stack: pack_config_file} if pack_config_file is not None else None,
        pack_dir=pack_dir,
        program_dir=program_dir,
    )[0]


def overall_exit_code(reports: Sequence[StackReport]) -> int:
    """0 when every stack passed, 1 when at least one mandatory failure."""
    return 0 if all(r.passed for r in reports) else 1


# --------------------------------------------------------------------------------------------------
# CLI


def add_parser(subparsers: Any) -> None:
    """Register `check` with the `python -m pipeline` dispatcher."""
    parser = subparsers.add_parser(
        "check",
        help="offline policy preview of the stacks (the verdict of `pulumi preview`)",
        description=__doc__.splitlines()[0],
    )
    parser.add_argument("--stack", default="all", help="dev, staging, prod, a comma list, or all (default)")
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print the report as JSON")
    output.add_argument(
        "--sarif", metavar="FILE", type=output_file, help="also write SARIF 2.1.0 to FILE (folder must exist)"
    )
    parser.add_argument(
        "--live",
        action="store_true",
        help="run the real `pulumi preview --policy-pack` (needs the Pulumi CLI)",
    )
    parser.add_argument("--project-dir", type=Path, default=ROOT, help=argparse.SUPPRESS)


def parse_stacks(value: str, project_dir: Path = ROOT) -> list[str]:
    """`all` -> every stack in promotion order; otherwise a comma-separated list of existing stacks."""
    if value == "all":
        return list(STACKS)
    stacks = list(dict.fromkeys(s.strip() for s in value.split(",") if s.strip()))
    if not stacks:
        raise ConfigurationError("--stack needs a stack name")
    require_stacks(load_project(project_dir), stacks)
    return stacks


def run(args: argparse.Namespace) -> int:
    """Run the check and print the report; exit 0 pass, 1 mandatory violation, 2 error (message only)."""
    from pipeline.preview import report as render

    started = getattr(args, "_started", None) or time.perf_counter()
    failures: list[StackFailure] = []
    try:
        stacks = parse_stacks(args.stack, args.project_dir)
        if args.live:
            from pipeline.preview.live import live_check_each_stack

            results = live_check_each_stack(stacks, project_dir=args.project_dir)
        else:
            results = check_each_stack(stacks, project_dir=args.project_dir)
        reports = [r for r in results if isinstance(r, StackReport)]
        failures = [r for r in results if isinstance(r, StackFailure)]
    except PipelineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except Exception as exc:  # an internal error is still a message, not a traceback
        print(f"internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    elapsed = time.perf_counter() - started
    mode = "live" if args.live else "offline"
    if args.json:
        data = render.to_json(reports, elapsed, mode=mode)
        if failures:
            data["errors"] = [f.to_dict() for f in failures]
        print(json.dumps(data, indent=2))
    elif reports:
        print(render.render_text(reports, elapsed, mode=mode))
    for failure in failures:  # after the reports, so the last lines say what has no verdict
        print(f"error: stack {failure.stack} could not be checked: {failure.error}", file=sys.stderr)
    if args.sarif:
        try:
            args.sarif.write_text(
                json.dumps(render.to_sarif(reports, args.project_dir), indent=2) + "\n", encoding="utf-8"
            )
        except OSError as exc:
            print(f"error: cannot write {args.sarif}: {exc}", file=sys.stderr)
            return 2
    return max([overall_exit_code(reports), *(f.exit_code for f in failures)])


__all__ = [
    "STACK_TYPE",
    "StackFailure",
    "StackReport",
    "Violation",
    "check_each_stack",
    "check_stack",
    "check_stacks",
    "overall_exit_code",
]
