"""Which resource types of an installed Pulumi provider SDK take a policy document, ARN or principal.

The derivation reads the generated Python SDK's source text (nothing is imported, so the pack never
needs the provider SDK installed; only the coverage test and the README generator call this). The
generator writes one parameter per line, which is what the line patterns below rely on:

* a resource class is a class whose ``_internal_init`` calls ``super(...).__init__('<type token>', ...)``;
  the first string argument of that call is the type token (``aws:iam/role:Role``);
* its inputs are the parameters of ``_internal_init`` (snake_case; the wire name is their camelCase);
* an input annotated with ``'<Name>Args'`` is an object type defined in the package's ``_inputs.py``
  files; its ``__init__`` parameters are the nested inputs, followed a few levels deep;
* an input (top-level or nested) is *policy-carrying* when its name says it holds a policy document,
  a policy ARN or a principal: :data:`POLICY_CARRYING_NAME` below.

A type is listed with every policy-carrying input path (``details.policy``,
``policies[].policy_document``), so a reviewer sees why it was selected.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

# Whole-word matches on snake_case input names: `policy`, `key_policy`, `access_policies`,
# `assume_role_policy_document`, `repository_policy_text`, `policy_arn`, `managed_policy_arns`,
# `permissions_boundary`, `principal`, `principals`, `principal_arn`. Names that only *name* a
# policy (`policy_name`, `policy_type`, `policy_id`) are not documents, ARNs or principals.
POLICY_CARRYING_NAME: Final = re.compile(
    r"(?:^|_)(?:polic(?:y|ies)(?:_(?:document|documents|text|json|arns?|body|string|content))?"
    r"|permissions_boundary|principals?(?:_arns?)?)$"
)
_NESTING_LIMIT: Final = 4
_ARGS_NAME: Final = re.compile(r"'([A-Za-z_][A-Za-z0-9_]*Args)'")


@dataclass(frozen=True, slots=True)
class ResourceType:
    """One resource type of the SDK: its token and the policy-carrying input paths (snake_case)."""

    token: str
    module: str
    policy_inputs: tuple[str, ...]


def package_dir(package: str) -> Path | None:
    """Where an installed package lives, without importing it (None when not installed)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


_CLASS_LINE: Final = re.compile(r"^class (\w+Args)\b.*:$")
_PARAM_LINE: Final = re.compile(r"^\s+(\w+): (.+?)(?: = None)?(?:,|\):)$")
_TOKEN: Final = re.compile(r"super\(\w+, __self__\)\.__init__\(\s*'([^']+)'")
_SKIPPED: Final = frozenset({"resource_name", "opts", "__props__"})


def _signature(lines: list[str], start: int) -> list[tuple[str, str]]:
    """Parameters of the generated signature that starts at ``lines[start]`` (one per line)."""
    params: list[tuple[str, str]] = []
    for line in lines[start + 1 :]:
        match = _PARAM_LINE.match(line)
        if match and match.group(1) not in _SKIPPED:
            params.append((match.group(1), match.group(2)))
        if line.rstrip().endswith("):"):
            break
    return params


def _args_classes(root: Path) -> dict[str, list[tuple[str, str]]]:
    """Every ``*Args`` input class of the SDK: name -> [(parameter, annotation source)]."""
    classes: dict[str, list[tuple[str, str]]] = {}
    for path in root.rglob("_inputs.py"):
        lines = path.read_text(encoding="utf-8").splitlines()
        current: str | None = None
        for index, line in enumerate(lines):
            match = _CLASS_LINE.match(line)
            if match:
                current = match.group(1)
            elif current and line.startswith("    def __init__(__self__"):
                classes.setdefault(current, _signature(lines, index))
                current = None
    return classes


def _policy_paths(
    params: list[tuple[str, str]], classes: dict[str, list[tuple[str, str]]], prefix: str, depth: int
) -> Iterator[str]:
    for name, annotation in params:
        path = f"{prefix}{name}"
        if POLICY_CARRYING_NAME.search(name):
            yield path
        if depth >= _NESTING_LIMIT:
            continue
        for nested in dict.fromkeys(_ARGS_NAME.findall(annotation)):
            if nested in classes:
                many = "Sequence[" in annotation or "Mapping[" in annotation
                yield from _policy_paths(
                    classes[nested], classes, f"{path}{'[]' if many else ''}.", depth + 1
                )


def resource_types(package: str) -> list[ResourceType]:
    """Every resource type of an installed provider SDK (``pulumi_aws``), with its policy inputs."""
    root = package_dir(package)
    if root is None:
        raise ModuleNotFoundError(f"{package} is not installed")
    classes = _args_classes(root)
    found: dict[str, ResourceType] = {}
    for path in sorted(root.rglob("*.py")):
        if path.name.startswith(("_", "get_")):
            continue
        text = path.read_text(encoding="utf-8")
        if "def _internal_init(" not in text:
            continue
        lines = text.splitlines()
        module = str(path.relative_to(root.parent).with_suffix("")).replace("/", ".")
        for index, line in enumerate(lines):
            if not line.startswith("    def _internal_init("):
                continue
            offset = sum(len(previous) + 1 for previous in lines[:index])
            token = _TOKEN.search(text, offset)  # the super().__init__ call that ends this _internal_init
            if token is None or token.group(1) in found:
                continue
            paths = tuple(dict.fromkeys(_policy_paths(_signature(lines, index), classes, "", 0)))
            found[token.group(1)] = ResourceType(token.group(1), module, paths)
    return sorted(found.values(), key=lambda r: r.token)


def policy_carrying_types(package: str) -> dict[str, tuple[str, ...]]:
    """Type token -> policy-carrying input paths, for the types that have at least one."""
    return {r.token: r.policy_inputs for r in resource_types(package) if r.policy_inputs}
