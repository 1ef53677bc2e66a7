"""Adapter for the `aws-native` provider (Cloud Control): type token + inputs -> ResourceView.

Property names are camelCase of the CloudFormation names (`policyDocument`,
`assumeRolePolicyDocument`, `managedPolicyArns`, `policies[].policyDocument`), and documents are
usually objects, not JSON strings (the engine reads both). Every type this module reads is a key of
:data:`READERS`; :data:`READS` lists the SDK inputs (snake_case paths) the structural readers read.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Final

from adapters import permissions
from adapters.common import (
    Reader,
    arn_for,
    documents_at,
    inline_policy_reader,
    items,
    name_of,
    policy_refs,
    present,
    principal_reader,
    refs,
    resource_policy_reader,
)
from adapters.model import (
    GROUP,
    IDENTITY,
    PERMISSION_SET,
    POLICY,
    ROLE,
    USER,
    Context,
    Definition,
    Grant,
    PolicyRef,
    ResourceView,
)

# --------------------------------------------------------------------------------------------------
# IAM


def _managed_policy(props: Mapping[str, Any], ctx: Context) -> ResourceView:
    documents = documents_at(props, "policyDocument", IDENTITY, "customer-managed policy")
    to = refs(props, "roles", ROLE) + refs(props, "users", USER) + refs(props, "groups", GROUP)
    grants = tuple(Grant(d.location, to, document=d) for d in documents) if to else ()
    return ResourceView(
        documents=tuple(documents),
        grants=grants,
        defines=Definition(
            POLICY,
            name_of(props, "managedPolicyName"),
            props.get("path"),
            props.get("policyArn"),
            documents[0].value if documents else None,
        ),
    )


def _instance_profile(props: Mapping[str, Any], ctx: Context) -> ResourceView:
    return ResourceView(references=refs(props, "roles", ROLE))


def _permission_set(props: Mapping[str, Any], ctx: Context) -> ResourceView:
    documents = documents_at(props, "inlinePolicy", IDENTITY, "permission set inline policy")
    attached = list(policy_refs(props, "managedPolicies"))
    for index, ref in enumerate(items(props.get("customerManagedPolicyReferences"))):
        location = f"customerManagedPolicyReferences[{index}]"
        if isinstance(ref, Mapping):
            attached.append(
                PolicyRef(
                    location,
                    None,
                    "customerManagedPolicyReferences",
                    customer_managed_name=ref.get("name"),
                    customer_managed_path=ref.get("path"),
                )
            )
        elif present(ref):
            attached.append(
                PolicyRef(location, None, "customerManagedPolicyReferences", customer_managed_name=ref)
            )
    boundary = props.get("permissionsBoundary")
    if isinstance(boundary, Mapping):
        reference = boundary.get("customerManagedPolicyReference")
        attached.append(
            PolicyRef(
                "permissionsBoundary",
                boundary.get("managedPolicyArn"),
                "permissionsBoundary",
                True,
                customer_managed_name=reference.get("name") if isinstance(reference, Mapping) else None,
                customer_managed_path=reference.get("path") if isinstance(reference, Mapping) else None,
            )
        )
    grants = [Grant(d.location, (), document=d) for d in documents]
    grants += [Grant(p.location, (), policy=p) for p in attached]
    return ResourceView(
        documents=tuple(documents),
        attachments=tuple(attached),
        grants=tuple(grants),
        defines=Definition(PERMISSION_SET, name_of(props, "name"), None, props.get("permissionSetArn")),
    )


# --------------------------------------------------------------------------------------------------
# Resource-based policies: (property path, service) per type.

RESOURCE_POLICIES: Final[dict[str, tuple[tuple[str, str], ...]]] = {
    "aws-native:apigateway:DomainNameV2": (("policy", "execute-api"),),
    "aws-native:apigateway:RestApi": (("policy", "execute-api"),),
    "aws-native:aps:ResourcePolicy": (("policyDocument", "aps"),),
    "aws-native:backup:BackupVault": (("accessPolicy", "backup"),),
    "aws-native:backup:LogicallyAirGappedBackupVault": (("accessPolicy", "backup"),),
    "aws-native:bedrock:KnowledgeBasePolicy": (("policyDocument", "bedrock"),),
    "aws-native:bedrock:ResourcePolicy": (("policyDocument", "bedrock"),),
    "aws-native:bedrockagentcore:ResourcePolicy": (("policy", "bedrock-agentcore"),),
    "aws-native:cloudtrail:ResourcePolicy": (("resourcePolicy", "cloudtrail"),),
    "aws-native:codeartifact:Domain": (("permissionsPolicyDocument", "codeartifact"),),
    "aws-native:codeartifact:Repository": (("permissionsPolicyDocument", "codeartifact"),),
    "aws-native:comprehend:DocumentClassifier": (("modelPolicy", "comprehend"),),
    "aws-native:comprehend:EntityRecognizer": (("modelPolicy", "comprehend"),),
    "aws-native:dsql:Cluster": (("policyDocument", "dsql"),),
    "aws-native:dynamodb:GlobalTable": (
        ("replicas[].resourcePolicy.policyDocument", "dynamodb"),
        ("replicas[].replicaStreamSpecification.resourcePolicy.policyDocument", "dynamodb"),
    ),
    "aws-native:dynamodb:Table": (
        ("resourcePolicy.policyDocument", "dynamodb"),
        ("streamSpecification.resourcePolicy.policyDocument", "dynamodb"),
    ),
    "aws-native:ec2:VpcEndpoint": (("policyDocument", "ec2"),),
    "aws-native:ecr:RegistryPolicy": (("policyText", "ecr"),),
    "aws-native:ecr:Repository": (("repositoryPolicyText", "ecr"),),
    "aws-native:ecr:RepositoryCreationTemplate": (("repositoryPolicy", "ecr"),),
    "aws-native:efs:FileSystem": (("fileSystemPolicy", "elasticfilesystem"),),
    "aws-native:events:EventBus": (("policy", "events"),),
    "aws-native:fsx:S3AccessPointAttachment": (("s3AccessPoint.policy", "s3"),),
    "aws-native:eventschemas:RegistryPolicy": (("policy", "schemas"),),
    "aws-native:eventsv2:ResourcePolicy": (("policyDocument", "events"),),
    "aws-native:kinesis:ResourcePolicy": (("resourcePolicy", "kinesis"),),
    "aws-native:kms:Key": (("keyPolicy", "kms"),),
    "aws-native:kms:ReplicaKey": (("keyPolicy", "kms"),),
    "aws-native:lambda:ResourcePolicy": (("policyDocument", "lambda"),),
    "aws-native:lex:ResourcePolicy": (("policy", "lex"),),
    "aws-native:logs:DeliveryDestination": (("deliveryDestinationPolicy.deliveryDestinationPolicy", "logs"),),
    "aws-native:logs:Destination": (("destinationPolicy", "logs"),),
    "aws-native:logs:LogGroup": (("resourcePolicyDocument", "logs"),),
    "aws-native:logs:ResourcePolicy": (("policyDocument", "logs"),),
    "aws-native:mediapackagev2:ChannelPolicy": (("policy", "mediapackagev2"),),
    "aws-native:mediapackagev2:OriginEndpointPolicy": (("policy", "mediapackagev2"),),
    "aws-native:mediatailor:ChannelPolicy": (("policy", "mediatailor"),),
    "aws-native:msk:ClusterPolicy": (("policy", "kafka"),),
    "aws-native:oam:Sink": (("policy", "oam"),),
    "aws-native:omics:SequenceStore": (("s3AccessPolicy", "omics"),),
    "aws-native:opensearchservice:Domain": (("accessPolicies", "es"),),
    "aws-native:osis:Pipeline": (("resourcePolicy.policy", "osis"),),
    "aws-native:paymentcryptography:Key": (("policy", "payment-cryptography"),),
    "aws-native:redshift:Cluster": (("namespaceResourcePolicy", "redshift"),),
    "aws-native:redshiftserverless:Namespace": (("namespaceResourcePolicy", "redshift-serverless"),),
    "aws-native:rum:AppMonitor": (("resourcePolicy.policyDocument", "rum"),),
    "aws-native:s3:AccessPoint": (("policy", "s3"),),
    "aws-native:s3:BucketPolicy": (("policyDocument", "s3"),),
    "aws-native:s3:MultiRegionAccessPointPolicy": (("policy", "s3"),),
    "aws-native:s3express:AccessPoint": (("policy", "s3express"),),
    "aws-native:s3express:BucketPolicy": (("policyDocument", "s3express"),),
    "aws-native:s3files:FileSystemPolicy": (("policy", "s3files"),),
    "aws-native:s3objectlambda:AccessPointPolicy": (("policyDocument", "s3-object-lambda"),),
    "aws-native:s3outposts:AccessPoint": (("policy", "s3-outposts"),),
    "aws-native:s3outposts:BucketPolicy": (("policyDocument", "s3-outposts"),),
    "aws-native:s3tables:TableBucketPolicy": (("resourcePolicy", "s3tables"),),
    "aws-native:s3tables:TablePolicy": (("resourcePolicy", "s3tables"),),
    "aws-native:s3vectors:VectorBucketPolicy": (("policy", "s3vectors"),),
    "aws-native:sagemaker:ModelPackageGroup": (("modelPackageGroupPolicy", "sagemaker"),),
    "aws-native:secretsmanager:ResourcePolicy": (("resourcePolicy", "secretsmanager"),),
    "aws-native:smsvoice:ResourcePolicy": (("policyDocument", "sms-voice"),),
    "aws-native:sns:TopicInlinePolicy": (("policyDocument", "sns"),),
    "aws-native:sns:TopicPolicy": (("policyDocument", "sns"),),
    "aws-native:sqs:QueueInlinePolicy": (("policyDocument", "sqs"),),
    "aws-native:ssm:ResourcePolicy": (("policy", "ssm"),),
    "aws-native:vpclattice:AuthPolicy": (("policy", "vpc-lattice"),),
    "aws-native:vpclattice:ResourcePolicy": (("policy", "vpc-lattice"),),
    "aws-native:xray:ResourcePolicy": (("policyDocument", "xray"),),
}


# --------------------------------------------------------------------------------------------------
# Grants that name a principal instead of carrying a document (see adapters.permissions).


def _layer_permission(props: Mapping[str, Any], ctx: Context) -> ResourceView:
    layer = props.get("layerVersionArn")
    return permissions.layer_permission(
        layer
        if isinstance(layer, str) and layer.startswith("arn:")
        else arn_for("lambda", "layer:{}:1", layer, ctx.account, ctx.region),
        props,
    )


def _event_bus_policy(props: Mapping[str, Any], ctx: Context) -> ResourceView:
    view = resource_policy_reader((("statement", "events"),))(props, ctx)
    if view.documents:
        statement = view.documents[0]
        if isinstance(statement.value, Mapping):
            wrapped = {"Version": "2012-10-17", "Statement": [statement.value]}
            return ResourceView(documents=(dataclasses.replace(statement, value=wrapped),))
        return view
    return permissions.event_permission(props, ctx)


READERS: Final[dict[str, Reader]] = {
    "aws-native:iam:Role": principal_reader(
        ROLE,
        name="roleName",
        inline="policies",
        inline_document="policyDocument",
        trust="assumeRolePolicyDocument",
    ),
    "aws-native:iam:User": principal_reader(
        USER, name="userName", inline="policies", inline_document="policyDocument", groups="groups"
    ),
    "aws-native:iam:Group": principal_reader(
        GROUP, name="groupName", inline="policies", inline_document="policyDocument"
    ),
    "aws-native:iam:ManagedPolicy": _managed_policy,
    "aws-native:iam:RolePolicy": inline_policy_reader(ROLE, "roleName", "policyDocument"),
    "aws-native:iam:UserPolicy": inline_policy_reader(USER, "userName", "policyDocument"),
    "aws-native:iam:GroupPolicy": inline_policy_reader(GROUP, "groupName", "policyDocument"),
    "aws-native:iam:InstanceProfile": _instance_profile,
    "aws-native:sso:PermissionSet": _permission_set,
    "aws-native:lambda:Permission": permissions.lambda_permission("functionName"),
    "aws-native:lambda:LayerVersionPermission": _layer_permission,
    "aws-native:events:EventBusPolicy": _event_bus_policy,
    "aws-native:signer:ProfilePermission": permissions.signer_permission,
    "aws-native:acmpca:Permission": permissions.acmpca_permission,
    **{token: resource_policy_reader(entries) for token, entries in RESOURCE_POLICIES.items()},
}

READS: Final[dict[str, frozenset[str]]] = {
    "aws-native:iam:Role": frozenset(
        {
            "assume_role_policy_document",
            "managed_policy_arns",
            "permissions_boundary",
            "policies",
            "policies[].policy_document",
        }
    ),
    "aws-native:iam:User": frozenset(
        {"managed_policy_arns", "permissions_boundary", "policies", "policies[].policy_document"}
    ),
    "aws-native:iam:Group": frozenset({"managed_policy_arns", "policies", "policies[].policy_document"}),
    "aws-native:iam:ManagedPolicy": frozenset({"policy_document"}),
    "aws-native:iam:RolePolicy": frozenset({"policy_document"}),
    "aws-native:iam:UserPolicy": frozenset({"policy_document"}),
    "aws-native:iam:GroupPolicy": frozenset({"policy_document"}),
    "aws-native:sso:PermissionSet": frozenset(
        {
            "inline_policy",
            "managed_policies",
            "permissions_boundary",
            "permissions_boundary.managed_policy_arn",
        }
    ),
    "aws-native:lambda:Permission": frozenset({"principal"}),
    "aws-native:lambda:LayerVersionPermission": frozenset({"principal"}),
    "aws-native:events:EventBusPolicy": frozenset({"principal"}),
    "aws-native:signer:ProfilePermission": frozenset({"principal"}),
    "aws-native:acmpca:Permission": frozenset({"principal"}),
}


def read(resource_type: str, props: Mapping[str, Any], ctx: Context) -> ResourceView | None:
    """The view of one `aws-native` resource, or None when this adapter does not read the type."""
    reader = READERS.get(resource_type)
    return None if reader is None else reader(props, ctx)
