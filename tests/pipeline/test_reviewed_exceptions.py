"""How the check turns the pack's accepted-finding diagnostics into listings and SARIF suppressions, and
how an exception summary reads its stack's pack config (no program or pack run here: the diagnostics
are written as the pack writes them, with the pack's own message function)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from policy_exceptions import accepted_message, parse_exceptions

from pipeline import ROOT
from pipeline.errors import ConfigurationError
from pipeline.preview.live import policy_events, violations_from_events
from pipeline.preview.packclient import PolicyConfigValue
from pipeline.preview.report import render_text, to_json, to_sarif
from pipeline.preview.verdict import StackReport, Violation
from pipeline.reviewed_exceptions import ACCEPTED_POLICY, summarize

POLICY = "iam-no-wildcard-resources"
URN = "urn:pulumi:dev::ai-data-processing::aws:iam/rolePolicy:RolePolicy::vendor-sync-s3"
ENTRY = {
    "id": "EX-12",
    "resource": "vendor-sync-*",
    "reason": "vendor lists buckets until v3",
    "owner": "ml-platform",
    "expires": "2027-01-31",
}
FINDING = '[high] policy: Statement[0]: s3:GetObject on *: Resource "*" (every resource).'


def violation(policy: str, message: str, level: str = "advisory", urn: str | None = URN) -> Violation:
    return Violation(
        policy=policy,
        enforcement_level=level,
        message=message,
        description=f"{policy} description",
        urn=urn,
        resource_type="aws:iam/rolePolicy:RolePolicy",
        resource_name="vendor-sync-s3",
        role="vendor-sync",
        phase="preview",
        counts_as_failure=level == "mandatory",
    )


def pack_config(*entries: dict[str, str]) -> dict[str, PolicyConfigValue]:
    return {
        POLICY: PolicyConfigValue("mandatory", {"exceptions": list(entries)}),
        "iam-trust-policy": PolicyConfigValue("mandatory", None),
    }


def accepted_violation(entry: dict[str, str] = ENTRY) -> Violation:
    (exception,) = parse_exceptions(POLICY, [entry]).exceptions
    return violation(ACCEPTED_POLICY, accepted_message(exception, FINDING))


def report_with(violations: list[Violation], today: dt.date, *entries: dict[str, str]) -> StackReport:
    return StackReport(
        stack="dev",
        project="ai-data-processing",
        stack_file=ROOT / "Pulumi.dev.yaml",
        pack_config_file=ROOT / "policy-pack" / "config" / "dev.json",
        pack_name="iam-least-privilege",
        pack_version="0.1.0",
        resources=[],
        violations=violations,
        roles={},
        preview_verifiable_level="advisory",
        policy_levels={POLICY: "mandatory", ACCEPTED_POLICY: "advisory"},
        exceptions=summarize(violations, pack_config(*entries), today),
    )


def test_summary_ties_each_accepted_finding_to_its_configured_exception() -> None:
    summary = summarize(
        [accepted_violation(), accepted_violation()], pack_config(ENTRY), dt.date(2026, 12, 1)
    )
    (accepted,) = summary.accepted  # the same acceptance twice (preview and update) is listed once
    assert accepted.exception.resource == "vendor-sync-*"
    assert (accepted.finding, accepted.urn, accepted.role) == (FINDING, URN, "vendor-sync")
    assert summary.expiring_soon == ()
    assert [e.id for e in summarize([], pack_config(ENTRY), dt.date(2027, 1, 17)).expiring_soon] == ["EX-12"]
    assert summarize([], pack_config(ENTRY), dt.date(2027, 1, 16)).expiring_soon == ()
    assert summarize([], pack_config(ENTRY), dt.date(2027, 1, 31)).expiring_soon == ()  # expired, not soon


def test_an_acceptance_by_an_exception_missing_from_the_config_keeps_what_the_message_says() -> None:
    summary = summarize([accepted_violation()], pack_config(), dt.date(2026, 12, 1))
    (accepted,) = summary.accepted
    assert (accepted.exception.id, accepted.exception.owner, accepted.exception.resource) == (
        "EX-12",
        "ml-platform",
        "",
    )


def test_invalid_config_entries_are_reported_in_the_summary() -> None:
    summary = summarize([], pack_config({**ENTRY, "owner": ""}), dt.date(2026, 12, 1))
    assert summary.configured == ()
    assert summary.problems == (f"{POLICY}.exceptions[0] (EX-12): owner must be a non-empty string",)


def test_a_malformed_pinned_date_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IAM_PACK_TODAY", "31.01.2027")
    with pytest.raises(ConfigurationError, match=r"IAM_PACK_TODAY='31\.01\.2027'"):
        summarize([], pack_config())


def test_text_and_json_list_accepted_and_expiring_exceptions() -> None:
    report = report_with([accepted_violation()], dt.date(2027, 1, 20), ENTRY)
    text = render_text([report], 0.0)
    assert "no policy violations" in text
    assert "accepted by exception (1) -- reported, not blocking" in text
    assert f"~ {POLICY}  role vendor-sync, vendor-sync-s3" in text
    assert "EX-12 (ml-platform, expires 2027-01-31, 11 days left): vendor lists buckets until v3" in text
    assert "exceptions expiring within 14 days (1)" in text
    stack = to_json([report], 0.0)["stacks"][0]
    assert stack["exceptions"]["accepted"][0]["daysLeft"] == 11
    assert stack["exceptions"]["expiringSoon"][0]["id"] == "EX-12"


def test_without_a_summary_accepted_findings_are_still_listed_as_advisories() -> None:
    report = report_with([accepted_violation()], dt.date(2026, 12, 1), ENTRY)
    report.exceptions = None
    text = render_text([report], 0.0)
    assert f"! {ACCEPTED_POLICY}" in text and "accepted by exception EX-12" in text


def test_sarif_result_is_the_finding_of_its_own_policy_with_an_external_accepted_suppression() -> None:
    report = report_with(
        [accepted_violation(), violation(POLICY, "[high] another finding", "mandatory")],
        dt.date(2026, 12, 1),
        ENTRY,
    )
    sarif = to_sarif([report], Path(ROOT))
    run = sarif["runs"][0]
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == [POLICY]
    assert run["tool"]["driver"]["rules"][0]["shortDescription"]["text"] == f"{POLICY} description"
    suppressed, open_alert = sorted(run["results"], key=lambda r: "suppressions" not in r)
    assert suppressed["ruleId"] == POLICY and suppressed["level"] == "error"
    assert suppressed["message"]["text"] == f"[dev] {POLICY} (role vendor-sync): {FINDING}"
    assert suppressed["suppressions"] == [
        {
            "kind": "external",
            "status": "accepted",
            "justification": "EX-12 (ml-platform, expires 2027-01-31): vendor lists buckets until v3",
            "properties": {"exceptionId": "EX-12", "owner": "ml-platform", "expires": "2027-01-31"},
        }
    ]
    assert "suppressions" not in open_alert


def test_the_live_cli_events_are_summarised_the_same_way() -> None:
    """The CLI's policy events carry the policy description before the message; acceptance survives it."""
    (exception,) = parse_exceptions(POLICY, [ENTRY]).exceptions
    event = {
        "resourceUrn": URN,
        "message": "Findings accepted by a reviewed exception.\n" + accepted_message(exception, FINDING),
        "policyName": ACCEPTED_POLICY,
        "enforcementLevel": "advisory",
    }
    lines = [json.dumps({"sequence": 1, "policyEvent": event})]
    violations = violations_from_events(policy_events(lines), [URN], {"vendor-sync"}, "advisory")
    (accepted,) = summarize(violations, pack_config(ENTRY), dt.date(2026, 12, 1)).accepted
    assert accepted.exception.resource == "vendor-sync-*" and accepted.finding == FINDING
    assert not violations[0].counts_as_failure
