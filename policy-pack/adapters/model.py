"""What an adapter makes of one resource: the provider-free view the pack's policies judge.

Values are plain data as ``iam_pack.plain.to_plain`` produces it: strings, numbers, lists, dicts,
and ``least_privilege.UNKNOWN`` wherever the value is not known at preview. A document's value is a
JSON string, a mapping, or UNKNOWN. ``property`` fields name the wire (camelCase) property a value
came from, so the stack view can follow that property's dependencies to the resource that made it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

# Document kinds, as the engine's check_* entry points are named.
IDENTITY: Final = "identity"
TRUST: Final = "trust"
RESOURCE: Final = "resource"

# Principal kinds a grant can reach, and the policy kind.
ROLE: Final = "role"
USER: Final = "user"
GROUP: Final = "group"
PERMISSION_SET: Final = "permission set"
POLICY: Final = "policy"
PRINCIPAL_KINDS: Final = (ROLE, USER, GROUP, PERMISSION_SET)


@dataclass(frozen=True, slots=True)
class Context:
    """The stack's account and region, for ARNs an adapter has to spell (synthetic statements)."""

    account: str = "000000000000"
    region: str = "us-east-1"


@dataclass(frozen=True, slots=True)
class Document:
    """One IAM document a resource carries, where it sits and what contains it."""

    location: str
    kind: str
    value: Any
    container: str
    service: str | None = None


@dataclass(frozen=True, slots=True)
class Ref:
    """A reference to a role, user, group, permission set or customer-managed policy by name or ARN."""

    kind: str
    value: Any
    property: str
    location: str


@dataclass(frozen=True, slots=True)
class PolicyRef:
    """A policy attached by ARN (or, for IAM Identity Center, by customer-managed name and path)."""

    location: str
    arn: Any
    property: str
    boundary: bool = False
    customer_managed_name: Any = None
    customer_managed_path: Any = None


@dataclass(frozen=True, slots=True)
class Grant:
    """Permissions given to principals: an inline document or an attached policy.

    ``to`` empty means the principal the resource itself defines (a role's inline policies).
    """

    location: str
    to: tuple[Ref, ...]
    document: Document | None = None
    policy: PolicyRef | None = None


@dataclass(frozen=True, slots=True)
class Membership:
    """A user made a member of a group; ``user`` None is the user the resource itself defines."""

    location: str
    user: Ref | None
    group: Ref


@dataclass(frozen=True, slots=True)
class Definition:
    """A principal or customer-managed policy the resource defines (its name, path and ARN if known)."""

    kind: str
    name: Any
    path: Any = None
    arn: Any = None
    document: Any = None


@dataclass(frozen=True, slots=True)
class ResourceView:
    """Everything IAM-relevant one resource contributes.

    * ``documents``: every document, judged on its own by the resource rules;
    * ``attachments``: every policy attached by ARN (boundaries included, flagged), judged by the
      managed-attachment rule and resolved by the stack view;
    * ``grants``: who receives which document or attached policy;
    * ``memberships``: user-in-group links;
    * ``references``: principals and policies named that must exist (instance profile roles, ...);
    * ``defines``: the principal or policy this resource creates, if any.
    """

    documents: tuple[Document, ...] = ()
    attachments: tuple[PolicyRef, ...] = ()
    grants: tuple[Grant, ...] = ()
    memberships: tuple[Membership, ...] = ()
    references: tuple[Ref, ...] = ()
    defines: Definition | None = None
