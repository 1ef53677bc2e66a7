"""Reading helpers shared by the provider adapters: property paths, lists, documents, references."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from least_privilege import UNKNOWN, is_unknown

from adapters.model import (
    GROUP,
    IDENTITY,
    RESOURCE,
    TRUST,
    Context,
    Definition,
    Document,
    Grant,
    Membership,
    PolicyRef,
    Ref,
    ResourceView,
)

Reader = Callable[[Mapping[str, Any], Context], ResourceView]


def present(value: Any) -> bool:
    """A value that is set: not None, not the empty string (unknowns are present)."""
    return value is not None and value != ""


def items(value: Any) -> list[Any]:
    """A list property as a list: absent -> [], unknown -> [UNKNOWN], a scalar -> [scalar]."""
    if value is None:
        return []
    if is_unknown(value):
        return [UNKNOWN]
    if isinstance(value, list | tuple):
        return list(value)
    return [value]


def values_at(props: Mapping[str, Any], path: str) -> Iterator[tuple[str, Any]]:
    """(location, value) for every value at a property path such as ``replicas[].resourcePolicy.doc``.

    ``[]`` after a segment walks every element of a list. An unknown container yields one UNKNOWN at
    the container's location, so the unknown part is still reported, never silently skipped.
    """
    yield from _walk(props, path.split("."), "")


def _walk(value: Any, segments: list[str], where: str) -> Iterator[tuple[str, Any]]:
    if not segments:
        if present(value):
            yield where, value
        return
    head, rest = segments[0], segments[1:]
    many = head.endswith("[]")
    key = head[:-2] if many else head
    if is_unknown(value):
        yield where or ".", UNKNOWN
        return
    if not isinstance(value, Mapping):
        return
    child = value.get(key)
    location = f"{where}.{key}" if where else key
    if child is None:
        return
    if not many:
        yield from _walk(child, rest, location)
        return
    for index, element in enumerate(items(child)):
        yield from _walk(element, rest, f"{location}[{index}]")


def documents_at(
    props: Mapping[str, Any], path: str, kind: str, container: str, service: str | None = None
) -> list[Document]:
    """The documents at a property path, as Documents of one kind."""
    return [Document(loc, kind, value, container, service) for loc, value in values_at(props, path)]


def refs(props: Mapping[str, Any], prop: str, kind: str) -> tuple[Ref, ...]:
    """References to principals of one kind from a (list or scalar) property."""
    return tuple(
        Ref(kind, value, prop, prop if len(items(props.get(prop))) == 1 else f"{prop}[{i}]")
        for i, value in enumerate(items(props.get(prop)))
        if present(value)
    )


def policy_refs(props: Mapping[str, Any], prop: str, *, boundary: bool = False) -> tuple[PolicyRef, ...]:
    """Policy ARNs from a (list or scalar) property."""
    values = items(props.get(prop))
    return tuple(
        PolicyRef(
            prop if len(values) == 1 and not isinstance(props.get(prop), list) else f"{prop}[{i}]",
            value,
            prop,
            boundary,
        )
        for i, value in enumerate(values)
        if present(value)
    )


def name_of(props: Mapping[str, Any], *keys: str) -> Any:
    """The first set name property (a string or UNKNOWN), or None."""
    for key in keys:
        value = props.get(key)
        if present(value):
            return UNKNOWN if is_unknown(value) else value
    return None


# --------------------------------------------------------------------------------------------------
# Synthetic resource statements for resources that grant a principal without a policy document
# (Lambda Permission, EventBridge permission, KMS grant, ...): the engine judges the statement.

_SERVICE_SUFFIXES = (".amazonaws.com", ".amazonaws.com.cn", ".amazon.com")


def principal_element(principal: Any) -> Any:
    """The Principal element for a principal given as `*`, a service, an account id or an ARN."""
    if is_unknown(principal):
        return UNKNOWN
    text = str(principal).strip()
    if text == "*":
        return "*"
    if text.endswith(_SERVICE_SUFFIXES):
        return {"Service": text}
    if text.isdigit() and len(text) == 12:
        return {"AWS": f"arn:aws:iam::{text}:root"}
    return {"AWS": text}


def synthetic_document(
    principal: Any,
    actions: Any,
    resource: Any,
    conditions: Mapping[str, Mapping[str, Any]] | None = None,
) -> Any:
    """One Allow statement as a resource policy document, or UNKNOWN when a part is unknown.

    Unknown condition values are dropped from the condition (so an unknown narrowing never counts as
    narrowing); an unknown principal, action or resource makes the whole document unknown.
    """
    element = principal_element(principal)
    action_list = [a for a in items(actions) if present(a)]
    if element is UNKNOWN or is_unknown(resource) or any(is_unknown(a) for a in action_list):
        return UNKNOWN
    statement: dict[str, Any] = {
        "Sid": "Synthesized",
        "Effect": "Allow",
        "Principal": element,
        "Action": action_list if len(action_list) != 1 else action_list[0],
        "Resource": resource,
    }
    condition: dict[str, dict[str, Any]] = {}
    for operator, entries in (conditions or {}).items():
        known = {k: v for k, v in entries.items() if present(v) and not is_unknown(v)}
        if known:
            condition[operator] = known
    if condition:
        statement["Condition"] = condition
    return {"Version": "2012-10-17", "Statement": [statement]}


def arn_for(service: str, resource: str, value: Any, account: str, region: str) -> Any:
    """``value`` when it already is an ARN, else ``arn:aws:<service>:<region>:<account>:<resource>`` with
    ``{}`` in ``resource`` replaced by the value. The resource a permission is on does not change who
    it admits, so a name unknown at preview becomes the placeholder ``known-after-apply``."""
    text = "known-after-apply" if is_unknown(value) or not present(value) else str(value)
    if text.startswith("arn:"):
        return text
    return f"arn:aws:{service}:{region}:{account}:{resource.format(text)}"


def inline_documents(props: Mapping[str, Any], prop: str, doc_key: str, container: str) -> list[Document]:
    """Inline policies given as a list of {name, document} entries (a role's inlinePolicies)."""
    documents = []
    for index, entry in enumerate(items(props.get(prop))):
        location = f"{prop}[{index}]"
        if not isinstance(entry, Mapping):
            if present(entry):
                documents.append(Document(location, IDENTITY, entry, container))
            continue
        name = entry.get("name") or entry.get("policyName")
        label = f"{location}.{doc_key}" + (f" ({name})" if isinstance(name, str) else "")
        # An entry with neither name nor document is how the provider spells "no inline policies".
        if present(entry.get(doc_key)):
            documents.append(Document(label, IDENTITY, entry.get(doc_key), container))
    return documents


def resource_policy_reader(entries: tuple[tuple[str, str], ...]) -> Reader:
    """A reader for a type whose resource policies sit at the given (path, service) pairs."""

    def read(props: Mapping[str, Any], ctx: Context) -> ResourceView:
        documents = [
            d
            for path, service in entries
            for d in documents_at(props, path, RESOURCE, f"{service} resource policy", service)
        ]
        return ResourceView(documents=tuple(documents))

    return read


def synthetic_view(location: str, document: Any, container: str, service: str) -> ResourceView:
    return ResourceView(
        documents=(
            Document(f"{location} (as a resource policy statement)", RESOURCE, document, container, service),
        )
    )


def principal_reader(
    kind: str,
    *,
    name: str,
    inline: str,
    inline_document: str,
    trust: str | None = None,
    groups: str | None = None,
) -> Reader:
    """A role, user or group resource: its inline policies, attached and boundary ARNs, trust policy
    (roles) and group memberships (when the provider lists groups on the user)."""

    def read(props: Mapping[str, Any], ctx: Context) -> ResourceView:
        inline_docs = inline_documents(props, inline, inline_document, f"inline policy of the {kind}")
        attached = policy_refs(props, "managedPolicyArns")
        boundary = policy_refs(props, "permissionsBoundary", boundary=True)
        trust_docs = documents_at(props, trust, TRUST, "trust policy") if trust else []
        grants = [Grant(d.location, (), document=d) for d in inline_docs]
        grants += [Grant(p.location, (), policy=p) for p in attached + boundary]
        memberships = (
            tuple(Membership(g.location, None, g) for g in refs(props, groups, GROUP)) if groups else ()
        )
        return ResourceView(
            documents=tuple(trust_docs + inline_docs),
            attachments=attached + boundary,
            grants=tuple(grants),
            memberships=memberships,
            defines=Definition(kind, name_of(props, name), props.get("path"), props.get("arn")),
        )

    return read


def inline_policy_reader(kind: str, principal: str, document: str) -> Reader:
    """A stand-alone inline policy of one role, user or group (RolePolicy and the like)."""

    def read(props: Mapping[str, Any], ctx: Context) -> ResourceView:
        documents = documents_at(props, document, IDENTITY, f"inline policy of a {kind}")
        to = refs(props, principal, kind)
        return ResourceView(
            documents=tuple(documents), grants=tuple(Grant(d.location, to, document=d) for d in documents)
        )

    return read
