"""Property-based tests: no exception ever escapes a validator, and malformed input is always reported.

Profiles: "quick" (default, 200 examples) and "long" (2,000); pick with LP_HYPOTHESIS_PROFILE=long.
"""

from __future__ import annotations

import json
import os
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from least_privilege import UNKNOWN, UNKNOWN_SENTINELS, UNKNOWN_STRING
from least_privilege.analysis import (
    Budget,
    check_budget,
    check_identity_policy,
    check_managed_policy_arn,
    check_resource_policy,
    check_trust_policy,
    effective_permissions,
)
from least_privilege.findings import PREVIEW_VERIFIABLE, RULES, WELL_FORMED, Finding

settings.register_profile(
    "quick",
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "long",
    max_examples=2000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
PROFILE = settings.get_profile(os.environ.get("LP_HYPOTHESIS_PROFILE", "quick"))

CHECKS = (check_identity_policy, check_trust_policy, check_resource_policy)

ACTIONS = st.sampled_from(
    [
        "*",
        "s3:*",
        "s3:GetObject",
        "s3:ListBucket",
        "S3:getobject",
        "*:Get*",
        "iam:PassRole",
        "ec2:RunInstances",
        "s3:?etObject",
        "kms:Decrypt",
        "secretsmanager:GetSecretValue",
        "sts:AssumeRole",
        "s4:Nope",
        "bad",
        "iam:*",
        "ssm:GetParameter*",
        "comprehend:DetectEntities",
        "",
    ]
)
RESOURCES = st.sampled_from(
    [
        "*",
        "arn:aws:s3:::b",
        "arn:aws:s3:::b/*",
        "arn:aws:s3:::*/*",
        "arn:aws:s3:::*",
        "*/*",
        "arn:aws:iam::*:role/*",
        "arn:aws:iam::111111111111:role/x",
        "arn:aws:s3:::b/${aws:username}",
        f"arn:aws:s3:::{UNKNOWN_STRING}/*",
        "not-an-arn",
        "arn:aws:kms:eu-west-1:111111111111:key/k",
        "arn:",
    ]
)
UNKNOWNS = st.sampled_from([UNKNOWN, UNKNOWN_STRING, "dd056dcd-154b-4c76-9bd3-c8f88648b5ff"])
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=20), UNKNOWNS
)


def one_or_many(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(strategy, st.lists(strategy, max_size=4), UNKNOWNS)


conditions = st.dictionaries(
    st.sampled_from(
        [
            "StringEquals",
            "StringLike",
            "ForAllValues:StringLike",
            "Bool",
            "NumericLessThan",
            "StringEqualsIfExists",
            "Null",
        ]
    ),
    st.dictionaries(
        st.sampled_from(
            [
                "aws:SourceVpc",
                "kms:ViaService",
                "s3:prefix",
                "aws:PrincipalOrgID",
                "sts:ExternalId",
                "token.actions.githubusercontent.com:sub",
            ]
        ),
        st.one_of(SCALARS, st.lists(SCALARS, max_size=3)),
        max_size=3,
    ),
    max_size=3,
)
principals = st.one_of(
    st.just("*"),
    st.dictionaries(
        st.sampled_from(["AWS", "Service", "Federated", "CanonicalUser", "Bogus"]),
        one_or_many(
            st.sampled_from(
                [
                    "*",
                    "222222222222",
                    "ec2.amazonaws.com",
                    "arn:aws:iam::*:root",
                    "arn:aws:iam::1:oidc-provider/token.actions.githubusercontent.com",
                ]
            )
        ),
        max_size=2,
    ),
    UNKNOWNS,
)
statements = st.fixed_dictionaries(
    {},
    optional={
        "Sid": st.one_of(st.text(max_size=8), st.integers()),
        "Effect": st.sampled_from(["Allow", "Deny", "allow", "Maybe", UNKNOWN]),
        "Action": one_or_many(ACTIONS),
        "NotAction": one_or_many(ACTIONS),
        "Resource": one_or_many(RESOURCES),
        "NotResource": one_or_many(RESOURCES),
        "Principal": principals,
        "NotPrincipal": principals,
        "Condition": st.one_of(conditions, SCALARS),
        "Extra": SCALARS,
    },
)
documents = st.fixed_dictionaries(
    {"Statement": st.one_of(statements, st.lists(st.one_of(statements, SCALARS), max_size=4), SCALARS)},
    optional={
        "Version": st.sampled_from(["2012-10-17", "2008-10-17", "2020-01-01", 7]),
        "Id": st.text(max_size=5),
    },
)


def _containers(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=10), children, max_size=4)
    )


def _nested_condition(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.dictionaries(st.text(max_size=5), inner, min_size=1, max_size=2)


json_like = st.recursive(SCALARS, _containers, max_leaves=25)


def _assert_findings(findings: Any) -> list[Finding]:
    assert isinstance(findings, list)
    for f in findings:
        assert isinstance(f, Finding) and f.rule in RULES and f.message
        f.to_dict()
    return findings


@PROFILE
@given(documents)
def test_generated_documents_never_raise(document: dict[str, Any]) -> None:
    for check in CHECKS:
        _assert_findings(check(document))
    _assert_findings(
        check_budget(effective_permissions([document]), Budget(allowed_services=frozenset({"s3"})))
    )


@PROFILE
@given(json_like)
def test_arbitrary_json_values_never_raise(value: Any) -> None:
    for check in CHECKS:
        _assert_findings(check(value))


@PROFILE
@given(st.text(max_size=200))
def test_arbitrary_text_never_raises_and_bad_json_is_reported(text: str) -> None:
    try:
        json.loads(text)
        valid = True
    except ValueError:
        valid = False
    for check in CHECKS:
        findings = _assert_findings(check(text))
        if not valid and not any(s in text for s in UNKNOWN_SENTINELS):
            assert any(f.rule == WELL_FORMED for f in findings)


@PROFILE
@given(documents, st.data())
def test_mutated_json_text_is_reported(document: dict[str, Any], data: st.DataObject) -> None:
    text = json.dumps(document, default=lambda _o: UNKNOWN_STRING)
    cut = data.draw(st.integers(min_value=0, max_value=max(len(text) - 1, 0)))
    mutated = (
        text[:cut]
        + data.draw(st.sampled_from(["", "{", "]", ",,", '"', "\u00e9\u2603", "\x00"]))
        + text[cut + 1 :]
    )
    try:
        json.loads(mutated)
        malformed = False
    except ValueError:
        malformed = True
    findings = _assert_findings(check_identity_policy(mutated))
    if malformed:
        # every malformed document yields a finding: well-formedness, or "unknown" when the text is
        # broken only by interpolated unknown values
        assert {f.rule for f in findings} & {WELL_FORMED, PREVIEW_VERIFIABLE}
        if not any(s in mutated for s in UNKNOWN_SENTINELS):
            assert any(f.rule == WELL_FORMED for f in findings)


WRONG_TYPES = st.sampled_from([42, 1.5, True, None, [1], {"a": 1}, b"x"])


@PROFILE
@given(
    st.sampled_from(["Effect", "Action", "NotAction", "Resource", "Condition", "Principal", "Sid"]),
    WRONG_TYPES,
)
def test_wrong_types_are_reported(key: str, value: Any) -> None:
    statement: dict[str, Any] = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}
    statement[key] = value
    findings = _assert_findings(check_identity_policy({"Version": "2012-10-17", "Statement": [statement]}))
    if key == "Principal" or not (key == "Action" and isinstance(value, list) and not value):
        assert any(f.rule == WELL_FORMED for f in findings), (key, value, findings)


@PROFILE
@given(
    st.recursive(
        st.just({"StringEquals": {"aws:SourceVpc": "vpc-1"}}),
        _nested_condition,
        max_leaves=30,
    )
)
def test_deep_conditions(condition: Any) -> None:
    document = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*", "Condition": condition}],
    }
    _assert_findings(check_identity_policy(document))


@PROFILE
@given(documents, st.data())
def test_unknowns_anywhere_never_raise_and_are_reported(
    document: dict[str, Any], data: st.DataObject
) -> None:
    """Replace one node of the document with an unknown: never an exception, and never silently clean."""
    paths: list[tuple[Any, ...]] = []

    def walk(node: Any, path: tuple[Any, ...]) -> None:
        paths.append(path)
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, (*path, k))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, (*path, i))

    walk(document, ())
    path = data.draw(st.sampled_from(paths))
    sentinel = data.draw(UNKNOWNS)
    if not path:
        mutated: Any = sentinel
    else:
        mutated = json.loads(json.dumps(document, default=lambda _o: UNKNOWN_STRING))
        node = mutated
        for step in path[:-1]:
            node = node[step]
        node[path[-1]] = sentinel
    findings = _assert_findings(check_identity_policy(mutated))
    if not path:
        assert [f.rule for f in findings] == [PREVIEW_VERIFIABLE]


@PROFILE
@given(
    st.one_of(
        st.text(max_size=80),
        UNKNOWNS,
        SCALARS,
        st.sampled_from(
            [
                "arn:aws:iam::aws:policy/ReadOnlyAccess",
                "arn:aws:iam::aws:policy/x/y",
                "arn:aws:iam::111111111111:policy/p",
            ]
        ),
    )
)
def test_managed_policy_arn_never_raises(arn: Any) -> None:
    _assert_findings(check_managed_policy_arn(arn))
