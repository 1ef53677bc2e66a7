"""``DataProcessingRole``: one IAM role for one AI data-processing job, with its policy and attachments.

Every IAM document and every ARN that another resource consumes is computed from config (never from an
Output of a resource created in this program), so all of them are known during ``pulumi preview`` and
the policy pack can judge them before anything is deployed. Ordering is expressed with ``depends_on``
instead of data flow for the same reason.

A role with a job profile (``shared.profiles``) may also get: the task execution role of ECS and Batch
jobs (``<role>-execution``, with its own policy), the role's own log group with its retention (EC2
workers, ECS tasks), and the launcher policy (``<role>-launch``) granting ``iam:PassRole`` on the role
to the job's service only. The launcher policy is attached to every ``passableBy`` principal (a role
or user of the stack's account, attached by name) and exported as ``launchPolicyArn`` so whoever owns a
launcher outside the list can attach it too.
"""

from __future__ import annotations

from typing import Any, Final

import pulumi
import pulumi_aws as aws

from shared.config import Role, StackConfig
from shared.permissions import describe_role
from shared.policies import (
    execution_policy,
    execution_role_arn,
    execution_role_name,
    execution_trust_policy,
    identity_policy,
    launch_policy,
    launch_policy_arn,
    launch_policy_name,
    policy_arn,
    policy_name,
    role_arn,
    stack_log_group,
    to_json,
    trust_policy,
    trusts_ec2,
)

COMPONENT_TYPE: Final = "ai-data-processing:iam:DataProcessingRole"


def _principal(arn: str) -> tuple[str, str]:
    """('role' | 'user', name) of an IAM role or user ARN (the name is the last path segment)."""
    kind = arn.split(":", 5)[5].split("/", 1)[0]
    return kind, arn.rsplit("/", 1)[-1]


class DataProcessingRole(pulumi.ComponentResource):
    """Role (trust policy from ``trustedServices`` or the job profile), one customer-managed policy and
    its attachment, one attachment per ``managedPolicyArns`` entry, an instance profile when EC2 is
    trusted, and what the job profile adds (execution role, log group, launcher policy)."""

    role: aws.iam.Role
    policy: aws.iam.Policy
    policy_attachment: aws.iam.RolePolicyAttachment
    managed_attachments: dict[str, aws.iam.RolePolicyAttachment]
    instance_profile: aws.iam.InstanceProfile | None
    execution_role: aws.iam.Role | None
    log_group: aws.cloudwatch.LogGroup | None
    launch_policy: aws.iam.Policy | None

    def __init__(
        self, role_cfg: Role, stack_cfg: StackConfig, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(COMPONENT_TYPE, role_cfg.name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        name = role_cfg.name
        tags = stack_cfg.tag_map
        self._tags = tags

        self.role_name = name
        self.role_arn = role_arn(role_cfg, stack_cfg)
        self.policy_arn = policy_arn(role_cfg, stack_cfg)
        self.instance_profile_name: str | None = name if trusts_ec2(role_cfg) else None
        self.execution_role_name = execution_role_name(role_cfg)
        self.execution_role_arn = execution_role_arn(role_cfg, stack_cfg)
        self.log_group_name = stack_log_group(role_cfg.job, name)
        launcher = launch_policy(role_cfg, stack_cfg)
        self.launch_policy_arn = launch_policy_arn(role_cfg, stack_cfg) if launcher else None
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
        self.execution_role = self._execution_role(role_cfg, stack_cfg)
        self.log_group = self._log_group(role_cfg)
        self.launch_policy = self._launcher(role_cfg, launcher)

        self.register_outputs(
            {
                "name": name,
                "arn": self.role.arn,
                "policyArn": self.policy_arn,
                "instanceProfileName": self.instance_profile_name,
                "executionRoleArn": self.execution_role_arn,
                "launchPolicyArn": self.launch_policy_arn,
            }
        )

    def _execution_role(self, role_cfg: Role, stack_cfg: StackConfig) -> aws.iam.Role | None:
        """The task execution role of ECS and Batch jobs, with its policy (image pull, logs)."""
        document = execution_policy(role_cfg, stack_cfg)
        name = self.execution_role_name
        if name is None or document is None:
            return None
        tags = stack_cfg.tag_map
        role = aws.iam.Role(
            f"{name}-role",
            name=name,
            description=f"Task execution role of {role_cfg.name} (stack {stack_cfg.stack}): images, logs",
            assume_role_policy=to_json(execution_trust_policy(role_cfg, stack_cfg)),
            permissions_boundary=stack_cfg.permissions_boundary_arn,
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        policy = aws.iam.Policy(
            f"{name}-policy",
            name=f"{name}-access",
            path="/",
            description=f"Image pull and logs for the tasks of {role_cfg.name} (stack {stack_cfg.stack})",
            policy=to_json(document),
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.iam.RolePolicyAttachment(
            f"{name}-policy-attachment",
            role=name,
            policy_arn=f"arn:{stack_cfg.partition}:iam::{stack_cfg.account_id}:policy/{name}-access",
            opts=pulumi.ResourceOptions(parent=self, depends_on=[role, policy]),
        )
        return role

    def _log_group(self, role_cfg: Role) -> aws.cloudwatch.LogGroup | None:
        """The role's own log group, with the configured retention (the role may not create groups)."""
        if self.log_group_name is None or role_cfg.job is None:
            return None
        return aws.cloudwatch.LogGroup(
            f"{role_cfg.name}-log-group",
            name=self.log_group_name,
            retention_in_days=role_cfg.job.log_retention_days,
            tags=self._tags,
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _launcher(self, role_cfg: Role, document: dict[str, Any] | None) -> aws.iam.Policy | None:
        """The launcher policy and its attachment to each ``passableBy`` principal."""
        if document is None or role_cfg.job is None:
            return None
        policy = aws.iam.Policy(
            f"{role_cfg.name}-launch-policy",
            name=launch_policy_name(role_cfg),
            path="/",
            description=f"Pass role {role_cfg.name} to {role_cfg.job.service} only (launchers of the job)",
            policy=to_json(document),
            tags=self._tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        for arn in role_cfg.job.passable_by:
            kind, principal = _principal(arn)
            after = pulumi.ResourceOptions(parent=self, depends_on=[policy])
            if kind == "role":
                aws.iam.RolePolicyAttachment(
                    f"{role_cfg.name}-launch-{principal}", role=principal, policy_arn=self.launch_policy_arn,
                    opts=after,
                )
            else:
                aws.iam.UserPolicyAttachment(
                    f"{role_cfg.name}-launch-user-{principal}", user=principal,
                    policy_arn=self.launch_policy_arn, opts=after,
                )
        return policy

    def summary(self) -> dict[str, Any]:
        """The stack-output entry for this role: plain data, known at preview."""
        return {
            "name": self.role_name,
            "arn": self.role_arn,
            "policyArn": self.policy_arn,
            "instanceProfileName": self.instance_profile_name,
            "executionRoleArn": self.execution_role_arn,
            "launchPolicyArn": self.launch_policy_arn,
            "logGroup": self.log_group_name,
            "permissions": self.permissions,
        }
