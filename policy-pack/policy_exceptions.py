"""Reviewed exceptions: accept one finding of one policy on one resource, with a reason, an owner and
an expiry date.

An exception lives in the per-environment pack config (``--policy-pack-config``), inside the object of the
policy whose finding it accepts::

    "iam-no-wildcard-resources": {
      "enforcementLevel": "mandatory",
      "exceptions": [{"id": "EX-12", "resource": "*vendor-sync*", "match": "s3:ListAllMyBuckets",
                      "reason": "...", "owner": "ml-platform", "expires": "2027-01-31"}]
    }

This module is the whole meaning of that list, shared by the pack and the offline pipeline: parsing and
validation, matching a finding, expiry against an injectable clock, the per-run ledger that finds unused
exceptions, the maximum lifetime, the accepted-finding message format, and when one exception is
*narrower* than another (promotion). It imports only the standard library because the pack's own
virtualenv holds nothing else the pack does not need.

Semantics, precisely:

* ``resource`` is a shell-style glob (``fnmatch``, case-sensitive: ``*``, ``?``, ``[seq]``, ``[!seq]``)
  matched against the logical name and the URN of the resource the finding is reported on, and for
  stack-level findings (which are reported on a role) also against the role's name. A glob with no literal
  character at all (``*``, ``?*``) is refused: an exception names what it accepts.
* ``match`` (optional) narrows the exception to some findings of that policy on that resource. When it is
  shaped like an IAM action (``service:Action``, wildcards allowed) the finding's message must mention that
  action as a whole token, compared case-insensitively as IAM does (``s3:GetObject`` does not match a
  finding about ``s3:GetObjectAcl``; ``s3:Get*`` matches only a finding that names ``s3:Get*`` itself).
  Otherwise it is text the message must contain (case-insensitive). Without ``match`` every finding of the
  policy on the resource is accepted.
* ``expires`` is a date (YYYY-MM-DD). The exception applies strictly before that date; from that day on it
  is expired: the finding is back at its policy's level and its message names the expired exception.
* Today comes from the clock the caller passes; the pack uses :func:`today_from_environment`, which reads
  ``IAM_PACK_TODAY`` (YYYY-MM-DD) when set (tests and documentation runs pin the date with it) and the UTC
  date otherwise.
* Lifetime: without a creation date the only enforceable bound is the remaining lifetime, so with
  ``maxDays`` an exception may expire at most ``maxDays`` days after today. Renewing one is therefore a new,
  reviewed change of the config.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import json
import os
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

EXCEPTIONS_KEY: Final = "exceptions"
TODAY_ENV: Final = "IAM_PACK_TODAY"
REQUIRED_FIELDS: Final = ("id", "resource", "reason", "owner", "expires")
OPTIONAL_FIELDS: Final = ("match",)
EXPIRING_SOON_DAYS: Final = 14
"""Exceptions expiring within this many days are listed as expiring soon by the pipeline check."""

_ID_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
_DATE_PATTERN: Final = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_ONE_LINE_PATTERN: Final = r"^[^\n\r]+$"
_ACTION_SHAPE: Final = re.compile(r"^[A-Za-z0-9-]+:[A-Za-z0-9*?]+$")
_TOKEN_CHARS: Final = r"A-Za-z0-9*?_\-"

EXCEPTION_ITEM_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "required": list(REQUIRED_FIELDS),
    "additionalProperties": False,
    "properties": {
        "id": {
            "type": "string",
            "pattern": _ID_PATTERN,
            "description": "Identifier, unique within the policy (e.g. EX-12); the same id in every "
            "environment that accepts the same risk.",
        },
        "resource": {
            "type": "string",
            "minLength": 1,
            "description": "Shell-style glob matched against the resource's logical name and URN (and, for "
            "stack-level findings, the role name).",
        },
        "match": {
            "type": "string",
            "minLength": 1,
            "description": "Optional: an IAM action the finding must name, or text the finding must contain.",
        },
        "reason": {"type": "string", "minLength": 1, "pattern": _ONE_LINE_PATTERN, "description": "Why."},
        "owner": {"type": "string", "minLength": 1, "pattern": _ONE_LINE_PATTERN, "description": "Who."},
        "expires": {
            "type": "string",
            "pattern": _DATE_PATTERN,
            "description": "YYYY-MM-DD; the exception applies strictly before this date.",
        },
    },
}
EXCEPTIONS_SCHEMA: Final[dict[str, Any]] = {
    "type": "array",
    "items": EXCEPTION_ITEM_SCHEMA,
    "description": "Reviewed exceptions: findings of this policy accepted on named resources until a date. "
    "An accepted finding is reported by the advisory policy iam-accepted-exceptions instead.",
}
MAX_DAYS_SCHEMA: Final[dict[str, Any]] = {
    "type": "integer",
    "minimum": 1,
    "description": "An exception may expire at most this many days after today (absent: no limit).",
}


# --------------------------------------------------------------------------------------------------
# The clock.

Clock = Callable[[], dt.date]


class ClockError(ValueError):
    """``IAM_PACK_TODAY`` is set but is not a YYYY-MM-DD date."""


def parse_date(text: str) -> dt.date:
    """A strict YYYY-MM-DD date (``date.fromisoformat`` alone also accepts other ISO forms)."""
    if not isinstance(text, str) or re.fullmatch(_DATE_PATTERN, text) is None:
        raise ValueError(f"{text!r} is not a YYYY-MM-DD date")
    return dt.date.fromisoformat(text)


def today_from_environment(environ: Mapping[str, str] | None = None) -> dt.date:
    """``IAM_PACK_TODAY`` when set (pinned runs), else today's UTC date. Raises ClockError if malformed."""
    env = os.environ if environ is None else environ
    pinned = env.get(TODAY_ENV, "").strip()
    if not pinned:
        return dt.datetime.now(dt.UTC).date()
    try:
        return parse_date(pinned)
    except ValueError as exc:
        raise ClockError(f"{TODAY_ENV}={pinned!r} is not a YYYY-MM-DD date") from exc


# --------------------------------------------------------------------------------------------------
# Parsing.


@dataclass(frozen=True, slots=True)
class PolicyException:
    """One reviewed exception of one policy: which findings, on which resources, why, who, until when."""

    policy: str
    id: str
    resource: str
    reason: str
    owner: str
    expires: dt.date
    match: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        """Identity across environments: the policy and the id."""
        return (self.policy, self.id)

    def is_expired(self, today: dt.date) -> bool:
        return today >= self.expires

    def days_left(self, today: dt.date) -> int:
        return (self.expires - today).days

    def label(self) -> str:
        """``exception EX-12 (owner, expires 2027-01-31)``."""
        return f"exception {self.id} ({self.owner}, expires {self.expires.isoformat()})"

    def scope(self) -> str:
        """What it accepts, for listings: resource glob and match."""
        return f"resource {self.resource}" + (f", match {self.match}" if self.match else "")

    def to_dict(self) -> dict[str, Any]:
        """The config form (plus the policy), stable for baselines and JSON reports."""
        out: dict[str, Any] = {
            "policy": self.policy,
            "id": self.id,
            "resource": self.resource,
            "reason": self.reason,
            "owner": self.owner,
            "expires": self.expires.isoformat(),
        }
        if self.match is not None:
            out["match"] = self.match
        return out


@dataclass(frozen=True, slots=True)
class ParsedExceptions:
    """A policy's exception list: the valid entries, and one message per invalid entry."""

    exceptions: tuple[PolicyException, ...] = ()
    problems: tuple[str, ...] = ()


def _literal_characters(glob: str) -> str:
    """The characters of a glob that are neither wildcards nor character classes."""
    return "".join(text for kind, text in _glob_tokens(glob) if kind == "lit")


def _entry_problems(entry: Mapping[str, Any]) -> list[str]:
    problems = [f"{name} is required" for name in REQUIRED_FIELDS if name not in entry]
    allowed = set(REQUIRED_FIELDS) | set(OPTIONAL_FIELDS)
    problems += [f"unknown key {key!r}" for key in entry if key not in allowed]
    for name in (*REQUIRED_FIELDS, *OPTIONAL_FIELDS):
        if name in entry and (not isinstance(entry[name], str) or not entry[name].strip()):
            problems.append(f"{name} must be a non-empty string")
    if problems:
        return problems
    if re.fullmatch(_ID_PATTERN, entry["id"]) is None:
        problems.append(f"id {entry['id']!r} must be letters, digits, '.', '_' or '-' (at most 64)")
    for name in ("reason", "owner"):
        if re.fullmatch(_ONE_LINE_PATTERN, entry[name]) is None:
            problems.append(f"{name} must be a single line")
    try:
        parse_date(entry["expires"])
    except ValueError:
        problems.append(f"expires {entry['expires']!r} is not a YYYY-MM-DD date")
    if not _literal_characters(entry["resource"]).strip():
        problems.append(
            f"resource {entry['resource']!r} matches every resource; name the resource the exception is for"
        )
    return problems


def parse_exceptions(policy: str, raw: Any) -> ParsedExceptions:
    """Validate a policy's ``exceptions`` value. Never raises: bad entries come back as problems, each
    naming the policy, the entry's position and, when it has one, its id."""
    if raw is None:
        return ParsedExceptions()
    if isinstance(raw, str | bytes) or not isinstance(raw, Sequence):
        return ParsedExceptions(problems=(f"{policy}.{EXCEPTIONS_KEY}: must be a list of objects",))
    valid: list[PolicyException] = []
    problems: list[str] = []
    seen: set[str] = set()
    for index, entry in enumerate(raw):
        where = f"{policy}.{EXCEPTIONS_KEY}[{index}]"
        if not isinstance(entry, Mapping):
            problems.append(f"{where}: must be an object")
            continue
        if isinstance(entry.get("id"), str) and entry["id"]:
            where += f" ({entry['id']})"
        entry_problems = _entry_problems(entry)
        if not entry_problems and entry["id"] in seen:
            entry_problems.append(f"id {entry['id']} is used twice in {policy}")
        if entry_problems:
            problems.extend(f"{where}: {p}" for p in entry_problems)
            continue
        seen.add(entry["id"])
        valid.append(
            PolicyException(
                policy=policy,
                id=entry["id"],
                resource=entry["resource"],
                reason=entry["reason"].strip(),
                owner=entry["owner"].strip(),
                expires=parse_date(entry["expires"]),
                match=entry.get("match"),
            )
        )
    return ParsedExceptions(tuple(valid), tuple(problems))


def exceptions_from_pack_config(config: Mapping[str, Any]) -> ParsedExceptions:
    """Every policy's exceptions from a whole pack config (``{"<policy>": {"exceptions": [...]}}``).

    Values may be plain dicts (the JSON file) or objects with a ``properties`` mapping (the pipeline's
    parsed ``PolicyConfigValue``)."""
    valid: list[PolicyException] = []
    problems: list[str] = []
    for policy in sorted(config):
        value = config[policy]
        props = value if isinstance(value, Mapping) else getattr(value, "properties", None)
        if not isinstance(props, Mapping) or EXCEPTIONS_KEY not in props:
            continue
        parsed = parse_exceptions(policy, props[EXCEPTIONS_KEY])
        valid.extend(parsed.exceptions)
        problems.extend(parsed.problems)
    return ParsedExceptions(tuple(valid), tuple(problems))


# --------------------------------------------------------------------------------------------------
# Matching a finding.


@dataclass(frozen=True, slots=True)
class FindingSubject:
    """A finding as exceptions see it: the policy reporting it, its message, and where it is reported."""

    policy: str
    message: str
    resource_name: str = ""
    urn: str = ""
    role_name: str | None = None

    def names(self) -> tuple[str, ...]:
        """The strings a resource glob is matched against."""
        return tuple(n for n in (self.resource_name, self.urn, self.role_name) if n)


def is_action_match(match: str) -> bool:
    """Is this ``match`` an IAM action (``service:Action``, wildcards allowed) rather than free text?"""
    return _ACTION_SHAPE.fullmatch(match) is not None


def mentions_action(message: str, action: str) -> bool:
    """Does the message name this action as a whole token (case-insensitive, as IAM compares actions)?"""
    pattern = rf"(?<![{_TOKEN_CHARS}:]){re.escape(action)}(?![{_TOKEN_CHARS}])"
    return re.search(pattern, message, flags=re.IGNORECASE) is not None


def match_accepts(match: str | None, message: str) -> bool:
    """Does an exception's ``match`` accept a finding with this message?"""
    if match is None:
        return True
    if is_action_match(match):
        return mentions_action(message, match)
    return match.casefold() in message.casefold()


def resource_accepts(glob: str, subject: FindingSubject) -> bool:
    """Does the resource glob match the resource's name, its URN, or (stack findings) the role name?"""
    return any(fnmatch.fnmatchcase(name, glob) for name in subject.names())


def applies_to(exception: PolicyException, subject: FindingSubject) -> bool:
    """Same policy, resource glob matches, ``match`` accepts the message (expiry is checked separately)."""
    return (
        exception.policy == subject.policy
        and resource_accepts(exception.resource, subject)
        and match_accepts(exception.match, subject.message)
    )


@dataclass(frozen=True, slots=True)
class Decision:
    """What exceptions make of one finding: accepted by one, and/or the expired ones that matched it."""

    accepted_by: PolicyException | None = None
    expired: tuple[PolicyException, ...] = ()


def decide(exceptions: Iterable[PolicyException], subject: FindingSubject, today: dt.date) -> Decision:
    """The first (config order) unexpired exception that applies accepts the finding; expired ones that
    apply are named so the finding can say why it is back."""
    applying = [e for e in exceptions if applies_to(e, subject)]
    active = [e for e in applying if not e.is_expired(today)]
    expired = tuple(e for e in applying if e.is_expired(today))
    return Decision(active[0] if active else None, expired)


# --------------------------------------------------------------------------------------------------
# Messages.

ACCEPTED_PREFIX: Final = "accepted by exception "
_ACCEPTED_FIRST_LINE: Final = re.compile(
    r"^accepted by exception (?P<id>[A-Za-z0-9][A-Za-z0-9_.-]*) \((?P<owner>.*), "
    r"expires (?P<expires>[0-9]{4}-[0-9]{2}-[0-9]{2})\): (?P<reason>.*)$"
)
_ACCEPTED_SECOND_LINE: Final = re.compile(r"^finding of (?P<policy>[A-Za-z0-9_.-]+): (?P<finding>.*)$", re.S)


def accepted_message(exception: PolicyException, finding_message: str) -> str:
    """``accepted by exception EX-12 (owner, expires 2027-01-31): <reason>`` and, on the next line, the
    policy and the finding it accepts."""
    return (
        f"accepted by {exception.label()}: {exception.reason}\n"
        f"finding of {exception.policy}: {finding_message}"
    )


@dataclass(frozen=True, slots=True)
class AcceptedMessage:
    """An accepted finding read back from its message (what the pipeline's report lists)."""

    id: str
    owner: str
    expires: str
    reason: str
    policy: str
    finding: str


def parse_accepted_message(message: str) -> AcceptedMessage | None:
    """The inverse of :func:`accepted_message` (also after a prepended policy description, as the CLI's
    events carry it); None for any other message."""
    start = message.find("\n" + ACCEPTED_PREFIX)
    if not message.startswith(ACCEPTED_PREFIX) and start >= 0:
        message = message[start + 1 :]
    first, _, rest = message.partition("\n")
    head = _ACCEPTED_FIRST_LINE.match(first)
    tail = _ACCEPTED_SECOND_LINE.match(rest)
    if head is None or tail is None:
        return None
    return AcceptedMessage(
        id=head["id"],
        owner=head["owner"],
        expires=head["expires"],
        reason=head["reason"],
        policy=tail["policy"],
        finding=tail["finding"],
    )


def expired_note(expired: Sequence[PolicyException]) -> str:
    """Appended to a finding an expired exception no longer accepts."""
    names = ", ".join(f"{e.id} ({e.owner}) expired on {e.expires.isoformat()}" for e in expired)
    plural = "s" if len(expired) > 1 else ""
    return (
        f" [exception{plural} {names}: no longer applies; fix the finding or renew the exception "
        "through a reviewed config change]"
    )


# --------------------------------------------------------------------------------------------------
# Lifetime and the per-run ledger.


def lifetime_problem(exception: PolicyException, today: dt.date, max_days: int | None) -> str | None:
    """A message when the exception expires more than ``max_days`` days after today."""
    if max_days is None or exception.is_expired(today):
        return None
    left = exception.days_left(today)
    if left <= max_days:
        return None
    return (
        f"{exception.label()} on {exception.policy} ({exception.scope()}) expires {left} days from "
        f"{today.isoformat()}; this environment allows at most {max_days} days. Set an earlier expiry."
    )


@dataclass(frozen=True, slots=True)
class _PolicyEntry:
    raw: str
    parsed: ParsedExceptions


@dataclass(slots=True)
class ExceptionLedger:
    """What one pack process saw in one run: each policy's exceptions (registered when the policy runs,
    from its own config) and which of them matched a finding.

    The engine calls AnalyzeStack once, after Analyze for every resource, in the same pack process
    (preview and update alike), so a stack policy that reads the ledger sees the whole run.
    Thread-safe: the pack's gRPC server runs requests on several threads.
    """

    _policies: dict[str, _PolicyEntry] = field(default_factory=dict)
    _used: set[tuple[str, str]] = field(default_factory=set)
    _accepted: dict[tuple[str, str, str], tuple[PolicyException, FindingSubject]] = field(
        default_factory=dict
    )
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def register(self, policy: str, config: Mapping[str, Any]) -> tuple[PolicyException, ...]:
        """Parse the policy's exceptions from its config (again only when the config changed)."""
        raw = config.get(EXCEPTIONS_KEY)
        key = json.dumps(raw, sort_keys=True, default=str)
        with self._lock:
            entry = self._policies.get(policy)
            if entry is None or entry.raw != key:
                entry = _PolicyEntry(key, parse_exceptions(policy, raw))
                self._policies[policy] = entry
        return entry.parsed.exceptions

    def record(self, exception: PolicyException, subject: FindingSubject, *, accepted: bool) -> None:
        """Note that an exception matched a finding (accepted, or expired and so not applied)."""
        with self._lock:
            self._used.add(exception.key)
            if accepted:
                self._accepted[(exception.policy, subject.urn, subject.message)] = (exception, subject)

    def exceptions(self) -> tuple[PolicyException, ...]:
        with self._lock:
            return tuple(e for entry in self._policies.values() for e in entry.parsed.exceptions)

    def problems(self) -> tuple[str, ...]:
        with self._lock:
            return tuple(p for entry in self._policies.values() for p in entry.parsed.problems)

    def accepted(self) -> list[tuple[PolicyException, FindingSubject]]:
        """Accepted findings of the run, each once (a resource analysed twice is not listed twice)."""
        with self._lock:
            return list(self._accepted.values())

    def unused(self, today: dt.date) -> tuple[PolicyException, ...]:
        """Unexpired exceptions that matched no finding in this run."""
        with self._lock:
            used = set(self._used)
        return tuple(e for e in self.exceptions() if e.key not in used and not e.is_expired(today))

    def expired(self, today: dt.date) -> tuple[PolicyException, ...]:
        """Exceptions past their expiry date (still in the config)."""
        return tuple(e for e in self.exceptions() if e.is_expired(today))


# --------------------------------------------------------------------------------------------------
# Narrower exceptions (promotion): provable inclusion of globs and matches.


def _glob_tokens(glob: str) -> list[tuple[str, str]]:
    """fnmatch's grammar as tokens: ("lit", c), ("one", "?"), ("star", "*"), ("class", "[...]")."""
    tokens: list[tuple[str, str]] = []
    i, n = 0, len(glob)
    while i < n:
        c = glob[i]
        if c == "*":
            if not tokens or tokens[-1][0] != "star":
                tokens.append(("star", "*"))
            i += 1
        elif c == "?":
            tokens.append(("one", "?"))
            i += 1
        elif c == "[":
            j = i + 1
            if j < n and glob[j] == "!":
                j += 1
            if j < n and glob[j] == "]":
                j += 1
            while j < n and glob[j] != "]":
                j += 1
            if j >= n:  # no closing bracket: a literal '[' as fnmatch treats it
                tokens.append(("lit", c))
                i += 1
            else:
                tokens.append(("class", glob[i : j + 1]))
                i = j + 1
        else:
            tokens.append(("lit", c))
            i += 1
    return tokens


def _class_matches(cls: str, char: str) -> bool:
    return fnmatch.fnmatchcase(char, cls)


def _class_chars(cls: str) -> frozenset[str] | None:
    """The characters a non-negated class matches, when that set is small enough to list."""
    if cls.startswith("[!"):
        return None
    body = cls[1:-1]
    chars: set[str] = set()
    i = 0
    while i < len(body):
        if i + 2 < len(body) and body[i + 1] == "-":
            lo, hi = ord(body[i]), ord(body[i + 2])
            if hi - lo > 512:
                return None
            chars.update(chr(c) for c in range(lo, hi + 1))
            i += 3
        else:
            chars.add(body[i])
            i += 1
    return frozenset(chars)


def _token_covered(broad: tuple[str, str], narrow: tuple[str, str]) -> bool:
    """Does one single-character broad token match everything one narrow token can stand for?"""
    kind, text = broad
    nkind, ntext = narrow
    if nkind == "star":
        return False
    if kind == "one":
        return True
    if kind == "lit":
        return nkind == "lit" and ntext == text
    # broad is a class
    if nkind == "lit":
        return _class_matches(text, ntext)
    if nkind == "class":
        if ntext == text:
            return True
        chars = _class_chars(ntext)
        return chars is not None and all(_class_matches(text, c) for c in chars)
    return False


def glob_covers(broad: str, narrow: str) -> bool:
    """True when every string ``narrow`` matches is provably matched by ``broad``.

    The narrow glob is read symbolically: its ``*`` can only be absorbed by a ``*`` of the broad glob, its
    ``?`` by a ``?`` or ``*``, its classes by a ``?``, a ``*`` or a class containing them. This is sound
    (a True answer is always right) and exact for the globs people write; where inclusion holds only
    through a reordering the matcher cannot see (``*?`` versus ``?*``) it answers False, which refuses.
    """
    if broad == narrow:
        return True
    b, c = _glob_tokens(broad), _glob_tokens(narrow)
    memo: dict[tuple[int, int], bool] = {}

    def walk(i: int, j: int) -> bool:
        if (i, j) in memo:
            return memo[(i, j)]
        if i == len(b):
            result = j == len(c)
        elif b[i][0] == "star":
            result = walk(i + 1, j) or (j < len(c) and walk(i, j + 1))
        else:
            result = j < len(c) and _token_covered(b[i], c[j]) and walk(i + 1, j + 1)
        memo[(i, j)] = result
        return result

    return walk(0, 0)


def match_covers(broad: str | None, narrow: str | None) -> bool:
    """True when every finding ``narrow`` accepts is also accepted by ``broad``.

    No match accepts everything; an action accepts findings naming that token, so only the same action
    (case-insensitive) is as narrow; a text accepts messages containing it, so a longer text or an action
    that contains the broad text is narrower. A text is never provably narrower than an action.
    """
    if broad is None:
        return True
    if narrow is None:
        return False
    if is_action_match(broad):
        return is_action_match(narrow) and broad.casefold() == narrow.casefold()
    return broad.casefold() in narrow.casefold()


@dataclass(frozen=True, slots=True)
class Widening:
    """An exception of a candidate environment not covered by the reference: new, or wider, and why."""

    exception: PolicyException
    reference: PolicyException | None
    reasons: tuple[str, ...]

    def describe(self) -> str:
        what = f"{self.exception.id} on {self.exception.policy} ({self.exception.scope()}, expires "
        what += f"{self.exception.expires.isoformat()})"
        return f"{what}: " + "; ".join(self.reasons)

    def to_dict(self) -> dict[str, Any]:
        return {
            "exception": self.exception.to_dict(),
            "reference": self.reference.to_dict() if self.reference else None,
            "reasons": list(self.reasons),
        }


def widening(
    candidate: PolicyException, reference: PolicyException | None, reference_name: str
) -> Widening | None:
    """None when ``reference`` (same policy and id) covers ``candidate``; otherwise why it does not.

    Covered means: same policy, same id, the candidate's resource glob equal to or provably a subset of the
    reference's, its match equal or more specific, and it expires no later.
    """
    if reference is None:
        return Widening(candidate, None, (f"not in {reference_name}",))
    reasons: list[str] = []
    if not glob_covers(reference.resource, candidate.resource):
        reasons.append(
            f"resource {candidate.resource!r} is not within {reference_name}'s {reference.resource!r}"
        )
    if not match_covers(reference.match, candidate.match):
        ref = repr(reference.match) if reference.match else "none"
        got = repr(candidate.match) if candidate.match else "none (every finding)"
        reasons.append(f"match {got} is not as specific as {reference_name}'s {ref}")
    if candidate.expires > reference.expires:
        later = f"expires {candidate.expires.isoformat()}, after {reference_name}'s"
        reasons.append(f"{later} {reference.expires.isoformat()}")
    return Widening(candidate, reference, tuple(reasons)) if reasons else None


def widenings(
    candidate: Iterable[PolicyException], reference: Iterable[PolicyException], reference_name: str
) -> list[Widening]:
    """Every candidate exception that the reference set (matched by policy and id) does not cover."""
    by_key = {e.key: e for e in reference}
    found = (widening(e, by_key.get(e.key), reference_name) for e in candidate)
    return sorted((w for w in found if w is not None), key=lambda w: w.exception.key)
