"""Effective-permission model used by the promotion invariants.

The program exports, per role, what the role can do (stack output ``roles``, built by
``shared.permissions.describe_role``). This module turns that description into a flat set of *grants*
that can be compared between stacks:

* across environments (prod vs staging) the comparison must be environment-neutral: bucket names and the
  account id differ per stack and must not count as a difference, so grants name the *logical* dataset
  and an account-neutral managed-policy ARN. The per-dataset S3/KMS action list is left out there: with
  the same code it follows from the level plus whether that environment's bucket is KMS-encrypted (an
  environment property like the bucket name), and the level itself is compared;
* against a reviewed baseline of the same stack the comparison keeps the bucket name, because pointing a
  dataset at another bucket is new access that a reviewer has not seen.

A grant is *covered* by a reference set when the reference holds the same grant or a broader one (a
prefix grant is covered by a grant on a shorter prefix or on the whole bucket). Only uncovered grants are
reported as new access; grants missing on the compared side are shown for information (narrower access
is always allowed).

Everything here is pure: plain data in, plain data or text out.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pipeline.console import table

KIND_DATASET = "dataset"
KIND_ACTION = "action"
KIND_AI = "ai"
KIND_MANAGED = "managed"
KIND_TRUST = "trust"
KIND_JOB = "job"
KIND_ORDER = (KIND_TRUST, KIND_DATASET, KIND_ACTION, KIND_AI, KIND_MANAGED, KIND_JOB)

# What each part of a job profile (``shared.permissions.describe_job``) grants, as job grant targets.
JOB_PROFILE, JOB_IMAGE, JOB_MODEL, JOB_VPC, JOB_SSM, JOB_LAUNCHER, JOB_ACTION = (
    "profile", "image", "model", "vpc", "ssm", "launcher", "action",
)
_JOB_WORDS = {
    JOB_PROFILE: "runs as job {}",
    JOB_IMAGE: "pulls image {}",
    JOB_MODEL: "invokes model {}",
    JOB_VPC: "creates network interfaces in {}",
    JOB_SSM: "Systems Manager {}",
    JOB_LAUNCHER: "passable by {}",
    JOB_ACTION: "job action {}",
}

WHOLE_BUCKET = ""

_LEVEL_ACCESS: dict[str, tuple[str, ...]] = {
    "read": ("read",),
    "write": ("write",),
    "read-write": ("read", "write"),
}
_ACCOUNT_IN_ARN = re.compile(r"^(arn:[^:]+:iam::)(\d{12})(:)")


class PermissionModelError(ValueError):
    """The ``roles`` data does not have the shape ``shared.permissions.describe_role`` gives; raised so
    callers fail loudly."""


@dataclass(frozen=True, order=True)
class Grant:
    """One unit of access held by one role.

    kind/target/access/scope per kind:
      trust:   target = service principal
      dataset: target = dataset (``raw`` or ``raw=acme-ml-raw-dev``), access = read|write, scope = prefix
      action:  target = dataset reference, access = the s3/kms action
      ai:      access = the AI action
      managed: target = managed policy ARN (account id replaced when environment-neutral)
      job:     target = profile|image|model|vpc|ssm|launcher|action, access = the profile name, image,
               model id, VPC id ("a VPC" when environment-neutral), launcher ARN, or the action
    """

    role: str
    kind: str
    target: str = ""
    access: str = ""
    scope: str = WHOLE_BUCKET

    def covered_by(self, other: Grant) -> bool:
        """True when ``other`` gives at least this access (same grant, or a prefix grant that contains it)."""
        if (self.role, self.kind, self.target, self.access) != (
            other.role,
            other.kind,
            other.target,
            other.access,
        ):
            return False
        return self.scope.startswith(other.scope)

    def describe(self) -> str:
        """Short human text for tables: what the grant allows, without the role."""
        if self.kind == KIND_TRUST:
            return f"assumable by {self.target}"
        if self.kind == KIND_DATASET:
            where = f"{self.target}/{self.scope}*" if self.scope else f"{self.target} (whole bucket)"
            return f"{self.access} {where}"
        if self.kind == KIND_ACTION:
            return f"{self.access} on {self.target}"
        if self.kind == KIND_AI:
            return self.access
        if self.kind == KIND_MANAGED:
            return f"attached {self.target}"
        if self.kind == KIND_JOB and self.target in _JOB_WORDS:
            return _JOB_WORDS[self.target].format(self.access)
        return f"{self.kind} {self.target} {self.access} {self.scope}".strip()

    def sort_key(self) -> tuple[str, int, str, str, str]:
        return (self.role, KIND_ORDER.index(self.kind), self.target, self.access, self.scope)


def neutral_arn(arn: str) -> str:
    """Replace the account id of an IAM ARN so customer-managed policies compare across accounts."""
    return _ACCOUNT_IN_ARN.sub(r"\g<1><account>\g<3>", arn)


def _role_permissions(role_name: str, role: Any) -> Mapping[str, Any]:
    """Accept both a full role output entry ({"permissions": {...}}) and a bare permissions dict."""
    if not isinstance(role, Mapping):
        raise PermissionModelError(f"role {role_name!r}: expected an object, got {type(role).__name__}")
    perms = role.get("permissions", role)
    if not isinstance(perms, Mapping):
        raise PermissionModelError(f"role {role_name!r}: 'permissions' is not an object")
    return perms


def _strings(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise PermissionModelError(f"{where}: expected a list of strings")
    out = [str(v) for v in value]
    return out


def grants_for_role(role_name: str, role: Any, *, neutral: bool) -> set[Grant]:
    """Flatten one role's permissions into grants; ``neutral`` drops bucket names and account ids."""
    perms = _role_permissions(role_name, role)
    grants: set[Grant] = set()
    for service in _strings(perms.get("trustedServices"), f"{role_name}.trustedServices"):
        grants.add(Grant(role_name, KIND_TRUST, service))
    datasets = perms.get("datasets") or {}
    if not isinstance(datasets, Mapping):
        raise PermissionModelError(f"role {role_name!r}: 'datasets' is not an object")
    for logical, ds in sorted(datasets.items()):
        if not isinstance(ds, Mapping):
            raise PermissionModelError(f"role {role_name!r}: dataset {logical!r} is not an object")
        level = str(ds.get("level", ""))
        if level not in _LEVEL_ACCESS:
            raise PermissionModelError(f"role {role_name!r}: dataset {logical!r} has unknown level {level!r}")
        target = logical if neutral else f"{logical}={ds.get('bucket', '')}"
        prefixes = _strings(ds.get("prefixes"), f"{role_name}.datasets.{logical}.prefixes") or [WHOLE_BUCKET]
        for access in _LEVEL_ACCESS[level]:
            for prefix in prefixes:
                grants.add(Grant(role_name, KIND_DATASET, target, access, prefix))
        actions = _strings(ds.get("actions"), f"{role_name}.datasets.{logical}.actions")
        if not neutral:
            grants |= {Grant(role_name, KIND_ACTION, target, action) for action in actions}
    for action in _strings(perms.get("aiActions"), f"{role_name}.aiActions"):
        grants.add(Grant(role_name, KIND_AI, "", action))
    for arn in _strings(perms.get("managedPolicyArns"), f"{role_name}.managedPolicyArns"):
        grants.add(Grant(role_name, KIND_MANAGED, neutral_arn(arn) if neutral else arn))
    return grants | _job_grants(role_name, perms.get("job"), neutral=neutral)


def _job_grants(role_name: str, job: Any, *, neutral: bool) -> set[Grant]:
    """The grants of a role's job profile: the profile, its inputs, its launchers, and (for a baseline)
    the actions it adds to the role and its execution role."""
    if job is None:
        return set()
    if not isinstance(job, Mapping) or not isinstance(job.get("profile"), str):
        raise PermissionModelError(f"role {role_name!r}: 'job' is not an object with a 'profile'")
    where = f"{role_name}.job"

    def grant(target: str, access: str) -> Grant:
        return Grant(role_name, KIND_JOB, target, access)

    grants = {grant(JOB_PROFILE, job["profile"])}
    grants |= {grant(JOB_IMAGE, i) for i in _strings(job.get("images"), f"{where}.images")}
    grants |= {grant(JOB_MODEL, m) for m in _strings(job.get("models"), f"{where}.models")}
    if job.get("vpcId"):
        grants.add(grant(JOB_VPC, "a VPC" if neutral else str(job["vpcId"])))
    if job.get("ssm"):
        grants.add(grant(JOB_SSM, "Session Manager"))
    for arn in _strings(job.get("passableBy"), f"{where}.passableBy"):
        grants.add(grant(JOB_LAUNCHER, neutral_arn(arn) if neutral else arn))
    if not neutral:
        actions = _strings(job.get("actions"), f"{where}.actions")
        actions += _strings(job.get("executionActions"), f"{where}.executionActions")
        grants |= {grant(JOB_ACTION, a) for a in actions}
    return grants


def grants_for_roles(roles: Mapping[str, Any], *, neutral: bool) -> set[Grant]:
    """All grants of a stack's ``roles`` output (or a baseline's ``roles``)."""
    if not isinstance(roles, Mapping):
        raise PermissionModelError("'roles' is not an object")
    out: set[Grant] = set()
    for name, role in roles.items():
        out |= grants_for_role(str(name), role, neutral=neutral)
    return out


def uncovered(grants: Iterable[Grant], reference: Iterable[Grant]) -> list[Grant]:
    """Grants not covered by any reference grant, sorted for stable output."""
    ref = list(reference)
    return sorted((g for g in grants if not any(g.covered_by(r) for r in ref)), key=Grant.sort_key)


@dataclass(frozen=True)
class PermissionDiff:
    """Difference between a candidate stack and a reference (the next-lower stage or a baseline).

    ``added`` is access the candidate has and the reference does not cover: this is what gets refused.
    ``removed`` is access the reference has and the candidate does not: narrower, shown for information.
    """

    candidate: str
    reference: str
    added: tuple[Grant, ...] = field(default_factory=tuple)
    removed: tuple[Grant, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return not self.added

    def rows(self) -> list[tuple[str, str, str, str, str]]:
        """(role, kind, grant, in reference, in candidate) rows, new access first."""
        out = [(g.role, g.kind, g.describe(), "no", "yes") for g in self.added]
        out += [(g.role, g.kind, g.describe(), "yes", "no") for g in self.removed]
        return out

    def to_dict(self) -> dict[str, Any]:
        def enc(g: Grant) -> dict[str, str]:
            return {
                "role": g.role,
                "kind": g.kind,
                "target": g.target,
                "access": g.access,
                "scope": g.scope,
                "grant": g.describe(),
            }

        return {
            "candidate": self.candidate,
            "reference": self.reference,
            "ok": self.ok,
            "added": [enc(g) for g in self.added],
            "removed": [enc(g) for g in self.removed],
        }


def diff_grants(
    candidate: Iterable[Grant], reference: Iterable[Grant], *, candidate_name: str, reference_name: str
) -> PermissionDiff:
    """Compare two grant sets both ways (coverage-aware, so prefix narrowing is not 'new access')."""
    cand, ref = set(candidate), set(reference)
    return PermissionDiff(
        candidate=candidate_name,
        reference=reference_name,
        added=tuple(uncovered(cand, ref)),
        removed=tuple(uncovered(ref, cand)),
    )


def diff_environments(
    candidate_roles: Mapping[str, Any],
    reference_roles: Mapping[str, Any],
    *,
    candidate_name: str,
    reference_name: str,
) -> PermissionDiff:
    """Environment-neutral diff (bucket names and account ids ignored): does candidate grant more?"""
    return diff_grants(
        grants_for_roles(candidate_roles, neutral=True),
        grants_for_roles(reference_roles, neutral=True),
        candidate_name=candidate_name,
        reference_name=reference_name,
    )


# --- baselines -----------------------------------------------------------------------------------------

BASELINE_FORMAT = 1


def _normalise_permissions(perms: Mapping[str, Any]) -> dict[str, Any]:
    """Sorted, deduplicated copy of one role's permissions, so a rewritten baseline diffs minimally."""
    datasets = {}
    for logical, ds in sorted((perms.get("datasets") or {}).items()):
        datasets[logical] = {
            "bucket": ds.get("bucket"),
            "level": ds.get("level"),
            "prefixes": sorted(set(ds.get("prefixes") or [])),
            "actions": sorted(set(ds.get("actions") or [])),
        }
    normalised: dict[str, Any] = {
        "trustedServices": sorted(set(perms.get("trustedServices") or [])),
        "datasets": datasets,
        "aiActions": sorted(set(perms.get("aiActions") or [])),
        "managedPolicyArns": sorted(set(perms.get("managedPolicyArns") or [])),
    }
    job = _normalise_job(perms.get("job"))
    if job is not None:  # a role without a job profile keeps the shape it always had
        normalised["job"] = job
    return normalised


def _normalise_job(job: Any) -> dict[str, Any] | None:
    """Sorted copy of a role's job profile description (None for a role without a job)."""
    if not isinstance(job, Mapping):
        return None
    lists = ("images", "models", "passableBy", "actions", "executionActions")
    return {key: sorted(set(value or [])) if key in lists else value for key, value in sorted(job.items())}


def baseline_document(
    stack: str, roles: Mapping[str, Any], exceptions: Sequence[Mapping[str, Any]] = ()
) -> dict[str, Any]:
    """The reviewed-baseline file content for a stack: each role's approved effective permissions and,
    when the stack's pack config holds any, its reviewed exceptions (a new or wider one is new access)."""
    grants_for_roles(roles, neutral=False)  # validate the shape before writing anything
    doc: dict[str, Any] = {
        "format": BASELINE_FORMAT,
        "stack": stack,
        "note": f"Approved effective permissions of stack {stack}. Regenerate with "
        f"`python -m pipeline baseline --stack {stack}` and review the diff.",
        "roles": {
            name: _normalise_permissions(_role_permissions(name, role))
            for name, role in sorted(roles.items())
        },
    }
    if exceptions:
        doc["exceptions"] = [dict(e) for e in exceptions]
    return doc


def dump_baseline(doc: Mapping[str, Any]) -> str:
    """Stable JSON text (sorted keys, 2-space indent, trailing newline) for a reviewable diff."""
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


def parse_baseline(text: str, *, source: str) -> dict[str, Any]:
    """Read a baseline file; a malformed one is an error naming the file (never silently 'no access')."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PermissionModelError(f"{source}: not valid JSON ({exc})") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("roles"), dict):
        raise PermissionModelError(f"{source}: expected an object with a 'roles' object")
    grants_for_roles(doc["roles"], neutral=False)
    return doc


def diff_baseline(stack: str, roles: Mapping[str, Any], baseline: Mapping[str, Any]) -> PermissionDiff:
    """Access in ``roles`` that the reviewed baseline does not cover (bucket names count here)."""
    return diff_grants(
        grants_for_roles(roles, neutral=False),
        grants_for_roles(baseline["roles"], neutral=False),
        candidate_name=stack,
        reference_name=f"baseline {stack}",
    )


# --- rendering -----------------------------------------------------------------------------------------

_HEADERS = ("Role", "Kind", "Grant")


def render_table(diff: PermissionDiff) -> str:
    """Plain-text table for the terminal; says so explicitly when there is no difference."""
    title = f"{diff.candidate} vs {diff.reference}"
    if not diff.rows():
        return f"{title}: no difference in effective permissions\n"
    headers = (*_HEADERS, diff.reference, diff.candidate)
    lines = [
        f"{title}: {len(diff.added)} grant(s) only in {diff.candidate}, "
        f"{len(diff.removed)} only in {diff.reference}",
        *table([headers, *diff.rows()], rule=True),
    ]
    return "\n".join(lines) + "\n"


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(diff: PermissionDiff) -> str:
    """GitHub-flavoured Markdown (pull-request comment / job summary)."""
    mark = "✅" if diff.ok else "❌"
    head = f"### {mark} Effective permissions: `{diff.candidate}` vs `{diff.reference}`\n\n"
    if not diff.rows():
        return head + "No difference in effective permissions.\n"
    summary = (
        f"{len(diff.added)} grant(s) only in `{diff.candidate}` (refused), "
        f"{len(diff.removed)} only in `{diff.reference}` (narrower, allowed).\n\n"
        if diff.added
        else f"`{diff.candidate}` grants nothing beyond `{diff.reference}`; "
        f"{len(diff.removed)} grant(s) only in `{diff.reference}`.\n\n"
    )
    lines = [
        "| " + " | ".join((*_HEADERS, f"`{diff.reference}`", f"`{diff.candidate}`")) + " |",
        "|" + "---|" * (len(_HEADERS) + 2),
    ]
    for role, kind, grant, ref, cand in diff.rows():
        ref_cell = "✔" if ref == "yes" else "—"
        cand_cell = ("✔" if cand == "yes" else "—") + (" **new**" if ref == "no" else "")
        lines.append(f"| {_md_cell(role)} | {kind} | {_md_cell(grant)} | {ref_cell} | {cand_cell} |")
    return head + summary + "\n".join(lines) + "\n"
