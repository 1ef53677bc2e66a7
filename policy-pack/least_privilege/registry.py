"""Every rule of the engine, imported in the order their checks run, and ``RULES`` assembled from the
rule modules' metadata (each rule id is spelled once, in its own module).

To add a rule: write ``rules/<name>.py`` with ``RULE = RuleInfo(...)`` and its checks, and add the
module to ``RULE_MODULES`` under the constant name the pack and tests use for its id.
"""

from __future__ import annotations

from types import ModuleType
from typing import Final

from . import core
from .core import RegisteredCheck
from .findings import RuleInfo
from .rules import (
    action_resource_match,
    budget,
    condition_keys,
    condition_pitfalls,
    deployable_documents,
    external_access,
    known_actions,
    managed_attachments,
    not_elements,
    preview_verifiable,
    privilege_escalation,
    sensitive_access,
    trust_policy,
    well_formed,
    wildcard_actions,
    wildcard_resources,
)

# Constant name -> rule module, in the order of RULES.
RULE_MODULES: Final[dict[str, ModuleType]] = {
    "WILDCARD_RESOURCES": wildcard_resources,
    "WILDCARD_ACTIONS": wildcard_actions,
    "ACTION_RESOURCE_MATCH": action_resource_match,
    "NOT_ELEMENTS": not_elements,
    "PRIVILEGE_ESCALATION": privilege_escalation,
    "SENSITIVE_ACCESS": sensitive_access,
    "KNOWN_ACTIONS": known_actions,
    "MANAGED_ATTACHMENTS": managed_attachments,
    "TRUST_POLICY": trust_policy,
    "PREVIEW_VERIFIABLE": preview_verifiable,
    "BUDGET": budget,
    "WELL_FORMED": well_formed,
    "EXTERNAL_ACCESS": external_access,
    "CONDITION_PITFALLS": condition_pitfalls,
    "DEPLOYABLE_DOCUMENTS": deployable_documents,
}

RULES: Final[dict[str, RuleInfo]] = {module.RULE.id: module.RULE for module in RULE_MODULES.values()}
RULE_IDS: Final[dict[str, str]] = {name: module.RULE.id for name, module in RULE_MODULES.items()}

# The order checks run in (and so the order of their findings): statement checks per statement, then
# document checks. Rule modules not listed here run after these, in the order they registered.
CHECK_ORDER: Final[tuple[ModuleType, ...]] = (
    wildcard_resources,
    wildcard_actions,
    action_resource_match,
    not_elements,
    sensitive_access,
    known_actions,
    condition_keys,
    trust_policy,
    external_access,
    condition_pitfalls,
    deployable_documents,
    privilege_escalation,
)


def _ordered(checks: list[RegisteredCheck]) -> tuple[RegisteredCheck, ...]:
    rank = {module.__name__: index for index, module in enumerate(CHECK_ORDER)}
    return tuple(sorted(checks, key=lambda c: rank.get(c.check.__module__, len(rank))))


STATEMENT_CHECKS: Final[tuple[RegisteredCheck, ...]] = _ordered(core.STATEMENT_CHECKS)
DOCUMENT_CHECKS: Final[tuple[RegisteredCheck, ...]] = _ordered(core.DOCUMENT_CHECKS)

__all__ = ["CHECK_ORDER", "DOCUMENT_CHECKS", "RULES", "RULE_IDS", "RULE_MODULES", "STATEMENT_CHECKS"]
