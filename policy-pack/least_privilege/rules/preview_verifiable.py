"""Rule iam-preview-verifiable: its metadata. The document parser and the pack report what is unknown
at preview."""

from __future__ import annotations

from ..findings import RuleInfo, Severity

RULE = RuleInfo(
    id="iam-preview-verifiable",
    title="IAM documents are verifiable at preview",
    description=(
        "An IAM document or an attachment's policy ARN that is unknown at preview cannot be checked; "
        "where configured (mandatory in prod) that is a violation, so nothing reaches `up` unverified."
    ),
    default_severity=Severity.MEDIUM,
    remediation=(
        "Build the document from values known at preview (config, literal ARNs) instead of outputs of "
        "resources created in the same update."
    ),
)
