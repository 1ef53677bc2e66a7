"""Exceptions are access: promotion refuses a prod exception staging does not cover, and any exception a
stage's reviewed baseline does not hold; `baseline --check` lists new and wider ones.

Narrower, as the promotion uses it: same policy and id, resource glob equal or provably a subset, match
equal or more specific, expiring no later.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

import pipeline.promotion.baseline as baseline_mod
import pipeline.promotion.promote as promote_mod
from pipeline.promotion.paths import ProjectPaths
from pipeline.promotion.permissions import baseline_document, dump_baseline
from pipeline.promotion.promote import EXIT_REFUSED, CheckSummary, PromoteRequest, check_invariants, promote
from pipeline.reviewed_exceptions import baseline_entries, load_config_exceptions

POLICY = "iam-managed-policy-attachments"
STACKS = ("dev", "staging", "prod")


def roles_for(env: str) -> dict[str, Any]:
    return {
        "trainer": {
            "permissions": {
                "datasets": {},
                "aiActions": [],
                "managedPolicyArns": [],
                "trustedServices": ["sagemaker.amazonaws.com"],
            }
        }
    }


def exception(**overrides: Any) -> dict[str, Any]:
    base = {
        "id": "EX-12",
        "resource": "ingest-worker-managed-*",
        "match": "AmazonS3ReadOnlyAccess",
        "reason": "vendor import reads every bucket until v3",
        "owner": "ml-platform",
        "expires": "2027-01-31",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


@pytest.fixture
def project(tmp_path: Path) -> ProjectPaths:
    pack = tmp_path / "policy-pack"
    (pack / "config").mkdir(parents=True)
    (pack / "baselines").mkdir()
    for env in STACKS:
        write_config(pack, env, [])
    return ProjectPaths(project_dir=tmp_path, pack_dir=pack)


def write_config(pack: Path, env: str, exceptions: list[dict[str, Any]]) -> None:
    config: dict[str, Any] = {"all": "mandatory"}
    if exceptions:
        config[POLICY] = {"enforcementLevel": "mandatory", "exceptions": exceptions}
    (pack / "config" / f"{env}.json").write_text(json.dumps(config))


def review_baselines(paths: ProjectPaths) -> None:
    """What `pipeline baseline` writes after review: permissions plus the configured exceptions."""
    for env in STACKS:
        entries = baseline_entries(load_config_exceptions(paths.pack_config(env)).exceptions)
        paths.baseline(env).write_text(dump_baseline(baseline_document(env, roles_for(env), entries)))


def invariants(paths: ProjectPaths) -> dict[str, Any]:
    lines: list[str] = []
    found = check_invariants(STACKS, paths, lines.append, {env: roles_for(env) for env in STACKS})
    return {"by_name": {i.name: i for i in found}, "text": "\n".join(lines)}


PROD_VS_STAGING = "prod holds no exception beyond staging"


def test_no_exceptions_anywhere_passes(project: ProjectPaths) -> None:
    review_baselines(project)
    result = invariants(project)
    assert all(i.ok for i in result["by_name"].values())
    assert "exceptions: prod vs staging: nothing new or wider" in result["text"]


def test_prod_may_not_hold_an_exception_staging_does_not(project: ProjectPaths) -> None:
    write_config(project.pack, "prod", [exception()])
    review_baselines(project)
    inv = invariants(project)["by_name"][PROD_VS_STAGING]
    assert not inv.ok
    assert inv.exceptions is not None
    assert [w.reasons for w in inv.exceptions.widened] == [("not in staging",)]


@pytest.mark.parametrize(
    ("prod", "ok", "reason"),
    [
        ({}, True, None),
        ({"resource": "ingest-worker-managed-AmazonS3ReadOnlyAccess"}, True, None),
        ({"match": "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"}, True, None),  # longer text: narrower
        ({"expires": "2027-01-15"}, True, None),
        ({"resource": "ingest-*"}, False, "is not within staging's 'ingest-worker-managed-*'"),
        ({"match": None}, False, "none (every finding) is not as specific"),
        ({"match": "ReadOnly"}, False, "'ReadOnly' is not as specific"),
        ({"expires": "2027-02-01"}, False, "after staging's 2027-01-31"),
        ({"id": "EX-13"}, False, "not in staging"),
    ],
)
def test_prod_exception_must_be_the_same_or_narrower_than_stagings(
    project: ProjectPaths, prod: dict[str, Any], ok: bool, reason: str | None
) -> None:
    write_config(project.pack, "staging", [exception()])
    write_config(project.pack, "prod", [exception(**prod)])
    review_baselines(project)
    inv = invariants(project)["by_name"][PROD_VS_STAGING]
    assert inv.ok is ok
    if reason:
        assert inv.exceptions is not None
        assert any(reason in r for w in inv.exceptions.widened for r in w.reasons), inv.exceptions.lines()


def test_the_same_id_under_another_policy_is_another_exception(project: ProjectPaths) -> None:
    write_config(project.pack, "staging", [exception()])
    config = {"all": "mandatory", "iam-trust-policy": {"exceptions": [exception()]}}
    project.pack_config("prod").write_text(json.dumps(config))
    review_baselines(project)
    assert not invariants(project)["by_name"][PROD_VS_STAGING].ok


def test_an_exception_outside_the_reviewed_baseline_is_refused_until_reviewed(project: ProjectPaths) -> None:
    review_baselines(project)
    write_config(project.pack, "dev", [exception()])
    result = invariants(project)
    inv = result["by_name"]["dev exceptions within its reviewed baseline"]
    assert not inv.ok
    assert "[dev] baseline: 1 exception(s) not in dev.json:" in result["text"]
    assert (
        "EX-12 on iam-managed-policy-attachments" in result["text"]
        and "not in baseline dev" in result["text"]
    )
    review_baselines(project)
    assert invariants(project)["by_name"]["dev exceptions within its reviewed baseline"].ok


def test_widening_a_reviewed_exception_is_refused(project: ProjectPaths) -> None:
    write_config(project.pack, "dev", [exception()])
    review_baselines(project)
    write_config(project.pack, "dev", [exception(resource="*-managed-*")])
    inv = invariants(project)["by_name"]["dev exceptions within its reviewed baseline"]
    assert not inv.ok
    assert inv.exceptions is not None and "is not within baseline dev's" in inv.exceptions.lines()[0]
    # Narrowing needs no review.
    write_config(project.pack, "dev", [exception(resource="ingest-worker-managed-AmazonS3ReadOnlyAccess")])
    assert invariants(project)["by_name"]["dev exceptions within its reviewed baseline"].ok


def test_invalid_exceptions_in_a_config_refuse_the_promotion(project: ProjectPaths) -> None:
    review_baselines(project)
    write_config(project.pack, "prod", [exception(owner=None)])
    inv = invariants(project)["by_name"]["prod exceptions within its reviewed baseline"]
    assert not inv.ok
    assert inv.exceptions is not None and "owner is required" in inv.exceptions.lines()[0]


def test_baseline_check_lists_new_exceptions_and_the_rewrite_records_them(
    project: ProjectPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(baseline_mod, "effective_roles", lambda stack, paths: copy.deepcopy(roles_for(stack)))
    review_baselines(project)
    assert baseline_mod.write_baseline("dev", project, check=True)[0]
    write_config(project.pack, "dev", [exception()])
    up_to_date, text = baseline_mod.write_baseline("dev", project, check=True)
    assert not up_to_date
    assert "exceptions: dev vs baseline dev: 1 new or wider exception(s)" in text
    assert "EX-12 on iam-managed-policy-attachments (resource ingest-worker-managed-*" in text
    baseline_mod.write_baseline("dev", project)
    written = json.loads(project.baseline("dev").read_text())
    assert written["exceptions"] == [{**exception(), "policy": POLICY}]
    assert baseline_mod.write_baseline("dev", project, check=True)[0]


def test_promotion_stops_before_any_stage_on_an_unreviewed_prod_exception(
    project: ProjectPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config(project.pack, "prod", [exception()])
    review_baselines(project)  # reviewed in prod's baseline, but staging does not hold it
    checks: list[str] = []
    monkeypatch.setattr(promote_mod, "effective_roles", lambda stack, paths: copy.deepcopy(roles_for(stack)))
    monkeypatch.setattr(
        promote_mod, "offline_check", lambda s, p: checks.append(s) or CheckSummary((), (), 0)
    )
    lines: list[str] = []
    report = promote(PromoteRequest(target="prod", offline=True, paths=project), emit=lines.append)
    assert report.exit_code == EXIT_REFUSED
    assert checks == []
    assert report.stopped_at == "prod"
    markdown = report.to_dict()["markdown"]
    assert f"### ❌ {PROD_VS_STAGING} (`prod`)" in markdown and "not in staging" in markdown
