"""Pure builder tests: the access-level table, catalog-driven AI resources, partitions, trust policies."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.config import Access, Bucket, Role, StackConfig
from shared.permissions import describe_role
from shared.policies import (
    ACCESS_LEVELS,
    SOURCE_ACCOUNT_SERVICES,
    ai_action_resources,
    identity_policy,
    to_json,
    trust_policy,
)

ACCOUNT = "123456789012"


def stack(region: str = "eu-west-1", partition: str = "aws", buckets: tuple[Bucket, ...] = ()) -> StackConfig:
    return StackConfig(
        project="ai-data-processing",
        stack="test",
        source="Pulumi.test.yaml",
        region=region,
        account_id=ACCOUNT,
        buckets=buckets
        or (
            Bucket("raw", "acme-raw"),
            Bucket("features", "acme-features", f"arn:{partition}:kms:{region}:{ACCOUNT}:key/mrk-{'a' * 32}"),
        ),
        roles=(),
        partition=partition,
    )


def make_role(
    *access: Access, ai: tuple[str, ...] = (), services: tuple[str, ...] = ("ec2.amazonaws.com",)
) -> Role:
    return Role("job", services, access, ai, ())


def test_access_level_table() -> None:
    read, write, both = ACCESS_LEVELS["read"], ACCESS_LEVELS["write"], ACCESS_LEVELS["read-write"]
    assert (read.bucket, read.listing, read.objects, read.kms) == (
        ("s3:GetBucketLocation",),
        ("s3:ListBucket",),
        ("s3:GetObject",),
        ("kms:Decrypt",),
    )
    assert (write.bucket, write.listing, write.objects, write.kms) == (
        (),
        (),
        ("s3:AbortMultipartUpload", "s3:PutObject"),
        ("kms:Decrypt", "kms:GenerateDataKey"),
    )
    for attr in ("bucket", "listing", "objects", "kms"):
        assert set(getattr(both, attr)) == set(getattr(read, attr)) | set(getattr(write, attr))


def test_write_without_prefixes_grants_objects_only() -> None:
    doc = identity_policy(make_role(Access("raw", "write")), stack())
    assert doc["Statement"] == [
        {
            "Sid": "WriteRawObjects",
            "Effect": "Allow",
            "Action": ["s3:AbortMultipartUpload", "s3:PutObject"],
            "Resource": ["arn:aws:s3:::acme-raw/*"],
        }
    ]


def test_read_with_prefixes_conditions_listing_only() -> None:
    doc = identity_policy(make_role(Access("raw", "read", ("b/", "a/"))), stack())
    by_sid = {s["Sid"]: s for s in doc["Statement"]}
    assert by_sid["ReadRawBucket"] == {
        "Sid": "ReadRawBucket",
        "Effect": "Allow",
        "Action": ["s3:GetBucketLocation"],
        "Resource": ["arn:aws:s3:::acme-raw"],
    }
    assert by_sid["ListRawPrefixes"]["Condition"] == {"StringLike": {"s3:prefix": ["a/*", "b/*"]}}
    assert by_sid["ReadRawObjects"]["Resource"] == ["arn:aws:s3:::acme-raw/a/*", "arn:aws:s3:::acme-raw/b/*"]


def test_kms_statement_only_for_sse_kms_buckets_and_via_s3() -> None:
    cfg = stack()
    plain = identity_policy(make_role(Access("raw", "read-write")), cfg)
    assert not [s for s in plain["Statement"] if any(a.startswith("kms:") for a in s["Action"])]
    encrypted = identity_policy(make_role(Access("features", "read")), cfg)
    (kms,) = [s for s in encrypted["Statement"] if s["Sid"] == "UseFeaturesKey"]
    assert kms["Action"] == ["kms:Decrypt"]
    assert kms["Resource"] == [cfg.bucket("features").kms_key_arn]
    assert kms["Condition"] == {"StringEquals": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}}


def test_china_partition_and_endpoint() -> None:
    cfg = stack(region="cn-north-1", partition="aws-cn")
    doc = identity_policy(make_role(Access("features", "write"), ai=("sagemaker:CreateTrainingJob",)), cfg)
    resources = [r for s in doc["Statement"] for r in s["Resource"]]
    assert all(r.startswith("arn:aws-cn:") for r in resources), resources
    kms = next(s for s in doc["Statement"] if s["Sid"] == "UseFeaturesKey")
    assert kms["Condition"]["StringEquals"]["kms:ViaService"] == "s3.cn-north-1.amazonaws.com.cn"


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ("sagemaker:CreateTrainingJob", [f"arn:aws:sagemaker:eu-west-1:{ACCOUNT}:training-job/trainer-*"]),
        ("sagemaker:InvokeEndpoint", [f"arn:aws:sagemaker:eu-west-1:{ACCOUNT}:endpoint/trainer-*"]),
        ("rekognition:DetectLabels", ["*"]),  # no resource type at all
        ("comprehend:DetectEntities", ["*"]),  # only an optional resource type: calls without it need "*"
    ],
)
def test_ai_resources_are_catalog_driven(action: str, expected: list[str]) -> None:
    assert ai_action_resources(action, stack(), "trainer") == expected


def test_ai_resources_with_many_required_types_fill_every_template() -> None:
    resources = ai_action_resources("bedrock:InvokeModel", stack(), "trainer")
    assert "arn:aws:bedrock:eu-west-1::foundation-model/*" in resources
    assert all("${" not in r and r.startswith("arn:aws:bedrock:") for r in resources)
    assert resources == sorted(set(resources))


def test_ai_statements_group_by_service_and_resources() -> None:
    role = make_role(ai=("rekognition:DetectLabels", "rekognition:DetectText", "sagemaker:CreateTrainingJob"))
    doc = identity_policy(role, stack())
    assert [(s["Sid"], s["Action"], s["Resource"]) for s in doc["Statement"]] == [
        ("UseRekognition", ["rekognition:DetectLabels", "rekognition:DetectText"], ["*"]),
        (
            "UseSagemaker",
            ["sagemaker:CreateTrainingJob"],
            [f"arn:aws:sagemaker:eu-west-1:{ACCOUNT}:training-job/job-*"],
        ),
    ]


@pytest.mark.parametrize("service", ["ec2.amazonaws.com", "lambda.amazonaws.com", "batch.amazonaws.com"])
def test_trust_without_source_account_for_services_that_do_not_send_it(service: str) -> None:
    (statement,) = trust_policy(make_role(services=(service,)), stack())["Statement"]
    assert statement["Principal"] == {"Service": service}
    assert statement["Action"] == "sts:AssumeRole"
    assert "Condition" not in statement


@pytest.mark.parametrize("service", sorted(SOURCE_ACCOUNT_SERVICES))
def test_trust_pins_source_account_where_documented(service: str) -> None:
    (statement,) = trust_policy(make_role(services=(service,)), stack())["Statement"]
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}


def test_source_account_table_excludes_ec2_and_lambda() -> None:
    assert not {"ec2.amazonaws.com", "lambda.amazonaws.com"} & set(SOURCE_ACCOUNT_SERVICES)


def test_trust_policy_one_statement_per_service_sorted() -> None:
    doc = trust_policy(make_role(services=("sagemaker.amazonaws.com", "ec2.amazonaws.com")), stack())
    assert [s["Sid"] for s in doc["Statement"]] == ["TrustEc2", "TrustSagemaker"]


def test_sids_are_unique_even_when_names_collide() -> None:
    cfg = stack(buckets=(Bucket("a-1", "acme-a-dash-1"), Bucket("a1", "acme-a1")))
    doc = identity_policy(make_role(Access("a-1", "read"), Access("a1", "read")), cfg)
    sids = [s["Sid"] for s in doc["Statement"]]
    assert len(sids) == len(set(sids))
    assert all(sid.isalnum() for sid in sids)


def test_document_does_not_depend_on_config_order() -> None:
    cfg = stack()
    one = make_role(Access("raw", "read", ("x/", "y/")), Access("features", "write"), ai=("a", "b")[:0])
    two = make_role(Access("features", "write"), Access("raw", "read", ("y/", "x/")))
    assert to_json(identity_policy(one, cfg)) == to_json(identity_policy(two, cfg))


def test_describe_role_matches_the_table() -> None:
    cfg = stack()
    described = describe_role(make_role(Access("features", "read-write", ("t/",))), cfg)
    assert described["datasets"] == {
        "features": {
            "bucket": "acme-features",
            "level": "read-write",
            "prefixes": ["t/"],
            "actions": [
                "kms:Decrypt",
                "kms:GenerateDataKey",
                "s3:AbortMultipartUpload",
                "s3:GetBucketLocation",
                "s3:GetObject",
                "s3:ListBucket",
                "s3:PutObject",
            ],
        }
    }
    assert json.loads(json.dumps(described)) == described  # plain data


_prefix = st.from_regex(r"[a-z0-9]{1,8}(/[a-z0-9]{1,8}){0,2}/?", fullmatch=True)


@settings(max_examples=60, deadline=None)
@given(
    levels=st.lists(st.sampled_from(["read", "write", "read-write"]), min_size=1, max_size=2),
    prefixes=st.lists(st.lists(_prefix, max_size=3, unique=True), min_size=2, max_size=2),
)
def test_bucket_and_object_actions_never_mix_resources(levels: list[str], prefixes: list[list[str]]) -> None:
    """The seed defect, for any combination: bucket actions only on bucket ARNs, object actions only on
    object ARNs, nothing on "*"."""
    names = ("raw", "features")
    access = tuple(Access(names[i], lvl, tuple(prefixes[i])) for i, lvl in enumerate(levels))  # type: ignore[arg-type]
    doc: dict[str, Any] = identity_policy(make_role(*access), stack())
    for statement in doc["Statement"]:
        for action in statement["Action"]:
            for resource in statement["Resource"]:
                if action in ("s3:ListBucket", "s3:GetBucketLocation"):
                    assert "/" not in resource
                elif action.startswith("s3:"):
                    assert resource.startswith("arn:aws:s3:::") and "/" in resource
                else:
                    assert resource.startswith("arn:aws:kms:")


def test_ai_resources_pass_the_wildcard_resource_rule() -> None:
    """A role's AI resources are its own (``<role>-*``), so the pack's wildcard rule has nothing to say."""
    from least_privilege.analysis import check_identity_policy

    doc = identity_policy(make_role(ai=("sagemaker:CreateTrainingJob", "sagemaker:InvokeEndpoint")), stack())
    findings = [f for f in check_identity_policy(doc) if f.rule == "iam-no-wildcard-resources"]
    assert findings == []
    # ...whereas every training job in the account is a wildcard resource.
    training = next(s for s in doc["Statement"] if s["Action"] == ["sagemaker:CreateTrainingJob"])
    training["Resource"] = [f"arn:aws:sagemaker:eu-west-1:{ACCOUNT}:training-job/*"]
    assert [f.rule for f in check_identity_policy(doc)] == ["iam-no-wildcard-resources"]
