"""Rule iam-deployable-documents: documents AWS rejects when the update runs (size and statement
quotas, Sid syntax), reported at preview so the preview fails instead of the deployment.

The quotas are per container: the engine cannot tell a managed policy from an inline one by its text,
so the caller names the container (``check_document_quotas``). Sources:

* IAM: customer-managed policy 6,144 characters; inline policies of one role 10,240, of a user 2,048,
  of a group 5,120 (aggregate over all inline policies of the principal); role trust policy 2,048,
  raisable to 4,096. IAM does not count whitespace.
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
* S3 bucket policy 20 KB: https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-iam-policies.html
* KMS key policy 32 KB (32,768 bytes): the PutKeyPolicy API reference.
* SQS queue policy 8,192 bytes and 20 statements:
  https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-policies.html
* SNS topic policy 30 KB and 100 statements:
  https://docs.aws.amazon.com/sns/latest/dg/sns-access-policy-language-api-permissions-reference.html
* Lambda function policy 20 KB: https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
* DynamoDB resource policy 20 KB, whitespace counted:
  https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_PutResourcePolicy.html
* Sid: IAM policies accept only ASCII letters and digits
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_sid.html); services
  such as SQS and SNS treat it as a free-form sub-id, so resource-policy Sids are not judged.

Where a service does not say whether whitespace counts, it is not counted: a finding then means the
document is over the quota whatever AWS counts.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from .. import is_unknown
from ..core import IDENTITY, TRUST, RuleContext, StatementView, statement_check
from ..document import parse_document
from ..findings import Finding, RuleInfo, Severity
from ..settings import DEFAULT_SETTINGS, Settings

RULE = RuleInfo(
    id="iam-deployable-documents",
    title="Documents AWS accepts at deployment",
    description=(
        "Documents AWS rejects when `pulumi up` runs, reported at preview with the quota they exceed: a "
        "customer-managed policy over 6,144 characters, inline policies over the principal's quota "
        "(role 10,240, user 2,048, group 5,120; whitespace not counted), a trust policy over its quota "
        "(2,048 by default, trustPolicyQuota up to 4,096), resource policies over their service's quota "
        "(S3 20 KB, KMS 32 KB, SQS 8,192 bytes and 20 statements, SNS 30 KB and 100 statements, "
        "Lambda 20 KB, DynamoDB 20 KB), and Sid values an IAM policy refuses (only letters and digits)."
    ),
    default_severity=Severity.HIGH,
    remediation=(
        "Split the document (several managed policies, fewer repeated ARNs through wildcards that stay "
        "scoped), ask AWS to raise the trust-policy quota and set trustPolicyQuota, or use letters and "
        "digits in Sids."
    ),
)

MANAGED_POLICY: Final = "managed-policy"
ROLE_INLINE_POLICY: Final = "role-inline-policy"
USER_INLINE_POLICY: Final = "user-inline-policy"
GROUP_INLINE_POLICY: Final = "group-inline-policy"
TRUST_POLICY: Final = "trust-policy"
RESOURCE_POLICY: Final = "resource-policy"
CONTAINERS: Final = frozenset({MANAGED_POLICY, ROLE_INLINE_POLICY, USER_INLINE_POLICY, GROUP_INLINE_POLICY,
                               TRUST_POLICY, RESOURCE_POLICY})


@dataclass(frozen=True, slots=True)
class Quota:
    """A size quota: at most ``limit`` characters (or bytes), with or without whitespace; optionally
    at most ``max_statements`` statements."""

    name: str
    limit: int
    unit: str = "characters"
    counts_whitespace: bool = False
    max_statements: int | None = None


# The aggregate inline quota of each principal kind; one inline document may use all of it, and the
# stack-level check adds up every inline document of the principal against the same figure.
INLINE_AGGREGATE_QUOTAS: Final[Mapping[str, Quota]] = {
    ROLE_INLINE_POLICY: Quota("role inline policies (aggregate)", 10240),
    USER_INLINE_POLICY: Quota("user inline policies (aggregate)", 2048),
    GROUP_INLINE_POLICY: Quota("group inline policies (aggregate)", 5120),
}
_MANAGED_QUOTA: Final = Quota("customer-managed policy size", 6144)
RESOURCE_POLICY_QUOTAS: Final[Mapping[str, Quota]] = {
    "s3": Quota("S3 bucket policy size", 20 * 1024, "bytes"),
    "kms": Quota("KMS key policy size", 32 * 1024, "bytes"),
    "sqs": Quota("SQS queue policy size", 8192, "bytes", max_statements=20),
    "sns": Quota("SNS topic policy size", 30 * 1024, "bytes", max_statements=100),
    "lambda": Quota("Lambda function policy size", 20 * 1024, "bytes"),
    "dynamodb": Quota("DynamoDB resource policy size", 20 * 1024, "bytes", counts_whitespace=True),
}

_SID = re.compile(r"[A-Za-z0-9]*")
_WHITESPACE = re.compile(r"\s+")


def quota_for(container: str, service: str | None = None,
              settings: Settings = DEFAULT_SETTINGS) -> Quota | None:
    """The size quota of a document in ``container`` (``RESOURCE_POLICY`` with the service prefix,
    e.g. ``s3``); None when no quota is documented for it."""
    if container == MANAGED_POLICY:
        return _MANAGED_QUOTA
    if container == TRUST_POLICY:
        return Quota("role trust policy length", settings.trust_policy_quota)
    if container in INLINE_AGGREGATE_QUOTAS:
        return INLINE_AGGREGATE_QUOTAS[container]
    if container == RESOURCE_POLICY and service:
        return RESOURCE_POLICY_QUOTAS.get(service.strip().lower())
    if container not in CONTAINERS:
        raise ValueError(f"unknown document container {container!r}; use one of "
                         f"{', '.join(sorted(CONTAINERS))}")
    return None


def _text(document: Any) -> str | None:
    """The document as AWS receives it: the JSON string as written, or a mapping serialised compactly.
    None when it cannot be sized (unknown at preview, or not JSON-serialisable)."""
    if is_unknown(document) or document is None:
        return None
    if isinstance(document, (bytes, bytearray)):
        try:
            return document.decode("utf-8")
        except UnicodeDecodeError:
            return None
    if isinstance(document, str):
        return document
    try:
        return json.dumps(document, separators=(",", ":"), ensure_ascii=False)
    except (TypeError, ValueError):
        return None


def document_size(document: Any, *, counts_whitespace: bool = False, unit: str = "characters") -> int | None:
    """The size AWS counts against a quota: characters (or UTF-8 bytes), whitespace excluded unless the
    quota counts it. None when the document cannot be sized (unknown at preview). The stack-level
    inline-policy check sums this over a principal's inline documents."""
    text = _text(document)
    if text is None:
        return None
    if not counts_whitespace:
        text = _WHITESPACE.sub("", text)
    return len(text.encode("utf-8")) if unit == "bytes" else len(text)


def check_document_quotas(document: Any, container: str, service: str | None = None,
                          settings: Settings = DEFAULT_SETTINGS) -> list[Finding]:
    """Findings for a document over the size (or statement-count) quota of its container. Never raises
    on the document (an unknown or malformed one has no size finding); an unknown container is a
    caller error (ValueError)."""
    quota = quota_for(container, service, settings)
    if quota is None:
        return []
    out: list[Finding] = []
    size = document_size(document, counts_whitespace=quota.counts_whitespace, unit=quota.unit)
    if size is not None and size > quota.limit:
        counted = "" if quota.counts_whitespace else ", whitespace not counted"
        out.append(Finding(RULE.id, Severity.HIGH,
                           f"the document is {size:,} {quota.unit}{counted}, over the {quota.name} quota of "
                           f"{quota.limit:,}: AWS will reject it at `up`. Split it or shorten it."))
    if quota.max_statements is not None:
        try:
            statements = parse_document(document, require_resource=False, principal_expected=None).statements
        except Exception:  # the parser never raises; a validator must not either
            statements = ()
        if len(statements) > quota.max_statements:
            out.append(Finding(RULE.id, Severity.HIGH,
                               f"the document has {len(statements)} statements, over the "
                               f"{quota.name.rsplit(' ', 1)[0]} quota of "
                               f"{quota.max_statements} statements: AWS will reject it at `up`."))
    return out


@statement_check(RULE, frozenset({IDENTITY, TRUST}))
def _rule_sid(view: StatementView, ctx: RuleContext) -> None:
    """IAM refuses a Sid with anything but ASCII letters and digits in identity and trust policies."""
    sid = view.st.sid
    if sid and not is_unknown(sid) and not _SID.fullmatch(sid):
        ctx.add(RULE.id, Severity.HIGH,
                f"{view.label}: Sid {sid!r} has characters IAM refuses (only ASCII letters and digits are "
                "allowed), so AWS will reject the policy at `up`; use e.g. "
                f"{re.sub(r'[^A-Za-z0-9]', '', sid) or 'Statement1'!r}.", view)
