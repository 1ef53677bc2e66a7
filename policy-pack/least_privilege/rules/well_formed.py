"""Rule iam-well-formed-documents: its metadata. The document parser reports malformed documents;
the condition-key check is in ``condition_keys``."""

from __future__ import annotations

from ..findings import RuleInfo, Severity

RULE = RuleInfo(
    id="iam-well-formed-documents",
    title="IAM documents are well formed",
    description=(
        "Malformed documents (bad JSON, wrong types, missing Effect, Action together with NotAction, "
        "unknown elements) are reported instead of crashing the check or being silently ignored by AWS. "
        "So is a service condition key that does not apply to some of the statement's actions (s3:prefix "
        "on s3:GetObject): AWS never puts it in those requests, so on an Allow the grant of those actions "
        "is void (low: it fails closed) and on a Deny the guard rail does not stop them (medium: it fails "
        "open). Global aws: keys always apply; keys of another service and wildcard actions are not judged."
    ),
    default_severity=Severity.MEDIUM,
    remediation=(
        "Fix the document to follow the IAM policy grammar; move a condition key to a statement of only the "
        "actions it applies to."
    ),
)
