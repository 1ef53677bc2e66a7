"""Parse and normalise IAM policy documents in every legal form, reporting malformed ones as findings.

Inputs come from JSON files, Pulumi resource inputs (plain dicts, or pulumi_policy's Mapping/Sequence
proxies that raise on unknown values) and the engine's wire form (unknown values as sentinel strings).
Nothing here may raise: every problem becomes a ``iam-well-formed-documents`` or
``iam-preview-verifiable`` finding, and an unknown part is kept as the opaque ``UNKNOWN`` marker,
never widened to ``*`` nor dropped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import UNKNOWN, is_unknown
from .arn import has_unknown
from .findings import Finding, Severity
from .rules.preview_verifiable import RULE as PREVIEW_VERIFIABLE
from .rules.well_formed import RULE as WELL_FORMED

__all__ = [
    "IMPLIED_RESOURCE_SERVICES",
    "SELF_STAR_SERVICES",
    "Condition",
    "ParsedDocument",
    "Principal",
    "Statement",
    "parse_document",
]

_TOP_KEYS = ("Version", "Id", "Statement")
_STATEMENT_KEYS = (
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
)
_VERSIONS = ("2012-10-17", "2008-10-17")
_ACTION_RE = re.compile(r"^[A-Za-z0-9*?_.\-]+:[A-Za-z0-9*?_.\-]+$")
_MISSING = object()

# Services whose resource policies have no Resource element: the policy's resource is implied (ECR
# repository policies). A resource-policy statement whose actions are all of these services may omit it.
IMPLIED_RESOURCE_SERVICES: frozenset[str] = frozenset({"ecr", "ecr-public"})

# Services whose resource policies write ``Resource: "*"`` for the resource the policy is attached to
# (a KMS key policy's "*" is that key, not every key). Elsewhere (an S3 bucket policy) "*" stays a wildcard.
SELF_STAR_SERVICES: frozenset[str] = frozenset({"kms", "secretsmanager", "backup", "codeartifact", "ecr",
                                                "ecr-public"})
_MAX_DEPTH = 8


@dataclass(frozen=True, slots=True)
class Condition:
    """One condition clause: operator (e.g. ``StringEquals``), key, and values (strings or UNKNOWN)."""

    operator: str
    key: str
    values: tuple[Any, ...]

    @property
    def base_operator(self) -> str:
        """Operator without set qualifier and IfExists suffix, lower case (``stringlike``)."""
        op = self.operator.split(":", 1)[-1]
        if op.lower().endswith("ifexists"):
            op = op[: -len("ifexists")]
        return op.lower()

    @property
    def if_exists(self) -> bool:
        return self.operator.lower().endswith("ifexists")

    @property
    def set_qualifier(self) -> str | None:
        if ":" in self.operator:
            return self.operator.split(":", 1)[0].lower()
        return None


@dataclass(frozen=True, slots=True)
class Principal:
    """A normalised Principal/NotPrincipal: ``any`` for the bare ``"*"``, else type -> values."""

    any: bool
    entries: tuple[tuple[str, Any], ...]  # (type e.g. "AWS"/"Service"/"Federated", value or UNKNOWN)
    unknown: bool = False

    def values(self, kind: str) -> tuple[Any, ...]:
        return tuple(v for k, v in self.entries if k.lower() == kind.lower())


@dataclass(frozen=True, slots=True)
class Statement:
    """A normalised statement. Element tuples are None when the element is absent."""

    index: int
    sid: str | None
    effect: str | None  # "Allow" / "Deny" as written (case kept), None when missing or unknown
    actions: tuple[Any, ...] | None = None  # strings (as written) or UNKNOWN
    not_actions: tuple[Any, ...] | None = None
    resources: tuple[Any, ...] | None = None
    not_resources: tuple[Any, ...] | None = None
    principal: Principal | None = None
    not_principal: Principal | None = None
    conditions: tuple[Condition, ...] = ()
    condition_unknown: bool = False

    @property
    def label(self) -> str:
        """How messages name the statement: its Sid, or ``Statement[i]``."""
        return self.sid if self.sid else f"Statement[{self.index}]"

    @property
    def is_allow(self) -> bool:
        """Allow, read leniently (case-insensitive) so a mis-cased Effect never hides a grant."""
        return isinstance(self.effect, str) and self.effect.lower() == "allow"

    @property
    def is_deny(self) -> bool:
        return isinstance(self.effect, str) and self.effect.lower() == "deny"

    @property
    def action_list(self) -> tuple[Any, ...]:
        return self.actions if self.actions is not None else (self.not_actions or ())

    @property
    def resource_list(self) -> tuple[Any, ...]:
        return self.resources if self.resources is not None else (self.not_resources or ())


@dataclass(frozen=True, slots=True)
class ParsedDocument:
    """Result of parsing: statements that could be read, plus findings about the document itself."""

    statements: tuple[Statement, ...]
    findings: tuple[Finding, ...] = ()
    unknown: bool = False  # the whole document (or its Statement element) is unknown at preview
    version: str | None = None
    malformed: bool = False

    @property
    def ok(self) -> bool:
        return not self.unknown and not self.malformed


@dataclass
class _Ctx:
    findings: list[Finding] = field(default_factory=list)
    malformed: bool = False
    implied_resource_services: frozenset[str] = frozenset()

    def bad(self, message: str, statement: str | None = None, severity: Severity = Severity.MEDIUM,
            action: str | None = None, resource: str | None = None) -> None:
        self.malformed = True
        self.findings.append(Finding(WELL_FORMED.id, severity, message, statement, action, resource))

    def unknown(self, message: str, statement: str | None = None, severity: Severity = Severity.MEDIUM,
                action: str | None = None, resource: str | None = None) -> None:
        self.findings.append(Finding(PREVIEW_VERIFIABLE.id, severity, message, statement, action, resource))


# ---------------------------------------------------------------------------------------------------
# Safe access to possibly hostile containers (proxies that raise on unknown values)


def _is_mapping(value: Any) -> bool:
    return isinstance(value, Mapping)


def _is_sequence(value: Any) -> bool:
    return isinstance(value, (Sequence, set, frozenset)) and not isinstance(value, (str, bytes, bytearray))


def _keys(mapping: Mapping[Any, Any]) -> list[Any]:
    try:
        return list(mapping.keys())
    except Exception:
        return []


def _get(mapping: Mapping[Any, Any], key: Any) -> Any:
    """Item access that maps a proxy's unknown-value error (or any error) to UNKNOWN."""
    try:
        return mapping[key]
    except KeyError:
        return _MISSING
    except Exception:
        return UNKNOWN


def _items(seq: Any) -> Iterator[Any]:
    """Iterate a sequence element by element; an element that cannot be read becomes UNKNOWN."""
    if isinstance(seq, (set, frozenset)):
        try:
            yield from sorted(seq, key=repr)
        except Exception:
            yield UNKNOWN
        return
    try:
        length = len(seq)
    except Exception:
        yield UNKNOWN
        return
    for i in range(length):
        try:
            yield seq[i]
        except Exception:
            yield UNKNOWN


def _short(value: Any, limit: int = 60) -> str:
    try:
        text = repr(value)
    except Exception:
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


# ---------------------------------------------------------------------------------------------------
# Document


def _load(document: Any, ctx: _Ctx) -> Any:
    """Turn the caller's value into a Mapping (or UNKNOWN / None on failure)."""
    if is_unknown(document):
        return UNKNOWN
    if isinstance(document, (bytes, bytearray)):
        try:
            document = document.decode("utf-8")
        except UnicodeDecodeError as exc:
            ctx.bad(f"the policy document is not UTF-8 text ({exc.reason}); fix the encoding")
            return None
    if isinstance(document, str):
        if has_unknown(document):
            try:
                return json.loads(document)
            except (ValueError, RecursionError):
                pass
            if _broken_only_by_unknowns(document):
                return UNKNOWN  # an interpolated JSON string with unknown parts cannot be read at all
        if not document.strip():
            ctx.bad("the policy document is empty; write a JSON object with Version and Statement")
            return None
        try:
            return json.loads(document)
        except ValueError as exc:
            ctx.bad(f"the policy document is not valid JSON ({exc}); fix the syntax")
            return None
        except RecursionError:
            ctx.bad("the policy document is nested too deeply to be a valid IAM policy")
            return None
    return document


def _broken_only_by_unknowns(text: str) -> bool:
    """True when the text parses once its unknown sentinels are replaced by placeholders, i.e. the
    JSON is invalid only because unknown values were interpolated into it (bare or inside strings)."""
    from . import UNKNOWN_SENTINELS

    for replacement in ("x", '"x"'):
        candidate = text
        for sentinel in UNKNOWN_SENTINELS:
            candidate = candidate.replace(sentinel, replacement)
        try:
            json.loads(candidate)
        except (ValueError, RecursionError):
            continue
        return True
    return False


def parse_document(document: Any, *, require_resource: bool = True,
                   principal_expected: bool | None = False,
                   implied_resource_services: frozenset[str] = frozenset()) -> ParsedDocument:
    """Parse ``document`` (JSON text, Mapping, or anything) into normalised statements.

    ``require_resource``: identity and resource policies need Resource/NotResource, trust policies don't.
    ``principal_expected``: True (trust/resource policy: Principal required), False (identity policy:
    Principal not allowed), None (either).
    ``implied_resource_services``: a statement whose actions are all of these services may omit
    Resource (the policy's own resource is implied, as in ECR repository policies).
    """
    ctx = _Ctx(implied_resource_services=implied_resource_services)
    try:
        return _parse(document, ctx, require_resource, principal_expected)
    except RecursionError:
        ctx.bad("the policy document is nested too deeply to be a valid IAM policy")
    except Exception as exc:  # last line of defence: a validator must never raise
        ctx.bad(f"the policy document could not be read ({type(exc).__name__}: {exc})")
    return ParsedDocument((), tuple(ctx.findings), malformed=True)


def _parse(document: Any, ctx: _Ctx, require_resource: bool,
           principal_expected: bool | None) -> ParsedDocument:
    doc = _load(document, ctx)
    if doc is UNKNOWN:
        ctx.unknown("the policy document is unknown at preview, so it cannot be checked; build it from "
                    "values known at preview (config, literal ARNs)")
        return ParsedDocument((), tuple(ctx.findings), unknown=True)
    if doc is None:
        if not ctx.findings:
            ctx.bad("the policy document is missing (null); write a JSON object with Version and Statement")
        return ParsedDocument((), tuple(ctx.findings), malformed=True)
    if not _is_mapping(doc):
        ctx.bad(f"the policy document must be a JSON object, not {type(doc).__name__} ({_short(doc)})")
        return ParsedDocument((), tuple(ctx.findings), malformed=True)

    keys = _keys(doc)
    for key in keys:
        if key not in _TOP_KEYS:
            ctx.bad(f"unknown top-level element {_short(key)}; allowed are Version, Id and Statement "
                    "(element names are case-sensitive)")

    version = _get(doc, "Version")
    version_text: str | None = None
    if version is _MISSING:
        ctx.findings.append(Finding(WELL_FORMED.id, Severity.LOW,
                                    'the document has no Version; add "Version": "2012-10-17" '
                                    "(without it policy variables are not substituted)"))
    elif is_unknown(version):
        ctx.unknown("the document Version is unknown at preview", severity=Severity.LOW)
    elif not isinstance(version, str) or version not in _VERSIONS:
        ctx.bad(f'Version {_short(version)} is not valid; use "2012-10-17"')
    else:
        version_text = version

    raw_statements = _get(doc, "Statement")
    if raw_statements is _MISSING:
        ctx.bad("the document has no Statement element; add a list of statements")
        return ParsedDocument((), tuple(ctx.findings), version=version_text, malformed=True)
    if is_unknown(raw_statements):
        ctx.unknown("the document's Statement element is unknown at preview, so it cannot be checked")
        return ParsedDocument((), tuple(ctx.findings), unknown=True, version=version_text,
                              malformed=ctx.malformed)
    if _is_mapping(raw_statements):
        raw_list: list[Any] = [raw_statements]
    elif _is_sequence(raw_statements):
        raw_list = list(_items(raw_statements))
        if not raw_list:
            ctx.bad("the Statement list is empty: the document grants nothing; add statements or remove it")
    else:
        ctx.bad(f"Statement must be an object or a list of objects, not {type(raw_statements).__name__}")
        return ParsedDocument((), tuple(ctx.findings), version=version_text, malformed=True)

    statements: list[Statement] = []
    sids: dict[str, int] = {}
    for index, raw in enumerate(raw_list):
        st = _parse_statement(raw, index, ctx, require_resource, principal_expected)
        if st is None:
            continue
        if st.sid:
            if st.sid in sids:
                ctx.bad(f"Sid {st.sid!r} is used by Statement[{sids[st.sid]}] and Statement[{index}]; "
                        "Sids must be unique", statement=st.label)
            else:
                sids[st.sid] = index
        statements.append(st)
    return ParsedDocument(tuple(statements), tuple(ctx.findings), version=version_text,
                          malformed=ctx.malformed)


# ---------------------------------------------------------------------------------------------------
# Statement


def _parse_statement(raw: Any, index: int, ctx: _Ctx, require_resource: bool,
                     principal_expected: bool | None) -> Statement | None:
    label = f"Statement[{index}]"
    if is_unknown(raw):
        ctx.unknown(f"{label} is unknown at preview, so it cannot be checked", statement=label)
        return None
    if not _is_mapping(raw):
        ctx.bad(f"{label} must be a JSON object, not {type(raw).__name__} ({_short(raw)})", statement=label)
        return None

    sid_raw = _get(raw, "Sid")
    sid: str | None = None
    if sid_raw is not _MISSING:
        if isinstance(sid_raw, str) and not is_unknown(sid_raw):
            sid = sid_raw or None  # its characters are judged by iam-deployable-documents, per policy kind
        elif not is_unknown(sid_raw):
            ctx.bad(f"{label}: Sid must be a string, not {type(sid_raw).__name__}", statement=label)
    name = sid or label

    for key in _keys(raw):
        if key not in _STATEMENT_KEYS:
            ctx.bad(f"{name}: unknown element {_short(key)}; allowed are {', '.join(_STATEMENT_KEYS)} "
                    "(element names are case-sensitive)", statement=name)

    effect_raw = _get(raw, "Effect")
    effect: str | None = None
    if effect_raw is _MISSING:
        ctx.bad(f'{name}: Effect is missing; add "Effect": "Allow" or "Deny" (analysed as Allow meanwhile)',
                statement=name)
        effect = "Allow"
    elif is_unknown(effect_raw):
        ctx.unknown(f"{name}: Effect is unknown at preview (analysed as Allow)", statement=name)
        effect = "Allow"
    elif not isinstance(effect_raw, str) or effect_raw not in ("Allow", "Deny"):
        ctx.bad(f'{name}: Effect {_short(effect_raw)} is invalid; use "Allow" or "Deny"', statement=name)
        effect = "Deny" if isinstance(effect_raw, str) and effect_raw.lower() == "deny" else "Allow"
    else:
        effect = effect_raw

    actions = _string_list(raw, "Action", name, ctx, _check_action)
    not_actions = _string_list(raw, "NotAction", name, ctx, _check_action)
    if actions is not None and not_actions is not None:
        ctx.bad(f"{name}: has both Action and NotAction; a statement takes exactly one", statement=name)
    elif actions is None and not_actions is None:
        ctx.bad(f"{name}: has neither Action nor NotAction; add the actions it grants", statement=name)

    resources = _string_list(raw, "Resource", name, ctx, _check_resource)
    not_resources = _string_list(raw, "NotResource", name, ctx, _check_resource)
    if resources is not None and not_resources is not None:
        ctx.bad(f"{name}: has both Resource and NotResource; a statement takes exactly one", statement=name)
    elif resources is None and not_resources is None and require_resource and not _resource_implied(
        actions, ctx.implied_resource_services
    ):
        ctx.bad(f"{name}: has neither Resource nor NotResource; name the resources it applies to",
                statement=name)

    principal = _principal(raw, "Principal", name, ctx)
    not_principal = _principal(raw, "NotPrincipal", name, ctx)
    if principal is not None and not_principal is not None:
        ctx.bad(f"{name}: has both Principal and NotPrincipal; a statement takes exactly one", statement=name)
    has_principal = principal is not None or not_principal is not None
    if principal_expected is False and has_principal:
        ctx.bad(f"{name}: an identity policy must not have Principal or NotPrincipal; the principal is "
                "whoever the policy is attached to", statement=name)
    elif principal_expected is True and not has_principal:
        ctx.bad(f"{name}: this policy kind needs a Principal naming who is granted access", statement=name)

    conditions, cond_unknown = _conditions(raw, name, ctx)
    return Statement(index, sid, effect, actions, not_actions, resources, not_resources, principal,
                     not_principal, conditions, cond_unknown)


def _resource_implied(actions: tuple[Any, ...] | None, services: frozenset[str]) -> bool:
    """Are all the statement's actions of services whose resource policies imply the resource?"""
    return actions_all_of(actions, services)


def actions_all_of(actions: tuple[Any, ...] | None, services: frozenset[str]) -> bool:
    """Are there actions, and all of them (as written) of one of ``services``?"""
    if not actions or not services:
        return False
    return all(isinstance(a, str) and a.partition(":")[0].strip().lower() in services for a in actions)


def _string_list(raw: Mapping[Any, Any], key: str, name: str, ctx: _Ctx,
                 check: Any) -> tuple[Any, ...] | None:
    """Read a string-or-list element; non-strings are reported and dropped, unknowns kept as UNKNOWN."""
    value = _get(raw, key)
    if value is _MISSING:
        return None
    if is_unknown(value):
        ctx.unknown(f"{name}: {key} is unknown at preview, so it cannot be checked (treated as opaque, "
                    "not as *)", statement=name,
                    severity=Severity.LOW if key in ("Resource", "NotResource") else Severity.MEDIUM)
        return (UNKNOWN,)
    if isinstance(value, str):
        items: list[Any] = [value]
    elif _is_sequence(value):
        # Plain lists (parsed JSON) cannot fail on indexing; proxies are read element by element.
        items = list(value) if type(value) in (list, tuple) else list(_items(value))
        if not items:
            ctx.bad(f"{name}: {key} is an empty list, so the statement applies to nothing", statement=name)
    else:
        ctx.bad(f"{name}: {key} must be a string or a list of strings, not {type(value).__name__}",
                statement=name)
        return ()
    fast = _plain_strings(items, key)
    if fast is not None:
        return fast
    # Duplicates are dropped here, keeping the first spelling and the order: AWS grants the same thing
    # for one copy as for 5,000, and every rule would otherwise report each copy. Actions compare
    # case-insensitively (IAM action names are); resources exactly (ARNs can be case-sensitive). One
    # UNKNOWN marker is as opaque as many.
    fold = key in ("Action", "NotAction")
    seen: set[Any] = set()
    out: list[Any] = []
    for item in items:
        marker = item if not isinstance(item, str) else (item.lower() if fold else item)
        if is_unknown(item):
            marker = UNKNOWN
        try:
            if marker in seen:
                continue
            seen.add(marker)
        except TypeError:  # unhashable entry: reported as a non-string below
            pass
        if is_unknown(item):
            ctx.unknown(f"{name}: an entry of {key} is unknown at preview (treated as opaque, not as *)",
                        statement=name,
                        severity=Severity.LOW if key in ("Resource", "NotResource") else Severity.MEDIUM)
            out.append(UNKNOWN)
        elif not isinstance(item, str):
            ctx.bad(f"{name}: {key} entries must be strings, not {type(item).__name__} ({_short(item)})",
                    statement=name)
        else:
            if has_unknown(item):
                ctx.unknown(f"{name}: {key} {item!r} is partly unknown at preview (the unknown part is "
                            "treated as opaque)", statement=name, severity=Severity.LOW)
            else:
                check(item, key, name, ctx)
            out.append(item)
    return tuple(out)


_ONE_ACTION = r"(?:\*|[A-Za-z0-9*?_.\-]+:[A-Za-z0-9*?_.\-]+)"  # as _ACTION_RE, "*" included
_ACTION_LIST_RE = re.compile(f"{_ONE_ACTION}(?:\n{_ONE_ACTION})*")  # newline-joined, ASCII only


def _plain_strings(items: list[Any], key: str) -> tuple[str, ...] | None:
    """The common case in one pass of C-level work: a list of plain, known, well-formed strings (a
    policy may list thousands of actions). Returns the de-duplicated tuple, or None when some entry needs
    the per-entry path (a non-string, an unknown, a malformed action, an over-long resource)."""
    try:
        joined = "\n".join(items)  # TypeError for a non-string (UNKNOWN included)
    except TypeError:
        return None
    if joined.count("\n") != len(items) - 1 or has_unknown(joined):
        return None
    fold = key in ("Action", "NotAction")
    if fold:
        if not _ACTION_LIST_RE.fullmatch(joined):
            return None
        lowered = joined.lower().split("\n")
    else:
        if any(len(i) > 2048 or not (i == "*" or i.startswith(("arn:", "*", "${"))) or
               (i.startswith("arn:") and i.count(":") < 5 and "*" not in i) for i in items):
            return None
        lowered = items
    if len(set(lowered)) == len(items):
        return tuple(items)
    first: dict[str, str] = {}
    for low, item in zip(lowered, items, strict=True):
        if low not in first:
            first[low] = item
    return tuple(first.values())


def _check_action(item: str, key: str, name: str, ctx: _Ctx) -> None:
    if item == "*":
        return
    if not _ACTION_RE.match(item):
        ctx.bad(f"{name}: {key} {item!r} is not of the form service:Action", statement=name, action=item)


def _check_resource(item: str, key: str, name: str, ctx: _Ctx) -> None:
    if len(item) > 2048:
        ctx.bad(f"{name}: a {key} entry is {len(item)} characters long; ARNs are at most 2048",
                statement=name, resource=item[:80] + "...")
        return
    if item == "*" or item.startswith("arn:"):
        if item.startswith("arn:") and item.count(":") < 5 and "*" not in item:
            ctx.bad(f"{name}: {key} {item!r} is not a complete ARN (arn:partition:service:region:account:"
                    "resource)", statement=name, resource=item)
        return
    if item.startswith("*") or item.startswith("${"):
        return
    if ctx.implied_resource_services and item.startswith("execute-api:/"):
        return  # API Gateway resource policies name paths of their own API this way
    ctx.bad(f'{name}: {key} {item!r} is not an ARN; use an ARN such as arn:aws:s3:::{item} or "*"',
            statement=name, resource=item)


def _principal(raw: Mapping[Any, Any], key: str, name: str, ctx: _Ctx) -> Principal | None:
    value = _get(raw, key)
    if value is _MISSING:
        return None
    if is_unknown(value):
        ctx.unknown(f"{name}: {key} is unknown at preview, so who is trusted cannot be checked",
                    statement=name)
        return Principal(False, (), unknown=True)
    if isinstance(value, str):
        if value == "*":
            return Principal(True, (("*", "*"),))
        ctx.bad(f'{name}: {key} {value!r} must be "*" or an object such as {{"AWS": "<arn>"}}',
                statement=name)
        return Principal(False, (("AWS", value),))
    if not _is_mapping(value):
        ctx.bad(f"{name}: {key} must be \"*\" or an object, not {type(value).__name__}", statement=name)
        return Principal(False, ())
    entries: list[tuple[str, Any]] = []
    unknown = False
    for kind in _keys(value):
        if not isinstance(kind, str):
            ctx.bad(f"{name}: {key} has a non-string principal type {_short(kind)}", statement=name)
            continue
        if kind not in ("AWS", "Service", "Federated", "CanonicalUser"):
            ctx.bad(f"{name}: {key} type {kind!r} is not one of AWS, Service, Federated, CanonicalUser",
                    statement=name)
        items_raw = _get(value, kind)
        if is_unknown(items_raw):
            unknown = True
            entries.append((kind, UNKNOWN))
            ctx.unknown(f"{name}: {key} {kind} is unknown at preview, so who is trusted cannot be checked",
                        statement=name)
            continue
        if isinstance(items_raw, str):
            seq: list[Any] = [items_raw]
        elif _is_sequence(items_raw):
            seq = list(_items(items_raw))
        else:
            ctx.bad(f"{name}: {key} {kind} must be a string or list of strings", statement=name)
            continue
        for item in seq:
            if is_unknown(item) or (isinstance(item, str) and has_unknown(item)):
                unknown = True
                entries.append((kind, UNKNOWN))
                ctx.unknown(f"{name}: a {key} {kind} entry is unknown at preview", statement=name)
            elif isinstance(item, str):
                entries.append((kind, item))
            else:
                ctx.bad(f"{name}: {key} {kind} entries must be strings, not {type(item).__name__}",
                        statement=name)
    return Principal(False, tuple(entries), unknown)


def _conditions(raw: Mapping[Any, Any], name: str, ctx: _Ctx) -> tuple[tuple[Condition, ...], bool]:
    value = _get(raw, "Condition")
    if value is _MISSING:
        return (), False
    if is_unknown(value):
        ctx.unknown(f"{name}: Condition is unknown at preview (it is not counted as narrowing)",
                    statement=name, severity=Severity.LOW)
        return (), True
    if not _is_mapping(value):
        ctx.bad(f"{name}: Condition must be an object of operator -> {{key: value}}, not "
                f"{type(value).__name__}", statement=name)
        return (), False
    out: list[Condition] = []
    unknown = False
    for op in _keys(value):
        block = _get(value, op)
        if not isinstance(op, str) or not op:
            ctx.bad(f"{name}: Condition operator {_short(op)} must be a non-empty string", statement=name)
            continue
        if is_unknown(block):
            unknown = True
            continue
        if not _known_operator(op):
            ctx.bad(f"{name}: Condition operator {op!r} is not an IAM condition operator (AWS rejects the "
                    "policy); use e.g. StringEquals, StringLike, ArnLike, IpAddress, Bool, Null",
                    statement=name)
        if not _is_mapping(block):
            ctx.bad(f"{name}: Condition {op} must map condition keys to values, not {type(block).__name__}",
                    statement=name)
            continue
        for ckey in _keys(block):
            cval = _get(block, ckey)
            if not isinstance(ckey, str) or not ckey:
                ctx.bad(f"{name}: Condition {op} has a non-string key {_short(ckey)}", statement=name)
                continue
            values = _condition_values(cval, f"{name}: Condition {op} {ckey}", ctx, name)
            if values is None:
                continue
            if any(v is UNKNOWN for v in values):
                unknown = True
            out.append(Condition(op, ckey, values))
    return tuple(out), unknown


_OPERATORS = frozenset(
    op.lower()
    for op in (
        "StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase",
        "StringLike", "StringNotLike", "NumericEquals", "NumericNotEquals", "NumericLessThan",
        "NumericLessThanEquals", "NumericGreaterThan", "NumericGreaterThanEquals", "DateEquals",
        "DateNotEquals", "DateLessThan", "DateLessThanEquals", "DateGreaterThan", "DateGreaterThanEquals",
        "Bool", "BinaryEquals", "IpAddress", "NotIpAddress", "ArnEquals", "ArnLike", "ArnNotEquals",
        "ArnNotLike",
    )
)


def _known_operator(op: str) -> bool:
    """IAM condition operators, optionally with a ForAllValues:/ForAnyValue: qualifier and an IfExists
    suffix (Null takes neither). Operator names are case-sensitive in AWS; compared leniently here."""
    if op == "Null":
        return True
    qualifier, sep, base = op.partition(":")
    if sep:
        if qualifier not in ("ForAllValues", "ForAnyValue"):
            return False
    else:
        base = op
    if base.endswith("IfExists"):
        base = base[: -len("IfExists")]
    return base.lower() in _OPERATORS


def _condition_values(value: Any, where: str, ctx: _Ctx, name: str) -> tuple[Any, ...] | None:
    if is_unknown(value):
        return (UNKNOWN,)
    if isinstance(value, (str, bool, int, float)) and value is not None:
        return (_scalar(value),)
    if _is_sequence(value):
        out: list[Any] = []
        for item in _items(value):
            if is_unknown(item) or (isinstance(item, str) and has_unknown(item)):
                out.append(UNKNOWN)
            elif isinstance(item, (str, bool, int, float)):
                out.append(_scalar(item))
            else:
                ctx.bad(f"{where}: values must be strings, numbers or booleans, not {type(item).__name__}",
                        statement=name)
                return None
        if not out:
            ctx.bad(f"{where}: the value list is empty, so the condition never matches", statement=name)
        return tuple(out)
    ctx.bad(f"{where}: value must be a string, number, boolean or a list of them, not "
            f"{type(value).__name__}", statement=name)
    return None


def _scalar(value: str | bool | int | float) -> Any:
    if isinstance(value, str) and has_unknown(value):
        return UNKNOWN
    return value
