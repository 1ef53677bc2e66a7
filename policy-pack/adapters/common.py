"""Reading helpers shared by the provider adapters: property paths, lists, documents, references."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from least_privilege import UNKNOWN, is_unknown

from adapters.model import Document, PolicyRef, Ref


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
