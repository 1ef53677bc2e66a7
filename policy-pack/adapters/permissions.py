"""Permissions that name a principal instead of carrying a document (Lambda, EventBridge, ACM PCA,
Signer): each becomes one synthetic resource-policy statement, with the conditions that narrow it, for
the engine to judge. Both providers spell these properties the same way; where they differ (the
function or layer property) the reader takes the property name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters.common import Reader, arn_for, items, synthetic_document, synthetic_view
from adapters.model import Context, ResourceView


def lambda_permission(function_prop: str) -> Reader:
    """A Lambda permission: principal, action, and the source/org/URL conditions that narrow it."""

    def read(props: Mapping[str, Any], ctx: Context) -> ResourceView:
        resource = arn_for("lambda", "function:{}", props.get(function_prop), ctx.account, ctx.region)
        qualifier = props.get("qualifier")
        if isinstance(resource, str) and isinstance(qualifier, str) and qualifier:
            resource = f"{resource}:{qualifier}"
        document = synthetic_document(
            props.get("principal"),
            props.get("action") or "lambda:InvokeFunction",
            resource,
            {
                "ArnLike": {"aws:SourceArn": props.get("sourceArn")},
                "StringEquals": {
                    "aws:SourceAccount": props.get("sourceAccount"),
                    "aws:PrincipalOrgID": props.get("principalOrgId"),
                    "lambda:FunctionUrlAuthType": props.get("functionUrlAuthType"),
                },
            },
        )
        return synthetic_view("principal", document, "lambda permission", "lambda")

    return read


def layer_permission(layer_arn: Any, props: Mapping[str, Any]) -> ResourceView:
    """A Lambda layer-version permission on ``layer_arn``: principal, action, organization."""
    document = synthetic_document(
        props.get("principal"),
        props.get("action") or "lambda:GetLayerVersion",
        layer_arn,
        {"StringEquals": {"aws:PrincipalOrgID": props.get("organizationId")}},
    )
    return synthetic_view("principal", document, "lambda layer permission", "lambda")


def event_permission(props: Mapping[str, Any], ctx: Context) -> ResourceView:
    """An EventBridge bus permission: principal, action, and its one optional condition."""
    condition = props.get("condition")
    conditions: dict[str, dict[str, Any]] = {}
    if isinstance(condition, Mapping) and isinstance(condition.get("key"), str):
        operator = condition.get("type") if isinstance(condition.get("type"), str) else "StringEquals"
        conditions = {operator: {condition["key"]: condition.get("value")}}
    bus = props.get("eventBusName") or "default"
    document = synthetic_document(
        props.get("principal"),
        props.get("action") or "events:PutEvents",
        arn_for("events", "event-bus/{}", bus, ctx.account, ctx.region),
        conditions,
    )
    return synthetic_view("principal", document, "event bus permission", "events")


def acmpca_permission(props: Mapping[str, Any], ctx: Context) -> ResourceView:
    """An ACM Private CA permission for a service principal, narrowed by its source account."""
    actions = [
        f"acm-pca:{a}" if isinstance(a, str) and ":" not in a else a for a in items(props.get("actions"))
    ]
    document = synthetic_document(
        props.get("principal"),
        actions,
        arn_for(
            "acm-pca",
            "certificate-authority/{}",
            props.get("certificateAuthorityArn"),
            ctx.account,
            ctx.region,
        ),
        {"StringEquals": {"aws:SourceAccount": props.get("sourceAccount")}},
    )
    return synthetic_view("principal", document, "private CA permission", "acm-pca")


def signer_permission(props: Mapping[str, Any], ctx: Context) -> ResourceView:
    """A Signer signing-profile permission: principal and action on the profile."""
    document = synthetic_document(
        props.get("principal"),
        props.get("action"),
        arn_for("signer", "/signing-profiles/{}", props.get("profileName"), ctx.account, ctx.region),
    )
    return synthetic_view("principal", document, "signing profile permission", "signer")
