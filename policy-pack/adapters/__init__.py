"""Provider adapters: one module per provider family turns a resource into a provider-free view.

``read(type token, plain props, context)`` returns the :class:`~adapters.model.ResourceView` the
pack's policies judge, or None for a type no adapter reads. The adapters depend on nothing but the
type token and the property dict (no provider SDK is imported), so the pack's own virtualenv needs
neither pulumi-aws nor pulumi-aws-native. Which SDK types exist, and the decision for each one that
carries a policy, is in :mod:`adapters.coverage`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from adapters import aws, aws_native
from adapters.model import Context, ResourceView

PROVIDERS: Final = {"aws": aws, "aws-native": aws_native}


def provider_of(resource_type: str) -> str:
    """`aws:iam/role:Role` -> `aws`; `aws-native:iam:Role` -> `aws-native`."""
    return resource_type.split(":", 1)[0]


def judged_types() -> frozenset[str]:
    """Every type token some adapter reads."""
    return frozenset(token for module in PROVIDERS.values() for token in module.READERS)


def read(resource_type: str, props: Mapping[str, Any], context: Context | None = None) -> ResourceView | None:
    """The view of one resource, or None when no adapter reads its type."""
    module = PROVIDERS.get(provider_of(resource_type))
    if module is None:
        return None
    return module.read(resource_type, props, context or Context())
