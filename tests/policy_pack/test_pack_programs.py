"""Small programs, run under the mock runtime and judged by the real pack over gRPC, in every environment.

Each program runs through ``pipeline.preview.check.check_stacks`` (``run_program`` in preview and update
mode, the pack started as the CLI starts it, Configure from ``policy-pack/config/<env>.json``, Analyze and
AnalyzeStack), for dev, staging and prod. The programs are written the way teams write them (outputs
passed between resources, aws-native next to aws), not shaped to the checks.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Mapping
from pathlib import Path

from pipeline import ROOT
from pipeline.preview.check import check_stacks
from pipeline.preview.verdict import StackReport, Violation

STACKS = ("dev", "staging", "prod")
PACK_CONFIG = ROOT / "policy-pack" / "config"

HEADER = """
import json

import pulumi
import pulumi_aws as aws
import pulumi_aws_native as aws_native

ACCOUNT = pulumi.Config().require("accountId")
OTHER_ACCOUNT = "999988887777"


def doc(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action, resource, **extra):
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


EC2_TRUST = doc(
    {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
)
"""


def run(
    tmp_path: Path, body: str, known_external: Mapping[str, list[str]] | None = None
) -> dict[str, StackReport]:
    """Check the program in every environment; ``known_external`` is added to each env's pack config."""
    program = tmp_path / "program"
    program.mkdir(exist_ok=True)
    (program / "__main__.py").write_text(HEADER + textwrap.dedent(body), encoding="utf-8")
    configs: dict[str, Path] | None = None
    if known_external is not None:
        configs = {}
        for stack in STACKS:
            data = json.loads((PACK_CONFIG / f"{stack}.json").read_text(encoding="utf-8"))
            entry = data.get("iam-preview-verifiable")
            entry = dict(entry) if isinstance(entry, dict) else {"enforcementLevel": entry}
            entry["knownExternal"] = dict(known_external)
            data["iam-preview-verifiable"] = entry
            configs[stack] = tmp_path / f"{stack}.json"
            configs[stack].write_text(json.dumps(data), encoding="utf-8")
    reports = check_stacks(list(STACKS), program_dir=program, pack_config_files=configs)
    return {r.stack: r for r in reports}


def failures(report: StackReport, policy: str | None = None) -> list[Violation]:
    return [v for v in report.violations if v.counts_as_failure and (policy is None or v.policy == policy)]


def named(violations: list[Violation], resource_name: str) -> list[Violation]:
    return [v for v in violations if v.resource_name == resource_name]


def describe(reports: Mapping[str, StackReport]) -> str:
    return "\n".join(
        f"{s}: {v.policy} {v.enforcement_level} {v.resource_name}: {v.message[:160]}"
        for s, r in reports.items()
        for v in r.violations
    )


# ---------------------------------------------------------------------------------------------------
# Least privilege written the idiomatic way passes everywhere.

LEAST_PRIVILEGE = """
role = aws.iam.Role("worker", name="worker", assume_role_policy=EC2_TRUST)
policy = aws.iam.Policy("worker-read", name="worker-read",
                        policy=doc(allow("s3:GetObject", "arn:aws:s3:::acme-raw/incoming/*")))
aws.iam.RolePolicyAttachment("worker-read", role=role.name, policy_arn=policy.arn)
aws.iam.InstanceProfile("worker", role=role.name)
queue = aws.sqs.Queue("jobs", name="jobs")
# Documents are built from ARNs known at preview (config-derived), so every rule can read them.
queue_arn = f"arn:aws:sqs:eu-west-1:{ACCOUNT}:jobs"
topic = aws.sns.Topic("events", name="events")
aws.sqs.QueuePolicy("jobs", queue_url=queue.url, policy=doc(allow(
    "sqs:SendMessage", queue_arn, Principal={"Service": "sns.amazonaws.com"},
    Condition={"ArnEquals": {"aws:SourceArn": f"arn:aws:sns:eu-west-1:{ACCOUNT}:events"}})))
fn_role = aws.iam.Role("fn", name="fn", assume_role_policy=doc(
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}))
aws.lambda_.Permission("from-bucket", function="ingest", principal="s3.amazonaws.com",
                       action="lambda:InvokeFunction", source_arn="arn:aws:s3:::acme-raw",
                       source_account=ACCOUNT)
"""


def test_idiomatic_least_privilege_passes_everywhere(tmp_path: Path) -> None:
    reports = run(tmp_path, LEAST_PRIVILEGE)
    for stack, report in reports.items():
        assert report.passed, f"{stack}:\n{describe(reports)}"
        # The attachment's ARN is unknown at preview but linked to the stack's Policy: not even advisory.
        assert not [v for v in report.violations if v.policy == "iam-preview-verifiable"], describe(reports)


def test_an_attached_policy_is_judged_through_the_link(tmp_path: Path) -> None:
    """The linked policy's content reaches the role: the stack policies judge it, not just pass it."""
    reports = run(
        tmp_path,
        """
        role = aws.iam.Role("worker", name="worker", assume_role_policy=EC2_TRUST)
        create = aws.iam.Policy("create", name="create", policy=doc(allow(
            "cloudformation:CreateChangeSet", f"arn:aws:cloudformation:eu-west-1:{ACCOUNT}:stack/app-*/*")))
        execute = aws.iam.Policy("execute", name="execute", policy=doc(allow(
            "cloudformation:ExecuteChangeSet", f"arn:aws:cloudformation:eu-west-1:{ACCOUNT}:stack/app-*/*")))
        aws.iam.RolePolicyAttachment("create", role=role.name, policy_arn=create.arn)
        aws.iam.RolePolicyAttachment("execute", role=role.name, policy_arn=execute.arn)
    """,
    )
    for stack, report in reports.items():
        found = failures(report, "iam-no-escalation-across-policies")
        assert found and found[0].resource_name == "worker", f"{stack}:\n{describe(reports)}"
        assert "create" in found[0].message and "execute" in found[0].message
        # Each policy alone is clean: no resource policy reports either document.
        assert not failures(report, "iam-no-privilege-escalation"), describe(reports)


# ---------------------------------------------------------------------------------------------------
# Escalation spread over several policies, for roles, users and groups.


def test_escalation_across_inline_and_group_policies_of_a_user(tmp_path: Path) -> None:
    reports = run(
        tmp_path,
        """
        group = aws.iam.Group("deployers", name="deployers")
        user = aws.iam.User("ci", name="ci")
        aws.iam.GroupPolicy("create", group=group.name, policy=doc(allow(
            "cloudformation:CreateChangeSet", f"arn:aws:cloudformation:eu-west-1:{ACCOUNT}:stack/app-*/*")))
        aws.iam.UserPolicy("execute", user=user.name, policy=doc(allow(
            "cloudformation:ExecuteChangeSet", f"arn:aws:cloudformation:eu-west-1:{ACCOUNT}:stack/app-*/*")))
        aws.iam.UserGroupMembership("ci-deployers", user=user.name, groups=[group.name])
    """,
    )
    for stack, report in reports.items():
        found = failures(report, "iam-no-escalation-across-policies")
        assert [v.resource_name for v in found] == ["ci"], f"{stack}:\n{describe(reports)}"
        assert "group deployers" in found[0].message


def test_escalation_across_aws_native_policies_of_a_group(tmp_path: Path) -> None:
    reports = run(
        tmp_path,
        """
        stack_arn = f"arn:aws:cloudformation:eu-west-1:{ACCOUNT}:stack/app-*/*"
        group = aws_native.iam.Group("ops", group_name="ops", policies=[{
            "policy_name": "create",
            "policy_document": {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "cloudformation:CreateChangeSet", "Resource": stack_arn}]}}])
        aws_native.iam.ManagedPolicy("execute", managed_policy_name="execute", groups=[group.group_name],
            policy_document={"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "cloudformation:ExecuteChangeSet", "Resource": stack_arn}]})
    """,
    )
    for stack, report in reports.items():
        found = failures(report, "iam-no-escalation-across-policies")
        assert [v.resource_name for v in found] == ["ops"], f"{stack}:\n{describe(reports)}"


# ---------------------------------------------------------------------------------------------------
# References the pack cannot see.

OUTSIDE = """
aws.iam.InstanceProfile("legacy", role="legacy-batch-role")
aws.iam.RolePolicyAttachment("shared", role="platform-shared-role",
                             policy_arn=f"arn:aws:iam::{ACCOUNT}:policy/platform-shared")
user = aws.iam.User("analyst", name="analyst")
aws.iam.UserGroupMembership("analyst-admins", user=user.name, groups=["org-admins"])
aws.iam.RolePolicyAttachmentsExclusive("pinned", role_name="platform-pinned-role",
                                       policy_arns=["arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"])
"""
MISSING = {
    "legacy": "legacy-batch-role",
    "shared": "platform-shared",
    "analyst-admins": "org-admins",
    "pinned": "platform-pinned-role",
}


def test_references_outside_the_stack_are_unverifiable_in_staging_and_prod(tmp_path: Path) -> None:
    reports = run(tmp_path, OUTSIDE)
    for stack in ("staging", "prod"):
        found = failures(reports[stack], "iam-preview-verifiable")
        for resource, missing in MISSING.items():
            assert any(missing in v.message for v in named(found, resource)), (
                f"{stack} {resource}:\n{describe(reports)}"
            )
    dev = [v for v in reports["dev"].violations if v.policy == "iam-preview-verifiable"]
    assert dev and not any(v.counts_as_failure for v in dev), describe(reports)
    assert {v.resource_name for v in dev} >= set(MISSING)


def test_known_external_principals_and_policies_are_accepted(tmp_path: Path) -> None:
    reports = run(
        tmp_path,
        OUTSIDE,
        known_external={
            "roles": ["legacy-batch-role", "platform-shared-role", "platform-pinned-role"],
            "groups": ["org-admins"],
            "policies": ["platform-shared"],
        },
    )
    for stack, report in reports.items():
        assert not [v for v in report.violations if v.policy == "iam-preview-verifiable"], describe(reports)
        assert not failures(report, "iam-preview-verifiable"), stack


def test_an_unknown_arn_that_no_dependency_explains_is_unverifiable(tmp_path: Path) -> None:
    reports = run(
        tmp_path,
        """
        role = aws.iam.Role("worker", name="worker", assume_role_policy=EC2_TRUST)
        bucket = aws.s3.Bucket("raw", bucket="acme-raw-unlinked")
        aws.iam.RolePolicyAttachment("computed", role=role.name,
            policy_arn=bucket.arn.apply(lambda _: f"arn:aws:iam::{ACCOUNT}:policy/somewhere"))
    """,
    )
    for stack in ("staging", "prod"):
        assert named(failures(reports[stack], "iam-preview-verifiable"), "computed"), describe(reports)
    assert reports["dev"].passed, describe(reports)


# ---------------------------------------------------------------------------------------------------
# Resource types beyond IAM, and the aws-native provider.


def test_public_resource_policies_of_other_services_are_blocked_everywhere(tmp_path: Path) -> None:
    reports = run(
        tmp_path,
        """
        anyone = {"Effect": "Allow", "Principal": "*"}
        aws.kms.Key("key", policy=doc({**anyone, "Action": "kms:Decrypt", "Resource": "*"}))
        queue = aws.sqs.Queue("q", name="q")
        aws.sqs.QueuePolicy("q", queue_url=queue.url,
            policy=doc({**anyone, "Action": "sqs:SendMessage",
                        "Resource": f"arn:aws:sqs:eu-west-1:{ACCOUNT}:q"}))
        aws.lambda_.Permission("anyone", function="ingest", principal="*", action="lambda:InvokeFunction")
        secret_arn = f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:db"
        aws.secretsmanager.SecretPolicy("secret", secret_arn=secret_arn,
            policy=doc({**anyone, "Action": "secretsmanager:GetSecretValue", "Resource": "*"}))
        aws.ecr.RepositoryPolicy("images", repository="images",
            policy=doc({**anyone, "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]}))
        aws.cloudwatch.LogResourcePolicy("logs", policy_name="logs",
            policy_document=doc({**anyone, "Action": "logs:PutLogEvents",
                                 "Resource": f"arn:aws:logs:eu-west-1:{ACCOUNT}:log-group:*"}))
        access_point = f"arn:aws:s3:eu-west-1:{ACCOUNT}:accesspoint/ap"
        aws.s3control.AccessPointPolicy("ap", access_point_arn=access_point,
            policy=doc({**anyone, "Action": "s3:GetObject",
                        "Resource": f"arn:aws:s3:eu-west-1:{ACCOUNT}:accesspoint/ap/object/*"}))
        aws_native.s3.BucketPolicy("native-bucket", bucket="acme-native", policy_document={
            "Version": "2012-10-17",
            "Statement": [{**anyone, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::acme-native/*"}]})
        aws_native.kms.Key("native-key", key_policy={
            "Version": "2012-10-17", "Statement": [{**anyone, "Action": "kms:*", "Resource": "*"}]})
    """,
    )
    expected = {"key", "q", "anyone", "secret", "images", "logs", "ap", "native-bucket", "native-key"}
    for stack, report in reports.items():
        blocked = {v.resource_name for v in failures(report)}
        assert expected <= blocked, f"{stack}: missing {expected - blocked}\n{describe(reports)}"


def test_aws_native_identity_resources_do_not_bypass_the_pack(tmp_path: Path) -> None:
    reports = run(
        tmp_path,
        """
        role = aws_native.iam.Role("native-role", role_name="native-role",
            assume_role_policy_document=json.loads(EC2_TRUST),
            managed_policy_arns=["arn:aws:iam::aws:policy/AdministratorAccess"])
        aws_native.iam.RolePolicy("native-inline", role_name=role.role_name, policy_name="all",
            policy_document={"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})
        aws_native.sso.PermissionSet("analysts", name="analysts",
            instance_arn="arn:aws:sso:::instance/ssoins-1111111111111111",
            inline_policy={"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "iam:*", "Resource": "*"}]})
    """,
    )
    for stack, report in reports.items():
        by_resource = {v.resource_name for v in failures(report)}
        assert {"native-role", "native-inline", "analysts"} <= by_resource, f"{stack}:\n{describe(reports)}"
        assert named(failures(report, "iam-managed-policy-attachments"), "native-role"), describe(reports)


def test_identity_center_and_exclusive_attachments(tmp_path: Path) -> None:
    reports = run(
        tmp_path,
        """
        instance = "arn:aws:sso:::instance/ssoins-1111111111111111"
        ps = aws.ssoadmin.PermissionSet("data-science", name="data-science", instance_arn=instance)
        aws.ssoadmin.PermissionSetInlinePolicy("data-science", instance_arn=instance,
            permission_set_arn=ps.arn, inline_policy=doc(allow("s3:*", "*")))
        aws.ssoadmin.CustomerManagedPolicyAttachment("team", instance_arn=instance, permission_set_arn=ps.arn,
            customer_managed_policy_reference={"name": "team-boundary-free", "path": "/"})
        role = aws.iam.Role("worker", name="worker", assume_role_policy=EC2_TRUST)
        aws.iam.RolePolicyAttachmentsExclusive("worker", role_name=role.name,
            policy_arns=["arn:aws:iam::aws:policy/AdministratorAccess"])
    """,
    )
    for stack, report in reports.items():
        blocked = failures(report)
        assert named(blocked, "data-science"), f"{stack}:\n{describe(reports)}"
        assert named([v for v in blocked if v.policy == "iam-managed-policy-attachments"], "worker"), stack
    for stack in ("staging", "prod"):
        missing = named(failures(reports[stack], "iam-preview-verifiable"), "team")
        assert missing and "team-boundary-free" in missing[0].message, describe(reports)


def test_lambda_permission_for_anyone_is_blocked_and_a_narrowed_one_passes(tmp_path: Path) -> None:
    reports = run(
        tmp_path,
        """
        aws.lambda_.Permission("anyone", function="ingest", principal="*", action="lambda:InvokeFunction")
        aws.lambda_.Permission("from-rule", function="ingest", principal="events.amazonaws.com",
                               action="lambda:InvokeFunction",
                               source_arn=f"arn:aws:events:eu-west-1:{ACCOUNT}:rule/nightly")
    """,
    )
    for stack, report in reports.items():
        assert named(failures(report), "anyone"), f"{stack}:\n{describe(reports)}"
        assert not named(report.violations, "from-rule"), f"{stack}:\n{describe(reports)}"


def test_inline_policies_of_a_role_over_their_aggregate_quota(tmp_path: Path) -> None:
    """Three inline policies, each well under 10,240 characters, that add up to more."""
    reports = run(tmp_path, """
        role = aws.iam.Role("worker", name="worker", assume_role_policy=EC2_TRUST, inline_policies=[
            {"name": "part-0", "policy": doc(*[allow("s3:GetObject", f"arn:aws:s3:::acme-raw/p0/{i:04}/*")
                                              for i in range(80)])}])
        for part in range(1, 3):
            aws.iam.RolePolicy(f"part-{part}", role=role.name, policy=doc(
                *[allow("s3:GetObject", f"arn:aws:s3:::acme-raw/p{part}/{i:04}/*") for i in range(80)]))
    """)
    for stack, report in reports.items():
        found = failures(report, "iam-inline-policies-within-quota")
        assert [v.resource_name for v in found] == ["worker"], f"{stack}:\n{describe(reports)}"
        assert "10,240" in found[0].message and "part-1" in found[0].message
        assert not failures(report, "iam-deployable-documents"), "each document alone is within the quota"
