"""``DataProcessingRole``: one IAM role for one AI data-processing job, with its policy and attachments.

Every IAM document and every ARN that another resource consumes is computed from config (never from an
Output of a resource created in this program), so all of them are known during ``pulumi preview`` and
the policy pack can judge them before anything is deployed. Ordering is expressed with ``depends_on``
instead of data flow for the same reason.
"""

from __future__ import annotations

from typing import Any, Final

import pulumi
import pulumi_aws as aws

from shared.config import Role, StackConfig
from shared.permissions import describe_role
from shared.policies import (
    identity_policy,
    policy_arn,
    policy_name,
    role_arn,
    to_json,
    trust_policy,
    trusts_ec2,
)

COMPONENT_TYPE: Final = "ai-data-processing:iam:DataProcessingRole"


class DataProcessingRole(pulumi.ComponentResource):
    """Role (trust policy from ``trustedServices``), one customer-managed policy and its attachment, one
    attachment per ``managedPolicyArns`` entry, and an instance profile when EC2 is trusted."""

    role: aws.iam.Role
    policy: aws.iam.Policy
    policy_attachment: aws.iam.RolePolicyAttachment
    managed_attachments: dict[str, aws.iam.RolePolicyAttachment]
    instance_profile: aws.iam.InstanceProfile | None

    def __init__(
        self, role_cfg: Role, stack_cfg: StackConfig, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(COMPONENT_TYPE, role_cfg.name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        name = role_cfg.name
        tags = stack_cfg.tag_map

        self.role_name = name
        self.role_arn = role_arn(role_cfg, stack_cfg)
        self.policy_arn = policy_arn(role_cfg, stack_cfg)
        self.instance_profile_name: str | None = name if trusts_ec2(role_cfg) else None
        self.permissions = describe_role(role_cfg, stack_cfg)

        self.role = aws.iam.Role(
            f"{name}-role",
            name=name,
            description=f"AI data processing job role {name} (stack {stack_cfg.stack}), managed by Pulumi",
            assume_role_policy=to_json(trust_policy(role_cfg, stack_cfg)),
            max_session_duration=role_cfg.max_session_duration,
            permissions_boundary=stack_cfg.permissions_boundary_arn,
            tags=tags,
            opts=child,
        )
        self.policy = aws.iam.Policy(
            f"{name}-policy",
            name=policy_name(role_cfg),
            path="/",
            description=f"Least-privilege data and AI access for role {name} (stack {stack_cfg.stack})",
            policy=to_json(identity_policy(role_cfg, stack_cfg)),
            tags=tags,
            opts=child,
        )
        self.policy_attachment = aws.iam.RolePolicyAttachment(
            f"{name}-policy-attachment",
            role=name,
            policy_arn=self.policy_arn,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.role, self.policy]),
        )
        self.managed_attachments = {}
        for arn in role_cfg.managed_policy_arns:
            short = arn.rsplit("/", 1)[-1]
            self.managed_attachments[arn] = aws.iam.RolePolicyAttachment(
                f"{name}-managed-{short}",
                role=name,
                policy_arn=arn,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.role]),
            )
        self.instance_profile = None
        if self.instance_profile_name is not None:
            self.instance_profile = aws.iam.InstanceProfile(
                f"{name}-instance-profile",
                name=self.instance_profile_name,
                role=name,
                tags=tags,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.role]),
            )

        self.register_outputs(
            {
                "name": name,
                "arn": self.role.arn,
                "policyArn": self.policy_arn,
                "instanceProfileName": self.instance_profile_name,
            }
        )

    def summary(self) -> dict[str, Any]:
        """The stack-output entry for this role: plain data, known at preview."""
        return {
            "name": self.role_name,
            "arn": self.role_arn,
            "policyArn": self.policy_arn,
            "instanceProfileName": self.instance_profile_name,
            "permissions": self.permissions,
        }
