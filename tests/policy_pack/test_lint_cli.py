"""The lint command line: exit codes, --kind detection, --json shape, --fail-on thresholds."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from least_privilege.__main__ import main

MISMATCH = {
    "Version": "2012-10-17",
    "Statement": [
        {"Sid": "List", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::raw-data/*"}
    ],
}
CLEAN = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::raw-data/incoming/*"}
    ],
}
STAR_ONLY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}],
}
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}
OPEN_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"}],
}
BUCKET = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::111111111111:role/r"},
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::raw-data/*",
        }
    ],
}


def write(tmp_path: Path, name: str, content: Any) -> str:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return str(path)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["lint", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_clean_file_exits_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, write(tmp_path, "clean.json", CLEAN))
    assert code == 0 and "no findings" in out


def test_finding_at_default_threshold_exits_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, write(tmp_path, "m.json", MISMATCH))
    assert code == 1
    assert "[medium] iam-action-resource-match" in out
    assert "use arn:aws:s3:::raw-data, not arn:aws:s3:::raw-data/*" in out


def test_fail_on_threshold(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "m.json", MISMATCH)
    assert run(capsys, path, "--fail-on", "high")[0] == 0
    low = write(tmp_path, "low.json", STAR_ONLY)
    assert run(capsys, low)[0] == 0  # star-only: low, below the default medium
    assert run(capsys, low, "--fail-on", "low")[0] == 1


def test_malformed_json_is_a_finding_not_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, write(tmp_path, "bad.json", "{not json"), "--json")
    assert code == 1 and err == ""
    (entry,) = json.loads(out)["files"]
    assert entry["findings"][0]["rule"] == "iam-well-formed-documents"


def test_json_shape(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    paths = [write(tmp_path, "m.json", MISMATCH), write(tmp_path, "t.json", TRUST)]
    code, out, _ = run(capsys, *paths, "--json")
    data = json.loads(out)
    assert code == 1
    assert [f["path"] for f in data["files"]] == paths
    assert [f["kind"] for f in data["files"]] == ["identity", "trust"]
    finding = data["files"][0]["findings"][0]
    assert set(finding) == {"rule", "severity", "message", "statement", "action", "resource"}
    assert finding["severity"] == "medium" and finding["statement"] == "List"
    assert finding["action"] == "s3:ListBucket" and finding["resource"] == "arn:aws:s3:::raw-data/*"
    assert data["files"][1]["findings"] == []


def test_kind_auto_detection(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    paths = [
        write(tmp_path, "i.json", CLEAN),
        write(tmp_path, "t.json", OPEN_TRUST),
        write(tmp_path, "b.json", BUCKET),
    ]
    _code, out, _ = run(capsys, *paths, "--json")
    assert [f["kind"] for f in json.loads(out)["files"]] == ["identity", "trust", "resource"]
    trust_findings = json.loads(out)["files"][1]["findings"]
    assert trust_findings[0]["severity"] == "critical"


def test_explicit_kind(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "t.json", TRUST)
    code, out, _ = run(capsys, path, "--kind", "identity", "--json")
    entry = json.loads(out)["files"][0]
    assert entry["kind"] == "identity" and code == 1  # Principal in an identity policy is malformed
    assert any(f["rule"] == "iam-well-formed-documents" for f in entry["findings"])


def test_missing_file_exits_two(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _out, err = run(capsys, str(tmp_path / "missing.json"), write(tmp_path, "c.json", CLEAN))
    assert code == 2 and "missing.json" in err


@pytest.mark.parametrize(
    "argv",
    [["lint"], ["lint", "x.json", "--kind", "nope"], ["lint", "x", "--fail-on", "x"], [], ["frobnicate"]],
)
def test_usage_errors_exit_two(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2


def test_stdin(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(json.dumps(MISMATCH).encode())))
    code, out, _ = run(capsys, "-")
    assert code == 1 and "s3:ListBucket" in out


def test_module_entry_point(tmp_path: Path) -> None:
    path = write(tmp_path, "m.json", MISMATCH)
    proc = subprocess.run(
        [sys.executable, "-m", "least_privilege", "lint", path, "--json"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stderr
    assert json.loads(proc.stdout)["files"][0]["findings"][0]["rule"] == "iam-action-resource-match"


BUCKET_POLICY_FOR_222 = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::222222222222:root"},
                   "Action": "s3:GetObject", "Resource": "arn:aws:s3:::acme-raw/in/*"}],
}


def test_account_and_trusted_accounts_decide_external_access(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "b.json", BUCKET_POLICY_FOR_222)

    def external(*extra: str) -> list[dict[str, object]]:
        _code, out, _ = run(capsys, path, "--kind", "resource", "--json", *extra)
        return [f for f in json.loads(out)["files"][0]["findings"] if f["rule"] == "iam-external-access"]

    assert external() == []  # without the account, own and other cannot be told apart
    (finding,) = external("--account", "111111111111")
    assert finding["severity"] == "high" and "222222222222" in str(finding["message"])
    assert external("--account", "111111111111", "--trusted-account", "222222222222") == []


@pytest.mark.parametrize(
    "argv", [["--account", "1111"], ["--account", "111111111111", "--trusted-account", "abc"]]
)
def test_bad_accounts_exit_two_naming_the_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    code, _out, err = run(capsys, write(tmp_path, "b.json", BUCKET_POLICY_FOR_222), *argv)
    assert code == 2 and ("--account" in err or "--trusted-account" in err)
