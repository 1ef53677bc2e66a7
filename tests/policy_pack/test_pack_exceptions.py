"""Reviewed exceptions through the real pack: started as the CLI starts it, in its own venv, configured
from a pack config reconciled against its schemas, and driven over gRPC by the pipeline's pack client.

Today is pinned with IAM_PACK_TODAY, so expiry is tested on a fixed clock.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from pipeline.errors import ConfigurationError
from pipeline.preview.packclient import (
    Diagnostic,
    PolicyPackProcess,
    parse_pack_config,
    reconcile_pack_config,
)
from pipeline.program import RecordedResource

PACK = Path(__file__).resolve().parents[2] / "policy-pack"
PROJECT = "ai-data-processing"
ACCEPTED = "iam-accepted-exceptions"
EXCEPTIONS = "iam-exceptions"
WILDCARD = "iam-no-wildcard-resources"
SENSITIVE = "iam-no-unconstrained-sensitive-access"
BUDGET = "iam-effective-permissions-budget"
TODAY = "2026-12-01"


def urn(resource_type: str, name: str, stack: str = "dev") -> str:
    return f"urn:pulumi:{stack}::{PROJECT}::{resource_type}::{name}"


ROLE_TYPE = "aws:iam/role:Role"
ROLE_POLICY_TYPE = "aws:iam/rolePolicy:RolePolicy"
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)


def document(*statements: tuple[str, str]) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": a, "Resource": r} for a, r in statements],
        }
    )


def vendor_resources(*statements: tuple[str, str]) -> list[RecordedResource]:
    """Role `vendor-sync` (logical name vendor-sync-role) and its inline RolePolicy vendor-sync-s3."""
    role_urn = urn(ROLE_TYPE, "vendor-sync-role")
    role_props = {"name": "vendor-sync", "assumeRolePolicy": TRUST}
    policy_props = {"name": "vendor-sync-s3", "role": "vendor-sync", "policy": document(*statements)}
    return [
        RecordedResource(ROLE_TYPE, "vendor-sync-role", role_urn, True, None, role_props, role_props),
        RecordedResource(
            ROLE_POLICY_TYPE,
            "vendor-sync-s3",
            urn(ROLE_POLICY_TYPE, "vendor-sync-s3"),
            True,
            None,
            policy_props,
            policy_props,
            dependencies=[role_urn],
            property_dependencies={"role": [role_urn]},
        ),
    ]


def exception(**overrides: Any) -> dict[str, Any]:
    base = {
        "id": "EX-12",
        "resource": "vendor-sync-s3",
        "reason": "vendor reads the landing bucket until its v3 release",
        "owner": "ml-platform",
        "expires": "2027-01-31",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


@pytest.fixture
def run_pack(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Analyze + AnalyzeStack of the given resources with the given pack config, on a pinned date."""
    started: list[PolicyPackProcess] = []

    def run(
        config: dict[str, Any], resources: Sequence[RecordedResource], today: str = TODAY
    ) -> list[Diagnostic]:
        monkeypatch.setenv("IAM_PACK_TODAY", today)
        pack = PolicyPackProcess(PACK, project=PROJECT, stack="dev", dry_run=True, config={})
        started.append(pack)
        pack.wait_ready()
        effective, _ = reconcile_pack_config(pack.get_info(), parse_pack_config(config, "test.json"))
        pack.configure(effective)
        pack.configure_stack()
        return pack.analyze(resources) + pack.analyze_stack(resources)

    yield run
    for pack in started:
        pack.close()


def of(diags: list[Diagnostic], policy: str) -> list[Diagnostic]:
    return [d for d in diags if d.policy_name == policy]


GET_ON_STAR = ("s3:GetObject", "*")
STRICT: dict[str, Any] = {"all": "mandatory", ACCEPTED: "advisory"}
"""Like the stock configs: every policy mandatory, the accepted-findings channel named advisory."""


def test_without_exceptions_the_finding_is_mandatory(run_pack: Any) -> None:
    diags = run_pack({**STRICT}, vendor_resources(GET_ON_STAR))
    (finding,) = of(diags, WILDCARD)
    assert finding.enforcement_level == "mandatory"
    assert of(diags, ACCEPTED) == [] and of(diags, EXCEPTIONS) == []


def test_matching_by_resource_name_reports_the_finding_as_accepted_advisory(run_pack: Any) -> None:
    config = {**STRICT, WILDCARD: {"exceptions": [exception()]}}
    diags = run_pack(config, vendor_resources(GET_ON_STAR))
    assert of(diags, WILDCARD) == []
    (accepted,) = of(diags, ACCEPTED)
    assert accepted.enforcement_level == "advisory"
    assert accepted.detail.startswith(
        "accepted by exception EX-12 (ml-platform, expires 2027-01-31): "
        "vendor reads the landing bucket until its v3 release\n"
        f"finding of {WILDCARD}: [high] policy: Statement[0]: s3:GetObject on *"
    )
    assert accepted.urn == urn(ROLE_POLICY_TYPE, "vendor-sync-s3")
    # Only that policy's finding is accepted: the sensitive-access finding on the same grant stays.
    assert [d.enforcement_level for d in of(diags, SENSITIVE)] == ["mandatory"]
    assert of(diags, EXCEPTIONS) == []


def test_matching_by_urn_glob(run_pack: Any) -> None:
    by_urn = exception(resource="urn:pulumi:dev::*::aws:iam/rolePolicy:RolePolicy::vendor-*")
    diags = run_pack({**STRICT, WILDCARD: {"exceptions": [by_urn]}}, vendor_resources(GET_ON_STAR))
    assert of(diags, WILDCARD) == [] and len(of(diags, ACCEPTED)) == 1
    other_stack = exception(resource="urn:pulumi:prod::*::vendor-*")
    diags = run_pack({**STRICT, WILDCARD: {"exceptions": [other_stack]}}, vendor_resources(GET_ON_STAR))
    assert len(of(diags, WILDCARD)) == 1 and of(diags, ACCEPTED) == []


def test_match_narrows_to_one_finding_on_the_resource(run_pack: Any) -> None:
    resources = vendor_resources(GET_ON_STAR, ("kms:Decrypt", "*"))
    config = {**STRICT, WILDCARD: {"exceptions": [exception(match="kms:Decrypt")]}}
    diags = run_pack(config, resources)
    (still,) = of(diags, WILDCARD)
    assert "s3:GetObject on *" in still.detail and still.enforcement_level == "mandatory"
    (accepted,) = of(diags, ACCEPTED)
    assert "kms:Decrypt on *" in accepted.detail
    # A text match works the same way: only findings whose message contains it.
    text = {**STRICT, WILDCARD: {"exceptions": [exception(match="Statement[1]")]}}
    diags = run_pack(text, resources)
    assert ["s3:GetObject on *" in d.detail for d in of(diags, WILDCARD)] == [True]


def test_expired_exception_no_longer_applies_and_says_so(run_pack: Any) -> None:
    config = {**STRICT, WILDCARD: {"exceptions": [exception()]}}
    assert of(run_pack(config, vendor_resources(GET_ON_STAR), today="2027-01-30"), WILDCARD) == []
    diags = run_pack(config, vendor_resources(GET_ON_STAR), today="2027-01-31")
    (back,) = of(diags, WILDCARD)
    assert back.enforcement_level == "mandatory"
    assert "exception EX-12 (ml-platform) expired on 2027-01-31: no longer applies" in back.detail
    assert of(diags, ACCEPTED) == []
    (expired,) = of(diags, EXCEPTIONS)
    assert "EX-12" in expired.detail and "expired on 2027-01-31" in expired.detail
    assert expired.enforcement_level == "mandatory"


def test_unused_exception_is_reported_at_the_configured_level(run_pack: Any) -> None:
    stale = exception(id="EX-7", resource="legacy-exporter-*")
    config = {
        "all": "mandatory",
        WILDCARD: {"exceptions": [exception(), stale]},
        EXCEPTIONS: "advisory",
    }
    diags = run_pack(config, vendor_resources(GET_ON_STAR))
    (unused,) = of(diags, EXCEPTIONS)
    assert unused.enforcement_level == "advisory"
    assert "EX-7" in unused.detail and "matched no finding" in unused.detail
    assert len(of(diags, ACCEPTED)) == 1  # EX-12 was used


def test_max_days_bounds_the_remaining_lifetime(run_pack: Any) -> None:
    config = {
        "all": "mandatory",
        WILDCARD: {"exceptions": [exception(expires="2027-06-01")]},
        EXCEPTIONS: {"maxDays": 90},
    }
    diags = run_pack(config, vendor_resources(GET_ON_STAR))
    (too_long,) = of(diags, EXCEPTIONS)
    assert "182 days" in too_long.detail and "at most 90 days" in too_long.detail
    assert too_long.enforcement_level == "mandatory"
    config[WILDCARD] = {"exceptions": [exception(expires="2027-03-01")]}
    assert of(run_pack(config, vendor_resources(GET_ON_STAR)), EXCEPTIONS) == []


def test_stack_level_findings_match_by_role_name(run_pack: Any) -> None:
    resources = vendor_resources(("sqs:SendMessage", "arn:aws:sqs:eu-west-1:111111111111:vendor-queue"))
    budget = {"allowedServices": ["s3"], "enforcementLevel": "mandatory"}
    diags = run_pack({**STRICT, BUDGET: budget}, resources)
    (finding,) = of(diags, BUDGET)
    assert "sqs" in finding.detail
    budget["exceptions"] = [exception(id="EX-3", resource="vendor-sync", match="sqs:SendMessage")]
    diags = run_pack({**STRICT, BUDGET: budget}, resources)
    assert of(diags, BUDGET) == []
    (accepted,) = of(diags, ACCEPTED)
    assert accepted.detail.startswith("accepted by exception EX-3 ")
    assert accepted.urn == urn(ROLE_TYPE, "vendor-sync-role")


@pytest.mark.parametrize("missing", ["id", "resource", "reason", "owner", "expires"])
def test_the_schema_rejects_incomplete_exceptions(run_pack: Any, missing: str) -> None:
    pack = PolicyPackProcess(PACK, project=PROJECT, stack="dev", dry_run=True)
    with pack:
        info = pack.get_info()
    given = parse_pack_config({WILDCARD: {"exceptions": [exception(**{missing: None})]}}, "config/dev.json")
    with pytest.raises(ConfigurationError) as err:
        reconcile_pack_config(info, given, "config/dev.json")
    assert f"{WILDCARD}: exceptions.0: {missing} is required" in str(err.value)
    assert "config/dev.json" in str(err.value)


def test_every_finding_policy_declares_exceptions_and_the_meta_policies_do_not(run_pack: Any) -> None:
    with PolicyPackProcess(PACK, project=PROJECT, stack="dev", dry_run=True) as pack:
        info = pack.get_info()
    declaring = {
        p.name for p in info.policies if "exceptions" in (p.config_schema or {}).get("properties", {})
    }
    meta = {ACCEPTED, EXCEPTIONS, "iam-informational-findings"}
    assert declaring == {p.name for p in info.policies} - meta
    assert info.policy(ACCEPTED).enforcement_level == "advisory"
    assert info.policy(ACCEPTED).kind == "stack" and info.policy(EXCEPTIONS).kind == "stack"


def test_an_invalid_exception_never_accepts_and_is_reported(run_pack: Any) -> None:
    """A date the schema's pattern lets through but the calendar does not: fail closed, say why."""
    config = {**STRICT, WILDCARD: {"exceptions": [exception(expires="2027-02-30")]}}
    diags = run_pack(config, vendor_resources(GET_ON_STAR))
    assert [d.enforcement_level for d in of(diags, WILDCARD)] == ["mandatory"]
    assert of(diags, ACCEPTED) == []
    (invalid,) = of(diags, EXCEPTIONS)
    assert f"invalid exception {WILDCARD}.exceptions[0] (EX-12): expires '2027-02-30'" in invalid.detail


def test_a_malformed_pinned_date_is_reported_and_the_utc_date_used(run_pack: Any) -> None:
    config = {**STRICT, WILDCARD: {"exceptions": [exception(expires="2999-01-01")]}}
    diags = run_pack(config, vendor_resources(GET_ON_STAR), today="01/12/2026")
    assert of(diags, WILDCARD) == [] and len(of(diags, ACCEPTED)) == 1
    assert any(
        "IAM_PACK_TODAY='01/12/2026' is not a YYYY-MM-DD date" in d.detail for d in of(diags, EXCEPTIONS)
    )


def test_the_exception_policies_take_no_exceptions(run_pack: Any) -> None:
    config = {**STRICT, EXCEPTIONS: {"exceptions": [exception()]}}
    with PolicyPackProcess(PACK, project=PROJECT, stack="dev", dry_run=True) as pack:
        info = pack.get_info()
    with pytest.raises(ConfigurationError, match=f"policy \"{EXCEPTIONS}\" has no option \"exceptions\""):
        reconcile_pack_config(info, parse_pack_config(config, "config/dev.json"), "config/dev.json")
