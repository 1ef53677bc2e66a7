"""Adapter for the `aws-native` provider (Cloud Control): type token + inputs -> ResourceView.

Property names are camelCase of the CloudFormation names (`policyDocument`,
`assumeRolePolicyDocument`, `managedPolicyArns`, `policies[].policyDocument`), and documents are
usually objects, not JSON strings (the engine reads both).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from adapters.model import Context, ResourceView

Reader = Callable[[Mapping[str, Any], Context], ResourceView]

READERS: Final[dict[str, Reader]] = {}
READS: Final[dict[str, frozenset[str]]] = {}
RESOURCE_POLICIES: Final[dict[str, tuple[tuple[str, str], ...]]] = {}


def read(resource_type: str, props: Mapping[str, Any], ctx: Context) -> ResourceView | None:
    """The view of one `aws-native` resource, or None when this adapter does not read the type."""
    reader = READERS.get(resource_type)
    return None if reader is None else reader(props, ctx)
