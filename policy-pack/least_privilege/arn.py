"""Segment-aware ARN matching and effectively-star detection.

A policy resource (which may hold ``*``/``?`` wildcards, policy variables and unknown-at-preview
parts) "fits" a catalog ARN template when some concrete ARN matches both. Templates are not plain
globs: a placeholder such as ``${BucketName}`` stands for one path segment and never spans ``/``,
otherwise ``arn:aws:s3:::b/*`` would fit the bucket template and ``s3:ListBucket`` on an object ARN
would look valid. A trailing placeholder after a literal in the resource part (``role/${RoleNameWithPath}``,
``${BucketName}/${ObjectName}``, ``log-group:${LogGroupName}``) may span ``/`` because names and keys
legitimately contain it; a placeholder that is the whole resource part (a bucket or topic name) may not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from . import UNKNOWN_SENTINELS
from .catalog import resource_type_prefixes

__all__ = [
    "ParsedArn",
    "effectively_star_reason",
    "has_unknown",
    "is_region_wildcard_on_named_aws_resource",
    "is_wildcard_pattern",
    "parse_arn",
    "resource_fits_template",
]

# Token kinds for the two-pattern intersection: literal char, any single char, one char from a
# class (first char of a placeholder), and a run of chars from a class (``*`` or placeholder tail).
_LIT, _ANY1, _ONE, _RUN = 0, 1, 2, 3
_Token = tuple[int, str | frozenset[str]]

_NOTHING: frozenset[str] = frozenset()
_PLACEHOLDER_RE = re.compile(r"\$\{([^}]*)\}")
_UNKNOWN_RE = re.compile("|".join(re.escape(s) for s in sorted(UNKNOWN_SENTINELS)))
# IAM's escapes for literal special characters inside a policy string.
_ESCAPES = {"${*}": "*", "${?}": "?", "${$}": "$"}


_SENTINEL_MIN_LEN = min(len(s) for s in UNKNOWN_SENTINELS)
_SENTINELS = tuple(sorted(UNKNOWN_SENTINELS))


def has_unknown(text: str) -> bool:
    """True when the string carries a Pulumi unknown-value sentinel (wholly or as a part)."""
    # Plain substring scans: several times faster than one regex alternation on long texts (a document
    # that lists thousands of actions), and most strings are shorter than any sentinel; every sentinel
    # is a UUID, so a string without "-" holds none.
    return len(text) >= _SENTINEL_MIN_LEN and "-" in text and any(map(text.__contains__, _SENTINELS))


def is_wildcard_pattern(text: str) -> bool:
    """True when the resource string uses ``*`` or ``?`` (escapes excluded)."""
    stripped = text
    for esc in _ESCAPES:
        stripped = stripped.replace(esc, "")
    return "*" in stripped or "?" in stripped


@dataclass(frozen=True, slots=True)
class ParsedArn:
    """The six ARN fields; ``resource`` keeps any further colons."""

    partition: str
    service: str
    region: str
    account: str
    resource: str


def parse_arn(text: str) -> ParsedArn | None:
    """Split an ARN into fields, or None when it does not have the six-field shape."""
    parts = text.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        return None
    return ParsedArn(parts[1], parts[2], parts[3], parts[4], parts[5])


# ---------------------------------------------------------------------------------------------------
# Templates


def _template_tokens(template: str) -> tuple[_Token, ...]:
    """Tokenise a catalog template with segment-aware placeholder classes (see module docstring)."""
    pieces: list[tuple[str, str]] = []  # ("lit", text) | ("ph", name)
    pos = 0
    for m in _PLACEHOLDER_RE.finditer(template):
        if m.start() > pos:
            pieces.append(("lit", template[pos : m.start()]))
        pieces.append(("ph", m.group(1)))
        pos = m.end()
    if pos < len(template):
        pieces.append(("lit", template[pos:]))

    tokens: list[_Token] = []
    colons = 0
    resource_start = -1  # token index where the resource part (after the fifth colon) begins
    for idx, (kind, text) in enumerate(pieces):
        if kind == "lit":
            for ch in text:
                tokens.append((_LIT, ch))
                if ch == ":":
                    colons += 1
                    if colons == 5:
                        resource_start = len(tokens)
            continue
        is_last = idx + 1 == len(pieces)
        nxt = pieces[idx + 1][1][0] if not is_last and pieces[idx + 1][0] == "lit" else None
        if colons < 5:
            excluded = frozenset(":")
        elif is_last:
            # A trailing name or key after a literal may contain "/"; a placeholder that is the whole
            # resource part (bucket, topic, queue name) may not.
            excluded = frozenset("/") if len(tokens) == resource_start else _NOTHING
        elif nxt is None:
            excluded = frozenset("/:")  # directly followed by another placeholder
        elif nxt == ":":
            excluded = frozenset(":")
        else:
            excluded = frozenset({nxt, "/"})
        tokens.append((_ONE, excluded))
        tokens.append((_RUN, excluded))
    return tuple(tokens)


@lru_cache(maxsize=8192)
def _template_token_seq(template: str) -> tuple[_Token, ...]:
    return _template_tokens(template)


@lru_cache(maxsize=8192)
def _template_info(template: str) -> tuple[tuple[_Token, ...], re.Pattern[str]]:
    tokens = _template_token_seq(template)
    parts: list[str] = []
    for kind, value in tokens:
        if kind == _LIT:
            parts.append(re.escape(str(value)))
        elif kind == _ONE:
            excl = "".join(sorted(value))  # type: ignore[arg-type]
            parts.append(f"[^{re.escape(excl)}]" if excl else ".")
        elif kind == _RUN:
            excl = "".join(sorted(value))  # type: ignore[arg-type]
            parts.append(f"[^{re.escape(excl)}]*" if excl else ".*")
    return tokens, re.compile("".join(parts), re.DOTALL)


# ---------------------------------------------------------------------------------------------------
# Policy resources


def _resource_tokens(resource: str) -> tuple[tuple[_Token, ...], bool]:
    """Tokenise a policy resource; returns (tokens, is_plain_literal).

    Unknown-at-preview parts and policy variables (``${aws:username}``) are opaque: for *fitting*
    they may be anything (so an unknown never causes a false mismatch); they are never treated as a
    wildcard for star detection (that is ``effectively_star_reason``'s job, which ignores them).
    """
    if "$" not in resource and not has_unknown(resource):
        simple = tuple(
            (_RUN, _NOTHING) if ch == "*" else (_ANY1, "") if ch == "?" else (_LIT, ch) for ch in resource
        )
        return simple, "*" not in resource and "?" not in resource
    tokens: list[_Token] = []
    plain = True
    i = 0
    n = len(resource)
    while i < n:
        m = _UNKNOWN_RE.match(resource, i)
        if m:
            tokens.append((_RUN, _NOTHING))
            plain = False
            i = m.end()
            continue
        ch = resource[i]
        if ch == "$" and resource.startswith("${", i):
            close = resource.find("}", i)
            if close != -1:
                inner = resource[i : close + 1]
                if inner in _ESCAPES:
                    tokens.append((_LIT, _ESCAPES[inner]))
                else:
                    tokens.append((_RUN, _NOTHING))
                    plain = False
                i = close + 1
                continue
        if ch == "*":
            tokens.append((_RUN, _NOTHING))
            plain = False
        elif ch == "?":
            tokens.append((_ANY1, ""))
            plain = False
        else:
            tokens.append((_LIT, ch))
        i += 1
    return tuple(tokens), plain


class TemplateSet:
    """One or many catalog ARN templates (all those of a service) side by side in one bit space, so one
    pass over a policy resource tells which of them it fits: the product automaton of the resource and
    the templates, with the set of reachable template positions as the bits of an integer.

    Template ``k`` owns the bits ``offset[k] .. offset[k] + len(tokens)``; bit ``offset[k] + j`` stands
    for "template k has matched its first ``j`` tokens". A literal or ``?`` of the resource advances
    every position whose token accepts it and stays on every run that absorbs it; a ``*`` can match any
    character a template token needs, so it reaches every later position of the same template (a
    segmented prefix-or in log steps). No transition crosses from one template's bits into the next.
    """

    __slots__ = (
        "any_one", "by_char", "classes", "ends", "full", "literals", "masks", "run", "single", "spread",
        "start", "templates", "tokens_at",
    )

    def __init__(self, templates: tuple[str, ...], sequences: tuple[tuple[_Token, ...], ...]) -> None:
        self.templates = templates
        offset = 0
        starts = ends = single = run = 0
        end_bits: dict[str, int] = {}
        self.tokens_at: list[tuple[int, tuple[_Token, ...]]] = []
        longest = 1
        for template, tokens in zip(templates, sequences, strict=True):
            self.tokens_at.append((offset, tokens))
            starts |= 1 << offset
            for j, (kind, _value) in enumerate(tokens):
                if kind == _RUN:
                    run |= 1 << (offset + j)
                else:
                    single |= 1 << (offset + j)
            end_bits[template] = 1 << (offset + len(tokens))
            ends |= end_bits[template]
            longest = max(longest, len(tokens) + 1)
            offset += len(tokens) + 1
        self.full = (1 << offset) - 1
        self.single, self.run, self.ends = single, run, ends
        self.masks: dict[tuple[str, ...], int] = {(t,): bit for t, bit in end_bits.items()}
        self.by_char: dict[str, tuple[int, int]] = {}
        # Per character, the positions of its literal tokens; per placeholder class (the characters it
        # excludes), the positions of its first-character and run tokens.
        self.literals: dict[str, int] = {}
        self.classes: dict[frozenset[str], tuple[int, int]] = {}
        self.any_one = 0
        for base, tokens in self.tokens_at:
            for j, (kind, value) in enumerate(tokens):
                bit = 1 << (base + j)
                if kind == _LIT:
                    self.literals[value] = self.literals.get(value, 0) | bit  # type: ignore[index]
                elif kind == _ANY1:
                    self.any_one |= bit
                else:
                    one, runs = self.classes.get(value, (0, 0))  # type: ignore[arg-type]
                    self.classes[value] = (one | bit, runs) if kind == _ONE else (one, runs | bit)  # type: ignore[index]
        allowed = self.full & ~starts  # a bit that may be reached from the bit below it
        spread: list[tuple[int, int]] = []
        shift = 1
        while shift < longest:
            spread.append((shift, allowed))
            allowed &= allowed << shift
            shift *= 2
        self.spread = tuple(spread)
        self.start = self.close(starts)

    def mask(self, templates: tuple[str, ...]) -> int:
        """The end bits of ``templates`` (each must be one of this set's)."""
        found = self.masks.get(templates)
        if found is None:
            found = 0
            for template in templates:
                found |= self.masks[(template,)]
            self.masks[templates] = found
        return found

    def for_char(self, ch: str) -> tuple[int, int]:
        """(positions whose one-character token accepts ``ch``, runs that absorb it)."""
        found = self.by_char.get(ch)
        if found is None:
            accept = self.literals.get(ch, 0) | self.any_one
            absorb = 0
            for excluded, (one, run) in self.classes.items():
                if ch not in excluded:  # a placeholder class: everything but a few separators
                    accept |= one
                    absorb |= run
            found = self.by_char[ch] = (accept, absorb)
        return found

    def close(self, mask: int) -> int:
        """Add the positions reachable by letting runs match nothing."""
        while True:
            wider = mask | ((mask & self.run) << 1)
            if wider == mask:
                return mask
            mask = wider

    def fill(self, mask: int) -> int:
        """Every position of each template at or after its first position in ``mask``."""
        for shift, allowed in self.spread:
            mask |= (mask << shift) & allowed
        return mask


@lru_cache(maxsize=4096)
def template_set(templates: tuple[str, ...]) -> TemplateSet:
    """The (cached) TemplateSet of these catalog templates."""
    return TemplateSet(templates, tuple(_template_token_seq(t) for t in templates))


@lru_cache(maxsize=8192)
def _token_set(tokens: tuple[_Token, ...]) -> TemplateSet:
    """A TemplateSet of one already tokenised template."""
    return TemplateSet(("",), (tokens,))


# A policy resource as the intersection reads it: its runs of literals and ``?`` between ``*``s, with
# None for each ``*`` (consecutive ones collapsed). A run of plain literal characters may be given as
# a string.
_Segments = tuple[tuple[_Token, ...] | str | None, ...]


def _segments(tokens: tuple[_Token, ...]) -> _Segments:
    out: list[tuple[_Token, ...] | None] = []
    current: list[_Token] = []
    for token in tokens:
        if token[0] == _RUN:
            if current:
                out.append(tuple(current))
                current = []
            if not out or out[-1] is not None:
                out.append(None)
        else:
            current.append(token)
    if current:
        out.append(tuple(current))
    return tuple(out)


@lru_cache(maxsize=65536)
def _advance(templates: TemplateSet, segment: tuple[_Token, ...], reach: int) -> int:
    """The positions reachable after ``segment`` (literals and ``?``) from ``reach``. Memoised per
    document content: one resource's prefix (``arn:aws:sagemaker:``) recurs across its siblings."""
    for token in segment:
        if isinstance(token, str):  # a literal character
            accept, absorb = templates.for_char(token)
        elif token[0] == _LIT:
            accept, absorb = templates.for_char(token[1])  # type: ignore[arg-type]
        else:  # "?": any one character
            accept, absorb = templates.single, templates.run
        reach = templates.close(((reach & accept) << 1) | (reach & absorb))
        if not reach:
            return 0
    return reach


def _reach(segments: _Segments, templates: TemplateSet) -> int:
    """The positions reachable after the whole resource."""
    reach = templates.start
    for segment in segments:
        if segment is None:
            reach = templates.fill(reach)
        else:
            reach = _advance(templates, segment, reach)
            if not reach:
                return 0
    return reach


def _intersects_segments(segments: _Segments, template: tuple[_Token, ...]) -> bool:
    """Is there a string matched by both the policy resource (as segments) and the tokenised template?"""
    templates = _token_set(template)
    return bool(_reach(segments, templates) & templates.ends)


def _intersects(resource: tuple[_Token, ...], template: tuple[_Token, ...]) -> bool:
    """Is there a string matched by both token sequences (a policy resource's: literals, ``?`` and
    ``*``; a catalog template's: literals and placeholder classes)?"""
    return _intersects_segments(_segments(resource), template)


@lru_cache(maxsize=16384)
def _resource_pieces(resource: str) -> tuple[bool, str, _Segments]:
    """(plain literal?, its text when plain, its segments otherwise) of a policy resource."""
    if "$" not in resource and "?" not in resource and not has_unknown(resource):
        if "*" not in resource:
            return True, resource, ()
        pieces = resource.split("*")
        segments: list[str | None] = []
        for n, piece in enumerate(pieces):
            if piece:
                segments.append(piece)
            if n + 1 < len(pieces) and (not segments or segments[-1] is not None):
                segments.append(None)
        return False, "", tuple(segments)
    tokens, plain = _resource_tokens(resource)
    if plain:
        return True, "".join(str(v) for _, v in tokens), ()
    return False, "", _segments(tokens)


@lru_cache(maxsize=65536)
def fitting_templates(resource: str, templates: TemplateSet) -> int:
    """The end bits (see ``TemplateSet.mask``) of the templates ``resource`` fits: the answer of
    ``resource_fits_template`` for every template of the set, from one pass over the resource."""
    if resource == "*" or len(resource) > _MAX_RESOURCE:
        return templates.ends
    plain, _text, segments = _resource_pieces(resource)
    if plain:
        return sum(templates.mask((t,)) for t in templates.templates if resource_fits_template(resource, t))
    return _reach(segments, templates) & templates.ends


_FIELD_PLACEHOLDER_RE = re.compile(r"^\$\{[^}]*\}$")
_MAX_RESOURCE = 2048  # IAM's ARN length limit: longer strings are rejected by AWS anyway


@lru_cache(maxsize=8192)
def _template_fields(template: str) -> tuple[tuple[str, ...], str] | None:
    """Header fields (partition, service, region, account) as literal text or "" / "${}" markers, and
    the resource part; None when a header field mixes literals and placeholders (then: slow path)."""
    parts = template.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        return None
    header: list[str] = []
    for value in parts[1:5]:
        if _FIELD_PLACEHOLDER_RE.match(value):
            header.append("${}")
        elif "${" in value:
            return None
        else:
            header.append(value)
    return tuple(header), parts[5]


@lru_cache(maxsize=8192)
def _rest_info(rest_template: str) -> tuple[tuple[_Token, ...], re.Pattern[str]]:
    """Tokens/regex of a template's resource part, tokenised in the context of a full ARN header so
    the placeholder classes are the same as for the whole template."""
    tokens, _ = _template_info("arn:p:s:r:a:" + rest_template)
    body = tokens[len("arn:p:s:r:a:"):]
    parts: list[str] = []
    for kind, value in body:
        if kind == _LIT:
            parts.append(re.escape(str(value)))
        else:
            excl = "".join(sorted(value))  # type: ignore[arg-type]
            cls = f"[^{re.escape(excl)}]" if excl else "."
            parts.append(cls if kind == _ONE else cls + "*")
    return body, re.compile("".join(parts), re.DOTALL)


def _plain_field(text: str) -> bool:
    return not ("*" in text or "?" in text or "${" in text or has_unknown(text))


@lru_cache(maxsize=65536)
def resource_fits_template(resource: str, template: str) -> bool:
    """Could ``resource`` (a policy Resource entry) denote some ARN of this catalog template?"""
    if resource == "*" or len(resource) > _MAX_RESOURCE:
        return True
    fields = _template_fields(template)
    if fields is not None and resource.startswith("arn:"):
        parts = resource.split(":", 5)
        if len(parts) == 6 and all(_plain_field(p) for p in parts[1:5]):
            # Fast path: compare the four header fields directly, then only the resource part.
            for value, tmpl in zip(parts[1:5], fields[0], strict=True):
                if tmpl == "${}":
                    if not value:
                        return False
                elif value != tmpl:
                    return False
            body, regex = _rest_info(fields[1])
            plain, text, segments = _resource_pieces(parts[5])
            if plain:
                return regex.fullmatch(text) is not None
            return _intersects_segments(segments, body)
    tokens, regex = _template_info(template)
    plain, text, segments = _resource_pieces(resource)
    if plain:
        return regex.fullmatch(text) is not None
    return _intersects_segments(segments, tokens)


# ---------------------------------------------------------------------------------------------------
# Effectively star


@lru_cache(maxsize=4096)
def is_region_wildcard_on_named_aws_resource(resource: str) -> bool:
    """An AWS-owned resource (no account field) named exactly, in any region:
    ``arn:aws:bedrock:*::foundation-model/<model id>``, the form AWS documents for cross-region
    inference. The same model in every region is one resource, not every resource; a wildcard in the
    name (``foundation-model/*``, ``anthropic.*``) or in another field keeps the grant wide."""
    arn = parse_arn(resource)
    if arn is None or arn.account or not arn.resource or has_unknown(resource):
        return False
    if arn.region != "*" or is_wildcard_pattern(arn.resource):
        return False
    return not any(is_wildcard_pattern(field) for field in (arn.partition, arn.service))


@lru_cache(maxsize=16384)
def effectively_star_reason(resource: str) -> str | None:
    """Why a resource grants (practically) everything, or None when it is scoped.

    Unknown-at-preview parts and policy variables are opaque values, never wildcards.
    """
    text = _UNKNOWN_RE.sub("UNKNOWN", resource)
    text = _PLACEHOLDER_RE.sub(lambda m: _ESCAPES.get(m.group(0), "VAR"), text)
    if text.strip() == "*":
        return "Resource \"*\" (every resource)"
    if not is_wildcard_pattern(resource):
        return None
    arn = parse_arn(text)
    if arn is None:
        if text.startswith("arn:") or text[:1] in "*?":
            return f"{resource} is a wildcard spanning the ARN fields"
        return None
    if is_region_wildcard_on_named_aws_resource(resource):
        return None
    for field_name, value in (
        ("partition", arn.partition),
        ("service", arn.service),
        ("region", arn.region),
        ("account", arn.account),
    ):
        if "*" in value or "?" in value:
            return f"{resource} has a wildcard {field_name}"
    res = arn.resource
    if not res or res[0] in "*?":
        if arn.service == "s3" and not arn.region and not arn.account:
            return f"{resource} covers every S3 bucket (wildcard bucket name)"
        return f"{resource} covers every {arn.service} resource in the account"
    if arn.service == "s3" and not arn.region and not arn.account:
        bucket = res.split("/", 1)[0]
        if "*" in bucket or "?" in bucket:
            return f"{resource} has a wildcard in the bucket name (bucket names are global)"
        return None
    cut = min((p for p in (res.find("/"), res.find(":")) if p != -1), default=-1)
    if cut != -1:
        rtype, rest = res[:cut], res[cut + 1 :]
        if "*" in rtype or "?" in rtype:
            return f"{resource} has a wildcard resource type"
        if not rest or rest[0] in "*?":
            return f"{resource} covers every {arn.service} {rtype} in the account"
    return _covers_resource_type(resource, arn.service, res)


def _covers_resource_type(resource: str, service: str, res: str) -> str | None:
    """A wildcard before the end of a resource type's literal start in the catalog's ARN templates
    (``key*`` for ``key/${KeyId}``, ``log-group*``, ``role*``): every resource of that type, whatever
    the separator. A wildcard after it (``role/A*``, a topic name ``my-topic-*``) is a name prefix."""
    wild = min((i for i in (res.find("*"), res.find("?")) if i >= 0), default=-1)
    if wild == -1:
        return None
    head = res[:wild]
    for prefix in resource_type_prefixes(service):
        if len(head) < len(prefix) and prefix.startswith(head):
            kind = re.split(r"[/:]", prefix, maxsplit=1)[0]
            return f"{resource} covers every {service} {kind} (the wildcard spans the resource type)"
    return None
