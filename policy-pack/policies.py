"""CrossGuard policies for IAM least privilege: a thin, defensive wrapper around ``least_privilege``.

Why this module looks the way it does:

* pulumi_policy hands validators proxies that raise ``UnknownValueError`` on any unknown value, and
  its servicer turns that exception into an *advisory* "can't run policy during preview", even for a
  mandatory policy. So no validator touches ``args.props`` directly: :func:`to_plain` copies the
  proxies into plain data, substituting ``least_privilege.UNKNOWN`` element by element. The engine
  then checks the known parts, and ``iam-preview-verifiable`` reports the unknown parts under the
  enforcement level the environment chose.
* Any other exception escaping a validator aborts the whole preview, so every validator is guarded
  and reports an internal error as a violation of its own policy instead.
* ``PolicyPack()`` blocks forever; it is only called from ``__main__.py``.
* Imports stay cheap (the engine's analysis module, the catalog and the managed-policy snapshot are
  loaded on first use) so the pack starts quickly for every preview.
"""

from __future__ import annotations

import dataclasses
import json
import os
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from least_privilege import UNKNOWN, UNKNOWN_SENTINELS, is_unknown

# Rule ids are the policy names; the engine spells them once.
from least_privilege.findings import (
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
from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy import Severity as PolicySeverity
from pulumi_policy.proxy import UnknownValueError

PACK_NAME: Final = "iam-least-privilege"
PACK_DESCRIPTION: Final = (
    "IAM least privilege for AI data-processing roles, enforced at preview: wildcard resources and "
    "actions, privilege escalation, sensitive access, trust policies, managed attachments, budgets."
)

# Not an engine rule: the advisory channel for findings below a rule's blocking threshold (for
# example `*`-only actions such as s3:ListAllMyBuckets, which are allowed but still reported).
INFORMATIONAL: Final = "iam-informational-findings"

RESOURCE_RULES: Final = (
    WILDCARD_RESOURCES,
    WILDCARD_ACTIONS,
    ACTION_RESOURCE_MATCH,
    NOT_ELEMENTS,
    PRIVILEGE_ESCALATION,
    SENSITIVE_ACCESS,
    KNOWN_ACTIONS,
    MANAGED_ATTACHMENTS,
    TRUST_POLICY,
    WELL_FORMED,
)

# --------------------------------------------------------------------------------------------------
# Resource types and where their IAM documents live (property names as the engine sends them).

ROLE: Final = "aws:iam/role:Role"
POLICY: Final = "aws:iam/policy:Policy"
ROLE_POLICY: Final = "aws:iam/rolePolicy:RolePolicy"
ROLE_POLICY_ATTACHMENT: Final = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
POLICY_ATTACHMENT: Final = "aws:iam/policyAttachment:PolicyAttachment"

IDENTITY_POLICY_TYPES: Final = frozenset(
    {POLICY, ROLE_POLICY, "aws:iam/userPolicy:UserPolicy", "aws:iam/groupPolicy:GroupPolicy"}
)
ATTACHMENT_TYPES: Final = frozenset(
    {
        ROLE_POLICY_ATTACHMENT,
        POLICY_ATTACHMENT,
        "aws:iam/userPolicyAttachment:UserPolicyAttachment",
        "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
    }
)
# BucketPolicy is the current way; Bucket/BucketV2 still accept an inline (deprecated) `policy`.
RESOURCE_POLICY_TYPES: Final = frozenset(
    {"aws:s3/bucketPolicy:BucketPolicy", "aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"}
)
IAM_TYPES: Final = IDENTITY_POLICY_TYPES | ATTACHMENT_TYPES | RESOURCE_POLICY_TYPES | {ROLE}

IDENTITY, TRUST, RESOURCE = "identity", "trust", "resource"


@dataclass(frozen=True, slots=True)
class Document:
    """One IAM document found on a resource; ``value`` is a JSON string, a mapping, or UNKNOWN."""

    location: str
    kind: str
    value: Any


@dataclass(frozen=True, slots=True)
class Attachment:
    """One policy ARN attached by a resource; ``arn`` is a string or UNKNOWN."""

    location: str
    arn: Any


@dataclass(frozen=True, slots=True)
class Subject:
    """What a resource contributes to IAM: its documents and attached policy ARNs."""

    documents: tuple[Document, ...] = ()
    attachments: tuple[Attachment, ...] = ()


# --------------------------------------------------------------------------------------------------
# Proxies -> plain data.


def to_plain(value: Any) -> Any:
    """Copy pulumi_policy proxies (or plain data) into dicts/lists, unknowns replaced by UNKNOWN.

    Only ``keys()``/``len()`` and index access are used, each element read on its own, because any
    other Mapping operation (``items()``, ``get``, ``in``) reads every value and raises on the first
    unknown, which would lose the known siblings.
    """
    if is_unknown(value):
        return UNKNOWN
    if isinstance(value, str | bytes | int | float | bool) or value is None:
        return value
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key in list(value.keys()):
            try:
                out[str(key)] = to_plain(value[key])
            except UnknownValueError:
                out[str(key)] = UNKNOWN
        return out
    if isinstance(value, Sequence):
        items: list[Any] = []
        for index in range(len(value)):
            try:
                items.append(to_plain(value[index]))
            except UnknownValueError:
                items.append(UNKNOWN)
        return items
    secret_value = getattr(value, "value", None)  # pulumi_policy.Secret (Remediate-style wrapping)
    if secret_value is not None and type(value).__name__ == "Secret":
        return to_plain(secret_value)
    return value


def unknown_paths(value: Any, path: str = "") -> list[str]:
    """Paths of unknown values inside a (plain) document; a JSON string may embed a sentinel."""
    if value is UNKNOWN:
        return [path or "."]
    if isinstance(value, str):
        return [path or "."] if any(s in value for s in UNKNOWN_SENTINELS) else []
    if isinstance(value, Mapping):
        return [p for k in value for p in unknown_paths(value[k], f"{path}.{k}")]
    if isinstance(value, list | tuple):
        return [p for i, v in enumerate(value) for p in unknown_paths(v, f"{path}[{i}]")]
    return []


# --------------------------------------------------------------------------------------------------
# Resource -> documents and attachments.


def _known_list(props: Mapping[str, Any], key: str) -> list[Any] | None:
    """A list property, or None when absent; an unknown list becomes [UNKNOWN]."""
    value = props.get(key)
    if value is None:
        return None
    if value is UNKNOWN:
        return [UNKNOWN]
    return list(value) if isinstance(value, list | tuple) else [value]


def extract_subject(resource_type: str, props: Mapping[str, Any]) -> Subject | None:
    """The IAM documents and ARNs a resource carries, or None for resources this pack ignores."""
    if resource_type in IDENTITY_POLICY_TYPES:
        return Subject(documents=_doc(props, "policy", IDENTITY))
    if resource_type in RESOURCE_POLICY_TYPES:
        return Subject(documents=_doc(props, "policy", RESOURCE))
    if resource_type in ATTACHMENT_TYPES:
        arn = props.get("policyArn")
        return Subject(attachments=() if arn is None else (Attachment("policyArn", arn),))
    if resource_type == ROLE:
        return _role_subject(props)
    return None


def _doc(props: Mapping[str, Any], key: str, kind: str) -> tuple[Document, ...]:
    value = props.get(key)
    if value is None or value == "":
        return ()
    return (Document(key, kind, value),)


def _role_subject(props: Mapping[str, Any]) -> Subject:
    documents = list(_doc(props, "assumeRolePolicy", TRUST))
    inline = _known_list(props, "inlinePolicies") or []
    for index, entry in enumerate(inline):
        location = f"inlinePolicies[{index}]"
        if entry is UNKNOWN:
            documents.append(Document(location, IDENTITY, UNKNOWN))
        elif isinstance(entry, Mapping):
            name = entry.get("name")
            label = f"{location}.policy" + (f" ({name})" if isinstance(name, str) else "")
            # An entry with neither name nor policy is how AWS spells "remove all inline policies".
            if entry.get("policy") not in (None, ""):
                documents.append(Document(label, IDENTITY, entry.get("policy")))
    attachments = [
        Attachment(f"managedPolicyArns[{i}]", arn)
        for i, arn in enumerate(_known_list(props, "managedPolicyArns") or [])
        if arn is not None
    ]
    return Subject(documents=tuple(documents), attachments=tuple(attachments))


# --------------------------------------------------------------------------------------------------
# Config -> engine settings; cached engine calls.

_SEVERITY_LABELS: Final = ["low", "medium", "high", "critical"]
_SEVERITY_SCHEMA: Final = {"type": "string", "enum": _SEVERITY_LABELS}


def _analysis() -> Any:
    """The engine's analysis module, imported on first use to keep the pack's cold start short."""
    from least_privilege import analysis

    return analysis


def stack_account_id() -> str | None:
    """The stack's account id from its config (PULUMI_CONFIG, `<project>:accountId`), if any.

    With it, a trust of the stack's own account root is same-account rather than cross-account.
    """
    try:
        raw = json.loads(os.environ.get("PULUMI_CONFIG") or "{}")
    except ValueError:
        return None
    if not isinstance(raw, dict):
        return None
    for key, value in raw.items():
        if isinstance(key, str) and key.endswith(":accountId") and isinstance(value, str) and value:
            return value
    return None


def settings_for(rule: str, config: Mapping[str, Any]) -> Any:
    """Engine Settings for one policy, from that policy's own config (each policy sees only its own)."""
    analysis = _analysis()
    settings = analysis.settings_from_config(config)
    if settings.account_id is None and rule == TRUST_POLICY:
        account = stack_account_id()
        if account:
            settings = dataclasses.replace(settings, account_id=account)
    return settings


def _settings_key(rule: str, config: Mapping[str, Any]) -> str:
    relevant = {k: config[k] for k in sorted(config) if k not in _COMMON_KEYS}
    if rule == TRUST_POLICY:
        relevant["#account"] = stack_account_id()
    return json.dumps(relevant, sort_keys=True, default=str) if relevant else ""


_CACHE_LIMIT: Final = 2048
_cache: dict[tuple[str, str, str], tuple[Finding, ...]] = {}
_cache_lock = threading.Lock()


def _doc_key(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=repr)


def _cached(kind: str, value: Any, skey: str, compute: Callable[[], list[Finding]]) -> tuple[Finding, ...]:
    """Memoise engine results: every policy of the pack checks the same documents of a resource."""
    key = (kind, _doc_key(value), skey)
    with _cache_lock:
        hit = _cache.get(key)
    if hit is not None:
        return hit
    result = tuple(compute())
    with _cache_lock:
        if len(_cache) >= _CACHE_LIMIT:
            _cache.clear()
        _cache[key] = result
    return result


def subject_findings(subject: Subject, rule: str, config: Mapping[str, Any]) -> list[tuple[str, Finding]]:
    """All engine findings for the known parts of a subject, each with the property it came from."""
    analysis = _analysis()
    skey = _settings_key(rule, config)
    settings: Any = None
    out: list[tuple[str, Finding]] = []
    for doc in subject.documents:
        if doc.value is UNKNOWN:
            continue
        if settings is None:
            settings = settings_for(rule, config)
        check = {
            IDENTITY: analysis.check_identity_policy,
            TRUST: analysis.check_trust_policy,
            RESOURCE: analysis.check_resource_policy,
        }[doc.kind]
        found = _cached(doc.kind, doc.value, skey, lambda c=check, v=doc.value, s=settings: c(v, s))
        out.extend((doc.location, f) for f in found)
    for att in subject.attachments:
        if not isinstance(att.arn, str) or is_unknown(att.arn):
            continue
        if settings is None:
            settings = settings_for(rule, config)
        found = _cached(
            "arn", att.arn, skey, lambda a=att.arn, s=settings: analysis.check_managed_policy_arn(a, s)
        )
        out.extend((f"{att.location} {att.arn}", f) for f in found)
    return out


# --------------------------------------------------------------------------------------------------
# Severity handling and the informational channel.


def _severity(value: Any, default: Severity) -> Severity:
    try:
        return Severity.parse(value) if value is not None else default
    except ValueError:
        return default


def effective_severity(finding: Finding, config: Mapping[str, Any]) -> Severity:
    """The finding's severity, or the policy's ``severityOverride`` when configured."""
    return _severity(config.get("severityOverride"), finding.severity)


def blocking_threshold(rule: str, config: Mapping[str, Any]) -> Severity:
    """Findings below this severity are informational, not violations of the rule's policy.

    `*`-only actions are reported at low severity and allowed by default; setting
    ``forbidStarOnlyActions`` makes them violations, so the threshold drops to low for that rule.
    """
    if rule == WILDCARD_RESOURCES and config.get("forbidStarOnlyActions"):
        return _severity(config.get("minimumSeverity"), Severity.LOW)
    return _severity(config.get("minimumSeverity"), Severity.MEDIUM)


def format_message(severity: Severity, location: str, text: str) -> str:
    """Violation text: severity first (CrossGuard shows only the policy-level severity), then where."""
    return f"[{severity.label}] {location}: {text}"


_notices: dict[str, list[str]] = {}
_notices_lock = threading.Lock()
_NOTICE_LIMIT: Final = 4096


def _stash_notices(urn: str, rule: str, messages: Iterable[str]) -> None:
    """Keep below-threshold findings for the informational policy, which runs last for the resource."""
    messages = [f"{m} (rule {rule})" for m in messages]
    if not messages:
        return
    with _notices_lock:
        if len(_notices) >= _NOTICE_LIMIT:
            _notices.clear()
        _notices.setdefault(urn, []).extend(messages)


def _take_notices(urn: str) -> list[str]:
    with _notices_lock:
        return _notices.pop(urn, [])


# --------------------------------------------------------------------------------------------------
# Validators.


def _config(args: Any) -> dict[str, Any]:
    try:
        return dict(args.get_config() or {})
    except Exception:
        return {}


def _internal_error(report: ReportViolation, rule: str, where: str, exc: BaseException) -> None:
    """Report instead of raising: an exception would abort the whole preview (or hide as advisory)."""
    report(
        f"[internal error] policy {rule} could not evaluate {where}: {type(exc).__name__}: {exc}. "
        "Treat the resource as unchecked and report this to the pack maintainers.",
        None,
    )


def _resource_subject(args: ResourceValidationArgs) -> Subject | None:
    if args.resource_type not in IAM_TYPES:
        return None
    props = to_plain(args.props)
    return extract_subject(args.resource_type, props if isinstance(props, Mapping) else {})


def make_rule_validator(rule: str) -> Callable[[ResourceValidationArgs, ReportViolation], None]:
    """A validator reporting the engine findings of one rule on one resource."""

    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        try:
            subject = _resource_subject(args)
            if subject is None:
                return
            config = _config(args)
            threshold = blocking_threshold(rule, config)
            notices: list[str] = []
            for location, finding in subject_findings(subject, rule, config):
                if finding.rule != rule and not (rule == WELL_FORMED and finding.rule not in RULES):
                    continue
                severity = effective_severity(finding, config)
                message = format_message(severity, location, finding.message)
                if finding.rule != rule:
                    message = f"{message} (engine rule {finding.rule})"
                if severity >= threshold:
                    report_violation(message, None)
                else:
                    notices.append(message)
            _stash_notices(args.urn, rule, notices)
        except Exception as exc:
            _internal_error(report_violation, rule, args.urn or args.name, exc)

    validate.__name__ = f"validate_{rule.replace('-', '_')}"
    return validate


def validate_preview_verifiable(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """Unknown IAM documents and policy ARNs are violations here, never a silent advisory."""
    rule = PREVIEW_VERIFIABLE
    try:
        subject = _resource_subject(args)
        if subject is None:
            return
        config = _config(args)
        severity = _severity(config.get("severityOverride"), RULES[rule].default_severity)
        engine = [(loc, f) for loc, f in subject_findings(subject, rule, config) if f.rule == rule]
        engine_locations = {loc for loc, _ in engine}
        for location, finding in engine:
            report_violation(format_message(effective_severity(finding, config), location, finding.message))
        if config.get("requireKnownDocuments", True):
            for doc in subject.documents:
                if doc.location in engine_locations:
                    continue
                for path in unknown_paths(doc.value):
                    where = doc.location if path == "." else f"{doc.location}{path}"
                    report_violation(
                        format_message(
                            severity,
                            where,
                            f"the {doc.kind} policy document is unknown at preview (it is computed from an "
                            "output of a resource created in this update), so no rule could check it and it "
                            "would reach `up` unverified. Build the document from values known at preview "
                            "(config, literal or config-derived ARNs).",
                        ),
                        None,
                    )
        if config.get("requireKnownPolicyArns", True):
            for att in subject.attachments:
                if is_unknown(att.arn):
                    report_violation(
                        format_message(
                            severity,
                            att.location,
                            "the attached policy ARN is unknown at preview, so the attached permissions "
                            "cannot be checked. Compute it from config "
                            "(arn:aws:iam::<account>:policy/<name>) "
                            "and keep depends_on for ordering.",
                        ),
                        None,
                    )
    except Exception as exc:
        _internal_error(report_violation, rule, args.urn or args.name, exc)


def validate_informational(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """Reports the below-threshold findings the rule policies set aside for this resource."""
    try:
        for message in _take_notices(args.urn):
            report_violation(message, None)
    except Exception as exc:
        _internal_error(report_violation, INFORMATIONAL, args.urn or args.name, exc)


# --------------------------------------------------------------------------------------------------
# Stack policy: effective permissions per role.


@dataclass(slots=True)
class RolePermissions:
    """What a role ends up with, collected across the stack."""

    urn: str
    name: str
    documents: list[Any] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)


def _plain_props(resource: PolicyResource) -> dict[str, Any]:
    props = to_plain(resource.props)
    return props if isinstance(props, dict) else {}


def _policy_key_from_arn(arn: str) -> str | None:
    """`arn:aws:iam::123:policy/team/p` -> "/team/p" (path + name), for customer-managed ARNs."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[2] != "iam" or parts[4] == "aws" or not parts[5].startswith("policy/"):
        return None
    return parts[5][len("policy") :]


def is_aws_managed_arn(arn: str) -> bool:
    parts = arn.split(":", 5)
    return len(parts) == 6 and parts[2] == "iam" and parts[4] == "aws" and parts[5].startswith("policy/")


def managed_policy_document(arn: str) -> Any | None:
    """The bundled snapshot's document for an AWS-managed policy ARN, or None when not in it."""
    from least_privilege.managed_policies import managed_policy_document as lookup

    return lookup(arn)


class StackIndex:
    """Role, policy and attachment resources of a stack, linked as CrossGuard hands them over."""

    def __init__(self, resources: Sequence[PolicyResource]) -> None:
        self.roles: dict[str, RolePermissions] = {}
        self.role_by_name: dict[str, str] = {}
        self.policy_docs: dict[str, Any] = {}
        self.policy_by_key: dict[str, str] = {}
        self.policy_by_arn: dict[str, str] = {}
        self.props: dict[str, dict[str, Any]] = {}
        for res in resources:
            if res.resource_type in (ROLE, POLICY, ROLE_POLICY, ROLE_POLICY_ATTACHMENT, POLICY_ATTACHMENT):
                self.props[res.urn] = _plain_props(res)
        for res in resources:
            props = self.props.get(res.urn, {})
            if res.resource_type == ROLE:
                name = props.get("name")
                self.roles[res.urn] = RolePermissions(res.urn, name if isinstance(name, str) else res.name)
                if isinstance(name, str):
                    self.role_by_name[name] = res.urn
            elif res.resource_type == POLICY:
                self.policy_docs[res.urn] = props.get("policy")
                name, path = props.get("name"), props.get("path")
                if isinstance(name, str):
                    prefix = path if isinstance(path, str) and path else "/"
                    self.policy_by_key[prefix + name] = res.urn
                arn = props.get("arn")
                if isinstance(arn, str) and not is_unknown(arn):
                    self.policy_by_arn[arn] = res.urn

    def roles_for(self, res: PolicyResource, key: str) -> list[RolePermissions]:
        """Roles a RolePolicy/attachment points at: property dependencies first, then names."""
        urns = [d.urn for d in res.property_dependencies.get(key, []) if d.urn in self.roles]
        value = self.props.get(res.urn, {}).get(key)
        values = value if isinstance(value, list) else [value]
        for v in values:
            if isinstance(v, str) and not is_unknown(v):
                name = v.rsplit("/", 1)[-1] if v.startswith("arn:") else v
                if name in self.role_by_name:
                    urns.append(self.role_by_name[name])
        if not urns:
            urns = [d.urn for d in res.dependencies if d.urn in self.roles]
        return [self.roles[u] for u in dict.fromkeys(urns)]

    def add_policy_arn(
        self, role: RolePermissions, res: PolicyResource | None, arn: Any, source: str
    ) -> None:
        """Resolve one attached ARN to a document: in-stack Policy, AWS-managed snapshot, or unresolved."""
        linked: list[str] = []
        if res is not None:
            linked = [
                d.urn for d in res.property_dependencies.get("policyArn", []) if d.urn in self.policy_docs
            ]
        if not linked and isinstance(arn, str) and not is_unknown(arn):
            if arn in self.policy_by_arn:
                linked = [self.policy_by_arn[arn]]
            else:
                key = _policy_key_from_arn(arn)
                if key is not None and key in self.policy_by_key:
                    linked = [self.policy_by_key[key]]
        if not linked and res is not None and is_unknown(arn):
            deps = [d.urn for d in res.dependencies if d.urn in self.policy_docs]
            linked = deps if len(deps) == 1 else []
        if linked:
            for urn in linked:
                self.add_document(role, self.policy_docs[urn], f"{source} -> {urn.rsplit('::', 1)[-1]}")
            return
        if is_unknown(arn) or not isinstance(arn, str):
            role.unknown.append(source)
        elif is_aws_managed_arn(arn):
            doc = managed_policy_document(arn)
            if doc is None:
                role.unresolved.append(f"{source} ({arn}: not in the managed-policy snapshot)")
            else:
                self.add_document(role, doc, f"{source} ({arn})")
        else:
            role.unresolved.append(f"{source} ({arn}: not a Policy in this stack)")

    @staticmethod
    def add_document(role: RolePermissions, doc: Any, source: str) -> None:
        if doc is None or doc == "":
            return
        if unknown_paths(doc):
            role.unknown.append(source)
            return
        role.documents.append(doc)
        role.sources.append(source)

    def collect(self, resources: Sequence[PolicyResource]) -> list[RolePermissions]:
        for res in resources:
            props = self.props.get(res.urn, {})
            short = f"{res.resource_type.rsplit(':', 1)[-1]} {res.name}"
            if res.resource_type == ROLE:
                role = self.roles[res.urn]
                subject = _role_subject(props)
                for doc in subject.documents:
                    if doc.kind == IDENTITY:
                        self.add_document(role, doc.value, f"{doc.location}")
                for att in subject.attachments:
                    self.add_policy_arn(role, None, att.arn, att.location)
            elif res.resource_type == ROLE_POLICY:
                for role in self.roles_for(res, "role"):
                    self.add_document(role, props.get("policy"), short)
            elif res.resource_type == ROLE_POLICY_ATTACHMENT:
                for role in self.roles_for(res, "role"):
                    self.add_policy_arn(role, res, props.get("policyArn"), short)
            elif res.resource_type == POLICY_ATTACHMENT:
                for role in self.roles_for(res, "roles"):
                    self.add_policy_arn(role, res, props.get("policyArn"), short)
        return list(self.roles.values())


def budget_from_config(config: Mapping[str, Any]) -> Any:
    """The engine Budget for this environment (pack config of the budget policy)."""
    analysis = _analysis()
    allowed = config.get("allowedServices")
    kwargs: dict[str, Any] = {
        "allowed_services": None if allowed is None else frozenset(str(s).lower() for s in allowed),
        "forbid_write_on_star": bool(config.get("forbidWriteOnStar", True)),
        "forbid_permissions_management_on_star": bool(config.get("forbidPermissionsManagementOnStar", True)),
    }
    known = {f.name for f in dataclasses.fields(analysis.Budget)}
    return analysis.Budget(**{k: v for k, v in kwargs.items() if k in known})


def validate_budget(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    """Per role: the union of everything attached must stay within the environment's budget."""
    rule = BUDGET
    try:
        config = _config(args)
        analysis = _analysis()
        budget = budget_from_config(config)
        threshold = blocking_threshold(rule, config)
        index = StackIndex(args.resources)
        for role in index.collect(args.resources):
            _check_role_budget(role, budget, config, threshold, analysis, report_violation)
    except Exception as exc:
        _internal_error(report_violation, rule, "the stack", exc)


def _check_role_budget(
    role: RolePermissions,
    budget: Any,
    config: Mapping[str, Any],
    threshold: Severity,
    analysis: Any,
    report_violation: ReportViolation,
) -> None:
    try:
        perms = analysis.effective_permissions(role.documents)
        counted = ", ".join(role.sources) or "no documents"
        if role.unknown:
            # Only the known parts are counted; iam-preview-verifiable reports the unknown ones.
            counted += "; not counted, unknown at preview: " + ", ".join(role.unknown)
        for finding in analysis.check_budget(perms, budget):
            severity = effective_severity(finding, config)
            if severity >= threshold:
                report_violation(
                    format_message(severity, f"role {role.name}", f"{finding.message} (counted: {counted})"),
                    role.urn,
                )
        if role.unresolved and config.get("failOnUnresolvedPolicies", True):
            report_violation(
                format_message(
                    RULES[BUDGET].default_severity,
                    f"role {role.name}",
                    "attached policies could not be resolved, so the budget cannot be verified: "
                    + "; ".join(role.unresolved)
                    + ". Attach policies defined in this stack or listed in the managed-policy snapshot.",
                ),
                role.urn,
            )
    except Exception as exc:
        _internal_error(report_violation, BUDGET, f"role {role.name}", exc)


# --------------------------------------------------------------------------------------------------
# Policy objects.

_COMMON_KEYS: Final = ("severityOverride", "minimumSeverity")
_COMMON_SCHEMA: Final[dict[str, dict[str, Any]]] = {
    "severityOverride": {
        **_SEVERITY_SCHEMA,
        "description": "Report every finding of this rule at this severity instead of the engine's.",
    },
    "minimumSeverity": {
        **_SEVERITY_SCHEMA,
        "description": "Findings below this severity are not violations of this policy; they are listed "
        f"by the advisory policy {INFORMATIONAL}. Default medium.",
    },
}
_STRINGS: Final = {"type": "array", "items": {"type": "string"}}

_EXTRA_SCHEMA: Final[dict[str, dict[str, dict[str, Any]]]] = {
    WILDCARD_RESOURCES: {
        "forbidStarOnlyActions": {
            "type": "boolean",
            "description": "Also forbid actions the catalog only accepts on `*` (s3:ListAllMyBuckets, "
            "most Describe*); by default they are allowed and reported at low severity.",
        }
    },
    TRUST_POLICY: {
        "allowedServicePrincipals": {
            **_STRINGS,
            "description": "Service principals roles may trust (replaces the default compute/ML list).",
        }
    },
    MANAGED_ATTACHMENTS: {
        "allowedManagedPolicies": {
            **_STRINGS,
            "description": "AWS-managed policy ARNs or names accepted without judging their document.",
        },
        "deniedManagedPolicies": {
            **_STRINGS,
            "description": "AWS-managed policy ARNs or names that are always violations.",
        },
    },
    PREVIEW_VERIFIABLE: {
        "requireKnownDocuments": {
            "type": "boolean",
            "description": "Report IAM documents that are (partly) unknown at preview. Default true.",
        },
        "requireKnownPolicyArns": {
            "type": "boolean",
            "description": "Report attachment policy ARNs that are unknown at preview. Default true.",
        },
    },
    BUDGET: {
        "allowedServices": {
            **_STRINGS,
            "description": "Service prefixes a role's effective permissions may use (absent: any).",
        },
        "forbidWriteOnStar": {
            "type": "boolean",
            "description": "No Write access on `*` resources. Default true.",
        },
        "forbidPermissionsManagementOnStar": {
            "type": "boolean",
            "description": "No Permissions-management access on `*` resources. Default true.",
        },
        "failOnUnresolvedPolicies": {
            "type": "boolean",
            "description": "Attached policies that are neither in the stack nor in the managed snapshot "
            "make the budget unverifiable; report them. Default true.",
        },
    },
}


def _schema(rule: str) -> PolicyConfigSchema:
    return PolicyConfigSchema(properties={**_COMMON_SCHEMA, **_EXTRA_SCHEMA.get(rule, {})})


def _policy_severity(rule: str) -> PolicySeverity:
    return PolicySeverity(RULES[rule].default_severity.label)


def _policy_metadata(rule: str) -> dict[str, Any]:
    """What every policy of this pack declares about itself, from the engine's rule metadata."""
    info = RULES[rule]
    return {
        "name": rule,
        "description": info.description,
        "display_name": info.title,
        "enforcement_level": EnforcementLevel.MANDATORY,
        "config_schema": _schema(rule),
        "severity": _policy_severity(rule),
        "remediation_steps": info.remediation,
        "tags": ["iam", "least-privilege"],
    }


def _resource_policy(
    rule: str, validate: Callable[[ResourceValidationArgs, ReportViolation], None]
) -> ResourceValidationPolicy:
    return ResourceValidationPolicy(validate=validate, **_policy_metadata(rule))


def _build_policies() -> list[ResourceValidationPolicy | StackValidationPolicy]:
    policies: list[ResourceValidationPolicy | StackValidationPolicy] = [
        _resource_policy(rule, make_rule_validator(rule)) for rule in RESOURCE_RULES
    ]
    policies.append(_resource_policy(PREVIEW_VERIFIABLE, validate_preview_verifiable))
    policies.append(StackValidationPolicy(validate=validate_budget, **_policy_metadata(BUDGET)))
    # Last, so every rule policy has stashed its below-threshold findings for the resource.
    policies.append(
        ResourceValidationPolicy(
            name=INFORMATIONAL,
            description="Findings below their rule's blocking threshold (for example `*`-only actions such "
            "as s3:ListAllMyBuckets), listed for review; never blocks.",
            display_name="Informational IAM findings",
            validate=validate_informational,
            enforcement_level=EnforcementLevel.ADVISORY,
            severity=PolicySeverity.LOW,
            remediation_steps="Review; scope or remove the grant if the workload does not need it.",
            tags=["iam", "least-privilege"],
        )
    )
    return policies


ALL_POLICIES: Final = _build_policies()
POLICY_NAMES: Final = tuple(p.name for p in ALL_POLICIES)

