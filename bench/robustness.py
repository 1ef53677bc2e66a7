"""Hypothesis strategies and properties for the engine's robustness (quick profile in tests, long in bench).

Two properties, checked on every engine entry point:
- nothing raises: well-formed, mutated, malformed, huge, unicode, deeply nested and unknown-laden
  inputs all come back as a list of findings (a validator that raises aborts the whole preview);
- every document that is malformed *by construction* yields at least one finding (silence on a broken
  document would let it through the gate).
The strategies build documents from a small pool of real actions so that the well-formed ones
exercise the analysis paths (expansion, matching, escalation), not only the parser.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ACTIONS = (
    "s3:GetObject",
    "s3:PutObject",
    "s3:ListBucket",
    "s3:*",
    "s3:Get*",
    "iam:PassRole",
    "iam:CreateAccessKey",
    "iam:*",
    "kms:Decrypt",
    "kms:GenerateDataKey",
    "sts:AssumeRole",
    "ec2:RunInstances",
    "ec2:Describe*",
    "lambda:CreateFunction",
    "sagemaker:CreateTrainingJob",
    "bedrock:InvokeModel",
    "secretsmanager:GetSecretValue",
    "*",
    "*:*",
    "*:Get*",
    "s3:get?bject",
    "nosuchservice:Thing",
    "s3:NoSuchAction",
    "",
    ":",
    "s3:",
    ":GetObject",
)
RESOURCES = (
    "*",
    "arn:aws:s3:::acme-ml-raw-dev",
    "arn:aws:s3:::acme-ml-raw-dev/incoming/*",
    "arn:aws:s3:::*",
    "arn:aws:iam::111111111111:role/worker",
    "arn:aws:kms:eu-west-1:111111111111:key/abc",
    "arn:aws:s3:::*/*",
    "arn:aws:iam::*:role/*",
    "not-an-arn",
    "arn:aws",
    "arn:${Partition}:s3:::${BucketName}",
)
PRINCIPALS = (
    "*",
    {"AWS": "*"},
    {"Service": "ec2.amazonaws.com"},
    {"Service": ["sagemaker.amazonaws.com", "evil.example.com"]},
    {"AWS": "arn:aws:iam::222222222222:root"},
    {"Federated": "token.actions.githubusercontent.com"},
    {"CanonicalUser": "abc"},
    {"AWS": ["arn:aws:iam::111111111111:role/x", "333333333333"]},
)
OPERATORS = (
    "StringEquals",
    "StringLike",
    "ArnLike",
    "Bool",
    "IpAddress",
    "ForAnyValue:StringLike",
    "ForAllValues:StringEquals",
    "StringEqualsIfExists",
    "Null",
    "NumericLessThan",
    "BogusOperator",
)
CONDITION_KEYS = (
    "aws:SourceArn",
    "aws:SourceAccount",
    "aws:PrincipalOrgID",
    "iam:PassedToService",
    "sts:ExternalId",
    "s3:prefix",
    "aws:MultiFactorAuthPresent",
    "token.actions.githubusercontent.com:sub",
)


def _unknowns() -> st.SearchStrategy[Any]:
    from least_privilege import UNKNOWN, UNKNOWN_SENTINELS

    return st.sampled_from([UNKNOWN, *sorted(UNKNOWN_SENTINELS)])


# Text that stresses encoders and regexes: any unicode (surrogates excluded: JSON text cannot carry them).
texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)
json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | texts


def _one_or_list(elements: st.SearchStrategy[Any], max_size: int = 6) -> st.SearchStrategy[Any]:
    return elements | st.lists(elements, min_size=1, max_size=max_size)


def huge_action_lists() -> st.SearchStrategy[list[str]]:
    """Hundreds to thousands of actions in one statement (real names, cycled), built in O(n)."""
    return st.integers(min_value=200, max_value=3000).map(
        lambda n: [ACTIONS[i % len(ACTIONS)] for i in range(n)]
    )


def conditions() -> st.SearchStrategy[dict[str, Any]]:
    values = _one_or_list(
        st.sampled_from(("true", "false", "111111111111", "arn:aws:*", "incoming/*")) | texts
    )
    return st.dictionaries(
        st.sampled_from(OPERATORS),
        st.dictionaries(st.sampled_from(CONDITION_KEYS), values, min_size=1, max_size=3),
        min_size=1,
        max_size=3,
    )


def statements(*, trust: bool = False) -> st.SearchStrategy[dict[str, Any]]:
    """Well-formed statements (identity/resource or trust shaped); huge lists and unicode Sids included."""
    actions = _one_or_list(st.sampled_from(ACTIONS)) | huge_action_lists()
    base: dict[str, st.SearchStrategy[Any]] = {
        "Effect": st.sampled_from(("Allow", "Deny")),
        "Action": actions,
    }
    optional: dict[str, st.SearchStrategy[Any]] = {
        "Sid": st.from_regex(r"[A-Za-z0-9]{0,12}", fullmatch=True) | texts,
        "Condition": conditions(),
    }
    if trust:
        base["Principal"] = st.sampled_from(PRINCIPALS)
        base["Action"] = _one_or_list(
            st.sampled_from(
                ("sts:AssumeRole", "sts:AssumeRoleWithWebIdentity", "sts:TagSession", "sts:*", "*")
            )
        )
    else:
        base["Resource"] = _one_or_list(st.sampled_from(RESOURCES))
        optional["Principal"] = st.sampled_from(PRINCIPALS)
    plain = st.fixed_dictionaries(base, optional=optional)
    # NotAction / NotResource variants: rename the key after generation.
    return (
        plain
        | plain.map(lambda s: _rename(s, "Action", "NotAction"))
        | plain.map(lambda s: _rename(s, "Resource", "NotResource"))
    )


def _rename(statement: dict[str, Any], old: str, new: str) -> dict[str, Any]:
    out = dict(statement)
    if old in out:
        out[new] = out.pop(old)
    return out


def documents(*, trust: bool = False) -> st.SearchStrategy[dict[str, Any]]:
    stmts = statements(trust=trust)
    return st.fixed_dictionaries(
        {"Statement": stmts | st.lists(stmts, min_size=1, max_size=8)},
        optional={"Version": st.sampled_from(("2012-10-17", "2008-10-17")), "Id": texts},
    )


# --------------------------------------------------------------------------- malformed by construction

_MALFORMED_STATEMENT_EDITS: tuple[tuple[str, Callable[[dict[str, Any]], dict[str, Any]]], ...] = (
    ("no Effect", lambda s: {k: v for k, v in s.items() if k != "Effect"}),
    ("bad Effect", lambda s: {**s, "Effect": "Maybe"}),
    ("Effect not a string", lambda s: {**s, "Effect": ["Allow"]}),
    ("Action and NotAction", lambda s: {**s, "Action": "s3:GetObject", "NotAction": "iam:*"}),
    ("no Action", lambda s: {k: v for k, v in s.items() if k not in ("Action", "NotAction")}),
    ("Action is a number", lambda s: {**_drop(s, "NotAction"), "Action": 42}),
    ("Action is an object", lambda s: {**_drop(s, "NotAction"), "Action": {"s3": "GetObject"}}),
    (
        "Action list holds a non-string",
        lambda s: {**_drop(s, "NotAction"), "Action": ["s3:GetObject", 7, None]},
    ),
    ("Condition not an object", lambda s: {**s, "Condition": "StringEquals"}),
    ("Condition operator not an object", lambda s: {**s, "Condition": {"StringEquals": ["aws:SourceArn"]}}),
    ("deeply nested Condition", lambda s: {**s, "Condition": _nest({"aws:SourceArn": "x"}, 60)}),
)


def _drop(statement: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in statement.items() if k != key}


def _nest(leaf: Any, depth: int) -> dict[str, Any]:
    value: Any = leaf
    for i in range(depth):
        value = {f"StringEquals{i}" if i == depth - 1 else f"level{i}": value}
    return {"StringEquals": value}


@st.composite
def malformed_documents(draw: st.DrawFn, *, trust: bool = False) -> tuple[str, Any]:
    """(why it is malformed, the document) for documents no IAM parser may accept."""
    kind = draw(st.integers(min_value=0, max_value=6))
    doc = draw(documents(trust=trust))
    if kind == 0:
        text = json.dumps(doc, default=str)
        cut = draw(st.integers(min_value=0, max_value=max(0, len(text) - 1)))
        return "truncated JSON", text[:cut]
    if kind == 1:
        return "not JSON", draw(
            st.sampled_from(("{", "}{", "[", "null,", "{'Statement': []}", "\x00", "Statement"))
        )
    if kind == 2:
        return "top level not an object", draw(st.lists(json_scalars, max_size=3) | json_scalars)
    if kind == 3:
        return "no Statement", {k: v for k, v in doc.items() if k != "Statement"}
    if kind == 4:
        return "Statement of the wrong type", {
            **doc,
            "Statement": draw(st.integers() | texts | st.booleans()),
        }
    if kind == 5:
        return "empty Statement", {**doc, "Statement": draw(st.sampled_from(([], {})))}
    name, edit = draw(st.sampled_from(_MALFORMED_STATEMENT_EDITS))
    stmts = doc["Statement"] if isinstance(doc["Statement"], list) else [doc["Statement"]]
    index = draw(st.integers(min_value=0, max_value=len(stmts) - 1))
    broken = [edit(s) if i == index else s for i, s in enumerate(stmts)]
    as_text = draw(st.booleans())
    bad = {**doc, "Statement": broken}
    return name, json.dumps(bad) if as_text else bad


# --------------------------------------------------------------------------- mutations and unknowns


@st.composite
def mutated_documents(draw: st.DrawFn) -> Any:
    """A well-formed document with one value anywhere replaced by junk or an unknown-value sentinel."""
    doc: Any = draw(documents(trust=draw(st.booleans())))
    junk = draw(
        _unknowns()
        | json_scalars
        | st.lists(json_scalars, max_size=3)
        | st.dictionaries(texts, json_scalars, max_size=3)
    )
    paths = list(_paths(doc))
    path = draw(st.sampled_from(paths))
    doc = _replace(doc, path, junk)
    return json.dumps(doc, default=str) if draw(st.booleans()) and not _has_object(doc) else doc


def _has_object(value: Any) -> bool:
    from least_privilege import UNKNOWN

    if value is UNKNOWN:
        return True
    if isinstance(value, dict):
        return any(_has_object(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_object(v) for v in value)
    return False


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out.extend(_paths(v, (*prefix, k)))
    elif isinstance(value, list) and len(value) <= 50:
        for i, v in enumerate(value):
            out.extend(_paths(v, (*prefix, i)))
    return out


def _replace(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: _replace(value[head], rest, new)}
    copy = list(value)
    copy[head] = _replace(copy[head], rest, new)
    return copy


def arbitrary_json() -> st.SearchStrategy[Any]:
    """Anything JSON can hold (and unknowns), nested: the 'wrong types everywhere' generator."""
    return st.recursive(
        json_scalars | _unknowns(),
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(
                st.sampled_from(
                    (
                        "Version",
                        "Statement",
                        "Effect",
                        "Action",
                        "NotAction",
                        "Resource",
                        "NotResource",
                        "Principal",
                        "NotPrincipal",
                        "Condition",
                        "Sid",
                    )
                )
                | texts,
                children,
                max_size=5,
            )
        ),
        max_leaves=30,
    )


# --------------------------------------------------------------------------- properties


def entry_points() -> dict[str, Callable[[Any], list[Any]]]:
    from least_privilege.analysis import (
        DEFAULT_SETTINGS,
        check_identity_policy,
        check_resource_policy,
        check_trust_policy,
    )

    return {
        "identity": lambda d: check_identity_policy(d, DEFAULT_SETTINGS),
        "trust": lambda d: check_trust_policy(d, DEFAULT_SETTINGS),
        "resource": lambda d: check_resource_policy(d, DEFAULT_SETTINGS),
    }


def never_raises(document: Any) -> None:
    """Every entry point returns a list of findings for `document` and each finding serialises."""
    from least_privilege.analysis import Budget, check_budget, effective_permissions

    for name, check in entry_points().items():
        findings = check(document)
        assert isinstance(findings, list), f"{name} returned {type(findings).__name__}"
        for f in findings:
            json.dumps(f.to_dict())
    perms = effective_permissions([document])
    check_budget(perms, Budget())  # type: ignore[call-arg]


def malformed_is_reported(
    case: tuple[str, Any], kinds: tuple[str, ...] = ("identity", "trust", "resource")
) -> None:
    """A malformed document must produce at least one finding from each entry point."""
    reason, document = case
    checks = entry_points()
    for kind in kinds:
        findings = checks[kind](document)
        assert findings, (
            f"{kind} check said nothing about a malformed document ({reason}): {str(document)[:300]!r}"
        )


PROFILES: dict[str, int] = {"quick": 60, "long": 1500}


def run_profile(profile: str = "long", examples: int | None = None) -> dict[str, Any]:
    """Run every property with `examples` examples each (the `make bench` long profile); count them all."""
    count = {"n": 0}
    per = examples or PROFILES[profile]
    cfg = settings(
        max_examples=per,
        deadline=None,
        database=None,
        derandomize=False,
        suppress_health_check=list(HealthCheck),
    )

    def counted(fn: Callable[[Any], None]) -> Callable[[Any], None]:
        def inner(value: Any) -> None:
            count["n"] += 1
            fn(value)

        return inner

    properties: list[tuple[str, Callable[[], None]]] = [
        ("well-formed", cfg(given(documents() | documents(trust=True))(counted(never_raises)))),
        ("mutated", cfg(given(mutated_documents())(counted(never_raises)))),
        ("arbitrary", cfg(given(arbitrary_json())(counted(never_raises)))),
        ("malformed-raises", cfg(given(malformed_documents())(counted(lambda c: never_raises(c[1]))))),
        ("malformed-reported", cfg(given(malformed_documents())(counted(malformed_is_reported)))),
        (
            "malformed-trust-reported",
            cfg(given(malformed_documents(trust=True))(counted(malformed_is_reported))),
        ),
    ]
    failures: dict[str, str] = {}
    for name, prop in properties:
        try:
            prop()
        except Exception as exc:
            failures[name] = f"{type(exc).__name__}: {str(exc)[:500]}"
    return {"examples": count["n"], "per_property": per, "failures": failures}
