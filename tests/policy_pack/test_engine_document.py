"""Parsing and normalisation: every legal form, malformed documents as findings, unknown values."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pytest
from least_privilege import UNKNOWN, UNKNOWN_STRING
from least_privilege.analysis import check_identity_policy, check_resource_policy, check_trust_policy
from least_privilege.document import parse_document
from least_privilege.findings import PREVIEW_VERIFIABLE, WELL_FORMED, Severity

OK_STATEMENT = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::raw/incoming/*"}


def doc(*statements: Any, **extra: Any) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements), **extra}


def rules(findings: list[Any]) -> set[str]:
    return {f.rule for f in findings}


class FrozenMapping(Mapping[str, Any]):
    """A Mapping that is not a dict, like pulumi_policy's proxies."""

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


class FrozenSequence(Sequence[Any]):
    def __init__(self, data: list[Any]) -> None:
        self._data = data

    def __getitem__(self, index: Any) -> Any:
        return self._data[index]

    def __len__(self) -> int:
        return len(self._data)


def test_statement_object_and_string_forms() -> None:
    parsed = parse_document({"Version": "2012-10-17", "Statement": OK_STATEMENT})
    assert parsed.ok and len(parsed.statements) == 1
    st = parsed.statements[0]
    assert st.actions == ("s3:GetObject",) and st.resources == ("arn:aws:s3:::raw/incoming/*",)
    assert st.label == "Statement[0]" and st.is_allow


def test_json_text_and_bytes_are_accepted() -> None:
    text = json.dumps(doc(OK_STATEMENT))
    assert check_identity_policy(text) == []
    assert check_identity_policy(text.encode()) == []


def test_sid_names_the_statement() -> None:
    parsed = parse_document(doc({**OK_STATEMENT, "Sid": "ReadRaw"}))
    assert parsed.statements[0].label == "ReadRaw"


def test_non_dict_mapping_and_sequence_are_accepted() -> None:
    statement = FrozenMapping(
        {
            "Effect": "Allow",
            "Action": FrozenSequence(["s3:GetObject"]),
            "Resource": FrozenSequence(["arn:aws:s3:::raw/incoming/*"]),
        }
    )
    document = FrozenMapping({"Version": "2012-10-17", "Statement": FrozenSequence([statement])})
    assert check_identity_policy(document) == []


def test_pulumi_unknown_checking_proxy_is_read_element_by_element() -> None:
    from pulumi_policy import proxy as proxy_mod
    raw = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": [UNKNOWN_STRING, "*"]}],
    }
    proxied = proxy_mod.unknown_checking_proxy(raw)
    findings = check_identity_policy(proxied)
    # the known "*" is still judged, the unknown entry is reported, nothing raises
    assert any(f.rule == "iam-no-wildcard-resources" for f in findings)
    assert any(f.rule == PREVIEW_VERIFIABLE for f in findings)


@pytest.mark.parametrize(
    ("document", "fragment"),
    [
        ("{not json", "not valid JSON"),
        ("", "empty"),
        ("[]", "must be a JSON object"),
        (42, "must be a JSON object"),
        (None, "missing"),
        ({"Version": "2012-10-17"}, "no Statement"),
        ({"Version": "2012-10-17", "Statement": "nope"}, "Statement must be"),
        ({"Version": "2012-10-17", "Statement": []}, "empty"),
        ({"Version": "2012-10-17", "Statement": [42]}, "must be a JSON object"),
        ({"Version": "2012-10-17", "Statement": [OK_STATEMENT], "Extra": 1}, "unknown top-level element"),
        ({"Version": "2019-01-01", "Statement": [OK_STATEMENT]}, "Version"),
        (doc({"Action": "s3:GetObject", "Resource": "*"}), "Effect is missing"),
        (doc({**OK_STATEMENT, "Effect": "Maybe"}), "Effect"),
        (doc({**OK_STATEMENT, "NotAction": "s3:PutObject"}), "both Action and NotAction"),
        (doc({"Effect": "Allow", "Resource": "*"}), "neither Action nor NotAction"),
        (doc({"Effect": "Allow", "Action": "s3:GetObject"}), "neither Resource nor NotResource"),
        (doc({**OK_STATEMENT, "NotResource": "*"}), "both Resource and NotResource"),
        (doc({**OK_STATEMENT, "Action": 5}), "must be a string or a list"),
        (doc({**OK_STATEMENT, "Action": ["s3:GetObject", 5]}), "entries must be strings"),
        (doc({**OK_STATEMENT, "Action": "GetObject"}), "service:Action"),
        (doc({**OK_STATEMENT, "Resource": "my-bucket"}), "not an ARN"),
        (doc({**OK_STATEMENT, "Resource": []}), "empty list"),
        (doc({**OK_STATEMENT, "Condition": "yes"}), "Condition must be"),
        (doc({**OK_STATEMENT, "Condition": {"StringEquals": "x"}}), "must map condition keys"),
        (doc({**OK_STATEMENT, "Condition": {"StringEquals": {"aws:SourceVpc": {"deep": 1}}}}), "value"),
        (doc({**OK_STATEMENT, "Principal": "*"}), "must not have Principal"),
        (doc({**OK_STATEMENT, "action": "s3:GetObject"}), "unknown element"),
        (doc({**OK_STATEMENT, "Sid": "a"}, {**OK_STATEMENT, "Sid": "a"}), "unique"),
        (doc({**OK_STATEMENT, "Sid": 7}), "Sid must be a string"),
        (
            doc({**OK_STATEMENT, "Condition": {"StringEqualz": {"aws:SourceVpc": "v"}}}),
            "not an IAM condition",
        ),
        (doc({**OK_STATEMENT, "Condition": {"ForSomeValues:StringLike": {"aws:TagKeys": "v"}}}), "operator"),
        (b"\xff\xfe{", "not UTF-8"),
        ("[" * 100000, "nested too deeply"),
    ],
)
def test_malformed_documents_are_findings_not_exceptions(document: Any, fragment: str) -> None:
    findings = check_identity_policy(document)
    well_formed = [f for f in findings if f.rule == WELL_FORMED]
    assert well_formed, findings
    assert any(fragment.lower() in f.message.lower() for f in well_formed), [f.message for f in well_formed]
    assert all(f.severity == Severity.MEDIUM for f in well_formed if f.message != "")


def test_missing_version_is_low() -> None:
    findings = check_identity_policy({"Statement": [OK_STATEMENT]})
    assert [(f.rule, f.severity) for f in findings] == [(WELL_FORMED, Severity.LOW)]


def test_malformed_statements_do_not_hide_valid_ones() -> None:
    findings = check_identity_policy(doc(42, {"Effect": "Allow", "Action": "*", "Resource": "*"}))
    assert WELL_FORMED in rules(findings)
    assert "iam-no-wildcard-actions" in rules(findings)


def test_effect_case_is_reported_but_still_analysed_as_allow() -> None:
    findings = check_identity_policy(doc({"Effect": "allow", "Action": "*", "Resource": "*"}))
    assert WELL_FORMED in rules(findings)
    assert any(f.rule == "iam-no-wildcard-actions" and f.severity == Severity.CRITICAL for f in findings)


@pytest.mark.parametrize("unknown", [UNKNOWN, UNKNOWN_STRING, "dd056dcd-154b-4c76-9bd3-c8f88648b5ff"])
def test_wholly_unknown_document_is_a_preview_finding(unknown: Any) -> None:
    for check in (check_identity_policy, check_trust_policy, check_resource_policy):
        findings = check(unknown)
        assert [f.rule for f in findings] == [PREVIEW_VERIFIABLE]


def test_unknown_statement_list_is_a_preview_finding() -> None:
    findings = check_identity_policy({"Version": "2012-10-17", "Statement": UNKNOWN})
    assert rules(findings) == {PREVIEW_VERIFIABLE}


def test_interpolated_json_with_unknown_parts_is_unknown_not_malformed() -> None:
    text = '{"Version": "2012-10-17", "Statement": [' + UNKNOWN_STRING + "]}"
    findings = check_identity_policy(text)
    assert rules(findings) == {PREVIEW_VERIFIABLE}


def test_unknown_action_is_opaque_not_star() -> None:
    findings = check_identity_policy(doc({"Effect": "Allow", "Action": [UNKNOWN], "Resource": "*"}))
    assert PREVIEW_VERIFIABLE in rules(findings)
    assert "iam-no-wildcard-actions" not in rules(findings)
    assert "iam-no-wildcard-resources" not in rules(findings)


def test_unknown_resource_is_opaque_not_star() -> None:
    findings = check_identity_policy(
        doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": [UNKNOWN_STRING]})
    )
    assert rules(findings) == {PREVIEW_VERIFIABLE}
    assert all(f.severity == Severity.LOW for f in findings)


def test_partly_unknown_arn_is_scoped() -> None:
    findings = check_identity_policy(
        doc(
            {
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:ListBucket"],
                "Resource": [f"arn:aws:s3:::{UNKNOWN_STRING}/*"],
            }
        )
    )
    # no wildcard-resource finding, and no mismatch either: the unknown part may be anything
    assert "iam-no-wildcard-resources" not in rules(findings)
    assert "iam-action-resource-match" not in rules(findings)


def test_unknown_condition_value_does_not_narrow() -> None:
    findings = check_identity_policy(
        doc(
            {
                "Effect": "Allow",
                "Action": "secretsmanager:GetSecretValue",
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:ResourceTag/team": UNKNOWN}},
            }
        )
    )
    sensitive = [f for f in findings if f.rule == "iam-no-unconstrained-sensitive-access"]
    assert sensitive and sensitive[0].severity == Severity.HIGH


def test_mapping_that_raises_on_read_is_treated_as_unknown() -> None:
    class Exploding(Mapping[str, Any]):
        def __getitem__(self, key: str) -> Any:
            raise RuntimeError("unknown during preview")

        def __iter__(self) -> Iterator[str]:
            return iter(["Version", "Statement"])

        def __len__(self) -> int:
            return 2

    findings = check_identity_policy(Exploding())
    assert PREVIEW_VERIFIABLE in rules(findings)


def test_condition_operator_forms_are_accepted() -> None:
    condition = {
        "ForAnyValue:StringLikeIfExists": {"aws:TagKeys": "team"},
        "Null": {"aws:ResourceTag/team": "false"},
        "ArnLike": {"aws:SourceArn": "arn:aws:s3:::b"},
        "NumericLessThanEquals": {"s3:signatureAge": 600000},  # a numeric key s3:GetObject has
    }
    assert check_identity_policy(doc({**OK_STATEMENT, "Condition": condition})) == []
