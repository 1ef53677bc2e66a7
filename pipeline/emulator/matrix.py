"""Access matrix: each role can do what its stack says, and nothing more, judged by moto.

``python -m pipeline access-matrix --stack dev [--json]``

Why: the policy pack judges documents; this proves their effect. The program runs under mocks (update mode,
``pipeline.program.run_program``) to get the exact role, policy and attachment resources the stack would
deploy. Those are created in moto with IAM authorization enforced, together with the stack's buckets (and
the other environments' buckets, each in its own account, and a foreign bucket in this account), every
role is assumed through STS, and a matrix generated from the stack's declared intent (stack output
``roles``: datasets with bucket, level, prefixes and actions; managed policy attachments) is exercised.

What moto can decide, and what it cannot (each undecidable row is shown, with its reason, and is counted
neither as a pass nor as a mismatch):

* moto evaluates Action and Resource of identity policies (inline and attached, customer- and AWS-managed)
  on every S3, IAM and STS request, and an explicit Deny wins.
* moto 5.2.5 ignores Condition in identity policies: it only compares values the request carries for
  ``sts:ExternalId`` (trust policies). So "list outside the granted prefixes", which our policies deny with
  an ``s3:prefix`` condition, is not decidable; moto would allow it.
* moto's S3 never calls KMS for SSE-KMS (it stores the key id), and it authorizes KMS API calls against
  resource "*", never the key ARN; so a key-scoped KMS grant cannot be judged. KMS rows are not decidable.
* moto does not evaluate resource policies; cross-account access needs the other account's bucket policy
  on AWS, so a read of another environment's bucket that the identity policy allows is not decidable.
  When the identity policy does not allow it, the denial is decidable (on AWS it is denied either way).
* Trust policies with service principals cannot be exercised (a service cannot call the emulator, and
  moto 5.2.5 raises a TypeError evaluating a Service principal). In the emulator every role's trust is
  replaced by one statement trusting only the matrix's test user; the original trust is listed in the
  notes and restored afterwards. Trust policies are judged by the pack (iam-trust-policy).
* Permissions boundaries are not evaluated by moto; a stack that sets one gets a note. AI service actions
  are not exercised (a note says so).

Roles with AWS-managed attachments get their dataset rows twice: as deployed, and as an emulator-only
clone holding only the stack's own policies ("[own policy only]"), so a broken custom grant hidden by a
broad managed policy (the seed's ListBucket on an object ARN, masked by ReadOnlyAccess) still shows.
Expectations for managed attachments come from the pack's snapshot of their documents.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from least_privilege import UNKNOWN_STRING
from least_privilege.analysis import EffectivePermissions, effective_permissions

from pipeline import ROOT
from pipeline.console import table
from pipeline.emulator.moto_aws import (
    DENIED_CODES,
    Credentials,
    Emulator,
    EmulatorError,
    InProcessEmulator,
    MotoServer,
    ServerEmulator,
    managed_policy_data,
)
from pipeline.emulator.rehearsal import REHEARSED_SERVICES, job_probes, seed
from pipeline.emulator.rehearsal import call as rehearsed_call
from shared import PROJECT

ENVIRONMENTS = ("dev", "staging", "prod")

ROLE_T = "aws:iam/role:Role"
POLICY_T = "aws:iam/policy:Policy"
ATTACH_T = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
INLINE_T = "aws:iam/rolePolicy:RolePolicy"

TESTER = "access-matrix-tester"
INSIDE_KEY = "access-matrix/object.txt"
OUTSIDE_PREFIX = "access-matrix-outside/"
ALLOWED, DENIED, ERROR = "allowed", "denied", "error"
PASS, MISMATCH, UNDECIDABLE = "pass", "mismatch", "undecidable"

WHY_CONDITION = (
    "moto ignores Condition in identity policies (s3:prefix on s3:ListBucket), so it cannot tell a "
    "listing outside the granted prefixes from one inside"
)
WHY_KMS = (
    "moto's S3 does not call KMS for SSE-KMS objects and moto authorizes KMS calls against resource '*', "
    "not the key ARN, so a key-scoped KMS grant cannot be judged"
)
WHY_CROSS_ACCOUNT = (
    "the identity policy allows it; on AWS the other account's bucket policy must allow it too, and moto "
    "does not evaluate resource policies"
)


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class Check:
    """One row: a role performing one operation on one resource, and what the stack says should happen."""

    role: str
    operation: str  # API call, e.g. "s3:ListObjectsV2"
    action: str  # the IAM action it needs, e.g. "s3:ListBucket"
    resource: str  # the ARN the action is evaluated on
    expected: str  # ALLOWED | DENIED
    why: str  # which grant (or absence of one) sets the expectation
    params: Mapping[str, str] = field(default_factory=dict)  # Bucket/Key/Prefix/KeyId for the call
    undecidable: str | None = None  # reason the emulator cannot judge this row, if so
    assume: str = ""  # the emulator role to assume, when it is not ``role`` (the own-policy clone)
    blind: str | None = None  # why a denial cannot be judged (moto ignores the resource); allowed is decided

    @property
    def principal(self) -> str:
        return self.assume or self.role


@dataclass(frozen=True)
class Outcome:
    check: Check
    observed: str  # ALLOWED | DENIED | ERROR
    detail: str = ""

    @property
    def status(self) -> str:
        if self.reason:
            return UNDECIDABLE
        return PASS if self.observed == self.check.expected else MISMATCH

    @property
    def reason(self) -> str | None:
        """Why the emulator cannot decide this row (None when it can)."""
        if self.check.undecidable:
            return self.check.undecidable
        if self.check.blind and self.observed != ALLOWED:
            return self.check.blind
        return None


@dataclass
class MatrixResult:
    stack: str
    emulator: str
    outcomes: list[Outcome]
    notes: list[str]

    @property
    def mismatches(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == MISMATCH]

    @property
    def ok(self) -> bool:
        return not self.mismatches

    def counts(self) -> dict[str, dict[str, int]]:
        """Per role: passing rows expected allowed / expected denied, undecidable rows, mismatches."""
        table: dict[str, Counter[str]] = {}
        for o in self.outcomes:
            c = table.setdefault(o.check.role, Counter())
            if o.status == PASS:
                c[o.check.expected] += 1
            else:
                c[o.status] += 1
        return {
            role: {k: c[k] for k in (ALLOWED, DENIED, UNDECIDABLE, MISMATCH)}
            for role, c in sorted(table.items())
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "emulator": self.emulator,
            "ok": self.ok,
            "counts": self.counts(),
            "notes": self.notes,
            "rows": [
                {
                    "role": o.check.role,
                    "operation": o.check.operation,
                    "action": o.check.action,
                    "resource": o.check.resource,
                    "expected": o.check.expected,
                    "observed": o.observed,
                    "status": o.status,
                    "why": o.check.why,
                    "undecidable": o.reason,
                    "detail": o.detail,
                }
                for o in self.outcomes
            ],
        }


@dataclass(frozen=True)
class Recorded:
    """The RecordedResource shape (pipeline.program.RecordedResource), for runs loaded from a JSON fixture."""

    type: str
    name: str
    urn: str
    custom: bool = True
    parent: str | None = None
    inputs: Mapping[str, Any] = field(default_factory=dict)
    outputs: Mapping[str, Any] = field(default_factory=dict)
    dependencies: list[str] = field(default_factory=list)
    property_dependencies: Mapping[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class RecordedRun:
    """The ProgramRun shape, for runs loaded from a JSON fixture (e.g. the seed configuration)."""

    stack: str
    preview: bool
    resources: list[Recorded]
    outputs: Mapping[str, Any]
    config: Mapping[str, Any]


def load_run_file(path: Path) -> RecordedRun:
    """A ProgramRun written as JSON: {stack, config, outputs, resources: [RecordedResource fields]}."""
    raw = json.loads(Path(path).read_text())
    return RecordedRun(
        stack=raw["stack"],
        preview=bool(raw.get("preview", False)),
        resources=[Recorded(**r) for r in raw["resources"]],
        outputs=raw.get("outputs", {}),
        config=raw.get("config", {}),
    )


# --------------------------------------------------------------------------- reading a run


def _json(value: Any) -> Any:
    """Config values and policy inputs arrive JSON-encoded or as objects; accept both."""
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return json.loads(value)
    return value


def _cfg(config: Mapping[str, Any], key: str, default: Any = None) -> Any:
    for k in (f"{PROJECT}:{key}", key):
        if k in config:
            return _json(config[k])
    return default


def _res_name(r: Any) -> str:
    for source in (r.inputs, r.outputs):
        name = source.get("name") if isinstance(source, Mapping) else None
        if isinstance(name, str) and name and name != UNKNOWN_STRING:
            return name
    return str(r.name)


def _of_type(run: Any, type_: str) -> list[Any]:
    return [r for r in run.resources if r.type == type_]


def _role_ref(att: Any, roles: Sequence[Any]) -> str:
    """The role name an attachment points at: via its property dependency, else by value."""
    by_urn = {r.urn: r for r in roles}
    for urn in (att.property_dependencies or {}).get("role", []):
        if urn in by_urn:
            return _res_name(by_urn[urn])
    value = att.inputs.get("role")
    for r in roles:
        if value in (_res_name(r), r.outputs.get("id"), r.outputs.get("arn"), r.name):
            return _res_name(r)
    return str(value)


@dataclass(frozen=True)
class RoleIntent:
    name: str
    datasets: Mapping[str, Mapping[str, Any]]  # logical -> {bucket, level, prefixes, actions}
    managed: tuple[str, ...]
    ai_actions: tuple[str, ...] = ()
    job: Mapping[str, Any] | None = None  # the job profile part (shared.permissions.describe_job)


def role_intents(run: Any) -> list[RoleIntent]:
    """What the stack says each role may do: stack output ``roles`` (derived from config by the program)."""
    roles = run.outputs.get("roles") or {}
    out = []
    for key, info in sorted(roles.items()):
        perms = info.get("permissions", {})
        out.append(
            RoleIntent(
                name=info.get("name") or key,
                datasets=perms.get("datasets", {}),
                managed=tuple(perms.get("managedPolicyArns", [])),
                ai_actions=tuple(perms.get("aiActions", [])),
                job=perms.get("job") or None,
            )
        )
    return out


def stack_buckets(config: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """logical -> {"name", optional "kmsKeyArn"} from the stack's config."""
    buckets = _cfg(config, "buckets", {}) or {}
    return {k: (v if isinstance(v, dict) else {"name": v}) for k, v in buckets.items()}


def attached_managed_arns(run: Any) -> list[str]:
    return sorted(
        {
            a.inputs["policyArn"]
            for a in _of_type(run, ATTACH_T)
            if isinstance(a.inputs.get("policyArn"), str) and ":iam::aws:policy/" in a.inputs["policyArn"]
        }
    )


# --------------------------------------------------------------------------- expectations


def _managed_grant(
    docs: Mapping[str, Mapping[str, Any]], arns: Iterable[str], action: str, resource: str
) -> str:
    """The first attached managed policy that allows the action, or "".

    Used only to set *expectations* for managed attachments (the stack says "ReadOnlyAccess", so its
    reads are expected to work); the engine's own evaluation decides what a document allows.
    """
    for arn in arns:
        doc = docs.get(arn)
        if doc is not None and _permissions_of(arn, doc).allows(action, resource):
            return arn.rsplit("/", 1)[-1]
    return ""


# (arn, id(doc)) -> (doc, its permissions); the doc is kept so its id is never reused for another one.
_PERMISSIONS: dict[tuple[str, int], tuple[Mapping[str, Any], EffectivePermissions]] = {}


def _permissions_of(arn: str, doc: Mapping[str, Any]) -> EffectivePermissions:
    """Expanding a broad managed policy is the costly part; do it once per document per process."""
    key = (arn, id(doc))
    if key not in _PERMISSIONS:
        _PERMISSIONS[key] = (doc, effective_permissions([doc]))
    return _PERMISSIONS[key][1]


def _obj_arn(bucket: str, key: str) -> str:
    return f"arn:aws:s3:::{bucket}/{key}"


def _bucket_arn(bucket: str) -> str:
    return f"arn:aws:s3:::{bucket}"


def inside_key(prefix: str) -> str:
    return f"{prefix}{INSIDE_KEY}"


def outside_key() -> str:
    return f"{OUTSIDE_PREFIX}{INSIDE_KEY}"


@dataclass(frozen=True)
class Layout:
    """Everything the matrix touches besides the roles: buckets per account and the seeded keys."""

    account: str
    region: str
    own_buckets: Mapping[str, Mapping[str, Any]]  # logical -> {name, kmsKeyArn?}
    foreign_bucket: str
    other_envs: Mapping[str, tuple[str, tuple[str, ...]]]  # env -> (account, bucket names)

    def prefixes_by_bucket(self, intents: Sequence[RoleIntent]) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {b["name"]: {""} for b in self.own_buckets.values()}
        out.setdefault(self.foreign_bucket, {""})
        for intent in intents:
            for ds in intent.datasets.values():
                out.setdefault(ds["bucket"], {""}).update(ds.get("prefixes") or [])
        return out


def build_layout(run: Any, project_dir: Path = ROOT) -> Layout:
    """The stack's account and buckets from its config, plus the other environments' (their own files)."""
    config = run.config or {}
    account = str(run.outputs.get("accountId") or _cfg(config, "accountId") or "123456789012")
    region = str(config.get("aws:region") or "us-east-1")
    own = stack_buckets(config)
    if not own:  # fixtures may state buckets only through the roles' datasets
        for intent in role_intents(run):
            for logical, ds in intent.datasets.items():
                own.setdefault(logical, {"name": ds["bucket"]})
    others: dict[str, tuple[str, tuple[str, ...]]] = {}
    project_stack = (project_dir / f"Pulumi.{run.stack}.yaml").is_file()
    for env in ENVIRONMENTS if project_stack else ():  # a fixture run is not one of the project's stacks
        if env == run.stack or not (project_dir / f"Pulumi.{env}.yaml").is_file():
            continue
        other_cfg = _load_config(project_dir, env)
        names = tuple(sorted(b["name"] for b in stack_buckets(other_cfg).values()))
        other_acct = str(_cfg(other_cfg, "accountId"))
        if other_acct == account:
            continue
        others[env] = (other_acct, names)
    return Layout(account, region, own, f"access-matrix-foreign-{account}", others)


def _load_config(project_dir: Path, stack: str) -> Mapping[str, Any]:
    from pipeline.stackconfig import load_stack_config

    return load_stack_config(project_dir, stack)


def build_matrix(
    run: Any, *, layout: Layout | None = None, managed_docs: Mapping[str, Mapping[str, Any]] | None = None
) -> list[Check]:
    """Rows for every role: granted operations (expected allowed) and a ring of non-granted ones.

    Expectations come from the declared intent (stack output ``roles``), never from the documents under
    test, so a document that drifts from intent shows up as a mismatch. Managed attachments add their
    grants to the expectation (documents from the pack's snapshot).
    """
    layout = layout or build_layout(run)
    intents = role_intents(run)
    if managed_docs is None:
        from pipeline.emulator.moto_aws import snapshot_document

        managed_docs = {}
        for arn in {a for i in intents for a in i.managed}:
            doc, _ = snapshot_document(arn)
            if doc is not None:
                managed_docs[arn] = doc
    kms_by_bucket = {b["name"]: b.get("kmsKeyArn") for b in layout.own_buckets.values()}
    rows: list[Check] = []
    for intent in intents:
        rows += _role_rows(intent, layout, managed_docs, kms_by_bucket)
        if intent.managed:
            rows += _role_rows(intent, layout, {}, kms_by_bucket, own_only=True)
        if intent.job:
            rows += _job_rows(intent.name, intent.job, layout)
    return rows


def _job_rows(role: str, job: Mapping[str, Any], layout: Layout) -> list[Check]:
    """The job profile's rehearsal (``pipeline.emulator.rehearsal``) as matrix rows."""
    return [
        Check(
            role=p.principal,
            operation=p.operation,
            action=p.action,
            resource=p.resource,
            expected=ALLOWED if p.allowed else DENIED,
            why=f"job {job['profile']}: {p.why}",
            params=p.params,
            undecidable=p.undecidable,
            blind=p.blind,
        )
        for p in job_probes(role, job, layout.account, layout.region)
    ]


def own_policy_role(role: str) -> str:
    """The emulator-only clone of ``role`` carrying only the stack's own (customer) policies."""
    return f"{role[:53]}-own-policy"


def _role_rows(
    intent: RoleIntent,
    layout: Layout,
    docs: Mapping[str, Mapping[str, Any]],
    kms_by_bucket: Mapping[str, str | None],
    *,
    own_only: bool = False,
) -> list[Check]:
    """The rows for one role. ``own_only``: the dataset rows again, for a clone of the role holding only
    the stack's own policies, so a broken custom grant hidden by a broad managed policy still shows."""
    role = f"{intent.name} [own policy only]" if own_only else intent.name
    assume = own_policy_role(intent.name) if own_only else ""
    who = assume or intent.name
    if own_only:
        intent = RoleIntent(intent.name, intent.datasets, ())
    rows: list[Check] = []

    def expect(action: str, resource: str, granted_by: str) -> tuple[str, str]:
        if granted_by:
            return ALLOWED, granted_by
        via = _managed_grant(docs, intent.managed, action, resource)
        return (ALLOWED, f"via {via}") if via else (DENIED, "not granted")

    def s3_row(
        op: str,
        bucket: str,
        key: str | None,
        prefix: str | None,
        granted_by: str,
        undecidable: str | None = None,
        cross_account: bool = False,
    ) -> None:
        action = {"ListObjectsV2": "s3:ListBucket"}.get(op, f"s3:{op}")
        resource = _bucket_arn(bucket) if key is None else _obj_arn(bucket, key)
        expected, why = expect(action, resource, granted_by)
        if cross_account and expected == ALLOWED:
            undecidable = WHY_CROSS_ACCOUNT
        params = {"Bucket": bucket, **({"Key": key} if key is not None else {"Prefix": prefix or ""})}
        if key is None and prefix:
            resource = f"{resource} (prefix {prefix})"
        rows.append(Check(role, f"s3:{op}", action, resource, expected, why, params, undecidable, assume))

    covered: set[str] = set()
    for logical, ds in sorted(intent.datasets.items()):
        bucket, level = ds["bucket"], ds.get("level", "")
        actions = {a.lower() for a in ds.get("actions", [])}
        granted = set(ds.get("prefixes") or [])
        label = f"dataset {logical} ({level}"
        covered.add(bucket)
        for p in sorted(granted or {""}):
            tag = f"{label}, prefix {p})" if p else f"{label}, whole bucket)"
            has = {
                a: (tag if a in actions else "")
                for a in ("s3:listbucket", "s3:getobject", "s3:putobject", "s3:deleteobject")
            }
            s3_row("ListObjectsV2", bucket, None, p, has["s3:listbucket"])
            s3_row("GetObject", bucket, inside_key(p), None, has["s3:getobject"])
            s3_row("PutObject", bucket, f"{p}access-matrix/put-by-{who}.txt", None, has["s3:putobject"])
            s3_row("DeleteObject", bucket, f"{p}access-matrix/delete-probe.txt", None, has["s3:deleteobject"])
        if granted:
            list_cond = WHY_CONDITION if "s3:listbucket" in actions else None
            s3_row("ListObjectsV2", bucket, None, OUTSIDE_PREFIX, "", undecidable=list_cond)
            s3_row("GetObject", bucket, outside_key(), None, "")
            s3_row("PutObject", bucket, f"{OUTSIDE_PREFIX}put-by-{who}.txt", None, "")
        key_arn = kms_by_bucket.get(bucket)
        if key_arn:
            for op in ("GenerateDataKey", "Decrypt"):
                action = f"kms:{op}"
                expected, why = expect(
                    action, key_arn, f"{label}, SSE-KMS)" if action.lower() in actions else ""
                )
                rows.append(
                    Check(role, action, action, key_arn, expected, why, {"KeyId": key_arn}, WHY_KMS, assume)
                )
    if own_only:
        return rows
    # Buckets of this environment the role has no dataset in, and a bucket outside the stack.
    unrelated = sorted({b["name"] for b in layout.own_buckets.values()} - covered)
    for bucket in [*unrelated, layout.foreign_bucket]:
        s3_row("ListObjectsV2", bucket, None, "", "")
        s3_row("GetObject", bucket, inside_key(""), None, "")
        s3_row("PutObject", bucket, f"access-matrix/put-by-{who}.txt", None, "")
    # Other environments (own accounts).
    for _env, (_acct, names) in sorted(layout.other_envs.items()):
        for bucket in names:
            s3_row("ListObjectsV2", bucket, None, "", "", cross_account=True)
            s3_row("GetObject", bucket, inside_key(""), None, "", cross_account=True)
    # IAM: reading and self-escalation.
    role_arn = f"arn:aws:iam::{layout.account}:role/{role}"
    for op, resource in (("ListRoles", "*"), ("PutRolePolicy", role_arn)):
        action = f"iam:{op}"
        expected, why = expect(action, resource, "")
        rows.append(Check(role, action, action, resource, expected, why, {"RoleName": role}))
    return rows


# --------------------------------------------------------------------------- setting up the emulator


def _trust_for(tester_arn: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "AccessMatrixTester",
                    "Effect": "Allow",
                    "Principal": {"AWS": tester_arn},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )


def _ignore(client: Any, *codes: str) -> contextlib.AbstractContextManager[Any]:
    """Suppress the given AWS error codes (idempotent setup on a long-lived server)."""
    from botocore.exceptions import ClientError

    @contextlib.contextmanager
    def cm() -> Any:
        try:
            yield
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") not in codes:
                raise

    return cm()


def _create_bucket(s3: Any, bucket: str, region: str, keys: Iterable[str]) -> None:
    kwargs: dict[str, Any] = {"Bucket": bucket}
    if region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
    with _ignore(s3, "BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
        s3.create_bucket(**kwargs)
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=b"access-matrix sample\n")


def _seed_buckets(emu: Emulator, layout: Layout, intents: Sequence[RoleIntent], admin: Credentials) -> None:
    s3 = emu.client("s3", admin, layout.region)
    for bucket, pfx in sorted(layout.prefixes_by_bucket(intents).items()):
        keys = {inside_key(p) for p in pfx} | {f"{p}access-matrix/delete-probe.txt" for p in pfx}
        _create_bucket(s3, bucket, layout.region, sorted(keys | {outside_key()}))
    for _env, (acct, names) in sorted(layout.other_envs.items()):
        other = emu.client("s3", emu.admin_credentials(acct), layout.region)
        for bucket in names:
            _create_bucket(other, bucket, layout.region, [inside_key("")])


def _deploy_identity(emu: Emulator, run: Any, admin: Credentials, notes: list[str]) -> None:
    """Create the program's policies, roles, attachments and inline policies exactly as recorded."""
    iam = emu.client("iam", admin)
    for p in _of_type(run, POLICY_T):
        doc = _json(p.inputs.get("policy"))
        kwargs = {"PolicyName": _res_name(p), "PolicyDocument": json.dumps(doc)}
        if p.inputs.get("path"):
            kwargs["Path"] = p.inputs["path"]
        iam.create_policy(**kwargs)
    roles = _of_type(run, ROLE_T)
    for r in roles:
        kwargs = {
            "RoleName": _res_name(r),
            "AssumeRolePolicyDocument": json.dumps(_json(r.inputs["assumeRolePolicy"])),
        }
        if r.inputs.get("maxSessionDuration"):
            kwargs["MaxSessionDuration"] = int(r.inputs["maxSessionDuration"])
        if r.inputs.get("path"):
            kwargs["Path"] = r.inputs["path"]
        if r.inputs.get("permissionsBoundary"):
            notes.append(
                f"role {_res_name(r)}: permissions boundary {r.inputs['permissionsBoundary']} "
                "is not evaluated by moto (not set in the emulator)"
            )
        iam.create_role(**kwargs)
    created = {_res_name(r) for r in roles}
    for a in _of_type(run, ATTACH_T):
        target = _role_ref(a, roles)
        if target not in created:  # e.g. a launcher policy attached to a launcher role outside the stack
            notes.append(
                f"attachment {a.name}: role {target} is outside the stack; not reproduced in the emulator"
            )
            continue
        iam.attach_role_policy(RoleName=target, PolicyArn=a.inputs["policyArn"])
    for ip in _of_type(run, INLINE_T):
        iam.put_role_policy(
            RoleName=_role_ref(ip, roles),
            PolicyName=_res_name(ip),
            PolicyDocument=json.dumps(_json(ip.inputs.get("policy"))),
        )


def _make_own_policy_clones(iam: Any, roles: Iterable[str], trust: str, notes: list[str]) -> dict[str, str]:
    """For each role, an emulator-only copy with its customer-managed and inline policies, and no
    AWS-managed ones; returns clone name -> ARN."""
    made: dict[str, str] = {}
    for name in roles:
        clone = own_policy_role(name)
        made[clone] = iam.create_role(RoleName=clone, AssumeRolePolicyDocument=trust)["Role"]["Arn"]
        for att in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]:
            if ":iam::aws:policy/" not in att["PolicyArn"]:
                iam.attach_role_policy(RoleName=clone, PolicyArn=att["PolicyArn"])
        for pname in iam.list_role_policies(RoleName=name)["PolicyNames"]:
            doc = iam.get_role_policy(RoleName=name, PolicyName=pname)["PolicyDocument"]
            iam.put_role_policy(
                RoleName=clone,
                PolicyName=pname,
                PolicyDocument=doc if isinstance(doc, str) else json.dumps(doc),
            )
        notes.append(
            f"role {name}: emulator-only clone {clone} holds its own (customer) policies without the "
            "AWS-managed attachments, for the [own policy only] rows"
        )
    return made


def _drop_clones(iam: Any, clones: Iterable[str]) -> None:
    for clone in clones:
        for att in iam.list_attached_role_policies(RoleName=clone)["AttachedPolicies"]:
            iam.detach_role_policy(RoleName=clone, PolicyArn=att["PolicyArn"])
        for pname in iam.list_role_policies(RoleName=clone)["PolicyNames"]:
            iam.delete_role_policy(RoleName=clone, PolicyName=pname)
        iam.delete_role(RoleName=clone)


def _prepare_roles(
    emu: Emulator, run: Any, admin: Credentials, clone_for: Iterable[str], notes: list[str]
) -> tuple[Credentials, dict[str, str], dict[str, str]]:
    """Create the tester user, make each role trust only it, and build the own-policy clones.

    Returns the tester's keys, every assumable role name -> ARN, and the original trusts (for restore).
    """
    iam = emu.client("iam", admin)
    role_names = [_res_name(r) for r in _of_type(run, ROLE_T)]
    arns = {n: iam.get_role(RoleName=n)["Role"]["Arn"] for n in role_names}
    with _ignore(iam, "EntityAlreadyExists"):
        iam.create_user(UserName=TESTER)
    for key in iam.list_access_keys(UserName=TESTER)["AccessKeyMetadata"]:
        iam.delete_access_key(UserName=TESTER, AccessKeyId=key["AccessKeyId"])
    made = iam.create_access_key(UserName=TESTER)["AccessKey"]
    tester_arn = iam.get_user(UserName=TESTER)["User"]["Arn"]
    trust = _trust_for(tester_arn)
    originals: dict[str, str] = {}
    for name in role_names:
        original = iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"]
        originals[name] = original if isinstance(original, str) else json.dumps(original)
        principals = sorted(
            {
                json.dumps(s.get("Principal"), sort_keys=True)
                for s in _listify_statements(_json(originals[name]))
            }
        )
        notes.append(
            f"role {name}: trust {', '.join(principals)} replaced in the emulator by {tester_arn} "
            "(a service cannot call the emulator; moto 5.2.5 cannot evaluate Service principals)"
        )
        iam.update_assume_role_policy(RoleName=name, PolicyDocument=trust)
    arns.update(_make_own_policy_clones(iam, sorted(set(clone_for)), trust, notes))
    iam.put_user_policy(
        UserName=TESTER,
        PolicyName="assume-stack-roles",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": sorted(arns.values())}
                ],
            }
        ),
    )
    return Credentials(made["AccessKeyId"], made["SecretAccessKey"]), arns, originals


def _listify_statements(doc: Any) -> list[Mapping[str, Any]]:
    st = doc.get("Statement", []) if isinstance(doc, Mapping) else []
    return [s for s in (st if isinstance(st, list) else [st]) if isinstance(s, Mapping)]


# --------------------------------------------------------------------------- exercising


def _call(emu: Emulator, creds: Credentials, check: Check, region: str) -> Any:
    p = dict(check.params)
    service, op = check.operation.split(":", 1)
    if service in REHEARSED_SERVICES:
        return rehearsed_call(emu, creds, check.operation, check.params, region)
    client = emu.client(service, creds, region)
    if op == "ListObjectsV2":
        return client.list_objects_v2(Bucket=p["Bucket"], Prefix=p.get("Prefix", ""))
    if op == "GetObject":
        return client.get_object(Bucket=p["Bucket"], Key=p["Key"])["Body"].read()
    if op == "PutObject":
        return client.put_object(Bucket=p["Bucket"], Key=p["Key"], Body=b"written by the access matrix\n")
    if op == "DeleteObject":
        return client.delete_object(Bucket=p["Bucket"], Key=p["Key"])
    if op == "GenerateDataKey":
        return client.generate_data_key(KeyId=p["KeyId"], KeySpec="AES_256")
    if op == "Decrypt":
        return client.decrypt(CiphertextBlob=b"\x01" * 64, KeyId=p["KeyId"])
    if op == "ListRoles":
        return client.list_roles()
    if op == "PutRolePolicy":
        doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
        return client.put_role_policy(
            RoleName=p["RoleName"], PolicyName="escalation-probe", PolicyDocument=json.dumps(doc)
        )
    raise ValueError(f"no call for {check.operation}")


def observe(emu: Emulator, creds: Credentials, check: Check, region: str) -> Outcome:
    """Run one row. Access-denied codes are "denied"; any other error after authorization passed is
    "allowed" for KMS (the key material is not in the emulator) and "error" otherwise."""
    from botocore.exceptions import ClientError

    try:
        _call(emu, creds, check, region)
    except ClientError as err:
        code = str(err.response.get("Error", {}).get("Code", ""))
        status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in DENIED_CODES or status == 403:
            return Outcome(check, DENIED, code)
        if check.operation.startswith("kms:") or check.operation.split(":", 1)[0] in REHEARSED_SERVICES:
            return Outcome(check, ALLOWED, f"authorized, then {code}")
        return Outcome(check, ERROR, f"{code}: {err}")
    return Outcome(check, ALLOWED)


def _assume(emu: Emulator, tester: Credentials, role_arn: str) -> Credentials:
    got = emu.client("sts", tester).assume_role(RoleArn=role_arn, RoleSessionName="access-matrix")[
        "Credentials"
    ]
    return Credentials(got["AccessKeyId"], got["SecretAccessKey"], got["SessionToken"])


def exercise(
    emu: Emulator, run: Any, checks: Sequence[Check], layout: Layout, *, deploy: bool
) -> tuple[list[Outcome], list[str]]:
    """Set up (authorization off), then assume each role and run its rows (authorization on)."""
    notes: list[str] = [f"emulator: {emu.label}; account {layout.account}; region {layout.region}"]
    for arn, source in sorted(emu.managed_sources.items()):
        notes.append(f"managed policy {arn}: document from {source}")
    admin = emu.admin_credentials(layout.account)
    intents = role_intents(run)
    for intent in intents:
        if intent.ai_actions:
            notes.append(
                f"role {intent.name}: AI actions {', '.join(intent.ai_actions)} are not exercised "
                "(each needs a service-specific request, and moto authorizes non-S3 calls against "
                "resource '*' only); the pack judges them"
            )
    _seed_buckets(emu, layout, intents, admin)
    jobs = {intent.name: intent.job for intent in intents if intent.job}
    if jobs:
        seed(emu, admin, layout.region, jobs)
        notes.append(
            "job profiles: ECR, CloudWatch Logs, CloudWatch and Bedrock calls are authorised by moto against "
            "resource '*'; a denied call there is n/d, an allowed one is decided; metric rows are n/d "
            "(conditions ignored, action named monitoring:PutMetricData)"
        )
    if deploy:
        _deploy_identity(emu, run, admin, notes)
    clone_for = sorted({c.role.split(" [")[0] for c in checks if c.assume})
    tester, arns, originals = _prepare_roles(emu, run, admin, clone_for, notes)
    iam = emu.client("iam", admin)
    outcomes: list[Outcome] = []
    try:
        with emu.enforced():
            for principal in sorted({c.principal for c in checks}):
                creds = _assume(emu, tester, arns[principal])
                outcomes += [
                    observe(emu, creds, c, layout.region) for c in checks if c.principal == principal
                ]
    finally:
        # Leave the emulator as the stack deployed it: a server outlives the matrix (local-up, reruns).
        _drop_clones(iam, [own_policy_role(r) for r in clone_for])
        for name, doc in originals.items():
            iam.update_assume_role_policy(RoleName=name, PolicyDocument=doc)
        notes.append("afterwards: original trust policies restored, clones removed")
    return outcomes, notes


def run_matrix(
    stack: str,
    *,
    run: Any = None,
    endpoint: str | None = None,
    deploy: bool = True,
    project_dir: Path = ROOT,
) -> MatrixResult:
    """The whole proof for one stack: program run (update mode) -> emulator -> matrix.

    ``endpoint``: a running moto server (e.g. after ``pulumi up`` against it, then ``deploy=False`` so the
    deployed roles are used as they are); without it an in-process moto is used.
    """
    if run is None:
        from pipeline.program import run_program

        run = run_program(stack, preview=False, project_dir=project_dir)
    layout = build_layout(run, project_dir)
    managed = attached_managed_arns(run)
    checks = build_matrix(run, layout=layout)
    if endpoint:
        server = ServerEmulator(endpoint, layout.region)
        server.managed_sources = {
            arn: f"{src}, if the server was started by `pipeline.emulator.moto_aws serve`"
            for arn, src in managed_policy_data(managed)[1].items()
        }
        outcomes, notes = exercise(
            ServerEmulator(endpoint, layout.region), run, checks, layout, deploy=deploy
        )
        label = f"moto server at {endpoint}"
    else:
        with InProcessEmulator(managed, layout.region) as emu:
            outcomes, notes = exercise(emu, run, checks, layout, deploy=deploy)
            label = emu.label
    return MatrixResult(run.stack if hasattr(run, "stack") else stack, label, outcomes, notes)


# --------------------------------------------------------------------------- output


def render(result: MatrixResult) -> str:
    head = ("role", "operation", "resource", "expected", "observed", "status")
    rows = [
        (
            o.check.role,
            o.check.operation,
            o.check.resource,
            o.check.expected,
            o.observed,
            o.status if o.status != UNDECIDABLE else "n/d",
        )
        for o in result.outcomes
    ]
    out = [f"Access matrix for stack {result.stack} ({result.emulator})", ""]
    out += table([head, *rows], rule=True)
    undecided = [o for o in result.outcomes if o.status == UNDECIDABLE]
    if undecided:
        out += ["", "Not decidable by the emulator (shown, not counted):"]
        for reason in sorted({o.reason or "" for o in undecided}):
            n = sum(1 for o in undecided if o.reason == reason)
            out.append(f"  {n} row(s): {reason}")
    if result.mismatches:
        out += ["", "Mismatches:"]
        out += [
            f"  {o.check.role} {o.check.operation} {o.check.resource}: expected {o.check.expected} "
            f"({o.check.why}), observed {o.observed} {o.detail}".rstrip()
            for o in result.mismatches
        ]
    out += ["", "Per role (passing rows by expectation):"]
    for role, c in result.counts().items():
        out.append(
            f"  {role}: {c[ALLOWED]} allowed, {c[DENIED]} denied, {c[UNDECIDABLE]} not decidable, "
            f"{c[MISMATCH]} mismatch(es)"
        )
    out += ["", "Notes:"] + [f"  - {n}" for n in result.notes]
    out += [
        "",
        f"{'OK' if result.ok else 'FAILED'}: {len(result.mismatches)} mismatch(es) in "
        f"{len(result.outcomes)} rows",
    ]
    return "\n".join(out)


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "access-matrix",
        help="prove each role's access on the moto emulator",
        description="Prove each role's access on the moto emulator with IAM authorization on. "
        "Uses stack dev unless --stack names another.",
    )
    p.add_argument("--stack", default="dev", help="stack to prove (Pulumi.<stack>.yaml); default: dev")
    p.add_argument(
        "--run-file", type=Path, help="a recorded program run (JSON) instead of running the program"
    )
    p.add_argument("--endpoint", help="a running moto server URL (default: in-process moto)")
    p.add_argument(
        "--server", action="store_true", help="start a moto server on a free loopback port for this run"
    )
    p.add_argument(
        "--deployed",
        action="store_true",
        help="with --endpoint: the roles are already deployed there (e.g. by pulumi up)",
    )
    p.add_argument("--json", action="store_true", help="print the matrix as JSON")
    return p


def run(args: argparse.Namespace) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    from pipeline.errors import PipelineError

    try:
        if not args.run_file:
            from pipeline.stackconfig import load_project, require_stacks

            require_stacks(load_project(ROOT), [args.stack])
        program_run = load_run_file(args.run_file) if args.run_file else None
        if args.server:
            pr = program_run
            if pr is None:
                from pipeline.program import run_program

                pr = run_program(args.stack, preview=False)
            with MotoServer(attached_managed_arns(pr)) as server:
                result = run_matrix(args.stack, run=pr, endpoint=server.url)
        else:
            result = run_matrix(args.stack, run=program_run, endpoint=args.endpoint, deploy=not args.deployed)
    except (PipelineError, EmulatorError, BotoCoreError, ClientError, OSError, KeyError, ValueError) as err:
        # A stack file, program or emulator setup problem (e.g. an attachment naming a policy the stack
        # does not create): no verdict exists, so exit 2 with the message, never a traceback.
        print(f"access-matrix: {type(err).__name__}: {err}", file=sys.stderr)
        return 2
    print(json.dumps(result.to_dict(), indent=2) if args.json else render(result))
    return 0 if result.ok else 1
