"""Segment-aware ARN template matching and effectively-star detection."""

from __future__ import annotations

import pytest
from least_privilege import UNKNOWN_STRING
from least_privilege.arn import effectively_star_reason, parse_arn, resource_fits_template

BUCKET = "arn:${Partition}:s3:::${BucketName}"
OBJECT = "arn:${Partition}:s3:::${BucketName}/${ObjectName}"
ACCESS_POINT = "arn:${Partition}:s3:${Region}:${Account}:accesspoint/${AccessPointName}"
ROLE = "arn:${Partition}:iam::${Account}:role/${RoleNameWithPath}"
LOG_GROUP = "arn:${Partition}:logs:${Region}:${Account}:log-group:${LogGroupName}"
LOG_STREAM = (
    "arn:${Partition}:logs:${Region}:${Account}:log-group:${LogGroupName}:log-stream:${LogStreamName}"
)


@pytest.mark.parametrize(
    ("resource", "template", "fits"),
    [
        ("arn:aws:s3:::b/*", BUCKET, False),  # a placeholder never spans "/"
        ("arn:aws:s3:::b/*", OBJECT, True),
        ("arn:aws:s3:::b", OBJECT, False),
        ("arn:aws:s3:::b", BUCKET, True),
        ("arn:aws:s3:::raw/incoming/2024/*", OBJECT, True),  # trailing key may span "/"
        ("arn:aws:s3:::*", BUCKET, True),
        ("arn:aws:s3:::*", OBJECT, True),  # a policy "*" may span "/"
        ("arn:aws:s3:::*/*", BUCKET, False),
        ("arn:aws:s3:::b", ACCESS_POINT, False),  # empty region/account vs placeholders
        ("arn:aws:s3:eu-west-1:111111111111:accesspoint/ap", ACCESS_POINT, True),
        ("arn:aws:s3:::b?", BUCKET, True),
        ("arn:aws:iam::111111111111:role/team/worker", ROLE, True),
        ("arn:aws:iam::*:role/*", ROLE, True),
        ("arn:aws:iam::111111111111:role/x", BUCKET, False),
        ("arn:aws:logs:eu-west-1:111111111111:log-group:/aws/lambda/f", LOG_GROUP, True),
        ("arn:aws:logs:eu-west-1:111111111111:log-group:/aws/lambda/f:*", LOG_STREAM, True),
        ("arn:*:s3:::b", BUCKET, True),
        ("*", BUCKET, True),
        (f"arn:aws:s3:::{UNKNOWN_STRING}/*", OBJECT, True),  # unknown bucket: opaque, may fit
        (f"arn:aws:s3:::{UNKNOWN_STRING}/*", BUCKET, False),  # ...but the "/" is still there
        ("arn:aws:s3:::b/${aws:username}", BUCKET, False),
        ("arn:aws:s3:::b/${aws:username}", OBJECT, True),
    ],
)
def test_resource_fits_template(resource: str, template: str, fits: bool) -> None:
    assert resource_fits_template(resource, template) is fits


@pytest.mark.parametrize(
    "resource",
    [
        "*",
        "arn:aws:s3:::*",
        "arn:aws:s3:::*/*",
        "*/*",
        "arn:aws:iam::*:role/*",
        "arn:*:s3:::bucket",
        "arn:aws:*:eu-west-1:111111111111:thing/x",
        "arn:aws:kms:*:111111111111:key/abc",
        "arn:aws:s3:::acme-*/data/*",
        "arn:aws:s3:::acme?/x",
        "arn:aws:kms:eu-west-1:111111111111:key/*",
        "arn:aws:iam::111111111111:role/*",
        "arn:aws:logs:eu-west-1:111111111111:log-group:*",
        "arn:aws*",
    ],
)
def test_effectively_star(resource: str) -> None:
    assert effectively_star_reason(resource) is not None


@pytest.mark.parametrize(
    "resource",
    [
        "arn:aws:s3:::raw/incoming/*",  # trailing key wildcard after a fixed bucket and prefix
        "arn:aws:s3:::raw/*",
        "arn:aws:s3:::raw",
        "arn:aws:kms:eu-west-1:111111111111:key/1234abcd",
        "arn:aws:iam::111111111111:role/ml-*",
        "arn:aws:logs:eu-west-1:111111111111:log-group:/aws/sagemaker/*",
        f"arn:aws:s3:::{UNKNOWN_STRING}/*",  # unknown is opaque, never "*"
        "arn:aws:s3:::${aws:username}/*",
        "arn:aws:sns:eu-west-1:111111111111:topic-*",
    ],
)
def test_scoped_resources_are_not_star(resource: str) -> None:
    assert effectively_star_reason(resource) is None


def test_star_reason_names_the_problem() -> None:
    reason = effectively_star_reason("arn:aws:iam::*:role/*")
    assert reason is not None and "account" in reason
    reason = effectively_star_reason("arn:aws:s3:::acme-*/x")
    assert reason is not None and "bucket" in reason


def test_parse_arn() -> None:
    arn = parse_arn("arn:aws:logs:eu-west-1:1:log-group:/a:b")
    assert arn is not None and arn.resource == "log-group:/a:b" and arn.service == "logs"
    assert parse_arn("not-an-arn") is None
    assert parse_arn("arn:aws:s3") is None


def test_very_long_resources_do_not_blow_up() -> None:
    long_resource = "arn:aws:s3:::b/" + "*a" * 5000
    assert resource_fits_template(long_resource, OBJECT) is True
