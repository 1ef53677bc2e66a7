"""The life of one exception through the offline check (real program, real pack, pinned date): the
failing check, the exception added to the pack config, the passing check that lists it (text, JSON,
SARIF suppression), the expiring-soon warning, and the check failing again after the expiry date."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pipeline import ROOT
from pipeline.errors import ConfigurationError
from pipeline.preview.check import check_stack
from pipeline.preview.report import render_text, to_json, to_sarif

POLICY = "iam-managed-policy-attachments"
ATTACHMENT = "ingest-worker-managed-AmazonS3ReadOnlyAccess"
EXCEPTION = {
    "id": "EX-12",
    "resource": "ingest-worker-managed-*",
    "match": "AmazonS3ReadOnlyAccess",
    "reason": "vendor import reads every landing bucket until its v3 release",
    "owner": "ml-platform",
    "expires": "2027-01-31",
}


@pytest.fixture
def story(tmp_path: Path) -> dict[str, Path]:
    """dev with ingest-worker attaching AmazonS3ReadOnlyAccess; dev's pack config with and without EX-12."""
    text = (ROOT / "Pulumi.dev.yaml").read_text(encoding="utf-8")
    marker = "  ai-data-processing:roles:\n    - name: ingest-worker\n"
    assert marker in text
    head, _, rest = text.partition(marker)
    rest = rest.replace(
        "managedPolicyArns: []", "managedPolicyArns: [arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess]", 1
    )
    stack_file = tmp_path / "Pulumi.dev.yaml"
    stack_file.write_text(head + marker + rest, encoding="utf-8")
    config = json.loads((ROOT / "policy-pack" / "config" / "dev.json").read_text(encoding="utf-8"))
    without = tmp_path / "without" / "dev.json"
    without.parent.mkdir()
    without.write_text(json.dumps(config), encoding="utf-8")
    entry = config.get(POLICY)
    entry = {"enforcementLevel": entry} if isinstance(entry, str) else dict(entry or {})
    entry["exceptions"] = [EXCEPTION]
    config[POLICY] = entry
    with_exception = tmp_path / "with" / "dev.json"
    with_exception.parent.mkdir()
    with_exception.write_text(json.dumps(config), encoding="utf-8")
    return {"stack": stack_file, "without": without, "with": with_exception}


def check(story: dict[str, Path], config: str, today: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("IAM_PACK_TODAY", today)
    return check_stack("dev", stack_file=story["stack"], pack_config_file=story[config])


def test_without_the_exception_the_attachment_blocks(
    story: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    report = check(story, "without", "2026-12-01", monkeypatch)
    assert not report.passed
    assert [(v.policy, v.resource_name) for v in report.mandatory_failures] == [(POLICY, ATTACHMENT)]
    assert report.exceptions is not None and report.exceptions.accepted == ()


def test_with_the_exception_the_check_passes_and_lists_it(
    story: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    report = check(story, "with", "2026-12-01", monkeypatch)
    assert report.passed, [v.message for v in report.mandatory_failures]
    text = render_text([report], 0.0)
    assert "accepted by exception (1) -- reported, not blocking" in text
    assert f"~ {POLICY}  role ingest-worker, {ATTACHMENT}" in text
    assert "EX-12 (ml-platform, expires 2027-01-31, 61 days left): vendor import reads every landing" in text
    assert "expiring within" not in text

    (accepted,) = to_json([report], 0.0)["stacks"][0]["exceptions"]["accepted"]
    assert accepted["id"] == "EX-12" and accepted["policy"] == POLICY
    assert accepted["resource"] == "ingest-worker-managed-*" and accepted["match"] == "AmazonS3ReadOnlyAccess"
    assert accepted["role"] == "ingest-worker" and accepted["urn"].endswith(f"::{ATTACHMENT}")
    assert accepted["daysLeft"] == 61 and "AmazonS3ReadOnlyAccess" in accepted["finding"]


def test_sarif_carries_the_accepted_finding_as_suppressed(
    story: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    report = check(story, "with", "2026-12-01", monkeypatch)
    results = to_sarif([report])["runs"][0]["results"]
    assert not [r for r in results if r["ruleId"] == "iam-accepted-exceptions"]
    (suppressed,) = [r for r in results if r.get("suppressions")]
    assert suppressed["ruleId"] == POLICY
    assert suppressed["level"] == "error"  # the finding's own level: mandatory in dev
    assert "AmazonS3ReadOnlyAccess" in suppressed["message"]["text"]
    (suppression,) = suppressed["suppressions"]
    assert suppression["kind"] == "external" and suppression["status"] == "accepted"
    assert suppression["justification"] == f"EX-12 (ml-platform, expires 2027-01-31): {EXCEPTION['reason']}"
    # The same fingerprint as the unaccepted finding, so code scanning links the two.
    failing = to_sarif([check(story, "without", "2026-12-01", monkeypatch)])["runs"][0]["results"]
    (open_alert,) = [r for r in failing if r["ruleId"] == POLICY]
    assert open_alert["partialFingerprints"] == suppressed["partialFingerprints"]
    assert "suppressions" not in open_alert


def test_expiring_soon_is_listed(story: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    report = check(story, "with", "2027-01-20", monkeypatch)
    assert report.passed
    text = render_text([report], 0.0)
    assert "exceptions expiring within 14 days (1)" in text
    scope = "(resource ingest-worker-managed-*, match AmazonS3ReadOnlyAccess)"
    assert f"EX-12 iam-managed-policy-attachments {scope}" in text
    soon = to_json([report], 0.0)["stacks"][0]["exceptions"]["expiringSoon"]
    assert [(e["id"], e["daysLeft"]) for e in soon] == [("EX-12", 11)]


def test_after_the_expiry_date_the_check_fails_again(
    story: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    report = check(story, "with", "2027-01-31", monkeypatch)
    assert not report.passed
    (failure,) = [v for v in report.mandatory_failures if v.policy == POLICY]
    assert "exception EX-12 (ml-platform) expired on 2027-01-31: no longer applies" in failure.message
    assert report.exceptions is not None and report.exceptions.accepted == ()
    expired = [v for v in report.violations if v.policy == "iam-exceptions"]
    assert expired and "expired on 2027-01-31" in expired[0].message
    assert not [r for r in to_sarif([report])["runs"][0]["results"] if r.get("suppressions")]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"owner": None}, f"{POLICY}: exceptions.0: owner is required"),
        (
            {"expires": "2027-02-30"},
            "invalid exception: iam-managed-policy-attachments.exceptions[0] (EX-12): ",
        ),
        ({"resource": "*"}, "matches every resource"),
    ],
)
def test_an_invalid_exception_stops_the_check_naming_file_and_entry(
    story: dict[str, Path], monkeypatch: pytest.MonkeyPatch, change: dict[str, Any], message: str
) -> None:
    config = json.loads(story["with"].read_text(encoding="utf-8"))
    entry = {k: v for k, v in {**EXCEPTION, **change}.items() if v is not None}
    config[POLICY]["exceptions"] = [entry]
    story["with"].write_text(json.dumps(config), encoding="utf-8")
    with pytest.raises(ConfigurationError) as err:
        check(story, "with", "2026-12-01", monkeypatch)
    assert str(story["with"]) in str(err.value) and message in str(err.value)
