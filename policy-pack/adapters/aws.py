"""Adapter for the `aws` provider (pulumi-aws 7.x): type token + input properties -> ResourceView.

Property names are the wire names (camelCase of the SDK's snake_case inputs). Documents are JSON
strings. Every type this module reads is a key of :data:`READERS`; the inputs each one reads are
listed in :data:`READS` (snake_case, as the SDK names them) so the coverage test can tell an input
the adapter reads from one it does not.
"""

from __future__ import annotations

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
    synthetic_document,
    synthetic_view,
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
    Membership,
    PolicyRef,
    ResourceView,
)

# --------------------------------------------------------------------------------------------------
# IAM principals and policies.


def _managed_policy(props: Mapping[str, Any], ctx: Context) -> ResourceView:
    documents = documents_at(props, "policy", IDENTITY, "customer-managed policy")
    return ResourceView(
        documents=tuple(documents),
        defines=Definition(
            POLICY,
            name_of(props, "name"),
            props.get("path"),
            props.get("arn"),
            documents[0].value if documents else None,
        ),
    )


def _attachment(kinds: Mapping[str, str], arn_prop: str) -> Reader:
    """An attachment of policy ARNs (``arn_prop``) to principals named in ``kinds`` (prop -> kind)."""

    def read(props: Mapping[str, Any], ctx: Context) -> ResourceView:
        to = tuple(r for prop, kind in kinds.items() for r in refs(props, prop, kind))
        attached = policy_refs(props, arn_prop)
        return ResourceView(
            attachments=attached, grants=tuple(Grant(p.location, to, policy=p) for p in attached)
        )

    return read


def _exclusive_inline(kind: str, prop: str) -> Reader:
    """`*PoliciesExclusive`: names the inline policies a principal keeps; the principal must be known."""

    def read(props: Mapping[str, Any], ctx: Context) -> ResourceView:
        return ResourceView(references=refs(props, prop, kind))

    return read


def _user_group_membership(props: Mapping[str, Any], ctx: Context) -> ResourceView:
    users = refs(props, "user", USER)
    groups = refs(props, "groups", GROUP)
    return ResourceView(memberships=tuple(Membership(g.location, u, g) for u in users for g in groups))


def _group_membership(props: Mapping[str, Any], ctx: Context) -> ResourceView:
    users = refs(props, "users", USER)
    groups = refs(props, "group", GROUP)
    return ResourceView(memberships=tuple(Membership(u.location, u, g) for u in users for g in groups))


def _instance_profile(props: Mapping[str, Any], ctx: Context) -> ResourceView:
    return ResourceView(references=refs(props, "role", ROLE))


# --------------------------------------------------------------------------------------------------
# IAM Identity Center (ssoadmin): permission sets are principals of their own.


def _permission_set(props: Mapping[str, Any], ctx: Context) -> ResourceView:
    return ResourceView(defines=Definition(PERMISSION_SET, name_of(props, "name"), None, props.get("arn")))


def _permission_set_inline(props: Mapping[str, Any], ctx: Context) -> ResourceView:
    documents = documents_at(props, "inlinePolicy", IDENTITY, "permission set inline policy")
    to = refs(props, "permissionSetArn", PERMISSION_SET)
    return ResourceView(
        documents=tuple(documents), grants=tuple(Grant(d.location, to, document=d) for d in documents)
    )


def _customer_managed(props: Mapping[str, Any], prop: str, location: str, boundary: bool) -> PolicyRef | None:
    ref = props.get(prop)
    if ref is None:
        return None
    if not isinstance(ref, Mapping):
        return PolicyRef(location, ref, prop, boundary, customer_managed_name=ref)
    return PolicyRef(
        location,
        None,
        prop,
        boundary,
        customer_managed_name=ref.get("name"),
        customer_managed_path=ref.get("path"),
    )


def _permission_set_customer_managed(props: Mapping[str, Any], ctx: Context) -> ResourceView:
    to = refs(props, "permissionSetArn", PERMISSION_SET)
    ref = _customer_managed(props, "customerManagedPolicyReference", "customerManagedPolicyReference", False)
    attached = () if ref is None else (ref,)
    return ResourceView(attachments=attached, grants=tuple(Grant(p.location, to, policy=p) for p in attached))


def _permission_set_boundary(props: Mapping[str, Any], ctx: Context) -> ResourceView:
    to = refs(props, "permissionSetArn", PERMISSION_SET)
    boundary = props.get("permissionsBoundary")
    attached: tuple[PolicyRef, ...] = ()
    if isinstance(boundary, Mapping):
        if present(boundary.get("managedPolicyArn")):
            attached = (
                PolicyRef(
                    "permissionsBoundary.managedPolicyArn",
                    boundary.get("managedPolicyArn"),
                    "permissionsBoundary",
                    True,
                ),
            )
        else:
            ref = _customer_managed(
                boundary,
                "customerManagedPolicyReference",
                "permissionsBoundary.customerManagedPolicyReference",
                True,
            )
            attached = () if ref is None else (ref,)
    elif present(boundary):
        attached = (PolicyRef("permissionsBoundary", boundary, "permissionsBoundary", True),)
    return ResourceView(attachments=attached, grants=tuple(Grant(p.location, to, policy=p) for p in attached))


# --------------------------------------------------------------------------------------------------
# Resource-based policies: (property path, service) per type; the document is judged as written.

RESOURCE_POLICIES: Final[dict[str, tuple[tuple[str, str], ...]]] = {
    "aws:acmpca/policy:Policy": (("policy", "acm-pca"),),
    "aws:amp/resourcePolicy:ResourcePolicy": (("policyDocument", "aps"),),
    "aws:apigateway/restApi:RestApi": (("policy", "execute-api"),),
    "aws:apigateway/restApiPolicy:RestApiPolicy": (("policy", "execute-api"),),
    "aws:apigateway/domainName:DomainName": (("policy", "execute-api"),),
    "aws:backup/vaultPolicy:VaultPolicy": (("policy", "backup"),),
    "aws:bedrock/agentcoreResourcePolicy:AgentcoreResourcePolicy": (("policy", "bedrock-agentcore"),),
    "aws:cloudsearch/domainServiceAccessPolicy:DomainServiceAccessPolicy": (("accessPolicy", "cloudsearch"),),
    "aws:cloudwatch/eventBusPolicy:EventBusPolicy": (("policy", "events"),),
    "aws:cloudwatch/logDestinationPolicy:LogDestinationPolicy": (("accessPolicy", "logs"),),
    "aws:cloudwatch/logResourcePolicy:LogResourcePolicy": (("policyDocument", "logs"),),
    "aws:cloudwatch/logDeliveryDestinationPolicy:LogDeliveryDestinationPolicy": (
        ("deliveryDestinationPolicy", "logs"),
    ),
    "aws:codeartifact/domainPermissions:DomainPermissions": (("policyDocument", "codeartifact"),),
    "aws:codeartifact/repositoryPermissionsPolicy:RepositoryPermissionsPolicy": (
        ("policyDocument", "codeartifact"),
    ),
    "aws:codebuild/resourcePolicy:ResourcePolicy": (("policy", "codebuild"),),
    "aws:dsql/clusterPolicy:ClusterPolicy": (("policy", "dsql"),),
    "aws:dynamodb/resourcePolicy:ResourcePolicy": (("policy", "dynamodb"),),
    "aws:ec2/vpcEndpoint:VpcEndpoint": (("policy", "ec2"),),
    "aws:ec2/vpcEndpointPolicy:VpcEndpointPolicy": (("policy", "ec2"),),
    "aws:ecr/registryPolicy:RegistryPolicy": (("policy", "ecr"),),
    "aws:ecr/repositoryPolicy:RepositoryPolicy": (("policy", "ecr"),),
    "aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate": (("repositoryPolicy", "ecr"),),
    "aws:ecrpublic/repositoryPolicy:RepositoryPolicy": (("policy", "ecr-public"),),
    "aws:efs/fileSystemPolicy:FileSystemPolicy": (("policy", "elasticfilesystem"),),
    "aws:elasticsearch/domain:Domain": (("accessPolicies", "es"),),
    "aws:elasticsearch/domainPolicy:DomainPolicy": (("accessPolicies", "es"),),
    "aws:fsx/s3AccessPointAttachment:S3AccessPointAttachment": (("s3AccessPoint.policy", "s3"),),
    "aws:glacier/vault:Vault": (("accessPolicy", "glacier"),),
    "aws:glacier/vaultLock:VaultLock": (("policy", "glacier"),),
    "aws:glue/resourcePolicy:ResourcePolicy": (("policy", "glue"),),
    "aws:kinesis/resourcePolicy:ResourcePolicy": (("policy", "kinesis"),),
    "aws:kms/externalKey:ExternalKey": (("policy", "kms"),),
    "aws:kms/key:Key": (("policy", "kms"),),
    "aws:kms/keyPolicy:KeyPolicy": (("policy", "kms"),),
    "aws:kms/replicaExternalKey:ReplicaExternalKey": (("policy", "kms"),),
    "aws:kms/replicaKey:ReplicaKey": (("policy", "kms"),),
    "aws:lambda/resourcePolicy:ResourcePolicy": (("policy", "lambda"),),
    "aws:mediastore/containerPolicy:ContainerPolicy": (("policy", "mediastore"),),
    "aws:msk/clusterPolicy:ClusterPolicy": (("policy", "kafka"),),
    "aws:networkfirewall/resourcePolicy:ResourcePolicy": (("policy", "network-firewall"),),
    "aws:oam/sinkPolicy:SinkPolicy": (("policy", "oam"),),
    "aws:opensearch/domain:Domain": (("accessPolicies", "es"),),
    "aws:opensearch/domainPolicy:DomainPolicy": (("accessPolicies", "es"),),
    "aws:opensearchingest/resourcePolicy:ResourcePolicy": (("policy", "osis"),),
    "aws:pinpoint/smsvoicev2ResourcePolicy:Smsvoicev2ResourcePolicy": (("policy", "sms-voice"),),
    "aws:redshift/resourcePolicy:ResourcePolicy": (("policy", "redshift"),),
    "aws:redshiftserverless/resourcePolicy:ResourcePolicy": (("policy", "redshift-serverless"),),
    "aws:s3/accessPoint:AccessPoint": (("policy", "s3"),),
    "aws:s3/bucket:Bucket": (("policy", "s3"),),
    "aws:s3/bucketPolicy:BucketPolicy": (("policy", "s3"),),
    "aws:s3/bucketV2:BucketV2": (("policy", "s3"),),
    "aws:s3/filesFileSystemPolicy:FilesFileSystemPolicy": (("policy", "s3files"),),
    "aws:s3/vectorsVectorBucketPolicy:VectorsVectorBucketPolicy": (("policy", "s3vectors"),),
    "aws:s3control/accessGrantsInstanceResourcePolicy:AccessGrantsInstanceResourcePolicy": (
        ("policy", "s3"),
    ),
    "aws:s3control/accessPointPolicy:AccessPointPolicy": (("policy", "s3"),),
    "aws:s3control/bucketPolicy:BucketPolicy": (("policy", "s3-outposts"),),
    "aws:s3control/multiRegionAccessPointPolicy:MultiRegionAccessPointPolicy": (("details.policy", "s3"),),
    "aws:s3control/objectLambdaAccessPointPolicy:ObjectLambdaAccessPointPolicy": (
        ("policy", "s3-object-lambda"),
    ),
    "aws:s3tables/tableBucketPolicy:TableBucketPolicy": (("resourcePolicy", "s3tables"),),
    "aws:s3tables/tablePolicy:TablePolicy": (("resourcePolicy", "s3tables"),),
    "aws:sagemaker/modelPackageGroupPolicy:ModelPackageGroupPolicy": (("resourcePolicy", "sagemaker"),),
    "aws:schemas/registryPolicy:RegistryPolicy": (("policy", "schemas"),),
    "aws:secretsmanager/secret:Secret": (("policy", "secretsmanager"),),
    "aws:secretsmanager/secretPolicy:SecretPolicy": (("policy", "secretsmanager"),),
    "aws:ses/identityPolicy:IdentityPolicy": (("policy", "ses"),),
    "aws:sesv2/emailIdentityPolicy:EmailIdentityPolicy": (("policy", "ses"),),
    "aws:sns/topic:Topic": (("policy", "sns"),),
    "aws:sns/topicPolicy:TopicPolicy": (("policy", "sns"),),
    "aws:sqs/queue:Queue": (("policy", "sqs"),),
    "aws:sqs/queuePolicy:QueuePolicy": (("policy", "sqs"),),
    "aws:vpclattice/authPolicy:AuthPolicy": (("policy", "vpc-lattice"),),
    "aws:vpclattice/resourcePolicy:ResourcePolicy": (("policy", "vpc-lattice"),),
    "aws:xray/resourcePolicy:ResourcePolicy": (("policyDocument", "xray"),),
}


# --------------------------------------------------------------------------------------------------
# Grants that name a principal instead of carrying a document (see adapters.permissions).


def _layer_permission(props: Mapping[str, Any], ctx: Context) -> ResourceView:
    layer = arn_for("lambda", "layer:{}", props.get("layerName"), ctx.account, ctx.region)
    return permissions.layer_permission(f"{layer}:{props.get('versionNumber') or 1}", props)


def _kms_grant(props: Mapping[str, Any], ctx: Context) -> ResourceView:
    operations = [f"kms:{o}" if isinstance(o, str) else o for o in items(props.get("operations"))]
    document = synthetic_document(
        props.get("granteePrincipal"),
        operations,
        arn_for("kms", "key/{}", props.get("keyId"), ctx.account, ctx.region),
    )
    return synthetic_view("granteePrincipal", document, "KMS grant", "kms")


# --------------------------------------------------------------------------------------------------
# The table.

READERS: Final[dict[str, Reader]] = {
    "aws:iam/role:Role": principal_reader(
        ROLE, name="name", inline="inlinePolicies", inline_document="policy", trust="assumeRolePolicy"
    ),
    "aws:iam/user:User": principal_reader(
        USER, name="name", inline="inlinePolicies", inline_document="policy"
    ),
    "aws:iam/group:Group": principal_reader(
        GROUP, name="name", inline="inlinePolicies", inline_document="policy"
    ),
    "aws:iam/policy:Policy": _managed_policy,
    "aws:iam/rolePolicy:RolePolicy": inline_policy_reader(ROLE, "role", "policy"),
    "aws:iam/userPolicy:UserPolicy": inline_policy_reader(USER, "user", "policy"),
    "aws:iam/groupPolicy:GroupPolicy": inline_policy_reader(GROUP, "group", "policy"),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": _attachment({"role": ROLE}, "policyArn"),
    "aws:iam/userPolicyAttachment:UserPolicyAttachment": _attachment({"user": USER}, "policyArn"),
    "aws:iam/groupPolicyAttachment:GroupPolicyAttachment": _attachment({"group": GROUP}, "policyArn"),
    "aws:iam/policyAttachment:PolicyAttachment": _attachment(
        {"roles": ROLE, "users": USER, "groups": GROUP}, "policyArn"
    ),
    "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive": _attachment(
        {"roleName": ROLE}, "policyArns"
    ),
    "aws:iam/userPolicyAttachmentsExclusive:UserPolicyAttachmentsExclusive": _attachment(
        {"userName": USER}, "policyArns"
    ),
    "aws:iam/groupPolicyAttachmentsExclusive:GroupPolicyAttachmentsExclusive": _attachment(
        {"groupName": GROUP}, "policyArns"
    ),
    "aws:iam/rolePoliciesExclusive:RolePoliciesExclusive": _exclusive_inline(ROLE, "roleName"),
    "aws:iam/userPoliciesExclusive:UserPoliciesExclusive": _exclusive_inline(USER, "userName"),
    "aws:iam/groupPoliciesExclusive:GroupPoliciesExclusive": _exclusive_inline(GROUP, "groupName"),
    "aws:iam/userGroupMembership:UserGroupMembership": _user_group_membership,
    "aws:iam/groupMembership:GroupMembership": _group_membership,
    "aws:iam/instanceProfile:InstanceProfile": _instance_profile,
    "aws:ssoadmin/permissionSet:PermissionSet": _permission_set,
    "aws:ssoadmin/permissionSetInlinePolicy:PermissionSetInlinePolicy": _permission_set_inline,
    "aws:ssoadmin/managedPolicyAttachment:ManagedPolicyAttachment": _attachment(
        {"permissionSetArn": PERMISSION_SET}, "managedPolicyArn"
    ),
    "aws:ssoadmin/managedPolicyAttachmentsExclusive:ManagedPolicyAttachmentsExclusive": _attachment(
        {"permissionSetArn": PERMISSION_SET}, "managedPolicyArns"
    ),
    "aws:ssoadmin/customerManagedPolicyAttachment:CustomerManagedPolicyAttachment": (
        _permission_set_customer_managed
    ),
    "aws:ssoadmin/permissionsBoundaryAttachment:PermissionsBoundaryAttachment": _permission_set_boundary,
    "aws:lambda/permission:Permission": permissions.lambda_permission("function"),
    "aws:lambda/layerVersionPermission:LayerVersionPermission": _layer_permission,
    "aws:cloudwatch/eventPermission:EventPermission": permissions.event_permission,
    "aws:acmpca/permission:Permission": permissions.acmpca_permission,
    "aws:signer/signingProfilePermission:SigningProfilePermission": permissions.signer_permission,
    "aws:kms/grant:Grant": _kms_grant,
    **{token: resource_policy_reader(entries) for token, entries in RESOURCE_POLICIES.items()},
}

# The SDK's policy-carrying inputs (snake_case paths, as the coverage derivation names them) that the
# structural readers above read; resource-policy types read exactly their RESOURCE_POLICIES paths.
READS: Final[dict[str, frozenset[str]]] = {
    "aws:iam/role:Role": frozenset(
        {
            "assume_role_policy",
            "inline_policies",
            "inline_policies[].policy",
            "managed_policy_arns",
            "permissions_boundary",
        }
    ),
    "aws:iam/user:User": frozenset({"permissions_boundary"}),
    "aws:iam/policy:Policy": frozenset({"policy"}),
    "aws:iam/rolePolicy:RolePolicy": frozenset({"policy"}),
    "aws:iam/userPolicy:UserPolicy": frozenset({"policy"}),
    "aws:iam/groupPolicy:GroupPolicy": frozenset({"policy"}),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": frozenset({"policy_arn"}),
    "aws:iam/userPolicyAttachment:UserPolicyAttachment": frozenset({"policy_arn"}),
    "aws:iam/groupPolicyAttachment:GroupPolicyAttachment": frozenset({"policy_arn"}),
    "aws:iam/policyAttachment:PolicyAttachment": frozenset({"policy_arn"}),
    "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive": frozenset({"policy_arns"}),
    "aws:iam/userPolicyAttachmentsExclusive:UserPolicyAttachmentsExclusive": frozenset({"policy_arns"}),
    "aws:iam/groupPolicyAttachmentsExclusive:GroupPolicyAttachmentsExclusive": frozenset({"policy_arns"}),
    "aws:ssoadmin/permissionSetInlinePolicy:PermissionSetInlinePolicy": frozenset({"inline_policy"}),
    "aws:ssoadmin/managedPolicyAttachment:ManagedPolicyAttachment": frozenset({"managed_policy_arn"}),
    "aws:ssoadmin/managedPolicyAttachmentsExclusive:ManagedPolicyAttachmentsExclusive": frozenset(
        {"managed_policy_arns"}
    ),
    "aws:ssoadmin/permissionsBoundaryAttachment:PermissionsBoundaryAttachment": frozenset(
        {"permissions_boundary", "permissions_boundary.managed_policy_arn"}
    ),
    "aws:lambda/permission:Permission": frozenset({"principal"}),
    "aws:lambda/layerVersionPermission:LayerVersionPermission": frozenset({"principal"}),
    "aws:cloudwatch/eventPermission:EventPermission": frozenset({"principal"}),
    "aws:acmpca/permission:Permission": frozenset({"principal"}),
    "aws:signer/signingProfilePermission:SigningProfilePermission": frozenset({"principal"}),
    "aws:kms/grant:Grant": frozenset({"grantee_principal"}),
}


def read(resource_type: str, props: Mapping[str, Any], ctx: Context) -> ResourceView | None:
    """The view of one `aws` resource, or None when this adapter does not read the type."""
    reader = READERS.get(resource_type)
    return None if reader is None else reader(props, ctx)
