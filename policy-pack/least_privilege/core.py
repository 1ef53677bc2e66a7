"""The engine's core: statement views, the rule context and the rule registry, and the helpers that
several rules share (action/resource fitting, narrowing conditions, the hand-kept lists).

Rules see ``StatementView`` objects: a statement plus its pre-computed action set (kept symbolic for
``*`` and NotAction, so no rule ever walks the 22,000 catalog actions) and its effectively-star
resources. Each rule lives in its own module under ``least_privilege.rules`` and registers its checks
here with ``statement_check`` or ``document_check``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from . import UNKNOWN
from .arn import effectively_star_reason, fitting_templates, has_unknown, resource_fits_template, template_set
from .catalog import ActionInfo, expand_action_pattern_lower, info_for_lower, service_templates
from .conditions import condition_pitfall
from .document import SELF_STAR_SERVICES, Condition, Statement, actions_all_of
from .findings import Finding, RuleInfo, Severity
from .settings import Settings

IDENTITY = "identity"
TRUST = "trust"
RESOURCE = "resource"
KINDS: frozenset[str] = frozenset({IDENTITY, TRUST, RESOURCE})
POLICY_KINDS: frozenset[str] = frozenset({IDENTITY, RESOURCE})  # documents that grant actions on resources
TRUST_AND_RESOURCE: frozenset[str] = frozenset({TRUST, RESOURCE})  # documents with a Principal


# ---------------------------------------------------------------------------------------------------
# Action sets: symbolic for "*" and NotAction, expanded otherwise


def _glob_to_regex(pattern: str) -> str:
    return re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")


@lru_cache(maxsize=16384)
def glob_regex(pattern: str) -> re.Pattern[str]:
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
        return _services_of(self.expanded)


@lru_cache(maxsize=4096)
def _services_of(actions: frozenset[str]) -> frozenset[str]:
    """The service prefixes of lower-case ``service:action`` names (rules ask per condition)."""
    return frozenset(a.partition(":")[0] for a in actions)


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


def statement_action_set(st: Statement) -> ActionSet:
    negated = st.actions is None and st.not_actions is not None
    raw = st.not_actions if negated else (st.actions or ())
    known = tuple(sorted({a.strip().lower() for a in raw or () if isinstance(a, str) and not has_unknown(a)}))
    opaque = any(a is UNKNOWN or (isinstance(a, str) and has_unknown(a)) for a in raw or ())
    return _action_set(known, negated, opaque)


# ---------------------------------------------------------------------------------------------------
# Statement views


# Stand-ins in a view's reach (``reach_resources``): the resource a resource policy is attached to (its
# ``Resource: "*"``, an API Gateway ``execute-api:/...`` path, or an absent Resource where the service
# implies it), and an Allow's NotResource complement.
THIS_RESOURCE = "<the resource this policy is attached to>"
NOT_RESOURCE_PREFIX = "NotResource ["


@dataclass(frozen=True, slots=True)
class StatementView:
    """A statement plus what every rule needs of it, computed once: its action set (symbolic for ``*``
    and NotAction), its known resources, and which of them are effectively ``*`` and why.

    In a resource policy, ``Resource: "*"`` (and API Gateway's ``execute-api:/...`` form, and a
    Resource the service implies) names the resource the policy is attached to, not every resource:
    such entries are not in ``resources`` but set ``implicit``."""

    st: Statement
    actions: ActionSet
    resources: tuple[str, ...]  # known Resource strings (empty for NotResource)
    opaque_resources: bool  # some Resource entry is (partly) unknown
    not_resource: bool
    star: tuple[tuple[str, str], ...]  # (resource as written, why it is effectively *)
    implicit: bool = False  # (also) the resource the policy is attached to
    # The Action entries as written, without unknown ones (see written_actions); None: not worked out.
    written: tuple[str, ...] | None = field(default=None, compare=False)

    @property
    def label(self) -> str:
        return self.st.label

    @property
    def on_star(self) -> bool:
        return bool(self.star)

    @property
    def literal_star(self) -> bool:
        return self.not_resource or "*" in self.resources

    @property
    def reach_resources(self) -> tuple[str, ...]:
        """What an Allow grants on: its resources, the NotResource complement (as the ``star`` entry
        naming it) and ``THIS_RESOURCE`` for the attached resource."""
        extra = (self.star[0][0],) if self.not_resource else ()
        return self.resources + extra + ((THIS_RESOURCE,) if self.implicit else ())


def names_attached_resource(resource: str, st: Statement | None = None) -> bool:
    """In a resource policy, does this Resource entry name the resource the policy is attached to?
    API Gateway's ``execute-api:/...`` paths do; ``"*"`` does for the services that write it so
    (``SELF_STAR_SERVICES``: KMS key policies, Secrets Manager ...), judged by the statement's actions."""
    if resource.startswith("execute-api:/"):
        return True
    return resource == "*" and (st is None or actions_all_of(st.actions, SELF_STAR_SERVICES))


def statement_view(st: Statement, kind: str = IDENTITY) -> StatementView:
    """The view of one normalised statement in a document of ``kind``."""
    resources: list[str] = []
    opaque = False
    implicit = False
    not_resource = st.resources is None and st.not_resources is not None
    if not not_resource:
        if st.resources is None and kind == RESOURCE:
            implicit = True  # the parser reported it unless the service implies the resource
        for r in st.resources or ():
            if isinstance(r, str):
                if kind == RESOURCE and names_attached_resource(r, st):
                    implicit = True
                    continue
                resources.append(r)
                if has_unknown(r):
                    opaque = True
            else:
                opaque = True
    star: list[tuple[str, str]] = []
    if not_resource:
        excluded = ", ".join(str(r) for r in st.not_resources or () if isinstance(r, str)) or "nothing"
        star.append((f"{NOT_RESOURCE_PREFIX}{excluded}]",
                     f"NotResource grants every resource except {excluded}"))
    else:
        for r in resources:
            reason = effectively_star_reason(r)
            if reason is not None:
                star.append((r, reason))
    return StatementView(st, statement_action_set(st), tuple(resources), opaque, not_resource, tuple(star),
                         implicit, _known_written(st))


def _known_written(st: Statement) -> tuple[str, ...]:
    raw = st.actions if st.actions is not None else ()
    return tuple(a for a in raw if isinstance(a, str) and not has_unknown(a))


def is_star_reach(resource: str) -> bool:
    """Is this entry of ``reach_resources`` effectively every resource?"""
    return resource.startswith(NOT_RESOURCE_PREFIX) or effectively_star_reason(resource) is not None


def reach_fits(info: ActionInfo | None, resource: str) -> bool:
    """Can the action act on this entry of ``reach_resources``?"""
    if info is None or resource == THIS_RESOURCE or resource.startswith(NOT_RESOURCE_PREFIX):
        return True
    return action_fits(info, resource)


# ---------------------------------------------------------------------------------------------------
# Deny: what an unconditional Deny removes for sure


def _literal_prefix(pattern: str) -> str:
    cut = min((i for i in (pattern.find("*"), pattern.find("?"), pattern.find("${")) if i >= 0),
              default=len(pattern))
    return pattern[:cut]


def _is_exact(pattern: str) -> bool:
    return _literal_prefix(pattern) == pattern


def pattern_covers(outer: str, inner: str) -> bool:
    """Does the resource pattern ``outer`` match everything ``inner`` matches? Conservative: False
    when unsure (a policy variable, or wildcards that do not line up as a shared prefix)."""
    if outer == "*" or outer == inner:
        return True
    if "${" in outer or inner in (THIS_RESOURCE,) or inner.startswith(NOT_RESOURCE_PREFIX):
        return False
    if _is_exact(inner):
        return glob_match(outer, inner)
    head = outer[:-1]
    return outer.endswith("*") and _is_exact(head) and inner.startswith(head)


def _provably_disjoint(a: str, b: str) -> bool:
    if _is_exact(a) and _is_exact(b):
        return a != b
    pa, pb = _literal_prefix(a), _literal_prefix(b)
    return not (pa.startswith(pb) or pb.startswith(pa))


@dataclass(frozen=True, slots=True)
class Denial:
    """An unconditional Deny statement, as what it takes away from Allow statements.

    Only a Deny that applies for sure subtracts: one with a Condition (or an unknown one) may not
    apply to a request, and in a resource policy one that names principals (or uses NotPrincipal)
    may not apply to the principal the Allow names."""

    actions: ActionSet
    resources: tuple[str, ...]  # Resource patterns (empty in the NotResource form)
    not_resources: tuple[str, ...] | None  # NotResource patterns; None in the Resource form

    def residual(self, resource: str) -> tuple[str, ...] | None:
        """What remains of an Allow's ``resource`` (an entry of ``reach_resources``) for an action this
        Deny covers: None when it stays whole, else the (possibly empty) entries that remain."""
        if self.not_resources is None:
            return () if any(pattern_covers(d, resource) for d in self.resources) else None
        # Deny NotResource N denies everything except N: what remains of the Allow is at most N.
        if resource.startswith(NOT_RESOURCE_PREFIX):
            return self.not_resources
        if resource == THIS_RESOURCE or any(pattern_covers(n, resource) for n in self.not_resources):
            return None
        overlapping = [n for n in self.not_resources if not _provably_disjoint(n, resource)]
        if all(pattern_covers(resource, n) for n in overlapping):
            return tuple(overlapping)
        return None


def _applies_to_every_principal(st: Statement) -> bool:
    if st.not_principal is not None:
        return False
    principal = st.principal
    return principal is None or principal.any or any(v == "*" for _, v in principal.entries)


def denial_of(st: Statement) -> Denial | None:
    """The Denial of a Deny statement, or None when it may not apply (see ``Denial``)."""
    if not st.is_deny or st.conditions or st.condition_unknown or not _applies_to_every_principal(st):
        return None
    if st.resources is None and st.not_resources is None:
        resources: tuple[str, ...] = ("*",)  # a resource policy's implied resource
        not_resources: tuple[str, ...] | None = None
    elif st.resources is not None:
        resources, not_resources = tuple(r for r in st.resources if isinstance(r, str)), None
    else:
        resources = ()
        not_resources = tuple(r for r in st.not_resources or () if isinstance(r, str))
        if len(not_resources) != len(st.not_resources or ()):
            return None  # an unknown exception could be anything
    return Denial(statement_action_set(st), resources, not_resources)


def denials_in(views: Iterable[StatementView]) -> tuple[Denial, ...]:
    """The Denials of a document's statements."""
    return tuple(d for d in (denial_of(v.st) for v in views) if d is not None)


@lru_cache(maxsize=16384)
def surviving(action_lower: str, resources: tuple[str, ...], denials: tuple[Denial, ...]) -> tuple[str, ...]:
    """The entries of an Allow's reach on which ``action_lower`` stays granted after ``denials``."""
    current = resources
    for denial in denials:
        if not current:
            break
        if not denial.actions.contains(action_lower):
            continue
        remaining: list[str] = []
        for resource in current:
            rest = denial.residual(resource)
            remaining.extend((resource,) if rest is None else rest)
        current = tuple(dict.fromkeys(remaining))
    return current


def denied_on_star(action_lower: str, denials: tuple[Denial, ...]) -> bool:
    """Does some Deny take ``*`` away from a grant of the action (wholly, or down to named resources)?"""
    return any(d.actions.contains(action_lower) and d.residual("*") is not None for d in denials)


@dataclass
class RuleContext:
    """One document under analysis: its kind, settings and statement views; rules add findings here."""

    settings: Settings
    kind: str  # identity | trust | resource
    views: list[StatementView]
    findings: list[Finding] = field(default_factory=list)

    def add(self, rule: str, severity: Severity, message: str, view: StatementView | None = None,
            action: str | None = None, resource: str | None = None) -> None:
        """Record a finding of ``rule`` on ``view``'s statement."""
        self.findings.append(Finding(rule, severity, message, view.label if view else None, action, resource))




_ACCOUNT_ROOT = re.compile(r"^(?:\d{12}|arn:aws[a-z-]*:iam::\d{12}:root)$")


def delegates_to_accounts(view: StatementView, ctx: RuleContext) -> bool:
    """In a resource policy, does the statement name only account roots (``arn:aws:iam::<id>:root`` or
    ``<id>``)? Then it grants nothing to a principal directly: it lets that account's IAM policies grant
    it, and those are judged where they are written."""
    principal = view.st.principal
    if ctx.kind != RESOURCE or principal is None or principal.any or principal.unknown:
        return False
    if not principal.entries:
        return False
    return all(kind == "AWS" and isinstance(value, str) and _ACCOUNT_ROOT.match(value) is not None
               for kind, value in principal.entries)


StatementCheck = Callable[["StatementView", "RuleContext"], None]
DocumentCheck = Callable[["RuleContext"], None]


@dataclass(frozen=True, slots=True)
class RegisteredCheck:
    """A rule's check function and the document kinds it runs on."""

    rule: str
    kinds: frozenset[str]
    check: Callable[..., None]


STATEMENT_CHECKS: list[RegisteredCheck] = []  # run once per statement, in registration order
DOCUMENT_CHECKS: list[RegisteredCheck] = []  # run once per document, after the statement checks


def statement_check(rule: RuleInfo, kinds: frozenset[str]) -> Callable[[StatementCheck], StatementCheck]:
    """Register a per-statement check of ``rule`` for documents of ``kinds``."""

    def register(fn: StatementCheck) -> StatementCheck:
        STATEMENT_CHECKS.append(RegisteredCheck(rule.id, kinds, fn))
        return fn

    return register


def document_check(rule: RuleInfo, kinds: frozenset[str]) -> Callable[[DocumentCheck], DocumentCheck]:
    """Register a whole-document check of ``rule`` (it may combine several statements)."""

    def register(fn: DocumentCheck) -> DocumentCheck:
        DOCUMENT_CHECKS.append(RegisteredCheck(rule.id, kinds, fn))
        return fn

    return register


# ---------------------------------------------------------------------------------------------------
# Helpers


def canonical_name(action_lower: str) -> str:
    info = info_for_lower(action_lower)
    return info.full if info is not None else action_lower


def list_head_text(shown: Iterable[str], total: int) -> str:
    """Like _list for a pre-truncated head of a longer list of ``total`` items."""
    head = list(shown)
    return ", ".join(head) + (f" and {total - len(head)} more" if total > len(head) else "")


def list_text(items: Iterable[str], limit: int = 6) -> str:
    """Human list, truncated: messages must stay readable for ``*:Get*`` (thousands of actions)."""
    seq = items if isinstance(items, (list, tuple)) else list(items)
    if len(seq) <= limit:
        return ", ".join(seq)
    return ", ".join(seq[:limit]) + f" and {len(seq) - limit} more"


def written_actions(view: StatementView) -> list[str]:
    """The statement's Action entries as written, without unknown ones (worked out once per view)."""
    return list(view.written if view.written is not None else _known_written(view.st))


@lru_cache(maxsize=65536)
def fits_any_format(resource: str, formats: tuple[str, ...]) -> bool:
    return any(resource_fits_template(resource, f) for f in formats)


def matches_literal_star(resource: str) -> bool:
    """Does the policy resource pattern match the request resource ``*`` (how star-only actions are
    authorised)? Only ``*``-like patterns do; an ARN never does. Every ``*`` in the pattern is a
    wildcard, so it matches the one-character string ``*`` exactly when it is not empty and what remains
    after removing its ``*``s is empty or a single ``?``."""
    return 0 < len(resource) < 64 and resource.replace("*", "") in ("", "?")


def action_fits(info: ActionInfo, resource: str) -> bool:
    """Could ``resource`` (a policy Resource entry) denote a resource this action acts on?"""
    return resource_fitter(resource)(info)


@lru_cache(maxsize=16384)
def resource_fitter(resource: str) -> Callable[[ActionInfo], bool]:
    """``action_fits`` with the resource fixed: what depends only on the resource is worked out once,
    and the answer once per set of ARN templates, for rules that try one resource against many actions."""
    if has_unknown(resource):
        return lambda info: True
    literal_star = matches_literal_star(resource)
    any_resource = resource == "*"
    wildcard = "*" in resource or "?" in resource or "${" in resource
    by_formats: dict[tuple[str, ...], bool] = {}

    def fits_templates(info: ActionInfo) -> bool:
        found = by_formats.get(info.arn_formats)
        if found is None:
            if wildcard:
                # A wildcard resource is usually tried against many actions of a service (``ec2:*`` on
                # ``arn:aws:ec2:*:*:instance/*``): fit it to all the service's templates in one pass.
                templates = template_set(service_templates(info.service))
                found = bool(fitting_templates(resource, templates) & templates.mask(info.arn_formats))
            else:
                found = fits_any_format(resource, info.arn_formats)
            by_formats[info.arn_formats] = found
        return found

    def fits(info: ActionInfo) -> bool:
        if info.accepts_only_star:
            return literal_star
        if any_resource or (literal_star and info.star_only):
            return True
        return fits_templates(info)

    return fits


_POSITIVE_OPERATORS = frozenset(
    {"stringequals", "stringequalsignorecase", "stringlike", "arnequals", "arnlike", "ipaddress",
     "numericequals", "bool", "datelessthan", "dategreaterthan", "numericlessthan", "numericlessthanequals"}
)


def condition_narrows(cond: Condition, key_ok: Callable[[str], bool]) -> bool:
    """A condition narrows when its key is a narrowing key, its operator is a positive match (no
    IfExists: an absent key would pass), its values are concrete (not unknown, not just ``*``), and it
    has none of the pitfalls of ``conditions.condition_pitfall`` (ForAllValues, an unknown key, a type
    mismatch, a wildcard in an identifier, MFA false): such a condition never lowers a severity."""
    if cond.if_exists or cond.base_operator not in _POSITIVE_OPERATORS:
        return False
    if cond.set_qualifier == "forallvalues":
        return False  # ForAllValues passes when the key is absent or empty
    if not key_ok(cond.key):
        return False
    values = [v for v in cond.values if v is not UNKNOWN]
    if not values or len(values) != len(cond.values):
        return False
    if any(isinstance(v, str) and v.strip("*?") == "" for v in values):
        return False
    return condition_pitfall(cond) is None


def _lists_module() -> Any:
    """The hand-kept lists loader (owned elsewhere); imported lazily so a missing file degrades to an
    empty list instead of breaking every rule."""
    try:
        from . import lists
    except Exception:  # pragma: no cover - only while the lists are being written
        return None
    return lists


@lru_cache(maxsize=1)
def sensitive_actions() -> Mapping[str, str]:
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
def escalation_universe() -> frozenset[str]:
    """Every lower-case action that takes part in some escalation method."""
    return frozenset(a for m in escalation_methods() for a in m.actions)


@lru_cache(maxsize=1)
def sensitive_universe() -> frozenset[str]:
    return frozenset(sensitive_actions())


@lru_cache(maxsize=1)
def escalation_methods() -> tuple[Any, ...]:
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


def narrowing_conditions_for(view: StatementView, service: str) -> list[Condition]:
    def key_ok(key: str) -> bool:
        prefix = key.split(":", 1)[0].lower()
        return prefix in ("aws", service) and _is_narrowing_key(key)

    return [c for c in view.st.conditions if condition_narrows(c, key_ok)]


def format_hint(info: ActionInfo) -> str:
    required = [f for rt in info.resource_types if rt.required for f in rt.arn_formats]
    formats = tuple(required) or info.arn_formats
    if not formats:
        return '"*"'
    hint = formats[-1] if info.service == "s3" else formats[0]
    hint = hint.replace("${Partition}", "aws").replace("${Region}", "<region>")
    return hint.replace("${Account}", "<account>")



def first_resource(view: StatementView) -> str | None:
    if view.not_resource:
        return view.star[0][0] if view.star else None
    return view.resources[0] if view.resources else None


def has_glob_text(text: str) -> bool:
    return "*" in text or "?" in text


def glob_match(pattern: str, value: str) -> bool:
    return bool(glob_regex(pattern).fullmatch(value))


# An AWS-managed policy ARN; ``name`` is the policy name without its path.
AWS_MANAGED_ARN = re.compile(r"^arn:aws(?:-[a-z]+)*:iam::aws:policy/(?:[^/]+/)*(?P<name>[^/]+)$")


def managed_document(arn: str) -> Any:
    """The bundled snapshot's document of an AWS-managed policy ARN, or None when it has none."""
    try:
        from .managed_policies import managed_policy_document
    except Exception:  # pragma: no cover - while the snapshot module is being written
        return None
    try:
        return managed_policy_document(arn)
    except Exception:
        return None


def apply_overrides(findings: list[Finding], settings: Settings) -> list[Finding]:
    """The findings with the configured per-rule severity overrides applied."""
    overrides = settings.severity_overrides
    if not overrides:
        return findings
    out = []
    for f in findings:
        sev = overrides.get(f.rule)
        out.append(Finding(f.rule, Severity.parse(sev), f.message, f.statement, f.action, f.resource)
                   if sev is not None else f)
    return out


# Network plumbing AWS services create at run time (the elastic network interfaces of SageMaker, Lambda
# and Batch jobs in VPC mode) cannot be named in advance; AWS documents confining it to one VPC or subnet
# with these resource condition keys instead. Only these EC2 resource types count: a condition on the VPC
# does not make "every instance in the VPC" a scoped grant.
NETWORK_CONTAINER_KEYS = frozenset({"ec2:vpc", "ec2:subnet"})
NETWORK_PLUMBING_TYPES = frozenset({"network-interface", "subnet", "security-group"})


def _is_network_plumbing(resource: str) -> bool:
    parts = resource.split(":", 5)
    return (len(parts) == 6 and parts[2] == "ec2" and re.fullmatch(r"\d{12}", parts[4]) is not None
            and parts[5].split("/", 1)[0] in NETWORK_PLUMBING_TYPES)


def network_container(view: StatementView, actions: Iterable[str], resource: str) -> Condition | None:
    """The condition confining ``actions`` on ``resource`` (an ENI, subnet or security group of one
    account) to one VPC or subnet: an exact StringEquals/ArnEquals on ``ec2:Vpc``/``ec2:Subnet``
    (no IfExists, no set qualifier, no wildcard, no pitfall) that applies to every one of the actions."""
    from .catalog import condition_key_applies

    if not _is_network_plumbing(resource):
        return None
    names = [a.lower() for a in actions]
    for cond in view.st.conditions:
        key = cond.key.lower()
        if (key in NETWORK_CONTAINER_KEYS and cond.base_operator in ("stringequals", "arnequals")
                and not cond.if_exists and cond.set_qualifier is None and cond.values
                and all(isinstance(v, str) and v and not any(ch in v for ch in "*?$") for v in cond.values)
                and condition_pitfall(cond) is None
                and names and all(condition_key_applies(a, key) for a in names)):
            return cond
    return None
