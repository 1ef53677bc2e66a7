"""Bounds on the number of findings per rule, statement and document.

No document (AWS's own policies list hundreds of actions on dozens of ARNs) may turn into thousands of
diagnostics and a multi-megabyte Analyze answer. Beyond the bound, the findings of a rule are grouped
per severity into one finding that names the first few subjects and "and N more"; the severity of
every group is that of the findings it stands for, so thresholds (minimumSeverity, --fail-on) decide
exactly as they would on the individual findings.
"""

from __future__ import annotations

from .core import list_text
from .findings import Finding, Severity

_MAX_PER_STATEMENT_RULE = 10  # findings of one rule on one statement
_MAX_PER_DOCUMENT_RULE = 40  # findings of one rule in one document, after the per-statement grouping


def _subject(f: Finding) -> str:
    return f.action or f.resource or f.message.partition(": ")[2][:60] or f.message[:60]


def _without_label(f: Finding) -> str:
    if f.statement and f.message.startswith(f.statement + ": "):
        return f.message[len(f.statement) + 2:]
    return f.message


def _group(rule: str, items: list[Finding], statement: str | None, prefix: str) -> list[Finding]:
    """One finding per severity (highest first) standing for ``items`` of ``rule``."""
    out: list[Finding] = []
    by_severity: dict[Severity, list[Finding]] = {}
    for f in items:
        by_severity.setdefault(f.severity, []).append(f)
    for severity in sorted(by_severity, reverse=True):
        group = by_severity[severity]
        subjects = list(dict.fromkeys(_subject(f) for f in group))
        first = group[0]
        where = sorted({f.statement for f in group if f.statement})
        head = f"{statement}: " if statement else (f"{list_text(where, 4)}: " if where else "")
        out.append(Finding(
            rule, severity,
            f"{head}{prefix}{len(group)} {severity.label} findings of {rule}, for {list_text(subjects, 5)}; "
            f"the first: {_without_label(first)}",
            statement if statement is not None else first.statement, first.action, first.resource))
    return out


def bounded(findings: list[Finding]) -> list[Finding]:
    """Group the findings of a rule beyond the per-statement and per-document bounds (see above)."""
    if len(findings) <= _MAX_PER_STATEMENT_RULE:
        return findings
    per_statement: dict[tuple[str, str | None], list[Finding]] = {}
    for f in findings:
        per_statement.setdefault((f.rule, f.statement), []).append(f)
    staged: list[Finding] = []
    emitted: set[tuple[str, str | None]] = set()
    for f in findings:
        key = (f.rule, f.statement)
        items = per_statement[key]
        if len(items) <= _MAX_PER_STATEMENT_RULE:
            staged.append(f)
        elif key not in emitted:
            emitted.add(key)
            staged.extend(_group(f.rule, items, f.statement, ""))
    per_rule: dict[str, int] = {}
    for f in staged:
        per_rule[f.rule] = per_rule.get(f.rule, 0) + 1
    if all(n <= _MAX_PER_DOCUMENT_RULE for n in per_rule.values()):
        return staged
    out: list[Finding] = []
    kept: dict[str, int] = {}
    rest: dict[str, list[Finding]] = {}
    for f in staged:
        if per_rule[f.rule] <= _MAX_PER_DOCUMENT_RULE or kept.get(f.rule, 0) < _MAX_PER_DOCUMENT_RULE - 4:
            kept[f.rule] = kept.get(f.rule, 0) + 1
            out.append(f)
        else:
            rest.setdefault(f.rule, []).append(f)
    for rule, items in rest.items():
        out.extend(_group(rule, items, None, "further "))
    return out
