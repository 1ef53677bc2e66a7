"""`python -m pipeline promote`: dev, then staging, then prod, each gated by the policy pack.

Why this exists: a promotion that forgets ``--policy-pack`` once, or deploys to prod what staging never ran,
defeats the pack (pulumi/pulumi#5541: a local pack has to be passed by hand on every command). So the pack
and the environment's pack config are passed on every preview and up here, and the stages are chained:

1. Promotion invariants, before anything is previewed, for every stage of the run:
   (a) prod grants no access that staging does not (environment-neutral: bucket names and account ids
       do not count), printed as a table and as Markdown;
   (b) no stage grants access outside its reviewed baseline ``policy-pack/baselines/<stack>.json``;
   (c) exceptions are access too: prod's pack config holds no exception that staging's does not cover,
       and no stage holds one its baseline does not (``pipeline.reviewed_exceptions``).
2. Per stage, in order up to the target, each only when the previous stage is deployed at this commit:
   the offline policy check; ``preview`` with the pack (stop on mandatory violations, and in staging and
   prod on any "can't run policy ... during preview" advisory); prod confirmation; ``up`` with the pack;
   then outputs present, ``pulumi policy analyze`` on the deployed state where the CLI has it, and the
   deployed commit recorded in the stack.

``--offline`` runs the same flow with the offline check in place of preview and no deploy.

Effective permissions come from one place only: the program run under mocks
(``run_program(stack, preview=False).outputs["roles"]``), the same data the deployed stack exports.

Exit codes: 0 promoted (or would be, offline); 1 refused (invariant, policy, gate or confirmation);
2 could not run (Pulumi CLI or backend problem, bad configuration), always as one line.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline import ROOT, STACKS
from pipeline.console import output_file_or_stdout
from pipeline.errors import ConfigurationError, PipelineError
from pipeline.preview.packclient import pack_virtualenv_problem
from pipeline.promotion.deploy import AutomationBackend, StageBackend, classify_error, cli_available
from pipeline.promotion.paths import EXIT_ERROR, EXIT_OK, EXIT_REFUSED, ProjectPaths, effective_roles
from pipeline.promotion.permissions import (
    PermissionDiff,
    PermissionModelError,
    diff_baseline,
    diff_environments,
    diff_grants,
    grants_for_roles,
    parse_baseline,
    render_markdown,
    render_table,
)
from pipeline.reviewed_exceptions import (
    ExceptionDiff,
    diff_exceptions,
    exceptions_from_baseline,
    load_config_exceptions,
)
from pipeline.yamlfile import read_text

STRICT_PREVIEW_STAGES = frozenset({"staging", "prod"})
"""Stages where a policy that could not run at preview (an unknown value) stops the promotion."""
CONFIRM_STAGES = frozenset({"prod"})
SUPERSET_RULES: tuple[tuple[str, str], ...] = (("prod", "staging"),)
"""(candidate, reference): the candidate may grant nothing the reference does not."""
REQUIRED_OUTPUTS = ("roles", "accountId", "stack")
MAX_LISTED = 12
"""Findings printed per failed step; the rest are counted (the JSON report has them all)."""


@dataclass(frozen=True)
class CheckSummary:
    """What the promotion needs from the offline check's StackReport."""

    mandatory: tuple[str, ...]
    unverifiable: tuple[str, ...]
    advisory: int

    @property
    def ok(self) -> bool:
        return not self.mandatory


def _violation_line(v: Any) -> str:
    """One line per check finding: level, policy, where (role or resource), the message's last line."""
    where = getattr(v, "role", None) or getattr(v, "resource_name", None) or getattr(v, "urn", None) or ""
    text = str(getattr(v, "message", "")).strip().splitlines()
    level = getattr(v, "enforcement_level", "")
    return (
        f"{level} {getattr(v, 'policy', '')}"
        + (f" [{where}]" if where else "")
        + (f": {text[-1]}" if text else "")
    )


def offline_check(stack: str, paths: ProjectPaths) -> CheckSummary:
    """Run ``pipeline.preview.check.check_stack`` with this stage's pack and pack config; keep the verdict."""
    from pipeline.preview.check import check_stack

    report = check_stack(
        stack,
        project_dir=paths.project_dir,
        stack_file=paths.stack_file(stack),
        pack_dir=paths.pack,
        pack_config_file=paths.pack_config(stack),
    )
    failures = report.mandatory_failures
    mandatory = tuple(_violation_line(v) for v in failures)
    unverifiable = tuple(
        _violation_line(v) for v in report.unverifiable if v not in failures and v.phase == "preview"
    )
    advisory = sum(1 for v in report.violations if v not in failures)
    return CheckSummary(mandatory=mandatory, unverifiable=unverifiable, advisory=advisory)


# --- results -------------------------------------------------------------------------------------------


@dataclass
class Step:
    name: str
    status: str  # "ok" | "failed" | "skipped" | "warning"
    detail: str = ""
    findings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "detail": self.detail, "findings": self.findings}


@dataclass
class StageResult:
    stack: str
    status: str = "not run"  # "passed" (offline) | "deployed" | "refused" | "error" | "not run" | "skipped"
    steps: list[Step] = field(default_factory=list)

    def add(self, name: str, status: str, detail: str = "", findings: Sequence[str] = ()) -> Step:
        step = Step(name, status, detail, list(findings))
        self.steps.append(step)
        return step

    def to_dict(self) -> dict[str, Any]:
        return {"stack": self.stack, "status": self.status, "steps": [s.to_dict() for s in self.steps]}


@dataclass
class Invariant:
    """One promotion rule for one stage: a permission difference, an exception difference, or a problem."""

    name: str
    stack: str
    diff: PermissionDiff | None
    enforced: bool = True
    problem: str = ""
    exceptions: ExceptionDiff | None = None

    @property
    def ok(self) -> bool:
        differences_ok = (self.diff is None or self.diff.ok) and (
            self.exceptions is None or self.exceptions.ok
        )
        return not self.problem and (differences_ok or not self.enforced)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "stack": self.stack,
            "ok": self.ok,
            "enforced": self.enforced,
            "problem": self.problem,
            "diff": self.diff.to_dict() if self.diff else None,
            "exceptions": self.exceptions.to_dict() if self.exceptions else None,
        }


@dataclass
class PromotionReport:
    target: str
    offline: bool
    commit: str
    plan: tuple[str, ...]
    invariants: list[Invariant] = field(default_factory=list)
    stages: list[StageResult] = field(default_factory=list)
    exit_code: int = EXIT_OK
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.exit_code == EXIT_OK

    @property
    def stopped_at(self) -> str | None:
        for st in self.stages:
            if st.status in ("refused", "error"):
                return st.stack
        for inv in self.invariants:
            if not inv.ok:
                return inv.stack
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "offline": self.offline,
            "commit": self.commit,
            "plan": list(self.plan),
            "ok": self.ok,
            "exitCode": self.exit_code,
            "error": self.error,
            "stoppedAt": self.stopped_at,
            "invariants": [i.to_dict() for i in self.invariants],
            "stages": [s.to_dict() for s in self.stages],
            "markdown": render_report_markdown(self),
        }


def render_report_markdown(report: PromotionReport) -> str:
    """Job summary / PR comment: verdict, stage table, then each permission difference."""
    mode = "offline" if report.offline else "deploy"
    passed = "✅ would promote (nothing deployed)" if report.offline else "✅ promoted"
    verdict = passed if report.ok else f"❌ stopped at `{report.stopped_at or '-'}`"
    lines = [
        f"## Promotion to `{report.target}` ({mode}) — {verdict}",
        "",
        f"Commit: `{report.commit}`",
        "",
        "| Stage | Status | Steps |",
        "|---|---|---|",
    ]
    for st in report.stages:
        steps = "<br>".join(
            f"{s.name}: {s.status}" + (f" — {s.detail}" if s.detail else "") for s in st.steps
        )
        steps = steps.replace("|", "\\|")
        lines.append(f"| `{st.stack}` | {st.status} | {steps} |")
    if report.error:
        lines += ["", f"**Error:** {report.error}"]
    for inv in report.invariants:
        lines.append("")
        if inv.problem:
            lines.append(f"### ❌ {inv.name} (`{inv.stack}`)\n\n{inv.problem}")
        elif inv.diff is not None:
            md = render_markdown(inv.diff)
            if not inv.enforced:
                md = md.replace("### ", "### (informational) ", 1)
            lines.append(md.rstrip())
        elif inv.exceptions is not None:
            lines.append(_exceptions_markdown(inv))
    return "\n".join(lines) + "\n"


def _exceptions_markdown(inv: Invariant) -> str:
    assert inv.exceptions is not None
    mark = "✅" if inv.exceptions.ok else "❌"
    head = f"### {mark} {inv.name} (`{inv.stack}`)\n\n"
    if inv.exceptions.ok:
        return head + "No new or wider exception."
    return head + "\n".join(f"- {line.replace('|', chr(92) + '|')}" for line in inv.exceptions.lines())


# --- helpers -------------------------------------------------------------------------------------------


def plan_for(target: str) -> tuple[str, ...]:
    """Stages up to and including the target, in promotion order."""
    if target not in STACKS:
        raise ValueError(f"unknown stage {target!r}; expected one of {', '.join(STACKS)}")
    return STACKS[: STACKS.index(target) + 1]


def current_commit(project_dir: Path) -> str:
    """HEAD of the project's git work tree, suffixed ``-dirty`` when it has uncommitted changes."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=project_dir, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain"],
            cwd=project_dir,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{head}-dirty" if dirty else head


def tty_confirm(prompt: str) -> bool:
    """Ask on the terminal; anything but y/yes (or no terminal at all) is a no."""
    if not sys.stdin.isatty():
        return False
    try:
        answer = input(prompt)
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


def _emit_listed(emit: Callable[[str], None], lines: Sequence[str]) -> None:
    for line in lines[:MAX_LISTED]:
        emit(f"    {line}")
    if len(lines) > MAX_LISTED:
        emit(f"    ... and {len(lines) - MAX_LISTED} more")


# --- the flow ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PromoteRequest:
    target: str
    offline: bool = False
    yes: bool = False
    start: str | None = None  # first stage to run; earlier stages are only verified (deployed at commit)
    backend_url: str | None = None
    create_stacks: bool = False
    commit: str | None = None
    paths: ProjectPaths = field(default_factory=ProjectPaths)


class _Stop(Exception):
    """Internal: end the run with the report's exit code already set."""


def check_invariants(
    plan: Sequence[str],
    paths: ProjectPaths,
    emit: Callable[[str], None],
    roles: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[Invariant]:
    """Promotion invariants for every stage in the plan, computed before anything is previewed."""
    if roles is None:
        roles = {stack: effective_roles(stack, paths) for stack in plan}
    out: list[Invariant] = []
    for candidate, reference in SUPERSET_RULES:
        if candidate in plan and reference in roles:
            diff = diff_environments(
                roles[candidate], roles[reference], candidate_name=candidate, reference_name=reference
            )
            out.append(Invariant(f"{candidate} grants nothing beyond {reference}", candidate, diff))
            emit(render_table(diff).rstrip())
            out.append(_environment_exceptions(candidate, reference, paths, emit))
    for stack in plan:
        path = paths.baseline(stack)
        name = f"{stack} within its reviewed baseline"
        if not path.is_file():
            problem = (
                f"no reviewed baseline {path.name} for stack {stack}: run "
                f"`python -m pipeline baseline --stack {stack}` and review the file"
            )
            out.append(Invariant(name, stack, None, problem=problem))
            emit(f"[{stack}] baseline: {problem}")
            continue
        try:
            baseline = parse_baseline(read_text(path, "baseline"), source=str(path))
        except (PermissionModelError, ConfigurationError) as exc:
            out.append(Invariant(name, stack, None, problem=str(exc)))
            emit(f"[{stack}] baseline: {exc}")
            continue
        diff = diff_baseline(stack, roles[stack], baseline)
        out.append(Invariant(name, stack, diff))
        out.append(_baseline_exceptions(stack, baseline, paths, emit))
        if diff.added:
            emit(f"[{stack}] baseline: {len(diff.added)} new grant(s) not in {path.name}:")
            for g in diff.added:
                emit(f"    {g.role}: {g.describe()}")
        else:
            extra = f" ({len(diff.removed)} baseline grant(s) unused)" if diff.removed else ""
            emit(f"[{stack}] baseline: no new access{extra}")
    return out


def _environment_exceptions(
    candidate: str, reference: str, paths: ProjectPaths, emit: Callable[[str], None]
) -> Invariant:
    """The candidate's pack config holds no exception the reference's does not cover (same policy and id,
    resource glob and match equal or narrower, expiring no later)."""
    name = f"{candidate} holds no exception beyond {reference}"
    diff = diff_exceptions(
        load_config_exceptions(paths.pack_config(candidate)),
        load_config_exceptions(paths.pack_config(reference)).exceptions,
        candidate_name=candidate,
        reference_name=reference,
    )
    emit(diff.render().rstrip())
    return Invariant(name, candidate, None, exceptions=diff)


def _baseline_exceptions(
    stack: str, baseline: Mapping[str, Any], paths: ProjectPaths, emit: Callable[[str], None]
) -> Invariant:
    """The stack's pack config holds no exception its reviewed baseline does not cover."""
    name = f"{stack} exceptions within its reviewed baseline"
    path = paths.baseline(stack)
    try:
        reviewed = exceptions_from_baseline(baseline, str(path))
    except ValueError as exc:
        emit(f"[{stack}] baseline: {exc}")
        return Invariant(name, stack, None, problem=str(exc))
    diff = diff_exceptions(
        load_config_exceptions(paths.pack_config(stack)),
        reviewed,
        candidate_name=stack,
        reference_name=f"baseline {stack}",
    )
    if diff.ok:
        emit(f"[{stack}] baseline: no new or wider exception")
    else:
        emit(f"[{stack}] baseline: {len(diff.lines())} exception(s) not in {path.name}:")
        for line in diff.lines():
            emit(f"    {line}")
    return Invariant(name, stack, None, exceptions=diff)


def _gate(
    stage: str,
    index: int,
    plan: Sequence[str],
    req: PromoteRequest,
    commit: str,
    results: Mapping[str, StageResult],
    backend: StageBackend | None,
) -> tuple[bool, str]:
    """May ``stage`` run? Only when the previous stage is deployed (online) or passed (offline) at commit."""
    if index == 0:
        return True, "first stage"
    prev = plan[index - 1]
    prev_result = results.get(prev)
    if req.offline:
        if prev_result is not None and prev_result.status == "passed":
            return True, f"{prev} passed at {commit}"
        if prev_result is not None and prev_result.status == "skipped":
            return True, f"{prev} not run (--from); its deployment is not verified offline"
        return False, f"{prev} did not pass"
    assert backend is not None
    deployed = backend.deployed_commit(prev)
    if deployed == commit:
        return True, f"{prev} deployed at {commit}"
    return False, f"{prev} is deployed at {deployed or 'no promoted commit'}, not at {commit}"


def _run_stage(
    stage: str,
    req: PromoteRequest,
    commit: str,
    expected_roles: Callable[[str], Mapping[str, Any]],
    backend: StageBackend | None,
    confirm: Callable[[str], bool],
    emit: Callable[[str], None],
    result: StageResult,
) -> None:
    """One stage; sets result.status. Raises PipelineError/Automation errors for the caller to classify."""
    paths = req.paths

    def step(name: str, status: str, detail: str = "", findings: Sequence[str] = ()) -> None:
        result.add(name, status, detail, findings)
        emit(f"[{stage}] {name}: {status}" + (f" — {detail}" if detail else ""))
        _emit_listed(emit, findings)

    pack_config = paths.pack_config(stage)
    if not pack_config.is_file():
        step("pack config", "failed", f"missing {pack_config}")
        result.status = "error"
        return

    check = offline_check(stage, paths)
    if not check.ok:
        step("offline check", "failed", f"{len(check.mandatory)} mandatory violation(s)", check.mandatory)
        result.status = "refused"
        return
    if check.unverifiable and stage in STRICT_PREVIEW_STAGES:
        why = f"{len(check.unverifiable)} policy check(s) could not run at preview"
        step("offline check", "failed", why, check.unverifiable)
        result.status = "refused"
        return
    step("offline check", "ok", f"{check.advisory} advisory" if check.advisory else "no violations")

    if req.offline:
        step("preview", "skipped", "offline: the offline check stands in for preview")
        step("deploy", "skipped", f"offline: would run up with {paths.pack.name} and config/{stage}.json")
        result.status = "passed"
        return

    assert backend is not None
    preview = backend.preview(stage, pack_dir=paths.pack, pack_config=pack_config)
    mandatory = [v for v in preview.violations if v.mandatory]
    unverifiable = [v for v in preview.violations if v.unverifiable_at_preview]
    if mandatory or not preview.succeeded:
        why = f"{len(mandatory)} mandatory violation(s)" if mandatory else preview.error or "preview failed"
        step("preview", "failed", why, [v.line() for v in mandatory])
        result.status = "refused"
        return
    if unverifiable and stage in STRICT_PREVIEW_STAGES:
        why = f"{len(unverifiable)} policy check(s) could not run during preview"
        step("preview", "failed", why, [v.line() for v in unverifiable])
        result.status = "refused"
        return
    changes = ", ".join(f"{k} {v}" for k, v in sorted(preview.changes.items())) or "no changes"
    warn = f"; {len(unverifiable)} check(s) not verifiable at preview" if unverifiable else ""
    step("preview", "warning" if unverifiable else "ok", changes + warn)

    if stage in CONFIRM_STAGES and not req.yes:
        if not confirm(f"Deploy commit {commit} to {stage} ({changes})? [y/N] "):
            step("confirmation", "failed", f"{stage} was not confirmed (pass --yes in automation)")
            result.status = "refused"
            return
        step("confirmation", "ok", "confirmed interactively")

    up = backend.up(stage, pack_dir=paths.pack, pack_config=pack_config, commit=commit)
    up_mandatory = [v for v in up.violations if v.mandatory]
    if up_mandatory or not up.succeeded:
        why = f"{len(up_mandatory)} mandatory violation(s)" if up_mandatory else up.error or "up failed"
        step("up", "failed", why, [v.line() for v in up_mandatory])
        result.status = "refused"
        return
    step("up", "ok", ", ".join(f"{k} {v}" for k, v in sorted(up.changes.items())) or "no changes")

    outputs = up.outputs or backend.outputs(stage)
    missing = [k for k in REQUIRED_OUTPUTS if outputs.get(k) in (None, "", {})]
    if missing:
        step("outputs", "failed", f"missing stack output(s): {', '.join(missing)}")
        result.status = "refused"
        return
    deployed = diff_grants(  # same stack: bucket names must match too
        grants_for_roles(outputs["roles"], neutral=False),
        grants_for_roles(expected_roles(stage), neutral=False),
        candidate_name=f"{stage} (deployed)",
        reference_name=f"{stage} (program)",
    )
    if deployed.added or deployed.removed:
        step("outputs", "failed", "deployed roles differ from the program's effective permissions")
        emit(render_table(deployed).rstrip())
        result.status = "refused"
        return
    step("outputs", "ok", f"{len(outputs['roles'])} role(s)")

    analyze = backend.policy_analyze(stage, pack_dir=paths.pack, pack_config=pack_config)
    if not analyze.supported:
        step("policy analyze", "skipped", analyze.detail)
    elif not analyze.succeeded:
        step("policy analyze", "failed", analyze.detail)
        result.status = "refused"
        return
    else:
        step("policy analyze", "ok", analyze.detail)

    where = backend.record_commit(stage, commit)
    step("record commit", "ok", f"{commit} in {where}")
    result.status = "deployed"


def promote(
    req: PromoteRequest,
    *,
    backend: StageBackend | None = None,
    confirm: Callable[[str], bool] | None = None,
    emit: Callable[[str], None] = print,
) -> PromotionReport:
    """Run the promotion; never raises for expected failures (they end up in the report's exit code).

    ``confirm`` asks before deploying prod; by default on the terminal (and without a terminal prod
    needs --yes, refused before anything runs).
    """
    interactive = confirm is not None or sys.stdin.isatty()
    confirm = confirm or tty_confirm
    plan = plan_for(req.target)
    start = req.start or plan[0]
    if start not in plan:
        raise ValueError(f"--from {start} is not a stage on the way to {req.target}")
    commit = req.commit or current_commit(req.paths.project_dir)
    report = PromotionReport(req.target, req.offline, commit, plan)
    report.stages = [StageResult(s) for s in plan]
    results = {s.stack: s for s in report.stages}
    current_stack: str | None = None
    emit(f"promote to {req.target} ({'offline' if req.offline else 'deploy'}), stages: {' -> '.join(plan)}")

    try:
        if not req.offline:
            if backend is None and not cli_available():
                raise FileNotFoundError(2, "No such file or directory", "pulumi")
            if commit == "unknown":
                raise PipelineError("cannot tell the git commit of the project (not a git work tree?)")
            if backend is None and (problem := pack_virtualenv_problem(req.paths.pack)):
                raise PipelineError(problem)
            needs_confirm = [s for s in plan if s in CONFIRM_STAGES and plan.index(s) >= plan.index(start)]
            if needs_confirm and not req.yes and not interactive:
                report.exit_code = EXIT_REFUSED
                report.error = f"{needs_confirm[0]} needs --yes or an interactive confirmation"
                emit(f"promote: refused: {report.error}")
                return report
        expected_roles = {stack: effective_roles(stack, req.paths) for stack in plan}
        report.invariants = check_invariants(plan, req.paths, emit, expected_roles)
        if not all(i.ok for i in report.invariants):
            report.exit_code = EXIT_REFUSED
            report.error = "promotion invariants failed; nothing was previewed or deployed"
            emit(f"promote: refused: {report.error}")
            return report

        if not req.offline and backend is None:
            backend = AutomationBackend(
                req.paths.project_dir,
                backend_url=req.backend_url,
                stack_files=req.paths.stack_files,
                create_stacks=req.create_stacks,
                log=lambda line: emit(f"    | {line}"),  # the CLI's own preview/up output
            )
        for index, stage in enumerate(plan):
            current_stack = stage
            result = results[stage]
            if index < plan.index(start):
                result.status = "skipped"
                result.add("run", "skipped", f"--from {start}")
                continue
            allowed, why = _gate(stage, index, plan, req, commit, results, backend)
            if not allowed:
                result.add("gate", "failed", why)
                result.status = "refused"
                emit(f"[{stage}] gate: failed — {why}")
            else:
                result.add("gate", "ok", why)
                emit(f"[{stage}] gate: ok — {why}")
                _run_stage(stage, req, commit, expected_roles.__getitem__, backend, confirm, emit, result)
            if result.status not in ("passed", "deployed"):
                report.exit_code = EXIT_ERROR if result.status == "error" else EXIT_REFUSED
                report.error = f"stopped at {stage}"
                emit(f"promote: {'error' if result.status == 'error' else 'refused'}: stopped at {stage}")
                return report
    except (PipelineError, PermissionModelError) as exc:
        report.exit_code = EXIT_ERROR
        report.error = str(exc)
        if current_stack:
            results[current_stack].status = "error"
        emit(f"promote: error: {exc}")
        return report
    except Exception as exc:  # Automation API and CLI failures: one clear line each
        line = classify_error(exc, stack=current_stack, backend_url=req.backend_url)
        if line is None:
            raise
        report.exit_code = EXIT_ERROR
        report.error = line
        if current_stack:
            results[current_stack].status = "error"
        emit(f"promote: error: {line}")
        return report

    done = " -> ".join(s.stack for s in report.stages if s.status in ("passed", "deployed"))
    verb = "would promote (offline)" if req.offline else "promoted"
    emit(f"promote: {verb}: {done} at {commit}")
    return report


# --- CLI -----------------------------------------------------------------------------------------------


def add_parser(subparsers: Any) -> None:
    """Register ``promote`` and ``baseline`` (``pipeline.promotion.baseline``) with the dispatcher."""
    from pipeline.promotion import baseline

    baseline.add_parser(subparsers)
    p = subparsers.add_parser(
        "promote",
        help="promote dev -> staging -> prod, each gated by the policy pack",
        description=__doc__.split("\n\n")[0],
    )
    p.add_argument("--to", dest="target", required=True, choices=STACKS, help="last stage to promote to")
    p.add_argument(
        "--from",
        dest="start",
        choices=STACKS,
        default=None,
        help="first stage to run (earlier ones must already be deployed at this commit); default dev",
    )
    p.add_argument("--offline", action="store_true", help="offline check in place of preview, no deploy")
    p.add_argument(
        "--backend-url", default=None, help="Pulumi backend (file://..., s3://..., a Pulumi Cloud URL)"
    )
    p.add_argument("--yes", action="store_true", help="do not ask before deploying to prod")
    p.add_argument("--json", action="store_true", help="print the report as JSON (progress goes to stderr)")
    p.add_argument(
        "--summary",
        type=output_file_or_stdout,
        default=None,
        metavar="FILE",
        help="append the Markdown report (stages, permission differences) to FILE, e.g. "
        "$GITHUB_STEP_SUMMARY or a pull-request comment body; '-' prints it",
    )
    p.add_argument("--create-stacks", action="store_true", help="create missing stacks instead of failing")
    p.add_argument("--project-dir", type=Path, default=ROOT, help=argparse.SUPPRESS)


def run(args: argparse.Namespace) -> int:
    """Dispatcher entry for both subcommands registered by add_parser."""
    if getattr(args, "command", "promote") == "baseline":
        from pipeline.promotion import baseline

        return baseline.run(args)
    return run_promote(args)


def run_promote(args: argparse.Namespace) -> int:
    out = sys.stderr if args.json else sys.stdout

    def emit(line: str) -> None:
        print(line, file=out, flush=True)

    req = PromoteRequest(
        target=args.target,
        offline=args.offline,
        yes=args.yes,
        start=args.start,
        backend_url=args.backend_url,
        create_stacks=args.create_stacks,
        paths=ProjectPaths(project_dir=args.project_dir),
    )
    try:
        report = promote(req, emit=emit)
    except ValueError as exc:
        print(f"promote: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    if args.summary is not None:
        if str(args.summary) == "-":
            print(render_report_markdown(report), file=out)
        else:
            with args.summary.open("a", encoding="utf-8") as fh:
                fh.write(render_report_markdown(report))
    if args.json:
        print(json.dumps(report.to_dict(), indent=2, sort_keys=True))
    return report.exit_code
