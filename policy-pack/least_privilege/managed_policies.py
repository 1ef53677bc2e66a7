"""The bundled snapshot of AWS managed policies, looked up by ARN.

An attachment of ``arn:aws:iam::aws:policy/ReadOnlyAccess`` says nothing by itself; the engine judges
it by the policy's actual document, taken from ``data/aws-managed-policies.json`` (MIT, see the
``.LICENSE`` file next to it; rebuilt by ``policy-pack/scripts/refresh_managed_policies.py``).

The file is 3.3 MB and the pack starts on every preview, so nothing is read at import time: the
snapshot loads on the first lookup (about 0.05 s) and is kept for the life of the process.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

__all__ = [
    "SNAPSHOT_FILE",
    "all_managed_policies",
    "is_aws_managed",
    "managed_policy_document",
    "snapshot_info",
]

SNAPSHOT_FILE = Path(__file__).resolve().parent / "data" / "aws-managed-policies.json"

# AWS-managed policies live in the "aws" account of any partition, optionally under a path such as
# service-role/ or job-function/. The partition varies (aws, aws-cn, aws-us-gov); the documents are
# the same modulo partition-specific ARNs, so every partition resolves against the one snapshot.
_AWS_MANAGED = re.compile(r"^arn:aws(?:-[a-z]+)*:iam::aws:policy/(?:[^/]+/)*(?P<name>[^/]+)$")


@dataclass(frozen=True, slots=True)
class _Snapshot:
    by_arn: dict[str, dict[str, Any]]
    by_name: dict[str, str]  # policy name -> canonical ARN (names are unique among AWS-managed policies)
    meta: dict[str, Any]


@lru_cache(maxsize=1)
def _snapshot() -> _Snapshot:
    with SNAPSHOT_FILE.open(encoding="utf-8") as handle:
        raw = json.load(handle)
    by_arn: dict[str, dict[str, Any]] = {}
    by_name: dict[str, str] = {}
    for name, entry in raw["policies"].items():
        arn = str(entry["arn"])
        by_arn[arn] = entry
        by_name[name] = arn
    return _Snapshot(by_arn=by_arn, by_name=by_name, meta=dict(raw.get("_meta", {})))


def is_aws_managed(arn: str) -> bool:
    """True for any AWS-managed policy ARN (``arn:aws:iam::aws:policy/...``), whether or not the
    snapshot knows it; does not load the snapshot."""
    return isinstance(arn, str) and _AWS_MANAGED.match(arn) is not None


def _canonical(arn: str) -> str | None:
    match = _AWS_MANAGED.match(arn)
    if match is None:
        return None
    # Normalise the partition so aws-cn / aws-us-gov attachments resolve to the same document.
    return "arn:aws:iam::aws:policy/" + arn.split(":policy/", 1)[1]


def _entry(arn: str) -> dict[str, Any] | None:
    if not isinstance(arn, str):
        return None
    canonical = _canonical(arn)
    if canonical is None:
        return None
    snapshot = _snapshot()
    return snapshot.by_arn.get(canonical)


def managed_policy_document(arn: str) -> dict[str, Any] | None:
    """The latest policy document of an AWS-managed policy, or None when ``arn`` is not an
    AWS-managed ARN or is absent from the snapshot (new or retired policy: callers should report
    that the attachment cannot be judged, not treat it as harmless).

    The returned dict is shared; callers must not mutate it."""
    entry = _entry(arn)
    return None if entry is None else entry["document"]


def managed_policy_version(arn: str) -> tuple[str, str] | None:
    """(version id, last-updated timestamp) of a snapshot policy, for messages; None when unknown."""
    entry = _entry(arn)
    return None if entry is None else (str(entry["version"]), str(entry["updated"]))


def snapshot_info() -> dict[str, Any]:
    """Provenance of the bundled snapshot: ``count``, ``newest_update`` (ISO timestamp), ``source``
    and ``path``. Loads the snapshot."""
    snapshot = _snapshot()
    newest = max((str(e["updated"]) for e in snapshot.by_arn.values()), default=None)
    return {
        "count": len(snapshot.by_arn),
        "newest_update": newest,
        "source": snapshot.meta.get("source", ""),
        "path": str(SNAPSHOT_FILE),
    }


def all_managed_policies() -> Iterator[tuple[str, dict[str, Any]]]:
    """Every (ARN, document) in the snapshot, ordered by policy name."""
    snapshot = _snapshot()
    for name in sorted(snapshot.by_name):
        arn = snapshot.by_name[name]
        yield arn, snapshot.by_arn[arn]["document"]
