"""Render check reports: text a person reads in seconds, JSON for tools, SARIF 2.1.0 for code scanning.

The text report leads with the verdict per stack, then the findings grouped by enforcement level
(policy, role, resource), then the findings accepted by reviewed exceptions (and the exceptions expiring
soon), then each role's effective permissions, and ends with the elapsed time.
SARIF results point at the `- name: <role>` line of the stack file the finding comes from, so GitHub
code scanning annotates the line a reviewer would change; an accepted finding is a result of its own
policy carrying a SARIF ``suppressions`` entry (external, accepted, with the exception's justification),
so code scanning shows it as suppressed rather than gone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pipeline import ROOT
from pipeline.console import table
from pipeline.preview.verdict import StackReport, Violation
from pipeline.reviewed_exceptions import (
    ACCEPTED_POLICY,
    AcceptedFinding,
    ExceptionSummary,
    parse_accepted_message,
    sarif_suppression,
)
from pipeline.stackconfig import find_line, role_line

MAX_PER_POLICY = 8
"""Findings shown per policy and group in the text report; --json and --sarif carry all of them."""
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_GROUPS = (
    ("mandatory", "mandatory violations"),
    ("unverifiable", "not verifiable during preview"),
    ("advisory", "advisory"),
)


def _group(v: Violation) -> str:
    if v.policy == ACCEPTED_POLICY:
        return "accepted"
    if v.unverifiable:
        return "unverifiable"
    return "mandatory" if v.enforcement_level in ("mandatory", "remediate") else "advisory"


def _where(v: Violation) -> str:
    parts = []
    if v.role:
        parts.append(f"role {v.role}")
    if v.resource_type:
        parts.append(f"{v.resource_type} ({v.resource_name})")
    elif v.urn:
        parts.append(v.urn)
    else:
        parts.append("stack")
    return ", ".join(parts)


def _indent(text: str, prefix: str) -> str:
    return "\n".join(prefix + line for line in text.splitlines() if line.strip())


def permission_rows(roles: Mapping[str, Any]) -> list[list[str]]:
    """One row per role and dataset: role, bucket, access, prefixes, actions, AI actions, attachments."""
    rows: list[list[str]] = []
    for name in sorted(roles):
        role = roles[name] if isinstance(roles[name], Mapping) else {}
        perms = role.get("permissions") if isinstance(role.get("permissions"), Mapping) else {}
        datasets = perms.get("datasets") if isinstance(perms.get("datasets"), Mapping) else {}
        ai = ", ".join(perms.get("aiActions") or []) or "-"
        attachments = ", ".join(a.rsplit("/", 1)[-1] for a in perms.get("managedPolicyArns") or []) or "-"
        if not datasets:
            rows.append([name, "-", "-", "-", "-", ai, attachments])
        for index, logical in enumerate(sorted(datasets)):
            ds = datasets[logical] if isinstance(datasets[logical], Mapping) else {}
            prefixes = ", ".join(ds.get("prefixes") or []) or "*"
            rows.append(
                [
                    name if index == 0 else "",
                    f"{ds.get('bucket', logical)} ({logical})",
                    str(ds.get("level", "?")),
                    prefixes,
                    ", ".join(ds.get("actions") or []) or "-",
                    ai if index == 0 else "",
                    attachments if index == 0 else "",
                ]
            )
    return rows


def render_stack(report: StackReport) -> str:
    """One stack's section of the text report."""
    status = "PASS" if report.passed else f"FAIL ({len(report.mandatory_failures)} blocking)"
    lines = [
        f"== {report.stack}: {status} -- {report.resource_count} resources, pack "
        f"{report.pack_name}@{report.pack_version}, config {report.pack_config_file.name}"
    ]
    if not [v for v in report.violations if _group(v) != "accepted"]:
        lines.append("  no policy violations")
    for key, title in _GROUPS:
        # Without an exception summary, accepted findings are listed as the advisories they are.
        group = [
            v
            for v in report.violations
            if _group(v) == key
            or (key == "advisory" and report.exceptions is None and _group(v) == "accepted")
        ]
        if not group:
            continue
        suffix = ""
        if key == "unverifiable":
            counted = report.preview_verifiable_level == "mandatory"
            suffix = (
                f" -- {'counted as failures' if counted else 'not failures'}: "
                f"iam-preview-verifiable is {report.preview_verifiable_level} for {report.stack}"
            )
        lines.append(f"  {title} ({len(group)}){suffix}")
        shown: dict[str, int] = {}
        for v in group:
            shown[v.policy] = shown.get(v.policy, 0) + 1
            if shown[v.policy] > MAX_PER_POLICY:
                continue
            mark = "x" if v.counts_as_failure else "!"
            phase = "  [at update: outputs known]" if v.phase == "update" else ""
            lines.append(f"   {mark} {v.policy}  {_where(v)}{phase}")
            lines.append(_indent(v.message, "       "))
        for policy, count in shown.items():
            if count > MAX_PER_POLICY:
                lines.append(f"   ... {count - MAX_PER_POLICY} more from {policy} (all of them: --json)")
    if report.exceptions is not None:
        lines.extend(render_exceptions(report.exceptions))
    if report.roles:
        lines.append("  effective permissions")
        header = ["ROLE", "BUCKET", "ACCESS", "PREFIXES", "ACTIONS", "AI ACTIONS", "ATTACHMENTS"]
        lines.extend(table([header, *permission_rows(report.roles)], indent="    "))
    for note in report.notes:
        lines.append(f"  {note}")
    return "\n".join(lines)


def render_exceptions(summary: ExceptionSummary) -> list[str]:
    """Accepted findings, each with the exception behind it, then the exceptions expiring soon."""
    lines: list[str] = []
    if summary.accepted:
        lines.append(f"  accepted by exception ({len(summary.accepted)}) -- reported, not blocking")
    for accepted in summary.accepted:
        e = accepted.exception
        where = ", ".join(
            part
            for part in (
                f"role {accepted.role}" if accepted.role else "",
                accepted.resource_name or accepted.urn or "stack",
            )
            if part
        )
        lines.append(f"   ~ {e.policy}  {where}")
        lines.append(
            f"       {e.id} ({e.owner}, expires {e.expires.isoformat()}, "
            f"{e.days_left(summary.today)} days left): {e.reason}"
        )
        lines.append(_indent(accepted.finding, "       "))
    soon = summary.expiring_soon
    if soon:
        lines.append(f"  exceptions expiring within {summary.soon_days} days ({len(soon)})")
        lines.extend(
            f"   ~ {e.id} {e.policy} ({e.scope()}): expires {e.expires.isoformat()}, "
            f"{e.days_left(summary.today)} days left"
            for e in soon
        )
    return lines


def render_text(reports: Sequence[StackReport], elapsed: float, *, mode: str = "offline") -> str:
    """The whole text report with the footer (verdicts and elapsed time)."""
    sections = [render_stack(r) for r in reports]
    verdicts = ", ".join(f"{r.stack} {'pass' if r.passed else 'FAIL'}" for r in reports)
    total = sum(len(r.mandatory_failures) for r in reports)
    footer = (
        f"{mode} policy preview of {len(reports)} stack(s): {verdicts}; {total} blocking finding(s); "
        f"{elapsed:.2f} s"
    )
    return "\n\n".join([*sections, footer])


def to_json(reports: Sequence[StackReport], elapsed: float, *, mode: str = "offline") -> dict[str, Any]:
    """The same report as data."""
    return {
        "mode": mode,
        "passed": all(r.passed for r in reports),
        "elapsedSeconds": round(elapsed, 3),
        "stacks": [r.to_dict() for r in reports],
    }


def _uri(path: Path, project_dir: Path) -> tuple[str, str | None]:
    """A SARIF artifact URI: relative to the project (with %SRCROOT%) when inside it, else absolute."""
    try:
        return path.resolve().relative_to(project_dir.resolve()).as_posix(), "%SRCROOT%"
    except ValueError:
        return path.resolve().as_uri(), None


def _sarif_level(v: Violation) -> str:
    if v.counts_as_failure:
        return "error"
    return "warning" if v.enforcement_level == "advisory" and not v.unverifiable else "note"


def _accepted(report: StackReport, v: Violation) -> AcceptedFinding | None:
    """The accepted finding an `iam-accepted-exceptions` diagnostic stands for, from the stack's summary."""
    if v.policy != ACCEPTED_POLICY or report.exceptions is None:
        return None
    parsed = parse_accepted_message(v.message)
    if parsed is None:
        return None
    return next(
        (
            a
            for a in report.exceptions.accepted
            if a.exception.key == (parsed.policy, parsed.id)
            and a.urn == v.urn
            and a.finding == parsed.finding
        ),
        None,
    )


def _rules(reports: Iterable[StackReport]) -> list[dict[str, Any]]:
    rules: dict[str, dict[str, Any]] = {}
    for report in reports:
        for v in report.violations:
            accepted = _accepted(report, v)
            policy = accepted.exception.policy if accepted else v.policy
            rule = rules.setdefault(
                policy,
                {
                    "id": policy,
                    "name": policy,
                    "shortDescription": {"text": policy if accepted else v.description or policy},
                    "helpUri": "https://www.pulumi.com/docs/iac/using-pulumi/crossguard/",
                    "properties": {"tags": ["iam", "least-privilege", "pulumi-crossguard"]},
                },
            )
            if not accepted and v.description:
                rule["shortDescription"] = {"text": v.description}
    return [rules[k] for k in sorted(rules)]


def to_sarif(reports: Sequence[StackReport], project_dir: Path = ROOT) -> dict[str, Any]:
    """SARIF 2.1.0: one run, one result per finding, located at the role's line in the stack file."""
    project_dir = Path(project_dir)
    rules = _rules(reports)
    index = {rule["id"]: i for i, rule in enumerate(rules)}
    results: list[dict[str, Any]] = []
    for report in reports:
        uri, base = _uri(report.stack_file, project_dir)
        fallback = find_line(report.stack_file, r"^\s*[\w-]+:roles\s*:") or 1
        for v in report.violations:
            line = (role_line(report.stack_file, v.role) if v.role else None) or fallback
            artifact: dict[str, Any] = {"uri": uri}
            if base:
                artifact["uriBaseId"] = base
            location: dict[str, Any] = {
                "physicalLocation": {"artifactLocation": artifact, "region": {"startLine": line}},
            }
            if v.urn:
                location["logicalLocations"] = [
                    {
                        "name": v.resource_name or v.urn.rsplit("::", 1)[-1],
                        "fullyQualifiedName": v.urn,
                        "kind": "resource",
                    }
                ]
            accepted = _accepted(report, v)
            # An accepted finding is the finding of its own policy, at that policy's level, suppressed.
            policy = accepted.exception.policy if accepted else v.policy
            message = accepted.finding if accepted else v.message
            level = _sarif_level(v)
            if accepted:
                level = (
                    "error" if report.policy_levels.get(policy) in ("mandatory", "remediate") else "warning"
                )
            result: dict[str, Any] = {
                "ruleId": policy,
                "ruleIndex": index[policy],
                "level": level,
                "message": {
                    "text": f"[{report.stack}] {policy}"
                    + (f" (role {v.role})" if v.role else "")
                    + f": {message}"
                },
                "locations": [location],
                "partialFingerprints": {
                    "policyFinding/v1": f"{report.stack}:{policy}:{v.urn or ''}:{v.phase}",
                },
                "properties": {
                    "stack": report.stack,
                    "enforcementLevel": v.enforcement_level,
                    "phase": v.phase,
                    "unverifiable": v.unverifiable,
                    "role": v.role,
                    "urn": v.urn,
                },
            }
            if accepted:
                result["suppressions"] = [sarif_suppression(accepted)]
            results.append(result)
    pack = reports[0] if reports else None
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "pipeline-check",
                "fullName": f"offline policy preview ({pack.pack_name}@{pack.pack_version})"
                if pack
                else "pipeline-check",
                "informationUri": "https://www.pulumi.com/docs/iac/using-pulumi/crossguard/",
                "rules": rules,
            }
        },
        "results": results,
        "columnKind": "unicodeCodePoints",
    }
    run["originalUriBaseIds"] = {"%SRCROOT%": {"uri": project_dir.resolve().as_uri() + "/"}}
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}
