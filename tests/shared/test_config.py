"""Bad configurations: each is one edit of the real dev stack file, run through the real program.

Each must fail with exactly its own problem (naming the stack file and the key path), before a single
resource is registered, in update and in preview mode.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from pipeline import ROOT
from pipeline.errors import ConfigurationError
from pipeline.program import run_program
from pipeline.recording import ProgramRun
from pipeline.stackconfig import load_stack_config
from shared.config import AI_SERVICES, ConfigError, bucket_name_problem, parse_stack_config

P = "ai-data-processing"
ROLES = f"{P}:roles"
BUCKETS = f"{P}:buckets"

Mutation = Callable[[dict[str, Any]], None]


def role(v: dict[str, Any], i: int) -> dict[str, Any]:
    return v[ROLES][i]


def set_bucket_name(name: str) -> Mutation:
    def mutate(v: dict[str, Any]) -> None:
        v[BUCKETS]["raw"]["name"] = name

    return mutate


def set_training(key: str, value: Any) -> Mutation:
    def mutate(v: dict[str, Any]) -> None:
        role(v, 1)[key] = value

    return mutate


def del_key(key: str) -> Mutation:
    def mutate(v: dict[str, Any]) -> None:
        del v[key]

    return mutate


def kms_arn(
    account: str = "{acct}", region: str = "{region}", tail: str = "key/1234abcd-12ab-34cd-56ef-1234567890ab"
):
    def mutate(v: dict[str, Any]) -> None:
        arn = f"arn:aws:kms:{region}:{account}:{tail}".format(
            acct=v[f"{P}:accountId"], region=v["aws:region"]
        )
        v[BUCKETS]["features"]["kmsKeyArn"] = arn

    return mutate


def dup_role_name(v: dict[str, Any]) -> None:
    role(v, 2)["name"] = role(v, 0)["name"].upper()


def undefined_bucket(v: dict[str, Any]) -> None:
    role(v, 1)["access"][0]["bucket"] = "raw-archive"


def duplicate_access(v: dict[str, Any]) -> None:
    role(v, 1)["access"].append({"bucket": role(v, 1)["access"][0]["bucket"], "level": "read"})


def access_field(key: str, value: Any) -> Mutation:
    def mutate(v: dict[str, Any]) -> None:
        role(v, 1)["access"][0][key] = value

    return mutate


def other_account_managed(v: dict[str, Any]) -> None:
    role(v, 0)["managedPolicyArns"] = ["arn:aws:iam::999999999999:policy/someone-elses"]


def grants_nothing(v: dict[str, Any]) -> None:
    """A role without a job profile, data access or AI actions (a job alone grants what the job needs)."""
    role(v, 0)["access"] = []
    role(v, 0)["aiActions"] = []
    for key in ("job", "images", "models", "logRetention", "ssm", "passableBy"):
        role(v, 0).pop(key, None)
    role(v, 0)["trustedServices"] = ["ec2.amazonaws.com"]


def rejected(
    harness: Any, stack: str, preview: bool, values: dict[str, Any]
) -> tuple[ConfigError, ProgramRun]:
    """Run the program on bad config: the program's ConfigError and what was recorded before it."""
    with pytest.raises(ConfigurationError) as raised:
        run_program(stack, preview=preview, config=harness.encode(values))
    error, run = raised.value.__cause__, raised.value.run
    assert isinstance(error, ConfigError), repr(raised.value)
    assert run is not None
    return error, run


# (id, mutation, exact key path of the one problem, fragment of its message)
CASES: list[tuple[str, Mutation, str, str]] = [
    (
        "unknown-top-level-key",
        lambda v: v.update({f"{P}:role": []}),
        f"{P}:role",
        "did you mean 'ai-data-processing:roles'",
    ),
    ("missing-account", del_key(f"{P}:accountId"), f"{P}:accountId", "missing required key"),
    ("missing-buckets", del_key(BUCKETS), BUCKETS, "missing required key"),
    ("missing-region", del_key("aws:region"), "aws:region", "missing required key"),
    (
        "account-not-12-digits",
        lambda v: v.update({f"{P}:accountId": "31415926535"}),
        f"{P}:accountId",
        "12-digit",
    ),
    (
        "account-read-as-octal",  # `accountId: 012345670123` unquoted reaches the program as this number
        lambda v: v.update({f"{P}:accountId": str(0o12345670123)}),
        f"{P}:accountId",
        "written without quotes is read by YAML as a number, losing its leading zeros (octal when every",
    ),
    ("bucket-uppercase", set_bucket_name("Acme-ML-Raw"), f"{BUCKETS}.raw.name", "lowercase letters"),
    ("bucket-too-short", set_bucket_name("ab"), f"{BUCKETS}.raw.name", "3 to 63 characters"),
    ("bucket-too-long", set_bucket_name("a" * 64), f"{BUCKETS}.raw.name", "3 to 63 characters"),
    ("bucket-adjacent-dots", set_bucket_name("acme..raw"), f"{BUCKETS}.raw.name", "two adjacent periods"),
    ("bucket-ip-address", set_bucket_name("192.168.10.20"), f"{BUCKETS}.raw.name", "IP address"),
    ("bucket-xn-prefix", set_bucket_name("xn--acme-raw"), f"{BUCKETS}.raw.name", "reserved prefix 'xn--'"),
    ("bucket-s3alias-suffix", set_bucket_name("acme-raw-s3alias"), f"{BUCKETS}.raw.name", "reserved suffix"),
    ("bucket-wildcard", set_bucket_name("acme-ml-*"), f"{BUCKETS}.raw.name", "wildcard"),
    (
        "bucket-unknown-key",
        lambda v: v[BUCKETS]["raw"].update({"kmsKey": "x"}),
        f"{BUCKETS}.raw.kmsKey",
        "did you mean 'kmsKeyArn'",
    ),
    (
        "bucket-shared-by-datasets",
        lambda v: v[BUCKETS]["models"].update({"name": v[BUCKETS]["raw"]["name"]}),
        BUCKETS,
        "more than one dataset",
    ),
    (
        "bucket-logical-name",
        lambda v: v[BUCKETS].update({"Raw_Archive": {"name": "acme-archive-dev"}}),
        f"{BUCKETS}.Raw_Archive",
        "logical name",
    ),
    ("kms-malformed", kms_arn(tail="key/not-a-key-id"), f"{BUCKETS}.features.kmsKeyArn", "not a KMS key ARN"),
    (
        "kms-other-account",
        kms_arn(account="999999999999"),
        f"{BUCKETS}.features.kmsKeyArn",
        "not this stack's account",
    ),
    ("kms-other-region", kms_arn(region="us-east-1"), f"{BUCKETS}.features.kmsKeyArn", "region us-east-1"),
    ("kms-alias", kms_arn(tail="alias/ml-data"), f"{BUCKETS}.features.kmsKeyArn", "alias ARN"),
    ("kms-wildcard", kms_arn(tail="key/*"), f"{BUCKETS}.features.kmsKeyArn", "wildcard"),
    (
        "role-undefined-bucket",
        undefined_bucket,
        f"{ROLES}[1].access[0].bucket",
        "undefined bucket 'raw-archive'",
    ),
    ("role-duplicate-name", dup_role_name, ROLES, "defined more than once"),
    (
        "role-name-invalid",
        lambda v: role(v, 0).update({"name": "ingest worker!"}),
        f"{ROLES}[0].name",
        "role name",
    ),
    ("role-name-too-long", lambda v: role(v, 0).update({"name": "r" * 65}), f"{ROLES}[0].name", "1-64"),
    (
        "role-unknown-key",
        set_training("trustedService", ["ec2.amazonaws.com"]),
        f"{ROLES}[1].trustedService",
        "did you mean 'trustedServices'",
    ),
    (
        "role-missing-ai-actions",
        lambda v: role(v, 0).pop("aiActions"),
        f"{ROLES}[0].aiActions",
        "missing required key",
    ),
    ("role-grants-nothing", grants_nothing, f"{ROLES}[0]", "grants nothing"),
    (
        "access-bad-level",
        access_field("level", "admin"),
        f"{ROLES}[1].access[0].level",
        "not an access level",
    ),
    ("access-duplicate-bucket", duplicate_access, f"{ROLES}[1].access", "more than one entry"),
    (
        "access-unknown-key",
        access_field("prefix", ["a/"]),
        f"{ROLES}[1].access[0].prefix",
        "did you mean 'prefixes'",
    ),
    (
        "prefix-wildcard",
        access_field("prefixes", ["incoming/*"]),
        f"{ROLES}[1].access[0].prefixes[0]",
        "wildcard",
    ),
    (
        "prefix-leading-slash",
        access_field("prefixes", ["/incoming/"]),
        f"{ROLES}[1].access[0].prefixes[0]",
        "must not start with '/'",
    ),
    (
        "prefix-policy-variable",
        access_field("prefixes", ["home/${aws:username}/"]),
        f"{ROLES}[1].access[0].prefixes[0]",
        "policy variable",
    ),
    (
        "ai-unknown-action",
        set_training("aiActions", ["comprehend:DetectEverything"]),
        f"{ROLES}[1].aiActions[0]",
        "unknown action",
    ),
    (
        "ai-wildcard-action",
        set_training("aiActions", ["comprehend:*"]),
        f"{ROLES}[1].aiActions[0]",
        "wildcard action",
    ),
    ("ai-star-action", set_training("aiActions", ["*"]), f"{ROLES}[1].aiActions[0]", "wildcard action"),
    (
        "ai-not-ai-service",
        set_training("aiActions", ["iam:PassRole"]),
        f"{ROLES}[1].aiActions[0]",
        "not an AI service action",
    ),
    (
        "service-not-principal",
        set_training("trustedServices", ["sagemaker"]),
        f"{ROLES}[1].trustedServices[0]",
        "not a service principal",
    ),
    (
        "service-wildcard",
        set_training("trustedServices", ["*.amazonaws.com"]),
        f"{ROLES}[1].trustedServices[0]",
        "wildcard",
    ),
    ("service-none", set_training("trustedServices", []), f"{ROLES}[1].trustedServices", "at least one"),
    (
        "session-too-short",
        set_training("maxSessionDuration", 900),
        f"{ROLES}[1].maxSessionDuration",
        "3600..43200",
    ),
    (
        "session-too-long",
        set_training("maxSessionDuration", 86400),
        f"{ROLES}[1].maxSessionDuration",
        "3600..43200",
    ),
    (
        "session-not-integer",
        set_training("maxSessionDuration", "3600"),
        f"{ROLES}[1].maxSessionDuration",
        "integer",
    ),
    (
        "managed-malformed",
        set_training("managedPolicyArns", ["ReadOnlyAccess"]),
        f"{ROLES}[1].managedPolicyArns[0]",
        "not an IAM policy ARN",
    ),
    (
        "managed-wildcard",
        set_training("managedPolicyArns", ["arn:aws:iam::aws:policy/*"]),
        f"{ROLES}[1].managedPolicyArns[0]",
        "wildcard",
    ),
    (
        "managed-other-account",
        other_account_managed,
        f"{ROLES}[0].managedPolicyArns[0]",
        "belongs to account 999999999999",
    ),
    (
        "boundary-malformed",
        lambda v: v.update({f"{P}:permissionsBoundaryArn": "arn:aws:iam::role/boundary"}),
        f"{P}:permissionsBoundaryArn",
        "not an IAM policy ARN",
    ),
    (
        "tags-reserved-prefix",
        lambda v: v.update({f"{P}:tags": {"aws:team": "x"}}),
        f"{P}:tags.aws:team",
        "reserved",
    ),
    ("roles-not-a-list", lambda v: v.update({ROLES: {"name": "x"}}), ROLES, "must be a list"),
    ("roles-empty", lambda v: v.update({ROLES: []}), ROLES, "at least one role"),
]


@pytest.mark.parametrize("preview", [False, True], ids=["up", "preview"])
@pytest.mark.parametrize(("mutate", "path", "fragment"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_config_is_rejected_before_any_resource(
    harness: Any, dev_values: dict[str, Any], mutate: Mutation, path: str, fragment: str, preview: bool
) -> None:
    mutate(dev_values)
    error, run = rejected(harness, "dev", preview, dev_values)
    assert harness.registered(run) == [], "no resource may be registered when the config is invalid"
    assert run.invokes == [], "validation must run before the account guard"
    message = str(error)
    assert "Pulumi.dev.yaml" in message
    assert [p.path for p in error.problems] == [path], message
    assert fragment in error.problems[0].message, message
    assert f"{path}: " in message


def test_there_are_at_least_fifteen_distinct_bad_configs() -> None:
    assert len({c[0] for c in CASES}) == len(CASES) >= 15


def test_all_problems_are_reported_together(harness: Any, dev_values: dict[str, Any]) -> None:
    set_bucket_name("Bad_Bucket")(dev_values)
    undefined_bucket(dev_values)
    set_training("maxSessionDuration", 5)(dev_values)
    dev_values[f"{P}:accountId"] = "1234"
    error, _run = rejected(harness, "dev", True, dev_values)
    paths = [p.path for p in error.problems]
    assert f"{BUCKETS}.raw.name" in paths
    assert f"{ROLES}[1].maxSessionDuration" in paths
    assert f"{P}:accountId" in paths
    # A broken bucket definition suppresses "undefined bucket" noise instead of cascading.
    assert f"{ROLES}[1].access[0].bucket" not in paths
    assert str(error).count("\n  - ") == len(paths) == 3


def test_stack_file_name_follows_the_stack(harness: Any, dev_values: dict[str, Any]) -> None:
    dev_values[f"{P}:accountId"] = "nope"
    error, _run = rejected(harness, "prod", True, dev_values)
    assert error.source == "Pulumi.prod.yaml"
    assert "Pulumi.prod.yaml" in str(error)


def test_values_may_be_json_strings_or_objects(harness: Any) -> None:
    """The runtime hands structured values as JSON strings; tools may pass decoded objects."""
    values = harness.stack_values("staging")
    from_strings = parse_stack_config(load_stack_config(ROOT, "staging"), stack="staging")
    from_objects = parse_stack_config(values, stack="staging")
    assert from_strings == from_objects
    assert from_strings.account_id == values[f"{P}:accountId"]
    assert {b.logical: b.name for b in from_strings.buckets} == {
        k: b["name"] for k, b in values[BUCKETS].items()
    }


def test_other_namespaces_are_not_ours(harness: Any) -> None:
    """Provider keys (aws:profile, aws:skipCredentialsValidation, ...) are the provider's business."""
    values = harness.stack_values("dev")
    values["aws:profile"] = "ml-dev"
    values["aws:skipMetadataApiCheck"] = "true"
    assert parse_stack_config(values, stack="dev").account_id == values[f"{P}:accountId"]


def test_optional_keys_default(harness: Any) -> None:
    values = harness.stack_values("dev")
    values.pop(f"{P}:permissionsBoundaryArn", None)
    values.pop(f"{P}:tags", None)
    for r in values[ROLES]:
        r.pop("maxSessionDuration", None)
    parsed = parse_stack_config(values, stack="dev")
    assert parsed.permissions_boundary_arn is None
    assert parsed.tags == ()
    assert {r.max_session_duration for r in parsed.roles} == {3600}


def test_ai_actions_are_canonicalised(harness: Any) -> None:
    values = harness.stack_values("dev")
    values[ROLES][1]["aiActions"] = ["rekognition:detectlabels", "sagemaker:CreateTrainingJob"]
    parsed = parse_stack_config(values, stack="dev")
    assert parsed.roles[1].ai_actions == ("rekognition:DetectLabels", "sagemaker:CreateTrainingJob")


@pytest.mark.parametrize(
    "name",
    ["abc", "a" * 63, "acme.ml.raw-2026", "1bucket", "my-bucket-s3alias-not"],
)
def test_valid_bucket_names(name: str) -> None:
    assert bucket_name_problem(name) is None


@pytest.mark.parametrize(
    "name",
    [
        "-acme",
        "acme-",
        "acme_raw",
        "acme raw",
        "sthree-raw",
        "amzn-s3-demo-raw",
        "raw--ol-s3",
        "raw.mrap",
        "10.0.0.1",
    ],
)
def test_invalid_bucket_names(name: str) -> None:
    assert bucket_name_problem(name) is not None


def test_ai_service_list_is_catalogued() -> None:
    from least_privilege.catalog import is_known_service

    assert all(is_known_service(s) for s in AI_SERVICES)
