"""Typed loaders for the hand-kept security lists in ``data/``.

The lists are data, not code, so that reviewers can audit them and a test can check every entry
against the catalog (hand-kept lists drift: Cloudsplaining ships a ``gamelist:`` typo). Each loader
reads its file once, on first use, and returns immutable, lower-cased values so callers can match
them against normalised action names without re-normalising.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

__all__ = [
    "EscalationMethod",
    "account_control_reason",
    "account_guardrail_actions",
    "caller_bound_actions",
    "credential_exposure_actions",
    "data_access_actions",
    "escalation_methods",
    "escalation_methods_for_action",
    "is_narrowing_condition_key",
    "narrowing_condition_keys",
    "resource_sharing_actions",
    "sensitive_action_reason",
]

DATA_DIR = Path(__file__).resolve().parent / "data"
ESCALATION_FILE = DATA_DIR / "escalation.json"
SENSITIVE_FILE = DATA_DIR / "sensitive_actions.json"
ACCOUNT_CONTROLS_FILE = DATA_DIR / "account_controls.json"


@dataclass(frozen=True, slots=True)
class EscalationMethod:
    """One privilege-escalation method: a set of actions that together let a principal gain power.

    ``actions`` are lower-cased full names (``iam:passrole``). When ``all_required`` is true the
    method applies only if every action is allowed; otherwise any one suffices. ``scope_helps`` says
    whether naming specific resources for ``scope_actions`` bounds the gain (``iam:PassRole`` on one
    role ARN) or not (``iam:CreatePolicyVersion`` on any policy still yields arbitrary permissions).
    ``self_service``: granted only on the caller's own user (``user/${aws:username}``) it is not
    escalation (rotating one's own access keys or password).
    """

    id: str
    title: str
    actions: frozenset[str]
    all_required: bool
    scope_helps: bool
    reference: str
    scope_actions: frozenset[str] = frozenset()
    self_service: bool = False

    def applies_to(self, allowed: frozenset[str] | set[str]) -> bool:
        """True when the lower-cased ``allowed`` action set enables this method."""
        if self.all_required:
            return self.actions <= allowed
        return not self.actions.isdisjoint(allowed)


@cache
def _read(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        return json.load(handle)


@lru_cache(maxsize=1)
def escalation_methods() -> tuple[EscalationMethod, ...]:
    """All escalation methods from ``data/escalation.json``, in file order."""
    methods: list[EscalationMethod] = []
    for entry in _read(ESCALATION_FILE)["methods"]:
        methods.append(
            EscalationMethod(
                id=str(entry["id"]),
                title=str(entry["title"]),
                actions=frozenset(str(a).lower() for a in entry["actions"]),
                all_required=bool(entry.get("all_required", True)),
                scope_helps=bool(entry["scope_helps"]),
                reference=str(entry["reference"]),
                scope_actions=frozenset(str(a).lower() for a in entry.get("scope_actions", ())),
                self_service=bool(entry.get("self_service", False)),
            )
        )
    return tuple(methods)


@lru_cache(maxsize=1)
def _methods_by_action() -> dict[str, tuple[EscalationMethod, ...]]:
    index: dict[str, list[EscalationMethod]] = {}
    for method in escalation_methods():
        for action in method.actions:
            index.setdefault(action, []).append(method)
    return {action: tuple(found) for action, found in index.items()}


def escalation_methods_for_action(action: str) -> tuple[EscalationMethod, ...]:
    """Methods that involve ``action`` (any case); lets a caller skip statements that touch none."""
    return _methods_by_action().get(action.lower(), ())


@lru_cache(maxsize=1)
def _sensitive() -> dict[str, Any]:
    data: dict[str, Any] = _read(SENSITIVE_FILE)
    return data


@lru_cache(maxsize=1)
def credential_exposure_actions() -> frozenset[str]:
    """Lower-cased actions that return credentials, secrets or tokens."""
    return frozenset(str(e["action"]).lower() for e in _sensitive()["credential_exposure"])


@lru_cache(maxsize=1)
def caller_bound_actions() -> frozenset[str]:
    """Lower-cased credential actions whose credential carries only the caller's own permissions and
    which AWS authorises only on ``*`` (``ecr:GetAuthorizationToken``): low severity on ``*``."""
    return frozenset(str(e["action"]).lower() for e in _sensitive()["credential_exposure"]
                     if e.get("caller_bound"))


@lru_cache(maxsize=1)
def data_access_actions() -> frozenset[str]:
    """Lower-cased actions that read potentially sensitive data (object contents, items, messages)."""
    return frozenset(str(e["action"]).lower() for e in _sensitive()["data_access"])


@lru_cache(maxsize=1)
def _reasons() -> dict[str, str]:
    data = _sensitive()
    return {
        str(e["action"]).lower(): str(e["why"])
        for section in ("credential_exposure", "data_access")
        for e in data[section]
    }


def sensitive_action_reason(action: str) -> str | None:
    """The list's one-line reason why ``action`` (any case) is sensitive, for finding messages."""
    return _reasons().get(action.lower())


@lru_cache(maxsize=1)
def narrowing_condition_keys() -> frozenset[str]:
    """Lower-cased condition keys that really narrow which data a grant reads, as the catalog writes
    them: templates keep their placeholder (``aws:resourcetag/${tagkey}``, ``s3:existingobjecttag/<key>``).
    Use :func:`is_narrowing_condition_key` to test a concrete key such as ``aws:ResourceTag/team``."""
    return frozenset(str(k).lower() for k in _sensitive()["narrowing_condition_keys"])


_PLACEHOLDER = re.compile(r"\$\{[^}]*\}|<[^>]*>")


@lru_cache(maxsize=1)
def _narrowing_matchers() -> tuple[frozenset[str], tuple[str, ...]]:
    exact: set[str] = set()
    prefixes: list[str] = []
    for key in narrowing_condition_keys():
        match = _PLACEHOLDER.search(key)
        if match is None:
            exact.add(key)
        else:
            prefixes.append(key[: match.start()])
    return frozenset(exact), tuple(prefixes)


def is_narrowing_condition_key(key: str) -> bool:
    """True when a concrete condition key (any case) is one of the narrowing keys, templates
    included: ``aws:ResourceTag/team`` matches ``aws:ResourceTag/${TagKey}``. A template's suffix
    must be non-empty, so a bare ``aws:ResourceTag/`` does not count."""
    lowered = key.lower()
    exact, prefixes = _narrowing_matchers()
    if lowered in exact:
        return True
    return any(lowered.startswith(p) and len(lowered) > len(p) for p in prefixes)


@lru_cache(maxsize=1)
def _account_controls() -> dict[str, Any]:
    data: dict[str, Any] = _read(ACCOUNT_CONTROLS_FILE)
    return data


@lru_cache(maxsize=1)
def resource_sharing_actions() -> frozenset[str]:
    """Lower-cased actions that change who may use a resource although the catalog labels them Write
    (AMI launch permissions, snapshot sharing, RAM shares, some resource-policy writes)."""
    return frozenset(str(e["action"]).lower() for e in _account_controls()["resource_sharing"])


@lru_cache(maxsize=1)
def account_guardrail_actions() -> frozenset[str]:
    """Lower-cased account-wide controls AWS authorises only on ``*`` whose change turns off a guard
    rail, an audit trail or the account's organisation membership."""
    return frozenset(str(e["action"]).lower() for e in _account_controls()["account_guardrails"])


def account_control_reason(action: str) -> str | None:
    """The one-line reason for an entry of ``data/account_controls.json`` (any case)."""
    return _account_control_reasons().get(action.lower())


@lru_cache(maxsize=1)
def _account_control_reasons() -> dict[str, str]:
    data = _account_controls()
    return {str(e["action"]).lower(): str(e["why"]) for section in ("resource_sharing", "account_guardrails")
            for e in data[section]}
