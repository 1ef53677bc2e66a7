"""The least-privilege rules over normalised IAM statements, and the public check_* entry points.

Each rule is a small function registered with its rule id; the rule's title, description, default
severity and remediation live as data in ``findings.RULES``. Rules see ``_View`` objects: a statement
plus its pre-computed action set (kept symbolic for ``*`` and NotAction, so no rule ever walks the
22,000 catalog actions) and its effectively-star resources.

Nothing here raises on bad input: the public functions wrap the work and turn any internal error into
a ``iam-well-formed-documents`` finding, because an exception inside a CrossGuard validator aborts
the whole preview.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from types import MappingProxyType
from typing import Any

from . import UNKNOWN, is_unknown
from .arn import effectively_star_reason, has_unknown, parse_arn, resource_fits_template
from .catalog import (
    ACCESS_LEVELS,
    ActionInfo,
    action_info,
    actions_for_service,
    all_services,
    condition_key_applies,
    expand_action_pattern_lower,
    info_for_lower,
    is_known_service,
)
from .document import Condition, ParsedDocument, Principal, Statement, parse_document
from .findings import (
    ACTION_RESOURCE_MATCH,
    BUDGET,
    KNOWN_ACTIONS,
    MANAGED_ATTACHMENTS,
    NOT_ELEMENTS,
    PREVIEW_VERIFIABLE,
    PRIVILEGE_ESCALATION,
    RULES,
    SENSITIVE_ACCESS,
    TRUST_POLICY,
    WELL_FORMED,
    WILDCARD_ACTIONS,
    WILDCARD_RESOURCES,
    Finding,
    Severity,
)

__all__ = [
    "DEFAULT_ALLOWED_SERVICE_PRINCIPALS",
    "DEFAULT_SETTINGS",
    "ActionSet",
    "Budget",
    "EffectivePermissions",
    "Grant",
    "Settings",
    "check_budget",
    "check_document",
    "check_identity_policy",
    "check_managed_policy_arn",
    "check_resource_policy",
    "check_trust_policy",
    "detect_kind",
    "effective_permissions",
    "settings_from_config",
]

DEFAULT_ALLOWED_SERVICE_PRINCIPALS: frozenset[str] = frozenset(
    {
        "ec2.amazonaws.com",
        "sagemaker.amazonaws.com",
        "batch.amazonaws.com",
        "ecs-tasks.amazonaws.com",
        "lambda.amazonaws.com",
        "bedrock.amazonaws.com",
    }
)


@dataclass(frozen=True)
class Settings:
    """Engine configuration (one per environment/policy); every field has a safe default."""

    forbid_star_only_actions: bool = False
    allowed_service_principals: frozenset[str] = DEFAULT_ALLOWED_SERVICE_PRINCIPALS
    managed_allow: frozenset[str] = frozenset()
    managed_deny: frozenset[str] = frozenset()
    severity_overrides: Mapping[str, Severity] = field(default_factory=lambda: MappingProxyType({}))
    # The stack's own account: trusts of its root are same-account, not cross-account. None = unknown,
    # so every account root in a trust policy is treated as potentially cross-account.
    account_id: str | None = None


DEFAULT_SETTINGS = Settings()


def settings_from_config(config: Mapping[str, Any]) -> Settings:
    """Build Settings from camelCase or snake_case config keys (pack config, CLI); unknown keys ignored."""

    def pick(*names: str) -> Any:
        for name in names:
            if name in config:
                return config[name]
        return None

    kwargs: dict[str, Any] = {}
    value = pick("forbidStarOnlyActions", "forbid_star_only_actions")
    if value is not None:
        kwargs["forbid_star_only_actions"] = bool(value)
    value = pick("allowedServicePrincipals", "allowed_service_principals")
    if value is not None:
        kwargs["allowed_service_principals"] = frozenset(str(v).lower() for v in value)
    value = pick("allowedManagedPolicies", "managedAllow", "managed_allow")
    if value is not None:
        kwargs["managed_allow"] = frozenset(str(v) for v in value)
    value = pick("deniedManagedPolicies", "managedDeny", "managed_deny")
    if value is not None:
        kwargs["managed_deny"] = frozenset(str(v) for v in value)
    value = pick("severityOverrides", "severity_overrides")
    if value is not None:
        kwargs["severity_overrides"] = MappingProxyType({str(k): Severity.parse(v) for k, v in value.items()})
    value = pick("accountId", "account_id")
    if value is not None:
        kwargs["account_id"] = str(value)
    return Settings(**kwargs)


# ---------------------------------------------------------------------------------------------------
# Action sets: symbolic for "*" and NotAction, expanded otherwise


def _glob_to_regex(pattern: str) -> str:
    return re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")


@lru_cache(maxsize=16384)
def _glob_compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(_glob_to_regex(pattern), re.DOTALL)


@dataclass(frozen=True, slots=True)
class ActionSet:
    """The actions a statement's Action/NotAction covers.

    ``expanded`` is the finite set of lower-case catalog actions for an Action list without ``*``;
    None when the set is symbolic (``*`` or a NotAction complement). Unknown entries are opaque: they
    are neither counted as granted nor as everything.
    """

    patterns: tuple[str, ...]
    negated: bool
    opaque: bool
    expanded: frozenset[str] | None

    @property
    def is_all(self) -> bool:
        """Every action (``Action: "*"``, or a NotAction that excludes nothing known)."""
        return (not self.negated and "*" in self.patterns) or (self.negated and not self.patterns)

    @property
    def symbolic(self) -> bool:
        return self.expanded is None

    def contains(self, action_lower: str) -> bool:
        """Does the set grant this lower-case ``service:action``?"""
        if self.expanded is not None:
            return action_lower in self.expanded
        regex = _patterns_regex(self.patterns)
        matched = bool(regex.fullmatch(action_lower)) if regex is not None else False
        return not matched if self.negated else matched

    def intersect(self, universe: frozenset[str]) -> frozenset[str]:
        """The members of ``universe`` (lower-case names) this set grants; cached per set."""
        return _intersect(self, universe)

    def services(self) -> frozenset[str] | None:
        """Service prefixes granted; None when (practically) every service."""
        if self.expanded is None:
            if self.negated:
                return None
            return None if "*" in self.patterns else frozenset()
        return frozenset(a.partition(":")[0] for a in self.expanded)


@lru_cache(maxsize=1024)
def _patterns_regex(patterns: tuple[str, ...]) -> re.Pattern[str] | None:
    """One alternation for a symbolic set; compiled only for ``*``/NotAction sets, which are rare."""
    if not patterns:
        return None
    return re.compile("|".join(f"(?:{_glob_to_regex(p)})" for p in patterns), re.DOTALL)


@lru_cache(maxsize=4096)
def _intersect(aset: ActionSet, universe: frozenset[str]) -> frozenset[str]:
    if aset.expanded is not None:
        return aset.expanded & universe
    return frozenset(a for a in universe if aset.contains(a))


@lru_cache(maxsize=4096)
def _action_set(patterns: tuple[str, ...], negated: bool, opaque: bool) -> ActionSet:
    valid = tuple(p for p in patterns if p == "*" or ":" in p)
    expanded: frozenset[str] | None = None
    if not negated and "*" not in valid:
        acc: set[str] = set()
        for p in valid:
            acc |= expand_action_pattern_lower(p)
        expanded = frozenset(acc)
    return ActionSet(valid, negated, opaque, expanded)


def _statement_action_set(st: Statement) -> ActionSet:
    negated = st.actions is None and st.not_actions is not None
    raw = st.not_actions if negated else (st.actions or ())
    known = tuple(sorted({a.strip().lower() for a in raw or () if isinstance(a, str) and not has_unknown(a)}))
    opaque = any(a is UNKNOWN or (isinstance(a, str) and has_unknown(a)) for a in raw or ())
    return _action_set(known, negated, opaque)


# ---------------------------------------------------------------------------------------------------
# Statement views


@dataclass(frozen=True, slots=True)
class _View:
    st: Statement
    actions: ActionSet
    resources: tuple[str, ...]  # known Resource strings (empty for NotResource)
    opaque_resources: bool  # some Resource entry is (partly) unknown
    not_resource: bool
    star: tuple[tuple[str, str], ...]  # (resource as written, why it is effectively *)

    @property
    def label(self) -> str:
        return self.st.label

    @property
    def on_star(self) -> bool:
        return bool(self.star)

    @property
    def literal_star(self) -> bool:
        return self.not_resource or "*" in self.resources


def _view(st: Statement) -> _View:
    resources: list[str] = []
    opaque = False
    not_resource = st.resources is None and st.not_resources is not None
    if not not_resource:
        for r in st.resources or ():
            if isinstance(r, str):
                resources.append(r)
                if has_unknown(r):
                    opaque = True
            else:
                opaque = True
    star: list[tuple[str, str]] = []
    if not_resource:
        excluded = ", ".join(str(r) for r in st.not_resources or () if isinstance(r, str)) or "nothing"
        star.append((f"NotResource [{excluded}]", f"NotResource grants every resource except {excluded}"))
    else:
        for r in resources:
            reason = effectively_star_reason(r)
            if reason is not None:
                star.append((r, reason))
    return _View(st, _statement_action_set(st), tuple(resources), opaque, not_resource, tuple(star))


@dataclass
class _Ctx:
    settings: Settings
    kind: str  # identity | trust | resource
    views: list[_View]
    findings: list[Finding] = field(default_factory=list)

    def add(self, rule: str, severity: Severity, message: str, view: _View | None = None,
            action: str | None = None, resource: str | None = None) -> None:
        self.findings.append(Finding(rule, severity, message, view.label if view else None, action, resource))


_STATEMENT_RULES: list[tuple[str, Callable[[_View, _Ctx], None]]] = []
_DOCUMENT_RULES: list[tuple[str, Callable[[_Ctx], None]]] = []


def _statement_rule(rule_id: str) -> Callable[[Callable[[_View, _Ctx], None]], Callable[[_View, _Ctx], None]]:
    """Register a per-statement rule; metadata for ``rule_id`` must exist in RULES."""
    assert rule_id in RULES, rule_id

    def register(fn: Callable[[_View, _Ctx], None]) -> Callable[[_View, _Ctx], None]:
        _STATEMENT_RULES.append((rule_id, fn))
        return fn

    return register


def _document_rule(rule_id: str) -> Callable[[Callable[[_Ctx], None]], Callable[[_Ctx], None]]:
    assert rule_id in RULES, rule_id

    def register(fn: Callable[[_Ctx], None]) -> Callable[[_Ctx], None]:
        _DOCUMENT_RULES.append((rule_id, fn))
        return fn

    return register


# ---------------------------------------------------------------------------------------------------
# Helpers


def _canon(action_lower: str) -> str:
    info = info_for_lower(action_lower)
    return info.full if info is not None else action_lower


def _list_of(shown: Iterable[str], total: int) -> str:
    """Like _list for a pre-truncated head of a longer list of ``total`` items."""
    head = list(shown)
    return ", ".join(head) + (f" and {total - len(head)} more" if total > len(head) else "")


def _list(items: Iterable[str], limit: int = 6) -> str:
    """Human list, truncated: messages must stay readable for ``*:Get*`` (thousands of actions)."""
    seq = items if isinstance(items, (list, tuple)) else list(items)
    if len(seq) <= limit:
        return ", ".join(seq)
    return ", ".join(seq[:limit]) + f" and {len(seq) - limit} more"


def _written_actions(view: _View) -> list[str]:
    raw = view.st.actions if view.st.actions is not None else ()
    return [a for a in raw if isinstance(a, str) and not has_unknown(a)]


@lru_cache(maxsize=65536)
def _fits_any(resource: str, formats: tuple[str, ...]) -> bool:
    return any(resource_fits_template(resource, f) for f in formats)


def _matches_literal_star(resource: str) -> bool:
    """Does the policy resource pattern match the request resource ``*`` (how star-only actions are
    authorised)? Only ``*``-like patterns do; an ARN never does."""
    return len(resource) < 64 and bool(_glob_compiled(resource).fullmatch("*"))


def _action_fits(info: ActionInfo, resource: str) -> bool:
    if has_unknown(resource):
        return True
    if info.accepts_only_star:
        return _matches_literal_star(resource)
    if resource == "*" or (info.star_only and _matches_literal_star(resource)):
        return True
    return _fits_any(resource, info.arn_formats)


_POSITIVE_OPERATORS = frozenset(
    {"stringequals", "stringequalsignorecase", "stringlike", "arnequals", "arnlike", "ipaddress",
     "numericequals", "bool", "datelessthan", "dategreaterthan", "numericlessthan", "numericlessthanequals"}
)


def _condition_narrows(cond: Condition, key_ok: Callable[[str], bool]) -> bool:
    """A condition narrows when its key is a narrowing key, its operator is a positive match (no
    IfExists: an absent key would pass), and its values are concrete (not unknown, not just ``*``)."""
    if cond.if_exists or cond.base_operator not in _POSITIVE_OPERATORS:
        return False
    if cond.set_qualifier == "forallvalues":
        return False  # ForAllValues passes when the key is absent or empty
    if not key_ok(cond.key):
        return False
    values = [v for v in cond.values if v is not UNKNOWN]
    if not values or len(values) != len(cond.values):
        return False
    return not any(isinstance(v, str) and v.strip("*?") == "" for v in values)


def _lists_module() -> Any:
    """The hand-kept lists loader (owned elsewhere); imported lazily so a missing file degrades to an
    empty list instead of breaking every rule."""
    try:
        from . import lists
    except Exception:  # pragma: no cover - only while the lists are being written
        return None
    return lists


@lru_cache(maxsize=1)
def _sensitive_actions() -> Mapping[str, str]:
    """Lower-case sensitive action -> why (credential exposure and sensitive-data reads)."""
    lists = _lists_module()
    out: dict[str, str] = {}
    if lists is None:
        return out
    try:
        for kind, fn_name in (("returns credentials", "credential_exposure_actions"),
                              ("reads sensitive data", "data_access_actions")):
            fn = getattr(lists, fn_name, None)
            if fn is None:
                continue
            for action in fn():
                reason = lists.sensitive_action_reason(action) if hasattr(lists, "sensitive_action_reason") \
                    else None
                out.setdefault(str(action).lower(), reason or kind)
        if not out and hasattr(lists, "sensitive_actions"):
            for action in lists.sensitive_actions():
                out[str(action).lower()] = "sensitive"
    except Exception:
        return {}
    return out


@lru_cache(maxsize=1)
def _escalation_universe() -> frozenset[str]:
    """Every lower-case action that takes part in some escalation method."""
    return frozenset(a for m in _escalation_methods() for a in m.actions)


@lru_cache(maxsize=1)
def _sensitive_universe() -> frozenset[str]:
    return frozenset(_sensitive_actions())


@lru_cache(maxsize=1)
def _escalation_methods() -> tuple[Any, ...]:
    lists = _lists_module()
    if lists is None:
        return ()
    try:
        return tuple(lists.escalation_methods())
    except Exception:
        return ()


def _is_narrowing_key(key: str) -> bool:
    lists = _lists_module()
    fn = getattr(lists, "is_narrowing_condition_key", None) if lists is not None else None
    if fn is None:
        return False
    try:
        return bool(fn(key))
    except Exception:
        return False


def _narrowing_conditions_for(view: _View, service: str) -> list[Condition]:
    def key_ok(key: str) -> bool:
        prefix = key.split(":", 1)[0].lower()
        return prefix in ("aws", service) and _is_narrowing_key(key)

    return [c for c in view.st.conditions if _condition_narrows(c, key_ok)]


def _format_hint(info: ActionInfo) -> str:
    required = [f for rt in info.resource_types if rt.required for f in rt.arn_formats]
    formats = tuple(required) or info.arn_formats
    if not formats:
        return '"*"'
    hint = formats[-1] if info.service == "s3" else formats[0]
    hint = hint.replace("${Partition}", "aws").replace("${Region}", "<region>")
    return hint.replace("${Account}", "<account>")


# ---------------------------------------------------------------------------------------------------
# Rule: wildcard resources


@lru_cache(maxsize=32768)
def _wildcard_split(
    pattern: str, resource: str, literal: bool
) -> tuple[tuple[ActionInfo, ...], tuple[str, ...]]:
    """(scopable actions the resource fits, star-only action names) for one pattern on one star resource."""
    scopable: list[ActionInfo] = []
    star_only: list[str] = []
    for a in sorted(expand_action_pattern_lower(pattern)):
        info = info_for_lower(a)
        if info is None:
            continue
        if info.star_only:
            if literal or resource.startswith("*"):
                star_only.append(info.full)
        elif _action_fits(info, resource):
            scopable.append(info)
    return tuple(scopable), tuple(star_only)


_MAX_PER_ACTION_FINDINGS = 10  # beyond this, one grouped finding per statement and resource


@lru_cache(maxsize=1024)
def _merged_names(parts: tuple[tuple[str, ...], ...]) -> list[str]:
    return sorted(set().union(*parts))


@_statement_rule(WILDCARD_RESOURCES)
def _rule_wildcard_resources(view: _View, ctx: _Ctx) -> None:
    """`*` and effectively-star resources on actions that support resource-level scoping."""
    if not view.st.is_allow or not view.star:
        return
    acts = view.actions
    for resource, reason in view.star:
        literal = resource == "*" or resource.startswith("NotResource")
        if acts.symbolic:
            what = "Action \"*\"" if acts.is_all else f"NotAction [{_list(acts.patterns)}]"
            severity = Severity.CRITICAL if literal and (acts.is_all or acts.negated) else Severity.HIGH
            ctx.add(WILDCARD_RESOURCES, severity,
                    f"{view.label}: {what} on {resource}: {reason}; this grants every action on it. List the "
                    "actions the workload calls and name the ARNs it uses.", view, what, resource)
            continue
        star_parts: list[tuple[str, ...]] = []
        entries: list[tuple[str, tuple[ActionInfo, ...]]] = []
        for written in _written_actions(view):
            fit_resource = "*" if resource.startswith("NotResource") else resource
            scopable, star_names = _wildcard_split(written.strip().lower(), fit_resource, literal)
            if star_names:
                star_parts.append(star_names)
            if scopable:
                entries.append((written, scopable))
        if len(entries) > _MAX_PER_ACTION_FINDINGS:
            names = sorted({i.full for _, sc in entries for i in sc})
            ctx.add(WILDCARD_RESOURCES, Severity.HIGH,
                    f"{view.label}: {_list(names)} on {resource}: {reason}. These {len(names)} actions "
                    "support resource-level scoping; name the resources they need.",
                    view, entries[0][0], resource)
        else:
            for written, scopable in entries:
                if len(scopable) == 1 and written.lower() == scopable[0].full.lower():
                    info = scopable[0]
                    ctx.add(WILDCARD_RESOURCES, Severity.HIGH,
                            f"{view.label}: {info.full} on {resource}: {reason}. {info.full} supports "
                            f"resource-level scoping; name the resources, e.g. {_format_hint(info)}.",
                            view, info.full, resource)
                else:
                    ctx.add(WILDCARD_RESOURCES, Severity.HIGH,
                            f"{view.label}: {written} on {resource}: {reason}. {len(scopable)} of the "
                            "actions it covers support resource-level scoping "
                            f"({_list_of([i.full for i in scopable[:6]], len(scopable))}); name the "
                            "resources they need.", view, written, resource)
        if star_parts:
            names = list(star_parts[0]) if len(star_parts) == 1 else _merged_names(tuple(star_parts))
            if ctx.settings.forbid_star_only_actions:
                ctx.add(WILDCARD_RESOURCES, Severity.MEDIUM,
                        f"{view.label}: {_list(names)} on {resource}: these actions can only be granted on "
                        "\"*\" and this environment forbids them; remove them or move them to an approved "
                        "policy.", view, names[0], resource)
            else:
                ctx.add(WILDCARD_RESOURCES, Severity.LOW,
                        f"{view.label}: {_list(names)} on {resource}: allowed, these actions can only be "
                        "granted on \"*\" (for some or all calls the request names no resource).",
                        view, names[0], resource)


# ---------------------------------------------------------------------------------------------------
# Rule: wildcard actions


@lru_cache(maxsize=4096)
def _pattern_profile(pattern: str) -> tuple[int, int, bool, bool]:
    """(number of actions, max access rank, has escalation/sensitive action, cross-service)."""
    expanded = expand_action_pattern_lower(pattern)
    rank = -1
    for a in expanded:
        info = info_for_lower(a)
        if info is not None and info.access_rank > rank:
            rank = info.access_rank
    risky = not _sensitive_universe().isdisjoint(expanded) or not _escalation_universe().isdisjoint(expanded)
    service = pattern.partition(":")[0]
    return len(expanded), rank, risky, "*" in service or "?" in service


@_statement_rule(WILDCARD_ACTIONS)
def _rule_wildcard_actions(view: _View, ctx: _Ctx) -> None:
    """`*`, `service:*` and verb wildcards; severity follows what the pattern expands to."""
    if not view.st.is_allow:
        return
    for written in _written_actions(view):
        p = written.strip().lower()
        if "*" not in p and "?" not in p:
            continue
        if p == "*":
            severity = Severity.CRITICAL if view.literal_star else Severity.HIGH
            ctx.add(WILDCARD_ACTIONS, severity,
                    f"{view.label}: Action \"*\" grants every action of every service"
                    f"{' on every resource' if view.literal_star else ''}; list the actions the workload "
                    "calls.",
                    view, "*", _first_resource(view))
            continue
        count, rank, risky, cross = _pattern_profile(p)
        if count == 0:
            continue  # iam-known-actions reports patterns that match nothing
        service, _, name = p.partition(":")
        level = ACCESS_LEVELS[rank] if rank >= 0 else "List"
        if cross or name == "*" or risky or rank >= ACCESS_LEVELS.index("Write"):
            severity = Severity.HIGH
        elif level in ("Read", "Tagging"):
            severity = Severity.MEDIUM
        else:
            severity = Severity.LOW
        scope = "across services" if cross else f"in {service}"
        extra = " including credential/sensitive or escalation actions" if risky else ""
        ctx.add(WILDCARD_ACTIONS, severity,
                f"{view.label}: {written} expands to {count} actions {scope} (up to {level} access{extra}); "
                "list the individual actions the workload calls.", view, written, _first_resource(view))


def _first_resource(view: _View) -> str | None:
    if view.not_resource:
        return view.star[0][0] if view.star else None
    return view.resources[0] if view.resources else None


# ---------------------------------------------------------------------------------------------------
# Rule: action/resource mismatch


def _s3_fix(info: ActionInfo, resources: tuple[str, ...]) -> str | None:
    names = {rt.name for rt in info.resource_types}
    for r in resources:
        arn = parse_arn(r)
        if arn is None or arn.service != "s3" or arn.region or arn.account:
            continue
        bucket, slash, _key = arn.resource.partition("/")
        if slash and "bucket" in names and "object" not in names:
            fixed = f"arn:{arn.partition}:s3:::{bucket}"
            return f"{info.full} applies to the bucket: use {fixed}, not {r}"
        if not slash and "object" in names and "bucket" not in names:
            return f"{info.full} applies to objects: use {r}/* (or {r}/<prefix>/*), not {r}"
    return None


@lru_cache(maxsize=16384)
def _pattern_fits(pattern: str, resources: tuple[str, ...]) -> bool:
    """Does any action the pattern expands to fit any of the resources?"""
    formats: set[str] = set()
    has_star_only = False
    for a in expand_action_pattern_lower(pattern):
        info = info_for_lower(a)
        if info is None:
            continue
        if info.star_only:
            has_star_only = True
        formats.update(info.arn_formats)
    if has_star_only and any(_matches_literal_star(r) for r in resources):
        return True
    fmt = tuple(sorted(formats))
    return any(r == "*" or _fits_any(r, fmt) for r in resources)


@_statement_rule(ACTION_RESOURCE_MATCH)
def _rule_action_resource_match(view: _View, ctx: _Ctx) -> None:
    """Grants that grant nothing: no resource fits any of the action's resource types."""
    if not view.st.is_allow or view.not_resource or view.opaque_resources or not view.resources:
        return
    resources = view.resources
    shown = ", ".join(resources)
    for written in _written_actions(view):
        p = written.strip().lower()
        if p == "*":
            continue
        if "*" in p or "?" in p:
            if expand_action_pattern_lower(p) and not _pattern_fits(p, resources):
                ctx.add(ACTION_RESOURCE_MATCH, Severity.MEDIUM,
                        f"{view.label}: none of the actions matching {written} applies to {shown}, so this "
                        "grants nothing; use the ARN forms those actions take (or \"*\" for actions that "
                        "accept only \"*\").", view, written, resources[0])
            continue
        info = action_info(p)
        if info is None:
            continue
        if any(_action_fits(info, r) for r in resources):
            continue
        if info.accepts_only_star:
            msg = (f"{view.label}: {info.full} can only be granted on Resource \"*\" (the catalog lists no "
                   f"resource types for it); on {shown} it grants nothing. Grant it on \"*\" in its own "
                   "statement, or remove it.")
        else:
            fix = _s3_fix(info, resources)
            types = ", ".join(rt.name for rt in info.resource_types)
            msg = (f"{view.label}: {fix}; as written it grants nothing." if fix else
                   f"{view.label}: {info.full} applies to {types} resources ({_format_hint(info)}); none of "
                   f"{shown} is one, so it grants nothing. Use the matching ARN.")
        ctx.add(ACTION_RESOURCE_MATCH, Severity.MEDIUM, msg, view, info.full, resources[0])


# ---------------------------------------------------------------------------------------------------
# Rule: Allow with NotAction / NotResource / NotPrincipal


@_statement_rule(NOT_ELEMENTS)
def _rule_not_elements(view: _View, ctx: _Ctx) -> None:
    """Allow + Not* grants the complement: everything except the listed items."""
    st = view.st
    if not st.is_allow:
        return
    if st.not_actions is not None and st.actions is None:
        listed = _list(str(a) for a in st.not_actions)
        ctx.add(NOT_ELEMENTS, Severity.HIGH,
                f"{view.label}: Allow with NotAction [{listed}] grants every other action of every service, "
                "including ones AWS adds later; list the granted actions in Action instead.",
                view, f"NotAction [{listed}]", _first_resource(view))
    if st.not_resources is not None and st.resources is None:
        listed = _list(str(r) for r in st.not_resources)
        ctx.add(NOT_ELEMENTS, Severity.HIGH,
                f"{view.label}: Allow with NotResource [{listed}] grants every other resource; list the "
                "resources in Resource instead.", view, None, f"NotResource [{listed}]")
    if st.not_principal is not None:
        ctx.add(NOT_ELEMENTS, Severity.HIGH,
                f"{view.label}: Allow with NotPrincipal grants access to every principal except the listed "
                "ones (including anonymous users); name the trusted principals in Principal instead.", view)


# ---------------------------------------------------------------------------------------------------
# Rule: privilege escalation (document level: a method may combine actions from several statements)


_ESCALATION_NARROWING = frozenset(
    {"iam:passedtoservice", "iam:associatedresourcearn", "iam:policyarn", "iam:permissionsboundary",
     "aws:resourcetag", "iam:resourcetag"}
)


def _escalation_key_ok(key: str) -> bool:
    k = key.lower()
    return k in _ESCALATION_NARROWING or k.startswith(("aws:resourcetag/", "iam:resourcetag/"))


@dataclass(frozen=True, slots=True)
class _BuiltinMethod:
    id: str
    title: str
    reference: str = ""


_PASS_ROLE_ON_STAR = _BuiltinMethod(
    "iam-pass-role-on-star",
    "Pass any role, including administrator roles, to any service that accepts a role",
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html",
)


@lru_cache(maxsize=4096)
def _escalation_profile(actions: ActionSet, star: tuple[str, ...]) -> tuple[frozenset[str], frozenset[str]]:
    """(escalation-relevant actions the set grants, those of them granted on an effectively-star
    resource that applies to them)."""
    granted = actions.intersect(_escalation_universe())
    on_star = set()
    for a in granted:
        info = info_for_lower(a)
        if any(r.startswith("NotResource") or info is None or _action_fits(info, r) for r in star):
            on_star.add(a)
    return granted, frozenset(on_star)


@_document_rule(PRIVILEGE_ESCALATION)
def _rule_privilege_escalation(ctx: _Ctx) -> None:
    """Every published escalation method whose actions the document allows, even on scoped resources
    when scope does not bound the gain."""
    allows = [v for v in ctx.views
              if v.st.is_allow and (v.resources or v.not_resource or ctx.kind == "trust")]
    if not allows:
        return
    universe = _escalation_universe()
    denied: set[str] = set()
    for d in ctx.views:
        if d.st.is_deny and not d.st.conditions and d.literal_star:
            denied |= d.actions.intersect(universe)
    profiles = [(v, *_escalation_profile(v.actions, tuple(r for r, _ in v.star))) for v in allows]
    granted_all: set[str] = set()
    on_star_all: set[str] = set()
    for _v, granted, on_star in profiles:
        granted_all |= granted
        on_star_all |= on_star
    granted_all -= denied
    on_star_all -= denied
    if not granted_all:
        return
    found: list[tuple[Severity, tuple[str, ...], Any]] = []
    for method in _escalation_methods():
        actions = method.actions
        if getattr(method, "all_required", True):
            if not actions <= granted_all:
                continue
        elif actions.isdisjoint(granted_all):
            continue
        scope_actions = getattr(method, "scope_actions", None) or actions
        on_star = not on_star_all.isdisjoint(scope_actions)
        if getattr(method, "scope_helps", False) and not on_star:
            continue  # e.g. iam:PassRole limited to named roles: the gain is bounded by those roles
        found.append((Severity.CRITICAL if on_star else Severity.HIGH, tuple(sorted(actions)), method))
    if "iam:passrole" in on_star_all and not any(
        sev == Severity.CRITICAL and "iam:passrole" in acts for sev, acts, _ in found
    ):
        # On its own, iam:PassRole on * hands any role (admin roles included) to any service that
        # accepts one; the compute action that completes the path is often granted by another policy.
        found.append((Severity.CRITICAL, ("iam:passrole",), _PASS_ROLE_ON_STAR))
    if not found:
        return

    def involved(acts: Iterable[str]) -> list[_View]:
        wanted = set(acts)
        return [v for v, granted, _ in profiles if not granted.isdisjoint(wanted)]

    def star_resource(acts: Iterable[str]) -> str | None:
        wanted = set(acts)
        for v, _, on_star in profiles:
            if not on_star.isdisjoint(wanted):
                return v.star[0][0]
        return None

    def lowered(views: list[_View], severity: Severity) -> tuple[Severity, str]:
        # Lower only when every statement that grants the path is narrowed: one unconditioned
        # statement grants it regardless of the conditions on the others.
        narrowing = [
            next((c for c in v.st.conditions if _condition_narrows(c, _escalation_key_ok)), None)
            for v in views
        ]
        if severity == Severity.CRITICAL and narrowing and all(c is not None for c in narrowing):
            return Severity.HIGH, f"; the condition on {narrowing[0].key} narrows it but does not remove it"
        return severity, ""

    if len(found) <= 4:
        for severity, actions, method in found:
            views = involved(actions)
            labels = sorted({v.label for v in views})
            severity, cond = lowered(views, severity)
            resource = star_resource(actions) if severity >= Severity.HIGH else None
            if resource is None:
                resource = next((r for v in views for r in v.resources), None)
            where = (f"on {resource}" if star_resource(actions)
                     else "on scoped resources (scope does not bound the gain)")
            title = getattr(method, "title", getattr(method, "id", "escalation"))
            ref = getattr(method, "reference", "")
            names = ", ".join(_canon(a) for a in actions)
            ctx.findings.append(Finding(
                PRIVILEGE_ESCALATION, severity,
                f"{', '.join(labels)}: {names} {where} enables privilege escalation "
                f"({getattr(method, 'id', '')}: {title}){cond}. Remove the action(s) or scope them to "
                f"specific ARNs with a narrowing condition.{(' See ' + ref) if ref else ''}",
                labels[0] if labels else None, names, resource))
        return
    by_severity: dict[Severity, list[tuple[Severity, tuple[str, ...], Any]]] = {}
    for item in found:
        by_severity.setdefault(item[0], []).append(item)
    for severity, items in sorted(by_severity.items(), key=lambda kv: -kv[0]):
        acts = {a for it in items for a in it[1]}
        views = involved(acts)
        labels = sorted({v.label for v in views})
        ids = [str(getattr(it[2], "id", "")) for it in items]
        key_actions = sorted(_canon(a) for a in acts)
        resource = star_resource(acts) if severity == Severity.CRITICAL else None
        severity, cond = lowered(views, severity)
        where = f"on {resource}" if resource else "on the granted resources"
        ctx.findings.append(Finding(
            PRIVILEGE_ESCALATION, severity,
            f"{', '.join(labels)}: grants {len(items)} privilege-escalation methods {where} "
            f"({_list(ids, 8)}){cond}, through {_list(key_actions, 8)}; remove those actions or scope them "
            "to specific ARNs.",
            labels[0] if labels else None, key_actions[0] if key_actions else None, resource))


# Resource-policy writes: Permissions-management actions that rewrite who may use a resource (bucket
# and key policies, ACLs, grants, resource policies, Lambda/SNS/SQS permissions, sharing). Found from
# the catalog's access level plus the verb and noun of the name, not a hand list, so new services are
# covered. Identity-side services are left to the escalation methods in data/escalation.json, and
# removals (Delete*, Remove*, Revoke*) narrow access, so they are not included.
_IDENTITY_SERVICES = frozenset({"iam", "sts", "sso", "sso-directory", "identitystore", "organizations"})
_POLICY_WRITE_RE = re.compile(
    r"^(?:put|set|add|create|update|modify|attach)[a-z0-9]*(?:policy|permissions?|acl|grant|"
    r"publicaccessblock|attributes)$"
)


def _policy_write_info(info: ActionInfo) -> bool:
    return (info.service not in _IDENTITY_SERVICES and info.access_level == "Permissions management"
            and not info.star_only and bool(_POLICY_WRITE_RE.match(info.name.lower())))


@lru_cache(maxsize=65536)
def _is_resource_policy_write(action_lower: str) -> bool:
    info = info_for_lower(action_lower)
    return info is not None and _policy_write_info(info)


@lru_cache(maxsize=1)
def _resource_policy_writes() -> frozenset[str]:
    """Every resource-policy write in the catalog. Loads every service, so it is used only for symbolic
    action sets (NotAction); written-out actions are checked one by one (_is_resource_policy_write)."""
    return frozenset(info.full.lower() for service in all_services() if service not in _IDENTITY_SERVICES
                     for info in actions_for_service(service) if _policy_write_info(info))


@_document_rule(PRIVILEGE_ESCALATION)
def _rule_resource_policy_writes(ctx: _Ctx) -> None:
    """Resource-policy writes (s3:PutBucketPolicy, kms:PutKeyPolicy, lambda:AddPermission, ...): on a
    named resource the holder can still open that resource to any principal, so they are reported there
    too (MEDIUM), and at HIGH on `*`."""
    denies = [d for d in ctx.views if d.st.is_deny and not d.st.conditions and d.literal_star]
    for v in ctx.views:
        if not v.st.is_allow or not (v.resources or v.not_resource) or v.actions.is_all:
            continue  # Action "*" is already reported as every escalation method at once
        if v.actions.expanded is not None:
            candidates: Iterable[str] = (a for a in v.actions.expanded if _is_resource_policy_write(a))
        else:
            candidates = v.actions.intersect(_resource_policy_writes())
        granted = sorted(a for a in candidates if not any(d.actions.contains(a) for d in denies))
        if not granted:
            continue
        star = [r for r, _ in v.star]
        named = [r for r in v.resources if r not in star and not has_unknown(r)]
        on_star: list[str] = []
        on_named: list[str] = []
        star_resource = named_resource = None
        for a in granted:
            info = info_for_lower(a)
            if info is None:
                continue
            hit = next((r for r in star if r.startswith("NotResource") or _action_fits(info, r)), None)
            if hit is not None:
                on_star.append(info.full)
                star_resource = star_resource or hit
                continue
            hit = next((r for r in named if _action_fits(info, r)), None)
            if hit is not None:
                on_named.append(info.full)
                named_resource = named_resource or hit
        for names, resource, severity in ((on_star, star_resource, Severity.HIGH),
                                          (on_named, named_resource, Severity.MEDIUM)):
            if not names or resource is None:
                continue
            where = f"on {resource}" + (" and other named resources" if severity == Severity.MEDIUM
                                        and len(named) > 1 else "")
            ctx.add(PRIVILEGE_ESCALATION, severity,
                    f"{v.label}: {_list(names)} {where} can rewrite a resource policy, ACL or grant, so the "
                    "holder can open the resource to any principal, itself included (resource-policy "
                    "privilege escalation). Remove the action(s): workloads that only use the resource "
                    "never need them.",
                    v, names[0], resource)


# ---------------------------------------------------------------------------------------------------
# Rule: unconstrained sensitive access


@lru_cache(maxsize=4096)
def _sensitive_hits(actions: ActionSet, star: tuple[str, ...]) -> tuple[tuple[str, str, str], ...]:
    """(action, first star resource it applies to, why sensitive) for every granted sensitive action."""
    sensitive = _sensitive_actions()
    hits: list[tuple[str, str, str]] = []
    for a in sorted(actions.intersect(_sensitive_universe())):
        info = info_for_lower(a)
        for resource in star:
            if info is None or resource.startswith("NotResource") or _action_fits(info, resource):
                hits.append((a, resource, sensitive[a]))
                break
    return tuple(hits)


@_statement_rule(SENSITIVE_ACCESS)
def _rule_sensitive(view: _View, ctx: _Ctx) -> None:
    """Credential or sensitive-data actions on wildcard resources; a narrowing condition lowers the
    severity but never hides the finding."""
    if not view.st.is_allow or not view.star:
        return
    sensitive = _sensitive_actions()
    if not sensitive:
        return
    hits = _sensitive_hits(view.actions, tuple(r for r, _ in view.star))
    if not hits:
        return
    if view.actions.symbolic or len(hits) > 8:
        services = sorted({a.partition(":")[0] for a, _, _ in hits})
        narrowed = [c for s in services for c in _narrowing_conditions_for(view, s)]
        severity = Severity.MEDIUM if narrowed else Severity.HIGH
        cond = f" (the condition on {narrowed[0].key} narrows it)" if narrowed else ""
        resource = hits[0][1]
        ctx.add(SENSITIVE_ACCESS, severity,
                f"{view.label}: grants {len(hits)} credential or sensitive-data actions on {resource}"
                f"{cond}: {_list_of([_canon(a) for a, _, _ in hits[:6]], len(hits))}; "
                "scope them to the specific secrets, keys, "
                "parameters or bucket prefixes used.", view, _canon(hits[0][0]), resource)
        return
    for a, resource, reason in hits:
        service = a.partition(":")[0]
        narrowed = _narrowing_conditions_for(view, service)
        severity = Severity.MEDIUM if narrowed else Severity.HIGH
        cond = (f"; the condition on {narrowed[0].key} narrows it, so the severity is lowered"
                if narrowed else "")
        name = _canon(a)
        ctx.add(SENSITIVE_ACCESS, severity,
                f"{view.label}: {name} on {resource} is unconstrained ({reason}){cond}; scope it to the "
                "specific resources the workload reads.", view, name, resource)


# ---------------------------------------------------------------------------------------------------
# Rule: unknown actions


def _unknown_action_message(p: str) -> str | None:
    """None when the (lower-case) action or pattern is known; else the reason and a suggestion."""
    if p == "*" or ("*" not in p and "?" not in p and info_for_lower(p) is not None):
        return None  # the common case, without touching the cache below
    return _unknown_action_problem(p)


@lru_cache(maxsize=4096)
def _unknown_action_problem(p: str) -> str | None:
    service, _, name = p.partition(":")
    if not name:
        return None  # iam-well-formed-documents reports the shape
    if "*" in p or "?" in p:
        if expand_action_pattern_lower(p):
            return None
        if "*" not in service and "?" not in service and not is_known_service(service):
            return f"service prefix {service!r} is not in the IAM catalog{_suggest(service, all_services())}"
        return "the pattern matches no action in the IAM catalog"
    if not is_known_service(service):
        return f"service prefix {service!r} is not in the IAM catalog{_suggest(service, all_services())}"
    if action_info(p) is None:
        from .catalog import _service_actions

        names = {n: i.full for n, i in _service_actions(service).items()}
        close = difflib.get_close_matches(name, list(names), n=1, cutoff=0.75)
        hint = f"; did you mean {names[close[0]]}?" if close else ""
        return f"{service} has no action named {name!r}{hint}"
    return None


def _suggest(word: str, choices: frozenset[str]) -> str:
    return _suggest_cached(word, choices)


@lru_cache(maxsize=1024)
def _suggest_cached(word: str, choices: frozenset[str]) -> str:
    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.75)
    return f"; did you mean {close[0]!r}?" if close else ""


@_statement_rule(KNOWN_ACTIONS)
def _rule_known_actions(view: _View, ctx: _Ctx) -> None:
    """Actions that match nothing in the catalog grant (or deny) nothing and hide the intent."""
    raw = view.st.actions if view.st.actions is not None else (view.st.not_actions or ())
    for written in raw:
        if not isinstance(written, str) or has_unknown(written):
            continue
        problem = _unknown_action_message(written.strip().lower())
        if problem:
            effect = "denies" if view.st.is_deny else "grants"
            ctx.add(KNOWN_ACTIONS, Severity.MEDIUM,
                    f"{view.label}: {written}: {problem}. As written it {effect} nothing; fix the name.",
                    view, written, _first_resource(view))


_KEYS_SHOWN = 3  # inapplicable condition keys named in one finding
_ACTIONS_SHOWN = 4  # actions named per key


@_statement_rule(WELL_FORMED)
def _rule_condition_keys(view: _View, ctx: _Ctx) -> None:
    """A service condition key that is never in the request context of some of the statement's
    actions. On an Allow the grant of those actions is void (fails closed, low); on a Deny the guard
    rail does not stop them (fails open, medium). Only written-out actions of the key's own service
    are judged; wildcard patterns, NotAction, unknown actions and unknown values are skipped, and
    global ``aws:`` keys always apply. IfExists operators are judged like the plain ones."""
    if not view.st.conditions or not (view.st.is_allow or view.st.is_deny):
        return
    actions = list(dict.fromkeys(a.strip().lower() for a in _written_actions(view) if not _has_glob_text(a)))
    if not actions:
        return
    problems: list[tuple[str, list[str], list[str]]] = []  # (key, inapplicable, applicable) per key
    seen: set[str] = set()
    for cond in view.st.conditions:
        key = cond.key
        if not isinstance(key, str) or has_unknown(key) or any(is_unknown(v) for v in cond.values):
            continue
        low = key.strip().lower()
        if low in seen or low.startswith("aws:"):
            continue
        seen.add(low)
        bad: list[str] = []
        good: list[str] = []
        for action in actions:
            applies = condition_key_applies(action, low)
            if applies is False:
                bad.append(_canon(action))
            elif applies:
                good.append(_canon(action))
        if bad:
            problems.append((key.strip(), bad, good))
    if not problems:
        return
    parts = []
    for key, bad, good in problems[:_KEYS_SHOWN]:
        fix = (f"move it to a statement with {_list(good, _ACTIONS_SHOWN)} only" if good else
               "remove it, or give it a statement of the actions it applies to")
        parts.append(f"{key} does not apply to {_list(bad, _ACTIONS_SHOWN)}: {fix}")
    more = len(problems) - _KEYS_SHOWN
    detail = "; ".join(parts) + (f"; and {more} more condition key(s)" if more > 0 else "")
    if view.st.is_deny:
        severity = Severity.MEDIUM
        effect = ("The key is never in the request of those actions, so this Deny does not stop them "
                  "as intended (it fails open)")
    else:
        severity = Severity.LOW
        effect = ("The key is never in the request of those actions, so this Allow grants them nothing "
                  "(it fails closed)")
    ctx.add(WELL_FORMED, severity, f"{view.label}: {detail}. {effect}.", view, problems[0][1][0],
            _first_resource(view))


def _has_glob_text(text: str) -> bool:
    return "*" in text or "?" in text


# ---------------------------------------------------------------------------------------------------
# Rules: trust policies and resource-policy principals

_ASSUME_ACTIONS = ("sts:assumerole", "sts:assumerolewithwebidentity", "sts:assumerolewithsaml")
_ANY_PRINCIPAL_NARROWING = ("aws:principalorgid", "aws:principalaccount", "aws:principalarn", "aws:sourcearn",
                            "aws:sourceaccount", "aws:principalorgpaths", "aws:sourcevpce", "aws:sourcevpc",
                            "aws:sourceip", "aws:sourceorgid", "aws:userid")
_ACCOUNT_RE = re.compile(r"^\d{12}$")
_ROOT_RE = re.compile(r"^arn:aws[a-z\-]*:iam::(?P<acct>[^:]+):root$")


def _any_principal_narrowing(cond: Condition) -> bool:
    return _condition_narrows(cond, lambda k: k.lower() in _ANY_PRINCIPAL_NARROWING)


def _principal_is_any(value: str) -> bool:
    if value == "*":
        return True
    m = _ROOT_RE.match(value)
    if m and ("*" in m.group("acct") or "?" in m.group("acct")):
        return True
    arn = parse_arn(value)
    return arn is not None and ("*" in arn.account or (arn.resource.strip("*") == "" and arn.resource != ""))


def _cond_keys(view: _View) -> dict[str, list[Condition]]:
    out: dict[str, list[Condition]] = {}
    for c in view.st.conditions:
        out.setdefault(c.key.lower(), []).append(c)
    return out


def _check_principals(view: _View, ctx: _Ctx, principal: Principal, *, negated: bool) -> None:
    is_trust = ctx.kind == "trust"
    if is_trust and not any(view.actions.contains(a) for a in _ASSUME_ACTIONS) and not view.actions.opaque:
        return
    noun = "assume this role" if is_trust else "use this resource"
    narrowed = [c for c in view.st.conditions if _any_principal_narrowing(c)]
    any_values = [v for _, v in principal.entries if isinstance(v, str) and _principal_is_any(v)]
    if negated or principal.any or any_values:
        what = "NotPrincipal (every principal except the listed ones)" if negated else \
            ("Principal \"*\"" if principal.any else f"Principal {any_values[0]}")
        if narrowed:
            ctx.add(TRUST_POLICY, Severity.HIGH,
                    f"{view.label}: {what} lets any AWS principal {noun}; the condition on {narrowed[0].key} "
                    "narrows it, but name the trusted principals instead.", view, None, None)
        else:
            ctx.add(TRUST_POLICY, Severity.CRITICAL,
                    f"{view.label}: {what} lets anyone {noun}; name the trusted service, account or "
                    "federated identity.", view, None, None)
        return
    keys = _cond_keys(view)
    for kind, value in principal.entries:
        if not isinstance(value, str):
            continue
        if kind == "AWS":
            m = _ROOT_RE.match(value)
            acct = value if _ACCOUNT_RE.match(value) else (m.group("acct") if m else None)
            if acct is None or (ctx.settings.account_id and acct == ctx.settings.account_id):
                continue
            if not is_trust:
                continue
            guarded = [c for k in ("sts:externalid", "aws:principalorgid") for c in keys.get(k, [])
                       if _condition_narrows(c, lambda _k: True)]
            if not guarded:
                ctx.add(TRUST_POLICY, Severity.MEDIUM,
                        f"{view.label}: account {acct} (root) can {noun} without an sts:ExternalId or "
                        "aws:PrincipalOrgID condition; add one to prevent confused-deputy use, or trust a "
                        "specific role.", view, None, value)
        elif kind == "Service":
            if not is_trust:
                continue
            if value.lower() not in {s.lower() for s in ctx.settings.allowed_service_principals}:
                allowed = ", ".join(sorted(ctx.settings.allowed_service_principals))
                ctx.add(TRUST_POLICY, Severity.HIGH,
                        f"{view.label}: service principal {value} is not on this environment's allow list "
                        f"({allowed}); trust only the compute service the job runs on.", view, None, value)
        elif kind == "Federated":
            host = _oidc_host(value)
            if host is None:
                continue
            missing = [k for k in ("sub", "aud") if not any(
                _condition_narrows(c, lambda _k: True) for c in keys.get(f"{host}:{k}", []))]
            if host == "cognito-identity.amazonaws.com":
                missing = [k for k in missing if k == "aud"]
            if missing:
                ctx.add(TRUST_POLICY, Severity.MEDIUM,
                        f"{view.label}: OIDC provider {host} can {noun} without "
                        f"{' and '.join(f'{host}:{k}' for k in missing)} condition(s); pin the audience "
                        "(sts.amazonaws.com) and the subject (e.g. repo:org/repo:ref:refs/heads/main).",
                        view, None, value)
            else:
                broad = [v for c in keys.get(f"{host}:sub", []) for v in c.values
                         if isinstance(v, str) and (v.strip("*") == "" or re.fullmatch(r"repo:\*.*", v))]
                if broad:
                    ctx.add(TRUST_POLICY, Severity.MEDIUM,
                            f"{view.label}: the {host}:sub condition {broad[0]!r} admits any repository; "
                            "name the repository (and branch or environment).", view, None, value)


def _oidc_host(value: str) -> str | None:
    if ":oidc-provider/" in value:
        return value.split(":oidc-provider/", 1)[1].lower()
    if value.lower() in ("cognito-identity.amazonaws.com", "accounts.google.com", "graph.facebook.com",
                         "www.amazon.com"):
        return value.lower()
    return None


@_statement_rule(TRUST_POLICY)
def _rule_trust(view: _View, ctx: _Ctx) -> None:
    """Who may assume the role (trust) or use the resource (resource policy)."""
    if ctx.kind == "identity" or not view.st.is_allow:
        return
    if view.st.not_principal is not None:
        _check_principals(view, ctx, view.st.not_principal, negated=True)
    elif view.st.principal is not None and not view.st.principal.unknown:
        _check_principals(view, ctx, view.st.principal, negated=False)
    elif view.st.principal is not None:
        _check_principals(view, ctx, Principal(False, tuple(e for e in view.st.principal.entries
                                                            if isinstance(e[1], str))), negated=False)


# ---------------------------------------------------------------------------------------------------
# Running the rules


_IDENTITY_RULES = frozenset({WILDCARD_RESOURCES, WILDCARD_ACTIONS, ACTION_RESOURCE_MATCH, NOT_ELEMENTS,
                             PRIVILEGE_ESCALATION, SENSITIVE_ACCESS, KNOWN_ACTIONS, WELL_FORMED})
_RULES_BY_KIND = {
    "identity": _IDENTITY_RULES,
    "resource": _IDENTITY_RULES | {TRUST_POLICY},
    "trust": frozenset({NOT_ELEMENTS, KNOWN_ACTIONS, TRUST_POLICY, WILDCARD_ACTIONS}),
}


def _apply_overrides(findings: list[Finding], settings: Settings) -> list[Finding]:
    overrides = settings.severity_overrides
    if not overrides:
        return findings
    out = []
    for f in findings:
        sev = overrides.get(f.rule)
        out.append(Finding(f.rule, Severity.parse(sev), f.message, f.statement, f.action, f.resource)
                   if sev is not None else f)
    return out


def _analyse(parsed: ParsedDocument, settings: Settings, kind: str) -> list[Finding]:
    # Parse findings (well-formed, preview-verifiable) and rule findings are of different rules, so
    # each part is bounded on its own; the rule part inside the cache.
    findings = _bounded(list(parsed.findings))
    key = (settings.forbid_star_only_actions, settings.allowed_service_principals, settings.account_id)
    try:
        findings.extend(_rule_findings(parsed.statements, kind, key))
    except TypeError:  # an unhashable value slipped into a statement: compute without the cache
        findings.extend(_rule_findings.__wrapped__(parsed.statements, kind, key))
    return findings


# Bounds on the number of findings, so that no document (AWS's own policies list hundreds of actions on
# dozens of ARNs) turns into thousands of diagnostics and a multi-megabyte Analyze answer. Beyond the
# bound, the findings of a rule are grouped per severity into one finding that names the first few
# subjects and "and N more"; the severity of every group is that of the findings it stands for, so
# thresholds (minimumSeverity, --fail-on) decide exactly as they would on the individual findings.
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
        head = f"{statement}: " if statement else (f"{_list(where, 4)}: " if where else "")
        out.append(Finding(
            rule, severity,
            f"{head}{prefix}{len(group)} {severity.label} findings of {rule}, for {_list(subjects, 5)}; "
            f"the first: {_without_label(first)}",
            statement if statement is not None else first.statement, first.action, first.resource))
    return out


def _bounded(findings: list[Finding]) -> list[Finding]:
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


@lru_cache(maxsize=2048)
def _rule_findings(statements: tuple[Statement, ...], kind: str,
                   settings_key: tuple[bool, frozenset[str], str | None]) -> tuple[Finding, ...]:
    """Run the enabled rules over normalised statements. Memoised: the pack checks each document once
    per policy, and statements are immutable, so identical statements yield identical findings."""
    settings = Settings(forbid_star_only_actions=settings_key[0], allowed_service_principals=settings_key[1],
                        account_id=settings_key[2])
    views = [_view(st) for st in statements]
    ctx = _Ctx(settings, kind, views)
    enabled = _RULES_BY_KIND[kind]
    for view in views:
        for rule_id, fn in _STATEMENT_RULES:
            if rule_id in enabled:
                fn(view, ctx)
    for rule_id, doc_fn in _DOCUMENT_RULES:
        if rule_id in enabled:
            doc_fn(ctx)
    return tuple(_bounded(ctx.findings))


def _guarded(kind: str, document: Any, settings: Settings | None) -> list[Finding]:
    settings = settings if isinstance(settings, Settings) else DEFAULT_SETTINGS
    try:
        if kind == "trust":
            parsed = parse_document(document, require_resource=False, principal_expected=True)
            findings = _analyse(parsed, settings, kind) + _trust_shape(parsed)
        elif kind == "resource":
            parsed = parse_document(document, require_resource=True, principal_expected=True)
            findings = _analyse(parsed, settings, kind)
        else:
            parsed = parse_document(document, require_resource=True, principal_expected=False)
            findings = _analyse(parsed, settings, kind)
        return _apply_overrides(findings, settings)
    except RecursionError:
        return [Finding(WELL_FORMED, Severity.MEDIUM, "the policy document is nested too deeply to analyse")]
    except Exception as exc:  # a validator must never raise; report instead
        return [Finding(WELL_FORMED, Severity.MEDIUM,
                        f"the policy document could not be analysed ({type(exc).__name__}: {exc}); "
                        "check that it follows the IAM policy grammar")]


def _trust_shape(parsed: ParsedDocument) -> list[Finding]:
    out = []
    for st in parsed.statements:
        if st.resources is not None or st.not_resources is not None:
            out.append(Finding(WELL_FORMED, Severity.MEDIUM,
                               f"{st.label}: a trust policy must not have Resource or NotResource (the "
                               "resource "
                               "is the role itself); remove it.", st.label))
    return out


def check_identity_policy(document: Any, settings: Settings = DEFAULT_SETTINGS) -> list[Finding]:
    """Findings for an identity policy (Policy, RolePolicy, inline policies). Never raises."""
    return _guarded("identity", document, settings)


def check_trust_policy(document: Any, settings: Settings = DEFAULT_SETTINGS) -> list[Finding]:
    """Findings for a role trust (assume-role) policy. Never raises."""
    return _guarded("trust", document, settings)


def check_resource_policy(document: Any, settings: Settings = DEFAULT_SETTINGS) -> list[Finding]:
    """Findings for a resource policy such as an S3 bucket policy. Never raises."""
    return _guarded("resource", document, settings)


def detect_kind(document: Any) -> str:
    """identity | trust | resource: Principal present -> trust when it only grants sts:Assume*, else
    resource; no Principal -> identity. Malformed input -> identity (the parser reports it)."""
    try:
        parsed = parse_document(document, require_resource=False, principal_expected=None)
    except Exception:
        return "identity"
    with_principal = [s for s in parsed.statements if s.principal is not None or s.not_principal is not None]
    if not with_principal:
        return "identity"
    for st in with_principal:
        if st.resources is not None or st.not_resources is not None:
            return "resource"  # trust policies have no Resource element
    for st in with_principal:
        for a in st.action_list:
            if isinstance(a, str) and _glob_compiled(a.strip().lower()).fullmatch("sts:assumerole"):
                return "trust"
            if isinstance(a, str) and a.strip().lower().startswith("sts:assume"):
                return "trust"
    return "resource"


def check_document(
    document: Any, kind: str = "auto", settings: Settings = DEFAULT_SETTINGS
) -> tuple[str, list[Finding]]:
    """Check a document of the given kind (``auto`` detects it); returns (kind, findings)."""
    if kind == "auto":
        kind = detect_kind(document)
    check = {"identity": check_identity_policy, "trust": check_trust_policy,
             "resource": check_resource_policy}[kind]
    return kind, check(document, settings)


# ---------------------------------------------------------------------------------------------------
# Managed policy attachments


_AWS_MANAGED_RE = re.compile(r"^arn:aws(?:-[a-z]+)*:iam::aws:policy/(?:[^/]+/)*(?P<name>[^/]+)$")


def _managed_document(arn: str) -> Any:
    try:
        from .managed_policies import managed_policy_document
    except Exception:  # pragma: no cover - while the snapshot module is being written
        return None
    try:
        return managed_policy_document(arn)
    except Exception:
        return None


def check_managed_policy_arn(policy_arn: Any, settings: Settings = DEFAULT_SETTINGS) -> list[Finding]:
    """Judge an attached policy ARN. AWS-managed: by the snapshot's document, plus allow/deny lists.
    Customer-managed: [] (the Policy resource itself is checked). Never raises."""
    try:
        return _apply_overrides(_check_managed(policy_arn, settings), settings)
    except Exception as exc:
        return [Finding(MANAGED_ATTACHMENTS, Severity.MEDIUM,
                        f"the attached policy {policy_arn!r} could not be analysed "
                        f"({type(exc).__name__}: {exc})")]


def _check_managed(policy_arn: Any, settings: Settings) -> list[Finding]:
    if is_unknown(policy_arn) or (isinstance(policy_arn, str) and has_unknown(policy_arn)):
        return [Finding(PREVIEW_VERIFIABLE, Severity.MEDIUM,
                        "the attached policy ARN is unknown at preview, so the attachment cannot be checked; "
                        "compute the ARN from config (arn:aws:iam::<account>:policy/<name>) or reference a "
                        "Policy in this stack.")]
    if not isinstance(policy_arn, str) or not policy_arn.startswith("arn:"):
        return [Finding(WELL_FORMED, Severity.MEDIUM, f"the attached policy ARN {policy_arn!r} is not an ARN",
                        resource=str(policy_arn))]
    m = _AWS_MANAGED_RE.match(policy_arn)
    name = m.group("name") if m else policy_arn.rsplit("/", 1)[-1]
    denied: list[Finding] = []
    if policy_arn in settings.managed_deny or name in settings.managed_deny:
        denied.append(Finding(MANAGED_ATTACHMENTS, Severity.HIGH,
                              f"{name} ({policy_arn}) is on this environment's deny list; attach a "
                              "customer-managed policy scoped to the resources the role uses.",
                              resource=policy_arn))
    elif policy_arn in settings.managed_allow or name in settings.managed_allow:
        return []
    if m is None:  # customer-managed: the Policy resource itself is checked
        return denied
    doc = _managed_document(policy_arn)
    if doc is None:
        return [Finding(MANAGED_ATTACHMENTS, Severity.MEDIUM,
                        f"{name} ({policy_arn}) is not in the bundled AWS managed-policy snapshot, so "
                        "it cannot be judged; refresh the snapshot, or review it and add it to the allow "
                        "list.",
                        resource=policy_arn), *denied]
    # The deny list says "not here"; the content says why (e.g. ReadOnlyAccess reads every bucket).
    return denied + list(_judge_managed(policy_arn, name))


@lru_cache(maxsize=256)
def _judge_managed(policy_arn: str, name: str) -> tuple[Finding, ...]:
    doc = _managed_document(policy_arn)
    inner = check_identity_policy(doc, DEFAULT_SETTINGS)
    perms = effective_permissions([doc])
    out: list[Finding] = []
    escalation = sorted((f for f in inner if f.rule == PRIVILEGE_ESCALATION), key=lambda f: -f.severity)
    if escalation:
        worst = escalation[0]
        out.append(Finding(MANAGED_ATTACHMENTS, worst.severity,
                           f"{name} ({policy_arn}) enables privilege escalation: {worst.message}",
                           action=worst.action, resource=policy_arn))
    summary = _breadth_summary(perms)
    if summary is not None:
        severity, text = summary
        out.append(Finding(MANAGED_ATTACHMENTS, severity,
                           f"{name} ({policy_arn}) {text}; attach a customer-managed policy scoped to the "
                           "resources the role uses.", resource=policy_arn))
    return tuple(out)


def _breadth_summary(perms: EffectivePermissions) -> tuple[Severity, str] | None:
    """Describe what a document grants on every resource, by service and access level."""
    if perms.all_actions_on_star:
        return Severity.CRITICAL, "grants every action on every resource (administrator access)"
    negated = [g for g in perms.grants if g.star and g.actions.negated]
    if negated:
        excluded = sorted({p for g in negated for p in g.actions.patterns})
        return Severity.HIGH, (f"grants every action except {_list(excluded, 8)} on every resource "
                               "(NotAction), including permissions management")
    levels = perms.star_access_levels()
    if not levels:
        return None
    parts: list[str] = []
    severity = Severity.LOW
    write = sorted(s for s, lv in levels.items() if lv in ("Write", "Permissions management"))
    perm = sorted(s for s, lv in levels.items() if lv == "Permissions management")
    read = sorted(s for s, lv in levels.items() if lv == "Read")
    if perm:
        parts.append(f"grants permissions management on every resource of {_list(perm)}")
        severity = Severity.HIGH
    if write:
        parts.append(f"grants write on every resource of {_list(write)}")
        severity = Severity.HIGH
    if "s3" in levels and levels["s3"] in ("Read", "Write", "Permissions management") and perms.allows(
        "s3:getobject", "arn:aws:s3:::any-bucket/any-key"
    ):
        parts.insert(0, "grants read on every S3 bucket in the account (s3:GetObject on all objects)")
        severity = max(severity, Severity.HIGH)
    if read:
        sensitive = [a for a in _sensitive_actions() if perms.allows(a, "*")]
        parts.append(f"grants read on every resource of {_list(read)}")
        severity = max(severity, Severity.HIGH if sensitive else Severity.MEDIUM)
    if not parts:
        lists_only = sorted(levels)
        parts.append(f"grants list access on every resource of {_list(lists_only)}")
    return severity, "; ".join(parts)


# ---------------------------------------------------------------------------------------------------
# Effective permissions and budgets


@dataclass(frozen=True, slots=True)
class Grant:
    """One Allow statement's contribution to effective permissions."""

    actions: ActionSet
    resources: tuple[str, ...]
    not_resource: bool
    conditional: bool
    statement: str
    document: int
    star: bool  # some resource is `*` or effectively star (or NotResource)


@dataclass(frozen=True)
class EffectivePermissions:
    """The union of several documents' Allow statements (unconditional Deny on `*` subtracted in
    ``allows``). ``*`` and NotAction stay symbolic; ``actions_by_resource`` expands the finite rest."""

    grants: tuple[Grant, ...]
    denies: tuple[Grant, ...] = ()
    unknown_documents: int = 0
    findings: tuple[Finding, ...] = ()

    @property
    def all_actions_on_star(self) -> bool:
        return any(g.star and g.actions.is_all for g in self.grants)

    def allows(self, action: str, resource: str = "*") -> bool:
        """Is ``action`` allowed on ``resource`` by some grant (and not denied outright)?"""
        a = action.lower()
        if any(d.actions.contains(a) for d in self.denies):
            return False
        info = info_for_lower(a)
        for g in self.grants:
            if not g.actions.contains(a):
                continue
            if g.not_resource or (resource == "*" and g.star):
                return True
            for r in g.resources:
                if r == "*" or (
                    info is not None and _action_fits(info, resource) and _glob_match(r, resource)
                ):
                    return True
        return False

    def services(self) -> frozenset[str] | None:
        """Service prefixes granted; None means every service (``*`` or a NotAction complement)."""
        acc: set[str] = set()
        for g in self.grants:
            s = g.actions.services()
            if s is None:
                return None
            acc |= s
        return frozenset(acc)

    def actions_by_resource(self) -> dict[str, frozenset[str]]:
        """Resource -> canonical action names granted on it; symbolic grants appear as ``*`` or
        ``NotAction[...]`` entries."""
        out: dict[str, set[str]] = {}
        for g in self.grants:
            keys = ["NotResource"] if g.not_resource else list(g.resources)
            if g.actions.expanded is None:
                names = {"*"} if g.actions.is_all else {f"NotAction[{','.join(g.actions.patterns)}]"}
            else:
                names = {_canon(a) for a in g.actions.expanded}
            for k in keys:
                out.setdefault(k, set()).update(names)
        return {k: frozenset(v) for k, v in out.items()}

    def star_access_levels(self) -> dict[str, str]:
        """Service -> highest access level granted on `*`/effectively-star resources, counting only
        actions that support resource-level scoping (star-only actions cannot be scoped anyway)."""
        levels: dict[str, int] = {}
        for g in self.grants:
            if not g.star:
                continue
            if g.actions.expanded is None:
                for svc in all_services():
                    levels[svc] = len(ACCESS_LEVELS) - 1
                continue
            for a in g.actions.expanded:
                info = info_for_lower(a)
                if info is None or info.star_only:
                    continue
                if any(d.actions.contains(a) for d in self.denies):
                    continue
                if info.access_rank > levels.get(info.service, -1):
                    levels[info.service] = info.access_rank
        return {s: ACCESS_LEVELS[r] for s, r in levels.items()}


def _glob_match(pattern: str, value: str) -> bool:
    return bool(_glob_compiled(pattern).fullmatch(value))


def effective_permissions(documents: Iterable[Any]) -> EffectivePermissions:
    """Union the Allow statements of identity documents (JSON, mappings, or AWS-managed policy ARNs).
    Never raises: unreadable documents are counted and reported in ``findings``."""
    grants: list[Grant] = []
    denies: list[Grant] = []
    findings: list[Finding] = []
    unknown = 0
    try:
        docs = list(documents)
    except Exception:
        docs = []
        findings.append(Finding(WELL_FORMED, Severity.MEDIUM, "the documents could not be read"))
    for index, doc in enumerate(docs):
        try:
            if isinstance(doc, str) and _AWS_MANAGED_RE.match(doc.strip()):
                resolved = _managed_document(doc.strip())
                if resolved is None:
                    findings.append(Finding(BUDGET, Severity.MEDIUM,
                                            f"{doc} is not in the managed-policy snapshot; not counted"))
                    continue
                doc = resolved
            parsed = parse_document(doc, require_resource=True, principal_expected=None)
            findings.extend(parsed.findings)
            if parsed.unknown:
                unknown += 1
            for st in parsed.statements:
                view = _view(st)
                grant = Grant(view.actions, view.resources, view.not_resource, bool(st.conditions),
                              st.label, index, bool(view.star))
                if st.is_allow:
                    grants.append(grant)
                elif st.is_deny and not st.conditions and view.literal_star:
                    denies.append(grant)
        except Exception as exc:
            findings.append(Finding(WELL_FORMED, Severity.MEDIUM,
                                    f"document {index} could not be analysed ({type(exc).__name__})"))
    return EffectivePermissions(tuple(grants), tuple(denies), unknown, tuple(findings))


@dataclass(frozen=True)
class Budget:
    """Per-environment limits on a role's effective permissions."""

    allowed_services: frozenset[str] | None = None  # None: any service
    forbid_write_on_star: bool = True
    forbid_permissions_management_on_star: bool = True


def check_budget(perms: EffectivePermissions, budget: Budget) -> list[Finding]:
    """Findings where the effective permissions exceed the budget. Never raises."""
    try:
        return _check_budget(perms, budget)
    except Exception as exc:
        return [Finding(BUDGET, Severity.HIGH,
                        f"the effective permissions could not be checked ({type(exc).__name__}: {exc})")]


def _check_budget(perms: EffectivePermissions, budget: Budget) -> list[Finding]:
    out: list[Finding] = []
    if budget.allowed_services is not None:
        allowed = {s.lower() for s in budget.allowed_services}
        for g in perms.grants:
            services = g.actions.services()
            if services is None:
                what = "Action \"*\"" if g.actions.is_all else f"NotAction [{_list(g.actions.patterns)}]"
                out.append(Finding(BUDGET, Severity.HIGH,
                                   f"{g.statement}: {what} grants every service, but the budget allows only "
                                   f"{_list(sorted(allowed))}; list the actions of allowed services.",
                                   g.statement, what))
                continue
            outside = sorted(services - allowed)
            if not outside:
                continue
            acts = sorted(_canon(a) for a in g.actions.expanded or () if a.partition(":")[0] in outside)
            noun = "service" if len(outside) == 1 else "services"
            out.append(Finding(BUDGET, Severity.HIGH,
                               f"{g.statement}: {_list(acts, 4)} {'is' if len(acts) == 1 else 'are'} outside "
                               f"the budget: {noun} {_list(outside, 8)} not in the allowed services "
                               f"({_list(sorted(allowed), 12)}).",
                               g.statement, acts[0] if acts else outside[0]))
    forbidden = []
    if budget.forbid_write_on_star:
        forbidden.append("Write")
    if budget.forbid_permissions_management_on_star:
        forbidden.append("Permissions management")
    if forbidden:
        for g in perms.grants:
            if not g.star:
                continue
            where = "NotResource" if g.not_resource else next(
                (r for r in g.resources if effectively_star_reason(r)), "*")
            if g.actions.expanded is None:
                out.append(Finding(BUDGET, Severity.HIGH,
                                   f"{g.statement}: grants {' and '.join(forbidden)} access on {where} "
                                   "(every action); the budget forbids that on \"*\".",
                                   g.statement, None, where))
                continue
            bad = []
            for a in sorted(g.actions.expanded):
                info = info_for_lower(a)
                if info is None or info.star_only or info.access_level not in forbidden:
                    continue
                if any(d.actions.contains(a) for d in perms.denies):
                    continue
                if where != "*" and where != "NotResource" and not _action_fits(info, where):
                    continue
                bad.append(info)
            if bad:
                level = max(bad, key=lambda i: i.access_rank).access_level
                out.append(Finding(BUDGET, Severity.HIGH,
                                   f"{g.statement}: {_list([i.full for i in bad], 4)} grant {level} "
                                   f"access on {where}; the budget forbids Write/Permissions management "
                                   "on \"*\". Scope them to ARNs.", g.statement, bad[0].full, where))
    if perms.unknown_documents:
        out.append(Finding(PREVIEW_VERIFIABLE, Severity.MEDIUM,
                           f"{perms.unknown_documents} document(s) are unknown at preview and were not "
                           "counted in the effective permissions."))
    return out
