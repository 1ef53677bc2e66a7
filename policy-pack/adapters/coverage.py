"""The decision for every provider resource type that carries a policy: judged, or out of scope and why.

The list of types comes from the installed SDKs (:mod:`adapters.sdk_inventory`); the decisions are
data: the adapters' own tables say what is judged (which inputs each reader reads), and
``coverage.json`` says what is not, with the reason:

* ``inputNames``: input names that are not IAM policies whatever the type (``ssl_policy``,
  ``retry_policy``, ``block_public_policy``, ...), as whole-name patterns with one reason each;
* ``outOfScope``: whole types, each with its reason (IoT policies, Cedar policies, lifecycle rules, ...).

A type is *decided* when it is out of scope, or when each of its policy-carrying inputs is read by
its adapter or matches an input-name rule. :func:`undecided` lists what is not; the coverage test
fails on it, and on any entry that names a type or pattern the SDKs no longer have.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Final

from adapters import aws, aws_native

DATA_FILE: Final = Path(__file__).resolve().parent / "coverage.json"
SDK_PACKAGES: Final = {"aws": "pulumi_aws", "aws-native": "pulumi_aws_native"}
ADAPTERS: Final = {"aws": aws, "aws-native": aws_native}


@dataclass(frozen=True, slots=True)
class NameRule:
    """Inputs whose name (last path segment) matches ``pattern`` are not IAM policies, for ``reason``."""

    pattern: str
    reason: str

    def matches(self, input_path: str) -> bool:
        """Whether the last segment of an input path (``a[].b.c`` -> ``c``) matches the pattern."""
        return re.fullmatch(self.pattern, input_path.rsplit(".", 1)[-1].removesuffix("[]")) is not None


@dataclass(frozen=True, slots=True)
class Coverage:
    """The decision data: input-name rules and out-of-scope types with their reasons."""

    name_rules: tuple[NameRule, ...]
    out_of_scope: Mapping[str, str]


def _error(path: Path, key: str, problem: str) -> ValueError:
    return ValueError(f"{path}: {key}: {problem}")


@cache
def load(path: Path = DATA_FILE) -> Coverage:
    """Read and check ``coverage.json``; a malformed entry is an error naming the file and key."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise _error(path, "(root)", "must be an object with inputNames and outOfScope")
    rules = []
    for index, entry in enumerate(data.get("inputNames", [])):
        key = f"inputNames[{index}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("pattern"), str):
            raise _error(path, key, "needs a string 'pattern'")
        if not isinstance(entry.get("reason"), str) or not entry["reason"].strip():
            raise _error(path, key, "needs a non-empty 'reason'")
        try:
            re.compile(entry["pattern"])
        except re.error as exc:
            raise _error(path, f"{key}.pattern", f"not a regular expression ({exc})") from exc
        rules.append(NameRule(entry["pattern"], entry["reason"]))
    out = data.get("outOfScope", {})
    for token, reason in out.items():
        if not isinstance(reason, str) or not reason.strip():
            raise _error(path, f"outOfScope.{token}", "needs a non-empty reason")
    return Coverage(tuple(rules), dict(out))


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def read_paths(token: str) -> frozenset[str]:
    """SDK input paths (snake_case) the adapter reads for a type; empty when the type is not judged."""
    module = ADAPTERS.get(token.split(":", 1)[0])
    if module is None or token not in module.READERS:
        return frozenset()
    paths = set(module.READS.get(token, frozenset()))
    for path, _service in module.RESOURCE_POLICIES.get(token, ()):
        paths.add(".".join(_snake(part) for part in path.split(".")))
    return frozenset(paths)


def _read(input_path: str, reads: frozenset[str]) -> bool:
    """An input is read when the adapter reads it or something inside it (``resource_policy`` holding
    ``resource_policy.policy_document``)."""
    return any(
        r == input_path or r.startswith(input_path + ".") or r.startswith(input_path + "[]") for r in reads
    )


def decide(token: str, inputs: tuple[str, ...], coverage: Coverage) -> dict[str, Any]:
    """The decision for one type: judged (and by what), out of scope (why), or undecided inputs."""
    if token in coverage.out_of_scope:
        return {"decision": "out of scope", "reason": coverage.out_of_scope[token]}
    reads = read_paths(token)
    undecided = [
        p for p in inputs if not _read(p, reads) and not any(rule.matches(p) for rule in coverage.name_rules)
    ]
    if undecided:
        return {"decision": "undecided", "inputs": undecided}
    if reads:
        return {"decision": "judged", "inputs": sorted(p for p in inputs if _read(p, reads))}
    reasons = sorted({rule.reason for p in inputs for rule in coverage.name_rules if rule.matches(p)})
    return {"decision": "out of scope", "reason": "; ".join(reasons)}


def inventory() -> dict[str, dict[str, tuple[str, ...]]]:
    """Provider -> {type token -> policy-carrying inputs} from the installed SDKs."""
    from adapters.sdk_inventory import policy_carrying_types

    return {provider: policy_carrying_types(package) for provider, package in SDK_PACKAGES.items()}


def decisions(found: Mapping[str, Mapping[str, tuple[str, ...]]] | None = None) -> dict[str, dict[str, Any]]:
    """Every policy-carrying SDK type and every judged type, with its decision."""
    coverage = load()
    found = inventory() if found is None else found
    out: dict[str, dict[str, Any]] = {}
    for types in found.values():
        for token, inputs in types.items():
            out[token] = decide(token, inputs, coverage)
    for module in ADAPTERS.values():
        for token in module.READERS:
            if token not in out:
                out[token] = {"decision": "judged", "inputs": sorted(read_paths(token))}
    return dict(sorted(out.items()))


# --------------------------------------------------------------------------------------------------
# The README tables, generated from the decisions.

README_BEGIN: Final = (
    "<!-- resource-types:begin (generated by policy-pack/scripts/render_resource_types.py) -->"
)
README_END: Final = "<!-- resource-types:end -->"


def _family(token: str) -> tuple[str, str]:
    """`aws:kms/key:Key` -> (`aws:kms`, `Key`); `aws-native:kms:Key` -> (`aws-native:kms`, `Key`)."""
    provider, _, rest = token.partition(":")
    if provider == "aws":
        module, _, name = rest.partition("/")
        return f"aws:{module}", name.rsplit(":", 1)[-1]
    module, _, name = rest.partition(":")
    return f"{provider}:{module}" if name else provider, name or provider


def _shown(inputs: list[str]) -> str:
    camel = [re.sub(r"_([a-z0-9])", lambda m: m.group(1).upper(), p) for p in inputs]
    return ", ".join(camel)


def markdown(decisions: Mapping[str, Mapping[str, Any]]) -> str:
    """Two tables: judged types per provider module, and out-of-scope types per reason."""
    judged: dict[str, list[str]] = {}
    out: dict[str, list[str]] = {}
    for token, decision in decisions.items():
        family, name = _family(token)
        if decision["decision"] == "judged":
            inputs = decision.get("inputs") or []
            judged.setdefault(family, []).append(f"`{name}`" + (f" ({_shown(inputs)})" if inputs else ""))
        elif decision["decision"] == "out of scope":
            out.setdefault(decision["reason"], []).append(f"`{token}`")
    lines = [
        README_BEGIN,
        f"Judged ({sum(len(v) for v in judged.values())} types; in brackets the inputs read, besides the "
        "names and ARNs that link principals and policies):",
        "",
        "| provider module | types |",
        "|---|---|",
    ]
    lines += [f"| `{family}` | {', '.join(names)} |" for family, names in sorted(judged.items())]
    lines += [
        "",
        f"Out of scope ({sum(len(v) for v in out.values())} types that take an input named like a policy or "
        "principal, and why):",
        "",
        "| reason | types |",
        "|---|---|",
    ]
    lines += [f"| {reason} | {', '.join(sorted(tokens))} |" for reason, tokens in sorted(out.items())]
    lines.append(README_END)
    return "\n".join(lines) + "\n"


def replace_block(text: str, block: str) -> str:
    """``text`` with its generated resource-types block replaced by ``block`` (ValueError if absent)."""
    start = text.find(README_BEGIN)
    end = text.find(README_END)
    if start < 0 or end < start:
        raise ValueError("the README has no generated resource-types block (its begin/end markers)")
    return text[:start] + block + text[end + len(README_END) + 1 :]
