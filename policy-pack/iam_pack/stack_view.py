"""The stack seen as IAM: principals, customer-managed policies and the links between them.

Built from the adapter views of every resource CrossGuard hands to a stack policy. Links are
followed the way Pulumi records them: a property's dependencies first (``policy_arn=policy.arn`` makes
the attachment's ``policyArn`` depend on the policy, so an ARN unknown at preview still resolves),
then names and ARNs, then, for an unknown value with no property dependency, a single explicit
dependency of the right kind. What cannot be linked is an :class:`Issue`: *unknown* (a value not
known at preview that no dependency explains) or *missing* (a principal or policy that is not defined
in the stack and not listed as a known external one).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import adapters
from adapters.model import (
    GROUP,
    PERMISSION_SET,
    POLICY,
    ROLE,
    USER,
    Context,
    Document,
    Grant,
    PolicyRef,
    Ref,
    ResourceView,
)
from least_privilege import is_unknown

from iam_pack.plain import plain_props, unknown_paths

UNKNOWN_ISSUE: Final = "unknown"
MISSING_ISSUE: Final = "missing"

# knownExternal config keys per reference kind.
EXTERNAL_KEYS: Final = {
    ROLE: "roles",
    USER: "users",
    GROUP: "groups",
    POLICY: "policies",
    PERMISSION_SET: "permissionSets",
}


@dataclass(slots=True)
class Principal:
    """A role, user, group or permission set defined in the stack, and everything that reaches it."""

    kind: str
    urn: str
    name: str
    documents: list[tuple[str, Any]] = field(default_factory=list)
    inline: list[tuple[str, Any]] = field(default_factory=list)
    boundaries: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        """`role worker`, `user alice`, ..."""
        return f"{self.kind} {self.name}"


@dataclass(frozen=True, slots=True)
class Issue:
    """A link the stack view could not verify, on the resource that makes it."""

    kind: str
    subject: str
    urn: str
    resource_type: str
    resource_name: str
    location: str
    text: str

    @property
    def external_key(self) -> str:
        """The knownExternal config key that would accept the referenced principal or policy."""
        return EXTERNAL_KEYS.get(self.subject, "policies")


@dataclass(frozen=True, slots=True)
class Entry:
    """One stack resource an adapter reads, with its view."""

    resource: Any
    view: ResourceView

    @property
    def short(self) -> str:
        return f"{self.resource.resource_type.rsplit(':', 1)[-1]} {self.resource.name}"


def identifiers(kind: str, value: str) -> set[str]:
    """What a known name or ARN can be matched by: itself, and for IAM ARNs the name and path+name."""
    out = {value}
    if value.startswith("arn:"):
        resource = value.split(":", 5)[-1]
        if kind in (ROLE, USER, GROUP, POLICY) and "/" in resource:
            rest = resource.partition("/")[2]
            out.add(rest.rsplit("/", 1)[-1])
            if kind == POLICY:
                out.add("/" + rest)
    elif kind == POLICY and "/" in value:
        out.add(value.rsplit("/", 1)[-1])
    return out


def _policy_key(name: Any, path: Any) -> str | None:
    if not isinstance(name, str) or is_unknown(name):
        return None
    prefix = path if isinstance(path, str) and path and not is_unknown(path) else "/"
    if not prefix.endswith("/"):
        prefix += "/"
    return prefix + name


def is_aws_managed_arn(arn: str) -> bool:
    """`arn:aws:iam::aws:policy/...` (any partition)."""
    parts = arn.split(":", 5)
    return len(parts) == 6 and parts[2] == "iam" and parts[4] == "aws" and parts[5].startswith("policy/")


def managed_policy_document(arn: str) -> Any | None:
    """The bundled snapshot's document for an AWS-managed policy ARN, or None when not in it."""
    from least_privilege.managed_policies import managed_policy_document as lookup

    return lookup(arn)


class StackView:
    """Principals and policies of a stack, linked; with the links that could not be verified."""

    def __init__(
        self,
        resources: Sequence[Any],
        known_external: Mapping[str, Iterable[str]] | None = None,
        context: Context | None = None,
    ) -> None:
        self.entries: list[Entry] = []
        for res in resources:
            if res.resource_type in _JUDGED:
                view = adapters.read(res.resource_type, plain_props(res.props), context)
                if view is not None:
                    self.entries.append(Entry(res, view))
        self.external = {
            kind: {str(v) for v in (known_external or {}).get(key, []) or []}
            for kind, key in EXTERNAL_KEYS.items()
        }
        self.principals: dict[str, Principal] = {}
        self.principal_ids: dict[tuple[str, str], str] = {}
        self.policies: dict[str, Any] = {}
        self.policy_names: dict[str, str] = {}
        self.policy_ids: dict[str, str] = {}
        self.issues: list[Issue] = []
        self._index()
        self._link()

    # -- index ------------------------------------------------------------------------------------

    def _index(self) -> None:
        for entry in self.entries:
            definition = entry.view.defines
            if definition is None:
                continue
            urn = entry.resource.urn
            name = definition.name if isinstance(definition.name, str) else entry.resource.name
            if definition.kind == POLICY:
                self.policies[urn] = definition.document
                self.policy_names[urn] = name
                key = _policy_key(definition.name, definition.path)
                for ident in ([key] if key else []) + ([definition.arn] if _known(definition.arn) else []):
                    self.policy_ids[ident] = urn
                continue
            self.principals[urn] = Principal(definition.kind, urn, name)
            for value in (definition.name, definition.arn):
                if _known(value):
                    for ident in identifiers(definition.kind, value):
                        self.principal_ids[(definition.kind, ident)] = urn

    # -- linking ----------------------------------------------------------------------------------

    def _link(self) -> None:
        for entry in self.entries:
            for grant in entry.view.grants:
                self._link_grant(entry, grant)
            for membership in entry.view.memberships:
                own = self.principals.get(entry.resource.urn)
                users = (
                    [own]
                    if membership.user is None and own
                    else self._resolve(entry, _listed(membership.user))
                )
                groups = self._resolve(entry, [membership.group])
                for user in users:
                    for group in groups:
                        if group.urn not in user.groups:
                            user.groups.append(group.urn)
            for ref in entry.view.references:
                self._resolve(entry, [ref])

    def _link_grant(self, entry: Entry, grant: Grant) -> None:
        if grant.to:
            targets = self._resolve(entry, list(grant.to))
        else:
            own = self.principals.get(entry.resource.urn)
            targets = [own] if own is not None else []
        source = entry.short if grant.to else grant.location
        if grant.document is not None:
            self._add_document(targets, grant.document, source)
        if grant.policy is not None:
            # A permissions boundary only limits, and is usually owned by a platform team outside the
            # stack: it is noted on the principal, not resolved. An attached policy is resolved even
            # without a target in the stack: an unverifiable policy is an issue anyway.
            linked, problem = [], None
            if not grant.policy.boundary:
                linked, problem = self._resolve_policy(entry, grant.policy)
            for target in targets:
                self._add_policy(target, grant.policy, source, linked, problem)

    def _add_document(self, targets: list[Principal], document: Document, source: str) -> None:
        for target in targets:
            if unknown_paths(document.value):
                target.unknown.append(source)
                continue
            target.documents.append((source, document.value))
            if document.container.startswith("inline policy"):
                target.inline.append((source, document.value))

    @staticmethod
    def _add_policy(
        target: Principal, ref: PolicyRef, source: str, linked: list[tuple[str, Any]], problem: str | None
    ) -> None:
        if ref.boundary:
            shown = ref.arn if _known(ref.arn) else ref.customer_managed_name
            target.boundaries.append(f"{source} ({shown})" if _known(shown) else source)
            return
        if problem == UNKNOWN_ISSUE:
            target.unknown.append(source)
        elif problem is not None:
            target.unresolved.append(f"{source} ({problem})")
        for label, document in linked:
            if document is None or document == "":
                continue
            if unknown_paths(document):
                target.unknown.append(f"{source} -> {label}")
            else:
                target.documents.append((f"{source} -> {label}" if label else source, document))

    def _resolve_policy(self, entry: Entry, ref: PolicyRef) -> tuple[list[tuple[str, Any]], str | None]:
        """(linked documents with labels, problem text or UNKNOWN_ISSUE); a known external policy is
        neither linked nor a problem."""
        res = entry.resource
        deps = [d.urn for d in _deps(res, ref.property) if d.urn in self.policies]
        if ref.customer_managed_name is not None:
            key = _policy_key(ref.customer_managed_name, ref.customer_managed_path)
            if key is not None:
                urn = self.policy_ids.get(key)
                if urn is not None:
                    return [(self.policy_names[urn], self.policies[urn])], None
                if self._is_external(POLICY, key) or self._is_external(POLICY, ref.customer_managed_name):
                    return [], None
                self._issue(
                    MISSING_ISSUE,
                    POLICY,
                    entry,
                    ref.location,
                    f"customer-managed policy {key} is not defined in this stack",
                )
                return [], f"{key}: not a Policy in this stack"
            return self._unknown_policy(entry, ref, deps)
        arn = ref.arn
        if _known(arn):
            urn = next((self.policy_ids[i] for i in identifiers(POLICY, arn) if i in self.policy_ids), None)
            if urn is None and len(deps) == 1 and not is_aws_managed_arn(arn):
                urn = deps[0]
            if urn is not None:
                return [(self.policy_names[urn], self.policies[urn])], None
            if is_aws_managed_arn(arn):
                document = managed_policy_document(arn)
                if document is None:
                    return [], f"{arn}: not in the managed-policy snapshot"
                return [(arn, document)], None
            if any(self._is_external(POLICY, i) for i in identifiers(POLICY, arn)):
                return [], None
            self._issue(
                MISSING_ISSUE, POLICY, entry, ref.location, f"policy {arn} is not defined in this stack"
            )
            return [], f"{arn}: not a Policy in this stack"
        return self._unknown_policy(entry, ref, deps)

    def _unknown_policy(
        self, entry: Entry, ref: PolicyRef, deps: list[str]
    ) -> tuple[list[tuple[str, Any]], str | None]:
        if not deps:
            explicit = [d.urn for d in entry.resource.dependencies if d.urn in self.policies]
            deps = explicit if len(explicit) == 1 else []
        if deps:
            return [(self.policy_names[u], self.policies[u]) for u in dict.fromkeys(deps)], None
        self._issue(
            UNKNOWN_ISSUE,
            POLICY,
            entry,
            ref.location,
            "the attached policy is unknown at preview and not linked to a policy of this stack, so "
            "the permissions it grants cannot be checked. Pass the ARN of a Policy defined in the "
            "stack (policy.arn) or compute it from config (arn:aws:iam::<account>:policy/<name>).",
        )
        return [], UNKNOWN_ISSUE

    def _resolve(self, entry: Entry, refs: list[Ref]) -> list[Principal]:
        """The stack principals some references point at; records an Issue for each one it cannot."""
        res = entry.resource
        out: list[Principal] = []
        by_property: dict[tuple[str, str], list[Ref]] = {}
        for ref in refs:
            by_property.setdefault((ref.property, ref.kind), []).append(ref)
        for (prop, kind), group in by_property.items():
            deps = [
                d.urn
                for d in _deps(res, prop)
                if d.urn in self.principals and self.principals[d.urn].kind == kind
            ]
            matched: set[str] = set()
            unknown_refs: list[Ref] = []
            for ref in group:
                if not _known(ref.value):
                    unknown_refs.append(ref)
                    continue
                urn = next(
                    (
                        self.principal_ids[(kind, i)]
                        for i in identifiers(kind, ref.value)
                        if (kind, i) in self.principal_ids
                    ),
                    None,
                )
                if urn is None and len(group) == 1 and len(deps) == 1:
                    urn = deps[0]  # a name the provider computed differently (name prefix) but linked
                if urn is not None:
                    matched.add(urn)
                    out.append(self.principals[urn])
                elif not any(self._is_external(kind, i) for i in identifiers(kind, ref.value)):
                    self._issue(
                        MISSING_ISSUE,
                        kind,
                        entry,
                        ref.location,
                        f"{kind} {ref.value} is not defined in this stack, so what it is and what it "
                        f"is granted cannot be verified",
                    )
            if not unknown_refs:
                continue
            remaining = [u for u in deps if u not in matched]
            if not remaining and not deps:
                explicit = [
                    d.urn
                    for d in res.dependencies
                    if d.urn in self.principals and self.principals[d.urn].kind == kind
                ]
                remaining = explicit if len(explicit) == 1 else []
            if remaining:
                out.extend(self.principals[u] for u in dict.fromkeys(remaining))
            else:
                for ref in unknown_refs:
                    self._issue(
                        UNKNOWN_ISSUE,
                        kind,
                        entry,
                        ref.location,
                        f"the {kind} is unknown at preview and not linked to a {kind} of this stack, so "
                        "what it grants, and to whom, cannot be verified",
                    )
        return list({p.urn: p for p in out}.values())

    def _is_external(self, kind: str, ident: str) -> bool:
        return ident in self.external.get(kind, set())

    def _issue(self, kind: str, subject: str, entry: Entry, location: str, text: str) -> None:
        res = entry.resource
        self.issues.append(Issue(kind, subject, res.urn, res.resource_type, res.name, location, text))

    # -- queries ----------------------------------------------------------------------------------

    def _groups_of(self, principal: Principal) -> list[Principal]:
        return [self.principals[u] for u in principal.groups if u in self.principals]

    def documents_reaching(self, principal: Principal) -> list[tuple[str, Any]]:
        """Every known document granting to a principal: its own, and for a user its groups'."""
        return list(principal.documents) + [
            (f"group {g.name}: {source}", doc)
            for g in self._groups_of(principal)
            for source, doc in g.documents
        ]

    def unknown_reaching(self, principal: Principal) -> list[str]:
        """Sources that reach a principal but were unknown at preview (own and through groups)."""
        return list(principal.unknown) + [
            f"group {g.name}: {s}" for g in self._groups_of(principal) for s in g.unknown
        ]

    def unresolved_reaching(self, principal: Principal) -> list[str]:
        """Attached policies that reach a principal but could not be resolved to a document."""
        return list(principal.unresolved) + [
            f"group {g.name}: {s}" for g in self._groups_of(principal) for s in g.unresolved
        ]


_JUDGED: Final = adapters.judged_types()


def _listed(ref: Ref | None) -> list[Ref]:
    return [] if ref is None else [ref]


def _known(value: Any) -> bool:
    return isinstance(value, str) and value != "" and not is_unknown(value)


def _deps(resource: Any, prop: str) -> list[Any]:
    try:
        return list(resource.property_dependencies.get(prop, []) or [])
    except Exception:
        return []
